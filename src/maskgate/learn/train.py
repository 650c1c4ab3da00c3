"""``maskgate learn``: train every scorer, choose each one's model class by held-out measurement,
and set verdict thresholds that are sure rather than right on average.

The packaged calibration was fitted on one benchmark, and on unseen sets its accept precision
fell to 0.62-0.75. So each step here is judged on held-out pairs. Folds are grouped (by the
label's ``group`` field, by default the pair's original), so no image is scored by a model that
saw it. Each scorer's model class (sign-constrained logistic or monotone trees) is the one whose
out-of-fold log-loss is lower. Accept and reject thresholds come from those out-of-fold scores
and confidence bounds (``bounds``), not from point precision, and a scorer that cannot meet its
bound never decides alone.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy.stats import mannwhitneyu

import maskgate
from maskgate.check.model import (
    NEVER_ACCEPT,
    NEVER_REJECT,
    LearnedModel,
    ScorerModel,
    gbm_constraints,
    gbm_input_names,
    gbm_vector,
)
from maskgate.check.scoring import criterion_of, probability, scorer, signs, vector
from maskgate.check.verdict import Thresholds
from maskgate.core.types import CRITERIA
from maskgate.learn import gbm, logistic
from maskgate.learn.bounds import CONFIDENCE, accept_threshold, lower_bound, reject_threshold, upper_bound
from maskgate.learn.calibrate import L2_GRID, LabelledFeatures, assign_scorers, best_f1_threshold, verdicts

ModelChoice = Literal["auto", "logistic", "gbm"]
MODEL_CHOICES: tuple[str, ...] = ("auto", "logistic", "gbm")
# Trees replace the logistic model only when clearly better: a tie keeps the model whose behaviour
# off the labelled range is a plain slope.
GBM_MARGIN_REL, GBM_MARGIN_ABS = 0.02, 0.005
# Automatic rejects have their own, lower bar: a wrongly rejected good edit costs one more
# generation, a wrongly accepted bad one reaches the catalogue. At the accept bar (0.98) a reject
# needs about 150 sure-bad pairs with no good one among them before the gate may reject at all.
REJECT_PRECISION = 0.95


# ---------------------------------------------------------------- figures


def balanced_weights(y: np.ndarray) -> np.ndarray:
    """Each class weighs half, as in ``logistic.fit``: failures are rare in one criterion and
    common in another, and a scorer must not learn the base rate instead of the defect."""
    pos = min(max(float(y.mean()), 1e-3), 1 - 1e-3)
    return np.where(y == 1, 0.5 / pos, 0.5 / (1 - pos))


def balanced_log_loss(p: np.ndarray, y: np.ndarray) -> float:
    """Mean log-loss of each class, averaged: the loss both model classes were trained on."""
    p = np.clip(p, 1e-6, 1 - 1e-6)
    parts = [float(-np.log(p[y == 1]).mean())] if (y == 1).any() else []
    parts += [float(-np.log(1 - p[y == 0]).mean())] if (y == 0).any() else []
    return float(np.mean(parts)) if parts else math.nan


def auc(p: np.ndarray, passed: np.ndarray) -> float:
    """Probability that a passing pair scores above a failing one (ties count half)."""
    good, bad = p[passed], p[~passed]
    if good.size == 0 or bad.size == 0:
        return math.nan
    return float(mannwhitneyu(good, bad).statistic / (good.size * bad.size))


def fail_prf(score: np.ndarray, passed: np.ndarray, t: float) -> dict[str, float]:
    """Precision, recall and F1 of catching failures (score under ``t``)."""
    pred = score < t
    tp = int((pred & ~passed).sum())
    fp = int((pred & passed).sum())
    fn = int((~pred & ~passed).sum())
    return {
        "precision": tp / max(tp + fp, 1),
        "recall": tp / max(tp + fn, 1),
        "f1": 2 * tp / max(2 * tp + fp + fn, 1),
    }


def _figures(p: np.ndarray, y: np.ndarray) -> dict[str, float]:
    passed = y == 1
    return {
        "log_loss": balanced_log_loss(p, y),
        "auc": auc(p, passed),
        "f1": best_f1_threshold(p, passed)[1] if passed.any() and (~passed).any() else math.nan,
    }


def _clean(o: Any) -> Any:
    """JSON-ready: rounded floats, NaN as null, numpy scalars as Python's."""
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean(v) for v in o]
    if isinstance(o, bool | np.bool_):
        return bool(o)
    if isinstance(o, int | np.integer):
        return int(o)
    if isinstance(o, float | np.floating):
        return None if math.isnan(float(o)) else round(float(o), 6)
    return o


