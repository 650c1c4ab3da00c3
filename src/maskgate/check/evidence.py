"""Drawing evidence images a reviewer can read at a glance (each criterion says what to draw)."""

from __future__ import annotations

import cv2
import numpy as np

RED = (230, 40, 40)


def tint(rgb: np.ndarray, mask: np.ndarray, color=RED, alpha: float = 0.55) -> np.ndarray:
    out = rgb.copy()
    out[mask] = (out[mask] * (1 - alpha) + np.asarray(color) * alpha).astype(np.uint8)
    return out


def outline(rgb: np.ndarray, mask: np.ndarray, color=(40, 200, 60)) -> np.ndarray:
    cnts, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = rgb.copy()
    cv2.drawContours(out, cnts, -1, color, thickness=max(2, rgb.shape[0] // 300))
    return out


def overlay_heat(rgb: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """``heat`` (0..1 per pixel) softened and drawn over ``rgb`` in the jet colour map."""
    heat = cv2.GaussianBlur(np.clip(heat, 0, 1), (0, 0), 3)
    color = cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
    a = np.clip(heat, 0, 1)[..., None] * 0.6
    return (rgb * (1 - a) + color * a).astype(np.uint8)
