"""Consistency: the product in the edit is the same product (colour, shape, texture, orientation)."""

from __future__ import annotations

import cv2
import numpy as np

from maskgate.check.context import PairContext
from maskgate.check.criteria.segmentation import kept_map
from maskgate.check.measure import erode, size_px


def features(ctx: PairContext) -> dict:
    f: dict = {"mirrored": float(ctx.alignment.mirrored), "scale": ctx.alignment.scale}
    prod = ctx.product_e & ctx.mask_o_in_e
    inner = erode(prod, max(3, int(0.03 * size_px(prod))))
    kept_map(ctx)
    ncc, sd, de = ctx.cache["ncc"], ctx.cache["sd"], ctx.cache["de"]
    if inner.sum() < 50:
        f.update(ncc_med=1.0, low_ncc_share=0.0, de_med=0.0, de_p90=0.0, changed_blob=0.0, hue_shift=0.0)
        return f
    textured = inner & (sd > 6)
    f["ncc_med"] = float(np.median(ncc[textured])) if textured.sum() > 30 else 1.0
    f["low_ncc_share"] = float((ncc[textured] < 0.3).mean()) if textured.sum() > 30 else 0.0
    f["de_med"] = float(np.median(de[inner]))
    f["de_p90"] = float(np.percentile(de[inner], 90))
    changed = inner & (de > 30) & (ncc < 0.5)
    n, _, stats, _ = cv2.connectedComponentsWithStats(changed.astype(np.uint8), connectivity=8)
    f["changed_blob"] = float(stats[1:, cv2.CC_STAT_AREA].max() / inner.sum()) if n > 1 else 0.0
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
