"""Turn a criterion's measurements into a pass probability.

Every measurement is first turned into a one-sided *badness* (0 where the measurement looks like a
clean edit, growing as it departs in the direction that means failure), with a reference level
that states what "normal" looks like. A logistic model per criterion, fitted on human labels by
``maskgate calibrate``, then weighs the badnesses, with weights constrained to the sign the
domain says (more badness never makes a pass likelier). That keeps one defect's signal (say, a
noisy background's high gradient) from excusing another's (a smeared background's low one), and
keeps the fitted model sane on products the labels never showed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from maskgate.check.criteria import REGISTRY
from maskgate.check.criterion import Feature

# Scorer key -> the features it weighs: each criterion's own, and a kind's own where the criterion
# has one (``"residue@text_removed"``).
FEATURES: dict[str, tuple[Feature, ...]] = {}
for _c in REGISTRY:
    FEATURES[_c.name] = _c.features
    for _kind, _spec in _c.by_kind.items():
        FEATURES[f"{_c.name}@{_kind}"] = _spec


def scorer(criterion: str, kind: str | None) -> str:
    """The scorer key of ``criterion`` for an edit of ``kind``: its own one where FEATURES has one."""
    key = f"{criterion}@{kind}"
    return key if key in FEATURES else criterion


def criterion_of(key: str) -> str:
    return key.split("@", 1)[0]


def vector(key: str, feats: Mapping[str, float]) -> np.ndarray:
    """The badnesses scorer ``key`` weighs, from one criterion's measurements."""
    return np.array([f.badness(feats) for f in FEATURES[key]], np.float64)


def signs(key: str) -> np.ndarray:
    return np.array([f.sign for f in FEATURES[key]], np.float64)


def probability(key: str, feats: Mapping[str, float], model: Mapping | None) -> float:
    """P(pass) from a fitted model {"scale","coef","intercept"}; without one, 1 - squashed badness."""
    x = vector(key, feats)
    if not model:
        return float(math.exp(-float(x.sum())))
    z = float((x / np.asarray(model["scale"])) @ np.asarray(model["coef"]) + model["intercept"])
    return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))
