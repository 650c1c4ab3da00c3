"""The edits of one original share its u2netp pass and its text: made once, same records as alone."""

from __future__ import annotations

import numpy as np
import pytest

import maskgate.check.engine as engine
from maskgate.check.engine import Checker

from .conftest import compose, loaded, scene


def _counting(monkeypatch, name: str) -> list[int]:
    calls: list[int] = []
    real = getattr(engine, name)

    def counted(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(engine, name, counted)
    return calls


def _edits(mug):
    """A clean cut-out and the product pasted on another scene, both of the one original."""
    rgb, mask = mug["rgb"], mug["mask"]
    white = np.full_like(rgb, 255)
    cutout = np.where(mask[..., None], rgb, white).astype(np.uint8)
    return [cutout, compose(scene(3), rgb, mask)]


def _criteria(j):
    return {c: (r.passed, r.score, r.measurements()) for c, r in j.record.criteria.items()}


@pytest.mark.parametrize("threads", [1, 2])
def test_second_edit_reuses_the_original_and_matches_a_fresh_check(checker, mug, monkeypatch, threads):
    monkeypatch.setattr(engine, "thread_budget", lambda: threads)
    passes = _counting(monkeypatch, "saliency")
    texts = _counting(monkeypatch, "detect_text")
    warm = Checker(model=checker.calibration)
    original = loaded(mug["original"])
    first, second = (warm.check(original, loaded(e)) for e in _edits(mug))
    assert len(passes) == 1  # one u2netp pass for both edits
    assert len(texts) == 3  # the original's text once, each edit's once
    alone = Checker(model=checker.calibration).check(original, loaded(_edits(mug)[1]))
    assert _criteria(second) == _criteria(alone)
    assert second.record.verdict == alone.record.verdict
    assert first.record.kind != second.record.kind  # the two pairs really are different edits


def test_other_pixels_under_the_same_path_are_not_reused(checker, mug, monkeypatch):
    passes = _counting(monkeypatch, "saliency")
    warm = Checker(model=checker.calibration)
    edit = loaded(_edits(mug)[0])
    warm.check(loaded(mug["original"]), edit)
    changed = mug["original"].copy()
    changed[:40] = 0  # same file name in a manifest, rewritten between two pairs
    warm.check(loaded(changed), edit)
    assert len(passes) == 2


def test_a_failed_pass_is_not_reused(checker, mug, monkeypatch):
    real = engine.saliency
    calls: list[int] = []

    def flaky(*a, **k):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the model fell over")
        return real(*a, **k)

    monkeypatch.setattr(engine, "saliency", flaky)
    warm = Checker(model=checker.calibration)
    original, edit = loaded(mug["original"]), loaded(_edits(mug)[0])
    with pytest.raises(RuntimeError, match="fell over"):
        warm.check(original, edit)
    warm.check(original, edit)  # tries again instead of replaying the failure
    assert len(calls) == 2


def test_only_the_last_originals_are_kept(checker, mug, monkeypatch):
    passes = _counting(monkeypatch, "saliency")
    warm = Checker(model=checker.calibration)
    edit = loaded(_edits(mug)[0])
    originals = []
    for k in range(engine.ORIGINALS_KEPT + 1):
        o = mug["original"].copy()
        o[0, 0] = k  # a different original each time
        originals.append(o)
        warm.check(loaded(o), edit)
    warm.check(loaded(originals[-1]), edit)  # the most recent: kept
    assert len(passes) == engine.ORIGINALS_KEPT + 1
    warm.check(loaded(originals[0]), edit)  # the oldest: dropped, so made again
    assert len(passes) == engine.ORIGINALS_KEPT + 2


def test_the_shared_saliency_cannot_be_written(checker, mug):
    ctx = Checker(model=checker.calibration).context(loaded(mug["original"]), loaded(_edits(mug)[0]))
    with pytest.raises(ValueError):
        ctx.sal_o[0, 0] = 1.0
