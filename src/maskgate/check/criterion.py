"""What a criterion is: a registered object the engine, the scorers and the evidence all read.

Each ``check/criteria/<name>.py`` exports one ``Criterion``: when it applies, how it measures a
pair (from the shared, lazily computed members of ``PairContext``), which measurements it borrows
from another criterion's results (declared, so the engine copies them after every criterion has
measured: no criterion depends on another having run first), the features its scorer weighs, and
the evidence images a reviewer sees when it fails.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from maskgate.check.context import PairContext
from maskgate.core.types import KINDS, Kind

# Below this share of the frame the edit's product is a thumbnail: its detail cannot be compared
# with the original's, so the detail criteria are not judged (comprehensibility fails it anyway).
MIN_JUDGEABLE_AREA = 0.015

Transform = Literal["high", "low", "lin", "high1p"]
Measurements = dict[str, float]


@dataclass(frozen=True)
class Feature:
    """One measurement as a scorer weighs it: turned into a one-sided *badness* (0 where it looks
    like a clean edit, growing as it departs in the direction that means failure) against a
    reference level that states what "normal" looks like.

    ``how``: ``high`` max(0, log(v / ref)); ``low`` max(0, log(ref / v)); ``lin`` max(0, v - ref);
    ``high1p`` max(0, log1p(v) - log1p(ref)). ``sign`` -1: badness (lowers P(pass)); +1:
    exonerating (explains the change as another criterion's). ``of``: a feature that only means
    something as a combination of the criterion's measurements (a tint is a colour shift that a
    blend explains), computed from them; otherwise the measurement of that name (0 when absent).
    """

    name: str
    how: Transform
    ref: float
    sign: int
    of: Callable[[Mapping[str, float]], float] | None = None

    def value(self, feats: Mapping[str, float]) -> float:
        return float(self.of(feats)) if self.of is not None else float(feats.get(self.name, 0.0))

    def badness(self, feats: Mapping[str, float]) -> float:
        v, ref = self.value(feats), self.ref
        if self.how == "lin":
            return max(0.0, v - ref)
        if self.how == "high":
            return max(0.0, math.log(max(v, 1e-6) / ref))
        if self.how == "low":
            return max(0.0, math.log(ref / max(v, 1e-6)))
        if self.how == "high1p":
            return max(0.0, math.log1p(max(v, 0.0)) - math.log1p(ref))
        raise ValueError(self.how)


@dataclass(frozen=True)
class Criterion:
    name: str
    measure: Callable[[PairContext], Measurements]
    features: tuple[Feature, ...]
    kinds: frozenset[Kind] = frozenset(KINDS)  # the edit kinds it applies to
    needs_detail: bool = False  # not judged when the edit's product is a thumbnail
    borrows: Mapping[str, str] = field(default_factory=dict)  # measurement -> the criterion that makes it
    by_kind: Mapping[Kind, tuple[Feature, ...]] = field(default_factory=dict)  # a kind's own scorer
    # evidence images for a reviewer, given the criterion's pass/fail (None: not judged)
    evidence: Callable[[PairContext, bool | None], dict[str, np.ndarray]] | None = None

    def applies(self, kind: str | None) -> bool:
        return kind in self.kinds

    def judgeable(self, ctx: PairContext) -> bool:
        if not self.applies(ctx.kind):
            return False
        return not (self.needs_detail and ctx.product_share < MIN_JUDGEABLE_AREA)
