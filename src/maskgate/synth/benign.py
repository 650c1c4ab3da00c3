"""Benign variation: what a reviewer accepts in a good edit and a gate must not punish.

A re-encode (JPEG 70-95, WebP, PNG), a delivery at 40-100 % of the original's resolution, a white,
off-white, soft-shadow or transparent backdrop for a cut-out, any new background for an inpainted
edit, and a few percent of reframing. Defective edits get the same variation, so that no benign
trait ever predicts a label.

The edit is built at its delivery resolution, so every pixel-sized visibility rule is stated in
the pixels of the file a reviewer opens.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from maskgate.core.types import Kind
from maskgate.synth.layers import Edit, Layer, as_u8, bbox, centre, over, warp_layer
from maskgate.synth.sources import Backgrounds, Original

CUTOUT_BACKDROPS = ("white", "offwhite", "shadow", "transparent")
SHIFT = 0.04  # framing translation, share of the frame
ZOOM = 0.05  # framing scale, either way
LOWEST_SCALE = 0.4


@dataclass(frozen=True)
class Benign:
    backdrop: str  # a CUTOUT_BACKDROPS entry, or the source id of a new background
    scale: float  # delivery resolution over the original's
    shift: tuple[float, float]  # framing translation, share of the frame
    zoom: float  # framing scale of the product
    encoding: str  # "png", "jpeg:<q>", "webp:<q>" or "webp:lossless"
    tone: tuple[int, int, int] = (255, 255, 255)  # the cut-out backdrop's colour
    shadow: float = 0.0  # opacity of the soft shadow under a cut-out

    def as_json(self) -> dict:
        d = asdict(self)
        d["shift"] = [round(v, 4) for v in self.shift]
        d["scale"], d["zoom"], d["shadow"] = round(self.scale, 4), round(self.zoom, 4), round(self.shadow, 3)
        d["tone"] = list(self.tone)
        return d


def plain(kind: Kind, background: str = "") -> Benign:
    """No variation: the demo's edits (a cut-out on white, JPEG 95, the original's framing)."""
    return Benign("white" if kind == "isolated" else background, 1.0, (0.0, 0.0), 1.0, "jpeg:95")


def draw(rng: np.random.Generator, kind: Kind, background: str = "") -> Benign:
    """One benign variation, each trait drawn on its own."""
    backdrop = (
        CUTOUT_BACKDROPS[int(rng.integers(len(CUTOUT_BACKDROPS)))] if kind == "isolated" else background
    )
    scale = 1.0 if rng.random() < 0.35 else float(rng.uniform(LOWEST_SCALE, 1.0))
    framed = rng.random() < 0.6
    shift = (float(rng.uniform(-SHIFT, SHIFT)), float(rng.uniform(-SHIFT, SHIFT))) if framed else (0.0, 0.0)
    zoom = float(rng.uniform(1 - ZOOM, 1 + ZOOM)) if framed else 1.0
    return Benign(
        backdrop,
        scale,
        shift,
        zoom,
        _encoding(rng, backdrop == "transparent"),
        _tone(rng, backdrop),
        float(rng.uniform(0.15, 0.4)) if backdrop == "shadow" else 0.0,
    )


def _encoding(rng: np.random.Generator, transparent: bool) -> str:
    options = ["png", "webp"] if transparent else ["png", "jpeg", "jpeg", "webp"]
    codec = options[int(rng.integers(len(options)))]
    if codec == "jpeg":
        return f"jpeg:{int(rng.integers(70, 96))}"
    if codec == "webp":
        return "webp:lossless" if rng.random() < 0.25 else f"webp:{int(rng.integers(75, 96))}"
    return "png"


def _tone(rng: np.random.Generator, backdrop: str) -> tuple[int, int, int]:
    if backdrop not in ("offwhite", "shadow"):
        return (255, 255, 255)
    base = rng.uniform(236, 252)
    warm = rng.uniform(-4, 4)
    r, g, b = (int(np.clip(v, 0, 255)) for v in (base + warm, base, base - warm))
    return (r, g, b)


@dataclass(frozen=True)
class Stage:
    """A clean edit's parts in the edit's frame, for a defect to break one of them."""

    kind: Kind
    product: Layer
    old_bg: np.ndarray  # the original's background, moved with the product
    back: np.ndarray  # the cut-out backdrop or the new background (no shadow)
    overlays: dict[str, Layer]  # the original's overlays, at the original's resolution
    scale: float  # the edit's resolution over the original's
    shadow: float
    transparent: bool

    def overlay(self, name: str) -> Layer:
        """One of the original's overlays at the edit's resolution (resized only when a residue
        family asks: most edits never need one)."""
        matrix = np.array([[self.scale, 0, 0], [0, self.scale, 0]], np.float32)
        return warp_layer(self.overlays[name], matrix, (self.shape[1], self.shape[0]))

    @property
    def shape(self) -> tuple[int, int]:
        return self.back.shape[:2]

    def compose(self, product: Layer | None = None, back: np.ndarray | None = None) -> Edit:
        """``product`` (default: the clean one) over ``back`` (default: the stage's backdrop)."""
        product = self.product if product is None else product
        back = self.back if back is None else back
        if self.transparent:
            rgb = np.where(product.alpha[..., None] >= 0.5 / 255, product.rgb, np.uint8(255))
            return Edit(rgb.astype(np.uint8), product.alpha.copy())
        if self.shadow > 0:
            back = cast_shadow(back, product, self.shadow)
        return Edit(over(product, back))


def cast_shadow(back: np.ndarray, product: Layer, opacity: float) -> np.ndarray:
    """A soft contact shadow, a little below the product: a studio cut-out's usual backdrop."""
    box = bbox(product.mask)
    if box is None:
        return back
    size = max(box[2] - box[0], box[3] - box[1])
    drop = np.array(
        [[1, 0, 0.01 * size], [0, 0.9, 0.1 * box[3] + 0.02 * size]], np.float32
    )  # squashed onto the floor
    alpha = cv2.warpAffine(product.alpha, drop, (back.shape[1], back.shape[0]))
    alpha = cv2.GaussianBlur(alpha, (0, 0), max(1.0, 0.04 * size)) * np.float32(opacity)
    return (back.astype(np.float32) * (1 - alpha[..., None]) + 0.5).astype(np.uint8)


def stage(original: Original, kind: Kind, benign: Benign, backgrounds: Backgrounds) -> Stage:
    h, w = original.image.shape[:2]
    size = (max(1, round(w * benign.scale)), max(1, round(h * benign.scale)))
    matrix = _framing(original.product, benign, size)
    product = warp_layer(original.product, matrix, size)
    old_bg = cv2.warpAffine(
        original.old_bg, matrix, size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT
    )
    if kind == "isolated":
        back = np.empty((size[1], size[0], 3), np.uint8)
        back[:] = benign.tone
    else:
        back = background_image(benign.backdrop, backgrounds, (size[1], size[0]))
    return Stage(
        kind,
        product,
        old_bg,
        back,
        original.overlays,
        benign.scale,
        benign.shadow,
        benign.backdrop == "transparent",
    )


def background_image(source: str, backgrounds: Backgrounds, shape: tuple[int, int]) -> np.ndarray:
    kind, _, key = source.partition(":")
    if kind == "photo":
        n = next(i for i, p in enumerate(backgrounds.photos) if p.stem == key)
        return backgrounds.make("photo", n, shape)[1]
    return backgrounds.make(kind, int(key), shape)[1]


def _framing(product: Layer, benign: Benign, size: tuple[int, int]) -> np.ndarray:
    """Delivery scale, then the reframing about the product's centre, kept inside the frame: a
    framing that cut the product would be a defect, not a benign change."""
    f = benign.scale
    cx, cy = centre(product.mask)
    cx, cy = cx * f, cy * f
    z = benign.zoom
    dx, dy = benign.shift[0] * size[0], benign.shift[1] * size[1]
    box = bbox(product.mask)
    if box is not None:
        x0, y0, x1, y1 = (v * f for v in box)
        x0, x1 = cx + z * (x0 - cx), cx + z * (x1 - cx)
        y0, y1 = cy + z * (y0 - cy), cy + z * (y1 - cy)
        dx = float(np.clip(dx, 1 - x0, size[0] - 1 - x1)) if x1 - x0 < size[0] - 2 else 0.0
        dy = float(np.clip(dy, 1 - y0, size[1] - 1 - y1)) if y1 - y0 < size[1] - 2 else 0.0
    return np.array([[f * z, 0, cx - z * cx + dx], [0, f * z, cy - z * cy + dy]], np.float32)


def write(edit: Edit, stem: Path, encoding: str) -> Path:
    """Encode the edit as the benign variation says; returns the file written."""
    codec, _, arg = encoding.partition(":")
    path = stem.with_suffix({"jpeg": ".jpg", "webp": ".webp"}.get(codec, ".png"))
    path.parent.mkdir(parents=True, exist_ok=True)
    if edit.alpha is not None:
        im = Image.fromarray(np.dstack([edit.rgb, as_u8(edit.alpha)]), "RGBA")
    else:
        im = Image.fromarray(edit.rgb)
    if codec == "jpeg":
        im.convert("RGB").save(path, quality=int(arg))
    elif codec == "webp":
        im.save(path, lossless=True) if arg == "lossless" else im.save(path, quality=int(arg))
    else:
        im.save(path, compress_level=6)
    return path
