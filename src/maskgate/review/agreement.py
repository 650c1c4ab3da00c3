"""Agreement between reviewers, as pure functions over plain Python data.

Cohen's kappa compares two raters on the items both judged; Fleiss' kappa handles any number of
raters per item (items with fewer than two ratings carry no agreement information and are
dropped). Kappa is undefined (None) when chance agreement is total, e.g. everyone always says
"yes": we report that instead of a misleading 0 or 1.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    if len(a) != len(b):
        raise ValueError("cohen_kappa needs two equally long rating lists")
    n = len(a)
    if n == 0:
        return None
    po = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[k] * cb.get(k, 0) for k in ca) / (n * n)
    if pe >= 1.0:
        return None
    return (po - pe) / (1.0 - pe)


def fleiss_kappa(ratings: Sequence[Sequence[Hashable]]) -> float | None:
    """``ratings[i]`` = the categories the raters gave item i (any count >= 2 per item)."""
    rows = [list(r) for r in ratings if len(r) >= 2]
    if not rows:
        return None
    cats = sorted({c for r in rows for c in r}, key=repr)
    if len(cats) < 2:
        return None
    p_items, totals, n_total = [], Counter(), 0
    for r in rows:
        n = len(r)
        cnt = Counter(r)
        totals.update(cnt)
        n_total += n
        p_items.append((sum(v * v for v in cnt.values()) - n) / (n * (n - 1)))
    p_bar = float(np.mean(p_items))
    pe = sum((totals[c] / n_total) ** 2 for c in cats)
    if pe >= 1.0:
        return None
    return (p_bar - pe) / (1.0 - pe)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two boolean masks; two empty masks agree perfectly (1.0)."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    union = np.logical_or(a, b).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(a, b).sum() / union)


def rle_iou(a: dict, b: dict) -> float:
    """IoU of two COCO RLE masks without decoding them (pycocotools works on runs)."""
    from pycocotools import mask as mask_utils

    if list(a["size"]) != list(b["size"]):
        raise ValueError("masks of different sizes")
    ra = {"size": a["size"], "counts": a["counts"].encode("ascii")}
    rb = {"size": b["size"], "counts": b["counts"].encode("ascii")}
    if mask_utils.area(ra) == 0 and mask_utils.area(rb) == 0:
        return 1.0
    return float(mask_utils.iou([ra], [rb], [0])[0][0])
