"""How well one measurement separates its criterion's failures, per set: its AUC (1.0 = every
failed pair measures higher than every passed one) and, for a measurement that is mostly 0, how
many pairs it fires on and how many of those failed.

    python bench/separation.py NAME=RESULTS:LABELS [...] --measure segmentation.missing_cut [...]
                               [--kind inpainted] [--by family]

RESULTS is a `maskgate check` run of LABELS (any gate: measurements do not depend on it). This
answers "does a new measurement see its failure family" before any gate is trained to weigh it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.stats import rankdata


def auc(bad: np.ndarray, x: np.ndarray) -> float:
    """Mann-Whitney AUC of ``x`` for ``bad`` (ties count half)."""
    n1, n0 = int(bad.sum()), int((~bad).sum())
    if not n1 or not n0:
        return float("nan")
    r = rankdata(x)
    return float((r[bad].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def rows(
    results: Path, labels: Path, criterion: str, name: str, kind: str | None = None, by: str | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``kind``: that edit kind's pairs only (a measurement made for one kind is 0 on the others).
    ``by``: a label field (``family``: the real tool or the defect) whose value each pair gets."""
    lab = {}
    with labels.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                lab[d["id"]] = d
    bad, val, group = [], [], []
    with results.open(encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            d = lab.get(r["id"])
            if d is None or r.get("verdict") == "error" or (kind and r.get("kind") != kind):
                continue
            passed = (d.get("labels") or {}).get(criterion)
            ev = r["criteria"].get(criterion, {}).get("evidence", {})
            if passed is None or name not in ev:
                continue
            bad.append(passed is False)
            val.append(float(ev[name]))
            group.append(str(d.get(by, "")) if by else "")
    return np.array(bad, bool), np.array(val, float), np.array(group)


def _span(x: np.ndarray) -> str:
    return f"{x.min():.3f}-{x.max():.3f}" if len(x) else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+", help="NAME=RESULTS.jsonl:LABELS.jsonl")
    ap.add_argument("--measure", nargs="+", required=True, help="CRITERION.MEASUREMENT")
    ap.add_argument("--kind", default=None, help="only the pairs of this edit kind")
    ap.add_argument("--by", default=None, help="also per value of this label field (e.g. family)")
    args = ap.parse_args()
    for spec in args.sets:
        name, _, paths = spec.partition("=")
        res, _, lab = paths.partition(":")
        for m in args.measure:
            crit, _, meas = m.partition(".")
            bad, val, group = rows(Path(res), Path(lab), crit, meas, args.kind, args.by)
            fired = val > 0
            print(
                f"{name:12s} {m:34s} pairs {len(bad):4d}  failed {int(bad.sum()):4d}  AUC {auc(bad, val):.3f}"
                f"  fires on {int(fired.sum())} ({int((fired & bad).sum())} failed)"
            )
            for g in sorted(set(group)) if args.by else []:
                sel = group == g
                b, v = bad[sel], val[sel]
                print(
                    f"    {g:20s} failed {int(b.sum()):3d} read {_span(v[b])}   passed {int((~b).sum()):3d} read {_span(v[~b])}"
                )


if __name__ == "__main__":
    main()