# ---------------------------------------------------------------- folds and scorer rows


def fold_ids(groups: Sequence[str], k: int) -> np.ndarray:
    """Fold of each row: groups in sorted order dealt round the folds, as ``calibrate`` does."""
    uniq = {g: i for i, g in enumerate(sorted(set(groups)))}
    return np.array([uniq[g] % k for g in groups], np.int64)


@dataclass
class ScorerRows:
    """One scorer's pairs: the labelled ones it trains on, and every one it would score in a check
    (labelled or not), which the pair-level thresholds are set on."""

    key: str
    labelled: np.ndarray  # row indices
    applicable: np.ndarray  # row indices, a superset of labelled
    y: np.ndarray = field(default_factory=lambda: np.zeros(0))  # 1 pass / 0 fail, for labelled


def scorer_rows(rows: list[LabelledFeatures]) -> dict[str, ScorerRows]:
    """Rows per scorer key: every criterion's scorer, and a kind's own where its labels allow
    (``calibrate.assign_scorers``); a pair measured for a criterion but not labelled for it still
    counts where that scorer would judge it."""
    assigned = assign_scorers(rows)
    out: dict[str, ScorerRows] = {}
    for c in CRITERIA:
        keys = [c] + sorted(k for k in assigned if criterion_of(k) == c and k != c)
        app: dict[str, list[int]] = {k: [] for k in keys}
        for i, r in enumerate(rows):
            if r.features.get(c):
                k = scorer(c, r.kind)
                app[k if k in app else c].append(i)
        for k in keys:
            lab = np.array(sorted(assigned.get(k, [])), np.int64)
            y = np.array([1.0 if rows[i].labels[c] else 0.0 for i in lab])
            out[k] = ScorerRows(k, lab, np.array(sorted(set(app[k]) | set(lab.tolist())), np.int64), y)
    return out


def _usable(y: np.ndarray) -> bool:
    return len(y) >= 10 and 0 < y.sum() < len(y)


# ---------------------------------------------------------------- one scorer


@dataclass
class FittedScorer:
    model: ScorerModel
    oof: np.ndarray  # over all rows, NaN where not applicable (or no fold could score it)


def _oof(
    fit_predict,
    x_lab: np.ndarray,
    y: np.ndarray,
    fold_lab: np.ndarray,
    x_app: np.ndarray,
    fold_app: np.ndarray,
) -> list[np.ndarray]:
    """Out-of-fold predictions over the applicable rows, one array per configuration that
    ``fit_predict(x_train, y_train, x_test)`` returns (a fold whose training lacks one outcome
    scores nothing)."""
    outs: list[np.ndarray] | None = None
    for f in np.unique(fold_app):
        train, test = fold_lab != f, fold_app == f
        if len(set(y[train].tolist())) < 2 or not test.any():
            continue
        preds = fit_predict(x_lab[train], y[train], x_app[test])
        if outs is None:
            outs = [np.full(len(x_app), np.nan) for _ in preds]
        for o, p in zip(outs, preds, strict=True):
            o[test] = p
    return outs or []


