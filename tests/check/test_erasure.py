"""`text_removed`: an erasure that leaves overlay text fails residue, a clean one passes, and text
printed on the product is the product whatever the erasure did around it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.check.conftest import add_overlays, compose, loaded, scene, studio


@pytest.fixture(scope="module", params=["given mask", "u2netp"])
def poster(request, mug):
    """A creative: the mug with its own print (a "CAFE" label), promo text and a badge around it."""
    clean = compose(studio() if request.param == "u2netp" else scene(0), mug["rgb"], mug["mask"])
    original = add_overlays(clean)
    overlay = (
        cv2.dilate(
            (np.abs(original.astype(int) - clean).max(2) > 0).astype(np.uint8), np.ones((5, 5), np.uint8)
        )
        > 0
    )
    mask = (mug["mask"] * 255).astype(np.uint8) if request.param == "given mask" else None
    return {"original": original, "clean": clean, "overlay": overlay, "mask": mask}


def check(checker, poster, edit):
    return checker.check(loaded(poster["original"]), loaded(edit), kind="text_removed", mask=poster["mask"])


def test_clean_erasure_passes_and_keeps_the_products_print(checker, poster):
    res = check(checker, poster, poster["clean"])
    assert res.record.kind == "text_removed"
    assert res.record.criteria["residue"].passed is True
    assert res.record.criteria["residue"].evidence["overlay_left"] == 0.0  # "CAFE" is the mug's, not residue
    assert res.record.criteria["residue"].evidence["overlay_strokes"] < 0.1  # no glyph kept
    assert res.record.source_overlay is True


def _top_text(poster) -> np.ndarray:
    """The promo line's area (the badge sits in the bottom quarter)."""
    sel = poster["overlay"].copy()
    sel[int(0.5 * sel.shape[0]) :] = False
    return sel


def test_text_left_untouched_fails(checker, poster):
    edit = poster["clean"].copy()
    keep = _top_text(poster)
    edit[keep] = poster["original"][keep]  # the badge erased, the promo line left as it was
    res = check(checker, poster, edit)
    assert res.record.criteria["residue"].passed is False
    assert res.record.criteria["residue"].evidence["overlay_left"] == 1.0
    # the heatmap marks the line that was left, and not the badge that went
    heat = np.abs(res.images["residue"]["heatmap"].astype(int) - edit).max(2) > 30
    badge = poster["overlay"] & ~keep
    assert heat[keep].mean() > 0.5 > 0.05 > heat[badge].mean()
    # so does the erasure measure itself (the heatmap also marks any text outside the product)
    ctx = checker.context(loaded(poster["original"]), loaded(edit), kind="text_removed", mask=poster["mask"])
    left, where, kept = ctx.erasure_left
    assert left == 1.0 and where[keep].mean() > 0.5 and where[badge].mean() < 0.05
    assert kept > 0.9  # the line left as it was keeps its strokes


