"""Overlay masks: promo text, and the flat badges/ribbons/logo plates that carry it.

Text comes from PP-OCR detection polygons (not boxes: slanted or curved lines would drag whole
rectangles of product into the mask). A badge is found from the text it holds: the ring of pixels
just outside a text polygon is sampled, and when it is one flat colour the plate is flood-filled in
that colour. A plate that grows into a large share of the image is the background, not a badge,
and is dropped. Regions lying mostly on the product are its own print (labels, packaging) and are
kept out of the erase mask.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from maskgate.core.types import TextRegion
from maskgate.vision.text import (
    ERASE_FILTER,
    detect_text,
    on_product,
    plausible_text,
    regions_mask,
    text_grow,
)


@dataclass
class OverlayMask:
    """Overlay masks, uint8 0/255 at the image size."""

    mask: np.ndarray  # text + graphics
    text: np.ndarray
    graphics: np.ndarray
    regions: list[TextRegion] = field(default_factory=list)
    product_text: list[TextRegion] = field(default_factory=list)  # kept: printed on the product


def _plate(rgb: np.ndarray, region: TextRegion, grow: int, max_share: float) -> np.ndarray | None:
    """Flood-fill the flat-coloured plate around a text region; None when there is none."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = region.bbox
    th = max(4, min(x1 - x0, y1 - y0))
    inner = np.zeros((h, w), np.uint8)
    cv2.fillPoly(inner, [np.round(region.polygon).astype(np.int32)], 255)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 3, 2 * grow + 3))
    ring = (cv2.dilate(inner, k) > 0) & ~(
        cv2.dilate(inner, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2)) > 0
    )
    if ring.sum() < 20:
        return None
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    samples = lab[ring].astype(np.float32)
    if samples.std(0).max() > 6.0:  # not one flat colour: text straight on a photo
        return None
    ys, xs = np.nonzero(ring)
    seed = (int(xs[0]), int(ys[0]))
    # Flood-fill inside a window a few text heights around the region: plates are local.
    m = 4 * th
    wx0, wy0, wx1, wy1 = max(0, x0 - m), max(0, y0 - m), min(w, x1 + m), min(h, y1 + m)
    sub = np.ascontiguousarray(lab[wy0:wy1, wx0:wx1])
    ff = np.zeros((sub.shape[0] + 2, sub.shape[1] + 2), np.uint8)
    ff[1:-1, 1:-1][inner[wy0:wy1, wx0:wx1] > 0] = 1  # do not flood through the glyphs' box
    tol = (8, 8, 8)
    cv2.floodFill(
        sub, ff, (seed[0] - wx0, seed[1] - wy0), 0, tol, tol, cv2.FLOODFILL_MASK_ONLY | 4 | (255 << 8)
    )
    plate = np.zeros((h, w), np.uint8)
    plate[wy0:wy1, wx0:wx1] = np.where(ff[1:-1, 1:-1] == 255, 255, 0)
    area = int((plate > 0).sum())
    touches = plate[0].any() or plate[-1].any() or plate[:, 0].any() or plate[:, -1].any()
    window_share = area / max(1, (wy1 - wy0) * (wx1 - wx0))
    if area > max_share * h * w or (touches and window_share > 0.5) or window_share > 0.7:
        return None  # it is the background the text sits on
    plate = cv2.morphologyEx(plate, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    return plate


def text_mask(
    rgb: np.ndarray,
    *,
    product: np.ndarray | None = None,
    graphics: bool = True,
    max_side: int | None = 2048,
    box_thresh: float = 0.5,
    max_plate_share: float = 0.08,
    work_side: int = 2048,
    regions: list[TextRegion] | None = None,
) -> OverlayMask:
    """Text and overlay-graphics mask of ``rgb``.

    ``product`` (bool or 0/255 mask, same size): when given, regions lying mostly on the product
    are treated as the product's print and left out, and the result excludes the product, ready
    for erasing (``maskgate text-mask --combined``). ``regions``: detections already made on this
    image (skips a second OCR pass).
    """
    h, w = rgb.shape[:2]
    prod = None if product is None else (product > 127 if product.dtype == np.uint8 else product.astype(bool))
    if max(h, w) > work_side:
        # Masks, dilations and flood fills at a bounded size; only the result is upsampled.
        f = work_side / max(h, w)
        size = (max(1, round(w * f)), max(1, round(h * f)))
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        sp = (
            None
            if prod is None
            else cv2.resize(prod.astype(np.uint8) * 255, size, interpolation=cv2.INTER_AREA)
        )
        pre = None if regions is None else [TextRegion(x.polygon * f, x.score) for x in regions]
        r = text_mask(
            small,
            product=sp,
            graphics=graphics,
            max_side=max_side,
            box_thresh=box_thresh,
            max_plate_share=max_plate_share,
            work_side=work_side,
            regions=pre,
        )

        def up(m):
            return np.where(cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR) >= 128, 255, 0).astype(
                np.uint8
            )

        def scale(rs):
            return [TextRegion(x.polygon / f, x.score) for x in rs]

        return OverlayMask(up(r.mask), up(r.text), up(r.graphics), scale(r.regions), scale(r.product_text))
    if regions is None:
        regions = detect_text(rgb, box_thresh=box_thresh, max_side=max_side)
    regions = plausible_text(regions, rgb.shape, ERASE_FILTER)
    kept: list[TextRegion] = []
    printed: list[TextRegion] = []
    for r in regions:
        if prod is not None and on_product(r, prod):
            printed.append(r)
            continue
        kept.append(r)
    grow = text_grow(kept)
    text = regions_mask((h, w), kept, grow=grow)
    gfx = np.zeros((h, w), np.uint8)
    if graphics:
        for r in kept:
            p = _plate(rgb, r, grow, max_plate_share)
            if p is not None:
                gfx |= p
    if prod is not None:
        # Plates never eat into the product; promo text overlapping its edge still goes whole, since
        # half-erased letters left on the product are residue.
        gfx = np.where(prod, 0, gfx).astype(np.uint8)
    both = text | gfx
    return OverlayMask(both, text, gfx, kept, printed)
