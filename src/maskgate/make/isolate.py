"""Cut-outs: the product over transparency, a flat colour or another image.

Compositing with the soft matte (not the binary mask) avoids jagged edges; the colour under a
semi-transparent edge pixel still carries the old background, so it is pulled toward the product's
own colour (a fast foreground estimate from pymatting) before blending onto a new background.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from maskgate.make.product import Mask, product_mask
from maskgate.vision.blend import blend


@dataclass
class Cutout:
    rgb: np.ndarray  # HxWx3 uint8 composite (or the decontaminated foreground when transparent)
    alpha: np.ndarray | None  # HxW uint8 when the background is transparent, else None
    mask: Mask


def parse_bg(bg: str | tuple[int, int, int] | np.ndarray | None):
    """``white`` | ``black`` | ``transparent`` | ``#rrggbb`` | (r, g, b) | an RGB array."""
    if bg is None or (isinstance(bg, str) and bg.lower() == "transparent"):
        return None
    if isinstance(bg, np.ndarray | tuple | list) and not isinstance(bg, str):
        return bg if isinstance(bg, np.ndarray) else tuple(int(c) for c in bg)
    named = {"white": (255, 255, 255), "black": (0, 0, 0), "grey": (128, 128, 128), "gray": (128, 128, 128)}
    s = bg.strip().lower()
    if s in named:
        return named[s]
    if s.startswith("#") and len(s) == 7:
        return tuple(int(s[i : i + 2], 16) for i in (1, 3, 5))
    raise ValueError(f"background must be white, black, transparent, #rrggbb or an image; got '{bg}'")


def _decontaminate(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Replace colour in the soft edge band by the product colour estimated by pymatting."""
    band = (alpha > 5) & (alpha < 250)
    if not band.any():
        return rgb
    ys, xs = np.nonzero(band)
    m = 8
    y0, y1 = max(0, ys.min() - m), min(rgb.shape[0], ys.max() + m + 1)
    x0, x1 = max(0, xs.min() - m), min(rgb.shape[1], xs.max() + m + 1)
    f = min(1.0, 1024 / max(y1 - y0, x1 - x0))
    sub = rgb[y0:y1, x0:x1]
    a = alpha[y0:y1, x0:x1]
    if f < 1:
        size = (max(1, round((x1 - x0) * f)), max(1, round((y1 - y0) * f)))
        sub_s, a_s = (
            cv2.resize(sub, size, interpolation=cv2.INTER_AREA),
            cv2.resize(a, size, interpolation=cv2.INTER_AREA),
        )
    else:
        sub_s, a_s = sub, a
    try:
        from pymatting import estimate_foreground_ml

        fg = estimate_foreground_ml(sub_s.astype(np.float64) / 255.0, a_s.astype(np.float64) / 255.0)
    except Exception:  # noqa: BLE001 - decontamination is a nicety; never fail a cut-out for it
        return rgb
    fg = np.clip(fg * 255 + 0.5, 0, 255).astype(np.uint8)
    if f < 1:
        fg = cv2.resize(fg, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    out = rgb.copy()
    sb = band[y0:y1, x0:x1]
    out[y0:y1, x0:x1][sb] = fg[sb]
    return out


def isolate(
    rgb: np.ndarray,
    *,
    bg: str | tuple[int, int, int] | np.ndarray | None = "white",
    mask: Mask | None = None,
    model: str = "u2netp",
    model_path: str | None = None,
    alpha: np.ndarray | None = None,
    decontaminate: bool = True,
) -> Cutout:
    """Cut the product out of ``rgb`` and put it on ``bg`` (see :func:`parse_bg`)."""
    if mask is None:
        mask = product_mask(rgb, model=model, model_path=model_path, alpha=alpha)
    a8 = mask.alpha
    fg = _decontaminate(rgb, a8) if decontaminate else rgb
    target = parse_bg(bg)
    if target is None:
        return Cutout(fg, a8, mask)
    if isinstance(target, np.ndarray):
        b = target if target.ndim == 3 else np.dstack([target] * 3)
        if b.shape[:2] != rgb.shape[:2]:
            b = cv2.resize(b[..., :3], (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_AREA)
        back = b[..., :3]
    else:
        back = np.asarray(target, np.uint8)
    return Cutout(blend(fg, back, a8), None, mask)
