"""Which bad pairs rank among the surest good ones: what stands between the gate and any accept.

    python bench/top_bad.py NAME=RESULTS:LABELS [...] [--fold-by group|source] [--split-source NAME]
                            [--drop-dead-zone] [--weigh SCORER=NAME:HOW:REF] [--top 300] [--show 20]

An accept needs a region at the top of the pairs' ranking with almost no bad pair in it (at a 0.98
target and 95% confidence, about 150 pairs with none, or 235 with one). Each pair is ranked by its
weakest criterion: the smallest margin, in log-odds, of a scorer's out-of-fold score over that
scorer's F1 threshold (the same folds and scorers as ``maskgate learn``; ``--fold-by`` as in
bench/generalize.py). Prints the first bad and dead-zone pairs of that ranking with their source,
family and severity, and the families of every bad pair in the top ``--top``. A diagnosis on
training corpora; no model is written.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter

import numpy as np
from threadpoolctl import threadpool_limits

# bench scripts import each other (run from bench/)
from generalize import _parse, _rows, homes, load, split_home, weigh
from maskgate.learn.calibrate import best_f1_threshold
from maskgate.learn.train import fit_scorer, fold_ids, scorer_rows


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+", help="NAME=RESULTS.jsonl:LABELS.jsonl")
    ap.add_argument("--fold-by", choices=("group", "source"), default="source")
    ap.add_argument("--split-source", default=None, help="fold this source's photos in two (scorer_folds.py)")
    ap.add_argument("--drop-dead-zone", action="store_true", help="leave the dead-zone pairs out")
    ap.add_argument("--weigh", action="append", default=[], help="as bench/generalize.py --weigh")
    ap.add_argument("--top", type=int, default=300)
    ap.add_argument("--show", type=int, default=20)
    a = ap.parse_args()
    for spec in a.weigh:
        weigh(spec)
    specs = [_parse(s) for s in a.sets]
    loaded = load(specs)
    home = homes(specs)
    if a.split_source:
        home = split_home(home, a.split_source)
    # each row keeps the set it was read from: ids repeat across sets built from the same photos
    # (er_davis_31 and er_davis_32), so an id alone can name the wrong set's family and severity
    kept = [(name, r) for name, r in loaded if not (a.drop_dead_zone and r.uncertain)]
    sources = [name for name, _ in kept]
    rows = _rows(kept, a.fold_by, home)
    about: dict[tuple[str, str], tuple[str, float | None]] = {}
    for name, _res, lab in specs:
        for line in open(lab):
            if line.strip():
                x = json.loads(line)
                about[(name, x["id"])] = (x.get("family") or x.get("defect") or "?", x.get("severity"))
    folds = fold_ids([r.group for r in rows], 5)
    per = scorer_rows(rows)
    margin = np.full(len(rows), np.inf)
    weakest = [""] * len(rows)
    with threadpool_limits(1, user_api="blas"):
        for key, sr in per.items():
            oof = fit_scorer(key, sr, rows, folds, "auto", 1).oof
            s, y = oof[sr.labelled], sr.y
            ok = ~np.isnan(s)
            decide = best_f1_threshold(s[ok], y[ok] == 1)[0] if 0 < y[ok].sum() < ok.sum() else 0.5
            for i in np.nonzero(~np.isnan(oof))[0]:
                m = _logit(oof[i]) - _logit(decide)
                if m < margin[i]:
                    margin[i], weakest[i] = m, key
    order = np.argsort(-margin, kind="stable")
    good = bad = 0
    families: Counter = Counter()
    print(f"{len(rows)} pairs, {sum(r.acceptable and not r.uncertain for r in rows)} good")
    for rank, i in enumerate(order[: a.top], 1):
        r = rows[i]
        if r.acceptable and not r.uncertain:
            good += 1
            continue
        bad += 1
        name = sources[i]
        fam, sev = about.get((name, r.id), ("?", None))
        families[(name.removesuffix("_dz"), fam, "dead zone" if r.uncertain else "bad")] += 1
        if bad <= a.show:
            failed = ",".join(c for c, v in r.labels.items() if v is False) or "-"
            print(
                f"  rank {rank:4d}  margin {margin[i]:5.2f} ({weakest[i]})  {'dead zone' if r.uncertain else 'bad':9s} "
                f"{r.id}  [{name}, {fam}, severity {sev}, failed {failed}]  good above: {good}"
            )
    print(f"top {a.top}: {good} good, {bad} bad or dead-zone")
    for k, v in families.most_common():
        print(f"  {v:3d}  {k[0]:10s} {k[1]:20s} {k[2]}")


if __name__ == "__main__":
    main()
