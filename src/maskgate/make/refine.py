"""Turn a blurry low-resolution saliency map into a mask that follows the image's edges.

A 320-px network output upsampled to a photo is soft over several pixels and ignores colour edges.
Each step here fixes one failure and can be switched off (bench/masks.py measures them one by one):

- ``guided``: guided filter with the image as guide (He et al.), so the upsampled probability snaps
  to the colour edges it straddles; cheap (box filters), done at the working resolution.
- ``grabcut``: GrabCut deciding only where the network is unsure: a thin band around its boundary,
  and wherever its views disagree or sit at middling probability (thin stems, a second object the
  model half-includes). Far inside stays object, far outside stays background. Seeding from the
  network (not a rectangle) keeps GrabCut from swallowing similar-coloured background.
- ``clean``: drop specks (components far smaller than the main object) and fill enclosed holes.
- ``matting``: closed-form matting (pymatting) on a thin unknown band for a soft alpha where edges
  are hair-like; the binary mask is alpha >= 0.5.

Everything runs at a bounded working resolution; only the final map is resized to the image.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

ALL_STEPS: tuple[str, ...] = ("guided", "grabcut", "clean", "matting")
DEFAULT_STEPS: tuple[str, ...] = ("guided", "grabcut", "clean")


@dataclass
class Refined:
    alpha: np.ndarray  # float32 [0, 1] at the working resolution
    timings: dict[str, float] = field(default_factory=dict)


def _box(x: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float = 1e-3) -> np.ndarray:
    """Edge-preserving smoothing of ``src`` steered by ``guide`` (uint8 RGB: colour guide, or gray).

    The colour version (He et al., eq. 14) separates edges that are iso-luminant (a brown toy on a
    beige wall), which a gray guide cannot see.
    """
    if hasattr(cv2, "ximgproc"):
        return cv2.ximgproc.guidedFilter(guide, src.astype(np.float32), radius, eps * 255 * 255)
    p = src.astype(np.float32)
    if guide.ndim == 2:
        i = guide.astype(np.float32) / 255.0
        mi, mp = _box(i, radius), _box(p, radius)
        a = (_box(i * p, radius) - mi * mp) / (_box(i * i, radius) - mi * mi + eps)
        b = mp - a * mi
        return _box(a, radius) * i + _box(b, radius)
    im = guide.astype(np.float32) / 255.0
    r, g, bl = im[..., 0], im[..., 1], im[..., 2]
    mr, mg, mb, mp = _box(r, radius), _box(g, radius), _box(bl, radius), _box(p, radius)
    cr, cg, cb = _box(r * p, radius) - mr * mp, _box(g * p, radius) - mg * mp, _box(bl * p, radius) - mb * mp
    vrr = _box(r * r, radius) - mr * mr + eps
    vrg = _box(r * g, radius) - mr * mg
    vrb = _box(r * bl, radius) - mr * mb
    vgg = _box(g * g, radius) - mg * mg + eps
    vgb = _box(g * bl, radius) - mg * mb
    vbb = _box(bl * bl, radius) - mb * mb + eps
    # Per-pixel inverse of the symmetric 3x3 covariance by cofactors.
    irr, irg, irb = vgg * vbb - vgb * vgb, vgb * vrb - vrg * vbb, vrg * vgb - vgg * vrb
    igg, igb, ibb = vrr * vbb - vrb * vrb, vrb * vrg - vrr * vgb, vrr * vgg - vrg * vrg
    det = vrr * irr + vrg * irg + vrb * irb
    ar = (irr * cr + irg * cg + irb * cb) / det
    ag = (irg * cr + igg * cg + igb * cb) / det
    ab = (irb * cr + igb * cg + ibb * cb) / det
    b = mp - ar * mr - ag * mg - ab * mb
    return _box(ar, radius) * r + _box(ag, radius) * g + _box(ab, radius) * bl + _box(b, radius)


def _disk(r: int) -> np.ndarray:
    r = max(1, int(r))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def grabcut_band(
    rgb: np.ndarray,
    prob: np.ndarray,
    band: int,
    iters: int = 3,
    max_side: int = 512,
    sure: tuple[float, float] = (0.3, 0.7),
    lo: np.ndarray | None = None,
    hi: np.ndarray | None = None,
) -> np.ndarray:
    """GrabCut deciding only where the network is unsure: within ``band`` pixels of its 0.5 contour, or
    where its probability is not beyond the ``sure`` bounds. ``lo``/``hi``: the least and most
    confident of several views; a pixel is a sure seed only when every view agrees."""
    fg = prob >= 0.5
    if fg.all() or not fg.any():
        return prob
    h, w = prob.shape
    f = min(1.0, max_side / max(h, w))
    img = cv2.resize(rgb, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else rgb
    small = (img.shape[1], img.shape[0])

    def rs(a):
        return cv2.resize(a, small, interpolation=cv2.INTER_LINEAR) if f < 1 else a

    p = rs(prob)
    lo_s, hi_s = (p if lo is None else rs(lo)), (p if hi is None else rs(hi))
    b = max(2, round(band * f))
    fg8 = (p >= 0.5).astype(np.uint8)
    sure_fg = cv2.erode(fg8, _disk(b)) > 0
    sure_bg = cv2.dilate(fg8, _disk(b)) == 0
    m = np.where(fg8 > 0, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    m[sure_fg & (lo_s >= sure[1])] = cv2.GC_FGD
    m[sure_bg & (hi_s < sure[0])] = cv2.GC_BGD
    if not (m == cv2.GC_FGD).any() or not (m == cv2.GC_BGD).any():
        return prob
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut's k-means init draws from OpenCV's global RNG: same input, same mask
    try:
        cv2.grabCut(np.ascontiguousarray(img[..., ::-1]), m, None, bgd, fgd, iters, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return prob
    gc = ((m == cv2.GC_FGD) | (m == cv2.GC_PR_FGD)).astype(np.float32)
    if f < 1:
        gc = cv2.resize(gc, (w, h), interpolation=cv2.INTER_LINEAR)
    # Keep the network's soft values where GrabCut agrees; take GrabCut's side where it disagrees.
    agree = (gc >= 0.5) == fg
    return np.where(agree, prob, gc).astype(np.float32)


def clean_mask(mask: np.ndarray, min_frac: float = 0.02, hole_frac: float = 0.01) -> np.ndarray:
    """Drop components smaller than ``min_frac`` of the largest; fill holes under ``hole_frac`` of the image."""
    m = (mask > 0).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if n > 2:
        areas = stats[1:, cv2.CC_STAT_AREA]
        keep = np.zeros(n, bool)
        keep[1:] = areas >= min_frac * areas.max()
        m = keep[lab].astype(np.uint8)
    inv = (1 - m).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(inv, connectivity=4)
    if n > 1:
        h, w = m.shape
        x, y, bw, bh = (stats[:, i] for i in range(4))
        border = (x == 0) | (y == 0) | (x + bw == w) | (y + bh == h)
        small = stats[:, cv2.CC_STAT_AREA] < hole_frac * h * w
        fill = ~border & small
        fill[0] = False
        m[fill[lab] & (inv > 0)] = 1
    return m


def matting(rgb: np.ndarray, prob: np.ndarray, band: int, max_side: int = 512) -> np.ndarray:
    """Closed-form alpha matting on a thin unknown band around the 0.5 contour."""
    from pymatting import estimate_alpha_cf

    h, w = prob.shape
    f = min(1.0, max_side / max(h, w))
    img = cv2.resize(rgb, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else rgb
    p = cv2.resize(prob, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_LINEAR) if f < 1 else prob
    b = max(2, round(band * f))
    fg8 = (p >= 0.5).astype(np.uint8)
    tri = np.full(p.shape, 0.5, np.float64)
    tri[cv2.erode(fg8, _disk(b)) > 0] = 1.0
    tri[cv2.dilate(fg8, _disk(b)) == 0] = 0.0
    if not (tri == 0.5).any() or not (tri == 1.0).any() or not (tri == 0.0).any():
        return prob
    alpha = estimate_alpha_cf(img.astype(np.float64) / 255.0, tri).astype(np.float32)
    alpha = np.clip(alpha, 0, 1)
    if f < 1:
        alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR)
        # Outside the band keep the full-resolution decision, inside take the matte.
        alpha = np.where(np.abs(prob - 0.5) < 0.49, alpha, prob)
    return alpha


def refine(rgb: np.ndarray, prob: np.ndarray, steps: tuple[str, ...] = DEFAULT_STEPS) -> Refined:
    """Run the refinement ``steps`` in order on ``prob`` (same size as ``rgb``).

    ``prob``: float [0, 1] HxW, or a V x H x W stack of views (their mean is the estimate, their
    spread tells GrabCut where to decide).
    """
    t: dict[str, float] = {}
    lo = hi = None
    if prob.ndim == 3:
        if len(prob) > 1:
            lo, hi = prob.min(0), prob.max(0)
        prob = prob.mean(0)
    h, w = prob.shape
    side = max(h, w)
    a = prob.astype(np.float32)
    for step in steps:
        t0 = time.perf_counter()
        if step == "guided":
            a = np.clip(guided_filter(rgb, a, radius=max(2, side // 100), eps=1e-3), 0, 1)
        elif step == "grabcut":
            a = grabcut_band(rgb, a, band=max(2, side // 120), lo=lo, hi=hi)
        elif step == "clean":
            m = clean_mask(a >= 0.5)
            a = np.where((a >= 0.5) == (m > 0), a, m.astype(np.float32))
        elif step == "matting":
            a = matting(rgb, a, band=max(2, side // 150))
        else:
            raise ValueError(f"unknown refinement step '{step}' (known: {', '.join(ALL_STEPS)})")
        t[step] = time.perf_counter() - t0
    return Refined(a, t)
