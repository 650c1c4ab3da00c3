"""Fill masked holes: weight-free OpenCV backends, and LaMa-style ONNX models the user supplies.

Every backend works on a crop around the hole (plus context), so a 12000-px photo with a small
logo costs what the logo costs; classical fills run at a bounded resolution and only the hole's
pixels are pasted back at full resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from maskgate.core.types import TextRegion
from maskgate.models.registry import REGISTRY, MissingModelError, ModelSpec, get_spec, resolve_model
from maskgate.models.sessions import onnx_session
from maskgate.vision.blend import blend
from maskgate.vision.text import ERASE_FILTER, detect_text, plausible_text, regions_mask, text_grow

CLASSIC_SIDE = 1536  # classical fills run at most at this side
CLASSIC_HOLE = 250_000  # ... and at most this many hole pixels (their cost grows with hole area)


def available() -> list[str]:
    """Inpainter names usable here without weights, plus registered ONNX inpainters."""
    names = ["telea", "ns"]
    if hasattr(cv2, "xphoto"):
        names.append("fsr")
    names += sorted(n for n, s in REGISTRY.items() if s.task == "inpainting")
    return names


CLASSIC = ("telea", "ns", "fsr")


def model_of(method: str) -> str | None:
    """The model an inpainter loads (a registry name or an .onnx path), None for OpenCV's fills:
    a batch looks it up once before its first file."""
    return None if method in CLASSIC else method


@dataclass(frozen=True)
class _Crop:
    y0: int
    y1: int
    x0: int
    x1: int


def _crop_around(mask: np.ndarray, context: float, square: bool = False) -> _Crop | None:
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return None
    h, w = mask.shape
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    m = int(context * max(y1 - y0, x1 - x0)) + 16
    y0, y1, x0, x1 = max(0, y0 - m), min(h, y1 + m), max(0, x0 - m), min(w, x1 + m)
    if square:
        side = max(y1 - y0, x1 - x0)
        cy, cx = (y0 + y1) // 2, (x0 + x1) // 2
        y0, x0 = max(0, min(h - side, cy - side // 2)), max(0, min(w - side, cx - side // 2))
        y1, x1 = min(h, y0 + side), min(w, x0 + side)
    return _Crop(int(y0), int(y1), int(x0), int(x1))


def _classic(rgb: np.ndarray, mask: np.ndarray, method: str) -> np.ndarray:
    holes = max(1, int(np.count_nonzero(mask)))
    f = min(1.0, CLASSIC_SIDE / max(rgb.shape[:2]), (CLASSIC_HOLE / holes) ** 0.5)
    img, m = rgb, mask
    if f < 1:
        size = (max(1, round(rgb.shape[1] * f)), max(1, round(rgb.shape[0] * f)))
        img = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        m = (cv2.resize(mask, size, interpolation=cv2.INTER_AREA) > 0).astype(np.uint8) * 255
    bgr = np.ascontiguousarray(img[..., ::-1])
    if method == "fsr" and hasattr(cv2, "xphoto"):
        out = bgr.copy()
        cv2.xphoto.inpaint(bgr, 255 - m, out, cv2.xphoto.INPAINT_FSR_FAST)
    else:
        flag = cv2.INPAINT_NS if method == "ns" else cv2.INPAINT_TELEA
        out = cv2.inpaint(bgr, m, max(3, round(0.005 * max(m.shape))), flag)
    out = out[..., ::-1]
    if f < 1:
        out = cv2.resize(out, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_CUBIC)
    return out


def _inpainter_spec(name: str, sess) -> ModelSpec:
    """A registered inpainter's spec, or one read off a user-supplied graph: RGB in [0, 1], the
    graph's own fixed size when it declares one, else any multiple of 8."""
    spec = get_spec(name)
    if spec.task == "inpainting":
        return spec
    shape = sess.get_inputs()[0].shape
    size = (shape[3], shape[2]) if len(shape) == 4 and all(isinstance(d, int) for d in shape[2:]) else None
    return ModelSpec(
        name=spec.name,
        filename=spec.filename,
        sha256=None,
        task="inpainting",
        input_size=size,
        mean=(0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0),
        activation="none",
        notes="user-supplied inpainter",
    )


