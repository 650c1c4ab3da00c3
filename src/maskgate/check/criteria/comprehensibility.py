"""Comprehensibility: can a shopper tell what the product is at a glance?"""

from __future__ import annotations

import numpy as np

from maskgate.check.context import PairContext
from maskgate.check.criterion import Criterion, Feature


def measure(ctx: PairContext) -> dict:
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


CRITERION = Criterion(
    name="comprehensibility",
    measure=measure,
    features=(
        Feature("area_share", "low", 0.05, -1),
        Feature("bbox_share", "low", 0.08, -1),
        Feature("min_side", "low", 0.2, -1),
    ),
)
