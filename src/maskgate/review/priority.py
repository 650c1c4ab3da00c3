"""Queue order: every pending item's expected information, with the diversity discount, written as
its priority (``maskgate.learn.active.information`` and ``diverse_order`` say how).

Run at the end of each import (so the new items are ordered among the old ones) and by
``maskgate review prioritize`` (after answers came in, or with the model ``learn`` just wrote,
which re-scores the stored measurements: the queue then asks about the new model's doubts).
Audit items drawn from the decided pairs keep their place at the head of the queue
(``AUDIT_PRIORITY``): they must be answered to measure anything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from sqlalchemy import Engine, bindparam, select, update

from maskgate.core.record import PairRecord
from maskgate.learn.active import DIVERSITY, diverse_order, information, score_vector
from maskgate.review.db import write_transaction
from maskgate.review.schema import Answer, Item, Slot

IT, S, AN = Item.__table__, Slot.__table__, Answer.__table__
# Audit items drawn from the decided pairs come first in the queue, above any information value
# (at most 3, see maskgate.learn.active): an audit nobody answers measures nothing.
AUDIT_PRIORITY = 4.0


def reprioritize(
    engine: Engine,
    thresholds: Mapping[str, float] | None = None,
    scoring=None,
    diversity: float = DIVERSITY,
) -> int:
    """Recompute the priority of every item with an unfinished slot; returns how many.
    ``diversity`` 0 orders by information alone."""
    with engine.connect() as c:
        pending = sorted(set(c.scalars(select(S.c.item_id).where(S.c.due.is_not(None)))))
        if not pending:
            return 0
        rows = c.execute(
            select(IT.c.id, IT.c.check_record, IT.c.original, IT.c.root_id).where(
                IT.c.id.in_(pending), IT.c.priority < AUDIT_PRIORITY
            )
        ).all()
        answers: dict[int, list[bool]] = defaultdict(list)
        for iid, acc in c.execute(select(AN.c.item_id, AN.c.acceptable).where(AN.c.item_id.in_(pending))):
            answers[iid].append(bool(acc))
    ids, values, vectors, originals = [], [], [], []
    for r in rows:
        rec = PairRecord.from_json(r.check_record) if r.check_record else None
        ids.append(r.id)
        if rec is None:  # bulk-added items without a check record keep the order they came with
            values.append(None)
            vectors.append(None)
        else:
            values.append(information(rec, thresholds, scoring, answers.get(r.id, ())))
            vectors.append(score_vector(rec))
        originals.append(f"{r.root_id}:{r.original}")
    scored = [i for i, v in enumerate(values) if v is not None]
    ordered = diverse_order(
        [values[i] for i in scored], [vectors[i] for i in scored], [originals[i] for i in scored], diversity
    )
    new = [{"iid": ids[scored[j]], "p": p} for j, p in ordered]
    if not new:
        return 0
    with write_transaction(engine) as c:
        c.execute(update(IT).where(IT.c.id == bindparam("iid")).values(priority=bindparam("p")), new)
        c.execute(
            update(S)
            .where(S.c.item_id == bindparam("iid"), S.c.due.is_not(None))
            .values(priority=bindparam("p")),
            new,
        )
    return len(new)
