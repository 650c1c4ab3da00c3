"""Comprehensibility: can a shopper tell what the product is at a glance?"""

from __future__ import annotations

import numpy as np

from maskgate.check.context import PairContext


def features(ctx: PairContext) -> dict:
    h, w = ctx.shape
    prod = ctx.product_e
    f: dict = {"area_share": float(prod.sum() / (h * w))}
    if prod.any():
        ys, xs = np.nonzero(prod)
        f["bbox_share"] = float(((xs.max() - xs.min() + 1) * (ys.max() - ys.min() + 1)) / (h * w))
        f["min_side"] = float(min(xs.max() - xs.min() + 1, ys.max() - ys.min() + 1) / max(h, w))
    else:
        f["bbox_share"] = 0.0
        f["min_side"] = 0.0
    f["clutter_text"] = len(ctx.text_e)
    return f
