"""Handing out work: leases, overlap, gold mix-in, submit and skip.

Invariants (guaranteed by the database, not by timing):
- an item is served to a reviewer at most once: ``assignments`` is unique on (reviewer, item);
- a slot (one of an item's K reviews) is held by one lease at a time: picking it locks the row
  (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent reviewers take different slots without
  waiting; a ``BEGIN IMMEDIATE`` write transaction on SQLite, which serialises writers);
- an answer is stored once: ``answers`` is unique on the assignment, and submit only succeeds
  while the reviewer still holds the lease.
Lock order is always slot, then assignment, in every write path, so PostgreSQL cannot deadlock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import Engine, and_, exists, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from maskgate.review.db import write_transaction
from maskgate.review.schema import Answer, Assignment, Item, Slot, User

S, A, IT, U, AN = Slot.__table__, Assignment.__table__, Item.__table__, User.__table__, Answer.__table__

LEASE_SECONDS = 15 * 60
GOLD_EVERY = 10  # every 10th task a reviewer gets is a gold item (while they have unseen gold)


class LeaseLost(Exception):
    """The assignment is not (or no longer) held by this reviewer: expired and re-leased, already
    submitted, skipped, or someone else's."""


@dataclass(frozen=True)
class Task:
    assignment_id: int
    item_id: int
    is_gold: bool
    expires_at: float


@dataclass
class AnswerIn:
    q1: bool | None
    q2: bool | None
    labels: dict[str, bool | None]
    acceptable: bool
    note: str = ""
    mask: dict | None = None  # COCO RLE
    seconds: float | None = None
    extra: dict = field(default_factory=dict)


def _not_seen_by(reviewer_id: int, item_col):
    return ~exists().where(and_(A.c.reviewer_id == reviewer_id, A.c.item_id == item_col))


def _retrying(fn, attempts: int = 5):
    """Unique-constraint races (a reviewer pulling twice at once) and SQLite "database is locked"
    after the busy timeout are retried; the invariants hold either way, this only spares the user
    an error."""
    for i in range(attempts):
        try:
            return fn()
        except (IntegrityError, OperationalError) as e:
            if i == attempts - 1 or (
                isinstance(e, OperationalError)
                and "locked" not in str(e).lower()
                and "deadlock" not in str(e).lower()
            ):
                raise
            time.sleep(0.01 * (i + 1))
    return None


