"""Layers (colour plus a soft alpha) and the few measurements the visibility rules are stated in.

Every edit is built by stacking layers, so a defect can move, warp or fade one part (the product,
a leftover badge) without touching the rest, and its strength can be measured on exactly the
pixels it changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from maskgate.vision.blend import blend


@dataclass(frozen=True)
class Layer:
    rgb: np.ndarray  # HxWx3 uint8; only meaningful where alpha > 0
    alpha: np.ndarray  # HxW float32 in [0, 1]

    @property
    def mask(self) -> np.ndarray:
        return self.alpha > 0.5

    @property
    def shape(self) -> tuple[int, int]:
        return self.alpha.shape[:2]

    def faded(self, opacity: float) -> Layer:
        return Layer(self.rgb, (self.alpha * np.float32(opacity)).astype(np.float32))


@dataclass(frozen=True)
class Edit:
    """An edit as it will be written: colour, and alpha when it is a transparent cut-out."""

    rgb: np.ndarray
    alpha: np.ndarray | None = None  # float32 [0, 1]

    def under(self, top: Layer) -> Edit:
        """This edit with ``top`` composited over it (colour and, for a cut-out, coverage)."""
        if self.alpha is None:
            return Edit(over(top, self.rgb))
        a = top.alpha + self.alpha * (1.0 - top.alpha)
        pm = top.rgb * top.alpha[..., None] + self.rgb * (self.alpha * (1.0 - top.alpha))[..., None]
        rgb = np.where(a[..., None] > 0, pm / np.maximum(a, 1e-4)[..., None], 255.0)
        return Edit(np.clip(rgb + 0.5, 0, 255).astype(np.uint8), a.astype(np.float32))

    def flat(self) -> np.ndarray:
        """What a viewer shows: a transparent cut-out seen on white."""
        if self.alpha is None:
            return self.rgb
        white = np.full_like(self.rgb, 255)
        return over(Layer(self.rgb, self.alpha), white)


def as_u8(alpha: np.ndarray) -> np.ndarray:
    return (np.clip(alpha, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def over(top: Layer, back: np.ndarray) -> np.ndarray:
    return blend(top.rgb, back, as_u8(top.alpha))


def lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (L 0-100), the space the colour rules are stated in, so a threshold means the same
    on every product colour."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def from_lab(lab_img: np.ndarray) -> np.ndarray:
    rgb = cv2.cvtColor(lab_img.astype(np.float32), cv2.COLOR_Lab2RGB)
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def delta_e(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel CIE76 colour difference."""
    return np.linalg.norm(lab(a) - lab(b), axis=-1)


def weighted_mean(values: np.ndarray, weight: np.ndarray) -> float:
    total = float(weight.sum())
    return float((values * weight).sum() / total) if total > 0 else 0.0


def bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) inclusive-exclusive, or None for an empty mask."""
    ys, xs = np.nonzero(mask)
    if not len(xs):
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def long_side(mask: np.ndarray) -> int:
    box = bbox(mask)
    return 0 if box is None else max(box[2] - box[0], box[3] - box[1])


def centre(mask: np.ndarray) -> tuple[float, float]:
    box = bbox(mask)
    if box is None:
        return mask.shape[1] / 2, mask.shape[0] / 2
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def warp_layer(layer: Layer, matrix: np.ndarray, size: tuple[int, int]) -> Layer:
    """Affine warp with premultiplied colour, so the product's edge never picks up the colour
    that happened to sit outside its alpha (black, in drawn products)."""
    return _premultiplied(
        layer,
        size,
        lambda im, interp, border: cv2.warpAffine(im, matrix, size, flags=interp, borderMode=border),
    )


def remap_layer(layer: Layer, map_x: np.ndarray, map_y: np.ndarray) -> Layer:
    size = (layer.shape[1], layer.shape[0])
    return _premultiplied(
        layer, size, lambda im, interp, border: cv2.remap(im, map_x, map_y, interp, borderMode=border)
    )


def _premultiplied(layer: Layer, size: tuple[int, int], op) -> Layer:
    a = layer.alpha.astype(np.float32)
    pm = layer.rgb.astype(np.float32) * a[..., None]
    pm_w = op(pm, cv2.INTER_LINEAR, cv2.BORDER_CONSTANT)
    a_w = np.clip(op(a, cv2.INTER_LINEAR, cv2.BORDER_CONSTANT), 0.0, 1.0)
    rgb = pm_w / np.maximum(a_w, 1e-4)[..., None]
    return Layer(np.clip(rgb + 0.5, 0, 255).astype(np.uint8), a_w.astype(np.float32))


def similarity(
    scale: float, about: tuple[float, float], shift: tuple[float, float] = (0.0, 0.0)
) -> np.ndarray:
    """2x3 matrix: scale about a point, then translate."""
    cx, cy = about
    return np.array(
        [[scale, 0.0, cx - scale * cx + shift[0]], [0.0, scale, cy - scale * cy + shift[1]]], np.float32
    )


def resize_cover(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize and centre-crop to fill ``size`` (w, h) without distorting: how a background photo is
    fitted behind a product."""
    w, h = size
    f = max(w / img.shape[1], h / img.shape[0])
    big = cv2.resize(
        img,
        (max(w, round(img.shape[1] * f)), max(h, round(img.shape[0] * f))),
        interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR,
    )
    y0, x0 = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    return np.ascontiguousarray(big[y0 : y0 + h, x0 : x0 + w])


def region_weight(alpha: np.ndarray, grow: float) -> np.ndarray:
    """The product's alpha grown by ``grow`` px with a soft edge: where a degradation of the
    product (blur, blocks, compression) is allowed to show, edge included."""
    if grow <= 0:
        return alpha.astype(np.float32)
    k = 2 * int(np.ceil(grow)) + 1
    grown = cv2.dilate(alpha.astype(np.float32), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return np.clip(cv2.GaussianBlur(grown, (0, 0), max(0.5, grow / 2)), 0.0, 1.0)


def mix(a: np.ndarray, b: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """b where weight is 1, a where it is 0."""
    w = weight.astype(np.float32)[..., None] if a.ndim == 3 else weight.astype(np.float32)
    out = a.astype(np.float32) * (1.0 - w) + b.astype(np.float32) * w
    return np.clip(out + 0.5, 0, 255).astype(np.uint8) if a.dtype == np.uint8 else out.astype(a.dtype)
