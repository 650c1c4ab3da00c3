"""Active learning for the review queue: which items a person should look at first.

Uncertainty sampling. A check record's criterion scores are calibrated probabilities that the edit
passes that criterion, and each criterion is decided pass/fail by comparing its score with a
``decide`` threshold (0.5 unless a calibration says otherwise). The item whose decision is the
closest call teaches the most when a person labels it, so

    margin   = min over applicable criteria c of |score_c - threshold_c|
               (a criterion with ``"pass": null`` does not apply and is left out)
    priority = 1 - margin                                   (higher = served earlier)

A record without criterion scores falls back to its overall ``score`` against 0.5; a record with
no score at all gets priority 0, so it is served after every scored item (in import order).
Scores are clipped to [0, 1], so priority lies in [0, 1]; with the default thresholds a scored
item's priority is at least 0.5.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from maskgate.check.scoring import scorer
from maskgate.check.verdict import Thresholds
from maskgate.core.record import PairRecord
from maskgate.core.types import CRITERIA

DEFAULT_THRESHOLD = 0.5
NO_SCORE_PRIORITY = 0.0


def _score(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    v = float(v)
    if not math.isfinite(v):
        return None
    return min(1.0, max(0.0, v))


def uncertainty_margin(record: PairRecord, thresholds: Mapping[str, float] | None = None) -> float | None:
    """The smallest distance of a criterion score to its decision threshold (None: no score)."""
    thresholds = thresholds or {}
    margins = []
    for name, crit in record.criteria.items():
        if crit.passed is None:
            continue  # does not apply to this kind of edit (check then writes a placeholder score)
        s = _score(crit.score)
        if s is not None:
            # an edit kind judged by its own scorer has its own threshold ("residue@text_removed")
            t = thresholds.get(scorer(name, record.kind), thresholds.get(name, DEFAULT_THRESHOLD))
            margins.append(abs(s - float(t)))
    if margins:
        return min(margins)
    s = _score(record.score)
    return None if s is None else abs(s - DEFAULT_THRESHOLD)


def priority(record: PairRecord, thresholds: Mapping[str, float] | None = None) -> float:
    """Queue priority of one ``maskgate check`` record: 1 - uncertainty margin (see module doc)."""
    m = uncertainty_margin(record, thresholds)
    return NO_SCORE_PRIORITY if m is None else round(1.0 - m, 6)


# ---------------------------------------------------------------- expected information
#
# The queue asks what teaches most. Beside the closest call (above), an item teaches more when its
# criteria point different ways (one passes surely, another fails: the scorers disagree on the
# pair), when the people who already answered it disagree with the model (the model is wrong
# there, or the people are; either way a further answer settles it), and when the pair lies near
# the model's accept rule (below). They add up:
#
#     information = priority + W_CRITERIA * split + W_REVIEWERS * against + W_VERDICT * verdict
#
# split: the share of the judged criteria on the minority side of pass/fail, doubled (0: all
# agree, 1: an even split); against: the share of earlier answers whose overall answer differs
# from the model's (the model says acceptable when every judged score clears its threshold).
# verdict (only when re-scored by a model, whose scorers carry accept thresholds): 1 - the pair's
# distance to the accept boundary, min over judged criteria of (score - accept threshold). The
# closest criterion call teaches each scorer; this term teaches the accept rule. An automatic
# accept is granted only where labelled pairs vouch for its confidence bound (learn.bounds), and
# the pairs that can vouch are the ones the model would accept next; a gate that accepts nothing
# yet reads its "never" threshold (1.01) as the boundary, so its surest pairs come first. Only the
# accept side: an accept mistake ships a bad image, and the other terms already favour defects
# (a failing criterion is on the minority side); with both boundaries weighed, the pairs sure to
# fail (one criterion suffices, so they are many) filled the first batches and the accept region
# stayed unlabelled. Its weight (1.0, the largest) and the one-sided choice were set on the
# learning curve of one corpus (synth_dbB) and then run on another (synth_db), where no order
# moved the gate (docs/benchmarks.md, learning curve).
# Then diversity: the queue is ordered in windows of ``WINDOW`` items, and within one the next
# item is the most informative after a discount of ``DIVERSITY`` times its similarity to an item
# already placed (maximal marginal relevance), so one batch is not fifty near-duplicates. Two
# items are similar when they are edits of one original (1.0) or by their criterion scores
# (exp(-d^2 / SCALE^2), d the distance of the score vectors); items without scores are not
# similar to anything.

W_CRITERIA = 0.5
W_REVIEWERS = 0.5
W_VERDICT = 1.0  # information stays at most 3.0, below review.priority.AUDIT_PRIORITY
DIVERSITY = 0.5
WINDOW = 200
SCALE = 0.1


def criterion_scores(
    record: PairRecord, thresholds: Mapping[str, float] | None = None, scoring=None
) -> dict[str, tuple[float, float]]:
    """Judged criterion -> (P(pass), decide threshold): from the record, or re-scored from its
    stored measurements by ``scoring`` (a ``verdict.Scoring``: after ``learn``, the queue then
    asks by the new model's doubts)."""
    if scoring is not None:
        return _at_decide(rescored(record, scoring))
    out = {}
    for name, crit in record.criteria.items():
        if crit.passed is None:
            continue
        s = _score(crit.score)
        if s is not None:
            th = thresholds or {}
            out[name] = (s, float(th.get(scorer(name, record.kind), th.get(name, DEFAULT_THRESHOLD))))
    return out


def criteria_split(scores: Mapping[str, tuple[float, float]]) -> float:
    passed = [s >= t for s, t in scores.values()]
    if len(passed) < 2:
        return 0.0
    minority = min(sum(passed), len(passed) - sum(passed))
    return 2.0 * minority / len(passed)


def against_model(scores: Mapping[str, tuple[float, float]], answers: Sequence[bool]) -> float:
    if not answers or not scores:
        return 0.0
    model_ok = all(s >= t for s, t in scores.values())
    return sum(a != model_ok for a in answers) / len(answers)


def rescored(record: PairRecord, scoring) -> dict[str, tuple[float, Thresholds]]:
    """Judged criterion -> (P(pass) under ``scoring`` from the stored measurements, its scorer's
    thresholds)."""
    out = {}
    for name, crit in record.criteria.items():
        if crit.passed is None:
            continue
        key = scoring.scorer(name, record.kind)
        out[name] = (float(scoring.probability(key, crit.measurements())), scoring.thresholds[key])
    return out


def _at_decide(scored: Mapping[str, tuple[float, Thresholds]]) -> dict[str, tuple[float, float]]:
    return {name: (s, float(t.decide)) for name, (s, t) in scored.items()}


def verdict_closeness(scored: Mapping[str, tuple[float, Thresholds]]) -> float:
    """1 - the distance of a re-scored pair (``rescored``) to its accept boundary (see the
    comment above), in [0, 1]; 0 without a judged criterion."""
    if not scored:
        return 0.0
    to_accept = min(s - float(t.accept) for s, t in scored.values())
    return max(0.0, 1.0 - abs(to_accept))


def information(
    record: PairRecord,
    thresholds: Mapping[str, float] | None = None,
    scoring=None,
    answers: Sequence[bool] = (),
) -> float:
    """Expected information of asking a person about ``record`` (see the comment above);
    ``answers``: the overall answers people already gave."""
    scored = rescored(record, scoring) if scoring is not None else None  # once: both terms use it
    scores = _at_decide(scored) if scored is not None else criterion_scores(record, thresholds)
    if scores:
        base = 1.0 - min(abs(s - t) for s, t in scores.values())
    else:
        m = uncertainty_margin(record, thresholds)
        base = NO_SCORE_PRIORITY if m is None else 1.0 - m
    return round(
        base
        + W_CRITERIA * criteria_split(scores)
        + W_REVIEWERS * against_model(scores, answers)
        + (W_VERDICT * verdict_closeness(scored) if scored is not None else 0.0),
        6,
    )


def score_vector(record: PairRecord) -> np.ndarray | None:
    """The criterion scores in a fixed order (NaN where not judged); None without any."""
    v = np.array(
        [
            record.criteria[c].score
            if c in record.criteria and record.criteria[c].passed is not None
            else np.nan
            for c in CRITERIA
        ],
        np.float64,
    )
    return None if np.isnan(v).all() else v


def diverse_order(
    values: Sequence[float],
    vectors: Sequence[np.ndarray | None],
    originals: Sequence[str],
    diversity: float = DIVERSITY,
) -> list[tuple[int, float]]:
    """(index, discounted value) of every item, most informative first, with the diversity
    discount applied within each window (see the comment above). The discounted values never
    rise along the order within a window, so storing them as priorities keeps the order."""
    n = len(values)
    order = sorted(range(n), key=lambda i: -values[i])
    out: list[tuple[int, float]] = []
    for w in range(0, n, WINDOW):
        idx = order[w : w + WINDOW]
        m = len(idx)
        vec = np.full((m, len(CRITERIA)), np.nan)
        has = np.zeros(m, bool)
        for j, i in enumerate(idx):
            if vectors[i] is not None:
                vec[j], has[j] = vectors[i], True
        orig = [originals[i] for i in idx]
        base = np.array([values[i] for i in idx], np.float64)
        max_sim = np.zeros(m)
        left = np.ones(m, bool)
        for _ in range(m):
            adj = np.where(left, base - diversity * max_sim, -np.inf)
            j = int(np.argmax(adj))
            out.append((idx[j], round(float(adj[j]), 6)))
            left[j] = False
            # similarity of every item to the one just placed: NaN criteria (not judged) count as
            # agreeing, a pair without scores is like nothing
            if has[j]:
                d = np.nan_to_num(vec - vec[j], nan=0.0)
                sim = np.where(has, np.exp(-(d**2).sum(axis=1) / SCALE**2), 0.0)
            else:
                sim = np.zeros(m)
            same = np.array([o == orig[j] and o != "" for o in orig])
            max_sim = np.maximum(max_sim, np.where(same, 1.0, sim))
    return out
