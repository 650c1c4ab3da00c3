"""Procedural products, scenes and ad overlays: a demo and tests that need no downloaded images."""

from __future__ import annotations

import cv2
import numpy as np

PRODUCT_COLOURS = [(200, 40, 45), (30, 110, 200), (240, 190, 40), (60, 160, 90), (140, 70, 160)]
WORDS = ["CAFE", "AQUA", "SOFT", "ZEST", "NOVA"]


def scene(seed: int = 0, size: int = 384, busy: bool = True) -> np.ndarray:
    """A photo-like backdrop: gradient, luminance grain and sharp-edged round things (fewer, fainter
    and out of the centre when not ``busy``, like a product shot rather than a cluttered scene)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    base = np.stack([90 + 60 * x / size, 110 + 40 * y / size, 100 + 30 * np.sin(x / 23.0 + seed)], -1)
    base += 12 * np.sin((x + 2 * y) / (9.0 + seed))[..., None]
    grain = cv2.GaussianBlur(rng.normal(0, 30 if busy else 14, (size, size)).astype(np.float32), (0, 0), 0.8)[
        ..., None
    ]
    img = np.clip(base + grain, 0, 255).astype(np.uint8)
    for _ in range(30 if busy else 12):
        c = tuple(int(v) for v in (rng.integers(20, 235, 3) if busy else rng.integers(90, 170, 3)))
        x0, y0 = (int(v) for v in rng.integers(0, size, 2))
        if not busy and abs(x0 - size / 2) < size / 3 and abs(y0 - size / 2) < size / 3:
            continue
        cv2.circle(img, (x0, y0), int(rng.integers(max(3, size // 48), max(4, size // 10))), c, -1)
    return img


def product(size: int = 384, variant: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(rgb, mask) of a mug-like product with a printed label; ``variant`` changes colour and word."""
    mask = np.zeros((size, size), np.uint8)
    cx, cy = size // 2, size // 2 + size // 38
    w, h = size // 4 + (variant % 3) * size // 40, size // 3
    cv2.rectangle(mask, (cx - w // 2, cy - h // 2), (cx + w // 2, cy + h // 2), 255, -1)
    cv2.ellipse(mask, (cx, cy + h // 2), (w // 2, w // 8), 0, 0, 360, 255, -1)
    cv2.ellipse(mask, (cx + w // 2, cy), (w // 4, h // 4), 0, -90, 90, 255, thickness=max(6, size // 40))
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    shade = 0.75 + 0.25 * np.cos((xx - cx) / (w / 1.6))
    col = PRODUCT_COLOURS[variant % len(PRODUCT_COLOURS)]
    rgb = (
        np.stack([col[0] * shade + 10, col[1] * shade + 10, col[2] * shade + 10], -1)
        .clip(0, 255)
        .astype(np.uint8)
    )
    cv2.rectangle(rgb, (cx - w // 3, cy - h // 6), (cx + w // 3, cy + h // 6), (245, 235, 210), -1)
    word = WORDS[variant % len(WORDS)]
    cv2.putText(
        rgb, word, (cx - w // 3 + 4, cy + size // 64), cv2.FONT_HERSHEY_SIMPLEX, size / 900, (30, 30, 120), 2
    )
    cv2.circle(rgb, (cx - w // 5, cy - h // 3), max(2, size // 60), (250, 200, 60), -1)
    grain = np.random.default_rng(variant).normal(
        0, 3, (size, size, 1)
    )  # a photographed surface is never flat
    rgb = np.clip(rgb + grain, 0, 255).astype(np.uint8)
    rgb[mask == 0] = 0
    return rgb, mask > 0


def compose(bg: np.ndarray, rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = bg.copy()
    out[mask] = rgb[mask]
    return out


def add_overlays(img: np.ndarray, text: str = "SALE -30%", badge: str = "NEW") -> np.ndarray:
    """Promo text and a badge outside the product, as ad creatives carry."""
    out = img.copy()
    s = img.shape[0]
    cv2.putText(
        out, text, (int(s * 0.05), int(s * 0.12)), cv2.FONT_HERSHEY_DUPLEX, s / 420, (255, 255, 255), 2
    )
    cv2.rectangle(out, (int(s * 0.58), int(s * 0.84)), (int(s * 0.95), int(s * 0.95)), (250, 200, 30), -1)
    cv2.putText(out, badge, (int(s * 0.68), int(s * 0.93)), cv2.FONT_HERSHEY_DUPLEX, s / 500, (20, 20, 20), 2)
    return out
