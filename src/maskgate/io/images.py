"""Decode any image a user is likely to hand us into one predictable form.

Everything downstream works on ``uint8`` RGB arrays (plus an optional alpha plane), so all the
format zoo (EXIF rotation, palette, 16-bit, CMYK, grayscale, alpha, animation) is handled here,
once. This is also the one place a file from a user is opened, so it is where hostile files are
refused: anything that is not a regular file is turned away before it is opened (a named pipe would
block the run for ever), and the pixel limit is read from the header before a single pixel is
decoded (a 12 KB JPEG can claim 60000x60000 and cost 14 GB to decode).
"""

from __future__ import annotations

import io
import os
import stat
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePath, PurePosixPath
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError, features

from maskgate.core.types import LoadedImage
from maskgate.io import uri

# Decompression-bomb guard. 12000x9000 catalogue shots must work; a 20000x20000 PNG (400 MP, 1.2 GB
# decoded) is refused with a clear reason rather than taking the worker down.
MAX_PIXELS = 200_000_000
# PIL's own guard would raise at Image.open with a message naming neither the file nor its size; the
# limit above is applied from the same header instead (and PIL's error still caught, should any code
# turn its guard back on).
Image.MAX_IMAGE_PIXELS = None

# The smallest image make and check process: PP-OCR's detector and the 512-px analysis of the
# check need a few pixels across the short side once the long side is scaled down, so a 1x1 pixel or
# a 5x4000 strip is refused with this reason instead of failing deep inside OpenCV.
MIN_SIDE = 16
MAX_ASPECT = 64

_AVIF = bool(features.check("avif"))
# Formats PIL may identify a file as (a camera's MPO comes through JPEG's plugin). Restricting
# Image.open keeps exotic decoders (EPS runs Ghostscript, for one) away from files that only claim to
# be images.
READ_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF") + (("AVIF",) if _AVIF else ())
IMAGE_EXTS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"} | ({".avif"} if _AVIF else set())
)
# Image formats a folder scan lists as skipped (with this reason) rather than ignoring in silence;
# any other extension (.txt, .xmp sidecars) is not taken for an image at all.
UNREAD_IMAGE_EXTS: frozenset[str] = (
    frozenset(
        {".svg", ".svgz", ".heic", ".heif", ".avif", ".jxl", ".jp2", ".j2k", ".psd", ".ico", ".eps"}
        | {".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2", ".raf"}
    )
    - IMAGE_EXTS
)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


class ImageReadError(ValueError):
    """An image that cannot be used; the message is shown to the user as the item's reason."""


def unsupported_format(path: str | PurePath) -> str | None:
    """Why a file named like an image is not read, or None when its extension is one we read."""
    ext = Path(path).suffix.lower()
    if ext in IMAGE_EXTS:
        return None
    return (
        f"unsupported image format {ext or '(no extension)'} (maskgate reads {', '.join(sorted(IMAGE_EXTS))})"
    )


def shape_problem(size: tuple[int, int], purpose: str) -> str | None:
    """The reason an image of ``size`` (width, height) is too small or too thin to ``purpose``.

    One rule for make and check, so a file refused by one is refused by the other for the same
    stated reason."""
    w, h = size
    if min(w, h) < MIN_SIDE:
        return f"image too small to {purpose}: {w}x{h} (at least {MIN_SIDE} px on each side)"
    if max(w, h) > MAX_ASPECT * min(w, h):
        return (
            f"image too elongated to {purpose}: {w}x{h} "
            f"(the long side may be at most {MAX_ASPECT} times the short side)"
        )
    return None


