"""What the reward model sees of an (original, edit) pair, from the arrays alone.

Whether a new background suits a product is about the scene: its colour, texture and layout
(a floor runs to the bottom edge and carries the product, a shelf is a band of horizontal lines
behind it), and about how the product sits in it. The check's criteria measure whether the edit
is clean, not whether the scene fits, so these statistics are the default backbone's own. They
are computed the same way when a model is trained and when ``check`` scores with it (both call
``pair_stats`` on the decoded pair), so the two never see different numbers.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

import cv2
import numpy as np

from maskgate.vision.segment import saliency_lowres

# Everything is measured at this side: scene statistics need no detail, and the segmenter runs at
# its own resolution anyway.
SIDE = 256
# Bumped when a statistic's formula changes: a model trained on the old formula is then refused.
STATS_VERSION = 1

_IMAGE = (
    "area",
    "cx",
    "cy",
    "bottom",
    "height",
    "bg_L",
    "bg_a",
    "bg_b",
    "bg_L_sd",
    "bg_a_sd",
    "bg_b_sd",
    "bg_grad",
    "bg_horizontal",
    "bg_lap",
    "bg_rows",
    "bg_top_bottom",
    "below_grad",
    "below_L",
    "sal_bg",
    "sal_fg",
    "sal_unsure",
)
# the scene statistics whose change from the original says what the edit did to the background
_CHANGE = (
    "bg_L",
    "bg_a",
    "bg_b",
    "bg_L_sd",
    "bg_grad",
    "bg_horizontal",
    "bg_lap",
    "bg_rows",
    "bg_top_bottom",
)
STAT_NAMES: tuple[str, ...] = (
    tuple(f"edit:{n}" for n in _IMAGE)
    + tuple(f"change:{n}" for n in _CHANGE)
    + ("product:dL", "product:da", "product:db", "product:area_ratio")
)


def shrink(rgb: np.ndarray, side: int = SIDE) -> np.ndarray:
    h, w = rgb.shape[:2]
    f = side / max(h, w)
    if f >= 1:
        return rgb
    return cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)


def _image_stats(rgb: np.ndarray, sal: np.ndarray) -> dict[str, Any]:
    h, w = rgb.shape[:2]
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 100.0 / 255.0
    lab[..., 1:] -= 128.0
    fg = sal > 0.5
    if fg.sum() < 0.002 * h * w:  # no product found: the whole frame is scene
        fg = np.zeros_like(fg)
    grown = cv2.dilate(fg.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    bg = ~grown
    if bg.sum() < 0.01 * h * w:  # the product fills the frame: take the border as the scene
        bg = np.zeros_like(bg)
        bg[:4], bg[-4:], bg[:, :4], bg[:, -4:] = True, True, True, True
    L = lab[..., 0]
    gx = cv2.Sobel(L, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(L, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.hypot(gx, gy)
    lap = cv2.Laplacian(L, cv2.CV_32F)
    ys, xs = np.nonzero(fg)
    if len(ys):
        cx, cy, bottom, height = xs.mean() / w, ys.mean() / h, (ys.max() + 1) / h, (np.ptp(ys) + 1) / h
        y0 = ys.max() + 1
        x0, x1 = xs.min(), xs.max() + 1
    else:
        cx, cy, bottom, height = 0.5, 0.5, 0.5, 0.0
        y0, x0, x1 = h // 2, 0, w
    band = np.zeros_like(bg)
    band[y0 : min(h, y0 + max(2, h // 10)), x0:x1] = True
    band &= bg
    # row structure: shelves and floor boards are lines across the frame; a row profile of the
    # scene's lightness shows them as jumps from one row to the next
    rows = np.array([L[r][bg[r]].mean() if bg[r].sum() > w // 8 else np.nan for r in range(h)])
    rows = rows[~np.isnan(rows)]
    row_jump = float(np.abs(np.diff(rows)).mean()) if len(rows) > 2 else 0.0
    third = max(1, h // 3)
    top, low = bg[:third], bg[-third:]
    top_L = float(L[:third][top].mean()) if top.any() else float(L[bg].mean())
    low_L = float(L[-third:][low].mean()) if low.any() else float(L[bg].mean())
    gxm, gym = float(np.abs(gx[bg]).mean()), float(np.abs(gy[bg]).mean())
    return {
        "area": float(fg.mean()),
        "cx": float(cx),
        "cy": float(cy),
        "bottom": float(bottom),
        "height": float(height),
        "bg_L": float(L[bg].mean()),
        "bg_a": float(lab[..., 1][bg].mean()),
        "bg_b": float(lab[..., 2][bg].mean()),
        "bg_L_sd": float(L[bg].std()),
        "bg_a_sd": float(lab[..., 1][bg].std()),
        "bg_b_sd": float(lab[..., 2][bg].std()),
        "bg_grad": float(mag[bg].mean()),
        "bg_horizontal": gym / (gxm + gym + 1e-6),
        "bg_lap": float(np.log1p(lap[bg].var())),
        "bg_rows": row_jump,
        "bg_top_bottom": low_L - top_L,
        "below_grad": float(mag[band].mean()) if band.any() else 0.0,
        "below_L": float(L[band].mean()) if band.any() else float(L[bg].mean()),
        "sal_bg": float(sal[bg].mean()),
        "sal_fg": float(sal[fg].mean()) if fg.any() else 0.0,
        "sal_unsure": float(((sal > 0.2) & (sal < 0.8)).mean()),
        "_lab_fg": lab[fg].mean(axis=0) if fg.any() else np.zeros(3, np.float32),
    }


# The segmenter runs at this side: a scene's layout needs only a coarse product mask, and a pass
# here costs a fifth of one at the network's 320 px.
SEGMENT_SIDE = 160


def image_stats(rgb: np.ndarray, segmenter: str = "u2netp") -> dict[str, Any]:
    """One image's statistics (``_IMAGE``), cached by content: the edits of one original are
    scored one after another, and its statistics are the same each time."""
    small = np.ascontiguousarray(shrink(rgb))
    key = (hashlib.blake2b(small.tobytes(), digest_size=16).hexdigest(), small.shape, segmenter)
    return _cached_stats(key, small, segmenter)


_CACHE: OrderedDict[tuple, dict[str, Any]] = OrderedDict()


def _cached_stats(key: tuple, small: np.ndarray, segmenter: str) -> dict[str, Any]:
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    sal = saliency_lowres(small, segmenter, size=(SEGMENT_SIDE, SEGMENT_SIDE))
    sal = cv2.resize(sal, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_LINEAR)
    stats = _image_stats(small, sal)
    _CACHE[key] = stats
    if len(_CACHE) > 32:
        _CACHE.popitem(last=False)
    return stats


def pair_stats(orig_rgb: np.ndarray, edit_rgb: np.ndarray, segmenter: str = "u2netp") -> dict[str, float]:
    """The default backbone's statistics of a pair (``STAT_NAMES``): the edit's scene and product
    layout, how the scene changed from the original's, and how the product's colour and size did.
    The product is where ``segmenter`` finds it in each image at ``SIDE`` px."""
    out: dict[str, float] = {}
    o, e = image_stats(orig_rgb, segmenter), image_stats(edit_rgb, segmenter)
    for n in _IMAGE:
        out[f"edit:{n}"] = e[n]
    for n in _CHANGE:
        out[f"change:{n}"] = e[n] - o[n]
    d = np.asarray(e["_lab_fg"]) - np.asarray(o["_lab_fg"])
    out["product:dL"], out["product:da"], out["product:db"] = (float(v) for v in d)
    out["product:area_ratio"] = float(np.log((e["area"] + 1e-3) / (o["area"] + 1e-3)))
    return {n: out[n] for n in STAT_NAMES}


def embedding_input(
    rgb: np.ndarray, size: tuple[int, int], mean: tuple[float, ...], std: tuple[float, ...]
) -> np.ndarray:
    """One image as an image-embedding network takes it: resized to ``size`` (width, height),
    scaled to [0, 1], normalised per channel, NCHW float32."""
    x = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])