def fit_scorer(
    key: str,
    sr: ScorerRows,
    rows: list[LabelledFeatures],
    folds: np.ndarray,
    model_class: ModelChoice,
    threads: int,
) -> FittedScorer:
    """One scorer fitted on its labelled rows, with its out-of-fold scores over every row.

    Public because the bench diagnostics (``top_bad.py``, ``scorer_folds.py``) must rank pairs by
    exactly the scores ``learn`` sets its thresholds on, not by a second copy of the fit."""
    c = criterion_of(key)
    n = len(rows)
    feats = [rows[i].features[c] for i in sr.applicable]
    default_p = np.array([probability(key, f, None) for f in feats])
    lab_pos = np.searchsorted(sr.applicable, sr.labelled)  # labelled rows within applicable
    y = sr.y
    counts = {"rows": len(y), "pass": int(y.sum()), "fail": int(len(y) - y.sum())}
    oof_all = np.full(n, np.nan)
    default_fig = _figures(default_p[lab_pos], y) if len(y) else {}
    if not _usable(y):
        oof_all[sr.applicable] = default_p
        why = "fewer than ten labelled pairs or one outcome only: the untrained default scorer"
        info = {**counts, "comparison": {"default": default_fig}, "chosen_by": why}
        return FittedScorer(ScorerModel(key, "default", info=info), oof_all)

    fold_app = folds[sr.applicable]
    fold_lab = fold_app[lab_pos]
    comparison: dict[str, Any] = {"default": default_fig}

    # sign-constrained logistic on the badness vector, L2 strength from the grid
    xl_app = np.array([vector(key, f) for f in feats])
    xl = xl_app[lab_pos]
    sg = signs(key)
    log_oofs = _oof(
        lambda a, b, t: [logistic.predict(logistic.fit(a, b, sg, s), t) for s in L2_GRID],
        xl,
        y,
        fold_lab,
        xl_app,
        fold_app,
    )
    best_log = None
    for strength, o in zip(L2_GRID, log_oofs, strict=bool(log_oofs)):  # [] when no fold could train
        ok = ~np.isnan(o[lab_pos])
        ll = balanced_log_loss(o[lab_pos][ok], y[ok])
        if best_log is None or ll < best_log[0] - 1e-9:  # strongest first: a tie keeps it
            best_log = (ll, strength, o)
    candidates: dict[str, tuple[float, dict[str, Any], np.ndarray]] = {}
    if best_log is not None:
        ll, strength, o = best_log
        ok = ~np.isnan(o[lab_pos])
        comparison["logistic"] = {**_figures(o[lab_pos][ok], y[ok]), "l2": strength}
        candidates["logistic"] = (ll, {"l2": strength}, o)

    # monotone trees on the badness vector and the raw measurements whose direction is known
    if model_class == "gbm" or (model_class == "auto" and len(y) >= gbm.MIN_ROWS):
        xg_app = np.array([gbm_vector(key, f) for f in feats])
        xg = xg_app[lab_pos]
        cons = gbm_constraints(key)

        def trees(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> list[np.ndarray]:
            out = []
            for leaves in gbm.LEAVES:
                booster = gbm.fit(a, b, balanced_weights(b), cons, leaves, max(gbm.ROUNDS), threads=threads)
                out += [gbm.predict(booster, t, r) for r in gbm.ROUNDS]
            return out

        configs = [(lv, r) for lv in gbm.LEAVES for r in gbm.ROUNDS]
        best_gbm = None
        tree_oofs = _oof(trees, xg, y, fold_lab, xg_app, fold_app)
        for (leaves, rounds), o in zip(configs, tree_oofs, strict=bool(tree_oofs)):
            ok = ~np.isnan(o[lab_pos])
            ll = balanced_log_loss(o[lab_pos][ok], y[ok])
            if best_gbm is None or ll < best_gbm[0] - 1e-9:  # fewest leaves and rounds first
                best_gbm = (ll, leaves, rounds, o)
        if best_gbm is not None:
            ll, leaves, rounds, o = best_gbm
            ok = ~np.isnan(o[lab_pos])
            comparison["gbm"] = {**_figures(o[lab_pos][ok], y[ok]), "leaves": leaves, "rounds": rounds}
            candidates["gbm"] = (ll, {"leaves": leaves, "rounds": rounds}, o)
    else:
        comparison["gbm"] = {"skipped": f"fewer than {gbm.MIN_ROWS} labelled pairs"}

    if not candidates:  # no fold could train (every group holds one outcome only)
        oof_all[sr.applicable] = default_p
        why = "no fold had both outcomes to train on: the untrained default scorer"
        return FittedScorer(
            ScorerModel(key, "default", info={**counts, "comparison": comparison, "chosen_by": why}), oof_all
        )
    chosen: str
    if model_class in candidates:
        chosen = model_class
        why = f"--model-class {model_class}"
    elif "gbm" in candidates and "logistic" in candidates:
        ll_log, ll_gbm = candidates["logistic"][0], candidates["gbm"][0]
        better = ll_gbm < ll_log - max(GBM_MARGIN_REL * ll_log, GBM_MARGIN_ABS)
        chosen = "gbm" if better else "logistic"
        why = (
            "grouped out-of-fold balanced log-loss: trees must beat the logistic model by "
            f"{GBM_MARGIN_REL:.0%} (at least {GBM_MARGIN_ABS})"
        )
    else:
        chosen = next(iter(candidates))
        why = f"only {chosen} could be trained"
    _, hyper, o = candidates[chosen]
    oof_all[sr.applicable] = o
    info = {**counts, "comparison": comparison, "chosen_by": why, **hyper}
    if chosen == "gbm":
        booster = gbm.fit(
            xg,
            y,
            balanced_weights(y),
            gbm_constraints(key),
            hyper["leaves"],
            hyper["rounds"],
            names=[_lgb_name(s) for s in gbm_input_names(key)],
            threads=threads,
        )
        return FittedScorer(ScorerModel(key, "gbm", booster=booster, info=info), oof_all)
    fitted = {**logistic.fit(xl, y, sg, hyper["l2"]), "l2": hyper["l2"]}
    return FittedScorer(ScorerModel(key, "logistic", logistic=fitted, info=info), oof_all)


def _lgb_name(name: str) -> str:
    """LightGBM feature names may not hold JSON's special characters."""
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)


