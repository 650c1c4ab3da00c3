"""``maskgate calibrate``: fit each criterion's scorer and the verdict thresholds on labelled pairs.

Scores used to choose thresholds and to report metrics are out-of-fold (folds grouped by product,
so no product is scored by a model that saw it): the figures then say what to expect on new
products rather than how well the labels were memorised.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from maskgate.check.scoring import criterion_of, scorer, signs, vector
from maskgate.check.verdict import Calibration, Thresholds
from maskgate.core.record import read_records
from maskgate.core.types import CRITERIA
from maskgate.learn.logistic import fit, predict


@dataclass
class LabelledFeatures:
    id: str
    group: str
    kind: str | None
    features: dict[str, dict[str, float]]
    labels: dict[str, bool | None]
    acceptable: bool
    # In a dead zone (``maskgate synth``'s ``dead_zone.jsonl``): whether it is acceptable is a coin
    # toss, so no scorer learns from its uncertain criterion, an accept bound counts it bad and a
    # reject bound leaves it out. ``acceptable`` is False for it.
    uncertain: bool = False


GroupBy = str | Callable[[Mapping[str, Any]], str]


def group_of(label: Mapping[str, Any], by: GroupBy = "group") -> str:
    """The cross-validation group of a labelled pair: pairs of one group are never split across
    folds, so out-of-fold figures speak of unseen groups (products, sources). ``by``: a field of
    the label record, or a function of it; a record without that field is its own original's group
    (edits of one photo are never split)."""
    if callable(by):
        return str(by(label))
    v = label.get(by)
    return str(v) if v not in (None, "") else str(label.get("original", label.get("id")))


def _folds(groups: list[str], k: int) -> list[np.ndarray]:
    uniq = sorted(set(groups))
    return [np.array([uniq.index(g) % k == f for g in groups]) for f in range(k)]


def _usable(rows: list[LabelledFeatures], idx: list[int], criterion: str) -> bool:
    return len(idx) >= 10 and len({rows[i].labels[criterion] for i in idx}) == 2


def assign_scorers(rows: list[LabelledFeatures]) -> dict[str, list[int]]:
    """Rows per scorer key: a kind's own scorer takes that kind's rows when they are enough to fit
    it (ten, both outcomes); otherwise they stay with the criterion's scorer."""
    out: dict[str, list[int]] = {}
    for c in CRITERIA:
        labelled = [i for i, r in enumerate(rows) if r.labels.get(c) is not None and r.features.get(c)]
        own: dict[str, list[int]] = {}
        for i in labelled:
            own.setdefault(scorer(c, rows[i].kind), []).append(i)
        out[c] = own.pop(c, [])
        for key, idx in own.items():
            if _usable(rows, idx, c):
                out[key] = idx
            else:
                out[c] = sorted(out[c] + idx)
    return out


# Regularisation strengths tried per scorer, strongest first (a tie keeps the simpler model).
L2_GRID = (3.0, 1.0, 0.3, 0.1)


def oof_scores(
    rows: list[LabelledFeatures], l2: float | None = None, k: int = 5
) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
    """Out-of-fold P(pass) per scorer key (NaN where not applicable) and models fitted on all rows.

    ``l2`` None picks each scorer's regularisation from ``L2_GRID`` by its out-of-fold F1 (the
    figures reported are then those of the chosen strength on the same folds)."""
    n = len(rows)
    groups = [r.group for r in rows]
    scores = {}
    models = {}
    for key, idx in assign_scorers(rows).items():
        c = criterion_of(key)
        s = np.full(n, np.nan)
        if not _usable(rows, idx, c):
            scores[key] = s
            continue
        x = np.array([vector(key, rows[i].features[c]) for i in idx])
        y = np.array([1.0 if rows[i].labels[c] else 0.0 for i in idx])
        g = [groups[i] for i in idx]
        folds = _folds(g, min(k, len(set(g))))
        best = None
        for strength in (l2,) if l2 is not None else L2_GRID:
            oof = np.full(len(idx), np.nan)
            for test in folds:
                train = ~test
                if test.any() and len(set(y[train])) == 2:
                    oof[test] = predict(fit(x[train], y[train], signs(key), strength), x[test])
            ok = ~np.isnan(oof)
            f1 = best_f1_threshold(oof[ok], y[ok] == 1)[1] if ok.any() else -1.0
            if best is None or f1 > best[0] + 1e-9:
                best = (f1, strength, oof)
        assert best is not None  # the grid is never empty
        _, strength, oof = best
        s[np.array(idx)] = oof
        models[key] = {**fit(x, y, signs(key), strength), "l2": strength}
        scores[key] = s
    return scores, models


def in_sample_scores(rows: list[LabelledFeatures], models: dict[str, dict]) -> dict[str, np.ndarray]:
    out = {}
    for key, idx in assign_scorers(rows).items():
        s = np.full(len(rows), np.nan)
        if key in models:
            for i in idx:
                s[i] = predict(models[key], vector(key, rows[i].features[criterion_of(key)])[None])[0]
        out[key] = s
    return out


def best_f1_threshold(score: np.ndarray, passed: np.ndarray) -> tuple[float, float]:
    """Threshold on P(pass) that maximises F1 of catching failures; (threshold, f1)."""
    best = (0.5, -1.0)
    for t in np.unique(np.concatenate([score, [0.5]])):
        pred_fail = score < t + 1e-12
        tp = (pred_fail & ~passed).sum()
        fp = (pred_fail & passed).sum()
        fn = (~pred_fail & ~passed).sum()
        f1 = 2 * tp / max(2 * tp + fp + fn, 1)
        if f1 > best[1] + 1e-9:
            best = (float(t) + 1e-9, float(f1))
    return best


