"""One generator per defect family: a clean edit's parts and a severity in, the broken edit out.

Each returns the severity it really produced, measured on the edit in the unit its family's
visibility rule is stated in (families.py): a badge cannot be made fainter than its own contrast
allows, a mirror changes only what is asymmetric. ``None`` means the family cannot show on this
pair (a hue rotation of a grey product, a halo of an old background the colour of the backdrop).
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

import cv2
import numpy as np
from PIL import Image

from maskgate.synth.benign import Stage
from maskgate.synth.draw import free_spot
from maskgate.synth.layers import (
    Edit,
    Layer,
    as_u8,
    bbox,
    centre,
    delta_e,
    from_lab,
    lab,
    long_side,
    mix,
    over,
    region_weight,
    remap_layer,
    similarity,
    warp_layer,
    weighted_mean,
)

VISIBLE_DE = 12.0  # a colour change a reviewer sees on one pixel region (CIE76), for measured shares
BACKDROP_CONTRAST = 12.0  # old background vs backdrop: below it a halo or slab cannot be seen at all
NOISE_FLOOR = 8.0  # grey levels: blocky colour noise this strong shows even on a smooth backdrop


@dataclass(frozen=True)
class Made:
    edit: Edit
    severity: float


def ok(st: Stage, severity: float, rng: np.random.Generator) -> Made:
    return Made(st.compose(), 0.0)


def scaled_unit(st: Stage, share: float, floor_px: float) -> float:
    """A visibility unit: ``share`` of the product's long side, never under ``floor_px`` pixels,
    since a blur or a fringe under a pixel is invisible on a small product whatever its share."""
    return max(share * long_side(st.product.mask), floor_px)


# ---------------------------------------------------------------- residue


def _residue(name: str):
    def make(st: Stage, severity: float, rng: np.random.Generator) -> Made | None:
        layer = st.overlay(name)
        if layer.alpha.sum() < 4:
            return None
        smudge = float(rng.uniform(0, 1.2))
        if smudge > 0.3:
            layer = Layer(layer.rgb, cv2.GaussianBlur(layer.alpha, (0, 0), smudge))
        clean = st.compose()
        options = [(_contrast(clean, v), v) for v in (layer, _inverted(layer))]
        full, chosen = next((o for o in options if o[0] >= severity), max(options, key=lambda o: o[0]))

        def render(opacity: float) -> Made:
            edit = clean.under(chosen.faded(opacity))
            return Made(edit, _contrast_of(clean, edit, chosen.alpha))

        return _faded_to(severity, full, render)

    make.__name__ = f"residue_{name}"
    make.__doc__ = f"The original's {name} left behind, faded to the contrast asked for."
    return make


def _faded_to(severity: float, full: float, render) -> Made:
    """The opacity whose measured contrast is ``severity``: contrast is not linear in opacity
    (two-tone badges, Lab), so a few secant steps from the linear guess."""
    opacity = min(1.0, severity / max(full, 1e-6))
    made = render(opacity)
    for _ in range(4):
        if made.severity <= 0 or abs(made.severity - severity) <= 0.03 * max(severity, 1.0) or opacity >= 1.0:
            break
        opacity = min(1.0, opacity * severity / made.severity)
        made = render(opacity)
    return made


def _contrast(clean: Edit, layer: Layer) -> float:
    return _contrast_of(clean, clean.under(layer), layer.alpha)


def _contrast_of(clean: Edit, edit: Edit, weight: np.ndarray) -> float:
    return weighted_mean(delta_e(edit.flat(), clean.flat()), weight)


def _inverted(layer: Layer) -> Layer:
    """The same overlay with its lightness flipped: dark text where the new backdrop is light."""
    im = lab(layer.rgb)
    im[..., 0] = 100.0 - im[..., 0]
    return Layer(from_lab(im), layer.alpha)


residue_text = _residue("text")
residue_badge = _residue("badge")
residue_logo = _residue("logo")


def residue_bg(st: Stage, severity: float, rng: np.random.Generator) -> Made | None:
    """A slab of the old background still attached to the cut-out, of ``severity`` times the
    product's area."""
    mask = st.product.mask
    area = float(mask.sum())
    edge = _outline_points(mask)
    if area < 16 or not len(edge):
        return None
    y, x = edge[int(rng.integers(len(edge)))]
    yy, xx = np.mgrid[0 : mask.shape[0], 0 : mask.shape[1]]
    dist = np.hypot(xx - x, yy - y)
    outside = ~mask
    lo, hi = 0.0, float(max(mask.shape))
    for _ in range(18):  # the disc radius whose part outside the product has the asked area
        r = (lo + hi) / 2
        lo, hi = (r, hi) if ((dist <= r) & outside).sum() < severity * area else (lo, r)
    slab = ((dist <= hi) & outside).astype(np.float32)
    if slab.sum() == 0:
        return Made(st.compose(), 0.0)
    if weighted_mean(delta_e(st.old_bg, st.back), slab) < BACKDROP_CONTRAST:
        return None
    layer = _stack(st.product, Layer(st.old_bg, slab))
    return Made(st.compose(layer), float(slab.sum() / area))


