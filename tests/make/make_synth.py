"""Images the make tests build themselves: known shapes on textured backgrounds."""

from __future__ import annotations

import cv2
import numpy as np


def textured_background(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A busy but low-saliency backdrop: tiled noise, soft stripes and a colour gradient."""
    rng = np.random.default_rng(seed)
    noise = cv2.resize(
        rng.integers(0, 255, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8),
        (w, h),
        interpolation=cv2.INTER_CUBIC,
    )
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    stripes = (np.sin(xx / 9.0 + yy / 17.0) * 18).astype(np.float32)[..., None]
    grad = np.dstack([xx / w * 40, yy / h * 40, np.full_like(xx, 20)])
    bg = 150 + 0.25 * (noise.astype(np.float32) - 128) + stripes + grad
    return np.clip(bg, 0, 255).astype(np.uint8)


def product_scene(
    kind: str = "ellipse", h: int = 480, w: int = 640, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(RGB image, ground-truth bool mask): a shaded, saturated object on a textured background."""
    img = textured_background(h, w, seed)
    gt = np.zeros((h, w), np.uint8)
    cy, cx = h // 2, w // 2
    if kind == "ellipse":
        cv2.ellipse(gt, (cx, cy), (w // 5, h // 3), 15, 0, 360, 255, -1)
        colour = np.array([210, 40, 40], np.float32)
    elif kind == "bottle":
        cv2.rectangle(gt, (cx - w // 10, cy - h // 6), (cx + w // 10, cy + h // 3), 255, -1)
        cv2.rectangle(gt, (cx - w // 28, cy - h // 3), (cx + w // 28, cy - h // 6), 255, -1)
        cv2.circle(gt, (cx, cy - h // 6), w // 10, 255, -1)
        colour = np.array([30, 90, 200], np.float32)
    else:
        raise ValueError(kind)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    shade = (1.1 - 0.4 * ((xx - cx) / w + (yy - cy) / h))[..., None]
    obj = np.clip(colour * shade, 0, 255)
    m = gt > 0
    img[m] = obj[m].astype(np.uint8)
    return img, m


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def put_text(
    img: np.ndarray,
    text: str,
    org: tuple[int, int],
    scale: float = 1.6,
    colour=(255, 255, 255),
    thick: int = 3,
) -> np.ndarray:
    out = img.copy()
    cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick, cv2.LINE_AA)
    return out
