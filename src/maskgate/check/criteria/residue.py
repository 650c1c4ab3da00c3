"""Residue: anything that is not the product still visible outside it in the edit.

Three signals, because generators fail in three ways: text the OCR detector still finds outside
the product; overlay regions of the original (text, badges, logos) whose structure is still there;
and, for cut-outs, foreground that is not the product (stray blobs, a collar of old background).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from maskgate.check.context import PairContext
from maskgate.check.criterion import Criterion, Feature
from maskgate.check.evidence import overlay_heat
from maskgate.check.measure import bbox, box, delta_e, dilate, local_ncc, local_sd, size_px
from maskgate.vision.text import on_product, regions_mask


def _outside_share(region_mask: np.ndarray, product: np.ndarray) -> float:
    a = np.count_nonzero(region_mask)
    return float(np.count_nonzero(region_mask & ~product) / a) if a else 0.0


def measure(ctx: PairContext) -> dict:
    h, w = ctx.shape
    f: dict = {}
    prod = ctx.product_e
    grow = max(4, int(0.02 * size_px(prod)))
    prod_d = dilate(prod, grow)
    # 1. text found in the edit, outside the product.
    masks = [regions_mask((h, w), [r]) > 0 for r in ctx.text_e]
    out = [(r, m) for r, m in zip(ctx.text_e, masks, strict=True) if _outside_share(m, prod_d) > 0.5]
    f["text_count"] = len(out)
    f["text_score"] = max((r.score for r, _ in out), default=0.0)
    f["text_area"] = float(sum(m.sum() for _, m in out) / (h * w))
    # 2. the original's overlays (text boxes outside its product): is their structure still there?
    around_o = dilate(ctx.mask_o, 4)
    ov = [m for m in (regions_mask((h, w), [r]) > 0 for r in ctx.text_o) if _outside_share(m, around_o) > 0.5]
    # Compared where the overlays were in the frame and, when the product moved (a reframed edit
    # moves everything with it), where the alignment carries them: a badge kept by a reframed
    # edit is residue too.
    carried = _carried(ctx.gray_orig, ctx.gray_edit, ov, prod_d)
    if ov and not ctx.alignment.is_identity:
        moved = [ctx.alignment.warp(m.astype(np.uint8), (h, w), nearest=True) > 0 for m in ov]
        carried = max(carried, _carried(ctx.gray_orig_in_e, ctx.gray_edit, moved, prod_d))
    f["overlay_carried"] = carried
    f["ref_confidence"] = ctx.ref_confidence  # how far the comparisons with the product can be trusted
    # ... and text over the product, where the original had overlay text
    inside = [m for m in masks if _outside_share(m, prod_d) <= 0.5]
    f["overlay_text_kept"] = overlay_text_kept(ctx, inside) if ctx.kind != "text_removed" else 0.0
    if ctx.kind == "text_removed":
        f["overlay_left"] = ctx.erasure_left[0]
        f["overlay_strokes"] = ctx.erasure_left[2]
    # 3. cut-outs: anything off the backdrop that is not the product, down to faint ghosts of text.
    # A cut-out whose backdrop is not one colour at all (old background left along the frame, the
    # residue_bg family at its largest) cannot be measured that way: that alone is the evidence.
    f["backdrop_missing"] = float(ctx.backdrop_missing)
    if ctx.fg_e is not None:
        faint = ctx.faint_foreground
        # product fragments (a cut can split a product) stay near the original's product outline
        stray = faint & ~prod_d & ~dilate(ctx.mask_o_in_e, grow)
        f["stray_share"] = float(stray.sum() / (h * w))
        n, _, stats, _ = cv2.connectedComponentsWithStats(stray.astype(np.uint8), connectivity=8)
        f["stray_blobs"] = int((stats[1:, cv2.CC_STAT_AREA] > 20).sum()) if n > 1 else 0
        # a collar of old background: the cut-out's outline runs through the original's texture
        # instead of along an edge of it, and the pixels inside are the original's background
        collar = prod & ~dilate(ctx.mask_o_in_e, grow) & (ctx.sal_in_e < 0.3)
        if prod.mean() < 0.015:  # a thumbnail-sized product: the warped outline is too coarse to compare
            collar[:] = False
        f["collar_share"] = float(collar.sum() / max(prod.sum(), 1))
        f["outline_on_edge"] = outline_edge_ratio(ctx.gray_orig_in_e, prod)
        f["overlay_ghost"] = overlay_ghost(ctx, ov, faint, prod_d)
    else:
        f["stray_share"] = 0.0
        f["stray_blobs"] = 0
        f["collar_share"] = 0.0
        f["outline_on_edge"] = 2.0
        f["overlay_ghost"] = 0.0
    f["bg_carried"] = carried_background(ctx, prod_d) if ctx.kind == "inpainted" else 0.0
    return f


# The edit shows the original's own pixel where the two differ by less than this (OpenCV's 8-bit
# Lab, after a blur that forgives re-encoding and delivery at a smaller size), and a carried piece
# is visible where it stands out from the new background next to it by more than the other.
CARRIED_SAME_DE = 10.0
CARRIED_CONTRAST = 15.0
CARRIED_SIDE = 384  # measured at this long side at most: an area share needs no finer grid


def carried_background(ctx: PairContext, prod_d: np.ndarray) -> float:
    """Visible old background carried into a new one, over the product's area.

    Failure family: residue_bg in a background replacement. A pipeline that cuts the product out
    and pastes it on a new background carries whatever its mask kept: a slab of the old table
    beside the banana, the wall between a chair's legs. The check's product for such an edit is its
    own segmentation of the original (the edit has no alpha), so nothing else looks there. Off
    that product (dilated as for the collar) and where the original's saliency calls it background,
    the edit still showing the original's pixels is old background, and it is residue where a
    reviewer can see it: where it differs from the new background around it (a white wall kept on
    a white backdrop is invisible, and not counted)."""
    h, w = ctx.shape
    f = min(1.0, CARRIED_SIDE / max(h, w))
    size = (max(1, round(w * f)), max(1, round(h * f)))

    def small(a: np.ndarray, nearest: bool = False) -> np.ndarray:
        if f == 1.0:
            return a
        if a.dtype == bool:
            return cv2.resize(a.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        return cv2.resize(a, size, interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_AREA)

    sigma = max(0.5, 1.5 * f / max(ctx.edit_detail, 0.4))
    lab_e = cv2.GaussianBlur(small(ctx.lab_edit), (0, 0), sigma)
    lab_o = cv2.GaussianBlur(small(ctx.lab_orig_in_e), (0, 0), sigma)
    product, near_product = small(ctx.mask_o_in_e), small(prod_d)
    off = ~near_product & (small(ctx.sal_in_e) < 0.3)
    # the same colour, and the same structure where there is any: two textured backgrounds of
    # like colours match pixel by pixel here and there, never window by window
    ncc, sd = (small(a, nearest=True) for a in ctx.ncc_sd)
    same = (delta_e(lab_e, lab_o) < CARRIED_SAME_DE) & ((ncc > 0.6) | (sd < 3)) & off
    same = cv2.morphologyEx(same.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0
    new = ~near_product & ~same
    if np.count_nonzero(same) < 8 or np.count_nonzero(new) < 0.02 * new.size:
        return 0.0  # nothing kept off the product, or nothing replaced: not this family's question
    # the new background near each kept pixel (a window a twelfth of the frame wide)
    k = 2 * max(3, round(size[0] / 24)) + 1
    near = box(new.astype(np.float32), k)
    mean_new = box(lab_e * new[..., None], k) / np.maximum(near, 1e-6)[..., None]
    edge = same & (near >= 0.05)  # kept pixels with new background beside them
    stands_out = edge & (delta_e(lab_e, mean_new) > CARRIED_CONTRAST)
    # A kept piece is seen, whole, where its edge against the new background shows; one with no
    # new background near it anywhere, or whose edge blends in (an old white floor under a new
    # white one), is not: the new background may as well be that colour there.
    n, labels = cv2.connectedComponents(same.astype(np.uint8), connectivity=8)
    at_edge = np.bincount(labels[edge], minlength=n)
    shows = np.bincount(labels[stands_out], minlength=n)
    seen = (at_edge > 0) & (shows > 0.5 * at_edge)
    seen[0] = False
    area = np.bincount(labels[same], minlength=n)
    # over the product's area, as synth states a slab's severity (at least 1 % of the frame: a
    # sliver of a product would make any speck a multiple of it)
    return float(area[seen].sum() / max(np.count_nonzero(product), 0.01 * product.size, 1))


def overlay_ghost(ctx: PairContext, ov: list[np.ndarray], faint: np.ndarray, prod_d: np.ndarray) -> float:
    """Largest share of an overlay's box, off the product, that a cut-out does not show as backdrop.

    Failure family: residue text, badges and logos of an ad creative left in a cut-out, down to
    faint ghosts (white text on a white backdrop, a half-erased line). OCR misses them, and as a
    share of the frame (``stray_share``) a ghost line is a percent or two, as the specks of a
    clean cut-out re-encoded or toned off-white can be. Where the original's overlays stood there
    is nothing but backdrop in a clean cut-out, so there the same pixels weigh. Boxes are compared
    in place and, for a reframed edit, where the alignment carries them.

    Recorded, not weighed: as a residue feature it separated within each corpus but lowered the
    scorer's source-fold AUC, and the gate trained with it rejected fewer erasures held out
    (docs/benchmarks.md, fifth round)."""
    if not ov:
        return 0.0
    h, w = ctx.shape
    boxes = list(ov)
    if not ctx.alignment.is_identity:
        boxes += [ctx.alignment.warp(m.astype(np.uint8), (h, w), nearest=True) > 0 for m in ov]
    best = 0.0
    for m in boxes:
        free = m & ~prod_d
        n = np.count_nonzero(free)
        if n >= 30:
            best = max(best, float(np.count_nonzero(faint & free) / n))
    return best


def _carried(go: np.ndarray, ge: np.ndarray, ov: list[np.ndarray], prod_d: np.ndarray) -> float:
    """Largest mean structure match (local NCC, clipped at 0) of an overlay's strokes in ``go``
    with the same place in ``ge``, off the product."""
    if not ov:
        return 0.0
    # only the overlays' box is compared (padded past the 9-px window: same values as the frame)
    box = bbox(np.logical_or.reduce(ov), 9)
    if box is None:
        return 0.0
    go, ge = go[box], ge[box]
    ncc, _ = local_ncc(go, ge, 9)
    strokes = local_sd(go) > 12  # where the original overlay has strokes
    carried = 0.0
    for m in ov:
        sel = m[box] & ~prod_d[box] & strokes
        if np.count_nonzero(sel) >= 30:
            carried = max(carried, float(np.clip(ncc[sel], 0, 1).mean()))
    return carried


def overlay_text_kept(ctx: PairContext, masks_e: list[np.ndarray]) -> float:
    """Share of the frame covered by edit text over the product (``masks_e``) lying where the
    original's overlay text was.

    Failure family: overlay text (a headline, a price, a badge's caption) that crosses the product.
    A cut-out or a new background keeps it when the mask takes it for part of the product, and the
    edit's text then lies inside the edit's own foreground, where "text outside the product" never
    looks. The original says which text is overlay: not printed on its product (``on_product``).
    """
    ov = [r for r in ctx.text_o if not on_product(r, ctx.mask_o)]
    if not ov or not masks_e:
        return 0.0
    h, w = ctx.shape
    ov_e = ctx.alignment.warp((regions_mask((h, w), ov) > 0).astype(np.uint8), (h, w), nearest=True) > 0
    kept = sum(int(m.sum()) for m in masks_e if np.count_nonzero(m & ov_e) > 0.3 * max(int(m.sum()), 1))
    return float(kept / (h * w))


def outline_edge_ratio(gray_o: np.ndarray, prod: np.ndarray) -> float:
    """Original's gradient on the cut-out's outline over that a few pixels off it (>1: on an edge)."""
    if np.count_nonzero(prod) < 100:
        return 2.0
    g = gray_o.astype(np.float32)
    mag = cv2.GaussianBlur(
        np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1)), (3, 3), 0
    )
    m8 = prod.astype(np.uint8)
    outline = (cv2.dilate(m8, np.ones((3, 3), np.uint8)) - cv2.erode(m8, np.ones((3, 3), np.uint8))).astype(
        bool
    )
    h, w = prod.shape
    outline[:2, :] = outline[-2:, :] = False
    outline[:, :2] = outline[:, -2:] = False
    if np.count_nonzero(outline) < 20:
        return 2.0
    near = dilate(outline, 12) & ~dilate(outline, 5)
    return float(mag[outline].mean() / (mag[near].mean() + 1e-3))


def heatmap(ctx: PairContext) -> np.ndarray:
    """Where something that is not the product remains: text boxes plus off-backdrop pixels, and
    for an erasure the original's overlay text it still shows."""
    heat = np.zeros(ctx.shape, np.float32)
    outside = ~dilate(ctx.product_e, 4)
    heat += (regions_mask(ctx.shape, ctx.text_e) > 0) & outside
    if ctx.kind == "text_removed":
        heat = np.maximum(heat, ctx.erasure_left[1])
    if ctx.fg_e is not None:
        heat += 0.7 * (ctx.faint_foreground & outside)
    return overlay_heat(ctx.edit, heat)


def evidence(ctx: PairContext, passed: bool | None) -> dict[str, np.ndarray]:
    return {"heatmap": heatmap(ctx)} if passed is False else {}


def _collar_off_edge(f) -> float:
    """A collar counts where the cut-out's outline is off the original's edges (ratio under 1.6)."""
    return f.get("collar_share", 0.0) * max(0.0, math.log(1.6 / max(f.get("outline_on_edge", 2.0), 1e-3)))


CRITERION = Criterion(
    name="residue",
    measure=measure,
    features=(
        Feature("text_count", "lin", 0.0, -1),
        Feature("text_score", "lin", 0.3, -1),
        Feature("text_area", "high", 0.0005, -1),
        Feature("overlay_carried", "lin", 0.3, -1),
        Feature("overlay_text_kept", "high", 0.0005, -1),
        Feature("stray_share", "high", 0.0002, -1),
        Feature("stray_blobs", "high1p", 0.0, -1),
        Feature("collar_share", "high", 0.01, -1),
        Feature("collar_off_edge", "lin", 0.0, -1, of=_collar_off_edge),
        Feature("ref_confidence", "low", 0.9, -1),
        Feature("backdrop_missing", "lin", 0.0, -1),
    ),
    # An erasure's residue is its own question (did the original's overlay text go?), weighed on
    # its own measurements and fitted on erasure labels when a calibration has them.
    by_kind={
        "text_removed": (
            Feature("overlay_left", "lin", 0.0, -1),
            Feature("overlay_carried", "lin", 0.3, -1),
            Feature("text_area", "high", 0.0005, -1),
        )
    },
    evidence=evidence,
)
