"""Segmentation: part of the product cut off or missing in the edit.

The original's product, carried into the edit frame, is compared with the product the edit shows.
For a cut-out the edit's product is its foreground; for a new background it is wherever the edit
still shows the original's product pixels (same structure in the local NCC sense).
"""

from __future__ import annotations

import cv2
import numpy as np

from maskgate.check.context import PairContext
from maskgate.check.criterion import Criterion, Feature
from maskgate.check.evidence import outline, tint
from maskgate.check.measure import changed_blobs, channel_norm, dilate, erode, size_px


def _window_sums(img: np.ndarray, ys: np.ndarray, xs: np.ndarray, k: int) -> np.ndarray:
    """Sum of ``img`` over the k x k window centred on each (y, x), from one integral image:
    only the outline's windows are wanted, not a box filter over the whole frame. ``img`` may be
    a crop with (ys, xs) in its coordinates (``_windows_box``); the windows must lie inside it."""
    ii = cv2.integral(img, sdepth=cv2.CV_64F)
    r = k // 2
    y0, y1, x0, x1 = ys - r, ys + r + 1, xs - r, xs + r + 1
    return ii[y1, x1] - ii[y0, x1] - ii[y1, x0] + ii[y0, x0]


def _windows_box(
    ys: np.ndarray, xs: np.ndarray, k: int
) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray]:
    """The box that holds every k x k window centred on (ys, xs) (all inside the frame), and the
    centres in its coordinates. The images summed here are integer-valued (8-bit masks, 8-bit Lab
    and its products with masks), whose sums are exact in float64 from any origin, so the window
    sums over the box are the frame's own, for a fraction of the integral's cost."""
    r = k // 2
    y0, x0 = int(ys.min()) - r, int(xs.min()) - r
    box = (slice(y0, int(ys.max()) + r + 1), slice(x0, int(xs.max()) + r + 1))
    return box, ys - y0, xs - x0


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
    box, ys, xs = _windows_box(ys, xs, k)
    m, m8 = m[box], m8[box]
    n_in = _window_sums(m8, ys, xs, k)
    n_out = k * k - n_in

    def contrast(lab: np.ndarray) -> np.ndarray:
        lab = lab[box]
        inside = _window_sums(lab * m[..., None], ys, xs, k)
        outside = _window_sums(lab, ys, xs, k) - inside
        return channel_norm(
            inside / np.maximum(n_in, 1e-3)[:, None] - outside / np.maximum(n_out, 1e-3)[:, None]
        )

    c_o, c_e = contrast(ctx.lab_orig_in_e), contrast(ctx.lab_edit)
    seen = c_o > 15
    if np.count_nonzero(seen) < 30:
        return 0.0
    return float(np.count_nonzero(seen & (c_e < 0.35 * c_o)) / np.count_nonzero(seen))


# Lab (OpenCV's 8-bit scale) distance of window means across a cut line under which both sides are
# taken for one material. Chosen on 29 pairs of the dbB training corpus (docs/benchmarks.md), not
# on dev: on synth's cuts through photographed products the median across the line is 6-25; where
# a neighbouring object that one u2netp pass merged into the product meets it, 17-92, mostly over 24.
CUT_CONTRAST = 24.0