def _outline_points(mask: np.ndarray) -> np.ndarray:
    inner = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    return np.argwhere(mask & ~inner)


def _stack(top: Layer, bottom: Layer) -> Layer:
    """``top`` over ``bottom`` as one layer: a product dragging a piece of its old background."""
    a = top.alpha + bottom.alpha * (1 - top.alpha)
    pm = top.rgb * top.alpha[..., None] + bottom.rgb * (bottom.alpha * (1 - top.alpha))[..., None]
    rgb = pm / np.maximum(a, 1e-4)[..., None]
    return Layer(np.clip(rgb + 0.5, 0, 255).astype(np.uint8), a.astype(np.float32))


# ---------------------------------------------------------------- segmentation


def cutoff(st: Stage, severity: float, rng: np.random.Generator) -> Made | None:
    """A straight cut through the product, from a random side, removing ``severity`` of its area."""
    alpha = st.product.alpha
    if alpha.sum() < 16:
        return None
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0 : alpha.shape[0], 0 : alpha.shape[1]].astype(np.float32)
    proj = xx * np.float32(np.cos(angle)) + yy * np.float32(np.sin(angle))
    inside = proj[alpha > 0.5]
    if severity <= 0:
        return Made(st.compose(), 0.0)
    edge = float(np.quantile(inside, 1 - min(severity, 1.0)))
    keep = np.clip(edge - proj + 0.5, 0, 1)
    cut = Layer(st.product.rgb, (alpha * keep).astype(np.float32))
    return Made(st.compose(cut), float(1 - cut.alpha.sum() / alpha.sum()))


# ---------------------------------------------------------------- quality


def _degraded(st: Stage, op, grow: float, on_alpha: bool = True) -> Edit:
    """``op`` applied to the product region (its edge included) of the clean edit."""
    clean = st.compose()
    weight = region_weight(st.product.alpha, grow)
    rgb = mix(clean.rgb, op(clean.rgb), weight)
    if clean.alpha is None or not on_alpha:
        return Edit(rgb, clean.alpha)
    alpha = op(as_u8(clean.alpha)).astype(np.float32) / 255.0
    return Edit(rgb, (clean.alpha * (1 - weight) + alpha * weight).astype(np.float32))


def quality_blur(st: Stage, severity: float, rng: np.random.Generator) -> Made:
    sigma = severity * scaled_unit(st, 0.006, 1.0)
    if sigma < 0.05:
        return Made(st.compose(), severity)
    return Made(_degraded(st, lambda im: cv2.GaussianBlur(im, (0, 0), sigma), 2 * sigma), severity)


def quality_pixelate(st: Stage, severity: float, rng: np.random.Generator) -> Made:
    block = severity * scaled_unit(st, 0.012, 2.0)
    if block <= 1.0:
        return Made(st.compose(), severity)

    def blocks(im: np.ndarray) -> np.ndarray:
        h, w = im.shape[:2]
        small = cv2.resize(
            im, (max(1, round(w / block)), max(1, round(h / block))), interpolation=cv2.INTER_AREA
        )
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)

    return Made(_degraded(st, blocks, block), severity)


