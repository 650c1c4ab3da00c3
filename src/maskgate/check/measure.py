"""Shared pixel measurements between the (aligned) original and the edit.

Local normalised cross-correlation separates "same structure, other colour" (a hue change, a tint)
from "other structure" (a warp, a patch, a cut), which is the split between several criteria.
"""

from __future__ import annotations

import cv2
import numpy as np


def box(x: np.ndarray, k: int) -> np.ndarray:
    return cv2.boxFilter(x, cv2.CV_32F, (k, k), borderType=cv2.BORDER_REFLECT)


def local_ncc(a: np.ndarray, b: np.ndarray, k: int = 15) -> tuple[np.ndarray, np.ndarray]:
    """Windowed NCC of two grey images and the smaller local std (where NCC is meaningful).

    In-place arithmetic: this runs five to six times per pair on full frames, and the temporaries
    cost as much as the box filters."""
    a = a.astype(np.float32)
    b = b.astype(np.float32)
    ma, mb = box(a, k), box(b, k)
    va = box(a * a, k)
    va -= ma * ma
    np.maximum(va, 0, out=va)
    vb = box(b * b, k)
    vb -= mb * mb
    np.maximum(vb, 0, out=vb)
    ncc = box(a * b, k)
    ncc -= ma * mb
    den = va * vb
    den += 1e-3
    ncc /= np.sqrt(den, out=den)
    np.clip(ncc, -1, 1, out=ncc)
    return ncc, np.sqrt(np.minimum(va, vb, out=va), out=va)


def channel_norm(x: np.ndarray) -> np.ndarray:
    """Euclidean norm over the last axis of 3 channels. Same sums in the same order as
    ``np.linalg.norm(x, axis=-1)``, without NumPy's slow reduction over a 3-long strided axis, and
    into frame-sized buffers only (no three-channel temporary)."""
    s = x[..., 0] * x[..., 0]
    t = x[..., 1] * x[..., 1]
    s += t
    np.multiply(x[..., 2], x[..., 2], out=t)
    s += t
    return np.sqrt(s, out=s) if s.dtype.kind == "f" else np.sqrt(s)  # integers: a float result


def channel_max(x: np.ndarray) -> np.ndarray:
    """Maximum over the last axis of 3 channels (``x.max(axis=-1)``, several times faster)."""
    return np.maximum(np.maximum(x[..., 0], x[..., 1]), x[..., 2])


def masked_pixels(img: np.ndarray, sel: np.ndarray, channels: tuple[int, ...] = (0, 1, 2)) -> np.ndarray:
    """``img[sel][:, channels]`` (N x C), gathered one channel at a time: NumPy's boolean index
    over the last two axes of an image is about ten times slower. All channels at once: one gather
    of whole pixels by their flat indices (the same array, faster still)."""
    if img.ndim == 3 and tuple(channels) == tuple(range(img.shape[2])):
        return img.reshape(-1, img.shape[2])[np.flatnonzero(sel)]
    return np.stack([img[..., c][sel] for c in channels], axis=1)