# ---------------------------------------------------------------- thresholds


def _pair_verdicts(
    scores: dict[str, np.ndarray],
    missing: np.ndarray,
    th: dict[str, Thresholds],
    kinds: np.ndarray | None = None,
    accept_kinds: Sequence[str] | None = None,
) -> np.ndarray:
    """Verdicts as the check gives them; a pair one of whose scorers had no out-of-fold score goes
    to review, so it never counts as a sure decision the figures cannot vouch for; so does an
    accept of a kind the gate does not vouch for (``verdict.decide``)."""
    v = verdicts(scores, th)
    v[missing] = "review"
    if kinds is not None and accept_kinds is not None:
        v[(v == "accept") & ~np.isin(kinds, list(accept_kinds))] = "review"
    return v


def _bound_holds(
    which: Literal["accept", "reject"],
    v: np.ndarray,
    acceptable: np.ndarray,
    target: float,
    confidence: float,
) -> bool:
    """Do the pairs given verdict ``which`` in ``v`` meet its bound? (None given: an accept's
    upper bound is then 1, a reject's lower bound 0, so neither holds.)"""
    sel = v == which
    bad = int((sel & ~acceptable).sum())
    if which == "accept":
        return upper_bound(bad, int(sel.sum()), confidence) <= 1 - target + 1e-12
    return lower_bound(bad, int(sel.sum()), confidence) >= target - 1e-12


