"""Text regions through PP-OCR detection (``rapidocr`` ships the weights in its wheel).

Only the detector runs here: recognition is ten times dearer and a region's presence, not its
words, is what a mask or a residue check needs.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

import cv2
import numpy as np

from maskgate.core.types import TextRegion
from maskgate.models.sessions import default_threads, new_session

PRODUCT_TEXT_SHARE = 0.6  # a text region at least this much inside the product ...
RING_SHARE = 0.9  # ... with product on this share of a ring a text-height wide is the product's print


# PP-OCR's default detector scales the short side up to 736 px. It pads a wide strip to a squarer
# shape first, but not a tall one: a 16x1024 column would be detected at 736x47104 (minutes and
# several GB). A tall image whose upscale would pass this long side is detected without upscaling.
DET_UPSCALE_SIDE = 736
MAX_UPSCALED_SIDE = 4096


def _det_limit(shape: tuple[int, ...], max_side: int | None) -> int | None:
    h, w = shape[:2]
    if max_side is None and h > w and h * DET_UPSCALE_SIDE / w > MAX_UPSCALED_SIDE:
        return MAX_UPSCALED_SIDE
    return max_side


# rapidocr builds its sessions without onnxruntime's memory arena (every pass allocates its
# buffers afresh: a 1024-px detection takes 166-183 ms instead of 135-157 on two cores,
# bench/ocr_sessions.py) and with spinning pool threads, which may hold a core the check's other
# thread wants while a pass waits (the check's finisher thread, runner.process_pairs). The arena is
# a setting rapidocr passes on; the spinning is not, so the detector's session is replaced by one
# made with this package's thread policy (``models.sessions.new_session``) on the same model file.
_ORT_ARENA = {"EngineConfig.onnxruntime.enable_cpu_mem_arena": True}


def _quiet_detector_session(eng, threads: int) -> None:
    """Swap the detector's session for a non-spinning one; rapidocr's own stays where its layout
    differs from what this expects (the pass is then only slower, never different)."""
    load = getattr(eng, "_load_det_model", None)
    det = load() if load is not None else None
    inner = getattr(getattr(det, "session", None), "session", None)
    path = getattr(inner, "_model_path", None)
    if path:
        det.session.session = new_session(path, threads)


@lru_cache(maxsize=4)
def _engine(threads: int = 0, max_side: int | None = None):
    """PP-OCR detection only, with the lock its calls need (an engine keeps per-call state; the
    lock is per engine, so engines for other resolutions or thread counts never wait on it). With
    ``max_side`` the detector never upsizes (its default scales the short side up to 736 px, which would undo a deliberate
    downscale and cost the full price)."""
    from rapidocr import RapidOCR

    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    params = {"Global.use_cls": False, "Global.use_rec": False, "Global.log_level": "error", **_ORT_ARENA}
    if max_side:
        params.update({"Det.limit_type": "max", "Det.limit_side_len": max_side})
    if threads:
        params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
    eng = RapidOCR(params=params)
    _quiet_detector_session(eng, threads)
    return eng, threading.Lock()


@lru_cache(maxsize=2)
def _recognizer():
    from rapidocr import RapidOCR

    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    return RapidOCR(
        params={"Global.use_cls": False, "Global.log_level": "error", **_ORT_ARENA}
    ), threading.Lock()


def detect_text(rgb: np.ndarray, *, box_thresh: float = 0.5, max_side: int | None = None) -> list[TextRegion]:
    """Text polygons in ``rgb`` (RGB uint8). ``max_side`` trades small-text recall for speed."""
    img, f = rgb, 1.0
    if max_side and max(rgb.shape[:2]) > max_side:
        f = max_side / max(rgb.shape[:2])
        img = cv2.resize(rgb, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    eng, lock = _engine(default_threads(), _det_limit(img.shape, max_side))
    with lock:
        res = eng(
            np.ascontiguousarray(img[..., ::-1]),
            use_det=True,
            use_cls=False,
            use_rec=False,
            box_thresh=box_thresh,
        )
    boxes = getattr(res, "boxes", None)
    if boxes is None or len(boxes) == 0:
        return []
    scores = list(getattr(res, "scores", None) or [1.0] * len(boxes))
    return [TextRegion(np.asarray(b, np.float32) / f, float(s)) for b, s in zip(boxes, scores, strict=False)]


def detect_text_scales(rgb: np.ndarray, sides: tuple[int | None, ...]) -> list[TextRegion]:
    """Text found at several working sizes, first size first: PP-OCR's detector sees a limited
    window, so a headline a fifth of the poster tall is found on a small view and a logo's caption
    only on a large one. A later size adds only the regions the earlier ones did not cover."""
    kept: list[TextRegion] = []
    for side in sides:
        found = detect_text(rgb, max_side=side)
        if not kept:
            kept = found
            continue
        have = regions_mask(rgb.shape, kept) > 0
        for r in found:
            one = regions_mask(rgb.shape, [r]) > 0
            n = np.count_nonzero(one)
            if n and np.count_nonzero(one & have) < 0.5 * n:
                kept.append(r)
    return kept


def read_text(rgb: np.ndarray) -> list[tuple[str, float]]:
    """Full OCR (detect + recognise): used to test that erased text is no longer readable."""
    eng, lock = _recognizer()
    with lock:
        res = eng(np.ascontiguousarray(rgb[..., ::-1]))
    txts = getattr(res, "txts", None) or ()
    scores = getattr(res, "scores", None) or ()
    return [(t, float(s)) for t, s in zip(txts, scores, strict=False)]


def regions_mask(shape: tuple[int, int], regions: list[TextRegion], grow: int = 0) -> np.ndarray:
    """Rasterise regions into a uint8 mask (255 inside); ``grow`` dilates by that many pixels."""
    m = np.zeros(shape[:2], np.uint8)
    if regions:
        cv2.fillPoly(m, [np.round(r.polygon).astype(np.int32) for r in regions], 255)
    if grow > 0 and regions:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        m = cv2.dilate(m, k)
    return m


@dataclass(frozen=True)
class TextFilter:
    """Which detections count as a line of text. PP-OCR also boxes whole round, smooth objects,
    noise and tiles; what to drop depends on the cost of a mistake, so each use names its rule.

    A detection thicker than ``max_thick`` of the frame's ``thick_side`` and less elongated than
    ``thick_elongation`` is an object; with ``blob_area`` a detection covering that share of the
    frame and less elongated than ``blob_elongation`` is one too; any detection less elongated
    than ``min_elongation`` is a blob."""

    max_thick: float
    thick_side: Literal["min", "max"]
    thick_elongation: float
    blob_area: float | None = None
    blob_elongation: float = 0.0
    min_elongation: float = 0.0


# Erasing: a missed glyph costs less than erasing the product, so only tall squat blobs go (one
# glyph is small and square and stays).
ERASE_FILTER = TextFilter(max_thick=0.15, thick_side="min", thick_elongation=2.0)
# Checking: the edit's text is evidence of residue, and a square blob in a scene or on a flat
# cut-out is not a line (a long tall line is kept: a poster's glowing headline).
CHECK_FILTER = TextFilter(
    max_thick=0.15,
    thick_side="max",
    thick_elongation=2.5,
    blob_area=0.02,
    blob_elongation=1.5,
    min_elongation=1.4,
)


# An erasure's original: its lines are what the edit must remove, and a badge's short caption
# ("HOT", "NEW") is as squat as the objects CHECK_FILTER's blob rule drops; only the elongation and
# thickness rules apply. Derived, so the two cannot drift apart on those rules.
ERASED_FILTER = replace(CHECK_FILTER, blob_area=None)


def plausible_text(regions: list[TextRegion], shape: tuple[int, ...], rule: TextFilter) -> list[TextRegion]:
    """The detections in ``regions`` (on an image of ``shape``) that ``rule`` takes for text lines."""
    h, w = shape[:2]
    side = min(h, w) if rule.thick_side == "min" else max(h, w)
    keep = []
    for r in regions:
        (_, _), (a, b), _ = cv2.minAreaRect(r.polygon.astype(np.float32))
        thick, long = min(a, b), max(a, b)
        if thick > rule.max_thick * side and long < rule.thick_elongation * thick:
            continue
        if (
            rule.blob_area is not None
            and long < rule.blob_elongation * thick
            and long * thick > rule.blob_area * h * w
        ):
            continue
        if long < rule.min_elongation * thick:
            continue
        keep.append(r)
    return keep


def text_grow(regions: list[TextRegion]) -> int:
    """Dilation that covers anti-aliasing, outlines and drop shadows: a fraction of the text height."""
    if not regions:
        return 0
    heights = [min(np.ptp(r.polygon[:, 0]), np.ptp(r.polygon[:, 1])) for r in regions]
    return int(max(2, round(0.18 * float(np.median(heights)))))


def on_product(region: TextRegion, prod: np.ndarray, ring_share: float = RING_SHARE) -> bool:
    """Printed on the product: inside the mask AND surrounded by product a text-height around.

    Saliency models mark bold overlay text as salient too, so lying inside the mask is not enough;
    a label has product all around it, a floating headline has background a little way off.
    ``ring_share`` 0 drops the ring test, for a mask found with the text hidden from the network
    (print at the product's edge, a shoe's tongue label, fails the ring).
    """
    h, w = prod.shape
    x0, y0, x1, y1 = region.bbox
    th = max(2, min(x1 - x0, y1 - y0))
    m = th + 2
    wx0, wy0, wx1, wy1 = max(0, x0 - m), max(0, y0 - m), min(w, x1 + m + 1), min(h, y1 + m + 1)
    sub = prod[wy0:wy1, wx0:wx1]
    one = np.zeros(sub.shape, np.uint8)
    cv2.fillPoly(one, [np.round(region.polygon - (wx0, wy0)).astype(np.int32)], 255)
    inside = one > 0
    if not inside.any() or (sub & inside).sum() < PRODUCT_TEXT_SHARE * inside.sum():
        return False
    if ring_share <= 0:
        return True
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * th + 1, 2 * th + 1))
    ring = (cv2.dilate(one, k) > 0) & ~inside
    # A ring cut off by the image border counts as background there.
    ring_full = int(ring.sum()) + max(0, (m * 2 + x1 - x0) * (m * 2 + y1 - y0) - sub.size) // 2
    return bool((sub & ring).sum() >= ring_share * max(1, ring_full))
