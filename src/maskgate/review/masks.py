"""Masks: COCO RLE in storage and export, PNG over the wire, GrabCut for "smart refine".

A 4000x3000 mask is 12 MB as a bitmap and a few KB as RLE, so RLE is what goes in the database.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

MAX_MASK_PIXELS = 50_000_000  # 7000x7000: bigger than any image we review


class MaskError(ValueError):
    """A mask that cannot be used (bad PNG, wrong size); the message goes back to the client."""


def encode_rle(mask: np.ndarray) -> dict:
    """Binary HxW mask -> COCO RLE with ``counts`` as str (JSON-able)."""
    m = np.asfortranarray((np.asarray(mask) > 0).astype(np.uint8))
    rle = mask_utils.encode(m)
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def decode_rle(rle: dict) -> np.ndarray:
    """COCO RLE (compressed str/bytes counts, or uncompressed list counts) -> HxW bool."""
    size = [int(v) for v in rle["size"]]
    counts = rle["counts"]
    if isinstance(counts, list):
        r = mask_utils.frPyObjects({"size": size, "counts": counts}, size[0], size[1])
    else:
        r = {"size": size, "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    return mask_utils.decode(r).astype(bool)


def mask_area(rle: dict) -> int:
    return int(mask_utils.area({"size": rle["size"], "counts": rle["counts"].encode("ascii")}))


def png_to_mask(data: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode a mask PNG from the browser: alpha if present (canvas paint), else luminance; > 127 is
    product. ``size`` = (height, width) expected; a differently sized mask is resized to it (nearest),
    since a client may paint at a lower resolution than the file."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > MAX_MASK_PIXELS:
                raise MaskError(f"mask too large: {im.width}x{im.height}")
            im.load()
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                arr = np.asarray(im.convert("RGBA").getchannel("A"))
            else:
                arr = np.asarray(im.convert("L"))
    except MaskError:
        raise
    except Exception as e:  # PIL raises many types for garbage input
        raise MaskError(f"cannot decode mask PNG: {e}") from e
    m = arr > 127
    if size is not None and m.shape != tuple(size):
        m = cv2.resize(m.astype(np.uint8), (size[1], size[0]), interpolation=cv2.INTER_NEAREST) > 0
    return m


def mask_to_png(mask: np.ndarray) -> bytes:
    """HxW bool -> 8-bit PNG (255 = product), the format export writes and the browser loads."""
    buf = io.BytesIO()
    Image.fromarray((np.asarray(mask) > 0).astype(np.uint8) * 255, "L").save(
        buf, format="PNG", optimize=False
    )
    return buf.getvalue()


MASK_RGB = (255, 0, 170)  # the overlay colour the browser paints with (static/maskedit.js)


def mask_to_rgba_png(mask: np.ndarray, rgb: tuple[int, int, int] = MASK_RGB) -> bytes:
    """HxW bool -> RGBA PNG whose alpha is the mask: the browser draws it straight into its mask
    canvas, with no per-pixel conversion in JavaScript on 4000-px images."""
    m = np.asarray(mask) > 0
    arr = np.zeros((*m.shape, 4), np.uint8)
    arr[m, :3] = rgb
    arr[..., 3] = m * np.uint8(255)
    buf = io.BytesIO()
    Image.fromarray(arr, "RGBA").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def grabcut_refine(
    rgb: np.ndarray,
    mask: np.ndarray,
    fg_hint: np.ndarray | None = None,
    bg_hint: np.ndarray | None = None,
    *,
    work_side: int = 640,
    iters: int = 4,
) -> np.ndarray:
    """Snap a rough mask to the image edges. The current mask seeds "probably product", the
    reviewer's brush strokes (``fg_hint``) are certain product and eraser strokes (``bg_hint``)
    certain background. Runs on a downscaled copy so it answers in well under a second on a
    4000-px photo; the result is upsampled to the mask size."""
    h, w = mask.shape
    f = min(1.0, work_side / max(h, w))
    sw, sh = max(1, round(w * f)), max(1, round(h * f))

    def small(a: np.ndarray) -> np.ndarray:
        return cv2.resize(a.astype(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST) > 0

    img = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA) if rgb.shape[:2] != (sh, sw) else rgb
    img = np.ascontiguousarray(img[..., ::-1])  # OpenCV wants BGR
    m = small(mask)
    gc = np.where(m, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    if fg_hint is not None:
        gc[small(fg_hint)] = cv2.GC_FGD
    if bg_hint is not None:
        gc[small(bg_hint)] = cv2.GC_BGD
    if not (gc == cv2.GC_FGD).any() and not (gc == cv2.GC_PR_FGD).any():
        return np.zeros_like(mask, dtype=bool)  # nothing to grow from
    if (gc == cv2.GC_PR_BGD).sum() + (gc == cv2.GC_BGD).sum() == 0:
        return np.ones_like(mask, dtype=bool)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(img, gc, None, bgd, fgd, iters, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return mask.astype(bool)  # degenerate colour model (e.g. flat image): keep what we had
    out = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
    return cv2.resize(out.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
