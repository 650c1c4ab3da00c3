"""Each criterion passes a clean edit and fails the defect it is about, on images built here.

The measurements are what these tests are about, so they are scored with the hand-fitted
calibration (``default_calibration.json``), whose weights were set for these defect families.
The gate the package ships learned its weights from corpora with their own visibility rules, and
on these built images it misses the warp and the smear at criterion level and sends the kept
"SALE" text to review instead of rejecting it (docs/benchmarks.md, fourth round)."""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from tests.check.conftest import add_overlays, compose, loaded, scene, studio

WHITE = np.full((384, 384, 3), 255, np.uint8)


@pytest.fixture(scope="module")
def checker():
    from maskgate.check.engine import Checker
    from maskgate.check.verdict import Calibration
    from maskgate.models.registry import MissingModelError

    try:
        return Checker(calibration=Calibration.load())
    except MissingModelError as e:
        pytest.skip(str(e))


def iso(rgb, mask, extra=None):
    out = compose(WHITE, rgb, mask)
    return out if extra is None else extra(out)


def run(checker, mug, edit, alpha=None, given_mask=True):
    mask = (mug["mask"] * 255).astype(np.uint8) if given_mask else None
    return checker.check(loaded(mug["original"]), loaded(edit, alpha), mask=mask)


def test_clean_cutout_passes_everything(checker, mug):
    res = run(checker, mug, iso(mug["rgb"], mug["mask"]))
    assert res.record.kind == "isolated"
    failing = [n for n, c in res.record.criteria.items() if c.passed is False]
    assert failing == []
    assert res.record.criteria["background"].passed is None  # no new background in a cut-out
    assert res.record.source_overlay is True  # the creative had promo text outside the product


def test_clean_new_background_passes(checker, mug):
    res = run(checker, mug, compose(scene(8), mug["rgb"], mug["mask"]))
    assert res.record.kind == "inpainted"
    assert [n for n, c in res.record.criteria.items() if c.passed is False] == []


def test_residue_text_left_outside_product(checker, mug):
    def leave_text(img):
        cv2.putText(img, "SALE -30%", (19, 46), cv2.FONT_HERSHEY_DUPLEX, 384 / 420, (40, 40, 40), 2)
        return img

    res = run(checker, mug, iso(mug["rgb"], mug["mask"], leave_text))
    assert res.record.criteria["residue"].passed is False
    assert res.record.verdict == "reject"
    assert "heatmap" in res.record.criteria["residue"].images


def test_residue_badge_carried_onto_new_background(checker, mug):
    edit = compose(add_overlays(scene(8)), mug["rgb"], mug["mask"])
    res = run(checker, mug, edit)
    assert res.record.criteria["residue"].passed is False


def test_old_background_carried_onto_a_new_one_is_measured(checker, mug):
    """residue_bg in a background replacement: the product pasted on a new background together
    with a slab of its old one (a cut-out mask that kept part of the table)."""
    mask = mug["mask"]
    ys, xs = np.nonzero(mask)
    yy, xx = np.mgrid[: mask.shape[0], : mask.shape[1]]
    r = 0.3 * (ys.max() - ys.min())
    slab = (np.hypot(yy - ys.max(), xx - (xs.min() + xs.max()) / 2) < r) & ~mask  # under the mug
    assert 0.1 < slab.sum() / mask.sum() < 0.6
    clean = compose(scene(8), mug["rgb"], mask)
    carried = compose(scene(8), mug["original"], mask | slab)
    measured = [
        run(checker, mug, e).record.criteria["residue"].evidence["bg_carried"] for e in (clean, carried)
    ]
    assert measured[0] < 0.01
    assert measured[1] > 0.5 * slab.sum() / mask.sum()  # most of the slab (a rim is forgiven)
    # a cut-out is measured by its collar instead
    assert (
        run(checker, mug, iso(mug["original"], mask | slab)).record.criteria["residue"].evidence["bg_carried"]
        == 0.0
    )


