"""Decode any image a user is likely to hand us into one predictable form.

Everything downstream works on ``uint8`` RGB arrays (plus an optional alpha plane), so all the
format zoo (EXIF rotation, palette, 16-bit, CMYK, grayscale, alpha) is handled here, once.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from maskgate.core.types import LoadedImage

# Decompression-bomb guard. 12000x9000 catalogue shots must work; a 20000x20000 PNG (400 MP, 1.2 GB
# decoded) is refused with a clear reason rather than taking the worker down.
MAX_PIXELS = 200_000_000
Image.MAX_IMAGE_PIXELS = None  # we apply our own, clearer limit below


class ImageReadError(ValueError):
    """An image that cannot be used; the message is shown to the user as the item's reason."""


def _to_8bit(im: Image.Image) -> Image.Image:
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        return Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if im.mode == "F":
        arr = np.asarray(im, dtype=np.float64)
        top = 1.0 if arr.max() <= 1.0 else arr.max()
        return Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    return im


def decode(im: Image.Image, *, max_side: int | None = None, path: str = "") -> LoadedImage:
    """Normalise an opened PIL image (see module doc). ``max_side`` bounds the working size."""
    w0, h0 = im.size
    if w0 * h0 > MAX_PIXELS:
        raise ImageReadError(
            f"image too large: {w0}x{h0} = {w0 * h0 / 1e6:.0f} MP (limit {MAX_PIXELS / 1e6:.0f} MP)"
        )
    if max_side and max(w0, h0) > max_side and im.format == "JPEG":
        # DCT-domain downscale: decodes a 12000-px JPEG at 1/8 of the cost and memory.
        im.draft("RGB", (max_side, max_side))
    # Orientations 5-8 swap width and height; read it before draft()/transpose change the image.
    swapped = im.getexif().get(0x0112, 1) in (5, 6, 7, 8)
    src = (h0, w0) if swapped else (w0, h0)
    im = ImageOps.exif_transpose(im)
    im = _to_8bit(im)
    alpha = None
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        a = np.asarray(im.getchannel("A"))
        if a.min() < 255:
            alpha = a
        im = im.convert("RGB")
    elif im.mode != "RGB":
        im = im.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV
    rgb = np.asarray(im)
    if max_side and max(rgb.shape[:2]) > max_side:
        import cv2

        f = max_side / max(rgb.shape[:2])
        size = (max(1, round(rgb.shape[1] * f)), max(1, round(rgb.shape[0] * f)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        if alpha is not None:
            alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    return LoadedImage(np.ascontiguousarray(rgb), alpha, (int(src[0]), int(src[1])), path)


def load_image(path: str | Path, *, max_side: int | None = None) -> LoadedImage:
    """Read ``path`` once into a :class:`LoadedImage`; every failure becomes :class:`ImageReadError`."""
    p = Path(path)
    if not p.exists():
        raise ImageReadError(f"file not found: {p}")
    if p.is_dir():
        raise ImageReadError(f"is a folder, not an image: {p}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(p) as im:
                im.load() if not (max_side and im.format == "JPEG") else None
                return decode(im, max_side=max_side, path=str(p))
    except ImageReadError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ImageReadError(f"cannot decode image {p.name}: {e}") from e


def rgba_over(
    rgb: np.ndarray, alpha: np.ndarray | None, bg: tuple[int, int, int] = (255, 255, 255)
) -> np.ndarray:
    """Flatten a cut-out onto a solid colour (what a shopper sees on a white product page)."""
    if alpha is None:
        return rgb
    a = alpha.astype(np.float32)[..., None] / 255.0
    out = rgb.astype(np.float32) * a + np.asarray(bg, np.float32) * (1.0 - a)
    return (out + 0.5).astype(np.uint8)


def save_image(
    path: str | Path, rgb: np.ndarray, alpha: np.ndarray | None = None, quality: int = 95, fast: bool = False
) -> None:
    """Write PNG/JPEG/WebP; ``fast`` trades PNG size for speed (evidence images, written per pair)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if alpha is not None:
        arr = np.dstack([rgb, alpha]) if rgb.ndim == 3 else np.dstack([rgb, rgb, rgb, alpha])
        Image.fromarray(arr, "RGBA").save(p, compress_level=1 if fast else 6)
        return
    im = Image.fromarray(rgb)
    if p.suffix.lower() in (".jpg", ".jpeg", ".webp"):
        im.save(p, quality=quality)
    else:
        im.save(p, compress_level=1 if fast else 6)
