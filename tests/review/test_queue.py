"""Queue behaviour on a real database (SQLite file and PostgreSQL)."""

import pytest
from sqlalchemy import func, select

from maskgate.review.accounts import add_user
from maskgate.review.importer import bulk_add
from maskgate.review.queue import AnswerIn, LeaseLost, next_task, skip, submit
from maskgate.review.schema import Answer, Assignment, Item

from .conftest import engine_at_revision


def _answer(ok=True):
    return AnswerIn(q1=False, q2=not ok, labels={"residue": ok}, acceptable=ok)


def _users(engine, n):
    return [add_user(engine, f"r{i}", "password-123").id for i in range(n)]


def test_overlap_serves_k_different_reviewers_then_stops(engine, tmp_path):
    bulk_add(
        engine,
        tmp_path,
        [{"ext_id": f"i{i}", "original": "o.png", "edited": "e.png"} for i in range(3)],
        overlap=2,
    )
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
    bulk_add(
        engine,
        tmp_path,
        [{"ext_id": "a", "original": "o", "edited": "e"}, {"ext_id": "b", "original": "o", "edited": "e"}],
    )
    r1, r2 = _users(engine, 2)
    t = next_task(engine, r1, gold_every=0)
    skip(engine, r1, t.assignment_id)
    t_next = next_task(engine, r1, gold_every=0)
    assert t_next.item_id != t.item_id
    assert next_task(engine, r2, gold_every=0).item_id == t.item_id


def test_gold_mixed_in_at_rate(engine, tmp_path):
    rows = [{"ext_id": f"i{i}", "original": "o", "edited": "e"} for i in range(20)]
    rows += [
        {
            "ext_id": f"g{i}",
            "original": "o",
            "edited": "e",
            "is_gold": True,
            "gold_labels": {"residue": True},
            "gold_acceptable": True,
        }
        for i in range(2)
    ]
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


def test_most_informative_items_are_served_first(engine, tmp_path):
    """Imported check records, ordered by information alone (no diversity discount): close calls
    (criterion score near 0.5) first, and a pair whose criteria disagree (one fails, the others
    pass) before one as close whose criteria agree; items without scores last; gold mixing still
    happens at its rate."""
    import json

    from maskgate.core.record import PairRecord
    from maskgate.learn.active import priority
    from maskgate.review.importer import import_results

    from .conftest import make_pair

    folder = tmp_path / "check"
    scores = {
        "sure_pass": 0.97,
        "close": 0.52,
        "sure_fail": 0.05,
        "medium": 0.7,
        "closest": 0.499,
        "near": 0.42,
    }
    recs = []
    for i, (pid, sc) in enumerate(scores.items()):
        r = make_pair(folder, pid, seed=i)
        r["criteria"]["quality"]["score"] = sc
        recs.append(r)
    unscored = make_pair(folder, "unscored", seed=9)
    unscored["score"], unscored["criteria"] = None, {}
    recs.insert(0, unscored)
    gold = make_pair(folder, "gold0", seed=10)
    recs.append(gold)
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    (folder / "gold.jsonl").write_text(
        json.dumps({"id": "gold0", "labels": {"residue": True}, "acceptable": True, "gold": True}) + "\n"
    )
    rep = import_results(
        engine, folder / "results.jsonl", segment=None, overlap=2, gold=folder / "gold.jsonl", diversity=0.0
    )
    assert rep.imported == 8 and rep.gold == 1, rep.summary()
    with engine.connect() as c:
        stored = dict(c.execute(select(Item.ext_id, Item.priority)).all())
    assert stored["close"] == pytest.approx(priority(PairRecord.from_json(recs[2]))) == pytest.approx(0.98)
    assert stored["unscored"] == 0.0

    # Quality under 0.5 while the four other judged criteria pass (0.9) splits the criteria, which
    # adds 0.5 * 2 * 1/4 to the closeness: closest (0.499) and near (0.42) fail quality, so they
    # come before close (0.52), and sure_fail (0.05) before medium (0.7) and sure_pass (0.97).
    assert stored["sure_fail"] > stored["medium"] > stored["sure_pass"], stored
    expected = ["closest", "near", "close", "sure_fail", "medium", "sure_pass", "unscored"]
    r1, r2 = _users(engine, 2)
    for r in (r1, r2):
        order = []
        while (t := next_task(engine, r, gold_every=4)) is not None:
            with engine.connect() as c:
                order.append(c.scalar(select(Item.ext_id).where(Item.id == t.item_id)))
            submit(engine, r, t.assignment_id, _answer())
        assert order[3] == "gold0"  # the 4th task is gold, as before
        assert [x for x in order if x != "gold0"] == expected


def test_priority_survives_skip_and_expiry(engine, tmp_path):
    bulk_add(
        engine,
        tmp_path,
        [
            {"ext_id": "low", "original": "o", "edited": "e", "priority": 0.55},
            {"ext_id": "high", "original": "o", "edited": "e", "priority": 0.99},
        ],
    )
    r1, r2 = _users(engine, 2)
    with engine.connect() as c:
        ids = dict(c.execute(select(Item.ext_id, Item.id)).all())
    t = next_task(engine, r1, gold_every=0, now=1000.0, lease_seconds=10)
    assert t.item_id == ids["high"]
    skip(engine, r1, t.assignment_id, now=1001.0)
    assert next_task(engine, r2, gold_every=0, now=1002.0).item_id == ids["high"]  # back at the front


def test_next_task_is_one_ordered_index_scan(engine):
    """The pick uses ix_slots_queue for both the range and the order: no sort step."""
    from maskgate.review.queue import next_slot_query

    sql = str(
        next_slot_query(1, 1e12).compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
    )
    with engine.connect() as c:
        if engine.dialect.name == "sqlite":
            plan = " | ".join(str(r[-1]) for r in c.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
            assert "ix_slots_queue" in plan and "TEMP B-TREE" not in plan.upper(), plan
        else:
            c.exec_driver_sql("SET enable_seqscan = off")  # an empty table would otherwise be scanned
            plan = " | ".join(r[0] for r in c.exec_driver_sql("EXPLAIN " + sql))
            assert "ix_slots_queue" in plan and "Sort" not in plan, plan


def test_migration_from_0001_keeps_queue(db_url):
    """A database created before priorities: upgrading adds the columns (0 for old rows), the
    index and the adjudications table, and the old slots are still served."""
    from sqlalchemy import inspect, text

    from maskgate.review.db import migrate

    eng = engine_at_revision(db_url, "0001")
    with eng.begin() as c:
        c.execute(text("INSERT INTO roots (id, path) VALUES (1, '/tmp')"))
        c.execute(
            text(
                "INSERT INTO items (id, ext_id, root_id, original, edited, has_background, evidence, "
                "check_record, overlap, is_gold, created_at) VALUES (1, 'old', 1, 'o', 'e', false, '{}', "
                "'{}', 1, false, 0)"
            )
        )
        c.execute(text("INSERT INTO slots (item_id, due, state) VALUES (1, 0, 'open')"))
    migrate(eng)
    insp = inspect(eng)
    assert "priority" in {col["name"] for col in insp.get_columns("slots")}
    assert "ix_slots_queue" in {ix["name"] for ix in insp.get_indexes("slots")}
    assert "adjudications" in insp.get_table_names()
    (r,) = _users(eng, 1)
    t = next_task(eng, r, gold_every=0)
    assert t is not None and t.item_id == 1
    with eng.connect() as c:
        assert c.scalar(select(Item.priority).where(Item.id == 1)) == 0.0
    eng.dispose()
