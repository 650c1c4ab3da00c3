"""Background recovery: segment the product, find the overlays, combine the masks and fill.

Erasing text keeps the product's own print (a label is part of the product) and removes promo
text, badges and plates around it; erasing the product takes a margin around it, since a fill
seeded from the product's own anti-aliased edge leaves a ghost outline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from maskgate.make.overlay import OverlayMask, text_mask
from maskgate.make.product import Mask, product_mask
from maskgate.vision.fill import inpaint
from maskgate.vision.text import ERASE_FILTER, detect_text, plausible_text, regions_mask, text_grow

WHAT = ("text", "product", "both")


@dataclass
class Erased:
    rgb: np.ndarray  # the recovered image
    mask: np.ndarray  # what was filled (uint8 0/255)
    product: Mask | None = None
    overlay: OverlayMask | None = None
    timings: dict[str, float] = field(default_factory=dict)


def grow_mask(mask: np.ndarray, frac: float, work_side: int = 1024) -> np.ndarray:
    """Dilate by ``frac`` of the image side; done at a bounded size (a 241-px kernel over 100 MP
    takes minutes) and upsampled, then OR-ed with the original so nothing shrinks."""
    h, w = mask.shape
    f = min(1.0, work_side / max(h, w))
    small = (
        cv2.resize(mask, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
        if f < 1
        else mask
    )
    r = max(1, round(frac * max(small.shape)))
    grown = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    if f < 1:
        grown = np.where(cv2.resize(grown, (w, h), interpolation=cv2.INTER_LINEAR) > 0, 255, 0).astype(
            np.uint8
        )
    return grown | mask


def erase(
    rgb: np.ndarray,
    *,
    what: str = "text",
    inpainter: str = "telea",
    inpainter_path: str | None = None,
    model: str = "u2netp",
    model_path: str | None = None,
    product: Mask | None = None,
    product_margin: float = 0.01,
    passes: tuple[str, ...] | None = None,
    product_text: bool = False,
) -> Erased:
    """Remove ``what`` (text | product | both) from ``rgb`` and fill the hole with ``inpainter``.

    Text is detected first and hidden from the segmenter (promo text is salient and would be taken
    for product, then spared as "printed on the product").
    """
    if what not in WHAT:
        raise ValueError(f"--what must be one of {', '.join(WHAT)}, not '{what}'")
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    regions = (
        plausible_text(detect_text(rgb, max_side=2048), rgb.shape, ERASE_FILTER)
        if what in ("text", "both")
        else None
    )
    t["text"] = time.perf_counter() - t0
    if product is None:
        product = product_mask(
            rgb, model=model, model_path=model_path, passes=passes, ignore_text=regions or False
        )
    t["product"] = time.perf_counter() - t0 - t["text"]
    hole = np.zeros(rgb.shape[:2], np.uint8)
    overlay = None
    if what in ("text", "both"):
        t1 = time.perf_counter()
        overlay = text_mask(rgb, product=product.mask, regions=regions)
        hole |= overlay.mask
        if product_text and overlay.product_text:
            hole |= regions_mask(rgb.shape, overlay.product_text, grow=text_grow(overlay.product_text))
        t["overlay"] = time.perf_counter() - t1
    if what in ("product", "both"):
        hole |= grow_mask(product.mask, product_margin)
    t2 = time.perf_counter()
    out = inpaint(rgb, hole, inpainter, model_path=inpainter_path) if hole.any() else rgb.copy()
    t["inpaint"] = time.perf_counter() - t2
    t["total"] = time.perf_counter() - t0
    return Erased(out, hole, product, overlay, t)
