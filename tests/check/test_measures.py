"""The pure measurements the criteria lean on, on arrays built here (no model needed)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from maskgate.check.align import align
from maskgate.check.criteria.consistency import hue_rotation
from maskgate.check.verdict import Calibration, CalibrationError


def _colourful(seed: int = 3) -> np.ndarray:
    """Smooth colour blobs covering many hues: what a printed product shows."""
    rng = np.random.default_rng(seed)
    small = rng.integers(30, 226, (6, 6, 3), dtype=np.uint8)
    return cv2.resize(small, (128, 128), interpolation=cv2.INTER_CUBIC)


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)


def test_hue_rotation_tells_a_hue_change_from_a_colour_cast():
    rgb = _colourful()
    sel = np.ones(rgb.shape[:2], bool)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0].astype(int) + 30) % 180  # every hue turned by 60 degrees
    hue_changed = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    cast = (rgb * 0.6 + np.array([90, 110, 160]) * 0.4).astype(np.uint8)  # a bluish cast over it all
    assert hue_rotation(_lab(rgb), _lab(rgb), sel) < 0.02
    assert hue_rotation(_lab(rgb), _lab(hue_changed), sel) > 0.5
    assert hue_rotation(_lab(rgb), _lab(cast), sel) < 0.15


def test_hue_rotation_of_a_one_colour_product():
    """Red and its shading lie on one line in a*b*: a turn of that line is still seen, a tint is not."""
    shade = np.linspace(0.3, 1.0, 128, dtype=np.float32)[None, :, None]
    rgb = (shade * np.array([220, 30, 30], np.float32)).repeat(64, axis=0).astype(np.uint8)
    sel = np.ones(rgb.shape[:2], bool)
    purple = (shade * np.array([140, 30, 220], np.float32)).repeat(64, axis=0).astype(np.uint8)
    lighter = (rgb * 0.7 + 255 * 0.3).astype(np.uint8)
    assert hue_rotation(_lab(rgb), _lab(purple), sel) > 0.5
    # a 30% white veil bends red toward pink a little in CIELAB itself (about 0.2 rad): a third
    # of what the hue change turns
    assert hue_rotation(_lab(rgb), _lab(lighter), sel) < 0.25


def _near_symmetric() -> tuple[np.ndarray, np.ndarray]:
    """A left-right symmetric figure with one small asymmetric mark, on white."""
    img = np.full((256, 256, 3), 255, np.uint8)
    mask = np.zeros((256, 256), np.uint8)
    cv2.ellipse(mask, (128, 140), (70, 90), 0, 0, 360, 1, -1)
    img[mask > 0] = (200, 30, 30)
    cv2.ellipse(img, (128, 140), (70, 90), 0, 0, 360, (20, 20, 20), 3)
    for x in (100, 156):  # the eyes: symmetric
        cv2.circle(img, (x, 110), 9, (250, 250, 250), -1)
    cv2.circle(img, (100, 170), 6, (240, 200, 40), -1)  # the mark, on the left only
    return img, mask.astype(bool)


def test_mirror_of_a_near_symmetric_product_is_found():
    img, mask = _near_symmetric()
    mirrored, mask_m = img[:, ::-1].copy(), mask[:, ::-1].copy()
    assert align(img, img.copy(), mask, mask).mirrored is False
    assert align(img, mirrored, mask, mask_m).mirrored is True


def test_calibration_for_other_measurements_is_refused(tmp_path):
    """A calibration file from an older maskgate stops with the fix, not with an error per pair."""
    cal = Calibration.load()
    cal.models["consistency"] = {**cal.models["consistency"], "coef": cal.models["consistency"]["coef"][:-2]}
    path = tmp_path / "old.json"
    cal.save(path)
    with pytest.raises(CalibrationError, match="maskgate calibrate"):
        Calibration.load(path)
    assert json.loads(path.read_text())["thresholds"]  # the file itself is left as it was


def test_a_reframed_product_is_registered_not_taken_for_a_change():
    """Benign framing (the product shifted and scaled by a few per cent) must be found by the
    alignment, or every criterion sees the misregistration as a changed product."""
    from tests.check.conftest import compose, product

    rgb, mask = product(256)
    white = np.full((320, 320, 3), 255, np.uint8)
    pad = lambda a: np.pad(a, ((32, 32), (32, 32)) + ((0, 0),) * (a.ndim - 2), constant_values=0)  # noqa: E731
    big, m = pad(rgb), pad(mask.astype(np.uint8)) > 0
    orig = compose(white, big, m)
    t = np.array([[1.04, 0.0, -0.04 * 160 + 5], [0.0, 1.04, -0.04 * 160 - 3]])
    edit = cv2.warpAffine(orig, t, (320, 320), borderValue=(255, 255, 255))
    m_e = cv2.warpAffine(m.astype(np.uint8), t, (320, 320), flags=cv2.INTER_NEAREST) > 0
    al = align(orig, edit, m, m_e)
    assert al.method == "reframe" and al.scale == pytest.approx(1.04, abs=0.01)
    assert np.abs(al.matrix - t).max() < 1.5
    assert align(orig, orig.copy(), m, m).method == "identity"  # in register: identity stays


@pytest.mark.parametrize("shrink", [0.15, 0.3])
def test_a_product_shrunk_on_a_new_background_is_found_again(shrink):
    """A product shrunk far past ORB's pyramid (the tiny family) and pasted on another scene must
    be located at its new size: comparing the original's product in place with a background that
    no longer holds it would judge the wrong pixels, and the product's size would read unchanged."""
    from tests.check.conftest import compose, product, scene

    rgb, m = product(384)
    orig = compose(np.full((384, 384, 3), 255, np.uint8), rgb, m)
    t = np.array([[shrink, 0.0, 40.0], [0.0, shrink, 230.0]])
    small = cv2.warpAffine(orig, t, (384, 384))
    m_e = cv2.warpAffine(m.astype(np.uint8), t, (384, 384), flags=cv2.INTER_NEAREST) > 0
    edit = compose(scene(5, 384), small, m_e)  # a new background around the shrunk product
    al = align(orig, edit, m, None)
    assert al.method in ("template", "orb")
    assert al.scale == pytest.approx(shrink, rel=0.15)
    found = al.warp(m.astype(np.uint8), m.shape, nearest=True) > 0
    assert (found & m_e).sum() / (found | m_e).sum() > 0.6  # IoU with where it truly went


