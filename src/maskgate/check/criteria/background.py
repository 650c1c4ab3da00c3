"""Background (edits with a new background): the new scene is not broken.

Noise shows as chroma high-frequency energy no photograph has; smears as a scene without sharp
edges; ghosts as the product's own features matched again away from the product.
"""

from __future__ import annotations

import cv2
import numpy as np

from maskgate.check.context import PairContext
from maskgate.check.criterion import Criterion, Feature
from maskgate.check.evidence import tint
from maskgate.check.measure import MaskedMatcher, dilate, size_px


def measure(ctx: PairContext) -> dict:
    if ctx.kind != "inpainted":
        return {}
    prod = ctx.product_e
    bg = ~dilate(prod, max(6, int(0.04 * size_px(prod))))
    f: dict = {"bg_share": float(bg.mean())}
    if np.count_nonzero(bg) < 500:
        f.update(chroma_hf=0.0, luma_hf=0.0, edge_density=1.0, ghost_inliers=0)
        return f
    lab = ctx.lab_edit
    hf = []
    # every map below is read over ``bg`` only: taken there first (the same values, in order)
    for c in (1, 2):
        ch = lab[..., c]
        hf.append(np.abs(ch[bg] - cv2.blur(ch, (5, 5))[bg]).mean())
    f["chroma_hf"] = float(np.mean(hf))
    L = lab[..., 0]
    f["luma_hf"] = float(np.abs(L[bg] - cv2.blur(L, (5, 5))[bg]).mean())
    g = ctx.gray_edit.astype(np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.hypot(gx[bg], gy[bg])
    f["edge_density"] = float((mag > 80).mean())
    f["grad_p99"] = float(np.percentile(mag, 99))
    f["ghost_inliers"] = _ghosts(ctx, bg)
    f["ghost_match"] = _ghost_template(ctx, bg)
    return f


def _ghost_template(ctx: PairContext, bg: np.ndarray, work: int = 224) -> float:
    """Best normalised correlation of a shrunken copy of the product anywhere in the background.

    Generators that hallucinate "more of the product" paste smaller look-alikes; ORB misses them on
    smooth products, a masked multi-scale template match does not.
    """
    ys, xs = np.nonzero(ctx.mask_o)
    if len(xs) < 100:
        return 0.0
    h, w = ctx.shape
    f = work / max(h, w)
    small = cv2.resize(ctx.edit, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
    bg_s = cv2.resize(
        bg.astype(np.uint8), (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST
    ).astype(bool)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    crop = ctx.orig[y0:y1, x0:x1]
    cmask = ctx.mask_o[y0:y1, x0:x1].astype(np.uint8)
    best = 0.0
    matcher: MaskedMatcher | None = None  # made on the first scale that fits: one FFT of the edit
    for s in (0.22, 0.35, 0.55):
        tw, th = int((x1 - x0) * f * s), int((y1 - y0) * f * s)
        if tw < 12 or th < 12 or tw >= small.shape[1] or th >= small.shape[0]:
            continue
        t = cv2.resize(crop, (tw, th), interpolation=cv2.INTER_AREA)
        m = cv2.resize(cmask, (tw, th), interpolation=cv2.INTER_NEAREST)
        if m.sum() < 30:
            continue
        matcher = matcher or MaskedMatcher(small)
        r = matcher.match(t, m)
        # only windows lying (mostly) in the background count
        ok = (
            cv2.boxFilter(bg_s.astype(np.float32), -1, (tw, th), normalize=True, anchor=(0, 0))[
                : r.shape[0], : r.shape[1]
            ]
            > 0.6
        )
        r = np.where(ok & np.isfinite(r), r, 0)
        best = max(best, float(r.max()))
    return best


def _ghosts(ctx: PairContext, bg: np.ndarray) -> int:
    orb = cv2.ORB_create(nfeatures=500, fastThreshold=12)  # type: ignore[attr-defined]
    mo = (ctx.mask_o.astype(np.uint8)) * 255
    k1, d1 = orb.detectAndCompute(ctx.gray_orig, mo)
    k2, d2 = orb.detectAndCompute(ctx.gray_edit, bg.astype(np.uint8) * 255)
    if d1 is None or d2 is None or len(k1) < 8 or len(k2) < 8:
        return 0
    ms = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(d1, d2, k=2)
    good = [m[0] for m in ms if len(m) == 2 and m[0].distance < 0.75 * m[1].distance]
    if len(good) < 6:
        return len(good) // 2
    p1 = np.array([k1[m.queryIdx].pt for m in good], np.float32)
    p2 = np.array([k2[m.trainIdx].pt for m in good], np.float32)
    _, inl = cv2.estimateAffinePartial2D(p1, p2, method=cv2.RANSAC, ransacReprojThreshold=5.0)
    return int(inl.sum()) if inl is not None else 0


def evidence(ctx: PairContext, passed: bool | None) -> dict[str, np.ndarray]:
    """The edit with its product greyed out: only the new background is left to look at."""
    return {"background": tint(ctx.edit, ctx.product_e, (40, 40, 40), 0.7)} if passed is False else {}


CRITERION = Criterion(
    name="background",
    measure=measure,
    features=(
        Feature("chroma_hf", "high", 2.0, -1),
        Feature("luma_hf", "high", 14.0, -1),
        # a smeared scene has no fine detail left
        Feature("luma_hf_low", "low", 2.0, -1, of=lambda f: f.get("luma_hf", 10.0)),
        Feature("grad_p99", "low", 135.0, -1),
        Feature("edge_density", "low", 0.04, -1),
        Feature("ghost_inliers", "high1p", 3.5, -1),
        Feature("ghost_match", "lin", 0.7, -1),
    ),
    kinds=frozenset({"inpainted"}),
    evidence=evidence,
)
