"""Procedural products, scenes and ad overlays: a demo and tests that need no downloaded images."""

from __future__ import annotations

import cv2
import numpy as np

from maskgate.synth.layers import Layer

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


# ---------------------------------------------------------------- more products, studio backdrops, overlays

PROMO = ["SALE -30%", "ORDER NOW", "HOT DEAL", "FREE SHIPPING", "Summer Collection", "NEW IN", "BUY 1 GET 1"]
BADGES = ["NEW", "LIMITED", "TOP RATED", "ONLY $19.99", "-50%", "BEST SELLER"]
BRANDS = ["kiru&co", "Luma", "OAKMOOR", "brightside", "TANDEM", "nordi"]
FONTS = [
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
]
SHAPES = ("mug", "bottle", "box", "ball", "toy")


def _shaded(mask: np.ndarray, colour, rng: np.random.Generator, radial: bool = False) -> np.ndarray:
    """A flat colour lit from one side, with a photographed surface's grain."""
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    cx, cy = xs.mean(), ys.mean()
    span = max(float(np.ptp(xs)), float(np.ptp(ys)), 1.0) / 2
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if radial:
        shade = 1.05 - 0.35 * np.clip(np.hypot(xx - cx, yy - cy) / span, 0, 1) ** 2
    else:
        shade = 0.75 + 0.25 * np.cos(np.clip((xx - cx) / span, -1.5, 1.5))
    rgb = np.stack([c * shade + 10 for c in colour], -1) + rng.normal(0, 3, (h, w, 1))
    rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    rgb[~mask] = 0
    return rgb


