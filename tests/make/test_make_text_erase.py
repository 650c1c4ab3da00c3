import numpy as np
import pytest
from make_synth import iou, product_scene, put_text

from maskgate.make import erase, product_mask, read_text, text_mask


def _words(found):
    return " ".join(t for t, s in found if s >= 0.5).upper()


@pytest.fixture(scope="module")
def creative():
    img, gt = product_scene("ellipse", seed=7)
    img = put_text(img, "SALE 50% OFF", (20, 60), 1.5, (255, 255, 255), 3)
    img = put_text(img, "FREE SHIPPING", (300, 450), 1.1, (20, 20, 20), 2)
    return img, gt


def test_text_is_found_as_polygons_outside_product(creative):
    img, gt = creative
    assert "SALE" in _words(read_text(img))  # the test image is readable to begin with
    om = text_mask(img)
    assert om.text[40:60, 30:300].mean() > 200  # the headline is covered
    assert om.text[420:450, 310:520].mean() > 150
    assert all(r.polygon.shape[1] == 2 and len(r.polygon) >= 4 for r in om.regions)


def test_combined_mask_excludes_product(u2netp, creative):
    img, gt = creative
    prod = product_mask(img)
    om = text_mask(img, product=prod.mask)
    assert not (om.graphics.astype(bool) & prod.bool).any()
    assert iou(prod.bool, gt) > 0.9
    assert om.mask[40:60, 30:300].mean() > 200


def test_erased_text_is_not_readable_and_product_kept(u2netp, creative):
    img, gt = creative
    res = erase(img, what="text")
    words = _words(read_text(res.rgb))
    for w in ("SALE", "OFF", "FREE", "SHIPPING"):
        assert w not in words
    # the product is untouched
    assert np.abs(res.rgb[gt].astype(int) - img[gt].astype(int)).mean() < 2


def test_erase_product_removes_it(u2netp):
    img, gt = product_scene("ellipse", seed=8)
    res = erase(img, what="product", inpainter="ns")
    red = (res.rgb[..., 0].astype(int) - res.rgb[..., 1].astype(int)) > 100
    assert red[gt].mean() < 0.05  # the red object is gone
    assert res.mask[gt].all()


def test_erase_rejects_unknown_what():
    with pytest.raises(ValueError):
        erase(np.zeros((8, 8, 3), np.uint8), what="logo", product=object())


def test_detector_runs_on_a_quiet_session_that_finds_what_rapidocr_own_finds(creative):
    """The detector's session is swapped for one with the memory arena and no spinning threads
    (``vision.text``): the polygons must be exactly those of rapidocr's own session."""
    from rapidocr import RapidOCR

    from maskgate.vision.text import _engine, detect_text

    img, _ = creative
    ours = detect_text(img)
    eng, _lock = _engine(0, None)
    inner = eng.text_det.session.session
    assert inner.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == "0"
    theirs = RapidOCR(params={"Global.use_cls": False, "Global.use_rec": False, "Global.log_level": "error"})
    res = theirs(np.ascontiguousarray(img[..., ::-1]), use_det=True, use_cls=False, use_rec=False)
    assert len(ours) == len(res.boxes) >= 2
    for r, b in zip(ours, res.boxes, strict=True):
        np.testing.assert_array_equal(r.polygon, np.asarray(b, np.float32))
