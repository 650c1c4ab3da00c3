"""Quality: blur, pixelation, heavy compression, tint or halo, always relative to the original.

A soft or compressed original is not the edit's fault, so every measure is a ratio or a
difference against the original's own product pixels.
"""

from __future__ import annotations

import numpy as np

from maskgate.check.context import PairContext
from maskgate.check.measure import (
    blockiness,
    dilate,
    flat_share,
    laplacian_energy,
    masked_pixels,
    sample_mask,
    size_px,
)


def features(ctx: PairContext) -> dict:
    prod = ctx.shared_product()
    r = max(2, int(0.02 * size_px(prod)))
    inner = ctx.shared_core(r)
    f: dict = {}
    go, ge = ctx.gray("orig_in_e"), ctx.gray("edit")
    lo, le = laplacian_energy(go, inner), laplacian_energy(ge, inner)
    f["sharp_ratio"] = float(le / (lo + 1e-3))
    f["flat_delta"] = flat_share(ge, inner) - flat_share(go, inner)
    f["block_delta"] = blockiness(ge, inner) - blockiness(go, inner)
    # colour: a tint blends the product toward one colour: E = a*O + b (shared a) fits well
    sel = inner
    if sel.sum() > 50:
        f["tint_slope"], f["tint_resid"], f["mean_shift"] = tint_fit(ctx, sel)
        from maskgate.check.criteria.segmentation import lp_ncc_median

        f["lp_ncc_med"] = lp_ncc_median(ctx)
        de = ctx.cache["de"]  # kept_map's colour difference (lp_ncc_median ran kept_map)
        f["de_inner"] = float(np.median(de[sel]))
        band = prod & ~ctx.shared_core(max(3, r))
        f["de_band"] = float(np.median(de[band])) if band.any() else 0.0
        outer = dilate(ctx.product_e, max(3, r)) & ~ctx.product_e
        if ctx.fg_e is None and outer.any():
            f["de_outer"] = float(np.median(de[outer]))
        else:
            f["de_outer"] = 0.0
    else:
        f.update(
            tint_slope=1.0,
            tint_resid=0.0,
            mean_shift=0.0,
            de_inner=0.0,
            de_band=0.0,
            de_outer=0.0,
            lp_ncc_med=1.0,
        )
    return f


def tint_fit(ctx: PairContext, sel: np.ndarray) -> tuple[float, float, float]:
    """Fit E = a*O + b (one slope for all channels) over ``sel``: (a, residual RMS, max mean shift).

    A tint blends the product toward one colour, which this model explains almost exactly; a hue
    change or a different product leaves a large residual.
    """
    key = ("tint", int(sel.sum()))
    if key in ctx.cache:
        return ctx.cache[key]
    if np.count_nonzero(sel) < 20:
        return 1.0, 0.0, 0.0
    sample = sample_mask(sel)
    o = masked_pixels(ctx.orig_in_e, sample).astype(np.float32)
    e = masked_pixels(ctx.edit, sample).astype(np.float32)
    om, em = o.mean(0), e.mean(0)
    oc, ec = o - om, e - em
    a = float((oc * ec).sum() / ((oc * oc).sum() + 1e-3))
    resid = ec - a * oc
    out = (a, float(np.sqrt((resid**2).mean())), float(np.abs(em - om).max()))
    ctx.cache[key] = out
    return out
