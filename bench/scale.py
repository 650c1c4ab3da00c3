"""Pairs per second of `maskgate check` on each engine, on the same pairs of one manifest.

    python bench/scale.py MANIFEST [--limit 40] [--out /tmp/maskgate-scale] [--batch-size 4]

Runs, in turn: the local engine with 1 worker (in-process), with 2 worker processes, and the Ray
engine with 2 actors on a local Ray cluster of 2 CPUs (1 CPU and 1 model thread per actor). Each
rate is the run's pairs over its wall time, start-up included (process pool start, actor start and
model loading), since that is what a user waits for; Ray's cluster start (``ray.init``) is timed
apart. It also says whether each engine's records equal the 1-worker run's (``bench/same_results``
rules: every measurement to 1e-6) and prints the load average beside each figure: on a shared
machine the figures move with whatever else runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from same_results import _records, differences  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("manifest", type=Path)
    ap.add_argument("--limit", type=int, default=40)
    ap.add_argument("--out", type=Path, default=Path("/tmp/maskgate-scale"))
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--only", default="local1,local2,ray2", help="comma-separated subset of the runs")
    args = ap.parse_args()
    from maskgate.check.runner import run_check
    from maskgate.io.manifest import read_manifest
    from maskgate.scale.engine import Engine

    pairs = [p for p in read_manifest(args.manifest) if not p.error][: args.limit]
    if not pairs:
        raise SystemExit(f"no usable pairs in {args.manifest}")
    args.out.mkdir(parents=True, exist_ok=True)
    keep = ("id", "original", "edited", "mask", "kind")
    m = args.out / "m.jsonl"
    m.write_text("".join(json.dumps({k: getattr(p, k) for k in keep if getattr(p, k)}) + "\n" for p in pairs))
    runs = {
        "local1": ("local engine, 1 worker (in-process)", Engine("local", 1)),
        "local2": ("local engine, 2 worker processes", Engine("local", 2)),
        "ray2": (
            "Ray engine, 2 actors on a local 2-CPU cluster",
            Engine("ray", 2, batch_size=args.batch_size),
        ),
    }
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores; pairs: {len(pairs)} of {args.manifest}")
    rows = []
    for key in args.only.split(","):
        label, engine = runs[key]
        extra = ""
        if engine.kind == "ray":
            import ray

            t0 = time.perf_counter()
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            extra = f" (ray.init {time.perf_counter() - t0:.1f} s, not counted)"
        shutil.rmtree(args.out / key, ignore_errors=True)  # each run from nothing (the others are kept)
        load0 = os.getloadavg()[0]
        s = run_check(m, args.out / key, progress=False, engine=engine)
        load1 = os.getloadavg()[0]
        rate = s.done / s.seconds
        same = ""
        if key != "local1" and (args.out / "local1" / "results.jsonl").exists():
            a, b = _records(args.out / "local1" / "results.jsonl"), _records(args.out / key / "results.jsonl")
            diff = sum(1 for k in a if k not in b or differences(a[k], b[k], 1e-6)) + len(b.keys() - a.keys())
            same = f", records differing from local1: {diff}"
        rows.append(
            {"run": key, "pairs": s.done, "seconds": s.seconds, "pairs_per_s": rate, "load": [load0, load1]}
        )
        print(
            f"{label:48s} {rate:6.3f} pairs/s ({s.done} pairs in {s.seconds:6.1f} s; "
            f"load average {load0:.1f} -> {load1:.1f}){extra}{same}",
            flush=True,
        )
    (args.out / f"scale-{'-'.join(args.only.split(','))}.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