def sample_mask(sel: np.ndarray, at_most: int = 20000) -> np.ndarray:
    """``sel`` thinned to at most ``at_most`` pixels by an even stride in raster order: the colour
    fits need no more, and a stride is deterministic and far cheaper than a random draw."""
    n = int(np.count_nonzero(sel))
    if n <= at_most:
        return sel
    sub = np.zeros(sel.size, bool)
    sub[np.flatnonzero(sel)[:: n // at_most + 1]] = True
    return sub.reshape(sel.shape)


def delta_e(lab_a: np.ndarray, lab_b: np.ndarray) -> np.ndarray:
    """Euclidean Lab distance (OpenCV's 8-bit Lab scale, roughly CIE76 x 1.0-2.5). Channel by
    channel into two frame-sized buffers: the same operations in the same order as
    ``channel_norm(lab_a - lab_b)``, so the same values, without the two three-channel temporaries
    (about half the time on a 1024-px frame)."""
    d = lab_a[..., 0] - lab_b[..., 0]
    s = d * d
    for c in (1, 2):
        np.subtract(lab_a[..., c], lab_b[..., c], out=d)
        np.multiply(d, d, out=d)
        s += d
    return np.sqrt(s, out=s) if s.dtype.kind == "f" else np.sqrt(s)  # integers: a float result


def bbox(mask: np.ndarray, pad: int = 0) -> tuple[slice, slice] | None:
    """The box of ``mask``'s nonzero pixels grown by ``pad`` (clipped to the frame), as slices;
    None for an empty mask."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return None
    h, w = mask.shape[:2]
    return (
        slice(max(int(rows[0]) - pad, 0), min(int(rows[-1]) + pad + 1, h)),
        slice(max(int(cols[0]) - pad, 0), min(int(cols[-1]) + pad + 1, w)),
    )


def _morph(op, mask: np.ndarray, r: int) -> np.ndarray:
    """``op`` (cv2.erode or cv2.dilate) with an elliptical (2r+1)-px element, on the mask's box
    grown by ``r`` only: an erosion keeps nothing outside the mask and a dilation reaches r px
    past it, and what lies past the grown box is empty, as OpenCV's default border is for either
    operation, so the frame comes out the same, at a fraction of the cost for a small product."""
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    out = np.zeros(mask.shape, bool)
    box = bbox(mask, r)
    if box is not None:
        out[box] = op(mask[box].astype(np.uint8), k).astype(bool)
    return out


def erode(mask: np.ndarray, r: int) -> np.ndarray:
    if r <= 0:
        return mask
    return _morph(cv2.erode, mask, r)


def dilate(mask: np.ndarray, r: int) -> np.ndarray:
    if r <= 0:
        return mask
    return _morph(cv2.dilate, mask, r)


def laplacian_energy(gray: np.ndarray, region: np.ndarray) -> float:
    if np.count_nonzero(region) < 20:
        return 0.0
    lap = cv2.Laplacian(gray, cv2.CV_32F, ksize=3)
    return float(np.abs(lap[region]).mean())


def flat_share(gray: np.ndarray, region: np.ndarray) -> float:
    """Share of neighbour pairs with exactly equal value: pixelation and heavy JPEG raise it."""
    if np.count_nonzero(region) < 20:
        return 0.0
    g = gray.astype(np.int16)
    dx = g[:, 1:] == g[:, :-1]
    dy = g[1:, :] == g[:-1, :]
    r = region[:-1, :-1]
    return float((dx[:-1, :][r].mean() + dy[:, :-1][r].mean()) / 2)


def blockiness(gray: np.ndarray, region: np.ndarray, period: int = 8) -> float:
    """Gradient energy on the 8-px grid over that off the grid (1.0 for a clean image)."""
    if np.count_nonzero(region) < 200:
        return 1.0
    g = gray.astype(np.float32)
    dx = np.abs(np.diff(g, axis=1))
    r = region[:, :-1]
    cols = np.arange(dx.shape[1]) % period == period - 1
    # one boolean index over the frame picks the same pixels in the same (raster) order as the
    # region's grid (or off-grid) columns picked from the grid columns, without copying them
    on_sel, off_sel = r & cols, r & ~cols
    on = dx[on_sel].mean() if on_sel.any() else 0.0
    off = dx[off_sel].mean() if off_sel.any() else 1.0
    return float(on / (off + 1e-3))


def soften_to(gray: np.ndarray, detail: float) -> np.ndarray:
    """``gray`` as soft as an image delivered at ``detail`` of its resolution and scaled back up:
    what an edit delivered smaller can show at best, so it is not blamed for that alone."""
    if detail >= 0.95:
        return gray
    h, w = gray.shape[:2]
    small = (max(1, round(w * detail)), max(1, round(h * detail)))
    return cv2.resize(
        cv2.resize(gray, small, interpolation=cv2.INTER_AREA), (w, h), interpolation=cv2.INTER_LINEAR
    )


def size_px(mask: np.ndarray) -> float:
    """A length scale for a mask: the side of a square of the same area."""
    n = np.count_nonzero(mask) if mask.dtype == bool else mask.sum()
    return float(np.sqrt(max(n, 1)))


def local_sd(gray: np.ndarray, k: int = 5) -> np.ndarray:
    """Local standard deviation in a k x k window: where a grey image has strokes."""
    g = gray.astype(np.float32)
    m = cv2.boxFilter(g, -1, (k, k))
    return np.sqrt(np.maximum(cv2.boxFilter(g * g, -1, (k, k)) - m * m, 0))


def changed_blobs(
    changed: np.ndarray, product: np.ndarray, area: int, min_share: float = 0.002, full: bool = False
):
    """(mask, share of product area, share of its rim outside the product) per changed region; the
    mask is cropped to the region's box (padded 6 px), or frame-sized with ``full``.

    The rim test tells a cut (the hole opens onto the background) from a replaced patch (the
    changed region is surrounded by product).
    """
    n, lab, stats, _ = cv2.connectedComponentsWithStats(changed.astype(np.uint8), connectivity=8)
    out = []
    k = np.ones((9, 9), np.uint8)
    for i in range(1, n):
        a = stats[i, cv2.CC_STAT_AREA] / area
        if a < min_share:
            continue
        x, y, w, h = stats[i, :4]
        x0, y0 = max(x - 6, 0), max(y - 6, 0)
        x1, y1 = min(x + w + 6, changed.shape[1]), min(y + h + 6, changed.shape[0])
        comp = lab[y0:y1, x0:x1] == i
        rim = cv2.dilate(comp.astype(np.uint8), k).astype(bool) & ~comp
        open_frac = float((~product[y0:y1, x0:x1][rim]).mean()) if rim.any() else 0.0
        if full:
            whole = np.zeros(changed.shape, bool)
            whole[y0:y1, x0:x1] = comp
            comp = whole
        out.append((comp, float(a), open_frac))
    return out


def tint_fit(orig: np.ndarray, edit: np.ndarray, sel: np.ndarray) -> tuple[float, float, float]:
    """Fit E = a*O + b (one slope for all channels) over ``sel``: (a, residual RMS, max mean shift).

    A tint blends the product toward one colour, which this model explains almost exactly; a hue
    change or a different product leaves a large residual.
    """
    if np.count_nonzero(sel) < 20:
        return 1.0, 0.0, 0.0
    sample = sample_mask(sel)
    o = masked_pixels(orig, sample).astype(np.float32)
    e = masked_pixels(edit, sample).astype(np.float32)
    om, em = o.mean(0), e.mean(0)
    oc, ec = o - om, e - em
    a = float((oc * ec).sum() / ((oc * oc).sum() + 1e-3))
    resid = ec - a * oc
    return a, float(np.sqrt((resid**2).mean())), float(np.abs(em - om).max())


class MaskedMatcher:
    """``cv2.matchTemplate(image, t, TM_CCOEFF_NORMED, mask=m)`` for several masked templates on one
    image, by FFT, the image's transforms computed once.

    Written by hand because OpenCV's masked path re-transforms the image for every template and
    channel, which made it the background criterion's largest cost; here the image's transforms
    serve every template. Same formula (per-channel means under the mask, sums over channels),
    in float64, so values agree with OpenCV's to about 1e-5; windows with no variance under the
    mask are NaN, as OpenCV makes them. scikit-image's ``match_template`` takes no mask."""

    # a window whose masked variance per pixel and channel is under this many grey levels squared is
    # flat: what is left of its variance is rounding, and a correlation with it would be noise
    FLAT = 1e-3

    def __init__(self, image: np.ndarray):
        img = image.astype(np.float64)
        if img.ndim == 2:
            img = img[..., None]
        self.shape = img.shape[:2]  # circular correlation at this size leaves valid windows exact
        self.channels = img.shape[2]
        self._f = np.fft.rfft2(img, self.shape, axes=(0, 1))
        self._fsq = np.fft.rfft2((img * img).sum(-1), self.shape)

    def match(self, template: np.ndarray, mask: np.ndarray) -> np.ndarray:
        th, tw = mask.shape[:2]
        h, w = self.shape
        if th > h or tw > w:
            raise ValueError(f"template {tw}x{th} is larger than the image {w}x{h}")
        m = (mask > 0).astype(np.float64)
        n = max(float(m.sum()), 1.0)
        t = template.astype(np.float64)
        if t.ndim == 2:
            t = t[..., None]
        mm = m[..., None]
        tz = (t - (t * mm).sum((0, 1)) / n) * mm  # the template, zero mean under the mask
        fm = np.conj(np.fft.rfft2(m, self.shape))
        num = np.fft.irfft2(
            (self._f * np.conj(np.fft.rfft2(tz, self.shape, axes=(0, 1)))).sum(-1), self.shape
        )
        sq = np.fft.irfft2(self._fsq * fm, self.shape)
        s1 = np.fft.irfft2(self._f * fm[..., None], self.shape, axes=(0, 1))
        oh, ow = h - th + 1, w - tw + 1
        var = sq[:oh, :ow] - (s1[:oh, :ow] ** 2).sum(-1) / n
        den = var * float((tz * tz).sum())
        flat = var <= self.FLAT * n * self.channels
        with np.errstate(invalid="ignore", divide="ignore"):
            r = num[:oh, :ow] / np.sqrt(np.where(flat, np.nan, den))
        return r.astype(np.float32)
