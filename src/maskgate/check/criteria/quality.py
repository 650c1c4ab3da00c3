"""Quality: blur, pixelation, heavy compression, tint or halo, always relative to the original.

A soft or compressed original is not the edit's fault, so every measure is a ratio or a
difference against the original's own product pixels.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from maskgate.check.context import PairContext
from maskgate.check.criterion import Criterion, Feature
from maskgate.check.measure import (
    blockiness,
    channel_norm,
    dilate,
    flat_share,
    laplacian_energy,
    size_px,
)


def measure(ctx: PairContext) -> dict:
    prod = ctx.shared_product
    r = max(2, int(0.02 * size_px(prod)))
    inner = ctx.shared_core(r)
    f: dict = {}
    go, ge = ctx.gray_orig_in_e, ctx.gray_edit
    # sharpness against the original as soft as the edit's delivered resolution allows: a smaller
    # delivery is benign, only blur beyond it is the edit's
    lo, le = laplacian_energy(ctx.gray_orig_in_e_soft, inner), laplacian_energy(ge, inner)
    f["sharp_ratio"] = float(le / (lo + 1e-3))
    f["flat_delta"] = flat_share(ge, inner) - flat_share(go, inner)
    f["block_delta"] = blockiness(ge, inner) - blockiness(go, inner)
    # colour: a tint blends the product toward one colour: E = a*O + b (shared a) fits well
    sel = inner
    if np.count_nonzero(sel) > 50:
        f["tint_slope"], f["tint_resid"], f["mean_shift"] = ctx.tint(r)
        f["lp_ncc_med"] = ctx.lp_ncc_med
        de = ctx.de
        f["de_inner"] = float(np.median(de[sel]))
        band = prod & ~ctx.shared_core(max(3, r))
        f["de_band"] = float(np.median(de[band])) if band.any() else 0.0
        outer = dilate(ctx.product_e, max(3, r)) & ~ctx.product_e
        if ctx.fg_e is None and outer.any():
            f["de_outer"] = float(np.median(de[outer]))
        else:
            f["de_outer"] = 0.0
        f["old_bg_ring"] = old_background_ring(ctx) if ctx.fg_e is None else 0.0
    else:
        f.update(
            tint_slope=1.0,
            tint_resid=0.0,
            mean_shift=0.0,
            de_inner=0.0,
            de_band=0.0,
            de_outer=0.0,
            lp_ncc_med=1.0,
            old_bg_ring=0.0,
        )
    return f


# Lab distance (OpenCV's 8-bit scale) under which an edit pixel still shows the original's.
SAME_AS_ORIGINAL = 14.0


# The local colours of background and product vary slowly: they are averaged on a view this many
# times smaller (a Gaussian of a sigma near the product's size costs ~100 ms at 512 px, ~5 here).
LOCAL_MEAN_STEP = 4


def _local_means(
    lab: np.ndarray, weights: list[np.ndarray], sigma: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each weight map, its Gaussian-weighted mean colour around every pixel, and the weight
    there, computed on the smaller view and brought back to full size."""
    h, w = lab.shape[:2]
    size = (max(1, w // LOCAL_MEAN_STEP), max(1, h // LOCAL_MEAN_STEP))
    small = cv2.resize(lab, size, interpolation=cv2.INTER_AREA)
    out = []
    for wt in weights:
        ws = cv2.resize(wt.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        sw = cv2.GaussianBlur(ws, (0, 0), sigma / LOCAL_MEAN_STEP)
        sv = cv2.GaussianBlur((small * ws[..., None]).astype(np.float32), (0, 0), sigma / LOCAL_MEAN_STEP)
        mean = sv / np.maximum(sw, 1e-4)[..., None]
        out.append((cv2.resize(mean, (w, h), interpolation=cv2.INTER_LINEAR), cv2.resize(sw, (w, h))))
    return out


def old_background_ring(ctx: PairContext) -> float:
    """Share of a thin ring just outside the product where a new-background edit still shows the
    original's old background, less that share over the rest of the background.

    Failure family: a halo of the old background (quality_tint_halo on a new background): the
    paste kept a fringe of the photo it was cut from. The fringe pixels equal the original's, and
    in the original they look like its background, not its product (nearer the local mean colour
    of the background around than of the product inside): the second test keeps a reference
    mask a few pixels too tight from reading the product's own rim as a halo. Subtracting the
    share of the background farther out (all of it: a wide slab kept beside the product is
    still a small part of it) leaves out a new background that happens to match the old one."""
    prod = ctx.product_e
    s = max(2, int(0.02 * size_px(prod)))
    # distances to the product from outside and inside: the rings and cores below, in two passes
    out_d = cv2.distanceTransform((~prod).astype(np.uint8), cv2.DIST_L2, 3)
    near = (out_d > 0) & (out_d <= 2 * s)
    far = out_d > 6 * s
    if np.count_nonzero(near) < 30 or np.count_nonzero(far) < 30:
        return 0.0
    in_d = cv2.distanceTransform(prod.astype(np.uint8), cv2.DIST_L2, 3)
    lab_o = ctx.lab_orig_in_e
    (bg_c, bg_w), (pr_c, _) = _local_means(lab_o, [out_d > s, in_d > s], max(4.0, 0.06 * size_px(prod)))
    px = lab_o[near]
    bg_like = (channel_norm(px - bg_c[near]) < channel_norm(px - pr_c[near])) & (bg_w[near] > 1e-3)
    same = ctx.de < SAME_AS_ORIGINAL
    return max(0.0, float((same[near] & bg_like).mean()) - float(same[far].mean()))


def evidence(ctx: PairContext, passed: bool | None) -> dict[str, np.ndarray]:
    """The product's box in the original beside the edit's: blur, blocks and tints show side by side."""
    ys, xs = np.nonzero(ctx.product_e)
    if passed is not False or not len(xs):
        return {}
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    return {"crop": np.hstack([ctx.orig_in_e[y0:y1, x0:x1], ctx.edit[y0:y1, x0:x1]])}


def tint_signal(f) -> float:
    """A colour shift that one blend toward a colour explains: a tint, not a changed product."""
    return max(0.0, math.log1p(f.get("mean_shift", 0.0)) - math.log1p(f.get("tint_resid", 0.0)))


def _halo_signal(f) -> float:
    """The outline band's colour moved more than the inside's: a halo of the old background."""
    return max(0.0, math.log1p(f.get("de_band", 0.0)) - math.log1p(f.get("de_inner", 0.0)) - 0.5)


CRITERION = Criterion(
    name="quality",
    measure=measure,
    features=(
        Feature("sharp_ratio", "low", 0.85, -1),
        Feature("flat_delta", "lin", 0.02, -1),
        Feature("block_delta", "high1p", 0.2, -1),
        Feature("tint_slope", "low", 0.95, -1),
        Feature("tint_signal", "lin", 0.0, -1, of=tint_signal),
        Feature("halo_signal", "lin", 0.0, -1, of=_halo_signal),
        Feature("de_outer", "high1p", 8.0, -1),
        Feature("old_bg_ring", "lin", 0.1, -1),
        Feature("lp_ncc_med", "low", 0.9, 1),
        Feature("hue_rot", "lin", 0.3, 1),
        Feature("warp_gain", "lin", 0.05, 1),
    ),
    needs_detail=True,
    # a hue change or a warp also moves colours and the outline band: they are consistency's
    borrows={"hue_rot": "consistency", "warp_gain": "consistency"},
    evidence=evidence,
)