def test_carried_background_counts_only_where_it_shows(checker, mug):
    """A slab of a plain grey backdrop carried onto a plain new one a shade lighter cannot be seen
    (the family's visibility rule); the same slab on a busy new background can."""
    mask = mug["mask"]
    ys, xs = np.nonzero(mask)
    yy, xx = np.mgrid[: mask.shape[0], : mask.shape[1]]
    slab = (np.hypot(yy - ys.max(), xx - (xs.min() + xs.max()) / 2) < 0.3 * (ys.max() - ys.min())) & ~mask
    plain = {**mug, "original": compose(np.full_like(WHITE, 200), mug["rgb"], mask)}
    kept = mask | slab
    seen = [
        run(checker, plain, compose(bg, plain["original"], kept))
        .record.criteria["residue"]
        .evidence["bg_carried"]
        for bg in (np.full_like(WHITE, 215), scene(8))
    ]
    assert seen[0] < 0.01
    assert seen[1] > 0.5 * slab.sum() / mask.sum()


def test_segmentation_part_cut_off(checker, mug):
    mask = mug["mask"].copy()
    ys, xs = np.nonzero(mask)
    mask[:, (xs.min() + xs.max()) // 2 :] = False  # right half (handle included) is gone
    res = run(checker, mug, iso(mug["rgb"], mask))
    assert res.record.criteria["segmentation"].passed is False
    assert "missing" in res.record.criteria["segmentation"].images


def test_quality_blurred_product(checker, mug):
    blurred = cv2.GaussianBlur(mug["rgb"], (0, 0), 4)
    res = run(checker, mug, iso(blurred, mug["mask"]))
    assert res.record.criteria["quality"].passed is False
    assert (
        res.record.criteria["consistency"].passed is not False or res.record.criteria["quality"].score < 0.5
    )


def test_quality_tint_from_old_background(checker, mug):
    old_bg = np.asarray(mug["original"][~mug["mask"]].mean(0))
    tinted = (mug["rgb"] * 0.55 + old_bg * 0.45).astype(np.uint8)
    res = run(checker, mug, iso(tinted, mug["mask"]))
    assert res.record.criteria["quality"].passed is False


def test_comprehensibility_tiny_product(checker, mug):
    small = cv2.resize(iso(mug["rgb"], mug["mask"]), (40, 40), interpolation=cv2.INTER_AREA)
    edit = WHITE.copy()
    edit[8:48, 330:370] = small
    res = run(checker, mug, edit)
    assert res.record.criteria["comprehensibility"].passed is False
    assert res.record.verdict == "reject"


def test_long_side_is_the_tiny_rule_whatever_the_shape():
    """A thin product across the frame and a square one of the same long side read the same size,
    where their area shares differ twentyfold; the measured box gives the rule's quantity, and
    results recorded before it was measured give the same from their box measurements."""
    from maskgate.check.criteria import comprehensibility as comp

    h, w = 300, 400
    thin = np.zeros((h, w), bool)
    thin[100:112, 20:260] = True  # 240 x 12
    square = np.zeros((h, w), bool)
    square[30:270, 60:300] = True  # 240 x 240
    tiny = np.zeros((h, w), bool)
    tiny[10:40, 10:40] = True  # long side 10 % of the short side: fails the rule

    def measured(m):
        return comp.measure(SimpleNamespace(shape=(h, w), product_e=m, text_e=[]))

    a, b, c = measured(thin), measured(square), measured(tiny)
    assert a["long_side"] == pytest.approx(240 / 300) == pytest.approx(b["long_side"])
    assert a["area_share"] < b["area_share"] / 15
    assert c["long_side"] == pytest.approx(30 / 300)
    older = {k: v for k, v in c.items() if k != "long_side"}
    assert comp.long_side(older) == pytest.approx(c["long_side"])


def test_consistency_colour_changed(checker, mug):
    hsv = cv2.cvtColor(mug["rgb"], cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0].astype(int) + 60) % 180  # red mug turns green/blue
    res = run(checker, mug, iso(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB), mug["mask"]))
    assert res.record.criteria["consistency"].passed is False
    assert res.record.criteria["consistency"].evidence["hue_rot"] > 0.3
    # the colours turned, they were not washed toward the old background: not a quality failure
    assert res.record.criteria["quality"].passed is True


