"""The accept and reject rules decide only what a 95% confidence bound vouches for."""

from __future__ import annotations

import numpy as np
import pytest

from maskgate.check.model import NEVER_ACCEPT, NEVER_REJECT
from maskgate.learn.bounds import accept_threshold, lower_bound, reject_threshold, upper_bound


def test_clopper_pearson_bounds_at_zero_mistakes():
    # 0 bad of n: the upper bound is 1 - 0.05 ** (1 / n)
    assert upper_bound(0, 30) == pytest.approx(0.0950, abs=1e-4)  # 30 clean accepts: not enough for 0.98
    assert upper_bound(0, 150) == pytest.approx(0.0198, abs=1e-4)  # 150: enough
    assert upper_bound(0, 150) <= 0.02 < upper_bound(0, 147)
    assert upper_bound(0, 0) == 1.0 and upper_bound(5, 5) == 1.0
    assert lower_bound(150, 150) >= 0.98 > lower_bound(30, 30)
    assert lower_bound(0, 10) == 0.0
    # one mistake needs far more pairs than none
    assert upper_bound(1, 150) > 0.02 and upper_bound(1, 240) <= 0.02


def test_too_few_sure_pairs_never_accept():
    score = np.linspace(0.5, 1.0, 30)
    assert accept_threshold(score, np.zeros(30, bool), 0.98) == NEVER_ACCEPT
    assert accept_threshold(np.zeros(0), np.zeros(0, bool), 0.98) == NEVER_ACCEPT


def test_accept_threshold_takes_the_most_pairs_the_bound_allows():
    rng = np.random.default_rng(0)
    good = rng.uniform(0.6, 1.0, 400)
    bad = rng.uniform(0.0, 0.4, 100)
    score = np.r_[good, bad]
    is_bad = np.r_[np.zeros(400, bool), np.ones(100, bool)]
    t = accept_threshold(score, is_bad, 0.98)
    acc = score >= t
    assert acc[:400].all()  # every good pair ...
    assert upper_bound(int(is_bad[acc].sum()), int(acc.sum())) <= 0.02  # ... and the bound holds
    lower = score[score < t].max()  # one pair more would break it
    more = score >= lower
    assert upper_bound(int(is_bad[more].sum()), int(more.sum())) > 0.02
    # one bad pair scoring at the very top: 400 good ones dilute it enough (bound 0.012)
    t1 = accept_threshold(np.r_[good, 0.99], np.r_[np.zeros(400, bool), True], 0.98)
    assert t1 == pytest.approx(good.min())
    # ... but not when only 100 good pairs come with it: then only those above it are accepted,
    # and they are too few, so nothing is
    assert accept_threshold(np.r_[good[:100], 1.0], np.r_[np.zeros(100, bool), True], 0.98) == NEVER_ACCEPT
    # the floor (the decide threshold) is never undercut
    assert accept_threshold(score, is_bad, 0.98, floor=0.8) >= 0.8


def test_ties_are_accepted_or_refused_together():
    score = np.r_[np.full(200, 0.9), 0.9, np.full(200, 0.95)]
    is_bad = np.r_[np.zeros(200, bool), True, np.zeros(200, bool)]
    t = accept_threshold(score, is_bad, 0.98)
    assert t == pytest.approx(0.9)  # 1 bad of 401 at 0.9 is within the bound: the tie goes in whole
    assert (
        accept_threshold(
            np.r_[np.full(150, 0.9), np.full(5, 0.9)], np.r_[np.zeros(150, bool), np.ones(5, bool)], 0.98
        )
        == NEVER_ACCEPT
    )


def test_reject_threshold_is_sure_and_tight():
    rng = np.random.default_rng(1)
    bad = rng.uniform(0.0, 0.3, 200)
    good = rng.uniform(0.5, 1.0, 300)
    score = np.r_[bad, good]
    is_bad = np.r_[np.ones(200, bool), np.zeros(300, bool)]
    t = reject_threshold(score, is_bad, 0.98)
    assert bad.max() < t < good.min()
    assert (score < t).sum() == 200
    assert reject_threshold(bad[:60], np.ones(60, bool), 0.98) == NEVER_REJECT  # 60 sure rejects: too few
    assert reject_threshold(score, is_bad, 0.98, ceiling=0.1) <= 0.1