def test_text_half_erased_fails(checker, poster):
    edit = poster["clean"].copy()
    keep = _top_text(poster)
    xs = np.nonzero(keep.any(0))[0]
    keep[:, : (xs.min() + xs.max()) // 2] = False  # only the line's first half erased
    edit[keep] = poster["original"][keep]
    res = check(checker, poster, edit)
    assert res.record.criteria["residue"].passed is False
    # the half left keeps its strokes as they were (a line the detector split at a word gap:
    # all of that piece), whether or not the edit's OCR reads it
    assert res.record.criteria["residue"].evidence["overlay_strokes"] > 0.3


def test_ghost_of_erased_text_fails(checker, poster):
    sel = poster["overlay"]
    edit = poster["clean"].copy()
    edit[sel] = (0.55 * poster["clean"][sel] + 0.45 * poster["original"][sel]).astype(np.uint8)
    res = check(checker, poster, edit)
    assert res.record.criteria["residue"].passed is False


def test_line_left_of_an_erased_block_across_the_product_fails(checker, mug):
    """Promo lines can run across the product (a banner over it). A line lying on the product
    reads as its print, unless the edit erased the line right below it, as tall: then the block
    is overlay and the line left behind is residue."""
    clean = compose(scene(0), mug["rgb"], mug["mask"])
    original = add_overlays(clean)
    cv2.putText(original, "HOT DEAL", (150, 250), cv2.FONT_HERSHEY_DUPLEX, 0.55, (255, 255, 255), 1)
    cv2.putText(original, "ONLY 9", (150, 270), cv2.FONT_HERSHEY_DUPLEX, 0.55, (255, 255, 255), 1)
    upper = np.zeros(mug["mask"].shape, bool)
    upper[234:256, 145:245] = True
    mask = (mug["mask"] * 255).astype(np.uint8)
    edit = clean.copy()
    edit[upper] = original[upper]
    left = checker.check(loaded(original), loaded(edit), kind="text_removed", mask=mask)
    assert left.record.criteria["residue"].passed is False
    gone = checker.check(loaded(original), loaded(clean), kind="text_removed", mask=mask)
    assert gone.record.criteria["residue"].passed is True


def test_a_retoned_erasure_is_judged_on_its_text_not_on_its_colours(checker, poster):
    """An edit exported brighter moves every pixel: the product's print it kept is still print,
    and a promo line it kept is still residue."""

    def brighter(img: np.ndarray) -> np.ndarray:
        return np.clip(img.astype(np.int16) + 30, 0, 255).astype(np.uint8)

    res = check(checker, poster, brighter(poster["clean"]))
    assert res.record.criteria["residue"].passed is True
    assert res.record.criteria["residue"].evidence["overlay_left"] == 0.0
    edit = poster["clean"].copy()
    keep = _top_text(poster)
    edit[keep] = poster["original"][keep]
    assert check(checker, poster, brighter(edit)).record.criteria["residue"].passed is False


def test_an_erasure_delivered_smaller_than_the_original(checker, mug):
    """A generator that returns a smaller image: scaled back up, the edit is softer everywhere, and
    the product's print must not read as 'touched' (then read again, as residue) for that alone."""

    def big(img: np.ndarray, nearest: bool = False) -> np.ndarray:
        return cv2.resize(img, (768, 768), interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_CUBIC)

    clean = big(compose(scene(0), mug["rgb"], mug["mask"]))
    original = big(add_overlays(compose(scene(0), mug["rgb"], mug["mask"])))
    mask = big((mug["mask"] * 255).astype(np.uint8), nearest=True)

    def delivered(img: np.ndarray) -> np.ndarray:
        return cv2.resize(img, None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA)

    res = checker.check(loaded(original), loaded(delivered(clean)), kind="text_removed", mask=mask)
    assert res.record.criteria["residue"].evidence["overlay_left"] == 0.0
    assert res.record.criteria["residue"].passed is True
    partial = clean.copy()
    partial[:200] = original[:200]  # the promo line at the top left as it was
    res = checker.check(loaded(original), loaded(delivered(partial)), kind="text_removed", mask=mask)
    assert res.record.criteria["residue"].passed is False


def test_a_badges_short_caption_is_a_line_of_an_erasures_original():
    """A badge's caption ("HOT" on its plate: 66x46 px in a 512x288 frame, as a detector boxes it)
    is as squat as the objects the check's blob rule drops from the edit's text. In an erasure's
    original it is overlay the edit must remove, so it stays a line; a square blob does not."""
    from maskgate.core.types import TextRegion
    from maskgate.vision.text import CHECK_FILTER, ERASED_FILTER, plausible_text

    def box(x, y, w, h):
        return TextRegion(np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32), 0.9)

    caption, square, headline = box(13, 132, 66, 46), box(300, 100, 50, 50), box(80, 20, 170, 35)
    shape = (288, 512)
    assert plausible_text([caption, square, headline], shape, CHECK_FILTER) == [headline]
    assert plausible_text([caption, square, headline], shape, ERASED_FILTER) == [caption, headline]
