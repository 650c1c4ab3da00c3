"""The registered criteria, in the order results list them. One list feeds the engine (what to
measure, what applies), the scorers (which features each weighs) and the evidence images."""

from maskgate.check.criteria import background, comprehensibility, consistency, quality, residue, segmentation
from maskgate.check.criterion import Criterion
from maskgate.core.types import CRITERIA

REGISTRY: tuple[Criterion, ...] = (
    residue.CRITERION,
    segmentation.CRITERION,
    quality.CRITERION,
    comprehensibility.CRITERION,
    consistency.CRITERION,
    background.CRITERION,
)
BY_NAME: dict[str, Criterion] = {c.name: c for c in REGISTRY}
assert tuple(BY_NAME) == CRITERIA, "the registry lists the criteria of core.types, in that order"
