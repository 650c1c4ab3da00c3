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
