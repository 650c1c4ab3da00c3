"""Images the check tests build themselves: a product-like mug on a textured scene, with overlays."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from maskgate.io.images import LoadedImage

SIZE = 384


def scene(seed: int = 0, size: int = SIZE) -> np.ndarray:
    """A photo-like backdrop: gradient, fine noise and soft stripes (texture for the detectors)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    base = np.stack([90 + 60 * x / size, 110 + 40 * y / size, 100 + 30 * np.sin(x / 23.0 + seed)], -1)
    base += 12 * np.sin((x + 2 * y) / (9.0 + seed))[..., None]
    noise = cv2.GaussianBlur(rng.normal(0, 30, (size, size)).astype(np.float32), (0, 0), 0.8)[..., None]  # luminance grain
    img = np.clip(base + noise, 0, 255).astype(np.uint8)
    for _ in range(30):  # sharp-edged round things (pebbles, leaves), as photographed scenes have
        c = tuple(int(v) for v in rng.integers(20, 235, 3))
        x0, y0 = (int(v) for v in rng.integers(0, size, 2))
        cv2.circle(img, (x0, y0), int(rng.integers(8, 40)), c, -1)
    return img


def product(size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(rgb, mask) of a red mug with a printed label, centred, about a fifth of the frame."""
    mask = np.zeros((size, size), np.uint8)
    cx, cy = size // 2, size // 2 + 10
    w, h = size // 4, size // 3
    cv2.rectangle(mask, (cx - w // 2, cy - h // 2), (cx + w // 2, cy + h // 2), 255, -1)
    cv2.ellipse(mask, (cx, cy + h // 2), (w // 2, w // 8), 0, 0, 360, 255, -1)
    cv2.ellipse(mask, (cx + w // 2, cy), (w // 4, h // 4), 0, -90, 90, 255, thickness=max(6, size // 40))
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    shade = 0.75 + 0.25 * np.cos((x - cx) / (w / 1.6))
    rgb = np.stack([200 * shade, 40 * shade + 10, 45 * shade + 10], -1).astype(np.uint8)
    cv2.rectangle(rgb, (cx - w // 3, cy - h // 6), (cx + w // 3, cy + h // 6), (245, 235, 210), -1)
    cv2.putText(rgb, "CAFE", (cx - w // 3 + 4, cy + 6), cv2.FONT_HERSHEY_SIMPLEX, size / 900, (30, 30, 120), 2)
    cv2.circle(rgb, (cx - w // 5, cy - h // 3), size // 60, (250, 200, 60), -1)
    rgb[mask == 0] = 0
    return rgb, mask > 0


def compose(bg: np.ndarray, rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = bg.copy()
    out[mask] = rgb[mask]
    return out


def add_overlays(img: np.ndarray) -> np.ndarray:
    """Promo text and a badge outside the product, as ad creatives carry."""
    out = img.copy()
    s = img.shape[0]
    cv2.putText(out, "SALE -30%", (int(s * 0.05), int(s * 0.12)), cv2.FONT_HERSHEY_DUPLEX, s / 420, (255, 255, 255), 2)
    cv2.rectangle(out, (int(s * 0.58), int(s * 0.84)), (int(s * 0.95), int(s * 0.95)), (250, 200, 30), -1)
    cv2.putText(out, "NEW", (int(s * 0.68), int(s * 0.93)), cv2.FONT_HERSHEY_DUPLEX, s / 500, (20, 20, 20), 2)
    return out


def loaded(rgb: np.ndarray, alpha: np.ndarray | None = None) -> LoadedImage:
    return LoadedImage(rgb, alpha, (rgb.shape[1], rgb.shape[0]))


@pytest.fixture(scope="session")
def mug():
    rgb, mask = product()
    original = add_overlays(compose(scene(0), rgb, mask))
    return {"rgb": rgb, "mask": mask, "original": original}


@pytest.fixture(scope="session")
def checker():
    from maskgate.check.engine import Checker
    from maskgate.models.registry import MissingModelError

    try:
        return Checker()
    except MissingModelError as e:  # scripts/test.sh pulls the weights; a bare pytest may not have them
        pytest.skip(str(e))
