import cv2
import numpy as np
from make_synth import iou, product_scene

from maskgate.make.refine import clean_mask, grabcut_band, guided_filter, refine


def _blurry_prob(gt: np.ndarray, shift: int = 0) -> np.ndarray:
    """What a 320-px network output looks like upsampled: coarse, soft and slightly off."""
    small = cv2.resize(gt.astype(np.float32), (40, 30), interpolation=cv2.INTER_AREA)
    p = cv2.resize(small, gt.shape[::-1], interpolation=cv2.INTER_LINEAR)
    return np.roll(p, shift, axis=1)


def test_guided_filter_snaps_blurry_mask_to_edges():
    img, gt = product_scene("bottle", seed=4)
    p = _blurry_prob(gt)
    g = guided_filter(img, p, radius=6, eps=1e-3)
    assert iou(g >= 0.5, gt) > iou(p >= 0.5, gt)
    g_gray = guided_filter(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), p, radius=6)
    assert g_gray.shape == p.shape


def test_grabcut_band_corrects_shifted_boundary():
    img, gt = product_scene("ellipse", seed=5)
    p = _blurry_prob(gt, shift=6)
    out = grabcut_band(img, p, band=8)
    assert iou(out >= 0.5, gt) > iou(p >= 0.5, gt) + 0.01
    assert iou(out >= 0.5, gt) > 0.95


def test_clean_removes_specks_and_fills_holes():
    m = np.zeros((200, 200), np.uint8)
    m[50:150, 50:150] = 1
    m[90:100, 90:100] = 0  # a hole
    m[5:7, 5:7] = 1  # a speck
    c = clean_mask(m)
    assert c[95, 95] == 1 and c[5, 5] == 0 and c[60, 60] == 1


def test_refine_all_steps_and_timings():
    img, gt = product_scene("ellipse", seed=6)
    p = _blurry_prob(gt)
    r = refine(img, np.stack([p, np.clip(p * 1.1, 0, 1)]), ("guided", "grabcut", "clean", "matting"))
    assert set(r.timings) == {"guided", "grabcut", "clean", "matting"}
    assert r.alpha.shape == gt.shape
    assert iou(r.alpha >= 0.5, gt) > 0.95