def verdicts(scores: dict[str, np.ndarray], th: dict[str, Thresholds]) -> np.ndarray:
    n = len(next(iter(scores.values())))
    out = np.array(["accept"] * n, dtype=object)
    for c, s in scores.items():
        ok = ~np.isnan(s)
        out[ok & (s < th[c].accept) & (out == "accept")] = "review"
        out[ok & (s < th[c].reject)] = "reject"
    return out


def _precision(v: np.ndarray, acceptable: np.ndarray, which: str) -> float:
    sel = v == which
    if not sel.any():
        return 1.0
    good = acceptable[sel] if which == "accept" else ~acceptable[sel]
    return float(good.mean())


def fit_verdict_thresholds(
    scores, acceptable: np.ndarray, decide: dict[str, float], target: float
) -> dict[str, Thresholds]:
    """Greedy: start at the F1 thresholds, then tighten whichever criterion buys the most precision
    per decided pair lost, until accepted and rejected pairs both meet ``target``."""
    th = {c: Thresholds(decide[c], decide[c], decide[c]) for c in scores}
    for which in ("accept", "reject"):
        for _ in range(500):
            v = verdicts(scores, th)
            if _precision(v, acceptable, which) >= target:
                break
            wrong = (v == which) & (~acceptable if which == "accept" else acceptable)
            best = None
            for c, s in scores.items():
                cur = th[c].accept if which == "accept" else th[c].reject
                # the smallest moves of this criterion's threshold that take one wrong pair out
                if which == "accept":
                    moves = np.unique(s[wrong & ~np.isnan(s) & (s >= cur)]) + 1e-9
                else:
                    moves = np.unique(s[wrong & ~np.isnan(s) & (s < cur)])[::-1] - 1e-9
                for new in moves[:25]:
                    trial = {k: Thresholds(x.decide, x.accept, x.reject) for k, x in th.items()}
                    setattr(trial[c], which, float(new))
                    v2 = verdicts(scores, trial)
                    sel1, sel2 = v == which, v2 == which
                    gain = int((wrong & ~sel2).sum())
                    lost = int(sel1.sum() - sel2.sum())
                    ratio = gain / max(lost, 1)
                    if gain > 0 and (best is None or ratio > best[0]):
                        best = (ratio, trial)
            if best is None:
                break
            th = best[1]
    return th


def calibrate(
    rows: list[LabelledFeatures], target_precision: float = 0.98, l2: float | None = None, source: str = ""
) -> Calibration:
    scores, models = oof_scores(rows, l2)
    acceptable = np.array([r.acceptable for r in rows])
    decide_t, f1s = {}, {}
    for c, s in scores.items():
        ok = ~np.isnan(s)
        if ok.sum() == 0:
            decide_t[c] = 0.5
            continue
        passed = np.array([bool(rows[i].labels[criterion_of(c)]) for i in np.nonzero(ok)[0]])
        decide_t[c], f1s[c] = best_f1_threshold(s[ok], passed)
    # Thresholds must hold both for new products (out-of-fold scores) and for these very pairs
    # scored by the final model, whose in-sample scores are more confident: keep the stricter.
    th = fit_verdict_thresholds(scores, acceptable, decide_t, target_precision)
    fitted = in_sample_scores(rows, models)
    th_in = fit_verdict_thresholds(fitted, acceptable, decide_t, target_precision)
    for c in th:
        th[c].accept = max(th[c].accept, th_in[c].accept)
        th[c].reject = min(th[c].reject, th_in[c].reject)
    v = verdicts(scores, th)
    v_in = verdicts(fitted, th)
    metrics = {
        "out_of_fold": True,
        "pairs": len(rows),
        "f1": {c: round(f, 4) for c, f in f1s.items()},
        "accept_precision": round(_precision(v, acceptable, "accept"), 4),
        "reject_precision": round(_precision(v, acceptable, "reject"), 4),
        "automation": round(float((v != "review").mean()), 4),
        "accepted": int((v == "accept").sum()),
        "rejected": int((v == "reject").sum()),
        "in_sample": {
            "accept_precision": round(_precision(v_in, acceptable, "accept"), 4),
            "reject_precision": round(_precision(v_in, acceptable, "reject"), 4),
            "automation": round(float((v_in != "review").mean()), 4),
        },
    }
    return Calibration(th, models, target_precision, source, metrics)


def rows_from_results(
    results_path: Path, labels_path: Path, group: GroupBy = "group"
) -> list[LabelledFeatures]:
    """Join a ``maskgate check`` results.jsonl (whose evidence holds the measurements) with labels;
    ``group`` names each pair's cross-validation group (see ``group_of``)."""
    labels = {}
    for line in Path(labels_path).read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            labels[rec["id"]] = rec
    rows = []
    for rec in read_records(results_path):
        lab = labels.get(rec.id)
        if lab is None or rec.verdict == "error" or "labels" not in lab:
            continue
        feats: dict[str, dict[str, float]] = {
            c: (rec.criteria[c].measurements() if c in rec.criteria else {}) for c in CRITERIA
        }
        rows.append(
            LabelledFeatures(
                rec.id,
                group_of(lab, group),
                rec.kind,
                feats,
                lab["labels"],
                bool(lab["acceptable"]),
                uncertain=bool(lab.get("dead_zone")),
            )
        )
    return rows
