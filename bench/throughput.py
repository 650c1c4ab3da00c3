"""Throughput of `maskgate check --workers N` against its floor, on the same pairs and threads.

    python bench/throughput.py MANIFEST [--limit 40] [--workers 1] [--one-per-original]

The floor is the work no checker can skip: decoding both images and one PP-OCR detection on the
edit per pair, and one u2netp pass per original (the edits of one original share it, as they do in
the check, which keeps the last few originals' pass; a manifest of distinct originals makes one
per pair). It runs under the same process/thread split as the check (N worker processes of
cores/N threads each, models loaded once per process), so the ratio says what the criteria cost on
top, not how well either uses the machine. The floor of the rounds before the check shared an
original's pass (one u2netp pass per pair) is printed too, so figures stay comparable.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

_PASSED: list[str] = []  # this process's last originals given a u2netp pass, most recent last


def floor_pair(pair, max_side: int, share: bool = True) -> None:
    from maskgate.check.engine import ORIGINALS_KEPT
    from maskgate.io.images import load_image
    from maskgate.vision.segment import saliency_lowres
    from maskgate.vision.text import detect_text

    o = load_image(pair.original, max_side=max_side)
    e = load_image(pair.edited, max_side=max_side)
    if share and pair.original in _PASSED:
        _PASSED.remove(pair.original)
    else:
        saliency_lowres(o.rgb)
    _PASSED.append(pair.original)
    del _PASSED[:-ORIGINALS_KEPT]
    detect_text(e.rgb)


def _init(threads: int) -> None:
    os.environ["MASKGATE_THREADS"] = str(threads)


def floor(pairs, max_side: int, workers: int, share: bool = True) -> float:
    """Seconds for the floor work on ``pairs``; with workers, start-up is included as in the check.
    ``share``: one u2netp pass per original (else one per pair)."""
    _PASSED.clear()
    t0 = time.perf_counter()
    if workers <= 1:
        for p in pairs:
            floor_pair(p, max_side, share)
    else:
        threads = max(1, (os.cpu_count() or 1) // workers)
        # from a fork server, as the check's workers come (check/runner.py says why)
        ctx = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init, initargs=(threads,)) as pool:
            list(pool.map(floor_pair, pairs, [max_side] * len(pairs), [share] * len(pairs)))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("manifest", type=Path)
    ap.add_argument("--limit", type=int, default=40)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument(
        "--one-per-original",
        action="store_true",
        help="only the first edit of each original: nothing for the check (or the floor) to share",
    )
    args = ap.parse_args()
    from maskgate.check.engine import Checker
    from maskgate.check.runner import run_check
    from maskgate.io.manifest import read_manifest

    pairs = [p for p in read_manifest(args.manifest) if not p.error]
    if args.one_per_original:
        firsts: dict = {}  # original -> its first pair, in manifest order
        for p in pairs:
            firsts.setdefault(p.original, p)
        pairs = list(firsts.values())
    pairs = pairs[: args.limit]
    if not pairs:
        raise SystemExit(f"no usable pairs in {args.manifest}")
    tmp = Path(tempfile.mkdtemp())
    keep = ("id", "original", "edited", "mask", "kind")
    (tmp / "m.jsonl").write_text(
        "".join(json.dumps({k: getattr(p, k) for k in keep if getattr(p, k)}) + "\n" for p in pairs)
    )
    if args.workers <= 1:  # warm this process's model caches, for both measurements alike: each
        # on one pair its own way (the check's per-thread-count sessions and engines included)
        (tmp / "warm.jsonl").write_text(
            json.dumps({k: getattr(pairs[0], k) for k in keep if getattr(pairs[0], k)}) + "\n"
        )
        run_check(tmp / "warm.jsonl", tmp / "warm", workers=1, progress=False)
        floor(pairs[:1], Checker.max_side, 1)
    t_floor = floor(pairs, Checker.max_side, args.workers)
    t_floor_pair = floor(pairs, Checker.max_side, args.workers, share=False)
    t0 = time.perf_counter()
    s = run_check(tmp / "m.jsonl", tmp / "out", workers=args.workers, progress=False)
    t_check = time.perf_counter() - t0
    shutil.rmtree(tmp, ignore_errors=True)
    n = len(pairs)
    threads = os.environ.get("MASKGATE_THREADS") or (
        f"{max(1, (os.cpu_count() or 1) // args.workers)} per worker" if args.workers > 1 else "all"
    )
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    )
    originals = len({p.original for p in pairs})
    print(
        f"pairs: {n} ({s.counts.get('error', 0)} errors) of {originals} originals, "
        f"workers: {args.workers}, threads: {threads}"
    )
    print(f"{'':46s} {'pairs/s':>8s} {'ms/pair':>8s}")
    for name, t in (
        ("floor (decode x2, PP-OCR det, u2netp/original)", t_floor),
        ("floor as before (u2netp on every pair)", t_floor_pair),
        ("maskgate check", t_check),
    ):
        print(f"{name:46s} {n / t:8.2f} {t / n * 1000:8.0f}")
    print(
        f"ratio check/floor (time): {t_check / t_floor:.2f} (against the floor as before: {t_check / t_floor_pair:.2f})"
    )


if __name__ == "__main__":
    main()