def quality_jpeg(st: Stage, severity: float, rng: np.random.Generator) -> Made:
    quality = int(np.clip(round(100 - severity), 1, 100))

    def jpeg(im: np.ndarray) -> np.ndarray:
        buf = BytesIO()
        Image.fromarray(im).save(buf, format="JPEG", quality=quality)
        return np.asarray(Image.open(buf).convert("RGB"))

    return Made(_degraded(st, jpeg, 8, on_alpha=False), float(100 - quality))


def quality_tint_cast(st: Stage, severity: float, rng: np.random.Generator) -> Made | None:
    """The product's colours pulled towards one cast colour (the old background's, as a leaked
    matte does, or a random one when that is too close to the product) by ``severity`` ΔE."""
    mask = st.product.mask
    if mask.sum() < 16:
        return None
    prod = lab(st.product.rgb)
    cast = lab(st.old_bg)[mask].mean(axis=0)
    full = float(np.linalg.norm(prod[mask] - cast, axis=1).mean())
    if full < 1.5 * severity:
        hue = rng.uniform(0, 2 * np.pi)
        cast = np.array([rng.uniform(40, 75), 45 * np.cos(hue), 45 * np.sin(hue)], np.float32)
        full = float(np.linalg.norm(prod[mask] - cast, axis=1).mean())
    t = min(0.95, severity / max(full, 1e-6))
    tinted = from_lab(prod + np.float32(t) * (cast.astype(np.float32) - prod))
    layer = Layer(tinted, st.product.alpha)
    return Made(st.compose(layer), float(delta_e(tinted, st.product.rgb)[mask].mean()))


def quality_tint_halo(st: Stage, severity: float, rng: np.random.Generator) -> Made | None:
    """A ring of the old background left around the outline, ``severity`` visibility units wide."""
    width = severity * scaled_unit(st, 0.012, 2.0)
    mask = st.product.mask
    dist = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5)
    ring = np.clip(width + 0.5 - dist, 0, 1).astype(np.float32)
    ring[mask] = 0
    if ring.sum() > 0 and weighted_mean(delta_e(st.old_bg, st.back), ring) < BACKDROP_CONTRAST:
        return None
    return Made(st.compose(_stack(st.product, Layer(st.old_bg, ring))), severity)


# ---------------------------------------------------------------- comprehensibility


def tiny(st: Stage, severity: float, rng: np.random.Generator) -> Made | None:
    """The product shrunk until its long side is ``1 - severity`` of the frame's short side."""
    side = min(st.shape)
    now = long_side(st.product.mask)
    if now == 0:
        return None
    target = (1 - severity) * side
    if target / now > 1.3:
        return None  # only shrinking (or a slight enlargement) keeps the product sharp
    z = target / now
    cx, cy = centre(st.product.mask)
    box = bbox(st.product.mask)
    assert box is not None
    bw, bh = (box[2] - box[0]) * z, (box[3] - box[1]) * z
    margin = 0.02 * side
    nx = rng.uniform(margin + bw / 2, max(margin + bw / 2 + 1, st.shape[1] - margin - bw / 2))
    ny = rng.uniform(margin + bh / 2, max(margin + bh / 2 + 1, st.shape[0] - margin - bh / 2))
    small = warp_layer(st.product, similarity(z, (cx, cy), (nx - cx, ny - cy)), (st.shape[1], st.shape[0]))
    return Made(st.compose(small), float(1 - long_side(small.mask) / side))


# ---------------------------------------------------------------- consistency


def altered_flip(st: Stage, severity: float, rng: np.random.Generator) -> Made | None:
    """The product mirrored in place; its severity is how much of it the mirror visibly changes."""
    box = bbox(st.product.mask)
    if box is None:
        return None
    flip = np.array([[-1, 0, box[0] + box[2] - 1], [0, 1, 0]], np.float32)
    mirrored = warp_layer(st.product, flip, (st.shape[1], st.shape[0]))
    return Made(st.compose(mirrored), _changed_share(st, mirrored))


