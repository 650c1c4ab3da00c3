"""Write a labelled set (originals/, edited/, manifest.jsonl, labels.jsonl) in the benchmark's format."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from maskgate.core.types import CRITERIA
from maskgate.io.images import load_image, save_image
from maskgate.synth.defects import DEFECTS
from maskgate.synth.draw import add_overlays, compose, product, scene


def _labels(kind: str, fails: str | None) -> dict:
    lab = {c: True for c in CRITERIA}
    if kind == "isolated":
        lab["background"] = None
    if fails:
        lab[fails] = False
    return lab


def _user_products(folder: Path, size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Product photos with ``masks/<stem>.png`` (255 = product), or RGBA cut-outs."""
    out = []
    masks = folder / "masks"
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp") or not p.is_file():
            continue
        im = load_image(p)
        mpath = next((m for m in masks.glob(p.stem + ".*")), None) if masks.is_dir() else None
        mask = (
            load_image(mpath).rgb[..., 0] > 127
            if mpath
            else (im.alpha > 127 if im.alpha is not None else None)
        )
        if mask is None:
            continue
        rgb = cv2.resize(im.rgb, (size, size), interpolation=cv2.INTER_AREA)
        mask = cv2.resize(mask.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST) > 0
        out.append((rgb, mask))
    return out


def build_set(
    out_dir: Path,
    n_products: int = 4,
    seed: int = 0,
    products: Path | None = None,
    per_product: int | None = None,
    size: int = 384,
) -> Path:
    out_dir = Path(out_dir)
    (out_dir / "originals").mkdir(parents=True, exist_ok=True)
    (out_dir / "edited").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    items = (
        _user_products(Path(products), size) if products else [product(size, v) for v in range(n_products)]
    )
    manifest, labels = [], []
    for i, (rgb, mask) in enumerate(items):
        stem = f"product{i:02d}"
        original = add_overlays(compose(scene(seed * 100 + i, size, busy=False), rgb, mask))
        save_image(out_dir / "originals" / f"{stem}.jpg", original)
        plan = [
            (k, d)
            for d in DEFECTS
            for k in ("isolated", "inpainted")
            if DEFECTS[d][2 if k == "isolated" else 3]
        ]
        if per_product:
            plan = [plan[j] for j in rng.choice(len(plan), min(per_product, len(plan)), replace=False)]
        for kind, name in plan:
            fn, fails, *_ = DEFECTS[name]
            bg = None if kind == "isolated" else scene(seed * 100 + 50 + i, size)
            edit = fn(rgb, mask, bg, rng)
            pid = f"{stem}__{'iso' if kind == 'isolated' else 'bg'}_{name}"
            rel = f"edited/{pid}.jpg"
            save_image(out_dir / rel, edit)
            rec = {"id": pid, "original": f"originals/{stem}.jpg", "edited": rel}
            manifest.append(rec)
            lab = _labels(kind, fails)
            labels.append(
                {
                    **rec,
                    "kind": kind,
                    "defect": name,
                    "labels": lab,
                    "acceptable": all(v is not False for v in lab.values()),
                }
            )
    (out_dir / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in manifest))
    path = out_dir / "labels.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in labels))
    return path
