"""Alpha compositing that stays in uint8 bands: a 100-MP cut-out or fill never needs a float copy."""

from __future__ import annotations

import numpy as np


def blend(fg: np.ndarray, back: np.ndarray, alpha: np.ndarray, rows: int = 512) -> np.ndarray:
    """fg over back with uint8 alpha, a band of rows at a time: a 100-MP image needs no float copy."""
    out = np.empty_like(fg)
    for y in range(0, fg.shape[0], rows):
        a = alpha[y : y + rows].astype(np.float32)[..., None] / 255.0
        b = back[y : y + rows] if back.ndim == 3 else back[None, None]
        out[y : y + rows] = (fg[y : y + rows] * a + b * (1.0 - a) + 0.5).astype(np.uint8)
    return out
