"""Product-mask quality: mean IoU and boundary F-measure against ground-truth masks, per step.

    python bench/masks.py [DATA] [--model u2netp] [--passes sqf,a448,a448f] [--threads 1]

DATA holds ``imgs/*.jpg`` and ``seg_GT/<stem>.bmp`` (the GrabCut benchmark layout; default
``../shared/images/grabcut``). Each row adds one refinement step to the previous one, so the table
shows what each step buys and costs; times are per image, network time included in every row.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from maskgate.io.images import load_image
from maskgate.make.refine import refine
from maskgate.vision.segment import FAST_PASSES, saliency_views

LADDER = [
    ("raw", ()),
    ("+guided", ("guided",)),
    ("+grabcut", ("guided", "grabcut")),
    ("+clean", ("guided", "grabcut", "clean")),
    ("+matting", ("guided", "grabcut", "clean", "matting")),
]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    u = (a | b).sum()
    return float((a & b).sum() / u) if u else 1.0


def boundary_f(pred: np.ndarray, gt: np.ndarray, tol_frac: float = 0.0075) -> float:
    """Boundary F-measure (as in DAVIS): contour pixels matched within a tolerance of the diagonal."""
    tol = max(1, round(tol_frac * np.hypot(*gt.shape)))
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * tol + 1, 2 * tol + 1))

    def edge(m):
        m8 = m.astype(np.uint8)
        return (m8 - cv2.erode(m8, np.ones((3, 3), np.uint8))) > 0

    ep, eg = edge(pred), edge(gt)
    if not ep.any() and not eg.any():
        return 1.0
    if not ep.any() or not eg.any():
        return 0.0
    precision = (ep & (cv2.dilate(eg.astype(np.uint8), k) > 0)).sum() / ep.sum()
    recall = (eg & (cv2.dilate(ep.astype(np.uint8), k) > 0)).sum() / eg.sum()
    return float(2 * precision * recall / (precision + recall + 1e-12))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="?", default="../shared/images/grabcut")
    ap.add_argument("--model", default="u2netp")
    ap.add_argument(
        "--passes", default=None, help="comma-separated views (default: the library default); 'fast' = sq"
    )
    ap.add_argument("--threads", type=int, default=None, help="onnxruntime threads (1 = the one-core figure)")
    ap.add_argument("--per-image", action="store_true")
    args = ap.parse_args(argv)
    if args.threads:
        os.environ["MASKGATE_THREADS"] = str(args.threads)
        cv2.setNumThreads(args.threads)
    data = Path(args.data)
    imgs = sorted((data / "imgs").glob("*.jpg"))
    if not imgs:
        print(f"no images in {data / 'imgs'}", file=sys.stderr)
        return 2
    passes = (
        FAST_PASSES if args.passes == "fast" else (tuple(args.passes.split(",")) if args.passes else None)
    )
    # Warm-up: model loading and JIT compilation are per process, not per image.
    warm = load_image(imgs[0]).rgb
    refine(warm, saliency_views(warm, args.model, passes=passes), LADDER[-1][1])

    rows = {name: {"iou": [], "bf": [], "t": []} for name, _ in LADDER}
    for p in imgs:
        rgb = load_image(p).rgb
        gt = cv2.imread(str(data / "seg_GT" / f"{p.stem}.bmp"), cv2.IMREAD_GRAYSCALE) > 127
        t0 = time.perf_counter()
        prob = saliency_views(rgb, args.model, passes=passes)
        t_net = time.perf_counter() - t0
        line = [f"{p.stem:12s}"]
        for name, steps in LADDER:
            r = refine(rgb, prob, steps)
            m = r.alpha >= 0.5
            if m.shape != gt.shape:
                m = cv2.resize(m.astype(np.uint8), gt.shape[::-1], interpolation=cv2.INTER_NEAREST) > 0
            rows[name]["iou"].append(iou(m, gt))
            rows[name]["bf"].append(boundary_f(m, gt))
            rows[name]["t"].append(t_net + sum(r.timings.values()))
            line.append(f"{rows[name]['iou'][-1]:.3f}")
        if args.per_image:
            print(" ".join(line))
    print(
        f"model={args.model} passes={','.join(passes) if passes else 'default'} images={len(imgs)} "
        f"threads={os.environ.get('MASKGATE_THREADS', 'all')}"
    )
    print(f"{'step':10s} {'mean IoU':>9s} {'bound. F':>9s} {'s/image':>8s}")
    for name, _ in LADDER:
        r = rows[name]
        print(f"{name:10s} {np.mean(r['iou']):9.4f} {np.mean(r['bf']):9.4f} {np.mean(r['t']):8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
