"""Uncertainty-sampling priority of check records (pure)."""

import pytest

from maskgate.learn.active import NO_SCORE_PRIORITY, priority, uncertainty_margin


def rec(**scores):
    return {
        "score": min(scores.values()) if scores else None,
        "criteria": {k: {"pass": v >= 0.5, "score": v} for k, v in scores.items()},
    }


def test_closest_call_over_criteria_decides():
    assert uncertainty_margin(rec(residue=0.9, quality=0.55)) == pytest.approx(0.05)
    assert priority(rec(residue=0.9, quality=0.55)) == pytest.approx(0.95)
    assert priority(rec(residue=0.5)) == pytest.approx(1.0)
    # A sure fail is as uninformative as a sure pass.
    assert priority(rec(residue=0.02)) == pytest.approx(priority(rec(residue=0.98)))
    ranked = sorted([rec(a=0.97), rec(a=0.6), rec(a=0.48), rec(a=0.1)], key=priority, reverse=True)
    assert [r["criteria"]["a"]["score"] for r in ranked] == [0.48, 0.6, 0.1, 0.97]


def test_not_applicable_criteria_and_bad_scores_are_ignored():
    r = rec(residue=0.8)
    r["criteria"]["background"] = None
    r["criteria"]["consistency"] = {"pass": None, "score": 1.0}  # check's placeholder for "does not apply"
    r["criteria"]["quality"] = {"pass": True, "score": "high"}
    assert priority(r) == pytest.approx(0.7)


def test_thresholds_per_criterion():
    r = rec(residue=0.7, quality=0.9)
    assert priority(r, {"residue": 0.7}) == pytest.approx(1.0)
    assert priority(r, {"quality": 0.85}) == pytest.approx(0.95)


def test_an_edit_kinds_own_threshold_wins():
    erasure = {**rec(residue=0.7, quality=0.9), "kind": "text_removed"}
    th = {"residue": 0.5, "residue@text_removed": 0.7}
    assert priority(erasure, th) == pytest.approx(1.0)
    assert priority({**erasure, "kind": "inpainted"}, th) == pytest.approx(0.8)  # residue against 0.5


def test_fallbacks():
    assert priority({"score": 0.45, "criteria": {}}) == pytest.approx(0.95)  # overall score vs 0.5
    assert priority({"score": None}) == NO_SCORE_PRIORITY
    assert priority({}) == NO_SCORE_PRIORITY
    assert priority({"score": 7}) == pytest.approx(0.5)  # clipped to [0, 1]
    assert priority({"score": float("nan")}) == NO_SCORE_PRIORITY
