"""Everything the criteria share about one pair, computed once.

The two model passes (u2netp on the original, PP-OCR on the edit) and the alignment are the
expensive parts; every criterion is then cheap NumPy over the arrays held here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import cv2
import numpy as np

from maskgate.check.align import Alignment, align
from maskgate.check.erasure import overlay_left
from maskgate.check.kind import faint_foreground, isolated_foreground
from maskgate.check.measure import bbox, delta_e, erode, local_ncc, soften_to, tint_fit
from maskgate.core.types import Kind, TextRegion
from maskgate.vision.text import CHECK_FILTER, ERASED_FILTER, on_product, plausible_text, regions_mask

# how far outside ``shared_core(20)`` the low-pass NCC there reads: the sigma-3 blur's 19-px kernel
# (8-bit) and the 21-px window, 9 + 10 px
_LOWPASS_REACH = 19


@dataclass
class PairContext:
    """One pair at analysis size. The fields are set by ``build_context``; the properties below are
    the measurements several criteria share, each computed the first time anyone asks (criteria
    never write here, so the order they run in cannot change what they see)."""

    orig: np.ndarray  # HxWx3 uint8 RGB, the original
    edit: np.ndarray  # HxWx3 uint8 RGB, the edit brought to the original's size
    edit_alpha: np.ndarray | None
    kind: Kind
    sal_o: np.ndarray  # saliency of the original, float [0,1]
    mask_o: np.ndarray  # product in the original (bool), overlays removed
    text_o: list[TextRegion]
    text_e: list[TextRegion]
    alignment: Alignment
    orig_in_e: np.ndarray  # the original warped into the edit frame
    mask_o_in_e: np.ndarray  # the original's product warped into the edit frame
    sal_in_e: np.ndarray  # the original's saliency warped into the edit frame
    product_e: np.ndarray  # the product in the edit (bool)
    fg_e: np.ndarray | None  # isolated: everything not backdrop; else None
    backdrop: np.ndarray | None  # isolated: backdrop colour
    notes: list[str] = field(default_factory=list)
    # the edit's own resolution over this frame's (longest sides, at most 1): an edit made smaller
    # than the frame was scaled up to it and is softer for that alone
    edit_detail: float = 1.0
    # the alignment's in-place NCC and local contrast (11-px window), when the product did not
    # move: the same maps ``ncc_sd`` would compute
    identity_maps: tuple[np.ndarray, np.ndarray] | None = None
    # a declared cut-out whose backdrop is not one colour (its whole frame is then taken as
    # foreground, and nothing off the product can be measured)
    backdrop_missing: bool = False
    _cores: dict[int, np.ndarray] = field(default_factory=dict, init=False, repr=False)
    _tints: dict[int, tuple[float, float, float]] = field(default_factory=dict, init=False, repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        return self.orig.shape[:2]

    @property
    def area(self) -> int:
        return self.orig.shape[0] * self.orig.shape[1]

    # --- grey and Lab views
    @cached_property
    def gray_orig(self) -> np.ndarray:
        return cv2.cvtColor(self.orig, cv2.COLOR_RGB2GRAY)

    @cached_property
    def gray_edit(self) -> np.ndarray:
        return cv2.cvtColor(self.edit, cv2.COLOR_RGB2GRAY)

    @cached_property
    def gray_orig_in_e(self) -> np.ndarray:
        return cv2.cvtColor(self.orig_in_e, cv2.COLOR_RGB2GRAY)

    @cached_property
    def gray_orig_in_e_soft(self) -> np.ndarray:
        """The original in the edit frame as soft as the edit's own resolution makes it (benign
        delivery at a smaller size): what a sharpness comparison should hold the edit to."""
        return soften_to(self.gray_orig_in_e, self.edit_detail)

    @cached_property
    def lab_edit(self) -> np.ndarray:
        return cv2.cvtColor(self.edit, cv2.COLOR_RGB2LAB).astype(np.float32)

    @cached_property
    def lab_orig_in_e(self) -> np.ndarray:
        return cv2.cvtColor(self.orig_in_e, cv2.COLOR_RGB2LAB).astype(np.float32)

    # --- where the edit still shows the original (segmentation, quality, consistency, evidence)
    @cached_property
    def ncc_sd(self) -> tuple[np.ndarray, np.ndarray]:
        """Local NCC (11-px window) of the original against the edit, and the smaller local std
        (where the NCC means something)."""
        if self.identity_maps is not None:
            return self.identity_maps
        return local_ncc(self.gray_orig_in_e, self.gray_edit, 11)

    @cached_property
    def lowpass_ncc_sd(self) -> tuple[np.ndarray, np.ndarray]:
        """The same on images low-passed at sigma 3 (21-px window): it forgives blur, pixelation
        and compression but not a geometric change."""
        lp_o = cv2.GaussianBlur(self.gray_orig_in_e, (0, 0), 3)
        lp_e = cv2.GaussianBlur(self.gray_edit, (0, 0), 3)
        return local_ncc(lp_o, lp_e, 21)

    @cached_property
    def de(self) -> np.ndarray:
        """Lab colour difference of the edit from the original, per pixel."""
        return delta_e(self.lab_edit, self.lab_orig_in_e)

    @cached_property
    def kept(self) -> np.ndarray:
        """Pixels of the original's product that the edit still shows (same structure or colour)."""
        return (self.ncc_sd[0] > 0.5) | (self.de < 20)

    @cached_property
    def _lowpass_in_core(self) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray] | None:
        """``lowpass_ncc_sd`` over the box of ``shared_core(20)`` only (the only place the
        criteria read it), as (box, NCC, std) on that box; None for an empty core. The box is
        padded past the blur's and the window's reach (9 + 10 px), so every value inside the core
        is the frame's own: the blurred images are 8-bit and the box sums of integers are exact,
        wherever the crop starts."""
        core = self.shared_core(20)
        box = bbox(core, _LOWPASS_REACH)
        if box is None:
            return None
        lp_o = cv2.GaussianBlur(self.gray_orig_in_e[box], (0, 0), 3)
        lp_e = cv2.GaussianBlur(self.gray_edit[box], (0, 0), 3)
        ncc, sd = local_ncc(lp_o, lp_e, 21)
        return box, ncc, sd

    @cached_property
    def lp_textured(self) -> np.ndarray:
        """Where the low-pass NCC is meaningful: textured, and ~20 px (the low-pass window's
        reach) off the outline, where the backdrop changed."""
        out = np.zeros(self.shape, bool)
        lp = self._lowpass_in_core
        if lp is not None:
            box, _, sd = lp
            out[box] = self.shared_core(20)[box] & (sd > 3)
        return out

    @cached_property
    def lp_ncc_textured(self) -> np.ndarray:
        """The low-pass NCC over ``lp_textured``, in raster order (``lowpass_ncc_sd[0][lp_textured]``)."""
        lp = self._lowpass_in_core
        if lp is None:
            return np.zeros(0, np.float32)
        box, ncc, _ = lp
        return ncc[self.lp_textured[box]]

    @cached_property
    def lp_ncc_med(self) -> float:
        """Median low-pass NCC deep inside the textured product: a geometric change lowers it,
        blur or compression does not."""
        vals = self.lp_ncc_textured
        return float(np.median(vals)) if len(vals) > 30 else 1.0

    # --- the product both images show
    @cached_property
    def shared_product(self) -> np.ndarray:
        """The product as both images show it: the edit's product where the original's lies."""
        return self.product_e & self.mask_o_in_e

    def shared_core(self, r: int) -> np.ndarray:
        """``shared_product`` less an ``r``-px rim (where alignment and matting errors live)."""
        if r not in self._cores:
            self._cores[r] = erode(self.shared_product, r)
        return self._cores[r]

    def tint(self, r: int) -> tuple[float, float, float]:
        """``tint_fit`` of the edit on the original over ``shared_core(r)``: (slope, residual RMS,
        largest mean shift). A tint (quality) fits it; a hue change (consistency) does not."""
        if r not in self._tints:
            self._tints[r] = tint_fit(self.orig_in_e, self.edit, self.shared_core(r))
        return self._tints[r]

    @cached_property
    def ref_confidence(self) -> float:
        """Mean saliency over the salient part of the original's product mask (1: a given mask).

        Failure family: the product reference itself. Every cut and every kept piece of
        background is measured against one u2netp pass, which on a cluttered scene (a person among
        others, an animal in a field) is unsure what the object is, and its mask is then wrong by
        more than the edit's errors (on 36 photos of the DAVIS training corpus this value ranked
        with the mask's IoU against the ground truth at Spearman 0.76). A low value tells a
        learned gate that a clean-looking comparison vouches for less."""
        core = self.mask_o & (self.sal_o > 0.5)
        return float(self.sal_o[core].mean()) if core.any() else 0.0

    @cached_property
    def product_share(self) -> float:
        return float(np.count_nonzero(self.product_e)) / self.product_e.size

    # --- residue and its evidence
    @cached_property
    def faint_foreground(self) -> np.ndarray:
        """Off-backdrop pixels of a cut-out at a tolerance low enough for a 5%-contrast ghost."""
        return faint_foreground(self.edit, self.edit_alpha, self.backdrop)

    @cached_property
    def erasure_left(self) -> tuple[float, np.ndarray, float]:
        """For an erasure: how much of the original's overlay text the edit still shows, where,
        and the largest share of one line's strokes it kept (see ``erasure.overlay_left``)."""
        return overlay_left(
            self.gray_orig, self.gray_edit, self.text_o, self.text_e, self.mask_o, self.edit_detail
        )