@pytest.fixture(scope="module")
def printed(mug):
    """The mug with a printed pattern: structure for the shape-change tests to follow."""
    rgb = mug["rgb"].copy()  # a printed pattern that reads differently in a mirror
    for k in range(-400, 400, 22):
        cv2.line(rgb, (k, 0), (k + 384, 384), (250, 240, 60), 4)
    cv2.putText(rgb, "Roast 7", (150, 150), cv2.FONT_HERSHEY_DUPLEX, 0.8, (20, 20, 20), 2)
    rgb[~mug["mask"]] = 0
    return {"rgb": rgb, "mask": mug["mask"], "original": add_overlays(compose(scene(0), rgb, mug["mask"]))}


def test_consistency_mirrored(checker, printed):
    rgb, mask = printed["rgb"], printed["mask"]
    assert run(checker, printed, iso(rgb, mask)).record.criteria["consistency"].passed is True
    res = run(checker, printed, iso(rgb[:, ::-1].copy(), mask[:, ::-1].copy()))
    assert res.record.criteria["consistency"].passed is False


def test_consistency_warped(checker, printed):
    """A smooth deformation (the product bulges sideways) keeps colours and outline roughly but
    moves every printed line."""
    h, w = printed["mask"].shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    dx = (7 * np.sin(gy / h * np.pi * 2)).astype(np.float32)
    rgb = cv2.remap(printed["rgb"], gx + dx, gy, cv2.INTER_LINEAR)
    mask = cv2.remap(printed["mask"].astype(np.uint8), gx + dx, gy, cv2.INTER_NEAREST).astype(bool)
    res = run(checker, printed, iso(rgb, mask))
    assert res.record.criteria["consistency"].passed is False
    assert res.record.criteria["consistency"].evidence["warp_gain"] > 0.05


def test_consistency_replaced_patch(checker, printed):
    """Part of the print replaced by a copy of another part: a local change, colours kept."""
    rgb = printed["rgb"].copy()
    ys, xs = np.nonzero(printed["mask"])
    cy, cx = int(ys.mean()), int(xs.mean())
    rgb[cy - 30 : cy + 30, cx - 40 : cx + 20] = rgb[cy - 95 : cy - 35, cx - 40 : cx + 20][::-1]
    res = run(checker, printed, iso(rgb, printed["mask"]))
    assert res.record.criteria["consistency"].passed is False
    assert res.record.criteria["consistency"].evidence["patch_inner"] > 0.01


@pytest.mark.parametrize("defect", ["noise", "smear"])
def test_background_broken(checker, mug, defect):
    bg = scene(8)
    if defect == "noise":
        rng = np.random.default_rng(1)
        bg = cv2.resize(
            rng.integers(0, 256, (48, 48, 3), dtype=np.uint8), (384, 384), interpolation=cv2.INTER_NEAREST
        )
    else:
        bg = cv2.blur(cv2.GaussianBlur(bg, (0, 0), 9), (41, 3))
    res = run(checker, mug, compose(bg, mug["rgb"], mug["mask"]))
    assert res.record.criteria["background"].passed is False


def test_transparent_cutout_is_isolated(checker, mug):
    alpha = (mug["mask"] * 255).astype(np.uint8)
    res = run(checker, mug, mug["rgb"].copy(), alpha=alpha)
    assert res.record.kind == "isolated"
    assert res.record.criteria["residue"].passed is True


def test_product_found_without_a_given_mask(checker, mug):
    """The u2netp path: the product mask of the original is found by the network."""
    mug = {**mug, "original": add_overlays(compose(studio(), mug["rgb"], mug["mask"]))}
    res = run(checker, mug, iso(mug["rgb"], mug["mask"]), given_mask=False)
    pm = res.images["segmentation"]["product_mask"] > 127
    iou = (pm & mug["mask"]).sum() / (pm | mug["mask"]).sum()
    assert iou > 0.6