def _changed_share(st: Stage, altered: Layer) -> float:
    """Share of the product (either version) whose colour changed by VISIBLE_DE or more."""
    before, after = st.compose().flat(), st.compose(altered).flat()
    union = st.product.mask | altered.mask
    changed = (delta_e(before, after) >= VISIBLE_DE) & union
    return float(changed.sum() / max(1, union.sum()))


def altered_hue(st: Stage, severity: float, rng: np.random.Generator) -> Made | None:
    """The product's hues rotated by ``severity`` degrees, lightness and chroma kept. Only for
    products that have colour: a grey product has no hue to change."""
    mask = st.product.mask
    im = lab(st.product.rgb)
    chroma = np.hypot(im[..., 1], im[..., 2])
    if mask.sum() < 16 or (chroma[mask] > 15).mean() < 0.1:
        return None
    t = np.deg2rad(severity) * (1 if rng.random() < 0.5 else -1)
    a, b = im[..., 1].copy(), im[..., 2].copy()
    im[..., 1] = a * np.cos(t) - b * np.sin(t)
    im[..., 2] = a * np.sin(t) + b * np.cos(t)
    return Made(st.compose(Layer(from_lab(im), st.product.alpha)), severity)


def altered_patch(st: Stage, severity: float, rng: np.random.Generator) -> Made | None:
    """An ellipse of the product replaced by another part of it (the product turned half round),
    sized until ``severity`` of the product visibly changed."""
    mask = st.product.mask
    if mask.sum() < 64 or severity <= 0:
        return Made(st.compose(), 0.0) if mask.sum() >= 64 else None
    cx, cy = centre(mask)
    turned = warp_layer(
        st.product,
        cv2.getRotationMatrix2D((cx, cy), float(rng.choice([90, 180, 270])), 1.0),
        (st.shape[1], st.shape[0]),
    )
    pts = np.argwhere(mask & turned.mask)
    if not len(pts):
        return None
    py, px = pts[int(rng.integers(len(pts)))]
    aspect, angle = rng.uniform(0.5, 2.0), rng.uniform(0, 180)
    area, best = severity * mask.sum(), None
    for _ in range(6):  # grow or shrink the ellipse until the visible change is the one asked for
        rx = np.sqrt(area * aspect / np.pi)
        region = np.zeros(st.shape, np.uint8)
        cv2.ellipse(
            region, (int(px), int(py)), (max(1, int(rx)), max(1, int(rx / aspect))), angle, 0, 360, 1, -1
        )
        swap = (region > 0) & mask & turned.mask
        patched = Layer(np.where(swap[..., None], turned.rgb, st.product.rgb), st.product.alpha)
        got = _changed_share(st, patched)
        if best is None or abs(got - severity) < abs(best[1] - severity):
            best = (patched, got)
        if got <= 0 or abs(got - severity) < 0.1 * severity:
            break
        area *= min(4.0, severity / got)
    assert best is not None
    return Made(st.compose(best[0]), best[1])


