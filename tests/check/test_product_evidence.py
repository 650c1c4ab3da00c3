"""The check's evidence about what the product is comes from the original, not from the edit.

Saliency networks mark bold overlay text as salient; when a headline or badge touches the
product it joins the product's blob, and an edit that rightly drops it would read as a product
with a part cut off. Print on the product itself must stay. A neighbouring object merged into the
reference must not read as a cut either, while a real cut must; overlay text an edit keeps over
the product is residue.
"""

from __future__ import annotations

import numpy as np

from maskgate.check.context import build_context, clean_product_mask
from maskgate.check.criteria import residue, segmentation
from maskgate.core.types import TextRegion


def _box(x0: int, y0: int, x1: int, y1: int) -> TextRegion:
    return TextRegion(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32), 0.9)


def _scene() -> tuple[np.ndarray, np.ndarray]:
    """A product (ellipse) with a headline bar fused to its top-left, as saliency sees them."""
    h, w = 240, 320
    yy, xx = np.mgrid[:h, :w]
    product = ((yy - 140) / 80.0) ** 2 + ((xx - 170) / 70.0) ** 2 <= 1
    sal = product.astype(np.float32)
    headline = (slice(40, 70), slice(40, 160))  # overlaps the ellipse's top-left rim
    sal[headline] = 1.0
    return sal, product


def test_an_overlay_fused_to_the_product_is_not_product():
    sal, product = _scene()
    mask = clean_product_mask(sal, [_box(40, 40, 160, 70)])
    headline_off_product = np.zeros_like(product)
    headline_off_product[40:70, 40:160] = True
    headline_off_product &= ~product
    assert headline_off_product.sum() > 1000
    assert mask[headline_off_product].mean() < 0.05
    # the product itself is all there (the carve only takes the overlay's own box, grown a little)
    assert mask[product].mean() > 0.97
    # without the text box, the same saliency keeps the headline (what the carve is for)
    assert clean_product_mask(sal, [])[headline_off_product].mean() > 0.95
    # an erasure's saliency was found with the text hidden: nothing there is carved
    kept = clean_product_mask(sal, [_box(40, 40, 160, 70)], carve=False)
    assert kept[headline_off_product].mean() > 0.95


def test_print_inside_the_product_stays():
    sal, product = _scene()
    label = _box(150, 130, 200, 150)  # a label printed in the middle of the product
    mask = clean_product_mask(sal, [_box(40, 40, 160, 70), label])
    assert mask[130:150, 150:200].all()
    assert mask[product].mean() > 0.97


def _textured(h: int, w: int, base: tuple[int, int, int], seed: int) -> np.ndarray:
    """A material: one colour with fine grain (what fur, fabric or print look like at 512 px)."""
    rng = np.random.default_rng(seed)
    grain = rng.normal(0, 12, (h, w, 1))
    return np.clip(np.array(base, np.float32) + grain, 0, 255).astype(np.uint8)


def _photo():
    """A red product standing against a blue neighbour (a dog on a couch) on a grey floor, and the
    reference a saliency pass would give: both objects as one."""
    h, w = 320, 320
    img = _textured(h, w, (150, 150, 150), 1)
    product = np.zeros((h, w), bool)
    product[80:260, 60:180] = True
    neighbour = np.zeros((h, w), bool)
    neighbour[120:260, 180:280] = True
    img[product] = _textured(h, w, (190, 40, 40), 2)[product]
    img[neighbour] = _textured(h, w, (40, 60, 170), 3)[neighbour]
    return img, product, neighbour


def _cutout(img: np.ndarray, keep: np.ndarray):
    edit = np.full_like(img, 255)
    edit[keep] = img[keep]
    return edit, keep.astype(np.uint8) * 255


def _seg(img, edit, alpha, reference):
    ctx = build_context(img, edit, alpha, reference.astype(np.float32), [], [], "isolated", reference)
    return segmentation.measure(ctx)