def test_masked_matcher_agrees_with_opencv_and_finds_the_pasted_copy():
    """The FFT match stands in for OpenCV's masked TM_CCOEFF_NORMED: the same numbers on a
    textured scene, NaN on windows with nothing under the mask, and the best window where a
    shrunken copy of the template was pasted."""
    from maskgate.check.measure import MaskedMatcher

    rng = np.random.default_rng(3)
    scene = cv2.GaussianBlur(rng.integers(0, 256, (150, 210, 3), dtype=np.uint8), (0, 0), 2)
    scene[:, 170:] = 200  # a flat strip: no variance there
    obj = cv2.GaussianBlur(rng.integers(0, 256, (28, 36, 3), dtype=np.uint8), (0, 0), 1.5)
    mask = np.zeros((28, 36), np.uint8)
    cv2.ellipse(mask, (18, 14), (16, 12), 0, 0, 360, 1, -1)
    sel = mask.astype(bool)
    scene[60:88, 40:76][sel] = obj[sel]  # the copy, its corner at (x=40, y=60)
    theirs = cv2.matchTemplate(scene, obj, cv2.TM_CCOEFF_NORMED, mask=np.dstack([mask] * 3))
    matcher = MaskedMatcher(scene)
    ours = matcher.match(obj, mask)
    assert ours.shape == theirs.shape
    both = np.isfinite(ours) & np.isfinite(theirs)
    assert both.mean() > 0.6 and np.abs(ours[both] - theirs[both]).max() < 1e-4
    assert np.isnan(ours[:, 175:]).all()  # windows wholly on the flat strip
    assert np.unravel_index(np.nanargmax(ours), ours.shape) == (60, 40)
    assert np.nanmax(ours) > 0.99
    # the image's transforms serve a second template, of another size
    small, m2 = obj[4:20, 6:30], mask[4:20, 6:30]
    theirs2 = cv2.matchTemplate(scene, small, cv2.TM_CCOEFF_NORMED, mask=np.dstack([m2] * 3))
    ours2 = matcher.match(small, m2)
    both2 = np.isfinite(ours2) & np.isfinite(theirs2)
    assert np.abs(ours2[both2] - theirs2[both2]).max() < 1e-4
    with pytest.raises(ValueError, match="larger than the image"):
        matcher.match(np.zeros((160, 20, 3), np.uint8), np.ones((160, 20), np.uint8))
