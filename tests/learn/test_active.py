"""Uncertainty-sampling priority of check records (pure)."""

import pytest

from maskgate.core.record import PairRecord, RecordError
from maskgate.learn.active import NO_SCORE_PRIORITY, priority, uncertainty_margin


def raw(**scores):
    return {
        "id": "p",
        "verdict": "review",
        "score": min(scores.values()) if scores else None,
        "criteria": {k: {"pass": v >= 0.5, "score": v} for k, v in scores.items()},
    }


def rec(kind=None, **scores):
    return PairRecord.from_json({**raw(**scores), "kind": kind})


def test_closest_call_over_criteria_decides():
    assert uncertainty_margin(rec(residue=0.9, quality=0.55)) == pytest.approx(0.05)
    assert priority(rec(residue=0.9, quality=0.55)) == pytest.approx(0.95)
    assert priority(rec(residue=0.5)) == pytest.approx(1.0)
    # A sure fail is as uninformative as a sure pass.
    assert priority(rec(residue=0.02)) == pytest.approx(priority(rec(residue=0.98)))
    ranked = sorted([rec(a=0.97), rec(a=0.6), rec(a=0.48), rec(a=0.1)], key=priority, reverse=True)
    assert [r.criteria["a"].score for r in ranked] == [0.48, 0.6, 0.1, 0.97]


def test_not_applicable_criteria_are_ignored_and_bad_scores_refused_at_reading():
    r = raw(residue=0.8)
    r["criteria"]["consistency"] = {"pass": None, "score": 1.0}  # check's placeholder for "does not apply"
    assert priority(PairRecord.from_json(r)) == pytest.approx(0.7)
    r["criteria"]["quality"] = {"pass": True, "score": "high"}
    with pytest.raises(RecordError, match="criteria.quality.score"):
        PairRecord.from_json(r)


def test_thresholds_per_criterion():
    r = rec(residue=0.7, quality=0.9)
    assert priority(r, {"residue": 0.7}) == pytest.approx(1.0)
    assert priority(r, {"quality": 0.85}) == pytest.approx(0.95)


def test_an_edit_kinds_own_threshold_wins():
    th = {"residue": 0.5, "residue@text_removed": 0.7}
    assert priority(rec("text_removed", residue=0.7, quality=0.9), th) == pytest.approx(1.0)
    assert priority(rec("inpainted", residue=0.7, quality=0.9), th) == pytest.approx(
        0.8
    )  # residue against 0.5


def test_fallbacks():
    assert priority(PairRecord.from_json({**raw(), "score": 0.45})) == pytest.approx(0.95)  # overall vs 0.5
    assert priority(PairRecord.from_json(raw())) == NO_SCORE_PRIORITY
    assert priority(PairRecord.from_json({**raw(), "score": 7})) == pytest.approx(0.5)  # clipped to [0, 1]
    assert priority(PairRecord.from_json({**raw(), "score": float("nan")})) == NO_SCORE_PRIORITY
