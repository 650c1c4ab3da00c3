"""Pairs per second of `maskgate check` on each engine, on the same pairs of one manifest.

    python bench/scale.py MANIFEST [--limit 40] [--out /tmp/maskgate-scale] [--batch-size 4] [--only RUNS]

Runs, in turn: the local engine with 1 worker (in-process), with 2 worker processes, and the Ray
engine with 2 actors on a local Ray cluster of 2 CPUs (1 CPU and 1 model thread per actor). Each
rate is the run's pairs over its wall time, start-up included (process pool start, actor start and
model loading), since that is what a user waits for; Ray's cluster start (``ray.init``) is timed
apart. It also says whether each engine's records equal the 1-worker run's (``bench/same_results``
rules: every measurement to 1e-6) and prints the load average beside each figure: on a shared
machine the figures move with whatever else runs. Last, what a pair leaves behind (``sizes``): its
record's bytes as JSONL and as Parquet, and its evidence images.
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
    ap.add_argument(
        "--only",
        default="local1,local2,ray2,sizes",
        help="comma-separated subset of the runs (sizes: of local1's output)",
    )
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
        if key == "sizes":
            _sizes(args.out / "local1", len(pairs))
            continue
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


def _sizes(run: Path, n: int) -> None:
    """What a pair leaves behind: its record as JSONL and as Parquet, and its evidence images."""
    from maskgate.core.record import read_records
    from maskgate.io.store import ParquetStore

    jsonl = run / "results.jsonl"
    pq_dir = run.parent / "sizes-parquet"
    shutil.rmtree(pq_dir, ignore_errors=True)
    store = ParquetStore(pq_dir)
    for rec in read_records(jsonl):
        store.append(rec)
    store.close()
    pq = sum(f.stat().st_size for f in (pq_dir / "results.parquet").iterdir())
    ev = sum(f.stat().st_size for f in (run / "evidence").rglob("*") if f.is_file())
    print(
        f"per pair ({n} pairs of {run.name}): record {jsonl.stat().st_size / n:.0f} B as JSONL, "
        f"{pq / n:.0f} B as Parquet; evidence images {ev / n / 1000:.0f} KB"
    )


if __name__ == "__main__":
    main()