def _tighten(
    which: Literal["accept", "reject"],
    scores: dict[str, np.ndarray],
    missing: np.ndarray,
    acceptable: np.ndarray,
    th: dict[str, Thresholds],
    target: float,
    confidence: float,
) -> dict[str, Thresholds]:
    """Make the pair-level bound hold, not only each scorer's: a pair is accepted when every
    scorer accepts it, and one scorer's sure accept says nothing of the criteria it does not
    see. While the bound fails, the scorer threshold that drops the most wrongly decided pairs
    per rightly decided one lost moves (greedy, as ``calibrate.fit_verdict_thresholds``); when
    no wrong pair is left and the bound still fails, too few pairs are decided to vouch for
    any: that verdict is then never given automatically."""

    th = {k: Thresholds(t.decide, t.accept, t.reject) for k, t in th.items()}
    for _ in range(len(acceptable) + 1):
        v = _pair_verdicts(scores, missing, th)
        sel = v == which
        if not sel.any():
            break
        if _bound_holds(which, v, acceptable, target, confidence):
            return th
        wrong = sel & (~acceptable if which == "accept" else acceptable)
        if not wrong.any():
            break
        best: tuple[float, int, dict[str, Thresholds]] | None = None
        for key, s in scores.items():
            cur = getattr(th[key], which)
            vals = s[wrong & ~np.isnan(s)]
            if which == "accept":  # raise the bar just over a wrongly accepted pair's score
                moves = [float(np.nextafter(x, 2.0)) for x in np.unique(vals)[:25]]
            else:  # lower it to a wrongly rejected pair's score (reject is score < t)
                moves = [float(x) for x in np.unique(vals[vals < cur])[::-1][:25]]
            for new in moves:
                trial = {k: Thresholds(t.decide, t.accept, t.reject) for k, t in th.items()}
                setattr(trial[key], which, new)
                v2 = _pair_verdicts(scores, missing, trial)
                gain = int((wrong & (v2 != which)).sum())
                lost = int((sel & ~wrong & (v2 != which)).sum())
                ratio = gain / max(lost, 1)
                if gain > 0 and (best is None or (ratio, gain) > (best[0], best[1])):
                    best = (ratio, gain, trial)
        if best is None:
            break
        th = best[2]
    never = NEVER_ACCEPT if which == "accept" else NEVER_REJECT
    for t in th.values():
        setattr(t, which, never)
    return th


def _accept_by_kind(
    scores: dict[str, np.ndarray],
    missing: np.ndarray,
    acceptable: np.ndarray,
    kinds: np.ndarray,
    start: dict[str, Thresholds],
    target: float,
    confidence: float,
) -> tuple[dict[str, Thresholds], tuple[str, ...]]:
    """Accept thresholds that vouch for each edit kind on its own pairs. Why: the kinds are
    different generators (a segmenter, a background painter, a text eraser). Pooled, an easy
    kind's many sure pairs carry a hard kind's few accepts, whose own bound is far under the
    target, and one kind's failures that read clean (a real segmenter's kept scene) forbid every
    accept of another whose own pairs are surely judged. A user's pipeline is most often one
    kind, and the bound held on that kind's pairs alone is the promise that user gets.

    Each kind is tightened on its own pairs (``_tighten``); a scorer shared by several kinds takes
    the highest of their accept thresholds (a raised accept only removes accepts), and then every
    kind's bound is checked again under the shared thresholds: a kind whose bound fails is dropped
    and the rest are tightened anew. Returns the thresholds and the kinds vouched for (none: every
    accept threshold "never")."""
    # each kind's own pairs, cut once: the loop below tightens and checks them again and again
    own_pairs = {}
    for kd in sorted(set(kinds.tolist())):
        sel = kinds == kd
        own_pairs[kd] = ({k: sc[sel] for k, sc in scores.items()}, missing[sel], acceptable[sel])
    vouched = list(own_pairs)
    while vouched:
        own = {}
        for kd in vouched:
            sc, miss, ok = own_pairs[kd]
            t = _tighten("accept", sc, miss, ok, start, target, confidence)
            if any(x.accept < NEVER_ACCEPT for x in t.values()):
                own[kd] = t
        th = {
            k: Thresholds(t.decide, max((own[kd][k].accept for kd in own), default=NEVER_ACCEPT), t.reject)
            for k, t in start.items()
        }
        held = []
        for kd in own:
            sc, miss, ok = own_pairs[kd]
            if _bound_holds("accept", _pair_verdicts(sc, miss, th), ok, target, confidence):
                held.append(kd)
        if held == vouched:
            return th, tuple(held)
        vouched = held
    return {k: Thresholds(t.decide, NEVER_ACCEPT, t.reject) for k, t in start.items()}, ()