def altered_warp(st: Stage, severity: float, rng: np.random.Generator) -> Made | None:
    """A smooth random deformation whose largest displacement on the product is ``severity``
    visibility units."""
    mask = st.product.mask
    size = long_side(mask)
    if size < 8:
        return None
    h, w = st.shape
    cell = max(4.0, size / rng.uniform(1.5, 3.0))
    gh, gw = int(np.ceil(h / cell)) + 2, int(np.ceil(w / cell)) + 2
    field = [
        cv2.resize(rng.normal(0, 1, (gh, gw)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
        for _ in range(2)
    ]
    peak = float(np.hypot(field[0], field[1])[mask].max())
    amp = severity * scaled_unit(st, 0.02, 1.5) / max(peak, 1e-6)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    warped = remap_layer(st.product, xx + field[0] * np.float32(amp), yy + field[1] * np.float32(amp))
    return Made(st.compose(warped), severity)


# ---------------------------------------------------------------- background


def bg_bad_noise(st: Stage, severity: float, rng: np.random.Generator) -> Made:
    """Blocky colour noise over the new background, ``severity`` times as strong (std) as the
    background's own fine texture (at least NOISE_FLOOR grey levels): grain hides in grain."""
    h, w = st.shape
    seen = ~st.product.mask
    unit = max(_fine_texture(st.back, seen), NOISE_FLOOR)
    block = int(rng.integers(1, 5))
    noise = rng.normal(0, max(severity, 0.0) * unit, (int(np.ceil(h / block)), int(np.ceil(w / block)), 3))
    noise = np.repeat(np.repeat(noise, block, 0), block, 1)[:h, :w]
    back = np.clip(st.back + noise, 0, 255).astype(np.uint8)
    diff = back.astype(np.float32) - st.back
    return Made(st.compose(back=back), float(diff[seen].std() / unit))


def _fine_texture(img: np.ndarray, where: np.ndarray) -> float:
    """Std of what a 2-px blur removes: the grain a noise must outdo to be seen."""
    im = img.astype(np.float32)
    return float((im - cv2.GaussianBlur(im, (0, 0), 2.0))[where].std()) if where.any() else 0.0


def bg_bad_smear(st: Stage, severity: float, rng: np.random.Generator) -> Made:
    """The new background streaked along one direction until it changes by ``severity`` grey
    levels on average, grain aside: a smooth backdrop can take a long smear unseen, a busy one
    cannot."""
    angle = rng.uniform(0, np.pi)
    seen = ~st.product.mask
    before = _coarse(st.back)
    lo, hi = 1.0, 0.3 * min(st.shape)
    best = (st.back, 0.0)
    for _ in range(9):
        length = (lo + hi) / 2
        back = _streak(st.back, length, angle)
        got = float(np.abs(_coarse(back) - before)[seen].mean())
        if abs(got - severity) < abs(best[1] - severity):
            best = (back, got)
        lo, hi = (length, hi) if got < severity else (lo, length)
    return Made(st.compose(back=best[0]), best[1])


def _coarse(img: np.ndarray) -> np.ndarray:
    """Grey with the grain blurred out: a smear is seen in shapes, not in lost grain."""
    return cv2.GaussianBlur(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), 2.0)


def _streak(img: np.ndarray, length: float, angle: float) -> np.ndarray:
    k = 2 * int(np.ceil(length / 2)) + 1
    kernel = np.zeros((k, k), np.float32)
    c, dx, dy = k // 2, np.cos(angle) * length / 2, np.sin(angle) * length / 2
    cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA)
    return cv2.filter2D(img, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT)


def bg_bad_ghosts(st: Stage, severity: float, rng: np.random.Generator) -> Made | None:
    """Smaller, faded copies of the product painted into the new background, as a generator that
    half-remembers its input does; ``severity`` is their mean ΔE against the background."""
    size = long_side(st.product.mask)
    if size < 8:
        return None
    blocked = st.product.mask.copy()
    ghost = Layer(np.zeros_like(st.product.rgb), np.zeros(st.shape, np.float32))
    cx, cy = centre(st.product.mask)
    for _ in range(int(rng.integers(1, 4))):
        z = rng.uniform(0.3, 0.6)
        box = bbox(st.product.mask)
        assert box is not None
        bw, bh = int((box[2] - box[0]) * z) + 1, int((box[3] - box[1]) * z) + 1
        x, y = free_spot(st.shape, (bw, bh), blocked, rng, tries=40)
        tx, ty = x + bw / 2 - cx, y + bh / 2 - cy
        copy = warp_layer(st.product, similarity(z, (cx, cy), (tx, ty)), (st.shape[1], st.shape[0]))
        copy = Layer(copy.rgb, (copy.alpha * ~blocked).astype(np.float32))
        ghost = _stack(copy, ghost)
        blocked |= copy.alpha > 0
    weight = ghost.alpha * ~st.product.mask
    if weight.sum() < 4:
        return None
    full = weighted_mean(delta_e(over(ghost, st.back), st.back), weight)

    def render(opacity: float) -> Made:
        back = over(ghost.faded(opacity), st.back)
        return Made(st.compose(back=back), weighted_mean(delta_e(back, st.back), weight))

    return _faded_to(severity, full, render)
