"""Where products and backgrounds come from: drawn ones by default (the demo and the tests need no
files), or the user's folders, so a corpus can be built from a real catalogue.

Each product carries its source id (``drawn:3``, ``folder:<stem>``); it becomes the pair's
cross-validation group, so one product's pairs never straddle folds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

import cv2
import numpy as np

from maskgate.io.images import load_image
from maskgate.synth.draw import drawn_product, overlays, product, scene, studio
from maskgate.synth.layers import Layer, over, resize_cover

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
CUTOUT_FILL = 0.65  # an RGBA cut-out's long side over its canvas: room for framing, overlays and tiny


@dataclass(frozen=True)
class ProductSource:
    group: str
    rgb: np.ndarray
    alpha: np.ndarray  # float32 [0, 1]
    scene: np.ndarray | None  # the photo's own background; None when the product needs one


@dataclass(frozen=True)
class Original:
    """The ad creative every edit of one product starts from, with its parts kept apart."""

    image: np.ndarray
    product: Layer
    old_bg: np.ndarray  # the original's background (what a bad cut-out drags along)
    overlays: dict[str, Layer]
    background: str  # the source id of the original's background


Loader = Callable[[], ProductSource]


def drawn_products(n: int, size_of: Callable[[int], int], mugs_only: bool) -> list[tuple[str, Loader]]:
    """The demo draws mugs (what the shipped calibration knows); a corpus draws every shape."""
    draw = product if mugs_only else drawn_product

    def load(i: int) -> ProductSource:
        rgb, mask = draw(size_of(i), i)
        return ProductSource(f"drawn:{i}", rgb, mask.astype(np.float32), None)

    return [(f"drawn:{i}", partial(load, i)) for i in range(n)]


def folder_products(folder: Path, size_of: Callable[[int], int]) -> list[tuple[str, Loader]]:
    """Product photos with ``masks/<stem>.png`` (255 = product), or RGBA cut-outs."""
    folder = Path(folder)
    masks = folder / "masks"
    found: list[tuple[str, Loader]] = []
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        mask_path = next(iter(sorted(masks.glob(p.stem + ".*"))), None) if masks.is_dir() else None
        i = len(found)
        found.append((f"folder:{p.stem}", partial(_load_product, p, mask_path, size_of(i))))
    return found


def _load_product(path: Path, mask_path: Path | None, size: int) -> ProductSource:
    im = load_image(path)
    group = f"folder:{path.stem}"
    if mask_path is not None:
        mask = cv2.resize(
            load_image(mask_path).rgb[..., 0].astype(np.float32) / 255.0,
            im.size,
            interpolation=cv2.INTER_LINEAR,
        )
        f = size / max(im.size)
        wh = (max(1, round(im.size[0] * f)), max(1, round(im.size[1] * f)))
        rgb = cv2.resize(im.rgb, wh, interpolation=cv2.INTER_AREA)
        alpha = np.clip(cv2.resize(mask, wh, interpolation=cv2.INTER_AREA), 0, 1)
        return ProductSource(group, rgb, alpha, rgb)
    if im.alpha is None:
        raise ValueError(f"{path.name}: no masks/{path.stem}.png and no alpha channel")
    return _cutout_on_canvas(group, im.rgb, im.alpha.astype(np.float32) / 255.0, size)


def _cutout_on_canvas(group: str, rgb: np.ndarray, alpha: np.ndarray, size: int) -> ProductSource:
    """A tightly cropped cut-out, centred on a square canvas it fills to CUTOUT_FILL."""
    ys, xs = np.nonzero(alpha > 0.5)
    if not len(xs):
        raise ValueError(f"{group}: empty alpha")
    rgb, alpha = (
        rgb[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1],
        alpha[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1],
    )
    f = CUTOUT_FILL * size / max(rgb.shape[:2])
    wh = (max(1, round(rgb.shape[1] * f)), max(1, round(rgb.shape[0] * f)))
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR
    rgb, alpha = cv2.resize(rgb, wh, interpolation=interp), cv2.resize(alpha, wh, interpolation=interp)
    canvas, cover = np.zeros((size, size, 3), np.uint8), np.zeros((size, size), np.float32)
    y0, x0 = (size - wh[1]) // 2, (size - wh[0]) // 2
    canvas[y0 : y0 + wh[1], x0 : x0 + wh[0]] = rgb
    cover[y0 : y0 + wh[1], x0 : x0 + wh[0]] = np.clip(alpha, 0, 1)
    return ProductSource(group, canvas, cover, None)


class Backgrounds:
    """New backgrounds of every kind: the user's photos when given, studio gradients, busy drawn
    scenes. Each comes with a source id, so a protocol can hold whole background sources out."""

    def __init__(self, folder: Path | None = None):
        self.photos = (
            [p for p in sorted(Path(folder).iterdir()) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
            if folder
            else []
        )
        if folder and not self.photos:
            raise ValueError(f"no background photos in {folder}")

    def draw(
        self, rng: np.random.Generator, shape: tuple[int, int], avoid: str = ""
    ) -> tuple[str, np.ndarray]:
        """A new background other than ``avoid`` (the original's own: an inpainted edit on the
        original's background would be an erasure, not a new background)."""
        kinds = ["photo", "photo", "photo", "studio", "scene"] if self.photos else ["studio", "scene"]
        for _ in range(8):
            kind = kinds[int(rng.integers(len(kinds)))]
            n = int(rng.integers(1 << 20))
            if self.source_id(kind, n) != avoid:
                break
        else:
            kind = "studio"
        return self.make(kind, n, shape)

    def source_id(self, kind: str, n: int) -> str:
        return f"photo:{self.photos[n % len(self.photos)].stem}" if kind == "photo" else f"{kind}:{n}"

    def make(self, kind: str, n: int, shape: tuple[int, int]) -> tuple[str, np.ndarray]:
        h, w = shape
        if kind == "photo":
            p = self.photos[n % len(self.photos)]
            return f"photo:{p.stem}", resize_cover(_photo(str(p)), (w, h))
        if kind == "studio":
            return f"studio:{n}", studio(n, shape)
        if kind == "calm":  # a product shot's quiet backdrop: the originals' default
            return f"calm:{n}", resize_cover(scene(n, max(shape), busy=False), (w, h))
        return f"scene:{n}", resize_cover(scene(n, max(shape), busy=True), (w, h))


@lru_cache(maxsize=16)
def _photo(path: str) -> np.ndarray:
    return load_image(path, max_side=1024).rgb


def make_original(
    src: ProductSource, scene_id: str, scene_img: np.ndarray, rng: np.random.Generator
) -> Original:
    """The product on its own photo (or on ``scene_img`` when it has none), plus promo text, a badge
    and a logo beside it: the overlays residue defects leave behind."""
    layer = Layer(src.rgb, src.alpha)
    back, back_id = (src.scene, f"own:{src.group}") if src.scene is not None else (scene_img, scene_id)
    base = over(layer, back)
    layers = overlays(base, layer.mask, rng)
    image = base
    for ov in layers.values():
        image = over(ov, image)
    return Original(image, layer, back, layers, back_id)