def clean_product_mask(
    sal: np.ndarray, text: list[TextRegion], given: np.ndarray | None = None, carve: bool = True
) -> np.ndarray:
    """Binary product mask of the original: saliency minus overlay blobs (text, badges) and specks.

    ``carve`` False for an erasure: its saliency was found with the text hidden from the network,
    so an overlay line is not in it, and text still inside it is print (``on_product`` with no
    ring), which the ring test here would carve away and then count as overlay left behind."""
    if given is not None:
        return given
    raw = sal > 0.5
    h, w = raw.shape
    min_area = int(0.002 * h * w)
    tmask = regions_mask((h, w), text, grow=max(3, int(0.012 * max(h, w)))) > 0
    n, lab, stats, _ = cv2.connectedComponentsWithStats(raw.astype(np.uint8), connectivity=8)
    areas = stats[:, cv2.CC_STAT_AREA]
    comps = [i for i in range(1, n) if areas[i] >= min_area]
    biggest = max((areas[i] for i in comps), default=0)
    on_text = np.bincount(lab[tmask], minlength=n)
    # Overlay text and badges form their own salient blobs; the product is the big one.
    kept = np.zeros(n, bool)
    kept[[i for i in comps if not (on_text[i] / areas[i] > 0.35 and areas[i] < 0.6 * biggest)]] = True
    keep = kept[lab]
    if not keep.any():
        keep = raw
    # Overlays touching the product (a headline over the hair of a person wearing the product, a
    # badge overlapping its corner) join its salient blob, and the edit, which rightly drops them,
    # then reads as a product with a part missing. Failure family: residue overlays of an ad
    # creative (text, badges, logos) next to the product. Text the product carries (inside it,
    # product all round) stays.
    overlays = [r for r in text if not on_product(r, keep)] if carve else []
    if overlays:
        over = regions_mask((h, w), overlays, grow=max(2, int(0.006 * max(h, w)))) > 0
        cut = keep & ~over
        n2, lab2, stats2, _ = cv2.connectedComponentsWithStats(cut.astype(np.uint8), connectivity=8)
        if n2 > 1:
            a2 = stats2[1:, cv2.CC_STAT_AREA]
            # specks left between the carved lines are the overlay's, not the product's
            big = np.r_[False, a2 >= max(min_area, 0.05 * a2.max())]
            if big.any():
                keep = big[lab2]
    # Holes inside the product (a mug's opening, printed labels) belong to it.
    filled = keep.astype(np.uint8)
    cnts, _ = cv2.findContours(filled, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(filled, cnts, -1, 1, thickness=cv2.FILLED)
    return filled.astype(bool)


def fit_edit(edit_rgb: np.ndarray, edit_alpha: np.ndarray | None, shape: tuple[int, int]):
    """Scale the edit to the original's size; note an aspect-ratio change (it distorts the product)."""
    h, w = shape
    notes = []
    eh, ew = edit_rgb.shape[:2]
    if (eh, ew) != (h, w):
        ar_o, ar_e = w / h, ew / eh
        if abs(ar_o - ar_e) / ar_o > 0.02:
            notes.append(f"aspect ratio changed: original {w}x{h} ({ar_o:.3f}), edit {ew}x{eh} ({ar_e:.3f})")
        interp = cv2.INTER_AREA if ew > w else cv2.INTER_LINEAR
        edit_rgb = cv2.resize(edit_rgb, (w, h), interpolation=interp)
        if edit_alpha is not None:
            edit_alpha = cv2.resize(edit_alpha, (w, h), interpolation=interp)
    return edit_rgb, edit_alpha, notes


# The criteria compare structure and colour, which a 512-px view of a product shows as well as the
# full image; working there makes the per-pair NumPy cost a fraction of the two model passes. Text
# detection still runs on the full working image (faint small text needs the pixels).
ANALYSIS_SIDE = 512


def _shrink(side, orig, edit, alpha, sal, given, text_o, text_e):
    h, w = orig.shape[:2]
    f = side / max(h, w)
    size = (max(1, round(w * f)), max(1, round(h * f)))

    def rs(a, interp=cv2.INTER_AREA):
        return None if a is None else cv2.resize(a, size, interpolation=interp)

    def scale(rs_):
        return [TextRegion(r.polygon * np.float32(f), r.score) for r in rs_]

    g = None if given is None else rs(given.astype(np.uint8), cv2.INTER_NEAREST).astype(bool)
    return rs(orig), rs(edit), rs(alpha), rs(sal, cv2.INTER_LINEAR), g, scale(text_o), scale(text_e)


def build_context(
    orig: np.ndarray,
    edit: np.ndarray,
    edit_alpha: np.ndarray | None,
    sal_o: np.ndarray,
    text_o: list[TextRegion],
    text_e: list[TextRegion],
    kind: Kind,
    given_mask: np.ndarray | None = None,
    notes: list[str] | None = None,
    analysis_side: int | None = ANALYSIS_SIDE,
    edit_side: int | None = None,
) -> PairContext:
    """``kind``: as the engine decided it (``kind.edit_kind``); ``edit_side``: the edit's longest
    side before it was fitted to the original (default: as is)."""
    notes = list(notes or [])
    text_o = plausible_text(text_o, orig.shape[:2], ERASED_FILTER if kind == "text_removed" else CHECK_FILTER)
    text_e = plausible_text(text_e, orig.shape[:2], CHECK_FILTER)
    edit_detail = min(1.0, (edit_side or max(edit.shape[:2])) / max(orig.shape[:2]))
    if analysis_side and max(orig.shape[:2]) > analysis_side:
        edit_detail = min(1.0, edit_detail * max(orig.shape[:2]) / analysis_side)
        orig, edit, edit_alpha, sal_o, given_mask, text_o, text_e = _shrink(
            analysis_side, orig, edit, edit_alpha, sal_o, given_mask, text_o, text_e
        )
    text_e = plausible_text(text_e, orig.shape[:2], CHECK_FILTER)
    mask_o = clean_product_mask(sal_o, text_o, given_mask, carve=kind != "text_removed")
    fg_e = backdrop = None
    backdrop_missing = False
    if kind == "isolated":
        iso = isolated_foreground(edit, edit_alpha)
        if iso is None:  # declared isolated but the backdrop is not flat: treat its saliency-free best guess
            iso = (np.ones(mask_o.shape, bool), np.array([255.0, 255, 255], np.float32))
            backdrop_missing = True
        fg_e, backdrop = iso
    maps: dict = {}
    if kind == "text_removed":
        al = Alignment(np.array([[1.0, 0, 0], [0, 1.0, 0]]), False, "identity")
    else:
        al = align(orig, edit, mask_o, fg_e, maps=maps)
    orig_in_e = al.warp(orig, mask_o.shape)
    mask_o_in_e = al.warp(mask_o.astype(np.uint8), mask_o.shape, nearest=True).astype(bool)
    sal_in_e = al.warp(sal_o, mask_o.shape)
    if fg_e is not None:
        product_e = _product_part(fg_e, mask_o_in_e)
    else:
        product_e = mask_o_in_e
    return PairContext(
        orig=orig,
        edit=edit,
        edit_alpha=edit_alpha,
        kind=kind,
        sal_o=sal_o,
        mask_o=mask_o,
        text_o=text_o,
        text_e=text_e,
        alignment=al,
        orig_in_e=orig_in_e,
        mask_o_in_e=mask_o_in_e,
        sal_in_e=sal_in_e,
        product_e=product_e,
        fg_e=fg_e,
        backdrop=backdrop,
        notes=notes,
        edit_detail=edit_detail,
        identity_maps=(maps["ncc"], maps["sd"]) if al.is_identity and "ncc" in maps else None,
        backdrop_missing=backdrop_missing,
    )


def _product_part(fg: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Foreground components that overlap where the product should be (or the largest one)."""
    n, lab, stats, _ = cv2.connectedComponentsWithStats(fg.astype(np.uint8), connectivity=8)
    if n <= 1:
        return fg.copy()
    hits = np.bincount(lab[prior], minlength=n)
    keep = [
        i for i in range(1, n) if hits[i] > 0.3 * stats[i, cv2.CC_STAT_AREA] or hits[i] > 0.05 * prior.sum()
    ]
    if not keep:
        keep = [1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))]
    return np.isin(lab, keep)
