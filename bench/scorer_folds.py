"""Each scorer's held-out AUC on source folds: pooled over the left-out sources, and within each.

    python bench/scorer_folds.py NAME=RESULTS:LABELS [...] [--split-source NAME] [--model-class auto]

The pair-level bounds of bench/generalize.py --fold-by source are set on the pooled out-of-fold
scores, so a scorer that ranks well within every left-out source but puts each on its own scale
(pooled AUC far under the per-source ones) leaves no threshold that holds on all of them. This
prints both, per scorer, with the lowest-scoring good pairs (what any reject threshold meets
first). ``--split-source NAME`` folds that source's photos in two by alternate group names, so
its kind of pairs is in every fold's training (the folds then hold out its scenes, not its
generator). Same folds and scorers as ``maskgate learn`` (learn.train); a diagnosis, no model is
written.
"""

from __future__ import annotations

import argparse

import numpy as np
from threadpoolctl import threadpool_limits

# bench scripts import each other (run from bench/)
from generalize import _parse, _rows, homes, load, split_home
from maskgate.learn.train import auc, fit_scorer, fold_ids, scorer_rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+", help="NAME=RESULTS.jsonl:LABELS.jsonl")
    ap.add_argument("--split-source", default=None)
    ap.add_argument("--model-class", default="auto")
    ap.add_argument("--lowest", type=int, default=3, help="lowest-scoring good pairs to show")
    a = ap.parse_args()
    specs = [_parse(s) for s in a.sets]
    loaded = load(specs)
    home = homes(specs)
    if a.split_source:
        home = split_home(home, a.split_source)
    rows = _rows(loaded, "source", home)  # each row's group is now its fold: its photo's home
    where = np.array([r.group for r in rows])
    folds = fold_ids(list(where), 5)
    acceptable = np.array([bool(r.acceptable) and not r.uncertain for r in rows])
    with threadpool_limits(1, user_api="blas"):
        for key, sr in scorer_rows(rows).items():
            fitted = fit_scorer(key, sr, rows, folds, a.model_class, 1)
            o, y = fitted.oof[sr.labelled], sr.y
            ok = ~np.isnan(o)
            if not ok.any() or len(set(y[ok].tolist())) < 2:
                continue
            parts = [f"{key:22s} {fitted.model.model_class:8s} pooled {auc(o[ok], y[ok] == 1):.3f}"]
            src = where[sr.labelled]
            for s in sorted(set(src.tolist())):
                m = ok & (src == s)
                if m.sum() > 5 and 0 < y[m].sum() < m.sum():
                    parts.append(f"{s} {auc(o[m], y[m] == 1):.2f} ({int((1 - y[m]).sum())} failed)")
            print("  ".join(parts))
            app = sr.applicable[~np.isnan(fitted.oof[sr.applicable])]
            good = app[acceptable[app]]
            for i in good[np.argsort(fitted.oof[good])][: a.lowest]:
                print(f"    lowest good: {rows[i].id} ({where[i]}) {fitted.oof[i]:.3f}")


if __name__ == "__main__":
    main()
