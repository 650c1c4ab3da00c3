"""Does the gate generalize? Leave-one-source-out over training corpora, then held-out validation.

    python bench/generalize.py --train NAME=RESULTS:LABELS [...] --holdout NAME=RESULTS:LABELS [...]
                               [--target-precision 0.98] [--out MODEL_DIR] [--version NAME]
                               [--model-class auto] [--fold-by group|source]

RESULTS are `maskgate check` runs of the LABELS (any gate: the measurements do not depend on it).
1. For every training source in turn, a model is trained on the OTHER training sources and
   scored on the one left out (bench/rescore.py): what to expect on a product source, background
   source or generator the gate has never seen.
2. A model is trained on every training source and scored on each --holdout set (the dev set,
   the text_removed set, the real-tool cut-outs of held-out photos): sets it never saw. With
   --out it is written there (the model the package ships is made this way).
Each figure is printed per set and per edit kind: accept precision, good accepted, good rejected,
reject precision, per-criterion F1. Nothing here is a training figure except where it says so.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

from accuracy import read_labels, report_set  # bench scripts import each other (run from bench/)
from maskgate.core.record import read_records
from maskgate.learn.calibrate import rows_from_results
from maskgate.learn.train import describe_sources, train
from rescore import rescore


def _parse(spec: str) -> tuple[str, Path, Path]:
    name, _, paths = spec.rpartition("=")
    res, _, lab = paths.partition(":")
    return name or Path(lab).parent.name, Path(res), Path(lab)


def _fit(sets, target: float, model_class: str, reject: float, fold_by: str = "group"):
    """``fold_by`` "source": every training source is one fold, so the accept and reject bounds
    hold on scores of sources the scorers never saw (what a gate shipped for unseen catalogues
    must meet); "group": products are held out within the sources (what `maskgate learn` does on
    one user's own labels)."""
    rows = [
        r if fold_by == "group" else replace(r, group=name)
        for name, res, lab in sets
        for r in rows_from_results(res, lab, group="group")
    ]
    sources = describe_sources([lab for *_, lab in sets], [res for _, res, _ in sets])
    return train(rows, target, model_class, sources=sources, reject_precision=reject), len(rows)


def _report(name: str, res: Path, lab: Path, gate, role: str) -> None:
    report_set(f"{name} -- {role}", [rescore(r, gate) for r in read_records(res)], read_labels(lab))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", nargs="+", required=True)
    ap.add_argument("--holdout", nargs="*", default=[])
    ap.add_argument("--target-precision", type=float, default=0.98)
    ap.add_argument("--reject-precision", type=float, default=0.95)
    ap.add_argument("--model-class", default="auto")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--version", default=None, help="version name the model writes into each record it judges"
    )
    ap.add_argument("--no-loso", action="store_true", help="skip the leave-one-source-out folds")
    ap.add_argument(
        "--fold-by",
        choices=("group", "source"),
        default="group",
        help="folds of the thresholds' held-out scores: products within sources, or whole sources",
    )
    args = ap.parse_args()
    train_sets = [_parse(s) for s in args.train]
    if not args.no_loso and len(train_sets) > 1:
        print("# 1. leave one training source out")
        for i, (name, res, lab) in enumerate(train_sets):
            rest = train_sets[:i] + train_sets[i + 1 :]
            gate, n = _fit(rest, args.target_precision, args.model_class, args.reject_precision, args.fold_by)
            _report(name, res, lab, gate, f"left out; trained on {', '.join(s[0] for s in rest)} ({n} pairs)")
    print("\n# 2. trained on every training source, scored on held-out sets")
    gate, n = _fit(train_sets, args.target_precision, args.model_class, args.reject_precision, args.fold_by)
    print(f"trained on {', '.join(s[0] for s in train_sets)} ({n} pairs)")
    out = args.out or Path(tempfile.mkdtemp()) / "model"
    if args.version:
        gate.meta["version"] = args.version
    gate.save(out)
    print(f"model: {out}")
    for spec in args.holdout:
        _report(*_parse(spec), gate, "held out (never trained on)")


if __name__ == "__main__":
    main()
