"""Accuracy of `maskgate check` on labelled sets, per set and per edit kind.

    python bench/accuracy.py [NAME=]LABELS [[NAME=]LABELS ...] [--out DIR] [--workers N]
                             [--calibration FILE | --model MODEL_DIR] [--trained-on NAME ...] [--oof]

Each set is checked into DIR/NAME (resumable: re-running reuses DIR/NAME/results.jsonl). For each
set, and within it for each edit kind, it prints what users judge a gate by:
- accept precision: of the edits accepted alone, the share that were good (with the count);
- good accepted / good rejected: of the good edits, the shares accepted alone and rejected alone;
- reject precision and automation (share decided without a person);
- per criterion, precision/recall/F1 of catching failures (caught, missed, false alarms).
A set named with ``--trained-on`` was used to fit the gate: its figures are training figures and
are printed as such. ``--oof`` also refits the scorers with grouped cross-validation on the same
measurements (groups: the label's ``group`` field, else the product in a PRODUCT__N original
name) and prints out-of-fold figures; those are refits on the set itself, not held-out figures.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

from maskgate.check.runner import run_check
from maskgate.core.record import PairRecord, read_records
from maskgate.core.types import CRITERIA, KINDS
from maskgate.learn.calibrate import calibrate, rows_from_results
from maskgate.report.metrics import criterion_metrics, verdict_metrics


def product_of(label: dict) -> str:
    """The benchmark sets name their originals PRODUCT__N: grouping by product keeps every view of
    one product in one fold, so out-of-fold figures speak of unseen products."""
    return label.get("group") or Path(label["original"]).stem.split("__")[0]


def _pct(v) -> str:
    return "   -  " if v is None else f"{v:6.3f}"


def summary(records: list[PairRecord], labels: dict[str, dict], title: str) -> None:
    v = verdict_metrics(records, labels)
    print(
        f"  {title:14s} pairs {v['labelled']:4d}  good {v['good']:4d}  accept precision {_pct(v['accept_precision'])}"
        f" ({v['accepted']} accepted)  good accepted {_pct(v['good_accepted'])}  good rejected"
        f" {_pct(v['good_rejected'])}  reject precision {_pct(v['reject_precision'])}"
        f" ({v['rejected']} rejected)  automation {_pct(v['automation'])}"
    )


def criteria_table(records: list[PairRecord], labels: dict[str, dict]) -> None:
    crit = criterion_metrics(records, labels)
    print(f"  {'criterion':18s} {'precision':>9s} {'recall':>7s} {'F1':>6s}")
    for c in CRITERIA:
        m = crit[c]
        if not m["n"]:
            print(f"  {c:18s} {'(no labels)':>24s}")
            continue
        print(
            f"  {c:18s} {m['precision']:9.3f} {m['recall']:7.3f} {m['f1']:6.3f}"
            f"   ({m['tp']} caught, {m['fn']} missed, {m['fp']} false alarms)"
        )


def read_labels(path: Path, dead_zone: bool = False) -> dict[str, dict]:
    """A labels.jsonl by id. A dead-zone line (``maskgate synth``'s dead_zone.jsonl: no verdict
    label, by design) is left out unless ``dead_zone``: counted as a labelled pair, it would read as
    a good edit in every figure."""
    out = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            if dead_zone or not (rec.get("dead_zone") and rec.get("acceptable") is None):
                out[rec["id"]] = rec
    return out


def report_set(title: str, records: list[PairRecord], labels: dict[str, dict]) -> None:
    """A set's figures: all kinds, then each edit kind, then the criteria."""
    print(f"\n== {title}")
    summary(records, labels, "all kinds")
    for kind in KINDS:
        sub = [r for r in records if r.kind == kind]
        if sub:
            summary(sub, labels, kind)
    criteria_table(records, labels)


def role(name: str, trained_on: list[str]) -> str:
    return "TRAINING figures (fitted on this set)" if name in trained_on else "held out (not fitted on)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+", help="labels.jsonl files, optionally NAME=PATH")
    ap.add_argument("--out", type=Path, default=Path("bench-out/accuracy"))
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--calibration", type=Path, default=None)
    ap.add_argument("--model", type=Path, default=None, help="a MODEL_DIR from `maskgate learn`")
    ap.add_argument("--trained-on", nargs="*", default=[], help="names of the sets the gate was fitted on")
    ap.add_argument("--oof", action="store_true", help="also print out-of-fold (cross-validated) refits")
    args = ap.parse_args()
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}")
    print(f"gate: {args.model or args.calibration or 'shipped default'}")
    for spec in args.sets:
        name, _, path = spec.rpartition("=")
        labels_path = Path(path)
        name = name or labels_path.parent.name
        out = args.out / name
        run_check(
            labels_path,
            out,
            workers=args.workers,
            calibration=args.calibration,
            model=args.model,
            progress=True,
        )
        records = read_records(out / "results.jsonl")
        report_set(
            f"{name}: {labels_path} -- {role(name, args.trained_on)}", records, read_labels(labels_path)
        )
        if args.oof:
            rows = rows_from_results(out / "results.jsonl", labels_path, group=product_of)
            cal = calibrate(rows, 0.98)
            print("  out-of-fold refit on this set (grouped by product):", json.dumps(cal.metrics))


if __name__ == "__main__":
    main()
