"""Background (edits with a new background): the new scene is not broken.

Noise shows as chroma high-frequency energy no photograph has; smears as a scene without sharp
edges; ghosts as the product's own features matched again away from the product.
"""

from __future__ import annotations

import cv2
import numpy as np

from maskgate.check.context import PairContext
from maskgate.check.measure import dilate, size_px


def features(ctx: PairContext) -> dict:
    if ctx.kind != "inpainted":
        return {}
    prod = ctx.product_e
    bg = ~dilate(prod, max(6, int(0.04 * size_px(prod))))
    f: dict = {"bg_share": float(bg.mean())}
    if bg.sum() < 500:
        f.update(chroma_hf=0.0, luma_hf=0.0, edge_density=1.0, ghost_inliers=0)
        return f
    lab = ctx.lab("edit")
    hf = []
    for c in (1, 2):
        ch = lab[..., c]
        hf.append(np.abs(ch - cv2.blur(ch, (5, 5)))[bg].mean())
    f["chroma_hf"] = float(np.mean(hf))
    L = lab[..., 0]
    f["luma_hf"] = float(np.abs(L - cv2.blur(L, (5, 5)))[bg].mean())
    g = ctx.gray("edit").astype(np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.hypot(gx, gy)
    f["edge_density"] = float((mag[bg] > 80).mean())
    f["grad_p99"] = float(np.percentile(mag[bg], 99))
    f["ghost_inliers"] = _ghosts(ctx, bg)
    return f


def _ghosts(ctx: PairContext, bg: np.ndarray) -> int:
    orb = cv2.ORB_create(nfeatures=800, fastThreshold=12)
    mo = (ctx.mask_o.astype(np.uint8)) * 255
    k1, d1 = orb.detectAndCompute(ctx.gray("orig"), mo)
    k2, d2 = orb.detectAndCompute(ctx.gray("edit"), bg.astype(np.uint8) * 255)
    if d1 is None or d2 is None or len(k1) < 8 or len(k2) < 8:
        return 0
    ms = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(d1, d2, k=2)
    good = [m[0] for m in ms if len(m) == 2 and m[0].distance < 0.75 * m[1].distance]
    if len(good) < 6:
        return len(good) // 2
    p1 = np.float32([k1[m.queryIdx].pt for m in good])
    p2 = np.float32([k2[m.trainIdx].pt for m in good])
    _, inl = cv2.estimateAffinePartial2D(p1, p2, method=cv2.RANSAC, ransacReprojThreshold=5.0)
    return int(inl.sum()) if inl is not None else 0
