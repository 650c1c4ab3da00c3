"""Throughput of `maskgate check --workers N` against its floor, on the same pairs and threads.

    python bench/throughput.py MANIFEST [--limit 40] [--workers 1]

The floor is the work no checker can skip: decoding both images, one PP-OCR detection on the edit
and one u2netp pass on the original per pair. The ratio says how much the criteria cost on top.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path


def floor(pairs, max_side: int) -> float:
    from maskgate.io.images import load_image
    from maskgate.make.segment import saliency_lowres
    from maskgate.make.text import detect_text

    t0 = time.perf_counter()
    for p in pairs:
        o = load_image(p.original, max_side=max_side)
        e = load_image(p.edited, max_side=max_side)
        saliency_lowres(o.rgb)
        detect_text(e.rgb)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("manifest", type=Path)
    ap.add_argument("--limit", type=int, default=40)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    from maskgate.check.engine import Checker
    from maskgate.check.runner import run_check
    from maskgate.io.manifest import read_manifest

    pairs = [p for p in read_manifest(args.manifest) if not p.error][: args.limit]
    tmp = Path(tempfile.mkdtemp())
    lines = [f'{{"id": "{p.id}", "original": "{p.original}", "edited": "{p.edited}"}}' for p in pairs]
    (tmp / "m.jsonl").write_text("\n".join(lines) + "\n")
    Checker()  # warm the model caches in this process, for both measurements alike
    floor(pairs[:2], Checker.max_side)
    t_floor = floor(pairs, Checker.max_side)
    t0 = time.perf_counter()
    run_check(tmp / "m.jsonl", tmp / "out", workers=args.workers, progress=False, report=False)
    t_check = time.perf_counter() - t0
    shutil.rmtree(tmp, ignore_errors=True)
    n = len(pairs)
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores; threads: {os.environ.get('MASKGATE_THREADS', 'all')}")
    print(f"pairs: {n}, workers: {args.workers}")
    print(f"floor (decode x2 + PP-OCR det + u2netp): {n / t_floor:.2f} pairs/s  ({t_floor / n * 1000:.0f} ms/pair)")
    print(f"maskgate check:                         {n / t_check:.2f} pairs/s  ({t_check / n * 1000:.0f} ms/pair)")
    print(f"ratio check/floor: {t_check / t_floor:.2f}")


if __name__ == "__main__":
    main()
