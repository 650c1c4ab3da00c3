"""Everything the criteria share about one pair, computed once.

The two model passes (u2netp on the original, PP-OCR on the edit) and the alignment are the
expensive parts; every criterion is then cheap NumPy over the arrays held here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from maskgate.check.align import Alignment, align
from maskgate.check.kind import isolated_foreground, looks_text_removed
from maskgate.check.measure import erode
from maskgate.make.text import TextRegion, regions_mask


@dataclass
class PairContext:
    orig: np.ndarray  # HxWx3 uint8 RGB, the original
    edit: np.ndarray  # HxWx3 uint8 RGB, the edit brought to the original's size
    edit_alpha: np.ndarray | None
    kind: str
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
    cache: dict = field(default_factory=dict)
    # the edit's own resolution over this frame's (longest sides, at most 1): an edit made smaller
    # than the frame was scaled up to it and is softer for that alone
    edit_detail: float = 1.0

    @property
    def shape(self) -> tuple[int, int]:
        return self.orig.shape[:2]

    @property
    def area(self) -> int:
        return self.orig.shape[0] * self.orig.shape[1]

    def gray(self, which: str) -> np.ndarray:
        key = "gray_" + which
        if key not in self.cache:
            self.cache[key] = cv2.cvtColor(getattr(self, which), cv2.COLOR_RGB2GRAY)
        return self.cache[key]

    def lab(self, which: str) -> np.ndarray:
        key = "lab_" + which
        if key not in self.cache:
            self.cache[key] = cv2.cvtColor(getattr(self, which), cv2.COLOR_RGB2LAB).astype(np.float32)
        return self.cache[key]

    def memo(self, key, make):
        """``make()`` once per pair: several criteria take the same masks and medians."""
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    def shared_product(self) -> np.ndarray:
        """The product as both images show it: the edit's product where the original's lies."""
        return self.memo("shared_product", lambda: self.product_e & self.mask_o_in_e)

    def shared_core(self, r: int) -> np.ndarray:
        """``shared_product`` less an ``r``-px rim (where alignment and matting errors live)."""
        return self.memo(("shared_core", r), lambda: erode(self.shared_product(), r))

    @property
    def product_share(self) -> float:
        return self.memo(
            "product_share", lambda: float(np.count_nonzero(self.product_e)) / self.product_e.size
        )


def plausible_text(regions: list[TextRegion], shape: tuple[int, int]) -> list[TextRegion]:
    """Drop detector output no overlay line of text looks like: blobs a sixth of the frame tall, and
    square-ish regions (PP-OCR fires on whole products in flat cut-outs, on noise, on tiles)."""
    h, w = shape
    keep = []
    for r in regions:
        (_, _), (rw, rh), _ = cv2.minAreaRect(r.polygon.astype(np.float32))
        thick, long = min(rw, rh), max(rw, rh)
        # a blob a sixth of the frame tall is an object, unless it is a long line (a poster's headline)
        if (thick > 0.15 * max(h, w) and long < 2.5 * thick) or (
            long < 1.5 * thick and long * thick > 0.02 * h * w
        ):
            continue
        if long < 1.4 * thick:  # a blob, not a line of text: PP-OCR fires on square shapes in scenes
            continue
        keep.append(r)
    return keep


def clean_product_mask(
    sal: np.ndarray, text: list[TextRegion], given: np.ndarray | None = None
) -> np.ndarray:
    """Binary product mask of the original: saliency minus overlay blobs (text, badges) and specks."""
    if given is not None:
        return given
    raw = sal > 0.5
    h, w = raw.shape
    min_area = int(0.002 * h * w)
    tmask = regions_mask(raw.shape, text, grow=max(3, int(0.012 * max(h, w)))) > 0
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
    kind: str | None = None,
    given_mask: np.ndarray | None = None,
    notes: list[str] | None = None,
    analysis_side: int | None = ANALYSIS_SIDE,
    edit_side: int | None = None,
) -> PairContext:
    """``edit_side``: the edit's longest side before it was fitted to the original (default: as is)."""
    notes = list(notes or [])
    text_o = plausible_text(text_o, orig.shape[:2])
    text_e = plausible_text(text_e, orig.shape[:2])
    edit_detail = min(1.0, (edit_side or max(edit.shape[:2])) / max(orig.shape[:2]))
    if analysis_side and max(orig.shape[:2]) > analysis_side:
        edit_detail = min(1.0, edit_detail * max(orig.shape[:2]) / analysis_side)
        orig, edit, edit_alpha, sal_o, given_mask, text_o, text_e = _shrink(
            analysis_side, orig, edit, edit_alpha, sal_o, given_mask, text_o, text_e
        )
    text_e = plausible_text(text_e, orig.shape[:2])
    mask_o = clean_product_mask(sal_o, text_o, given_mask)
    iso = isolated_foreground(edit, edit_alpha) if kind in (None, "isolated") else None
    if kind is None:
        kind = (
            "isolated"
            if iso is not None
            else ("text_removed" if looks_text_removed(orig, edit) else "inpainted")
        )
    fg_e = backdrop = None
    if kind == "isolated":
        if iso is None:  # declared isolated but the backdrop is not flat: treat its saliency-free best guess
            iso = (np.ones(mask_o.shape, bool), np.array([255.0, 255, 255], np.float32))
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
        # the in-place NCC of the alignment is the criteria's NCC when the product did not move
        cache={"identity_ncc": (maps["ncc"], maps["sd"])} if al.is_identity and "ncc" in maps else {},
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
