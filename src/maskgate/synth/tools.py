"""Cut-outs and erasures made by real tools, labelled from ground truth.

Why: the gate was fitted on injected defects (a slab pasted in, a part cut away), and those do not
look like what real segmenters and fills get wrong: a GrabCut cut-out that keeps a slab of the
table, a saliency matte that drops a thin handle or shows half the backdrop, a colour key that eats
a white label, a text fill that leaves glyph outlines. Here the tools themselves make the edits,
and the labels come from the photo's ground-truth product mask (for erasures, from the text-free
photo) by one stated rule.

Every segmenter returns a uint8 alpha at the photo's size. A cut-out is measured against the GT
mask ``G`` with an edge allowance of ``r`` px (``EDGE_FRAC`` of the longest side, at least
``EDGE_MIN``): GT masks are only good to a pixel or two, and a cut-out 1-2 px tighter or looser
than them is a good one.

- *kept non-product*: pixels the cut-out shows (alpha at or above a visibility level) farther than
  ``r`` from ``G``: in all, as a share of the product area; its largest 8-connected piece, as a
  share of the product and of the frame;
- *lost product*: pixels of ``G`` farther than ``r`` from what the cut-out shows (alpha at or
  above a solidity level): in all and its largest piece, as shares of the product;
- *ghost*: the opacity summed over the non-product pixels farther than ``r`` from ``G`` that show
  at all (alpha >= ``GHOST_ALPHA``), and *washed*: the transparency summed over the product's
  pixels deeper than ``r`` inside ``G``; both as shares of the product area. A soft matte that
  shows the old backdrop at a third over a wide area, or the product at two thirds, fails a
  reviewer as surely as a solid slab or a cut, and a threshold on alpha alone misses it.

The label rule. Shares are of the GT product area unless "frame"; alpha out of 255; the pass
columns allow the edge ``EDGE_SOFT`` px more (the faint tail of a feathered or upsampled edge).

| criterion | clearly passes: True | dead zone | clearly fails: False |
|---|---|---|---|
| residue, cut-outs | kept at alpha >= 48 under 0.4 % and under 0.1 % of the frame | between | a kept piece (alpha >= 128) >= 1.5 %, or >= 0.5 % of the frame; or all kept >= 3 %; or ghost >= 3 % |
| segmentation | lost at alpha < 200 under 0.5 % | between | a lost piece (alpha < 128) >= 2 %; or all lost >= 4 %; or washed >= 15 % |
| quality | mean fringe of old background just outside ``G`` under 2.5 px, washed under 5 % | otherwise: null | never |
| comprehensibility, consistency | True | null when >= 50 % of the product is lost | never |
| background | ``isolated``: null; ``inpainted``: True (a whole real photo behind the product) | | |
| residue, erasures | every drawn line keeps under 3 % of its overlay pixels | between | a line keeps >= 15 % |

The levels differ on purpose: a piece must be clearly there (half opaque) to fail, but even a faint
one (a fifth opaque) keeps a cut-out from clearly passing. Failing is tested first. A pair whose
uncertain criterion sits in its dead zone is no training label (``dead_zone_cutout``: the builder
writes it apart, to count against accepts), unless another criterion clearly fails: then its
verdict is certain, and it is kept with the uncertain criterion null.

For erasures an overlay pixel is one the drawing changed by more than ``TEXT_TOL`` (any channel)
that stands out by as much from its surround (the nearest pixels the drawing did not touch). It is
*kept* when, in the erased image, it still stands out from its surround by more than half of its
drawn contrast, in the same direction: a fill that is merely inexact (smooth over grain, a
neighbour's colour pulled in) is not residue; a glyph, its outline or its ghost is. Erasures label
residue only: whether a fill reads as a smear is not known from the ground truth.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from maskgate.core.types import CRITERIA
from maskgate.io.images import load_image
from maskgate.vision.fill import inpaint
from maskgate.vision.segment import saliency

log = logging.getLogger(__name__)

Segmenter = Callable[[np.ndarray], np.ndarray]
Backdrop = Literal["white", "offwhite", "transparent"]

# --- the label rule (see the table above) -------------------------------------------------------
EDGE_FRAC = 0.005  # edge allowance: 3 px at 640 px, never under EDGE_MIN
EDGE_MIN = 3
EDGE_SOFT = 2  # the pass tests allow a soft edge this much farther (a feather's faint tail)
SHOW_FAIL, SHOW_PASS = 128, 48  # alpha at which a non-product pixel counts as kept (fail / pass tests)
SOLID_FAIL, SOLID_PASS = 128, 200  # alpha under which a product pixel counts as lost (fail / pass tests)
RESIDUE_FAIL_PIECE = 0.015
RESIDUE_FAIL_PIECE_FRAME = 0.005
RESIDUE_FAIL_TOTAL = 0.03
RESIDUE_PASS_TOTAL = 0.004
RESIDUE_PASS_FRAME = 0.001
RESIDUE_FAIL_GHOST = 0.03
GHOST_ALPHA = 32  # a haze this opaque over the old background shows on white
SEG_FAIL_PIECE = 0.02
SEG_FAIL_TOTAL = 0.04
SEG_PASS_TOTAL = 0.005
SEG_FAIL_WASHED = 0.15
QUALITY_WASHED = 0.05
FRINGE_PX = 2.5
GONE = 0.5
TEXT_TOL = 24
TEXT_FAIL_LINE = 0.15
TEXT_PASS_LINE = 0.03

# Photos that measure the project (DreamBooth subjects and the dev set's products): never a training source.
FORBIDDEN_STEMS = frozenset(
    "can candle clock fancy_boot pink_sunglasses robot_toy shiny_sneaker teapot vase wolf_plushie "
    "bear_plushie berry_bowl colorful_sneaker duck_toy grey_sloth_plushie monster_toy poop_emoji "
    "rc_car red_cartoon".split()
)
FORBIDDEN_DIRS = ("grabcut", "posters_with_text", "bench/dev")


# --- sources -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """One photo with its ground-truth product mask, at working size."""

    name: str
    rgb: np.ndarray
    mask: np.ndarray  # bool
    path: str


def _working(rgb: np.ndarray, mask: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    if mask.shape != rgb.shape[:2]:
        mask = cv2.resize(mask, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_NEAREST)
    f = side / max(rgb.shape[:2])
    if f < 1:
        size = (max(1, round(rgb.shape[1] * f)), max(1, round(rgb.shape[0] * f)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        mask = cv2.resize(mask, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb), mask > 127


def source_pairs(folder: Path) -> list[tuple[Path, Path]]:
    """(photo, mask) files of a folder: ``images/`` + ``masks/<stem>.*`` or GrabCut-style ``imgs/`` +
    ``seg_GT/<stem>.*``. A photo without a mask is skipped: only ground truth may label."""
    folder = Path(folder)
    for img_dir, mask_dir in (("images", "masks"), ("imgs", "seg_GT")):
        if (folder / img_dir).is_dir() and (folder / mask_dir).is_dir():
            break
    else:
        raise ValueError(f"{folder}: expected images/ + masks/ or imgs/ + seg_GT/")
    exts = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
    out = []
    for p in sorted((folder / img_dir).iterdir()):
        if p.suffix.lower() not in exts:
            continue
        m = next(
            (q for q in sorted((folder / mask_dir).glob(p.stem + ".*")) if q.suffix.lower() in exts), None
        )
        if m is None:
            log.warning("no mask for %s: skipped", p.name)
            continue
        out.append((p, m))
    return out


def forbidden(path: Path) -> str | None:
    """Why ``path`` may not be a training source (it measures the project), or None."""
    s = str(Path(path).resolve()).replace("\\", "/")
    if Path(path).stem.lower() in FORBIDDEN_STEMS or any(
        Path(path).stem.lower().startswith(n + "_") for n in FORBIDDEN_STEMS
    ):
        return f"{Path(path).name}: a DreamBooth/dev-set subject"
    for d in FORBIDDEN_DIRS:
        if f"/{d}/" in s:
            return f"{path}: under {d}/, held out for measuring"
    return None


def load_source(photo: Path, mask: Path, side: int = 640) -> Source:
    im = load_image(photo)
    m = load_image(mask).rgb.max(axis=2)
    rgb, gt = _working(im.rgb, m, side)
    return Source(photo.stem, rgb, gt, str(photo))


# --- segmenters ----------------------------------------------------------------------------------
def to_alpha(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Any segmenter output (bool, 0-1 float, 0-255) as a uint8 alpha of ``shape``."""
    a = np.asarray(a)
    if a.dtype == bool:
        a8 = a.astype(np.uint8) * 255
    elif a.dtype == np.uint8:
        a8 = a
    else:
        a8 = (np.clip(a.astype(np.float32), 0, 1) * 255 + 0.5).astype(np.uint8)
    if a8.shape != tuple(shape[:2]):
        a8 = cv2.resize(a8, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    return a8


def u2netp_pass(rgb: np.ndarray, saliency_fn: Segmenter = saliency) -> np.ndarray:
    """rembg's plain path: one square u2netp pass, its saliency used as the alpha as it is (so
    the mask is saliency > 0.5 and everything the network half-believes shows half)."""
    return to_alpha(saliency_fn(rgb), rgb.shape)


def gt_box(gt: np.ndarray, margin: float) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the GT mask's bounding box grown by ``margin`` of its size, kept 1 px inside
    the frame (GrabCut needs some background outside the box)."""
    ys, xs = np.nonzero(gt)
    h, w = gt.shape
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    mx, my = max(4, round(margin * (x1 - x0))), max(4, round(margin * (y1 - y0)))
    x0, y0 = max(1, x0 - mx), max(1, y0 - my)
    x1, y1 = min(w - 1, x1 + mx), min(h - 1, y1 + my)
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


def grabcut_box(
    rgb: np.ndarray, gt: np.ndarray, margin: float = 0.06, iters: int = 4, side: int = 400
) -> np.ndarray | None:
    """OpenCV GrabCut from the product's box, as a person drawing a rectangle would start it. Runs
    at ``side`` px at most (its cost grows with pixels and with iterations); None when the box
    leaves GrabCut no background to learn from."""
    f = min(1.0, side / max(rgb.shape[:2]))
    small = cv2.resize(rgb, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else rgb
    g = cv2.resize(gt.astype(np.uint8), (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
    if not g.any():
        return None
    rect = gt_box(g, margin)
    mask = np.zeros(small.shape[:2], np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(
            np.ascontiguousarray(small[..., ::-1]), mask, rect, bgd, fgd, iters, cv2.GC_INIT_WITH_RECT
        )
    except cv2.error as e:
        log.info("grabcut failed: %s", e)
        return None
    fg = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
    up = cv2.resize(fg, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
    return to_alpha(cv2.GaussianBlur((up > 0.5).astype(np.float32), (0, 0), 0.8), rgb.shape)


def colour_key(rgb: np.ndarray, tol: float = 25.0, soft: float = 8.0) -> np.ndarray:
    """A "remove background colour" tool: pixels farther than ``tol`` (CIELAB delta E) from the
    border's median colour, largest connected piece only, with a ``soft`` ramp at the edge."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 100 / 255
    lab[..., 1:] -= 128
    b = max(2, round(0.01 * max(rgb.shape[:2])))
    border = np.concatenate(
        [
            lab[:b].reshape(-1, 3),
            lab[-b:].reshape(-1, 3),
            lab[:, :b].reshape(-1, 3),
            lab[:, -b:].reshape(-1, 3),
        ]
    )
    dist = np.linalg.norm(lab - np.median(border, axis=0), axis=2)
    fg = cv2.morphologyEx((dist > tol).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, lab_cc, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if n <= 1:
        return np.zeros(rgb.shape[:2], np.uint8)
    keep = (lab_cc == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)
    ramp = np.clip((dist - (tol - soft / 2)) / soft, 0, 1)
    return to_alpha(ramp * cv2.dilate(keep, np.ones((3, 3), np.uint8)), rgb.shape)


def gt_cutout(gt: np.ndarray, grow: int = 0, feather: float = 1.0) -> np.ndarray:
    """The clean reference: the GT mask grown (or shrunk, ``grow`` < 0) by a pixel or two and
    feathered, as a careful person with a good brush would cut it."""
    m = gt.astype(np.uint8)
    k = np.ones((3, 3), np.uint8)
    if grow > 0:
        m = cv2.dilate(m, k, iterations=grow)
    elif grow < 0:
        m = cv2.erode(m, k, iterations=-grow)
    a = m.astype(np.float32)
    if feather > 0:
        a = cv2.GaussianBlur(a, (0, 0), feather)
    return to_alpha(a, gt.shape)


# --- measuring and labelling a cut-out -----------------------------------------------------------
@dataclass(frozen=True)
class CutoutMeasure:
    """What a cut-out kept and lost against the GT mask (shares of the product area unless *_frame)."""

    kept: float
    kept_piece: float
    kept_piece_frame: float
    kept_faint: float
    kept_faint_frame: float
    lost: float
    lost_piece: float
    lost_soft: float
    ghost: float
    washed: float
    fringe_px: float
    iou: float
    edge_px: int

    def as_dict(self) -> dict[str, float]:
        return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def edge_px(shape: tuple[int, ...]) -> int:
    return max(EDGE_MIN, round(EDGE_FRAC * max(shape[:2])))


def _near(m: np.ndarray, r: int) -> np.ndarray:
    """``m`` grown by ``r`` px (a disc): what lies within the edge allowance of it."""
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(m.astype(np.uint8), k) > 0


def _pieces(m: np.ndarray) -> tuple[int, int]:
    """(total pixels, largest 8-connected piece) of a boolean mask."""
    total = int(np.count_nonzero(m))
    if total == 0:
        return 0, 0
    n, _, stats, _ = cv2.connectedComponentsWithStats(m.astype(np.uint8), connectivity=8)
    return total, int(stats[1:, cv2.CC_STAT_AREA].max()) if n > 1 else 0


def measure_cutout(gt: np.ndarray, alpha: np.ndarray) -> CutoutMeasure:
    """Kept non-product and lost product of ``alpha`` against ``gt``, with the edge allowance."""
    gt = gt.astype(bool)
    area = max(1, int(gt.sum()))
    frame = gt.size
    r = edge_px(gt.shape)
    near_gt = _near(gt, r)
    kept, kept_piece = _pieces((alpha >= SHOW_FAIL) & ~near_gt)
    faint, _ = _pieces((alpha >= SHOW_PASS) & ~_near(gt, r + EDGE_SOFT))
    lost, lost_piece = _pieces(gt & ~_near(alpha >= SOLID_FAIL, r))
    soft, _ = _pieces(gt & ~_near(alpha >= SOLID_PASS, r + EDGE_SOFT))
    haze = alpha.astype(np.float32) / 255.0
    ghost = float(haze[~near_gt & (alpha >= GHOST_ALPHA)].sum())
    core = (
        cv2.erode(gt.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
        > 0
    )
    washed = float((1.0 - haze[core]).sum())
    ring = near_gt & ~gt
    perimeter = max(
        1, int(np.count_nonzero(gt & ~(cv2.erode(gt.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)))
    )
    fringe = float(alpha[ring].astype(np.float32).sum() / 255.0 / perimeter)
    shown = alpha >= 128
    iou = float((shown & gt).sum() / max(1, (shown | gt).sum()))
    return CutoutMeasure(
        kept=kept / area,
        kept_piece=kept_piece / area,
        kept_piece_frame=kept_piece / frame,
        kept_faint=faint / area,
        kept_faint_frame=faint / frame,
        lost=lost / area,
        lost_piece=lost_piece / area,
        lost_soft=soft / area,
        ghost=ghost / area,
        washed=washed / area,
        fringe_px=fringe,
        iou=iou,
        edge_px=r,
    )


def residue_of(m: CutoutMeasure) -> bool | None:
    if (
        m.kept_piece >= RESIDUE_FAIL_PIECE
        or m.kept_piece_frame >= RESIDUE_FAIL_PIECE_FRAME
        or m.kept >= RESIDUE_FAIL_TOTAL
        or m.ghost >= RESIDUE_FAIL_GHOST
    ):
        return False
    if m.kept_faint < RESIDUE_PASS_TOTAL and m.kept_faint_frame < RESIDUE_PASS_FRAME:
        return True
    return None


def segmentation_of(m: CutoutMeasure) -> bool | None:
    if m.lost_piece >= SEG_FAIL_PIECE or m.lost >= SEG_FAIL_TOTAL or m.washed >= SEG_FAIL_WASHED:
        return False
    if m.lost_soft < SEG_PASS_TOTAL:
        return True
    return None


def label_cutout(m: CutoutMeasure, kind: str) -> dict[str, bool | None] | None:
    """Labels of a cut-out by the rule above, or None for a pair in the dead zone (left out)."""
    res, seg = residue_of(m), segmentation_of(m)
    if (res is None or seg is None) and False not in (res, seg):
        return None
    return _cutout_labels(m, kind, res, seg)


def dead_zone_cutout(m: CutoutMeasure, kind: str) -> tuple[dict[str, bool | None], str] | None:
    """For a cut-out in the dead zone: its labels with the uncertain criteria null, and the first
    uncertain one (a dead-zone pair's ``dead_zone`` field); None when the pair is not in it."""
    res, seg = residue_of(m), segmentation_of(m)
    if not ((res is None or seg is None) and False not in (res, seg)):
        return None
    return _cutout_labels(m, kind, res, seg), "residue" if res is None else "segmentation"


def _cutout_labels(m: CutoutMeasure, kind: str, res: bool | None, seg: bool | None) -> dict[str, bool | None]:
    gone = m.lost >= GONE
    lab: dict[str, bool | None] = {c: None if gone else True for c in CRITERIA}
    lab["residue"], lab["segmentation"] = res, seg
    lab["quality"] = None if gone or m.fringe_px >= FRINGE_PX or m.washed >= QUALITY_WASHED else True
    lab["background"] = True if kind == "inpainted" else None
    return lab


def acceptable(labels: dict[str, bool | None]) -> bool:
    return all(v is not False for v in labels.values())


# --- composing edits -----------------------------------------------------------------------------
def cover(bg: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``bg`` scaled to cover a frame of ``shape`` and centre-cropped, as a background swap does."""
    h, w = shape[:2]
    f = max(h / bg.shape[0], w / bg.shape[1])
    size = (max(w, round(bg.shape[1] * f)), max(h, round(bg.shape[0] * f)))
    big = cv2.resize(bg, size, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
    y0, x0 = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    return np.ascontiguousarray(big[y0 : y0 + h, x0 : x0 + w])


def over(fg: np.ndarray, alpha: np.ndarray, back: np.ndarray) -> np.ndarray:
    a = alpha.astype(np.float32)[..., None] / 255.0
    return (fg.astype(np.float32) * a + back.astype(np.float32) * (1 - a) + 0.5).astype(np.uint8)


def compose_isolated(
    rgb: np.ndarray, alpha: np.ndarray, backdrop: Backdrop, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """(rgb, alpha or None) of an ``isolated`` edit: on white, on an off-white studio tone, or an
    RGBA file whose transparent pixels are black (as rembg writes them)."""
    if backdrop == "transparent":
        return np.where(alpha[..., None] > 0, rgb, 0).astype(np.uint8), alpha
    tone = (255, 255, 255)
    if backdrop == "offwhite":
        g = np.random.default_rng(0) if rng is None else rng
        base = int(g.integers(242, 251))
        tone = (base + int(g.integers(0, 4)), base + int(g.integers(0, 4)), base)
    back = np.broadcast_to(np.asarray(tone, np.uint8), rgb.shape)
    return over(rgb, alpha, back), None


def compose_inpainted(rgb: np.ndarray, alpha: np.ndarray, background: np.ndarray) -> np.ndarray:
    """The product, where it stood, over a new background photo."""
    return over(rgb, alpha, cover(background, rgb.shape))


# --- overlays and real erasures ------------------------------------------------------------------
PROMO_LINES = (
    "SALE -30%",
    "FREE SHIPPING",
    "NEW IN",
    "BEST PRICE",
    "LIMITED OFFER",
    "2 FOR 1",
    "TOP SELLER",
    "-50% TODAY",
)
BADGES = ("NEW", "HOT", "-20%", "SALE", "BUY NOW")


@dataclass(frozen=True)
class Overlay:
    """One drawn line or badge: its box (x0, y0, x1, y1) and its text."""

    box: tuple[int, int, int, int]
    text: str
    badge: bool


def _free(box: tuple[int, int, int, int], blocked: np.ndarray) -> bool:
    x0, y0, x1, y1 = box
    h, w = blocked.shape
    return x0 >= 0 and y0 >= 0 and x1 <= w and y1 <= h and not blocked[y0:y1, x0:x1].any()


def draw_overlays(
    rgb: np.ndarray, product: np.ndarray, rng: np.random.Generator, n: int = 3
) -> tuple[np.ndarray, list[Overlay]]:
    """Promo lines and a badge drawn where the product is not (an erasure must never be asked to
    remove the product), at known boxes. Fewer than ``n`` when the frame has no room."""
    h, w = rgb.shape[:2]
    side = max(h, w)
    out = rgb.copy()
    blocked = _near(product, max(6, side // 60))
    overlays: list[Overlay] = []
    for i in range(n):
        badge = i == n - 1 and n > 1
        text = str(rng.choice(BADGES if badge else PROMO_LINES))
        font = cv2.FONT_HERSHEY_DUPLEX if rng.random() < 0.6 else cv2.FONT_HERSHEY_SIMPLEX
        scale = side / 640 * float(rng.uniform(0.7, 1.15))
        thick = max(1, round(2 * side / 640))
        (tw, th), base = cv2.getTextSize(text, font, scale, thick)
        pad = max(3, th // 3) if badge else max(2, th // 6)
        bw, bh = tw + 2 * pad, th + base + 2 * pad
        placed = None
        for _ in range(200):
            x0, y0 = int(rng.integers(0, max(1, w - bw))), int(rng.integers(0, max(1, h - bh)))
            box = (x0, y0, x0 + bw, y0 + bh)
            if _free((max(0, x0 - 6), max(0, y0 - 6), min(w, x0 + bw + 6), min(h, y0 + bh + 6)), blocked):
                placed = box
                break
        if placed is None:
            continue
        x0, y0, x1, y1 = placed
        org = (x0 + pad, y1 - pad - base)
        local = out[y0:y1, x0:x1].reshape(-1, 3).mean(0)
        light = float(local.mean()) < 128
        if badge:
            plate = tuple(int(v) for v in rng.integers(0, 256, 3))
            cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), plate, -1)
            ink = (20, 20, 20) if sum(plate) > 380 else (250, 250, 250)
            cv2.putText(out, text, org, font, scale, ink, thick, cv2.LINE_AA)
        else:
            ink = (250, 250, 250) if light else (25, 25, 30)
            if rng.random() < 0.5:  # a drop shadow, as promo lines often carry
                shade = (0, 0, 0) if light else (255, 255, 255)
                cv2.putText(
                    out, text, (org[0] + thick, org[1] + thick), font, scale, shade, thick, cv2.LINE_AA
                )
            cv2.putText(out, text, org, font, scale, ink, thick, cv2.LINE_AA)
        overlays.append(Overlay(placed, text, badge))
        blocked[max(0, y0 - 6) : y1 + 6, max(0, x0 - 6) : x1 + 6] = True
    return out, overlays


def overlay_pixels(clean: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """Pixels the drawing changed visibly (any channel by more than ``TEXT_TOL``)."""
    return np.abs(drawn.astype(np.int16) - clean.astype(np.int16)).max(axis=2) > TEXT_TOL


EraseVariant = Literal["complete", "missed_line", "tight", "half"]
ERASE_VARIANTS: tuple[EraseVariant, ...] = ("complete", "missed_line", "tight", "half")


def _grown(
    box: tuple[int, int, int, int], shape: tuple[int, ...], frac: float = 0.35, cap: int = 20
) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    pad = min(cap, max(4, round((y1 - y0) * frac)))
    return max(0, x0 - pad), max(0, y0 - pad), min(shape[1], x1 + pad), min(shape[0], y1 + pad)


def erase_mask(
    overlays: list[Overlay],
    clean: np.ndarray,
    drawn: np.ndarray,
    variant: EraseVariant,
    rng: np.random.Generator,
) -> tuple[np.ndarray, int | None]:
    """The hole an erasure fills, and the index of the line it gets wrong (None for ``complete``):

    - ``complete``: every box grown by a third of its height (at most 20 px): glyph edges and
      shadows are inside;
    - ``missed_line``: one box left out, as a detector that missed a line;
    - ``tight``: one line's hole is only its strong glyph cores, so edges and shadows stay;
    - ``half``: one line erased from its start to 40-70 % of its width.
    """
    m = np.zeros(clean.shape[:2], np.uint8)
    target = None if variant == "complete" else int(rng.integers(len(overlays)))
    core = np.abs(drawn.astype(np.int16) - clean.astype(np.int16)).max(axis=2) > 96
    for i, o in enumerate(overlays):
        x0, y0, x1, y1 = _grown(o.box, clean.shape)
        if i != target:
            m[y0:y1, x0:x1] = 255
        elif variant == "tight":
            bx0, by0, bx1, by1 = o.box
            m[by0:by1, bx0:bx1][core[by0:by1, bx0:bx1]] = 255
        elif variant == "half":
            cut = x0 + int((x1 - x0) * rng.uniform(0.4, 0.7))
            m[y0:y1, x0:cut] = 255
    return m, target


def patchmatch_available() -> bool:
    try:
        from patchmatch import patch_match

        return bool(patch_match.patchmatch_available)
    except Exception as e:  # noqa: BLE001 - a missing or broken native library means: skip the method
        log.info("PatchMatch unavailable: %s", e)
        return False


_PM_CACHE: dict[bytes, np.ndarray] = {}


def _patchmatch(rgb: np.ndarray, hole: np.ndarray, seed: int) -> np.ndarray:
    """PatchMatch on a crop around each group of nearby holes (the whole frame costs seconds, a
    crop a fraction; a tight hole's many glyph cores are one group, not one call each). Each group
    is seeded from its place, so the same group in two erasures of one poster (the lines a failing
    variant gets right) is filled once and reused."""
    import hashlib

    from patchmatch import patch_match

    out = rgb.copy()
    h8 = (hole > 0).astype(np.uint8)
    n, groups, stats, _ = cv2.connectedComponentsWithStats(
        cv2.dilate(h8, np.ones((15, 15), np.uint8)), connectivity=8
    )
    for k in range(1, n):
        x, y, w, h = stats[k, :4]
        m = min(max(w, h), 3 * h + 16)  # context enough for patches, not the whole frame
        x0, y0 = max(0, x - m), max(0, y - m)
        x1, y1 = min(rgb.shape[1], x + w + m), min(rgb.shape[0], y + h + m)
        sub = np.ascontiguousarray(out[y0:y1, x0:x1])
        sub_hole = (((groups[y0:y1, x0:x1] == k) & (h8[y0:y1, x0:x1] > 0)) * 255).astype(np.uint8)
        key = hashlib.sha1(sub.tobytes() + sub_hole.tobytes() + f"{seed},{x0},{y0}".encode()).digest()
        if key not in _PM_CACHE:
            if len(_PM_CACHE) > 64:
                _PM_CACHE.clear()
            patch_match.set_random_seed(seed * 1_000_003 + y0 * 4099 + x0)
            _PM_CACHE[key] = patch_match.inpaint(sub, sub_hole, patch_size=5)
        sel = sub_hole > 0
        sub[sel] = _PM_CACHE[key][sel]
        out[y0:y1, x0:x1] = sub
    return out


def erase(rgb: np.ndarray, hole: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
    """Fill ``hole`` with a real fill: ``telea`` / ``ns`` (OpenCV, through maskgate's own fill,
    which feathers the seam) or ``patchmatch`` (pypatchmatch)."""
    if method == "patchmatch":
        return _patchmatch(rgb, hole, seed)
    return inpaint(rgb, hole, method)


@dataclass(frozen=True)
class ErasureMeasure:
    left: tuple[float, ...]  # per drawn line: share of its overlay pixels still showing

    @property
    def worst(self) -> float:
        return max(self.left) if self.left else 0.0

    def as_dict(self) -> dict[str, object]:
        return {"left_per_line": [round(v, 4) for v in self.left], "left_worst": round(self.worst, 4)}


def _surround(img: np.ndarray, outside: np.ndarray) -> np.ndarray:
    """Per pixel, the mean of ``img`` over the nearest ``outside`` pixels: a 9-px window, widened
    to 25 and 65 px where the window holds too few (inside a badge's plate)."""
    w = outside.astype(np.float32)
    out = np.zeros(img.shape, np.float32)
    done = np.zeros(img.shape[:2], bool)
    for k in (9, 25, 65):
        n = cv2.boxFilter(w, -1, (k, k), normalize=False)
        s = cv2.boxFilter(img * w[..., None], -1, (k, k), normalize=False)
        ok = ~done & (n >= 8)
        out[ok] = s[ok] / n[ok][:, None]
        done |= ok
    out[~done] = img[~done]
    return out


def measure_erasure(
    clean: np.ndarray, drawn: np.ndarray, erased: np.ndarray, overlays: Iterable[Overlay]
) -> ErasureMeasure:
    """Per line, the share of its overlay pixels the erasure left (see the module's rule).

    A glyph is left when it still stands out from what surrounds it, the way it did when drawn:
    each overlay pixel's contrast against the mean of the nearest untouched-by-the-drawing pixels,
    in the erased image, projected on that contrast in the drawn image. A fill that is merely
    wrong (a smooth fill over grain, a neighbouring colour pulled in) has no glyph-shaped contrast;
    a glyph left whole, its edges, or a ghost of it, has."""
    c, d, e = (a.astype(np.float32) for a in (clean, drawn, erased))
    changed = np.abs(d - c).max(axis=2) > TEXT_TOL
    cd = d - _surround(d, ~changed)
    ce = e - _surround(e, ~changed)
    strength = (cd * cd).sum(axis=2)
    counted = changed & (np.abs(cd).max(axis=2) > TEXT_TOL)
    kept = (ce * cd).sum(axis=2) / np.maximum(strength, 1e-6)
    left = counted & (kept > 0.5)
    shares = []
    for o in overlays:
        x0, y0, x1, y1 = o.box
        px = int(counted[y0:y1, x0:x1].sum())
        shares.append(float(left[y0:y1, x0:x1].sum()) / px if px else 0.0)
    return ErasureMeasure(tuple(shares))


def residue_of_erasure(m: ErasureMeasure) -> bool | None:
    if m.worst >= TEXT_FAIL_LINE:
        return False
    if m.worst < TEXT_PASS_LINE:
        return True
    return None


def label_erasure(m: ErasureMeasure) -> dict[str, bool | None] | None:
    """``text_removed`` labels: residue by the rule, everything else null; None in the dead zone."""
    res = residue_of_erasure(m)
    if res is None:
        return None
    lab: dict[str, bool | None] = {c: None for c in CRITERIA}
    lab["residue"] = res
    return lab
