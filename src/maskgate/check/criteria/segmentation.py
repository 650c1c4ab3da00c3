"""Segmentation: part of the product cut off or missing in the edit.

The original's product, carried into the edit frame, is compared with the product the edit shows.
For a cut-out the edit's product is its foreground; for a new background it is wherever the edit
still shows the original's product pixels (same structure in the local NCC sense).
"""

from __future__ import annotations

import cv2
import numpy as np

from maskgate.check.context import PairContext
from maskgate.check.measure import channel_norm, delta_e, dilate, erode, local_ncc, size_px


def kept_map(ctx: PairContext) -> np.ndarray:
    """Pixels of the original's product that the edit still shows (bool, edit frame)."""
    if "kept" in ctx.cache:
        return ctx.cache["kept"]
    go, ge = ctx.gray("orig_in_e"), ctx.gray("edit")
    ncc, sd = ctx.cache["identity_ncc"] if "identity_ncc" in ctx.cache else local_ncc(go, ge, 11)
    # low-pass NCC forgives blur, pixelation and compression but not a geometric change
    lp_o, lp_e = cv2.GaussianBlur(go, (0, 0), 3), cv2.GaussianBlur(ge, (0, 0), 3)
    ncc_lp, sd_lp = local_ncc(lp_o, lp_e, 21)
    de = delta_e(ctx.lab("edit"), ctx.lab("orig_in_e"))
    kept = (ncc > 0.5) | (de < 20)
    ctx.cache.update(kept=kept, ncc=ncc, sd=sd, de=de, ncc_lp=ncc_lp, sd_lp=sd_lp)
    return kept


def lp_textured(ctx: PairContext) -> np.ndarray:
    """Where the low-pass NCC is meaningful: textured, and ~20 px (the low-pass window's reach) off
    the outline, where the backdrop changed."""

    def make() -> np.ndarray:
        kept_map(ctx)
        return ctx.shared_core(20) & (ctx.cache["sd_lp"] > 3)

    return ctx.memo("lp_textured", make)


def lp_ncc_median(ctx: PairContext) -> float:
    """Median low-pass NCC deep inside the textured product: a geometric change lowers it, blur or
    compression does not (quality and consistency both read it)."""

    def make() -> float:
        tex = lp_textured(ctx)
        return float(np.median(ctx.cache["ncc_lp"][tex])) if np.count_nonzero(tex) > 30 else 1.0

    return ctx.memo("lp_ncc_med", make)


def changed_blobs(changed: np.ndarray, product: np.ndarray, area: int, min_share: float = 0.002):
    """(mask, share of product area, share of its rim outside the product) per changed region.

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
        out.append((comp, float(a), open_frac))
    return out


def _window_sums(img: np.ndarray, ys: np.ndarray, xs: np.ndarray, k: int) -> np.ndarray:
    """Sum of ``img`` over the k x k window centred on each (y, x), from one integral image:
    only the outline's windows are wanted, not a box filter over the whole frame."""
    ii = cv2.integral(img, sdepth=cv2.CV_64F)
    r = k // 2
    y0, y1, x0, x1 = ys - r, ys + r + 1, xs - r, xs + r + 1
    return ii[y1, x1] - ii[y0, x1] - ii[y1, x0] + ii[y0, x0]


def outline_lost(ctx: PairContext, k: int = 11) -> float:
    """Share of the original product's outline whose contrast the edit no longer shows.

    At each outline pixel the mean colour just inside is compared with that just outside. Where a
    part is cut away, the new background runs across the old outline and both sides match; a
    product whose colours or texture changed still stands out from its new background.
    """
    m = ctx.mask_o_in_e
    m8 = m.astype(np.uint8)
    outline = (cv2.dilate(m8, np.ones((3, 3), np.uint8)) - cv2.erode(m8, np.ones((3, 3), np.uint8))).astype(
        bool
    )
    outline[:k, :] = outline[-k:, :] = outline[:, :k] = outline[:, -k:] = False
    ys, xs = np.nonzero(outline)
    if len(ys) < 30:
        return 0.0
    n_in = _window_sums(m8, ys, xs, k)
    n_out = k * k - n_in

    def contrast(lab: np.ndarray) -> np.ndarray:
        inside = _window_sums(lab * m[..., None], ys, xs, k)
        outside = _window_sums(lab, ys, xs, k) - inside
        return channel_norm(
            inside / np.maximum(n_in, 1e-3)[:, None] - outside / np.maximum(n_out, 1e-3)[:, None]
        )

    c_o, c_e = contrast(ctx.lab("orig_in_e")), contrast(ctx.lab("edit"))
    seen = c_o > 15
    if np.count_nonzero(seen) < 30:
        return 0.0
    return float(np.count_nonzero(seen & (c_e < 0.35 * c_o)) / np.count_nonzero(seen))


def features(ctx: PairContext) -> dict:
    ref = ctx.mask_o_in_e
    area = max(int(ref.sum()), 1)
    r = max(2, int(0.015 * size_px(ref)))
    f: dict = {}
    domain = ref
    if ctx.fg_e is not None:
        missing = ref & ~dilate(ctx.fg_e, r)
    else:
        kept = kept_map(ctx)
        domain = erode(ref, r)
        missing = domain & ~kept
        missing = cv2.morphologyEx(
            missing.astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)
        ).astype(bool)
    big = touching = 0.0
    for _comp, a, open_frac in changed_blobs(missing, domain, area):
        big = max(big, a)
        # a cut opens onto the background: the missing region's rim lies partly outside the product
        if open_frac >= 0.2:
            touching = max(touching, a)
    f["outline_lost"] = outline_lost(ctx) if ctx.fg_e is None else 0.0
    f["missing_share"] = float(missing.sum() / area)
    f["missing_biggest"] = float(big)
    f["missing_open"] = float(touching)
    return f
