"""The reviewer questionnaire and how its answers map onto ``maskgate check`` criterion names.

Q2 ("anything still visible outside the product in the edit") is the human form of the
``residue`` criterion, inverted: yes means residue fails. Q1 is the source-overlay flag.
"""

from __future__ import annotations

from dataclasses import dataclass

from maskgate.core.types import CRITERIA
from maskgate.review.queue import AnswerIn


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    yes: str  # label of key "1"
    no: str  # label of key "2"


Q1 = Question("q1", "Original: is there text, a logo or a graphic outside the product?", "yes", "no")
Q2 = Question("q2", "Edit: is anything still visible outside the product?", "yes", "no")
PASS_FAIL = {
    "quality": "Quality: is the edit clean (no artefacts, blur, halos)?",
    "segmentation": "Segmentation: is the whole product kept, and nothing else?",
    "comprehensibility": "Comprehensibility: is the product still easy to understand?",
    "consistency": "Consistency: are the product's colours and shape unchanged?",
    "background": "Background: does the new background look right?",
}
OVERALL = Question("acceptable", "Overall: accept this edit?", "accept", "reject")


class AnswerError(ValueError):
    pass


def doubtful(criteria: dict, evidence: dict[str, str]) -> list[dict]:
    """What made the gate ask a person: the criteria that failed, else the lowest-scoring one (what
    kept the pair from an automatic accept); each with its score and the evidence images it wrote
    (``criteria``: name -> ``CriterionRecord``; ``evidence``: image name -> URL, named as
    ``PairRecord.images`` names them)."""
    judged = [(n, c) for n, c in criteria.items() if c.passed is not None]
    failed = [(n, c) for n, c in judged if c.passed is False]
    picked = failed or sorted(judged, key=lambda nc: nc[1].score)[:1]
    seen: set[str] = set()
    names: dict[str, list[str]] = {}
    for n, c in criteria.items():  # the naming of PairRecord.images: first use plain, then qualified
        for img in c.images:
            key = img if img not in seen else f"{n}.{img}"
            seen.add(key)
            names.setdefault(n, []).append(key)
    return [
        {
            "criterion": n,
            "score": c.score,
            "pass": c.passed,
            "evidence": [k for k in names.get(n, []) if k in evidence],
            "missing": [k for k in names.get(n, []) if k not in evidence],
        }
        for n, c in sorted(picked, key=lambda nc: nc[1].score)
    ]


def questions(has_background: bool) -> list[Question]:
    """The questions for one item: the background question only where the edit has a new
    background (the check judged one), never for a cut-out or an erasure."""
    qs = [Q1, Q2]
    for key, text in PASS_FAIL.items():
        if key == "background" and not has_background:
            continue
        qs.append(Question(key, text, "pass", "fail"))
    qs.append(OVERALL)
    return qs


def _bool(v, key: str) -> bool:
    if isinstance(v, bool):
        return v
    raise AnswerError(f"answer '{key}' must be true or false")


def parse_answer(payload: dict, has_background: bool, mask: dict | None = None) -> AnswerIn:
    """Validate a submitted questionnaire; every question on screen must be answered."""
    ans = payload.get("answers")
    if not isinstance(ans, dict):
        raise AnswerError("'answers' must be an object")
    keys = [q.key for q in questions(has_background)]
    missing = [k for k in keys if ans.get(k) is None]
    if missing:
        raise AnswerError("unanswered: " + ", ".join(missing))
    unknown = sorted(set(ans) - set(keys) - ({"background"} if not has_background else set()))
    if unknown:
        raise AnswerError("unknown answers: " + ", ".join(unknown))
    vals = {k: _bool(ans[k], k) for k in keys}
    labels: dict[str, bool | None] = {c: None for c in CRITERIA}
    labels["residue"] = not vals["q2"]
    for k in ("segmentation", "quality", "comprehensibility", "consistency"):
        labels[k] = vals[k]
    labels["background"] = vals["background"] if has_background else None
    note = payload.get("note") or ""
    if not isinstance(note, str) or len(note) > 5000:
        raise AnswerError("note must be text of at most 5000 characters")
    seconds = payload.get("seconds")
    seconds = float(seconds) if isinstance(seconds, int | float) and 0 <= seconds < 86400 else None
    return AnswerIn(
        q1=vals["q1"],
        q2=vals["q2"],
        labels=labels,
        acceptable=vals["acceptable"],
        note=note,
        mask=mask,
        seconds=seconds,
    )
