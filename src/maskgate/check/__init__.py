"""Check: judge an (original, edited) pair on six criteria and give one verdict."""

from maskgate.check.result import CRITERIA, CriterionResult, PairResult

__all__ = ["CRITERIA", "CriterionResult", "PairResult"]
