"""Consistency: the product in the edit is the same product (colour, shape, texture, orientation)."""

from __future__ import annotations

import numpy as np

from maskgate.check.context import PairContext
from maskgate.check.criteria.segmentation import changed_blobs, kept_map
from maskgate.check.measure import erode, size_px


def features(ctx: PairContext) -> dict:
    f: dict = {"mirrored": float(ctx.alignment.mirrored)}
    prod = ctx.product_e & ctx.mask_o_in_e
    inner = erode(prod, max(3, int(0.03 * size_px(prod))))
    kept_map(ctx)
    ncc, sd, de = ctx.cache["ncc"], ctx.cache["sd"], ctx.cache["de"]
    if inner.sum() < 50:
        f.update(ncc_med=1.0, low_ncc_share=0.0, de_med=0.0, de_p90=0.0, changed_blob=0.0, hue_shift=0.0)
        f.update(lp_ncc_med=1.0, lp_low_share=0.0, inner_blob=0.0, tint_resid=0.0)
        return f
    ncc_lp, sd_lp = ctx.cache["ncc_lp"], ctx.cache["sd_lp"]
    # the low-pass window reaches ~20 px: keep it off the outline, where the backdrop changed
    tex_lp = erode(prod, 20) & (sd_lp > 3)
    f["lp_ncc_med"] = float(np.median(ncc_lp[tex_lp])) if tex_lp.sum() > 30 else 1.0
    f["lp_low_share"] = float((ncc_lp[tex_lp] < 0.5).mean()) if tex_lp.sum() > 30 else 0.0
    textured = inner & (sd > 6)
    f["ncc_med"] = float(np.median(ncc[textured])) if textured.sum() > 30 else 1.0
    f["low_ncc_share"] = float((ncc[textured] < 0.3).mean()) if textured.sum() > 30 else 0.0
    f["de_med"] = float(np.median(de[inner]))
    f["de_p90"] = float(np.percentile(de[inner], 90))
    changed = inner & (de > 30) & (ncc < 0.5)
    blobs = changed_blobs(changed, inner, int(inner.sum()))
    f["changed_blob"] = max((a for _, a, _ in blobs), default=0.0)
    # a replaced patch is surrounded by product; a cut (segmentation's business) opens onto the outline
    f["inner_blob"] = max((a for _, a, o in blobs if o < 0.2), default=0.0)
    from maskgate.check.criteria.quality import tint_fit

    f["tint_resid"] = tint_fit(ctx, inner)[1]
    lo, le = ctx.lab("orig_in_e"), ctx.lab("edit")
    ho = np.arctan2(lo[..., 2] - 128, lo[..., 1] - 128)
    he = np.arctan2(le[..., 2] - 128, le[..., 1] - 128)
    chroma = np.hypot(lo[..., 1] - 128, lo[..., 2] - 128)
    sel = inner & (chroma > 8)
    if sel.sum() > 50:
        dh = np.angle(np.exp(1j * (he[sel] - ho[sel])))
        f["hue_shift"] = float(np.abs(np.median(dh)))
    else:
        f["hue_shift"] = 0.0
    return f
