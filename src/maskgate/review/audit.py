"""The audit: how often the gate is right when it decides alone, measured on a random sample of its
automatic verdicts that people checked (``importer.in_audit_sample``).

Per edit kind and for all kinds, the precision of automatic accepts (the share people found
acceptable) and of automatic rejects (the share people found not acceptable), each with its 95%
Clopper-Pearson interval. People's answer for an audited pair is the adjudicated one where there
is one, else the reviewers' majority; a tie says nothing and is left out. A warning is raised when
the accept precision is under the target: "likely" when only the point estimate is, "surely" when
the whole interval is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, select

from maskgate.learn.bounds import CONFIDENCE, interval
from maskgate.review.adjudication import final_records
from maskgate.review.schema import Answer, Item

DEFAULT_TARGET = 0.98
ALL_KINDS = "all kinds"


@dataclass(frozen=True)
class Audited:
    kind: str
    gate: str  # accept | reject
    acceptable: bool  # what people said


@dataclass
class Precision:
    kind: str
    gate: str
    n: int
    right: int
    precision: float | None
    low: float
    high: float
    warning: str | None = None


def precision_table(
    audited: Iterable[Audited], target: float = DEFAULT_TARGET, confidence: float = CONFIDENCE
) -> list[Precision]:
    """Accept and reject precision per kind, then over all kinds (see module doc)."""
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for a in audited:
        right = a.acceptable if a.gate == "accept" else not a.acceptable
        for kind in (a.kind, ALL_KINDS):
            t = tally[(kind, a.gate)]
            t[0] += 1
            t[1] += right
    out = []
    order = sorted({k for k, _ in tally} - {ALL_KINDS}) + [ALL_KINDS]
    for kind in order:
        for gate in ("accept", "reject"):
            if (kind, gate) not in tally:
                continue
            n, right = tally[(kind, gate)]
            lo, hi = interval(right, n, confidence)
            p = right / n
            warn = None
            if gate == "accept" and hi < target:
                warn = f"accept precision surely under the target {target:.0%} (the whole interval is)"
            elif gate == "accept" and p < target:
                warn = f"accept precision under the target {target:.0%}"
            out.append(Precision(kind, gate, n, right, p, lo, hi, warn))
    return out


def audited_items(engine: Engine) -> list[Audited]:
    """Audited pairs that people have answered, with people's answer."""
    with engine.connect() as c:
        items = {
            r.id: r for r in c.execute(select(Item.id, Item.kind, Item.verdict).where(Item.audit.is_(True)))
        }
        votes: dict[int, list[bool]] = defaultdict(list)
        if items:
            for iid, acc in c.execute(
                select(Answer.item_id, Answer.acceptable).where(Answer.item_id.in_(list(items)))
            ):
                votes[iid].append(bool(acc))
    finals = final_records(engine, list(items)) if items else {}
    out = []
    for iid, it in items.items():
        if it.verdict not in ("accept", "reject"):
            continue
        f = finals.get(iid)
        if f is not None and f["acceptable"] is not None:
            ok = bool(f["acceptable"])
        else:
            v = votes.get(iid, [])
            yes = sum(v)
            if not v or 2 * yes == len(v):
                continue
            ok = 2 * yes > len(v)
        out.append(Audited(it.kind or "unknown", it.verdict, ok))
    return out


def audit_overview(engine: Engine, target: float = DEFAULT_TARGET) -> list[Precision]:
    return precision_table(audited_items(engine), target)
