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
from collections.abc import Mapping

from maskgate.check.scoring import scorer
from maskgate.core.record import PairRecord

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
