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


class _Stub:
    """A scoring (``check.verdict.Scoring``) whose P(pass) is a feature the record carries."""

    def __init__(self, accept: float, reject: float) -> None:
        from maskgate.check.verdict import Thresholds

        self.thresholds = {c: Thresholds(0.5, accept, reject) for c in ("residue", "quality")}
        self.accept_kinds = None

    def scorer(self, criterion, kind):
        return criterion

    def probability(self, key, feats):
        return float(feats["p"])


def _measured(**p):
    return PairRecord.from_json(
        {
            "id": "m",
            "verdict": "review",
            "criteria": {k: {"pass": v >= 0.5, "score": v, "evidence": {"p": v}} for k, v in p.items()},
        }
    )


def test_a_model_asks_first_about_pairs_next_to_its_accept_boundary():
    from maskgate.learn.active import information, rescored, verdict_closeness

    # A gate that accepts nothing yet (accept "never", 1.01): of two pairs equally far from every
    # criterion's decide threshold, its surest would-be accept teaches the accept bound and comes
    # first; the sure fail is far from any accept.
    never = _Stub(accept=1.01, reject=0.3)
    sure, sure_fail = _measured(residue=0.98, quality=0.98), _measured(residue=0.02, quality=0.02)
    assert information(sure, scoring=never) > information(sure_fail, scoring=never)
    assert verdict_closeness(rescored(sure, never)) == pytest.approx(1 - 0.03)
    # Once the gate accepts above 0.9, the pair just under that line is the one to ask about,
    # and one just over it as much: both sides of the line teach where it belongs.
    gate = _Stub(accept=0.9, reject=0.1)
    near, over, far = (
        _measured(residue=0.88, quality=0.95),
        _measured(residue=0.92, quality=0.95),
        _measured(residue=0.7, quality=0.95),
    )
    assert verdict_closeness(rescored(near, gate)) == pytest.approx(1 - 0.02)
    assert verdict_closeness(rescored(over, gate)) == pytest.approx(1 - 0.02)
    assert verdict_closeness(rescored(near, gate)) > verdict_closeness(rescored(far, gate))
    # The lowest criterion decides: a pair whose quality is sure to fail is far from an accept,
    # however sure its residue is.
    assert verdict_closeness(rescored(_measured(residue=0.99, quality=0.12), gate)) == pytest.approx(1 - 0.78)
    # Without a model the term is absent (the record's own scores, no verdict thresholds).
    assert information(sure) == pytest.approx(information(sure, scoring=None))
    assert verdict_closeness({}) == 0.0