def _label(rgb: np.ndarray, box: tuple[int, int, int, int], word: str, ink, paper=(245, 235, 210)) -> None:
    x0, y0, x1, y1 = box
    cv2.rectangle(rgb, (x0, y0), (x1, y1), paper, -1)
    (tw, th), _ = cv2.getTextSize(word, cv2.FONT_HERSHEY_SIMPLEX, 1.0, 2)
    scale = min((x1 - x0) * 0.8 / tw, (y1 - y0) * 0.6 / th)
    (tw, th), _ = cv2.getTextSize(word, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
    org = (x0 + (x1 - x0 - tw) // 2, y0 + (y1 - y0 + th) // 2)
    cv2.putText(rgb, word, org, cv2.FONT_HERSHEY_SIMPLEX, scale, ink, max(1, round(scale * 2)), cv2.LINE_AA)


def drawn_product(size: int = 384, variant: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(rgb, mask) of one of a few drawn product shapes, so a drawn corpus is not all mugs.

    ``variant`` picks the shape, colour, proportions and print; the ball is mirror-symmetric on
    purpose (a mirrored ball is a flip nobody can see)."""
    shape = SHAPES[variant % len(SHAPES)]
    if shape == "mug":
        return product(size, variant // len(SHAPES) + variant)
    rng = np.random.default_rng(1000 + variant)
    base = PRODUCT_COLOURS[variant % len(PRODUCT_COLOURS)]
    colour = tuple(int(np.clip(c + rng.integers(-30, 30), 20, 235)) for c in base)
    word = WORDS[(variant // len(SHAPES)) % len(WORDS)]
    s, c = size, size // 2
    mask = np.zeros((s, s), np.uint8)
    k = rng.uniform(0.85, 1.15)
    if shape == "bottle":
        w, h = int(s * 0.17 * k), int(s * 0.5)
        cv2.rectangle(mask, (c - w // 2, c - h // 4), (c + w // 2, c + h // 2), 255, -1)
        cv2.ellipse(mask, (c, c - h // 4), (w // 2, w // 3), 0, 180, 360, 255, -1)
        cv2.rectangle(mask, (c - w // 5, c - h // 2), (c + w // 5, c - h // 4), 255, -1)
        rgb = _shaded(mask > 0, colour, rng)
        cv2.rectangle(rgb, (c - w // 4, c - h // 2), (c + w // 4, c - h // 2 + h // 10), (40, 40, 40), -1)
        _label(rgb, (c - w // 2 + 2, c, c + w // 2 - 2, c + h // 4), word, (30, 30, 120))
    elif shape == "box":
        w, h, d = int(s * 0.3 * k), int(s * 0.38), int(s * 0.08)
        front = np.array(
            [
                [c - w // 2, c - h // 2 + d],
                [c + w // 2 - d, c - h // 2 + d],
                [c + w // 2 - d, c + h // 2],
                [c - w // 2, c + h // 2],
            ]
        )
        side = np.array(
            [
                [c + w // 2 - d, c - h // 2 + d],
                [c + w // 2, c - h // 2],
                [c + w // 2, c + h // 2 - d],
                [c + w // 2 - d, c + h // 2],
            ]
        )
        top = np.array(
            [
                [c - w // 2, c - h // 2 + d],
                [c - w // 2 + d, c - h // 2],
                [c + w // 2, c - h // 2],
                [c + w // 2 - d, c - h // 2 + d],
            ]
        )
        for poly in (front, side, top):
            cv2.fillPoly(mask, [poly.astype(np.int32)], 255)
        rgb = _shaded(mask > 0, colour, rng)
        dark = tuple(int(v * 0.6) for v in colour)
        light = tuple(int(min(255, v * 1.25 + 20)) for v in colour)
        cv2.fillPoly(rgb, [side.astype(np.int32)], dark)
        cv2.fillPoly(rgb, [top.astype(np.int32)], light)
        _label(
            rgb, (c - w // 2 + d // 2, c - h // 6, c + w // 2 - d * 3 // 2, c + h // 6), word, (30, 30, 30)
        )
        cv2.circle(rgb, (c - w // 4, c + h // 3), max(3, s // 50), (250, 200, 60), -1)
    elif shape == "ball":
        r = int(s * 0.2 * k)
        cv2.circle(mask, (c, c), r, 255, -1)
        rgb = _shaded(mask > 0, colour, rng, radial=True)
        band = tuple(int(255 - v * 0.5) for v in colour)
        cv2.ellipse(rgb, (c, c), (r // 3, r), 0, 0, 360, band, max(3, r // 8), cv2.LINE_AA)
        cv2.line(rgb, (c - r, c), (c + r, c), band, max(3, r // 10), cv2.LINE_AA)
        rgb[mask == 0] = 0
    else:  # toy: a body with two uneven ears and one arm, eyes and a belly patch
        rx, ry = int(s * 0.16 * k), int(s * 0.2)
        cv2.ellipse(mask, (c, c + ry // 3), (rx, ry), 0, 0, 360, 255, -1)
        cv2.circle(mask, (c, c - ry // 2), int(rx * 0.8), 255, -1)
        cv2.circle(mask, (c - rx // 2, c - ry), rx // 3, 255, -1)
        cv2.circle(mask, (c + rx // 2 + 4, c - ry - 4), rx // 4, 255, -1)
        cv2.ellipse(mask, (c + rx, c + ry // 3), (rx // 2, rx // 5), 30, 0, 360, 255, -1)
        rgb = _shaded(mask > 0, colour, rng, radial=True)
        for ex in (c - rx // 3, c + rx // 3):
            cv2.circle(rgb, (ex, c - ry // 2), max(2, rx // 9), (20, 20, 20), -1)
        cv2.ellipse(rgb, (c - rx // 6, c + ry // 2), (rx // 2, ry // 3), 10, 0, 360, (235, 225, 215), -1)
        cv2.putText(
            rgb, word[:2], (c - rx // 2, c + ry // 2 + 4), cv2.FONT_HERSHEY_SIMPLEX, s / 800, (30, 30, 120), 2
        )
        rgb[mask == 0] = 0
    return rgb, mask > 0


def studio(seed: int = 0, shape: tuple[int, int] = (384, 384)) -> np.ndarray:
    """A studio backdrop: a smooth two-tone gradient with a soft vignette, as product shots have."""
    rng = np.random.default_rng(seed)
    h, w = shape
    a, b = rng.integers(120, 250, 3).astype(np.float32), rng.integers(90, 240, 3).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    t = ((xx / w - 0.5) * np.cos(angle) + (yy / h - 0.5) * np.sin(angle) + 0.7) / 1.4
    img = a * (1 - t[..., None]) + b * t[..., None]
    vignette = 1 - rng.uniform(0.05, 0.2) * (np.hypot(xx / w - 0.5, yy / h - 0.5) / 0.7) ** 2
    img = img * vignette[..., None] + rng.normal(0, 1.5, (h, w, 1))
    return np.clip(img, 0, 255).astype(np.uint8)


def _text_alpha(shape, text: str, org, font, scale: float, thick: int) -> np.ndarray:
    canvas = np.zeros(shape, np.uint8)
    cv2.putText(canvas, text, org, font, scale, 255, thick, cv2.LINE_AA)
    return canvas.astype(np.float32) / 255.0


def free_spot(
    shape, box_wh, blocked: np.ndarray, rng: np.random.Generator, tries: int = 80
) -> tuple[int, int]:
    """Top-left corner of a box that avoids ``blocked`` (the product and earlier overlays); the least
    bad spot when none is free."""
    h, w = shape
    bw, bh = box_wh
    margin = max(2, int(0.03 * min(h, w)))
    best, best_hit = (margin, margin), np.inf
    integral = cv2.integral(blocked.astype(np.uint8))
    for _ in range(tries):
        x = int(rng.integers(margin, max(margin + 1, w - bw - margin)))
        y = int(rng.integers(margin, max(margin + 1, h - bh - margin)))
        x1, y1 = min(w, x + bw), min(h, y + bh)
        hit = integral[y1, x1] - integral[y, x1] - integral[y1, x] + integral[y, x]
        if hit < best_hit:
            best, best_hit = (x, y), hit
        if hit == 0:
            break
    return best


def _fit_text(text: str, font, height: float) -> tuple[float, int, tuple[int, int]]:
    (_, th), _ = cv2.getTextSize(text, font, 1.0, 2)
    scale = height / max(th, 1)
    thick = max(1, round(height / 9))
    (tw, th), base = cv2.getTextSize(text, font, scale, thick)
    return scale, thick, (tw, th + base)


def overlays(image: np.ndarray, product_mask: np.ndarray, rng: np.random.Generator) -> dict[str, Layer]:
    """Promo text, a badge and a brand logo placed beside the product, each as its own layer, so a
    residue defect can leave exactly one of them behind at a chosen strength."""
    h, w = product_mask.shape
    side = min(h, w)
    grow = max(3, int(0.04 * side)) * 2 + 1
    blocked = cv2.dilate(product_mask.astype(np.uint8), np.ones((grow, grow), np.uint8)) > 0
    out: dict[str, Layer] = {}
    for name in ("text", "badge", "logo"):
        layer, box = _overlay(name, image, blocked, rng)
        out[name] = layer
        x0, y0, x1, y1 = box
        blocked[max(0, y0 - 4) : y1 + 4, max(0, x0 - 4) : x1 + 4] = True
    return out


def _ink_for(image: np.ndarray, box) -> tuple[int, int, int]:
    """Dark ink on a light spot, light ink on a dark one: promo text is made to be read."""
    x0, y0, x1, y1 = box
    patch = image[y0:y1, x0:x1]
    light = patch.size == 0 or float(patch.mean()) > 128
    return (25, 25, 30) if light else (250, 250, 245)


def _overlay(name: str, image: np.ndarray, blocked: np.ndarray, rng: np.random.Generator):
    h, w = blocked.shape
    side = min(h, w)
    font = FONTS[int(rng.integers(len(FONTS)))]
    rgb = np.zeros((h, w, 3), np.uint8)
    if name == "text":
        text = PROMO[int(rng.integers(len(PROMO)))]
        scale, thick, (tw, th) = _fit_text(text, font, side * rng.uniform(0.045, 0.07))
        tw = min(tw, w - 8)
        x, y = free_spot((h, w), (tw, th), blocked, rng)
        box = (x, y, x + tw, y + th)
        alpha = _text_alpha((h, w), text, (x, y + int(th * 0.8)), font, scale, thick)
        rgb[:] = _ink_for(image, box)
    elif name == "badge":
        text = BADGES[int(rng.integers(len(BADGES)))]
        scale, thick, (tw, th) = _fit_text(text, font, side * rng.uniform(0.035, 0.05))
        pad = th // 2
        bw, bh = tw + 2 * pad + th, th + 2 * pad
        x, y = free_spot((h, w), (bw, bh), blocked, rng)
        box = (x, y, x + bw, y + bh)
        pill = np.zeros((h, w), np.uint8)
        r = bh // 2
        cv2.rectangle(pill, (x + r, y), (x + bw - r, y + bh), 255, -1)
        cv2.circle(pill, (x + r, y + r), r, 255, -1, cv2.LINE_AA)
        cv2.circle(pill, (x + bw - r, y + r), r, 255, -1, cv2.LINE_AA)
        alpha = pill.astype(np.float32) / 255.0
        fill = np.array(BADGE_FILLS[int(rng.integers(len(BADGE_FILLS)))], np.uint8)
        ink = (20, 20, 20) if fill.astype(int).sum() > 380 else (250, 250, 250)
        rgb[:] = fill
        glyphs = _text_alpha((h, w), text, (x + r + pad // 2, y + pad + int(th * 0.75)), font, scale, thick)
        rgb = (rgb * (1 - glyphs[..., None]) + np.array(ink) * glyphs[..., None]).astype(np.uint8)
    else:
        text = BRANDS[int(rng.integers(len(BRANDS)))]
        scale, thick, (tw, th) = _fit_text(text, font, side * rng.uniform(0.035, 0.05))
        r = th // 2 + 1
        bw, bh = tw + 3 * r + 4, th + 2
        x, y = free_spot((h, w), (bw, bh), blocked, rng)
        box = (x, y, x + bw, y + bh)
        canvas = np.zeros((h, w), np.uint8)
        cv2.circle(canvas, (x + r, y + bh // 2), r, 255, max(1, thick), cv2.LINE_AA)
        cv2.putText(canvas, text, (x + 2 * r + 6, y + int(th * 0.8)), font, scale, 255, thick, cv2.LINE_AA)
        alpha = canvas.astype(np.float32) / 255.0
        rgb[:] = _ink_for(image, box)
    return Layer(rgb, alpha), box


BADGE_FILLS = [(250, 200, 30), (220, 40, 50), (20, 20, 20), (40, 120, 220), (250, 250, 250), (60, 170, 90)]
