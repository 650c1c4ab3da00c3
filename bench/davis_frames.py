"""One frame per DAVIS sequence, with its ground-truth mask, for bench/build_real_tools.py.

    python bench/davis_frames.py DAVIS_ROOT OUT [--min-share 0.9]

DAVIS_ROOT holds ``JPEGImages/480p/<seq>/<n>.jpg`` and ``Annotations/480p/<seq>/<n>.png`` (DAVIS
2016, one object per sequence, 255 = object). Each sequence's middle frame (the ``n // 2``-th of
its sorted frames) is copied byte for byte to ``OUT/images/<seq>.jpg`` and its mask to
``OUT/masks/<seq>.png``. A frame whose mask is not one object (its largest connected component
under ``--min-share`` of the mask: a horse and its rider apart, a flock) is left out, since a
segmenter that finds one of several objects would be labelled as losing the product
(bench/fetch_sources.md). Consecutive frames of one sequence are near-duplicates, hence one each.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import cv2
import numpy as np


def one_object(mask: np.ndarray, min_share: float) -> bool:
    fg = (mask > 127).astype(np.uint8)
    total = int(fg.sum())
    if not total:
        return False
    n, _, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    return n > 1 and stats[1:, cv2.CC_STAT_AREA].max() >= min_share * total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--min-share", type=float, default=0.9)
    a = ap.parse_args()
    images, masks = a.root / "JPEGImages" / "480p", a.root / "Annotations" / "480p"
    if not images.is_dir() or not masks.is_dir():
        raise SystemExit(f"{a.root}: no JPEGImages/480p and Annotations/480p (a DAVIS 2016 folder)")
    (a.out / "images").mkdir(parents=True, exist_ok=True)
    (a.out / "masks").mkdir(parents=True, exist_ok=True)
    kept, left = [], []
    for seq in sorted(p for p in images.iterdir() if p.is_dir()):
        frames = sorted(seq.glob("*.jpg"))
        if not frames:
            continue
        frame = frames[len(frames) // 2]
        mask_path = masks / seq.name / f"{frame.stem}.png"
        mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE) if mask_path.is_file() else None
        if mask is None or not one_object(mask, a.min_share):
            left.append(seq.name)
            continue
        shutil.copyfile(frame, a.out / "images" / f"{seq.name}.jpg")
        shutil.copyfile(mask_path, a.out / "masks" / f"{seq.name}.png")
        kept.append(seq.name)
    print(json.dumps({"frames": len(kept), "left_out": left, "out": str(a.out)}))


if __name__ == "__main__":
    main()
