"""An admin's final answer for an item: recorded once per item (again = replace), shown on the
item page, and exported with every answer of that item as its ``final`` labels."""

from __future__ import annotations

import time
from collections.abc import Mapping

from sqlalchemy import Engine, delete, insert, select

from maskgate.review.db import write_transaction
from maskgate.review.schema import Adjudication, Item, User
from maskgate.review.stats import QUESTION_KEYS

AD, IT, U = Adjudication.__table__, Item.__table__, User.__table__


class AdjudicationError(ValueError):
    pass


def record_final(
    engine: Engine,
    item_id: int,
    admin_id: int,
    values: Mapping[str, bool | None],
    *,
    note: str = "",
    now: float | None = None,
) -> None:
    """Store the final answer (keys of ``QUESTION_KEYS``, values true/false/null; missing = null)."""
    unknown = set(values) - set(QUESTION_KEYS)
    if unknown:
        raise AdjudicationError(f"unknown question(s): {', '.join(sorted(unknown))}")
    for k, v in values.items():
        if v is not None and not isinstance(v, bool):
            raise AdjudicationError(f"{k}: expected true, false or null, got {v!r}")
    now = time.time() if now is None else now
    labels = {k: values.get(k) for k in QUESTION_KEYS if k not in ("q1", "q2", "acceptable")}
    with write_transaction(engine) as c:
        if c.execute(select(IT.c.id).where(IT.c.id == item_id)).first() is None:
            raise AdjudicationError(f"no item {item_id}")
        c.execute(delete(AD).where(AD.c.item_id == item_id))
        c.execute(
            insert(AD).values(
                item_id=item_id,
                admin_id=admin_id,
                q1=values.get("q1"),
                q2=values.get("q2"),
                labels=labels,
                acceptable=values.get("acceptable"),
                note=note or "",
                created_at=now,
            )
        )


def _as_record(r) -> dict:
    return {
        "labels": r["labels"],
        "acceptable": r["acceptable"],
        "q1_original_has_overlay": r["q1"],
        "q2_edit_has_leftover": r["q2"],
        "note": r["note"],
        "adjudicator": r["username"],
        "decided_at": r["created_at"],
    }


def final_records(engine: Engine, item_ids: list[int] | None = None) -> dict[int, dict]:
    """item id -> its final answer in export form (``labels``, ``acceptable``, q1/q2, who, when)."""
    q = select(AD, U.c.username).join(U, U.c.id == AD.c.admin_id)
    if item_ids is not None:
        q = q.where(AD.c.item_id.in_(item_ids))
    with engine.connect() as c:
        return {r["item_id"]: _as_record(r) for r in c.execute(q).mappings()}


def final_values(rec: dict | None) -> dict[str, bool | None]:
    """The final answer as question key -> value (the shape the item page and stats use)."""
    if rec is None:
        return {}
    out = {k: (rec["labels"] or {}).get(k) for k in QUESTION_KEYS}
    out.update(
        q1=rec["q1_original_has_overlay"], q2=rec["q2_edit_has_leftover"], acceptable=rec["acceptable"]
    )
    return out
