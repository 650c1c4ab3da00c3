"""Accuracy of `maskgate check` on labelled pairs.

    python bench/accuracy.py ../shared/bench/dev/labels.jsonl [--out DIR] [--workers N] [--oof]

Runs the check (resumable: re-running reuses DIR/results.jsonl), then prints per-criterion
precision/recall/F1 of catching failures and the verdict figures: accept precision, reject
precision, automation (share decided without a human). ``--oof`` also refits the scorers with
product-grouped cross-validation on the same measurements and prints out-of-fold figures: what to
expect on products the calibration never saw.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

from maskgate.check.runner import run_check
from maskgate.core.record import read_records
from maskgate.core.types import CRITERIA


def _metrics(records: list[dict], labels: dict[str, dict]) -> tuple[dict, dict]:
    from maskgate.report.metrics import criterion_metrics, verdict_metrics

    return criterion_metrics(records, labels), verdict_metrics(records, labels)


def product_of(label: dict) -> str:
    return label.get("group") or Path(label["original"]).stem.split("__")[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("labels", type=Path)
    ap.add_argument("--out", type=Path, default=Path("bench-out/accuracy"))
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--calibration", type=Path, default=None)
    ap.add_argument("--oof", action="store_true", help="also print out-of-fold (cross-validated) figures")
    args = ap.parse_args()
    run_check(args.labels, args.out, workers=args.workers, calibration=args.calibration, progress=True)
    labels = {json.loads(x)["id"]: json.loads(x) for x in args.labels.read_text().splitlines() if x.strip()}
    records = read_records(args.out / "results.jsonl")
    crit, verd = _metrics(records, labels)
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}")
    print(f"pairs: {len(records)} (labelled {sum(r.id in labels for r in records)})")
    print(f"{'criterion':18s} {'precision':>9s} {'recall':>7s} {'F1':>6s}")
    for c in CRITERIA:
        m = crit.get(c, {})
        if not m.get("n"):
            print(f"{c:18s} {'(no labels)':>24s}")
            continue
        print(
            f"{c:18s} {m['precision']:9.3f} {m['recall']:7.3f} {m['f1']:6.3f}   ({m['tp']} caught, {m['fn']} missed, {m['fp']} false alarms)"
        )
    print(json.dumps(verd, indent=1))
    if args.oof:
        from maskgate.learn.calibrate import calibrate, rows_from_results

        # the benchmark sets name their originals PRODUCT__N: grouping by product keeps every view
        # of one product in one fold, so the figures speak of unseen products
        rows = rows_from_results(args.out / "results.jsonl", args.labels, group=product_of)
        cal = calibrate(rows, 0.98)
        print("out-of-fold (grouped by product):", json.dumps(cal.metrics))


if __name__ == "__main__":
    main()