def _not_regular(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _refuse_special(mode: int, p: Path) -> None:
    if stat.S_ISDIR(mode):
        raise ImageReadError(f"is a folder, not an image: {p}")
    what = _not_regular(mode)
    if what:
        raise ImageReadError(f"not a regular file: {p} is {what}; only regular files are read")


def require_regular_file(path: str | Path) -> None:
    """Refuse what cannot be read without risk: a missing path, a folder, a pipe or device (opening
    one for reading can block for ever), an empty file. Costs one ``stat``, opens nothing."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise ImageReadError(f"file not found: {p}") from None
    except OSError as e:
        raise ImageReadError(f"cannot read {p}: {e.strerror or e}") from None
    _refuse_special(st.st_mode, p)
    if st.st_size == 0:
        raise ImageReadError(f"empty file (0 bytes): {p}")


def _open_regular(p: Path) -> BinaryIO:
    """Open ``p`` for reading without ever blocking: the open is non-blocking (a pipe swapped in
    after the ``stat`` opens at once instead of waiting for a writer) and checked again on the
    descriptor itself."""
    require_regular_file(p)
    try:
        fd = os.open(p, os.O_RDONLY | _NONBLOCK)
    except OSError as e:
        raise ImageReadError(f"cannot read {p}: {e.strerror or e}") from None
    try:
        _refuse_special(os.fstat(fd).st_mode, p)
        if _NONBLOCK:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


@contextmanager
def _reasons(p: Path | PurePosixPath) -> Iterator[None]:
    """Every way a file can fail to decode becomes one ImageReadError naming it and the reason.

    PIL raises a zoo of types on hostile input (OSError, SyntaxError, struct.error, IndexError...),
    and the caller's only use for any of them is the message, so all are turned into one type."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    except ImageReadError:
        raise
    except Image.DecompressionBombError as e:
        raise ImageReadError(f"image too large: {p.name}: {e}") from None
    except UnidentifiedImageError:
        why = unsupported_format(p) if p.suffix.lower() in UNREAD_IMAGE_EXTS else None
        raise ImageReadError(
            f"cannot decode image {p.name}: "
            + (why or f"not a format maskgate reads ({', '.join(READ_FORMATS)}) or not an image")
        ) from None
    except MemoryError:
        raise ImageReadError(f"cannot decode image {p.name}: out of memory") from None
    except (OSError, ValueError) as e:
        raise ImageReadError(f"cannot decode image {p.name}: {e}") from e
    except Exception as e:  # noqa: BLE001 - a decoder's odd exception is still "this file is bad"
        raise ImageReadError(f"cannot decode image {p.name}: {type(e).__name__}: {e}") from e


def _check_pixels(size: tuple[int, int], name: str) -> None:
    w, h = size
    if w * h > MAX_PIXELS:
        raise ImageReadError(
            f"image too large: {name} is {w}x{h} = {w * h / 1e6:.0f} MP (limit {MAX_PIXELS / 1e6:.0f} MP); "
            "refused before decoding"
        )


def _to_8bit_plane(arr: np.ndarray, top: float) -> np.ndarray:
    """``arr / top`` as rounded uint8, in bands of rows: a 16-bit 200-MP plane in float64 at once
    would take 1.6 GB."""
    out = np.empty(arr.shape, np.uint8)
    for r in range(0, arr.shape[0], 1024):
        band = arr[r : r + 1024].astype(np.float64)
        out[r : r + 1024] = np.clip(band / top * 255.0 + 0.5, 0, 255)
    return out


def _to_8bit(im: Image.Image) -> Image.Image:
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im)
        top = 65535.0 if arr.max() > 255 else 255.0
        return Image.fromarray(_to_8bit_plane(arr, top), "L")
    if im.mode == "F":
        arr = np.asarray(im)
        top = 1.0 if arr.max() <= 1.0 else float(arr.max())
        return Image.fromarray(_to_8bit_plane(arr, top), "L")
    return im


def _frame_notes(im: Image.Image, name: str) -> tuple[str, ...]:
    """An animation is checked on its first frame; the record says so, since the edit a shopper
    sees may be another."""
    try:
        animated = bool(getattr(im, "is_animated", False))
    except Exception:  # noqa: BLE001 - a broken later frame: the first one is all we decode anyway
        animated = False
    return (f"{name} is animated: only its first frame is used",) if animated else ()