def scorer_thresholds(
    score: np.ndarray,
    passed: np.ndarray,
    target: float,
    confidence: float = CONFIDENCE,
    reject_target: float = REJECT_PRECISION,
) -> Thresholds:
    """A scorer's own thresholds from its held-out scores on labelled pairs: ``decide`` for F1 of
    catching failures, ``accept`` and ``reject`` by the bounds (never on the wrong side of
    ``decide``, so an accepted pair never reads as failed on a criterion)."""
    if passed.all() or (~passed).all():
        decide = 0.5
    else:
        decide = best_f1_threshold(score, passed)[0]
    return Thresholds(
        decide,
        accept_threshold(score, ~passed, target, confidence, floor=decide),
        reject_threshold(score, ~passed, reject_target, confidence, ceiling=decide),
    )


# ---------------------------------------------------------------- the whole model


def describe_sources(labels: Sequence[Path], results: Sequence[Path | None]) -> list[dict[str, Any]]:
    """The files a model was trained on, with their sha256: a figure in model.json is then traceable
    to the exact labels behind it."""
    out = []
    for lab, res in zip(labels, results, strict=True):
        data = Path(lab).read_bytes()
        entry: dict[str, Any] = {
            "labels": str(lab),
            "sha256": hashlib.sha256(data).hexdigest(),
            "lines": sum(1 for x in data.splitlines() if x.strip()),
        }
        if res is not None:
            entry["results"] = str(res)
            entry["results_sha256"] = hashlib.sha256(Path(res).read_bytes()).hexdigest()
        out.append(entry)
    return out


def _trained_on(rows: list[LabelledFeatures], sources: list[dict[str, Any]], group_by: str) -> dict[str, Any]:
    crit = {}
    for c in CRITERIA:
        vals = [r.labels.get(c) for r in rows]
        crit[c] = {
            "pass": sum(v is True for v in vals),
            "fail": sum(v is False for v in vals),
            "unlabelled": sum(v is None for v in vals),
            "measured": sum(bool(r.features.get(c)) for r in rows),
        }
    groups = Counter(r.group for r in rows)
    return {
        "files": sources,
        "pairs": len(rows),
        "acceptable": sum(r.acceptable for r in rows),
        "group_by": group_by,
        "kinds": dict(Counter(str(r.kind) for r in rows)),
        "criteria": crit,
        "groups": {"count": len(groups), "pairs": dict(sorted(groups.items()))},
    }


def train(
    rows: list[LabelledFeatures],
    target_precision: float = 0.98,
    model_class: ModelChoice = "auto",
    confidence: float = CONFIDENCE,
    k: int = 5,
    sources: list[dict[str, Any]] | None = None,
    group_by: str = "group",
    threads: int = 1,
    reject_precision: float = REJECT_PRECISION,
) -> LearnedModel:
    """Train every scorer and the verdict thresholds on labelled pairs (see module doc)."""
    from threadpoolctl import threadpool_limits

    # The fits multiply tiny matrices thousands of times; BLAS threads only contend there (three
    # times slower on a loaded two-core machine), so they are held to one while training.
    with threadpool_limits(1, user_api="blas"):
        return _train(
            rows,
            target_precision,
            model_class,
            confidence,
            k,
            sources or [],
            group_by,
            threads,
            reject_precision,
        )


