"""Score existing check results with another gate, without running the check again.

    python bench/rescore.py --model MODEL_DIR [NAME=]RESULTS:LABELS ... [--trained-on NAME ...]

The check's measurements do not depend on the gate (only the scores and verdicts do), so a new
model can be compared with the old one on every set in seconds. The records hold measurements
rounded to 4 decimals, so a figure here can differ slightly from a `maskgate check --model` run
of the same model; final figures come from such a run (bench/accuracy.py). Prints the same
per-set, per-kind figures as bench/accuracy.py.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import replace
from pathlib import Path

from accuracy import read_labels, report_set, role  # bench scripts import each other (run from bench/)
from maskgate.check.criteria import BY_NAME
from maskgate.check.model import load_scoring
from maskgate.check.verdict import decide
from maskgate.core.record import CriterionRecord, PairRecord, read_records


def rescore(rec: PairRecord, gate) -> PairRecord:
    """``rec`` with the scores, passes and verdict ``gate`` gives its measurements."""
    if rec.verdict == "error":
        return rec
    keys = {n: gate.scorer(n, rec.kind) for n in rec.criteria}
    scores: dict[str, float | None] = {}
    for n, c in rec.criteria.items():
        judged = BY_NAME[n].applies(rec.kind) and "not_judged" not in c.evidence
        scores[n] = gate.probability(keys[n], c.measurements()) if judged else None
    passed, verdict, overall = decide(scores, gate, keys, rec.kind)
    crit = {
        n: CriterionRecord(
            passed[n], 1.0 if scores[n] is None else round(float(scores[n] or 0), 4), c.evidence, c.images
        )
        for n, c in rec.criteria.items()
    }
    return replace(rec, criteria=crit, verdict=verdict, score=round(float(overall), 4))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+", help="NAME=RESULTS.jsonl:LABELS.jsonl")
    ap.add_argument("--model", default=None, help="MODEL_DIR or calibration JSON (default: the shipped gate)")
    ap.add_argument("--trained-on", nargs="*", default=[])
    ap.add_argument(
        "--by-family",
        action="store_true",
        help="also list the automatic accepts and rejects per defect family (the label's family or defect)",
    )
    args = ap.parse_args()
    gate = load_scoring(args.model)
    print(f"gate: {args.model or 'shipped default'}")
    for spec in args.sets:
        name, _, paths = spec.rpartition("=")
        res, _, lab = paths.partition(":")
        records = [rescore(r, gate) for r in read_records(res)]
        labels = read_labels(Path(lab))
        report_set(f"{name or res}: {res} -- {role(name, args.trained_on)}", records, labels)
        if args.by_family:
            by_family(records, labels)


def by_family(records: list[PairRecord], labels: dict) -> None:
    """Accepted and rejected pairs per family, good and bad apart: which failures get through."""
    counts: Counter = Counter()
    total: Counter = Counter()
    for r in records:
        lab = labels.get(r.id)
        if lab is None:
            continue
        fam = lab.get("family") or lab.get("defect") or "?"
        total[fam] += 1
        if r.verdict in ("accept", "reject"):
            counts[(fam, r.verdict, "good" if lab.get("acceptable") else "bad")] += 1
    print("  per family (of its pairs): accepted / rejected")
    for fam in sorted(total):
        parts = [
            f"{v} {g}: {counts[(fam, v, g)]}"
            for v in ("accept", "reject")
            for g in ("good", "bad")
            if counts[(fam, v, g)]
        ]
        if parts:
            print(f"    {fam:28s} ({total[fam]:3d})  " + ", ".join(parts))


if __name__ == "__main__":
    main()
