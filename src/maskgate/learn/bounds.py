"""Thresholds that make automatic verdicts *surely* right, not right on average.

A threshold picked so that accepted pairs reach 98% precision on the labels says little when it
accepts thirty pairs: zero mistakes in thirty is what a 10%-bad scorer shows one time in twenty.
So an accept threshold must keep the one-sided Clopper-Pearson upper bound of the share of bad
edits among what it accepts under ``1 - target``; a reject threshold must keep the lower bound of
the share of bad edits among what it rejects over ``target``. Where no threshold does, the
scorer never decides alone (``NEVER_ACCEPT`` / ``NEVER_REJECT``) and its pairs go to a person.

The bounds come from ``scipy.stats.beta`` (the exact binomial interval), not a normal
approximation, which is far too optimistic at zero or one mistakes.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import beta

from maskgate.check.model import NEVER_ACCEPT, NEVER_REJECT

CONFIDENCE = 0.95


def upper_bound(bad: int, n: int, confidence: float = CONFIDENCE) -> float:
    """One-sided upper confidence bound of the share of bad among ``n`` (1.0 when ``n`` is 0)."""
    if n <= 0 or bad >= n:
        return 1.0
    return float(beta.ppf(confidence, bad + 1, n - bad))


def lower_bound(bad: int, n: int, confidence: float = CONFIDENCE) -> float:
    """One-sided lower confidence bound of the share of bad among ``n`` (0.0 when ``n`` is 0)."""
    if n <= 0 or bad <= 0:
        return 0.0
    return float(beta.ppf(1.0 - confidence, bad, n - bad + 1))


def interval(good: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Two-sided Clopper-Pearson interval of a share (``good`` of ``n``); (0, 1) when ``n`` is 0.
    Exact rather than normal: an audit of a precise gate sees zero or one mistake, where the
    normal interval collapses to a point."""
    if n <= 0:
        return 0.0, 1.0
    a = (1.0 - confidence) / 2
    lo = 0.0 if good <= 0 else float(beta.ppf(a, good, n - good + 1))
    hi = 1.0 if good >= n else float(beta.ppf(1 - a, good + 1, n - good))
    return lo, hi


def accept_threshold(
    score: np.ndarray,
    bad: np.ndarray,
    target: float,
    confidence: float = CONFIDENCE,
    floor: float = 0.0,
) -> float:
    """The lowest threshold ``t`` >= ``floor`` (accept ``score >= t``) whose accepted pairs' bad
    share has an upper bound <= ``1 - target``; ``NEVER_ACCEPT`` when none has.

    Lowest, among those meeting the bound, because it accepts the most pairs: the bound is not
    monotone in ``t`` (a bad pair high up spoils every threshold under it until enough good ones
    dilute it), so every distinct score is tried."""
    score, bad = np.asarray(score, np.float64), np.asarray(bad, bool)
    ok = ~np.isnan(score) & (score >= floor)
    s, b = score[ok], bad[ok]
    if s.size == 0:
        return NEVER_ACCEPT
    order = np.argsort(-s, kind="stable")
    s, b = s[order], b[order]
    n = np.arange(1, s.size + 1)
    k = np.cumsum(b)
    last = np.r_[s[1:] != s[:-1], True]  # a cut between distinct scores: ties go together
    n, k, cut = n[last], k[last], s[last]
    ub = np.where(k >= n, 1.0, beta.ppf(confidence, k + 1, np.maximum(n - k, 1)))
    meets = ub <= 1.0 - target + 1e-12
    if not meets.any():
        return NEVER_ACCEPT
    return float(cut[np.nonzero(meets)[0][-1]])


def reject_threshold(
    score: np.ndarray,
    bad: np.ndarray,
    target: float,
    confidence: float = CONFIDENCE,
    ceiling: float = 1.0,
) -> float:
    """The highest threshold ``t`` <= ``ceiling`` (reject ``score < t``) whose rejected pairs' bad
    share has a lower bound >= ``target``; ``NEVER_REJECT`` when none has. The threshold sits just
    above the highest rejected score, so nothing the labels did not show is rejected."""
    score, bad = np.asarray(score, np.float64), np.asarray(bad, bool)
    ok = ~np.isnan(score) & (score < ceiling)
    s, b = score[ok], bad[ok]
    if s.size == 0:
        return NEVER_REJECT
    order = np.argsort(s, kind="stable")
    s, b = s[order], b[order]
    n = np.arange(1, s.size + 1)
    k = np.cumsum(b)
    last = np.r_[s[1:] != s[:-1], True]
    n, k, cut = n[last], k[last], s[last]
    lb = np.where(k <= 0, 0.0, beta.ppf(1.0 - confidence, np.maximum(k, 1), n - k + 1))
    meets = lb >= target - 1e-12
    if not meets.any():
        return NEVER_REJECT
    return float(min(np.nextafter(cut[np.nonzero(meets)[0][-1]], 2.0), ceiling))
