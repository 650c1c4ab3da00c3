"""From per-criterion scores to pass/fail and one verdict, using calibrated thresholds.

Three thresholds per criterion, ordered reject <= decide <= accept:
``decide`` turns the score into the criterion's pass/fail (fitted for F1 of catching failures);
a pair is accepted only when every applicable score clears ``accept`` (fitted for the target
precision), rejected as soon as one score falls under ``reject``; anything between goes to a person.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Protocol

from maskgate.check.scoring import FEATURES, probability, scorer
from maskgate.core.types import CRITERIA, Verdict


class CalibrationError(ValueError):
    """A calibration file that does not fit this version's criteria."""


@dataclass
class Thresholds:
    decide: float = 0.5
    accept: float = 0.7
    reject: float = 0.3


class Scoring(Protocol):
    """What the engine scores with: a calibration JSON (``Calibration``) or a trained MODEL_DIR
    (``check.model.LearnedModel``), so either can drive a check run."""

    thresholds: dict[str, Thresholds]

    @property
    def accept_kinds(self) -> tuple[str, ...] | None:
        """The edit kinds an accept may be given for (None: every kind): those whose own pairs
        met the accept bound in training (``learn.train``)."""

    def scorer(self, criterion: str, kind: str | None) -> str: ...

    def probability(self, key: str, feats: Mapping[str, float]) -> float: ...


@dataclass
class Calibration:
    thresholds: dict[str, Thresholds] = field(default_factory=lambda: {c: Thresholds() for c in CRITERIA})
    models: dict[str, dict] = field(default_factory=dict)  # criterion -> fitted logistic model
    target_precision: float | None = None
    fitted_on: str | None = None
    metrics: dict = field(default_factory=dict)
    accept_kinds: tuple[str, ...] | None = None  # a calibration vouches for every kind alike

    @classmethod
    def load(cls, path: str | Path | None = None) -> Calibration:
        if path is None:
            text = resources.files("maskgate.check").joinpath("default_calibration.json").read_text()
        else:
            text = Path(path).read_text()
        raw = json.loads(text)
        th: dict[str, Thresholds] = {c: Thresholds(**raw["thresholds"].get(c, {})) for c in CRITERIA}
        th.update({k: Thresholds(**t) for k, t in raw["thresholds"].items() if k in FEATURES and k not in th})
        models = raw.get("models", {})
        for c, m in models.items():
            # a calibration fitted by an older maskgate weighs another set of measurements: every
            # pair would fail on it, so stop at once and say how to refit
            if c in FEATURES and len(m.get("coef", [])) != len(FEATURES[c]):
                raise CalibrationError(
                    f"calibration {path or '(default)'} was fitted for {len(m.get('coef', []))} {c} measurements, "
                    f"this maskgate has {len(FEATURES[c])}: refit it with `maskgate calibrate LABELS --results results.jsonl`"
                )
        return cls(th, models, raw.get("target_precision"), raw.get("fitted_on"), raw.get("metrics", {}))

    def scorer(self, criterion: str, kind: str | None) -> str:
        """The key (model and thresholds) that judges ``criterion`` for ``kind``: the kind's own
        scorer when this calibration was fitted with one, else the criterion's."""
        key = scorer(criterion, kind)
        return key if key in self.models and key in self.thresholds else criterion

    def probability(self, key: str, feats: Mapping[str, float]) -> float:
        """P(pass) of scorer ``key``: its fitted logistic model, or the untrained squashed badness."""
        return probability(key, feats, self.models.get(key))

    def save(self, path: str | Path) -> None:
        raw = {
            "thresholds": {c: asdict(t) for c, t in self.thresholds.items()},
            "models": self.models,
            "target_precision": self.target_precision,
            "fitted_on": self.fitted_on,
            "metrics": self.metrics,
        }
        Path(path).write_text(json.dumps(raw, indent=2) + "\n")


def decide(
    scores: dict[str, float | None],
    cal: Scoring,
    keys: dict[str, str] | None = None,
    kind: str | None = None,
) -> tuple[dict[str, bool | None], Verdict, float]:
    """(pass per criterion, verdict, overall score) for one pair's criterion scores; ``keys`` names
    the thresholds each criterion was scored with (``Calibration.scorer``), by default its own. An
    edit of a ``kind`` the gate does not vouch for (``Scoring.accept_kinds``) is never accepted:
    it goes to review instead."""
    passed: dict[str, bool | None] = {}
    verdict: Verdict = "accept"
    margins = []
    for name, s in scores.items():
        if s is None:
            passed[name] = None
            continue
        t = cal.thresholds[(keys or {}).get(name, name)]
        passed[name] = s >= t.decide
        margins.append(s)
        if s < t.reject:
            verdict = "reject"
        elif s < t.accept and verdict != "reject":
            verdict = "review"
    if verdict == "accept" and cal.accept_kinds is not None and kind not in cal.accept_kinds:
        verdict = "review"
    overall = min(margins) if margins else 1.0
    return passed, verdict, overall