def cut_unsupported(ctx: PairContext, blob: np.ndarray, part: np.ndarray, gap: int = 0) -> float:
    """Share of the line between a missing region and the product the edit kept along which the
    original shows no change of colour (1: the line runs through one object).

    Failure family: the product reference itself. One saliency pass can take a neighbouring object
    (the couch a dog lies on, the person holding a bag) for part of the product; an edit that
    rightly leaves it out then looks like a cut. The original tells the two apart: a neighbouring
    object meets the product at an edge, where the colour on either side differs, while a cut (a
    handle cut off, a product sliced by a mask) runs through one material. Window means, not
    gradients, so fur or print on either side of a cut does not pass for an edge. ``gap``: how far
    the missing region was held off the kept part (the tolerance ring of a cut-out's outline).
    """
    k = 2 * gap + 11
    line = (
        cv2.dilate(blob.astype(np.uint8), np.ones((2 * gap + 3, 2 * gap + 3), np.uint8)).astype(bool) & part
    )
    line[:k, :] = line[-k:, :] = line[:, :k] = line[:, -k:] = False
    ys, xs = np.nonzero(line)
    if len(ys) < 10:
        return 0.0
    box, ys, xs = _windows_box(ys, xs, k)
    blob, part = blob[box], part[box]
    b8, p8 = blob.astype(np.uint8), part.astype(np.uint8)
    n_b = _window_sums(b8, ys, xs, k)
    n_p = _window_sums(p8, ys, xs, k)
    lab = ctx.lab_orig_in_e[box]
    mean_b = _window_sums(lab * blob[..., None], ys, xs, k) / np.maximum(n_b, 1)[:, None]
    mean_p = _window_sums(lab * part[..., None], ys, xs, k) / np.maximum(n_p, 1)[:, None]
    both = (n_b >= 0.15 * k * k) & (n_p >= 0.15 * k * k)
    if np.count_nonzero(both) < 10:
        return 0.0
    return float(
        np.count_nonzero(both & (channel_norm(mean_b - mean_p) < CUT_CONTRAST)) / np.count_nonzero(both)
    )


def measure(ctx: PairContext) -> dict:
    ref = ctx.mask_o_in_e
    area = max(np.count_nonzero(ref), 1)
    r = max(2, int(0.015 * size_px(ref)))
    f: dict = {}
    domain = ref
    if ctx.fg_e is not None:
        missing = ref & ~dilate(ctx.fg_e, r)
    else:
        kept = ctx.kept
        domain = erode(ref, r)
        missing = domain & ~kept
        missing = cv2.morphologyEx(
            missing.astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)
        ).astype(bool)
    big = touching = cut = 0.0
    part = (ctx.fg_e if ctx.fg_e is not None else ctx.kept) & ref
    gap = r if ctx.fg_e is not None else 0
    for comp, a, open_frac in changed_blobs(missing, domain, area, full=True):
        big = max(big, a)
        # a cut opens onto the background: the missing region's rim lies partly outside the product
        if open_frac >= 0.2:
            touching = max(touching, a)
            cut = max(cut, a * cut_unsupported(ctx, comp, part, gap))
    f["outline_lost"] = outline_lost(ctx) if ctx.fg_e is None else 0.0
    f["missing_share"] = float(missing.sum() / area)
    f["missing_biggest"] = float(big)
    f["missing_open"] = float(touching)
    f["missing_cut"] = float(cut)
    f["ref_confidence"] = ctx.ref_confidence
    return f


def evidence(ctx: PairContext, passed: bool | None) -> dict[str, np.ndarray]:
    ev = {"product_mask": (ctx.mask_o * 255).astype(np.uint8)}
    if passed is False:
        missing = ctx.mask_o_in_e & ~(ctx.fg_e if ctx.fg_e is not None else ctx.kept)
        ev["missing"] = outline(tint(ctx.edit, missing), ctx.mask_o_in_e)
    return ev


CRITERION = Criterion(
    name="segmentation",
    measure=measure,
    features=(
        Feature("missing_share", "high", 0.02, -1),
        Feature("missing_biggest", "high", 0.01, -1),
        Feature("missing_open", "high", 0.01, -1),
        Feature("missing_cut", "high", 0.01, -1),
        Feature("outline_lost", "high", 0.05, -1),
        Feature("ref_confidence", "low", 0.9, -1),
        Feature("hue_shift", "lin", 0.1, 1),
        Feature("lp_ncc_med", "low", 0.95, 1),
    ),
    needs_detail=True,
    # A cut and a changed product both make the edit differ inside the product; each needs the
    # other's evidence to know which of the two it is looking at.
    borrows={"hue_shift": "consistency", "lp_ncc_med": "quality"},
    evidence=evidence,
)
