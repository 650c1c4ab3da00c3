"""What kind of edit a pair is, and where the product sits in an isolated edit.

A cut-out either carries alpha or sits on a flat colour; either way its product mask is exact and
free, which is why the isolated path never needs a second network pass.
"""

from __future__ import annotations

import cv2
import numpy as np

from maskgate.check.measure import channel_max
from maskgate.core.types import Kind


def border_pixels(rgb: np.ndarray, width: int = 4) -> np.ndarray:
    return np.concatenate(
        [
            rgb[:width].reshape(-1, 3),
            rgb[-width:].reshape(-1, 3),
            rgb[:, :width].reshape(-1, 3),
            rgb[:, -width:].reshape(-1, 3),
        ]
    )


def flat_background(rgb: np.ndarray, tol: float = 14.0, share: float = 0.8) -> np.ndarray | None:
    """The colour of a flat backdrop (white, grey, ...) if most of the border is that colour."""
    b = border_pixels(rgb).astype(np.float32)
    med = np.median(b, axis=0)
    close = np.abs(b - med).max(axis=1) <= tol
    return med if close.mean() >= share else None


def backdrop_distance(rgb: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Largest per-channel distance of each pixel from the backdrop colour (uint8)."""
    flat = np.empty_like(rgb)
    flat[:] = bg.astype(np.int16).astype(np.uint8)  # a median backdrop can be x.5: truncated
    return channel_max(cv2.absdiff(rgb, flat))


def foreground_on_flat(rgb: np.ndarray, bg: np.ndarray, tol: float = 10.0) -> np.ndarray:
    """Everything that is not the flat backdrop (product plus any stray residue), as bool."""
    fg = backdrop_distance(cv2.GaussianBlur(rgb, (3, 3), 0), bg) > tol
    # JPEG ringing makes single-pixel specks; a 3x3 opening removes them without eating thin parts.
    return cv2.morphologyEx(fg.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)


def transparent(alpha: np.ndarray | None) -> bool:
    """An alpha channel that cuts something out (not an opaque PNG's constant alpha)."""
    return alpha is not None and (alpha < 128).mean() > 0.02


def is_cutout(rgb: np.ndarray, alpha: np.ndarray | None) -> bool:
    """``isolated_foreground(rgb, alpha) is not None``, from the alpha and the border alone."""
    return transparent(alpha) or flat_background(rgb) is not None


def isolated_foreground(rgb: np.ndarray, alpha: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | None:
    """(foreground mask, backdrop colour) of a cut-out, or None when the edit is not a cut-out."""
    if alpha is not None and transparent(alpha):
        fg = np.asarray(alpha >= 128)
        return fg, np.array([255.0, 255.0, 255.0], np.float32)
    bg = flat_background(rgb)
    if bg is None:
        return None
    return foreground_on_flat(rgb, bg), bg


def looks_text_removed(orig: np.ndarray, edit: np.ndarray, tol: int = 24, max_changed: float = 0.25) -> bool:
    """An erasure keeps the scene: only a minority of pixels (the overlays) change."""
    small_o = cv2.resize(orig, (256, 256), interpolation=cv2.INTER_AREA).astype(np.int16)
    small_e = cv2.resize(edit, (256, 256), interpolation=cv2.INTER_AREA).astype(np.int16)
    changed = np.abs(small_o - small_e).max(axis=2) > tol
    return changed.mean() < max_changed


def faint_foreground(
    edit: np.ndarray, alpha: np.ndarray | None, backdrop: np.ndarray | None, tol: float = 4.0
) -> np.ndarray:
    """Off-backdrop pixels of a cut-out at a tolerance low enough for a 5%-contrast ghost of erased text."""
    if alpha is not None and transparent(alpha):
        return np.asarray(alpha > 6)
    assert backdrop is not None, "a cut-out without alpha has a backdrop colour"
    fg = backdrop_distance(cv2.GaussianBlur(edit, (5, 5), 0), backdrop) > tol
    return cv2.morphologyEx(fg.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)


def edit_kind(orig: np.ndarray, edit: np.ndarray, alpha: np.ndarray | None) -> Kind:
    """What kind of edit a pair is when the manifest does not say, decided once per pair (at the
    working size, before any model runs: an erasure's text passes differ from the others').

    A cut-out carries alpha or sits on a flat colour; an erasure keeps the scene and changes only
    a minority of pixels; anything else painted a new background."""
    if is_cutout(edit, alpha):
        return "isolated"
    if looks_text_removed(orig, edit):
        return "text_removed"
    return "inpainted"