def _onnx_fill(rgb: np.ndarray, mask: np.ndarray, name: str, model_path: str | None) -> np.ndarray:
    sess = onnx_session(resolve_model(name, model_path))
    spec = _inpainter_spec(name, sess)
    ins = sess.get_inputs()
    if len(ins) != 2:
        raise MissingModelError(f"inpainter '{name}' must take two inputs (image, mask); it takes {len(ins)}")
    mask_in = next((i for i in ins if "mask" in i.name.lower()), None) or min(
        ins, key=lambda i: i.shape[1] if isinstance(i.shape[1], int) else 3
    )
    img_in = next(i for i in ins if i is not mask_in)
    h, w = rgb.shape[:2]
    if spec.input_size:
        size = spec.input_size
    else:
        size = (max(8, (w + 7) // 8 * 8), max(8, (h + 7) // 8 * 8))
    x = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if w > size[0] else cv2.INTER_CUBIC).astype(
        np.float32
    )
    x = (x * spec.scale - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)
    m = (cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST) > 0).astype(np.float32)
    m = cv2.dilate(m, np.ones((3, 3), np.uint8))  # resampling must not shrink the hole
    feed = {img_in.name: np.ascontiguousarray(x.transpose(2, 0, 1)[None]), mask_in.name: m[None, None]}
    out = np.asarray(sess.run(None, feed)[0], np.float32)
    out = (
        out.reshape(out.shape[-3:]).transpose(1, 2, 0) if out.shape[-3] == 3 else out.reshape(out.shape[-3:])
    )
    if float(out.max()) <= 2.0:  # models differ: [0, 1] or [0, 255] output
        out = out * 255.0
    out = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    return cv2.resize(out, (w, h), interpolation=cv2.INTER_CUBIC)


def inpaint(
    rgb: np.ndarray,
    mask: np.ndarray,
    method: str = "telea",
    *,
    model_path: str | None = None,
    context: float = 0.5,
    feather: int = 2,
) -> np.ndarray:
    """Fill ``mask`` (nonzero = hole) in ``rgb``; pixels more than ``feather`` px outside it stay unchanged.

    ``method``: ``telea``, ``ns``, ``fsr`` (when cv2.xphoto exists, else telea), a registered ONNX
    inpainter (``lama``) or a path to a compatible ``.onnx`` (``image`` + ``mask`` in, image out).
    """
    hole = (mask > 0).astype(np.uint8) * 255
    onnx = model_of(method) is not None
    crop = _crop_around(hole > 0, context if not onnx else 1.0, square=onnx)
    if crop is None:
        return rgb.copy()
    sub = np.ascontiguousarray(rgb[crop.y0 : crop.y1, crop.x0 : crop.x1])
    sub_m = np.ascontiguousarray(hole[crop.y0 : crop.y1, crop.x0 : crop.x1])
    if onnx:
        filled = _onnx_fill(sub, sub_m, method, model_path)
    else:
        filled = _classic(sub, sub_m, method)
    # Paste only the hole, feathered a few pixels outward so the seam does not show (uint8 alpha,
    # blended a band of rows at a time: no float copy of a 100-MP crop).
    a8 = sub_m
    if feather > 0:
        grown = cv2.dilate(sub_m, np.ones((3, 3), np.uint8), iterations=feather)
        a8 = np.maximum(sub_m, cv2.GaussianBlur(grown, (0, 0), feather))
    out = rgb.copy()
    out[crop.y0 : crop.y1, crop.x0 : crop.x1] = blend(filled, sub, a8)
    return out


def without_text(work: np.ndarray, regions, full_shape) -> np.ndarray:
    """``work`` with its text filled in (Telea), so that a saliency network stops calling bold
    promo text the product. ``regions``: detections on an image of ``full_shape`` (None: detect)."""
    f = work.shape[0] / full_shape[0]
    regions = detect_text(work) if regions is None else [TextRegion(r.polygon * f, r.score) for r in regions]
    regions = plausible_text(regions, work.shape, ERASE_FILTER)
    if not regions:
        return work
    return inpaint(work, regions_mask(work.shape, regions, grow=text_grow(regions)), "telea")
