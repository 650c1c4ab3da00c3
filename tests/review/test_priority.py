"""The queue asks what teaches most: closeness to the thresholds, criteria that disagree, people
who disagreed with the model, and diversity, so one batch is not fifty near-duplicates."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from maskgate.check.model import load_scoring
from maskgate.cli import app
from maskgate.core.record import PairRecord
from maskgate.learn.active import diverse_order, information, score_vector
from maskgate.learn.versions import retrain
from maskgate.review.accounts import add_user
from maskgate.review.importer import import_results
from maskgate.review.priority import reprioritize
from maskgate.review.queue import AnswerIn, next_task, submit
from maskgate.review.schema import Item, Slot
from tests.learn.built import draw_rows

from .conftest import make_pair


def _rec(**scores) -> PairRecord:
    crit = {c: {"pass": s >= 0.5, "score": s, "evidence": {}} for c, s in scores.items()}
    return PairRecord.from_json(
        {
            "id": "x",
            "original": "o",
            "edited": "e",
            "kind": "isolated",
            "verdict": "review",
            "score": min(scores.values()),
            "criteria": crit,
        }
    )


def test_information_adds_split_criteria_and_disagreeing_people():
    agree = _rec(quality=0.3, residue=0.2)  # both fail: the criteria agree
    split = _rec(quality=0.3, residue=0.95)  # one fails, one passes surely
    assert information(agree) == pytest.approx(1 - 0.2)
    assert information(split) == pytest.approx(1 - 0.2 + 0.5 * 1.0)
    sure = _rec(quality=0.95, residue=0.97)  # the model would accept
    assert information(sure, answers=[True, True]) == pytest.approx(information(sure))
    assert information(sure, answers=[False, True]) == pytest.approx(information(sure) + 0.5 * 0.5)


def test_diverse_order_spreads_near_duplicates():
    # ten edits of one original, all slightly more informative than five distinct pairs
    values = [0.9 + 0.001 * i for i in range(10)] + [0.8] * 5
    vecs = [score_vector(_rec(quality=0.5, residue=0.6)) for _ in range(10)]
    vecs += [score_vector(_rec(quality=0.2 + 0.1 * k, residue=0.9 - 0.15 * k)) for k in range(5)]
    originals = ["same.png"] * 10 + [f"o{k}.png" for k in range(5)]
    ranked = [i for i, _ in diverse_order(values, vecs, originals)]
    assert sorted(ranked) == list(range(15))
    assert ranked[0] == 9  # the most informative first
    assert set(ranked[1:6]) == set(range(10, 15))  # then the distinct pairs, before more duplicates
    plain = [i for i, _ in diverse_order(values, vecs, originals, diversity=0.0)]
    assert plain[:10] == list(range(9, -1, -1))  # without the discount: all ten duplicates first
    vals = [v for _, v in diverse_order(values, vecs, originals)]
    assert all(
        a >= b for a, b in zip(vals, vals[1:], strict=False)
    )  # stored as priorities, they keep the order


def test_import_orders_the_queue_by_information_and_diversity(engine, tmp_path):
    folder = tmp_path / "check"
    recs = []
    for i in range(12):  # twelve edits of one original, all close calls
        r = make_pair(folder, f"dup{i}", seed=0)
        r["original"] = "images/dup0_orig.png"
        r["criteria"]["quality"]["score"] = 0.51 + 0.001 * i
        recs.append(r)
    for i in range(4):  # four other pairs, a little less close
        r = make_pair(folder, f"other{i}", seed=20 + i)
        r["criteria"]["quality"]["score"] = 0.56
        r["criteria"]["consistency"]["score"] = 0.6 + 0.1 * i
        recs.append(r)
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    import_results(engine, folder / "results.jsonl", segment=None)
    uid = add_user(engine, "alice", "correct-horse-1").id
    first = []
    for _ in range(5):
        t = next_task(engine, uid, gold_every=0)
        with engine.connect() as c:
            first.append(c.scalar(select(Item.ext_id).where(Item.id == t.item_id)))
        submit(engine, uid, t.assignment_id, AnswerIn(True, False, {}, True))
    assert first[0].startswith("dup")
    assert sorted(x for x in first[1:]) == [f"other{i}" for i in range(4)], first


def _alike_records(folder, rows) -> list[dict]:
    """A results.jsonl in ``folder`` of check records carrying ``rows``' measurements, every judged
    score 0.9 and passing: as imported, the items are all alike, and only a model re-scoring the
    measurements tells them apart."""
    recs = []
    for r in rows:
        rec = make_pair(folder, r.id, seed=1)
        rec["kind"] = r.kind
        for c in ("residue", "quality", "comprehensibility"):
            rec["criteria"][c] = {"pass": True, "score": 0.9, "evidence": dict(r.features[c])}
        for c in ("segmentation", "consistency"):
            rec["criteria"][c] = {"pass": None, "score": 1.0, "evidence": {}}
        recs.append(rec)
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    return recs


def test_people_against_the_model_and_a_new_model_reorder_the_queue(engine, tmp_path):
    folder = tmp_path / "check"
    rows = draw_rows(40, seed=12)
    recs = _alike_records(folder, rows)
    import_results(engine, folder / "results.jsonl", segment=None, overlap=2, diversity=0.0)
    with engine.connect() as c:
        before = dict(c.execute(select(Item.ext_id, Item.priority)).all())
    assert len(set(before.values())) == 1  # every record scores 0.9 everywhere: all alike

    # one person says the first item is not acceptable; the model (all 0.9, passing) said it was
    uid = add_user(engine, "alice", "correct-horse-1").id
    t = next_task(engine, uid, gold_every=0)
    submit(engine, uid, t.assignment_id, AnswerIn(True, False, {}, False))
    reprioritize(engine, diversity=0.0)
    with engine.connect() as c:
        after = dict(c.execute(select(Item.id, Item.priority)).all())
        open_slot = c.execute(
            select(Slot.priority).where(Slot.item_id == t.item_id, Slot.due.is_not(None))
        ).scalar_one()
    assert after[t.item_id] == pytest.approx(max(before.values()) + 0.5) == pytest.approx(open_slot)

    # `review prioritize --model`: the learnt model re-scores the stored measurements, and its
    # closest calls come first
    root = tmp_path / "models"
    retrain(draw_rows(400, seed=13), root)
    url = engine.url.render_as_string(hide_password=False)
    res = CliRunner().invoke(
        app, ["review", "prioritize", "--model", str(root), "--db", url, "--no-diversity"]
    )
    assert res.exit_code == 0, res.output
    with engine.connect() as c:
        now = dict(c.execute(select(Item.ext_id, Item.priority)).all())
    assert len(set(now.values())) >= 5  # the model tells the items apart
    model = load_scoring(root)
    with engine.connect() as c:
        answered = c.scalar(select(Item.ext_id).where(Item.id == t.item_id))
    want = {
        r.id: information(PairRecord.from_json(rec), scoring=model) for r, rec in zip(rows, recs, strict=True)
    }
    assert {k: v for k, v in now.items() if k != answered} == pytest.approx(
        {k: v for k, v in want.items() if k != answered}
    )
    # the answer given still counts, now against the new model's view
    rec = PairRecord.from_json(next(r for r in recs if r["id"] == answered))
    assert now[answered] == pytest.approx(information(rec, scoring=model, answers=[False]))


def test_import_with_a_model_orders_as_the_model_scores(engine, tmp_path):
    """`review import --model`: the queue starts in the order `review prioritize --model` gives, so
    the would-be accepts count from the first task; a model that cannot be loaded stops the
    import before anything is written."""
    folder = tmp_path / "check"
    rows = draw_rows(30, seed=21)
    _alike_records(folder, rows)
    url = engine.url.render_as_string(hide_password=False)
    base = ["review", "import", str(folder / "results.jsonl"), "--db", url, "--no-prelabel"]

    bad = tmp_path / "not-a-model"
    bad.mkdir()
    res = CliRunner().invoke(app, [*base, "--model", str(bad)])
    assert res.exit_code != 0
    with engine.connect() as c:
        assert c.scalar(select(Item.id).limit(1)) is None  # nothing imported

    root = tmp_path / "models"
    retrain(draw_rows(400, seed=13), root)
    res = CliRunner().invoke(app, [*base, "--model", str(root)])
    assert res.exit_code == 0, res.output
    with engine.connect() as c:
        imported = dict(c.execute(select(Item.ext_id, Item.priority)).all())
    assert len(set(imported.values())) >= 5  # stored scores are all alike; the model tells them apart
    # the same order as re-prioritizing afterwards with the model
    reprioritize(engine, scoring=load_scoring(root))
    with engine.connect() as c:
        again = dict(c.execute(select(Item.ext_id, Item.priority)).all())
    assert imported == pytest.approx(again)