def next_slot_query(reviewer_id: int, now: float):
    """The one query that picks the next slot: an ordered scan of ``ix_slots_queue``
    (due, priority DESC, id) that stops at the first slot of an item this reviewer has not seen."""
    return (
        select(S.c.id, S.c.item_id, S.c.assignment_id)
        .where(S.c.due <= now, _not_seen_by(reviewer_id, S.c.item_id))
        .order_by(S.c.due, S.c.priority.desc(), S.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def next_task(
    engine: Engine,
    reviewer_id: int,
    *,
    lease_seconds: float = LEASE_SECONDS,
    gold_every: int = GOLD_EVERY,
    now: float | None = None,
) -> Task | None:
    """The reviewer's current lease (renewed) or a newly leased task; None when nothing is left."""
    return _retrying(lambda: _next_task_once(engine, reviewer_id, lease_seconds, gold_every, now))


def _next_task_once(engine, reviewer_id, lease_seconds, gold_every, now) -> Task | None:
    now = time.time() if now is None else now
    until = now + lease_seconds
    with write_transaction(engine) as c:
        # 1. A lease this reviewer already holds (page reload, second tab): keep working on it.
        held = c.execute(
            select(A.c.id, A.c.item_id, A.c.slot_id)
            .where(A.c.reviewer_id == reviewer_id, A.c.status == "leased")
            .order_by(A.c.id)
            .limit(1)
        ).first()
        if held is not None:
            if held.slot_id is None:
                c.execute(update(A).where(A.c.id == held.id).values(expires_at=until))
                return Task(held.id, held.item_id, True, until)
            renewed = c.execute(
                update(S)
                .where(S.c.id == held.slot_id, S.c.assignment_id == held.id, S.c.state == "leased")
                .values(due=until)
            ).rowcount
            if renewed:
                c.execute(update(A).where(A.c.id == held.id).values(expires_at=until))
                return Task(held.id, held.item_id, False, until)
            c.execute(update(A).where(A.c.id == held.id).values(status="expired", finished_at=now))

        served = c.execute(select(U.c.served).where(U.c.id == reviewer_id)).scalar_one()
        task = None
        # 2. Gold, at a fixed rate, among gold items this reviewer has not seen.
        if gold_every > 0 and (served + 1) % gold_every == 0:
            gold = c.execute(
                select(IT.c.id)
                .where(IT.c.is_gold.is_(True), _not_seen_by(reviewer_id, IT.c.id))
                .order_by(IT.c.id)
                .limit(1)
            ).scalar()
            if gold is not None:
                aid = c.execute(
                    insert(A)
                    .values(
                        item_id=gold,
                        reviewer_id=reviewer_id,
                        slot_id=None,
                        status="leased",
                        leased_at=now,
                        expires_at=until,
                    )
                    .returning(A.c.id)
                ).scalar_one()
                task = Task(aid, gold, True, until)
        # 3. The most informative open slot (highest priority, then oldest) of an item this reviewer
        #    has not seen; lease-expired slots after the open ones. One scan of ix_slots_queue.
        if task is None:
            row = c.execute(next_slot_query(reviewer_id, now)).first()
            if row is None:
                return None
            if row.assignment_id is not None:  # an expired lease: its holder loses it
                c.execute(
                    update(A)
                    .where(A.c.id == row.assignment_id, A.c.status == "leased")
                    .values(status="expired", finished_at=now)
                )
            aid = c.execute(
                insert(A)
                .values(
                    item_id=row.item_id,
                    reviewer_id=reviewer_id,
                    slot_id=row.id,
                    status="leased",
                    leased_at=now,
                    expires_at=until,
                )
                .returning(A.c.id)
            ).scalar_one()
            c.execute(
                update(S)
                .where(S.c.id == row.id)
                .values(state="leased", holder_id=reviewer_id, due=until, assignment_id=aid)
            )
            task = Task(aid, row.item_id, False, until)
        c.execute(update(U).where(U.c.id == reviewer_id).values(served=U.c.served + 1))
        return task


def _finish_slot(c, reviewer_id: int, assignment_id: int, slot_values: dict) -> dict:
    a = c.execute(
        select(A.c.id, A.c.item_id, A.c.slot_id, A.c.status, A.c.leased_at).where(
            A.c.id == assignment_id, A.c.reviewer_id == reviewer_id
        )
    ).first()
    if a is None or a.status != "leased":
        raise LeaseLost(f"task {assignment_id} is not leased to you (status: {a.status if a else 'unknown'})")
    if a.slot_id is not None:
        n = c.execute(
            update(S)
            .where(S.c.id == a.slot_id, S.c.assignment_id == assignment_id, S.c.state == "leased")
            .values(**slot_values)
        ).rowcount
        if n != 1:
            raise LeaseLost(f"task {assignment_id}: lease expired and the item went to someone else")
    return a._asdict()


def submit(
    engine: Engine, reviewer_id: int, assignment_id: int, ans: AnswerIn, *, now: float | None = None
) -> int:
    """Store the answer and close the lease, atomically. Raises LeaseLost if not held."""
    now = time.time() if now is None else now
    with write_transaction(engine) as c:
        a = _finish_slot(c, reviewer_id, assignment_id, {"state": "done", "due": None, "holder_id": None})
        n = c.execute(
            update(A)
            .where(A.c.id == assignment_id, A.c.status == "leased")
            .values(status="submitted", finished_at=now)
        ).rowcount
        if n != 1:
            raise LeaseLost(f"task {assignment_id} was already finished")
        return c.execute(
            insert(AN)
            .values(
                assignment_id=assignment_id,
                item_id=a["item_id"],
                reviewer_id=reviewer_id,
                q1=ans.q1,
                q2=ans.q2,
                labels=ans.labels,
                acceptable=ans.acceptable,
                note=ans.note or "",
                mask=ans.mask,
                is_gold=a["slot_id"] is None,
                seconds=ans.seconds if ans.seconds is not None else max(0.0, now - a["leased_at"]),
                created_at=now,
            )
            .returning(AN.c.id)
        ).scalar_one()


def skip(engine: Engine, reviewer_id: int, assignment_id: int, *, now: float | None = None) -> None:
    """Give the task back to the queue for others; this reviewer will not be served it again."""
    now = time.time() if now is None else now
    with write_transaction(engine) as c:
        _finish_slot(
            c,
            reviewer_id,
            assignment_id,
            {"state": "open", "due": 0.0, "holder_id": None, "assignment_id": None},
        )
        c.execute(update(A).where(A.c.id == assignment_id).values(status="skipped", finished_at=now))


def lease_of(engine: Engine, reviewer_id: int, assignment_id: int) -> Task | None:
    """The assignment if this reviewer holds it now (read-only check used by pages)."""
    with engine.connect() as c:
        a = c.execute(
            select(A.c.id, A.c.item_id, A.c.slot_id, A.c.expires_at).where(
                A.c.id == assignment_id, A.c.reviewer_id == reviewer_id, A.c.status == "leased"
            )
        ).first()
    return None if a is None else Task(a.id, a.item_id, a.slot_id is None, a.expires_at)


@dataclass(frozen=True)
class Progress:
    """Where a reviewer stands: answers given, and tasks the queue could still hand them."""

    answered: int
    last_hour: int
    remaining: int  # items with an unfinished slot this reviewer has not been served

    @property
    def total(self) -> int:
        return self.answered + self.remaining


def progress(engine: Engine, reviewer_id: int, *, now: float | None = None) -> Progress:
    """Counted, not estimated: the tasks still open to this reviewer are the items with a slot not
    done that they have never been served (the current lease counts as answered-to-be, so the
    screen reads "task n of N" with n = answered + 1)."""
    from sqlalchemy import distinct, func

    now = time.time() if now is None else now
    with engine.connect() as c:
        answered = c.execute(
            select(func.count())
            .select_from(AN)
            .where(AN.c.reviewer_id == reviewer_id, AN.c.is_gold.is_(False))
        ).scalar_one()
        last_hour = c.execute(
            select(func.count())
            .select_from(AN)
            .where(AN.c.reviewer_id == reviewer_id, AN.c.created_at > now - 3600)
        ).scalar_one()
        open_items = c.execute(
            select(func.count(distinct(S.c.item_id))).where(
                S.c.due.is_not(None), _not_seen_by(reviewer_id, S.c.item_id)
            )
        ).scalar_one()
        leased = c.execute(
            select(func.count())
            .select_from(A)
            .where(A.c.reviewer_id == reviewer_id, A.c.status == "leased", A.c.slot_id.is_not(None))
        ).scalar_one()
    return Progress(int(answered), int(last_hour), int(open_items) + int(leased))


REVISE_LAST = 5  # a reviewer may go back over their last five answers


def recent_answers(engine: Engine, reviewer_id: int, limit: int = REVISE_LAST) -> list[dict]:
    """The reviewer's last answers, newest first: what "go back" may revise."""
    with engine.connect() as c:
        rows = c.execute(
            select(
                AN.c.id,
                AN.c.item_id,
                AN.c.q1,
                AN.c.q2,
                AN.c.labels,
                AN.c.acceptable,
                AN.c.note,
                AN.c.created_at,
            )
            .where(AN.c.reviewer_id == reviewer_id)
            .order_by(AN.c.id.desc())
            .limit(limit)
        ).mappings()
        return [dict(r) for r in rows]


def revise(
    engine: Engine, reviewer_id: int, answer_id: int, ans: AnswerIn, *, now: float | None = None
) -> None:
    """Replace one of the reviewer's last ``REVISE_LAST`` answers (questionnaire and note; the mask
    stays unless a new one is given). Older answers stay as they are: they may already be in an
    export or a trained model, and a change there should be an admin's adjudication."""
    with write_transaction(engine) as c:
        last = c.execute(
            select(AN.c.id).where(AN.c.reviewer_id == reviewer_id).order_by(AN.c.id.desc()).limit(REVISE_LAST)
        ).scalars()
        if answer_id not in set(last):
            raise LeaseLost(f"answer {answer_id} is not one of your last {REVISE_LAST} answers")
        values = {
            "q1": ans.q1,
            "q2": ans.q2,
            "labels": ans.labels,
            "acceptable": ans.acceptable,
            "note": ans.note or "",
        }
        if ans.mask is not None:
            values["mask"] = ans.mask
        c.execute(update(AN).where(AN.c.id == answer_id).values(**values))
