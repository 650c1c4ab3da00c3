"""Segmentation: part of the product cut off or missing in the edit.

The original's product, carried into the edit frame, is compared with the product the edit shows.
For a cut-out the edit's product is its foreground; for a new background it is wherever the edit
still shows the original's product pixels (same structure in the local NCC sense).
"""

from __future__ import annotations

import cv2
import numpy as np

from maskgate.check.context import PairContext
from maskgate.check.measure import delta_e, dilate, erode, local_ncc, size_px


def kept_map(ctx: PairContext) -> np.ndarray:
    """Pixels of the original's product that the edit still shows (bool, edit frame)."""
    if "kept" in ctx.cache:
        return ctx.cache["kept"]
    ncc, sd = local_ncc(ctx.gray("orig_in_e"), ctx.gray("edit"), 11)
    de = delta_e(ctx.lab("edit"), ctx.lab("orig_in_e"))
    kept = (ncc > 0.5) | (de < 20)
    ctx.cache["kept"] = kept
    ctx.cache["ncc"] = ncc
    ctx.cache["sd"] = sd
    ctx.cache["de"] = de
    return kept


def features(ctx: PairContext) -> dict:
    ref = ctx.mask_o_in_e
    area = max(int(ref.sum()), 1)
    r = max(2, int(0.015 * size_px(ref)))
    f: dict = {}
    if ctx.fg_e is not None:
        missing = ref & ~dilate(ctx.fg_e, r)
    else:
        kept = kept_map(ctx)
        missing = erode(ref, r) & ~kept
        missing = cv2.morphologyEx(missing.astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)).astype(bool)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(missing.astype(np.uint8), connectivity=8)
    big = 0.0
    touching = 0.0
    outside = ~dilate(ref, 1)
    for i in range(1, n):
        comp = lab == i
        a = stats[i, cv2.CC_STAT_AREA] / area
        big = max(big, a)
        # a cut opens onto the background: the missing region meets the product's outline
        edge = dilate(comp, r + 3) & outside
        if edge.any():
            touching = max(touching, a)
    f["missing_share"] = float(missing.sum() / area)
    f["missing_biggest"] = float(big)
    f["missing_open"] = float(touching)
    return f
