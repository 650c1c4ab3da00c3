"""Text regions through PP-OCR detection (``rapidocr`` ships the weights in its wheel).

Only the detector runs here: recognition is ten times dearer and a region's presence, not its
words, is what a mask or a residue check needs.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np


@dataclass(frozen=True)
class TextRegion:
    polygon: np.ndarray  # Nx2 float32, (x, y) in image pixels
    score: float

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        x0, y0 = self.polygon.min(0)
        x1, y1 = self.polygon.max(0)
        return int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1))


@lru_cache(maxsize=4)
def _engine(threads: int = 0, max_side: int | None = None):
    """PP-OCR detection only, with the lock its calls need (an engine keeps per-call state; the
    lock is per engine, so engines for other resolutions or thread counts never wait on it). With
    ``max_side`` the detector never upsizes (its default scales the short side up to 736 px, which would undo a deliberate
    downscale and cost the full price)."""
    from rapidocr import RapidOCR

    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    params = {"Global.use_cls": False, "Global.use_rec": False, "Global.log_level": "error"}
    if max_side:
        params.update({"Det.limit_type": "max", "Det.limit_side_len": max_side})
    if threads:
        params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
    return RapidOCR(params=params), threading.Lock()


@lru_cache(maxsize=2)
def _recognizer():
    from rapidocr import RapidOCR

    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    return RapidOCR(params={"Global.use_cls": False, "Global.log_level": "error"}), threading.Lock()


def detect_text(rgb: np.ndarray, *, box_thresh: float = 0.5, max_side: int | None = None) -> list[TextRegion]:
    """Text polygons in ``rgb`` (RGB uint8). ``max_side`` trades small-text recall for speed."""
    img, f = rgb, 1.0
    if max_side and max(rgb.shape[:2]) > max_side:
        f = max_side / max(rgb.shape[:2])
        img = cv2.resize(rgb, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    from maskgate.models.sessions import default_threads

    eng, lock = _engine(default_threads(), max_side)
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
