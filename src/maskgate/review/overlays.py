"""Evidence heatmaps as see-through overlays for the reviewer screen.

``maskgate check`` writes a residue heatmap as an opaque picture: either a JET colour map of the
heat, or (the check engine's own) the edit with the JET colours blended in where the heat is. Laid
over the edit as is, it tints the whole image. :func:`heat_rgba` recovers a per-pixel heat value
and turns it into alpha, so low heat is fully transparent and only the hot spots are coloured:

- a colour map (most pixels differ from the edit): each pixel has the heat of the nearest JET
  palette entry (pixels off the palette: 0);
- a blend over the edit (most pixels equal the edit): a pixel equal to the edit underneath (within
  a small tolerance) has heat 0, any other the larger of its palette heat and how far it moved
  from the edit. Where the edit already had the hot colour nothing changed, so nothing is lost.
"""

from __future__ import annotations

import functools
import io

import cv2
import numpy as np
from PIL import Image

QUANT = 4  # colours are looked up on a 2**(8-QUANT) = 16 levels per channel grid


@functools.lru_cache(maxsize=1)
def _jet_lookup() -> tuple[np.ndarray, np.ndarray]:
    """For every colour of the quantised grid: the nearest JET entry (0..255) and its distance."""
    jet = cv2.applyColorMap(np.arange(256, dtype=np.uint8).reshape(-1, 1), cv2.COLORMAP_JET)[:, 0, ::-1]
    jet = jet.astype(np.float32)
    step = 1 << QUANT
    levels = np.arange(0, 256, step, dtype=np.float32) + step / 2
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    best = np.empty(len(grid), np.uint8)
    dist = np.empty(len(grid), np.float32)
    for s in range(0, len(grid), 2048):  # 4k colours x 256 entries, in chunks; once per process
        d = np.abs(grid[s : s + 2048, None, :] - jet[None]).max(axis=2)
        best[s : s + 2048] = d.argmin(axis=1)
        dist[s : s + 2048] = d.min(axis=1)
    n = 256 >> QUANT
    return best.reshape(n, n, n), dist.reshape(n, n, n)


def heat_value(
    heat_rgb: np.ndarray,
    base_rgb: np.ndarray | None = None,
    *,
    palette_tol: float = 24.0,
    base_tol: float = 14.0,
) -> np.ndarray:
    """Per-pixel heat in [0, 1] of a rendered heatmap (see the module doc)."""
    h = heat_rgb.astype(np.int16)
    q = (heat_rgb >> QUANT).astype(np.intp)
    best, dist = _jet_lookup()
    idx, d_pal = best[q[..., 0], q[..., 1], q[..., 2]], dist[q[..., 0], q[..., 1], q[..., 2]]
    value = np.where(d_pal <= palette_tol, idx / 255.0, np.nan).astype(np.float32)
    if base_rgb is not None:
        if base_rgb.shape[:2] != heat_rgb.shape[:2]:
            base_rgb = cv2.resize(
                base_rgb, (heat_rgb.shape[1], heat_rgb.shape[0]), interpolation=cv2.INTER_AREA
            )
        diff = np.abs(h - base_rgb.astype(np.int16)).max(axis=-1).astype(np.float32)
        on_base = diff <= base_tol
        if on_base.mean() > 0.3:  # mostly the edit itself: a blend, not a colour map
            # The engine blends with alpha 0.6 * heat, so a full-heat pixel moves at most 60 % of the way.
            blended = np.clip(diff / (0.6 * 255.0) * 2.0, 0.0, 1.0)
            value = np.where(on_base, 0.0, np.fmax(np.nan_to_num(value, nan=0.0), blended))
    return np.nan_to_num(value, nan=0.0).astype(np.float32)


def heat_rgba(
    heat_rgb: np.ndarray,
    base_rgb: np.ndarray | None = None,
    *,
    low: float = 0.2,
    high: float = 0.5,
    max_alpha: float = 0.85,
) -> np.ndarray:
    """RGBA overlay: the heatmap's colours, alpha 0 where heat <= ``low``, rising smoothly to
    ``max_alpha`` at ``high`` and above."""
    v = heat_value(heat_rgb, base_rgb)
    t = np.clip((v - low) / max(high - low, 1e-6), 0.0, 1.0)
    alpha = (max_alpha * t * t * (3 - 2 * t) * 255).round().astype(np.uint8)
    rgb = heat_rgb.copy()
    rgb[alpha == 0] = 0
    return np.dstack([rgb, alpha])


def rgba_png(rgba: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", optimize=False, compress_level=3)
    return buf.getvalue()