def test_a_neighbour_merged_into_the_reference_is_not_a_cut():
    img, product, neighbour = _photo()
    reference = product | neighbour
    right = _seg(img, *_cutout(img, product), reference)
    # the neighbour is missing from the edit, seen as an open hole in the reference ...
    assert right["missing_open"] > 0.3
    # ... but the line where it left runs along an edge of the original: no cut
    assert right["missing_cut"] < 0.2 * right["missing_open"]


def test_a_cut_through_the_product_is_a_cut():
    img, product, _ = _photo()
    sliced = product.copy()
    sliced[80:150, :] = False  # the top of the product cut away by a straight line
    cut = _seg(img, *_cutout(img, sliced), product)
    assert cut["missing_open"] > 0.3
    assert cut["missing_cut"] > 0.7 * cut["missing_open"]


def _res(img, edit, alpha, reference, text_o, text_e):
    ctx = build_context(img, edit, alpha, reference.astype(np.float32), text_o, text_e, "isolated", reference)
    return residue.measure(ctx)


def test_overlay_text_kept_over_the_product_is_residue():
    img, product, _ = _photo()
    headline = _box(30, 100, 230, 130)  # a headline across the product and the floor beside it
    edit, alpha = _cutout(img, product)
    over_product = _box(60, 100, 180, 130)  # the part of it the cut-out kept
    kept = _res(img, edit, alpha, product, [headline], [over_product])
    assert kept["overlay_text_kept"] > 0.01
    # the same line inside the product is not counted as text outside it: only the new measure sees it
    assert kept["text_count"] == 0
    gone = _res(img, edit, alpha, product, [headline], [])
    assert gone["overlay_text_kept"] == 0.0


def test_print_on_the_product_is_not_overlay_text():
    img, product, _ = _photo()
    label = _box(90, 160, 150, 180)  # printed in the middle of the product
    edit, alpha = _cutout(img, product)
    assert _res(img, edit, alpha, product, [label], [label])["overlay_text_kept"] == 0.0


def _pasted(img: np.ndarray, product: np.ndarray, fringe: int, seed: int = 9) -> np.ndarray:
    """The product (and a ``fringe``-px ring of the photo around it) pasted on a new background."""
    import cv2

    edit = _textured(*img.shape[:2], (70, 150, 80), seed)  # a meadow-green scene
    dist = cv2.distanceTransform((~product).astype(np.uint8), cv2.DIST_L2, 5)
    keep = product | (dist <= fringe) if fringe else product
    edit[keep] = img[keep]
    return edit


def _quality(img, edit, reference):
    from maskgate.check.criteria import quality

    ctx = build_context(img, edit, None, reference.astype(np.float32), [], [], "inpainted", reference)
    return quality.measure(ctx)


def test_a_halo_of_the_old_background_on_a_new_one_is_measured():
    img, product, _ = _photo()
    clean = _quality(img, _pasted(img, product, 0), product)["old_bg_ring"]
    assert clean < 0.05
    # a thin fringe and a wide collar both (a wider one is no better)
    for fringe in (4, 12):
        assert _quality(img, _pasted(img, product, fringe), product)["old_bg_ring"] > 0.4
    # a reference a few pixels too tight must not read the product's own rim as a halo
    tight = np.zeros_like(product)
    tight[84:256, 64:176] = True
    assert _quality(img, _pasted(img, product, 0), tight)["old_bg_ring"] < 0.1


def test_the_old_background_ring_ignores_a_new_background_like_the_old():
    img, product, _ = _photo()
    same_scene = img.copy()  # "new" background identical to the old: nothing pasted shows
    assert _quality(img, same_scene, product)["old_bg_ring"] < 0.05


