"""Residue: anything that is not the product still visible outside it in the edit.

Three signals, because generators fail in three ways: text the OCR detector still finds outside
the product; overlay regions of the original (text, badges, logos) whose structure is still there;
and, for cut-outs, foreground that is not the product (stray blobs, a collar of old background).
"""

from __future__ import annotations

import cv2
import numpy as np

from maskgate.check.context import PairContext
from maskgate.check.kind import backdrop_distance, transparent
from maskgate.check.measure import dilate, local_ncc, size_px
from maskgate.make.overlay import on_product
from maskgate.make.text import regions_mask


def _outside_share(region_mask: np.ndarray, product: np.ndarray) -> float:
    a = region_mask.sum()
    return float((region_mask & ~product).sum() / a) if a else 0.0


def features(ctx: PairContext) -> dict:
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
    carried = 0.0
    if ov and ctx.alignment.is_identity:
        # only the overlays' box is compared (padded past the 9-px window: same values as the frame)
        ys, xs = np.nonzero(np.logical_or.reduce(ov))
        box = (slice(max(ys.min() - 9, 0), ys.max() + 10), slice(max(xs.min() - 9, 0), xs.max() + 10))
        go, ge = ctx.gray("orig")[box], ctx.gray("edit")[box]
        ncc, _ = local_ncc(go, ge, 9)
        strokes = _local_sd(go) > 12  # where the original overlay has strokes
        for m in ov:
            sel = m[box] & ~prod_d[box] & strokes
            if np.count_nonzero(sel) >= 30:
                carried = max(carried, float(np.clip(ncc[sel], 0, 1).mean()))
    f["overlay_carried"] = carried
    if ctx.kind == "text_removed":
        f["overlay_left"] = erasure_left(ctx)[0]
    # 3. cut-outs: anything off the backdrop that is not the product, down to faint ghosts of text.
    if ctx.fg_e is not None:
        faint = faint_foreground(ctx)
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
        f["outline_on_edge"] = outline_edge_ratio(ctx.gray("orig_in_e"), prod)
    else:
        f["stray_share"] = 0.0
        f["stray_blobs"] = 0
        f["collar_share"] = 0.0
        f["outline_on_edge"] = 2.0
    return f


def erasure_left(ctx: PairContext) -> tuple[float, np.ndarray]:
    """How much of the original's overlay text an erasure still shows, and where: the largest
    share of one of its text lines that the edit's OCR still reads (1 for a line the edit left
    untouched), and the mask of that text (``memo``-ised: the heatmap shows it).

    Every text line of the original is overlay to erase, except print on the product that the edit
    left alone: a line mostly inside a product mask found with the text hidden from u2netp (make
    erases unless print is certain, so it also wants product all round; a check flags residue
    only when the line is clearly not print), and not in a block whose other lines the edit
    erased. A line the edit touched is overlay whatever the mask says: the editor took it for one.
    Reading the edit's OCR rather than pixel structure is what tells a half-erased line (glyphs
    left) from an erasure whose fill keeps the plate's edges."""
    return ctx.memo("erasure_left", lambda: _erasure_left(ctx))


def _erasure_left(ctx: PairContext, touched_at: float = 0.1) -> tuple[float, np.ndarray]:
    where = np.zeros(ctx.shape, bool)
    if not ctx.text_o:
        return 0.0, where
    # a line's strokes are touched where their structure is gone (low local NCC) or their contrast
    # dropped (a ghost): not where colours merely moved, as a re-encoded or re-toned edit moves
    # every pixel and erases nothing
    go, ge = ctx.gray("orig"), ctx.gray("edit")
    if ctx.edit_detail < 0.95:  # compare with the original as soft as the edit's resolution makes it
        h, w = go.shape
        small = (max(1, round(w * ctx.edit_detail)), max(1, round(h * ctx.edit_detail)))
        go = cv2.resize(
            cv2.resize(go, small, interpolation=cv2.INTER_AREA), (w, h), interpolation=cv2.INTER_LINEAR
        )
    ncc, _ = local_ncc(go, ge, 9)
    sd_o = _local_sd(go)
    strokes = sd_o > 12
    gone = strokes & ((ncc < 0.5) | (_local_sd(ge) < 0.7 * sd_o))
    read = regions_mask(ctx.shape, ctx.text_e) > 0 if ctx.text_e else np.zeros(ctx.shape, bool)
    lines = []
    for r in ctx.text_o:
        m = regions_mask(ctx.shape, [r])
        if not m.any():
            continue
        # the line's core, a quarter of its height in from the outline: the margin of a
        # neighbour's erasure grazes a line's edge without erasing it
        height = min(cv2.minAreaRect(r.polygon.astype(np.float32))[1])
        k = max(1, int(height / 4))
        core = cv2.erode(m, np.ones((2 * k + 1, 2 * k + 1), np.uint8)) > 0
        touched = np.count_nonzero(gone & core) >= touched_at * max(np.count_nonzero(strokes & core), 1)
        lines.append((r, m > 0, height, touched))
    left = 0.0
    for r, m, height, touched in lines:
        if not touched and on_product(r, ctx.mask_o, ring_share=0.0) and not _block_erased(r, height, lines):
            continue
        shown = read & m if touched else m
        where |= shown
        left = max(left, np.count_nonzero(shown) / np.count_nonzero(m))
    return float(left), where


def _block_erased(line, height: float, lines) -> bool:
    """Did the edit erase a line of the same text block (a line as tall, right above or below it,
    overlapping it sideways)? Then the block is overlay, even where it crosses the product, and
    the line left of it is not the product's print."""
    x0, y0, x1, y1 = line.bbox
    for r, _, h, touched in lines:
        if not touched or r is line or not 0.67 <= h / max(height, 1e-3) <= 1.5:
            continue
        a0, b0, a1, b1 = r.bbox
        gap = max(b0 - y1, y0 - b1)
        if gap <= 0.5 * height and min(x1, a1) - max(x0, a0) > 0.3 * min(x1 - x0, a1 - a0):
            return True
    return False


def faint_foreground(ctx: PairContext, tol: float = 4.0) -> np.ndarray:
    """Off-backdrop pixels at a tolerance low enough for a 5%-contrast ghost of erased text."""
    if transparent(ctx.edit_alpha):
        return ctx.edit_alpha > 6
    fg = backdrop_distance(cv2.GaussianBlur(ctx.edit, (5, 5), 0), ctx.backdrop) > tol
    return cv2.morphologyEx(fg.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)


def outline_edge_ratio(gray_o: np.ndarray, prod: np.ndarray) -> float:
    """Original's gradient on the cut-out's outline over that a few pixels off it (>1: on an edge)."""
    if prod.sum() < 100:
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
    if outline.sum() < 20:
        return 2.0
    near = dilate(outline, 12) & ~dilate(outline, 5)
    return float(mag[outline].mean() / (mag[near].mean() + 1e-3))


def _local_sd(gray: np.ndarray, k: int = 5) -> np.ndarray:
    g = gray.astype(np.float32)
    m = cv2.boxFilter(g, -1, (k, k))
    return np.sqrt(np.maximum(cv2.boxFilter(g * g, -1, (k, k)) - m * m, 0))
