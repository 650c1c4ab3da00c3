"""One function per generator failure: each takes a clean edit's parts and returns the broken edit.

They mimic what the benchmark's defects look like (text left behind, a part cut away, a blur, a
thumbnail-sized product, a colour change, a noisy new background), with known labels.
"""

from __future__ import annotations

import cv2
import numpy as np

from maskgate.synth.draw import compose

WHITE = 255


def backdrop(shape, bg: np.ndarray | None) -> np.ndarray:
    return np.full(shape, WHITE, np.uint8) if bg is None else bg


def residue_text(rgb, mask, bg, rng):
    out = compose(backdrop(rgb.shape, bg), rgb, mask)
    s = out.shape[0]
    cv2.putText(
        out, "SALE -30%", (int(s * 0.05), int(s * 0.12)), cv2.FONT_HERSHEY_DUPLEX, s / 420, (40, 40, 40), 2
    )
    return out


def cutoff(rgb, mask, bg, rng):
    xs = np.nonzero(mask.any(axis=0))[0]
    cut = mask.copy()
    cut[:, int(xs.min() + (xs.max() - xs.min()) * rng.uniform(0.5, 0.65)) :] = False
    return compose(backdrop(rgb.shape, bg), rgb, cut)


def quality_blur(rgb, mask, bg, rng):
    return compose(backdrop(rgb.shape, bg), cv2.GaussianBlur(rgb, (0, 0), rng.uniform(3, 5)), mask)


def tiny(rgb, mask, bg, rng):
    s = rgb.shape[0]
    small = max(8, int(s * rng.uniform(0.08, 0.12)))
    ys, xs = np.nonzero(mask)
    crop = compose(backdrop(rgb.shape, None), rgb, mask)[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    out = backdrop(rgb.shape, bg).copy()
    out[4 : 4 + small, s - small - 4 : s - 4] = cv2.resize(crop, (small, small), interpolation=cv2.INTER_AREA)
    return out


def altered_hue(rgb, mask, bg, rng):
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0].astype(int) + int(rng.integers(45, 90))) % 180
    return compose(backdrop(rgb.shape, bg), cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB), mask)


def bg_noise(rgb, mask, bg, rng):
    s = rgb.shape[0]
    noise = cv2.resize(
        rng.integers(0, 256, (s // 8, s // 8, 3), dtype=np.uint8), (s, s), interpolation=cv2.INTER_NEAREST
    )
    return compose(noise, rgb, mask)


def ok(rgb, mask, bg, rng):
    return compose(backdrop(rgb.shape, bg), rgb, mask)


# defect name -> (function, criterion it fails or None, applies to isolated, applies to inpainted)
DEFECTS = {
    "ok": (ok, None, True, True),
    "residue_text": (residue_text, "residue", True, True),
    "cutoff": (cutoff, "segmentation", True, True),
    "quality_blur": (quality_blur, "quality", True, True),
    "tiny": (tiny, "comprehensibility", True, False),
    "altered_hue": (altered_hue, "consistency", True, True),
    "bg_bad_noise": (bg_noise, "background", False, True),
}
