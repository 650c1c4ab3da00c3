"""The product mask: saliency views, edge refinement and the resize back to the file's size."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from maskgate.io.images import rgba_over
from maskgate.make.refine import DEFAULT_STEPS, refine
from maskgate.vision.fill import without_text
from maskgate.vision.segment import saliency_views

# Refinement never runs above this side: GrabCut and matting cost grows with pixels, edge accuracy
# beyond ~1 MP does not change IoU, and a 12000x9000 photo must not allocate float maps at full size.
WORK_SIDE = 1024


@dataclass
class Mask:
    """A product mask. ``mask`` is 0/255 uint8, ``alpha`` the soft matte (uint8), same size."""

    mask: np.ndarray
    alpha: np.ndarray
    model: str = "u2netp"
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def bool(self) -> np.ndarray:
        return self.mask > 127

    @property
    def area(self) -> float:
        """Share of the image covered by the product."""
        return float(self.bool.mean())


def _working(rgb: np.ndarray, side: int) -> np.ndarray:
    if max(rgb.shape[:2]) <= side:
        return rgb
    f = side / max(rgb.shape[:2])
    return cv2.resize(
        rgb, (max(1, round(rgb.shape[1] * f)), max(1, round(rgb.shape[0] * f))), interpolation=cv2.INTER_AREA
    )


def _to_size(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (a.shape[1], a.shape[0]) == tuple(size):
        return a
    return cv2.resize(a, size, interpolation=cv2.INTER_LINEAR)


def product_mask(
    rgb: np.ndarray,
    *,
    model: str = "u2netp",
    model_path: str | None = None,
    passes: tuple[str, ...] | None = None,
    steps: tuple[str, ...] = DEFAULT_STEPS,
    alpha: np.ndarray | None = None,
    out_size: tuple[int, int] | None = None,
    work_side: int = WORK_SIDE,
    ignore_text: bool | list = False,
) -> Mask:
    """Segment the salient product in ``rgb`` (uint8 RGB).

    ``alpha``: the file's own transparency; transparent pixels are background whatever the network
    says (it sees the image flattened on white). ``out_size`` (width, height): size of the returned
    mask when ``rgb`` is a downscaled decode of a bigger file. ``ignore_text``: on creatives, bold
    promo text is itself salient and gets pulled into the mask; with True (or a list of
    :class:`TextRegion` already detected) text is filled in before the network looks.
    """
    t0 = time.perf_counter()
    out_size = out_size or (rgb.shape[1], rgb.shape[0])
    work = _working(rgb, work_side)
    h, w = work.shape[:2]
    if alpha is not None:
        alpha = _to_size(alpha, (w, h))
        work = rgba_over(work, alpha)
    if ignore_text is not False:
        work = without_text(work, None if ignore_text is True else ignore_text, rgb.shape)
    prob = saliency_views(work, model, model_path, passes, out_size=(w, h))
    t = {"network": time.perf_counter() - t0}
    r = refine(work, prob, steps)
    t.update(r.timings)
    a = r.alpha
    if alpha is not None:
        a = np.minimum(a, alpha.astype(np.float32) / 255.0)
    a8 = _to_size((np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8), out_size)
    mask = np.where(a8 >= 128, 255, 0).astype(np.uint8)
    t["total"] = time.perf_counter() - t0
    return Mask(mask, a8, model, t)