def test_reference_confidence_follows_the_saliency_inside_the_mask():
    img, product, _ = _photo()
    edit, alpha = _cutout(img, product)

    def conf(sal: np.ndarray, given=None) -> float:
        ctx = build_context(img, edit, alpha, sal, [], [], "isolated", given)
        seg, res = segmentation.measure(ctx), residue.measure(ctx)
        assert seg["ref_confidence"] == res["ref_confidence"]
        return seg["ref_confidence"]

    sure = np.where(product, 0.97, 0.02).astype(np.float32)
    unsure = np.where(product, 0.6, 0.3).astype(np.float32)
    assert conf(sure) > 0.95
    assert conf(unsure) < 0.65
    assert conf(product.astype(np.float32), product) == 1.0  # a given mask is the truth


def test_a_cut_out_without_a_flat_backdrop_is_flagged():
    img, product, _ = _photo()
    clean, alpha = _cutout(img, product)
    assert _res(img, clean, None, product, [], [])["backdrop_missing"] == 0.0
    # the old background left all round: declared a cut-out, but its backdrop is not one colour
    kept_scene = img.copy()
    kept_scene[:40] = 255
    assert _res(img, kept_scene, None, product, [], [])["backdrop_missing"] == 1.0


def test_a_badge_kept_by_a_reframed_edit_is_residue():
    """A new-background edit that moved everything a few pixels (benign framing) and kept the
    original's badge: the badge is compared where the alignment carries it, not only in place."""
    import cv2

    img, product, _ = _photo()
    badge = np.zeros_like(product)
    badge[20:60, 200:300] = True
    img[badge] = 250
    for x in range(205, 295, 12):  # the badge's lettering: strokes the comparison can match
        img[28:52, x : x + 4] = 20
    scene_bg = _textured(*img.shape[:2], (70, 150, 80), 9)
    t = np.float32([[1, 0, 6], [0, 1, 4]])

    def edit_keeping(keep: np.ndarray) -> np.ndarray:
        e = scene_bg.copy()
        e[keep] = img[keep]
        return cv2.warpAffine(e, t, e.shape[1::-1], borderMode=cv2.BORDER_REFLECT)

    def carried(edit: np.ndarray) -> float:
        ctx = build_context(
            img, edit, None, product.astype(np.float32), [_box(200, 20, 300, 60)], [], "inpainted", product
        )
        assert not ctx.alignment.is_identity  # the test is about a moved frame
        return residue.measure(ctx)["overlay_carried"]

    assert carried(edit_keeping(product | badge)) > 0.6
    assert carried(edit_keeping(product)) < 0.3


def test_faint_overlay_text_left_on_a_cut_out_backdrop_is_measured_where_the_overlay_was():
    """White promo text left on a white cut-out at a few percent contrast: OCR does not read it,
    and as a share of the frame (``stray_share``) it is a couple of percent, as the specks of a
    clean cut-out re-encoded are. Where the original's headline stood it is a third of the box."""
    import cv2

    img, product, _ = _photo()
    headline = _box(30, 20, 290, 60)  # above the product, over the floor
    for x in range(40, 280, 14):  # the headline's letters in the original: bold strokes
        img[26:54, x : x + 6] = 250
    clean, _alpha = _cutout(img, product)
    ghost = clean.copy()
    for x in range(40, 280, 14):  # the cut-out kept them, faint: 12 grey levels off white
        ghost[26:54, x : x + 6] = 243
    ok, buf = cv2.imencode(".jpg", clean, [cv2.IMWRITE_JPEG_QUALITY, 70])
    assert ok
    reencoded = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    offwhite = np.where(product[..., None], clean, np.uint8(246))

    def measured(edit: np.ndarray) -> dict:
        return _res(img, edit, None, product, [headline], [])

    g = measured(ghost)
    assert g["overlay_ghost"] > 0.15 and g["stray_share"] < 0.05
    for benign in (clean, reencoded, offwhite):
        assert measured(benign)["overlay_ghost"] < 0.02
    # a cut-out whose original had no overlay there has nothing to compare
    assert _res(img, ghost, None, product, [], [])["overlay_ghost"] == 0.0