def _train(
    rows: list[LabelledFeatures],
    target_precision: float,
    model_class: ModelChoice,
    confidence: float,
    k: int,
    sources: list[dict[str, Any]],
    group_by: str,
    threads: int,
    reject_precision: float,
) -> LearnedModel:
    if model_class not in MODEL_CHOICES:
        raise ValueError(f"model class {model_class!r}: choose one of {', '.join(MODEL_CHOICES)}")
    t0 = time.perf_counter()
    n_groups = len({r.group for r in rows})
    if n_groups < 2:
        raise ValueError(
            f"{len(rows)} labelled pairs in {n_groups} group: held-out figures need two groups at least "
            "(see --group-by)"
        )
    kf = min(k, n_groups)
    folds = fold_ids([r.group for r in rows], kf)
    per_key = scorer_rows(rows)
    fitted = {key: fit_scorer(key, sr, rows, folds, model_class, threads) for key, sr in per_key.items()}

    # each scorer's own thresholds, from its held-out scores on its labelled pairs
    th: dict[str, Thresholds] = {}
    for key, sr in per_key.items():
        s = fitted[key].oof[sr.labelled]
        ok = ~np.isnan(s)
        th[key] = scorer_thresholds(s[ok], sr.y[ok] == 1, target_precision, confidence, reject_precision)
    scorer_own = {k: Thresholds(t.decide, t.accept, t.reject) for k, t in th.items()}

    # then the pair-level bounds, on every pair the scorers would judge
    scores = {k: f.oof for k, f in fitted.items()}
    missing = np.zeros(len(rows), bool)
    for key, sr in per_key.items():
        missing[sr.applicable[np.isnan(fitted[key].oof[sr.applicable])]] = True
    acceptable = np.array([r.acceptable for r in rows], bool)
    # A dead-zone pair (``uncertain``) counts as bad for the accept bound (acceptable False): no
    # accept may rest on a coin toss. The reject bound leaves it out: rejecting an edit at the
    # line a reviewer could draw either way costs one more generation, and counted good, the
    # many dead-zone pairs that look bad would forbid every reject (measured on the corpora).
    uncertain = np.array([r.uncertain for r in rows], bool)
    # The guarantee is about pairs, so the pair-level search starts from every scorer's F1
    # threshold, not from its own bound: a scorer with 60 labelled failures can never vouch for a
    # 95% reject alone (it would need about 60 sure ones with no good pair among them), while the
    # pairs all scorers reject together can. ``_tighten`` then only raises accepts and lowers
    # rejects until the pooled bound holds (each scorer's own bound is kept in the validation).
    # A scorer with no held-out score (never measured or never labelled here) keeps its own
    # "never": nothing vouches for it deciding alone on pairs where it is measured later.
    judged = {k for k, f in fitted.items() if (~np.isnan(f.oof)).any()}
    th = {k: Thresholds(t.decide, t.decide, t.decide) if k in judged else t for k, t in th.items()}
    # Accepts are vouched for kind by kind (``_accept_by_kind``): a bound pooled over the kinds
    # let 23 cut-outs whose own bound was 0.88 ride on 439 erasures, and on the dev set such a
    # gate's cut-out accepts were 0.59 precise (docs/benchmarks.md, tenth round).
    kinds = np.array([str(r.kind) for r in rows], dtype=object)
    th, accept_kinds = _accept_by_kind(scores, missing, acceptable, kinds, th, target_precision, confidence)
    th = _tighten("reject", scores, missing | uncertain, acceptable, th, reject_precision, confidence)

    validation = _validation(
        rows, per_key, fitted, scores, missing, acceptable, uncertain, th, confidence, kf, kinds, accept_kinds
    )
    validation["scorer_thresholds_before_pair_bounds"] = {k: asdict(t) for k, t in scorer_own.items()}
    scorers = {k: f.model for k, f in fitted.items()}
    for s in scorers.values():
        s.info = _clean(s.info)
    meta = {
        "maskgate_version": maskgate.__version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "trained_on": _trained_on(rows, sources, group_by),
        "target_precision": target_precision,
        "reject_precision": reject_precision,
        "confidence": confidence,
        "model_class": model_class,
        "accept_kinds": list(accept_kinds),
        "validation": _clean(validation),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return LearnedModel(scorers, th, meta)


def _validation(
    rows: list[LabelledFeatures],
    per_key: dict[str, ScorerRows],
    fitted: dict[str, FittedScorer],
    scores: dict[str, np.ndarray],
    missing: np.ndarray,
    acceptable: np.ndarray,
    uncertain: np.ndarray,
    th: dict[str, Thresholds],
    confidence: float,
    k: int,
    kinds: np.ndarray | None = None,
    accept_kinds: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Held-out figures of the whole model: per scorer and criterion (catching failures at
    ``decide``), and per pair (the verdicts; a dead-zone pair counts against accepts and is left
    out of rejects, as in the bounds)."""
    per_scorer = {}
    for key, sr in per_key.items():
        s = fitted[key].oof[sr.labelled]
        ok = ~np.isnan(s)
        passed = sr.y[ok] == 1
        fig: dict[str, Any] = {"class": fitted[key].model.model_class, "rows": int(ok.sum())}
        if ok.any():
            fig |= fail_prf(s[ok], passed, th[key].decide)
            fig |= {"auc": auc(s[ok], passed), "log_loss": balanced_log_loss(s[ok], sr.y[ok])}
        per_scorer[key] = fig
    per_criterion = {}
    for c in CRITERIA:
        sc, ps = [], []
        for key, sr in per_key.items():
            if criterion_of(key) != c:
                continue
            s = fitted[key].oof[sr.labelled]
            ok = ~np.isnan(s)
            # each scorer against its own decide threshold: pass/fail as the check reports it
            sc.append(s[ok] - th[key].decide)
            ps.append(sr.y[ok] == 1)
        if sc and len(np.concatenate(sc)):
            per_criterion[c] = {
                "rows": len(np.concatenate(sc)),
                **fail_prf(np.concatenate(sc), np.concatenate(ps), 0.0),
            }
    v = _pair_verdicts(scores, missing, th, kinds, accept_kinds)
    acc, rej = v == "accept", (v == "reject") & ~uncertain
    n_acc, n_rej = int(acc.sum()), int(rej.sum())
    bad_acc, bad_rej = int((acc & ~acceptable).sum()), int((rej & ~acceptable).sum())
    good = int(acceptable.sum())
    by_kind = {}
    for kd in sorted(set(kinds.tolist())) if kinds is not None else []:
        a, g = acc & (kinds == kd), acceptable & (kinds == kd)
        n, b = int(a.sum()), int((a & ~acceptable).sum())
        by_kind[kd] = {
            "pairs": int((kinds == kd).sum()),
            "accepted": n,
            "bad_accepted": b,
            "precision_lower_bound": 1 - upper_bound(b, n, confidence),
            "good_accepted_share": int((a & acceptable).sum()) / max(int(g.sum()), 1),
        }
    return {
        "out_of_fold": True,
        "folds": k,
        "note": "grouped out-of-fold scores; the thresholds were chosen on these same scores",
        "pairs": len(rows),
        "scorers": per_scorer,
        "criteria": per_criterion,
        "accept": {
            "pairs": n_acc,
            "bad": bad_acc,
            "precision": 1 - bad_acc / n_acc if n_acc else None,
            "bad_share_upper_bound": upper_bound(bad_acc, n_acc, confidence),
            "precision_lower_bound": 1 - upper_bound(bad_acc, n_acc, confidence),
            "kinds": None if accept_kinds is None else list(accept_kinds),
            "by_kind": by_kind,
        },
        "reject": {
            "pairs": n_rej,
            "bad": bad_rej,
            "precision": bad_rej / n_rej if n_rej else None,
            "precision_lower_bound": lower_bound(bad_rej, n_rej, confidence),
        },
        "good_pairs": good,
        "good_accepted_share": int((acc & acceptable).sum()) / max(good, 1),
        "good_rejected_share": int((rej & acceptable).sum()) / max(good, 1),
        "dead_zone_pairs": int(uncertain.sum()),
        "automation": float((v != "review").mean()) if len(v) else 0.0,
        "no_held_out_score": int(missing.sum()),
    }
