"""Queue behaviour on a real database (SQLite file and PostgreSQL)."""

import pytest
from sqlalchemy import func, select

from maskgate.review.accounts import add_user
from maskgate.review.importer import bulk_add
from maskgate.review.queue import AnswerIn, LeaseLost, next_task, skip, submit
from maskgate.review.schema import Answer, Assignment, Item


def _answer(ok=True):
    return AnswerIn(q1=False, q2=not ok, labels={"residue": ok}, acceptable=ok)


def _users(engine, n):
    return [add_user(engine, f"r{i}", "password-123").id for i in range(n)]


def test_overlap_serves_k_different_reviewers_then_stops(engine, tmp_path):
    bulk_add(engine, tmp_path, [{"ext_id": f"i{i}", "original": "o.png", "edited": "e.png"} for i in range(3)],
             overlap=2)
    r1, r2, r3 = _users(engine, 3)
    got = {r: [] for r in (r1, r2, r3)}
    for r in (r1, r2, r3):
        while (t := next_task(engine, r, gold_every=0)) is not None:
            got[r].append(t.item_id)
            submit(engine, r, t.assignment_id, _answer())
    for r, items in got.items():
        assert len(items) == len(set(items)), f"reviewer {r} got an item twice"
    assert sum(len(v) for v in got.values()) == 6
    assert len(got[r1]) == 3 and len(got[r2]) == 3 and got[r3] == []


def test_current_lease_is_returned_again_until_submitted(engine, tmp_path):
    bulk_add(engine, tmp_path, [{"ext_id": f"i{i}", "original": "o", "edited": "e"} for i in range(2)])
    (r,) = _users(engine, 1)
    t1 = next_task(engine, r, gold_every=0)
    assert next_task(engine, r, gold_every=0).assignment_id == t1.assignment_id
    submit(engine, r, t1.assignment_id, _answer())
    with pytest.raises(LeaseLost):
        submit(engine, r, t1.assignment_id, _answer())
    assert next_task(engine, r, gold_every=0).item_id != t1.item_id


def test_expired_lease_returns_to_queue_and_late_submit_is_refused(engine, tmp_path):
    bulk_add(engine, tmp_path, [{"ext_id": "only", "original": "o", "edited": "e"}])
    r1, r2 = _users(engine, 2)
    t1 = next_task(engine, r1, lease_seconds=10, now=1000.0, gold_every=0)
    assert next_task(engine, r2, now=1005.0, gold_every=0) is None  # still leased
    t2 = next_task(engine, r2, now=1011.0, gold_every=0)  # expired: goes to r2
    assert t2 is not None and t2.item_id == t1.item_id
    with pytest.raises(LeaseLost):
        submit(engine, r1, t1.assignment_id, _answer())
    submit(engine, r2, t2.assignment_id, _answer())
    assert next_task(engine, r1, now=2000.0, gold_every=0) is None  # never served twice to r1


def test_skip_gives_item_to_others_not_back(engine, tmp_path):
    bulk_add(engine, tmp_path, [{"ext_id": "a", "original": "o", "edited": "e"},
                                {"ext_id": "b", "original": "o", "edited": "e"}])
    r1, r2 = _users(engine, 2)
    t = next_task(engine, r1, gold_every=0)
    skip(engine, r1, t.assignment_id)
    t_next = next_task(engine, r1, gold_every=0)
    assert t_next.item_id != t.item_id
    assert next_task(engine, r2, gold_every=0).item_id == t.item_id


def test_gold_mixed_in_at_rate(engine, tmp_path):
    rows = [{"ext_id": f"i{i}", "original": "o", "edited": "e"} for i in range(20)]
    rows += [{"ext_id": f"g{i}", "original": "o", "edited": "e", "is_gold": True,
              "gold_labels": {"residue": True}, "gold_acceptable": True} for i in range(2)]
    bulk_add(engine, tmp_path, rows)
    (r,) = _users(engine, 1)
    kinds = []
    while (t := next_task(engine, r, gold_every=5)) is not None:
        kinds.append(t.is_gold)
        submit(engine, r, t.assignment_id, _answer())
    assert kinds.count(True) == 2 and kinds[4] and kinds[9]
    assert len(kinds) == 22
    with engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(Answer).where(Answer.is_gold)) == 2
        gold_ids = set(c.scalars(select(Item.id).where(Item.is_gold)))
        assert set(c.scalars(select(Assignment.item_id).where(Assignment.slot_id.is_(None)))) == gold_ids
