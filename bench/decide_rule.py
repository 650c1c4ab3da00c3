"""Which pass/fail threshold carries to a source the scorers never saw: F1's, or the balanced 0.5?

    python bench/decide_rule.py NAME=RESULTS:LABELS [...] [--holdout NAME=RESULTS:LABELS ...]

Every scorer is fitted with balanced class weights, so P = 0.5 is where its two errors weigh the
same whatever the failure rate; ``learn`` instead takes the threshold of best F1 on the pooled
out-of-fold scores, which depends on the training pool's failure rates. Which one to ship is
decided on the training sources, left out one at a time (a gate trained as bench/generalize.py
--fold-by source trains it, on the others), never on a held-out set: per left-out source and
criterion the F1 of catching failures with each rule. ``--holdout`` sets are printed too, with
the gate trained on every source, for the record.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from generalize import _fit, _parse, homes, load  # bench scripts import each other (run from bench/)
from maskgate.core.types import CRITERIA
from maskgate.learn.calibrate import rows_from_results


def _f1(failed_pred: np.ndarray, failed: np.ndarray) -> float:
    tp = int((failed_pred & failed).sum())
    return 2 * tp / max(2 * tp + int((failed_pred & ~failed).sum()) + int((~failed_pred & failed).sum()), 1)


def _both(gate, rows) -> dict[str, tuple[float, float]]:
    out = {}
    for c in CRITERIA:
        s, failed, decide = [], [], []
        for r in rows:
            v = r.labels.get(c)
            if v is None or r.uncertain or not r.features.get(c):
                continue
            key = gate.scorer(c, r.kind)
            s.append(gate.probability(key, r.features[c]))
            failed.append(not v)
            decide.append(gate.thresholds[key].decide)
        sa, fa = np.array(s), np.array(failed, bool)
        if len(sa) and fa.any():
            out[c] = (_f1(sa < np.array(decide), fa), _f1(sa < 0.5, fa))
    return out


def _line(name: str, figs: dict[str, tuple[float, float]]) -> str:
    return f"{name:14s} " + "  ".join(f"{c} {a:.3f}/{b:.3f}" for c, (a, b) in figs.items())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+", help="training sets, NAME=RESULTS.jsonl:LABELS.jsonl")
    ap.add_argument("--holdout", nargs="*", default=[])
    a = ap.parse_args()
    specs = [_parse(s) for s in a.sets]
    home = homes(specs)
    loaded = load(specs)
    print("F1 of catching failures, F1 threshold / 0.5, per criterion")
    means: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for d in dict.fromkeys(home.values()):
        gate, _ = _fit(specs, 0.98, "auto", 0.95, "source", d, loaded)
        figs = _both(gate, [r for name, r in loaded if home.get(r.group, name) == d])
        for c, v in figs.items():
            means[c].append(v)
        print(_line(f"left out {d}", figs))
    print(
        _line(
            "mean",
            {
                c: (float(np.mean([x[0] for x in v])), float(np.mean([x[1] for x in v])))
                for c, v in means.items()
            },
        )
    )
    if a.holdout:
        gate, _ = _fit(specs, 0.98, "auto", 0.95, "source", None, loaded)
        for spec in a.holdout:
            name, res, lab = _parse(spec)
            print(_line(f"held out {name}", _both(gate, rows_from_results(res, lab))))


if __name__ == "__main__":
    main()