def decode(im: Image.Image, *, max_side: int | None = None, path: str = "") -> LoadedImage:
    """Normalise an opened PIL image (see module doc). ``max_side`` bounds the working size.

    Nothing is decoded before the header's size has been checked against :data:`MAX_PIXELS`."""
    name = Path(path).name or "image"
    w0, h0 = im.size
    _check_pixels((w0, h0), name)
    notes = _frame_notes(im, name)
    if max_side and max(w0, h0) > max_side and im.format in ("JPEG", "MPO"):
        # DCT-domain downscale: decodes a 12000-px JPEG at 1/8 of the cost and memory.
        im.draft("RGB", (max_side, max_side))
    # Orientations 5-8 swap width and height; read it before transpose changes the image.
    orientation = im.getexif().get(0x0112, 1)
    swapped = orientation in (5, 6, 7, 8)
    src = (h0, w0) if swapped else (w0, h0)
    if orientation in (2, 3, 4, 5, 6, 7, 8):
        im = ImageOps.exif_transpose(im)
    else:
        im.load()  # exif_transpose would copy an upright image for nothing
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
    return LoadedImage(np.ascontiguousarray(rgb), alpha, (int(src[0]), int(src[1])), path, notes)


def _open_image(fh: BinaryIO) -> Image.Image:
    """The header of ``fh`` parsed by one of :data:`READ_FORMATS`' plugins; no pixel is decoded."""
    Image.init()  # register every plugin once: Image.open only knows the core ones until then
    return Image.open(fh, formats=READ_FORMATS)


@contextmanager
def _open_any(path: str | Path) -> Iterator[tuple[BinaryIO, Path | PurePosixPath, str]]:
    """(file, name for messages, path as recorded) for a local path or an fsspec URI.

    A local path (plain or ``file://``) goes through the regular-file guards; a URI's bytes are
    read whole with the size cap of :func:`maskgate.io.uri.read_bytes` (there is no pipe to block
    on behind an object store, but there can be an object of any size)."""
    local = uri.local_path(path)
    if local is not None:
        with _reasons(local), _open_regular(local) as fh:
            yield fh, local, str(local)
        return
    name = PurePosixPath(str(path).split("://", 1)[1])
    try:
        data = uri.read_bytes(str(path))
    except uri.UriError as e:
        raise ImageReadError(str(e)) from None
    yield io.BytesIO(data), name, str(path)


def load_image(path: str | Path, *, max_side: int | None = None) -> LoadedImage:
    """Read ``path`` once into a :class:`LoadedImage`; every failure becomes :class:`ImageReadError`.

    The one entry point for a user's image file, local or an fsspec URI: it refuses pipes and
    devices before opening, over-sized objects before reading, and bombs from their header before
    decoding (see module doc)."""
    with _open_any(path) as (fh, name, shown), _reasons(name), _open_image(fh) as im:
        return decode(im, max_side=max_side, path=shown)


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from the header alone, after the same refusals as :func:`load_image`
    (special files, unknown formats, the pixel limit): a batch can turn a file away before any
    model or decoder spends time on it."""
    with _open_any(path) as (fh, name, _), _reasons(name), _open_image(fh) as im:
        _check_pixels(im.size, name.name)
        return im.size


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
    """Write PNG/JPEG/WebP to a local path or an fsspec URI; ``fast`` trades PNG size for speed
    (evidence images, written per pair).

    The file appears whole or not at all (a local file is written beside its name and renamed, a
    URI put as one object), so a run killed mid-write never leaves a truncated image under a
    result's name, which a resumed run or a reader would take for finished."""
    local = uri.local_path(path)
    if local is None:  # a URI: encoded here, written as one object
        buf = io.BytesIO()
        _encode(buf, PurePosixPath(str(path)).suffix, rgb, alpha, quality, fast)
        uri.write_bytes(str(path), buf.getvalue())
        return
    with uri.atomic_local(local) as tmp:
        _encode(tmp, local.suffix, rgb, alpha, quality, fast)


def _encode(
    dest: Path | BinaryIO, suffix: str, rgb: np.ndarray, alpha: np.ndarray | None, quality: int, fast: bool
) -> None:
    Image.init()
    fmt = Image.registered_extensions().get(suffix.lower(), "PNG")
    if alpha is not None:
        arr = np.dstack([rgb, alpha]) if rgb.ndim == 3 else np.dstack([rgb, rgb, rgb, alpha])
        im = Image.fromarray(arr, "RGBA")
    else:
        im = Image.fromarray(rgb)
    if fmt in ("JPEG", "WEBP"):
        im.save(dest, format=fmt, quality=quality)
    else:
        im.save(dest, format=fmt, compress_level=1 if fast else 6)
