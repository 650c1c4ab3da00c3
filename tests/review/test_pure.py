"""Pure functions: agreement statistics, RLE round trips, GrabCut refine, safe paths."""

import numpy as np
import pytest

from maskgate.review.agreement import cohen_kappa, fleiss_kappa, mask_iou, rle_iou
from maskgate.review.masks import MaskError, decode_rle, encode_rle, grabcut_refine, mask_to_png, png_to_mask
from maskgate.review.security import UnsafePathError, safe_join


def test_cohen_kappa_known_values():
    assert cohen_kappa([1, 1, 0, 0], [1, 1, 0, 0]) == pytest.approx(1.0)
    # Classic 2x2 example: po = 0.7, pe = 0.5 -> 0.4
    a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert cohen_kappa(a, b) == pytest.approx((0.7 - 0.5) / 0.5)
    assert cohen_kappa([1, 1], [1, 1]) is None  # chance agreement is total: undefined


def test_fleiss_kappa_wikipedia_example():
    # Fleiss (1971) example from Wikipedia: 10 items, 14 raters, 5 categories -> 0.210
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    ratings = [[c for c, n in enumerate(row) for _ in range(n)] for row in table]
    assert fleiss_kappa(ratings) == pytest.approx(0.210, abs=1e-3)
    assert fleiss_kappa([[True, True], [False, False]]) == pytest.approx(1.0)
    assert fleiss_kappa([[True]]) is None


def test_rle_round_trip_and_iou():
    rng = np.random.default_rng(0)
    m = rng.random((37, 53)) > 0.6
    rle = encode_rle(m)
    assert rle["size"] == [37, 53] and isinstance(rle["counts"], str)
    assert (decode_rle(rle) == m).all()
    other = m.copy()
    other[:10] = True
    assert rle_iou(rle, encode_rle(other)) == pytest.approx(mask_iou(m, other))
    assert mask_iou(np.zeros((3, 3)), np.zeros((3, 3))) == 1.0


def test_png_mask_round_trip_and_garbage():
    m = np.zeros((20, 30), bool)
    m[5:15, 10:20] = True
    assert (png_to_mask(mask_to_png(m)) == m).all()
    assert png_to_mask(mask_to_png(m), size=(40, 60)).shape == (40, 60)
    with pytest.raises(MaskError):
        png_to_mask(b"not a png")


def test_grabcut_snaps_rough_mask_to_object():
    img = np.full((120, 160, 3), 230, np.uint8)
    img[30:90, 40:120] = (200, 30, 30)
    truth = np.zeros((120, 160), bool)
    truth[30:90, 40:120] = True
    rough = np.zeros_like(truth)
    rough[20:100, 30:130] = True  # too big
    fg = np.zeros_like(truth)
    fg[55:65, 75:85] = True
    out = grabcut_refine(img, rough, fg_hint=fg)
    assert mask_iou(out, truth) > mask_iou(rough, truth)
    assert mask_iou(out, truth) > 0.9


def test_safe_join(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.png").write_bytes(b"x")
    (tmp_path / "secret.txt").write_text("s")
    assert safe_join(tmp_path / "a", "x.png") == (tmp_path / "a" / "x.png").resolve()
    for bad in ["../secret.txt", "x/../../secret.txt", "/etc/passwd", "", "..\\secret.txt", "a\x00"]:
        with pytest.raises(UnsafePathError):
            safe_join(tmp_path / "a", bad)
    (tmp_path / "a" / "link").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(UnsafePathError):
        safe_join(tmp_path / "a", "link")
