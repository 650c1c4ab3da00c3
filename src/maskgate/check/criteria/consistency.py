"""Consistency: the product in the edit is the same product (colour, shape, texture, orientation)."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from maskgate.check.context import PairContext
from maskgate.check.criterion import Criterion, Feature
from maskgate.check.measure import (
    bbox,
    changed_blobs,
    channel_norm,
    local_ncc,
    masked_pixels,
    sample_mask,
    size_px,
)


def measure(ctx: PairContext) -> dict:
    f: dict = {"mirrored": float(ctx.alignment.mirrored)}
    prod = ctx.shared_product
    r = max(3, int(0.03 * size_px(prod)))
    inner = ctx.shared_core(r)
    (ncc, sd), de = ctx.ncc_sd, ctx.de
    if np.count_nonzero(inner) < 50:
        f.update(ncc_med=1.0, low_ncc_share=0.0, de_med=0.0, de_p90=0.0, changed_blob=0.0, hue_shift=0.0)
        f.update(lp_ncc_med=1.0, lp_low_share=0.0, inner_blob=0.0, tint_resid=0.0)
        f.update(hue_rot=0.0, flow_med=0.0, warp_gain=0.0, patch_blob=0.0, patch_inner=0.0)
        return f
    ncc_lp = ctx.lp_ncc_textured  # the low-pass NCC over ``lp_textured``
    f["lp_ncc_med"] = ctx.lp_ncc_med
    f["lp_low_share"] = float((ncc_lp < 0.5).mean()) if len(ncc_lp) > 30 else 0.0
    textured = inner & (sd > 6)
    f["ncc_med"] = float(np.median(ncc[textured])) if np.count_nonzero(textured) > 30 else 1.0
    f["low_ncc_share"] = float((ncc[textured] < 0.3).mean()) if np.count_nonzero(textured) > 30 else 0.0
    f["de_med"] = float(np.median(de[inner]))
    f["de_p90"] = float(np.percentile(de[inner], 90))
    changed = inner & (de > 30) & (ncc < 0.5)
    blobs = changed_blobs(changed, inner, np.count_nonzero(inner))
    f["changed_blob"] = max((a for _, a, _ in blobs), default=0.0)
    # a replaced patch is surrounded by product; a cut (segmentation's business) opens onto the outline
    f["inner_blob"] = max((a for _, a, o in blobs if o < 0.2), default=0.0)
    f["tint_resid"] = ctx.tint(r)[1]
    lo, le = ctx.lab_orig_in_e, ctx.lab_edit
    ab_o, ab_e = masked_pixels(lo, inner, (1, 2)) - 128, masked_pixels(le, inner, (1, 2)) - 128
    chromatic = np.hypot(ab_o[:, 0], ab_o[:, 1]) > 8
    if np.count_nonzero(chromatic) > 50:
        ab_o, ab_e = ab_o[chromatic], ab_e[chromatic]
        dh = np.angle(np.exp(1j * (np.arctan2(ab_e[:, 1], ab_e[:, 0]) - np.arctan2(ab_o[:, 1], ab_o[:, 0]))))
        f["hue_shift"] = float(np.abs(np.median(dh)))
    else:
        f["hue_shift"] = 0.0
    # colours are compared only where the structure is still the original's: a cut shows new
    # background there, whose colours say nothing about the product's
    f["hue_rot"] = hue_rotation(lo, le, inner & (ncc > 0.5))
    f.update(warp_features(ctx, inner, textured))
    f.update(patch_features(ctx, inner))
    return f


def hue_rotation(lab_o: np.ndarray, lab_e: np.ndarray, sel: np.ndarray) -> float:
    """Angle (radians) of the rotation in the a*b* plane that best maps the original's colours
    onto the edit's: ab_e = M ab_o + t, least squares.

    A tint or colour cast (quality) scales the colours toward one colour (M = s I, t the cast): no
    rotation. A hue change (consistency) rotates them. The median per-pixel hue difference mixes
    the two, since a cast moves every hue toward its own.
    """
    sample = sample_mask(sel)
    ao = masked_pixels(lab_o, sample, (1, 2)) - 128
    ae = masked_pixels(lab_e, sample, (1, 2)) - 128
    if len(ao) < 50:
        return 0.0
    ao = ao - ao.mean(0)
    ae = ae - ae.mean(0)
    lam, vec = np.linalg.eigh(ao.T @ ao / len(ao))
    # too little colour spread (a grey product) to tell a rotation from noise
    if lam[1] < 9.0:
        return 0.0
    if lam[0] > 0.1 * lam[1]:
        m = np.linalg.lstsq(ao, ae, rcond=None)[0].T  # rows: output channel
        return float(abs(np.arctan2(m[1, 0] - m[0, 1], m[0, 0] + m[1, 1])))
    # the colours lie along one line (a one-colour product and its shading): a rotation shows as
    # that line turning, which is all a 2x2 fit could see there without fitting noise
    _, vec_e = np.linalg.eigh(ae.T @ ae / len(ae))
    cos = abs(float(vec[:, 1] @ vec_e[:, 1]))
    return float(np.arccos(min(cos, 1.0)))


_dis = None
# OpenCV's DIS flow reads outside its pyramid on images under 32 px on a side (a 16x300 strip
# segfaults the worker), so a smaller pair is padded to this and the flow cropped back.
DIS_MIN_SIDE = 32


def _flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    global _dis
    if _dis is None:
        _dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)  # type: ignore[attr-defined]
    h, w = a.shape[:2]
    ph, pw = max(0, DIS_MIN_SIDE - h), max(0, DIS_MIN_SIDE - w)
    if ph or pw:
        pad = [cv2.copyMakeBorder(x, 0, ph, 0, pw, cv2.BORDER_REPLICATE) for x in (a, b)]
        return _dis.calc(pad[0], pad[1], None)[:h, :w]
    return _dis.calc(a, b, None)


@lru_cache(maxsize=4)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    gx.flags.writeable = gy.flags.writeable = False
    return gx, gy


def warp_features(ctx: PairContext, inner: np.ndarray, textured: np.ndarray) -> dict:
    """Did the product's shape move under a smooth deformation (a warp)?

    Dense optical flow from the original to the edit, over the product's textured inside: a warp
    moves most of it by a few pixels, while blur, compression and colour changes move nothing.
    ``warp_gain`` is how much closer the edit comes to the original once the flow is undone: a
    real deformation is explained by the flow, noise in the flow of an unchanged product is not.
    """
    if np.count_nonzero(textured) < 50:
        return {"flow_med": 0.0, "warp_gain": 0.0}
    go, ge = ctx.gray_orig_in_e, ctx.gray_edit
    flow = _flow(go, ge)
    fx, fy = flow[..., 0], flow[..., 1]
    mag = np.hypot(fx[textured], fy[textured])
    scale = size_px(inner)
    # the undone edit and its NCC are only read over ``textured``: both are made on its box, padded
    # past the 11-px window (the remap is per pixel, and the NCC's box sums of 8-bit values are
    # exact wherever the crop starts, so these are the frame's own values)
    box = bbox(textured, 5)
    assert box is not None  # textured has 50 pixels or more
    gx, gy = _grid(*go.shape)
    back = cv2.remap(
        ge, gx[box] + fx[box], gy[box] + fy[box], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    ncc_w, _ = local_ncc(go[box], back, 11)
    ncc = ctx.ncc_sd[0]
    gain = float(np.median(ncc_w[textured[box]]) - np.median(ncc[textured]))
    return {"flow_med": float(100.0 * np.median(mag) / scale), "warp_gain": max(gain, 0.0)}


def patch_features(ctx: PairContext, inner: np.ndarray) -> dict:
    """The biggest compact region of the product that changed while the rest did not.

    Global changes (a colour cast, a hue change, brightness) are taken out first with one affine
    colour map fitted over the whole product, and blur or compression by comparing low-passed
    images; what remains above the product's own typical residual is local: a pasted or
    re-generated patch.
    """
    ys, xs = np.nonzero(inner.any(axis=1))[0], np.nonzero(inner.any(axis=0))[0]
    box = (slice(max(ys[0] - 8, 0), ys[-1] + 9), slice(max(xs[0] - 8, 0), xs[-1] + 9))
    inner = inner[box]
    o = cv2.GaussianBlur(ctx.orig_in_e[box], (0, 0), 2).astype(np.float32)
    e = cv2.GaussianBlur(ctx.edit[box], (0, 0), 2).astype(np.float32)
    sample = sample_mask(inner)
    x = np.hstack([masked_pixels(o, sample), np.ones((np.count_nonzero(sample), 1), np.float32)])
    y = masked_pixels(e, sample)
    m = np.linalg.lstsq(x, y, rcond=None)[0]
    # refit without the worst pixels: a patch or a mask error must not bend the map
    fit_r = channel_norm(y - x @ m)
    keep = fit_r <= 2.0 * np.median(fit_r) + 1e-3
    m = np.linalg.lstsq(x[keep], y[keep], rcond=None)[0]
    pred = o.reshape(-1, 3) @ m[:3] + m[3]
    r = channel_norm(e.reshape(-1, 3) - pred).reshape(inner.shape)
    thr = max(4.0 * float(np.median(r[inner])), 12.0)
    changed = (r > thr) & inner
    changed = cv2.morphologyEx(changed.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(
        bool
    )
    blobs = changed_blobs(changed, inner, np.count_nonzero(inner))
    return {
        "patch_blob": max((a for _, a, _ in blobs), default=0.0),
        "patch_inner": max((a for _, a, o_ in blobs if o_ < 0.2), default=0.0),
    }


def evidence(ctx: PairContext, passed: bool | None) -> dict[str, np.ndarray]:
    """The original beside a map of how far each of its product's pixels moved in colour."""
    if passed is not False:
        return {}
    diff = np.clip(ctx.de / 60.0, 0, 1) * ctx.mask_o_in_e
    color = cv2.applyColorMap((diff * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)[..., ::-1]
    return {"difference": np.hstack([ctx.orig_in_e, color])}


CRITERION = Criterion(
    name="consistency",
    measure=measure,
    features=(
        Feature("mirrored", "lin", 0.0, -1),
        Feature("ncc_med", "low", 0.9, -1),
        Feature("lp_ncc_med", "low", 0.95, -1),
        Feature("lp_low_share", "high", 0.02, -1),
        Feature("low_ncc_share", "high", 0.02, -1),
        Feature("inner_blob", "high", 0.005, -1),
        Feature("changed_blob", "high", 0.01, -1),
        Feature("tint_resid", "high1p", 6.0, -1),
        Feature("outline_lost", "high", 0.05, 1),
        Feature("hue_rot", "lin", 0.08, -1),
        Feature("flow_med", "high", 0.3, -1),
        Feature("warp_gain", "lin", 0.01, -1),
        Feature("patch_blob", "high", 0.01, -1),
        Feature("patch_inner", "high", 0.005, -1),
    ),
    needs_detail=True,
    # a cut (segmentation) also changes the inside near the outline; a tint (quality) moves colours
    borrows={"outline_lost": "segmentation", "mean_shift": "quality"},
    evidence=evidence,
)
