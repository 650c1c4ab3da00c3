"""Evidence images a reviewer can read at a glance, one or two per failing criterion."""

from __future__ import annotations

import cv2
import numpy as np

from maskgate.check.context import PairContext
from maskgate.check.measure import dilate
from maskgate.make.text import regions_mask

RED = (230, 40, 40)


def _tint(rgb: np.ndarray, mask: np.ndarray, color=RED, alpha: float = 0.55) -> np.ndarray:
    out = rgb.copy()
    out[mask] = (out[mask] * (1 - alpha) + np.asarray(color) * alpha).astype(np.uint8)
    return out


def _outline(rgb: np.ndarray, mask: np.ndarray, color=(40, 200, 60)) -> np.ndarray:
    cnts, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = rgb.copy()
    cv2.drawContours(out, cnts, -1, color, thickness=max(2, rgb.shape[0] // 300))
    return out


def residue_heatmap(ctx: PairContext) -> np.ndarray:
    """Where something that is not the product remains: text boxes plus off-backdrop pixels, and
    for an erasure the original's overlay text it still shows."""
    heat = np.zeros(ctx.shape, np.float32)
    outside = ~dilate(ctx.product_e, 4)
    heat += (regions_mask(ctx.shape, ctx.text_e) > 0) & outside
    if ctx.kind == "text_removed":
        from maskgate.check.criteria.residue import erasure_left

        heat = np.maximum(heat, erasure_left(ctx)[1])
    if ctx.fg_e is not None:
        from maskgate.check.criteria.residue import faint_foreground

        heat += 0.7 * (faint_foreground(ctx) & outside)
    heat = cv2.GaussianBlur(np.clip(heat, 0, 1), (0, 0), 3)
    color = cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
    a = np.clip(heat, 0, 1)[..., None] * 0.6
    return (ctx.edit * (1 - a) + color * a).astype(np.uint8)


def evidence_images(ctx: PairContext, passed: dict) -> dict[str, dict[str, np.ndarray]]:
    ev: dict[str, dict[str, np.ndarray]] = {
        "segmentation": {"product_mask": (ctx.mask_o * 255).astype(np.uint8)}
    }
    if passed.get("residue") is False:
        ev["residue"] = {"heatmap": residue_heatmap(ctx)}
    if passed.get("segmentation") is False:
        missing = ctx.mask_o_in_e & ~(
            ctx.fg_e if ctx.fg_e is not None else ctx.cache.get("kept", ctx.mask_o_in_e)
        )
        ev["segmentation"]["missing"] = _outline(_tint(ctx.edit, missing), ctx.mask_o_in_e)
    if passed.get("consistency") is False and "de" in ctx.cache:
        diff = np.clip(ctx.cache["de"] / 60.0, 0, 1) * ctx.mask_o_in_e
        color = cv2.applyColorMap((diff * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)[..., ::-1]
        ev["consistency"] = {"difference": np.hstack([ctx.orig_in_e, color])}
    if passed.get("quality") is False:
        ys, xs = np.nonzero(ctx.product_e)
        if len(xs):
            x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
            ev["quality"] = {"crop": np.hstack([ctx.orig_in_e[y0:y1, x0:x1], ctx.edit[y0:y1, x0:x1]])}
    if passed.get("background") is False:
        ev["background"] = {"background": _tint(ctx.edit, ctx.product_e, (40, 40, 40), 0.7)}
    return ev
