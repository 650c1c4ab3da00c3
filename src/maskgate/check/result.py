"""Typed results of a check. ``PairResult.to_record`` is the ``results.jsonl`` line format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

CRITERIA = ("residue", "segmentation", "quality", "comprehensibility", "consistency", "background")
KINDS = ("isolated", "inpainted", "text_removed")
VERDICTS = ("accept", "reject", "review", "error")


@dataclass
class CriterionResult:
    passed: bool | None  # None: does not apply to this kind of edit
    score: float  # in [0, 1]; higher = more likely the edit passes this criterion
    evidence: dict[str, Any] = field(default_factory=dict)  # JSON-able measurements and notes
    images: dict[str, np.ndarray] = field(default_factory=dict)  # evidence images, saved by the runner

    def to_record(self) -> dict[str, Any]:
        return {"pass": self.passed, "score": round(float(self.score), 4), "evidence": self.evidence}


@dataclass
class PairResult:
    id: str
    original: str
    edited: str
    kind: str | None = None
    verdict: str = "error"
    score: float | None = None
    criteria: dict[str, CriterionResult] = field(default_factory=dict)
    source_overlay: bool | None = None
    notes: list[str] = field(default_factory=list)  # e.g. "aspect ratio changed 1.00 -> 1.33"
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # pass-through fields (labels, ...)

    def to_record(self, evidence_paths: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
        crit = {}
        for name, c in self.criteria.items():
            rec = c.to_record()
            if evidence_paths and name in evidence_paths:
                rec["evidence"] = {**rec["evidence"], "images": evidence_paths[name]}
            crit[name] = rec
        rec = {
            "id": self.id,
            "original": self.original,
            "edited": self.edited,
            "kind": self.kind,
            "verdict": self.verdict,
            "score": None if self.score is None else round(float(self.score), 4),
            "criteria": crit,
            "source_overlay": self.source_overlay,
            "notes": self.notes,
            "error": self.error,
        }
        rec.update(self.extra)
        return rec
