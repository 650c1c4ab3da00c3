"""The audit: a random share of the gate's automatic verdicts goes to people, and the admin page
measures the precision of automatic accepts and rejects from it, per kind, with a 95% interval."""

from __future__ import annotations

import json

import numpy as np

from maskgate.learn.bounds import interval
from maskgate.review.accounts import add_user
from maskgate.review.app import Settings, create_app
from maskgate.review.audit import Audited, precision_table
from maskgate.review.importer import import_results, in_audit_sample, in_gold_sample

from .conftest import LiveServer, all_answers, engine_at_revision, login, make_pair


def test_audit_interval_covers_the_true_accept_precision_in_nine_of_ten_repetitions():
    """Each repetition: 2000 automatic accepts whose true precision is drawn in [0.85, 0.995],
    the audit sample drawn by the importer's own rule (5% of the ids), people's answers the truth,
    the interval from ``precision_table``. The exact interval is conservative, so it covers the
    true precision in at least 95% of repetitions in theory; asserted: at least 90% of 300."""
    rng = np.random.default_rng(11)
    covered = sizes = 0
    reps = 300
    for rep in range(reps):
        p = rng.uniform(0.85, 0.995)
        good = rng.random(2000) < p
        ids = [f"r{rep}-pair{i}" for i in range(2000)]
        audited = [
            Audited("isolated", "accept", bool(g))
            for i, g in zip(ids, good, strict=True)
            if in_audit_sample(i, 0.05)
        ]
        sizes += len(audited)
        (row,) = [r for r in precision_table(audited) if r.kind == "isolated"]
        true_precision = good.mean()  # the precision of these 2000 accepts
        covered += row.low <= true_precision <= row.high
    assert 0.04 < sizes / (reps * 2000) < 0.06  # the draw takes the share it is asked for
    assert covered / reps >= 0.9, covered / reps


def test_audit_draw_is_stable_and_independent_of_the_gold_draw():
    ids = [f"id{i}" for i in range(20000)]
    a = {i for i in ids if in_audit_sample(i, 0.1)}
    g = {i for i in ids if in_gold_sample(i, 0.1)}
    assert a == {i for i in ids if in_audit_sample(i, 0.1)}
    # independent draws overlap in about 1% of the ids, not 10%
    assert 0.005 < len(a & g) / len(ids) < 0.015


def test_precision_table_per_kind_and_warning():
    rows = [Audited("isolated", "accept", True)] * 30 + [Audited("isolated", "accept", False)] * 3
    rows += [Audited("text_removed", "accept", True)] * 40 + [Audited("text_removed", "reject", False)] * 5
    table = {(r.kind, r.gate): r for r in precision_table(rows, target=0.95)}
    iso = table[("isolated", "accept")]
    assert (iso.n, iso.right) == (33, 30)
    assert (iso.low, iso.high) == interval(30, 33)
    assert "under the target" in iso.warning
    assert table[("text_removed", "accept")].warning is None
    assert table[("text_removed", "reject")].precision == 1.0
    assert table[("all kinds", "accept")].n == 73


def test_import_audits_a_share_of_decided_pairs_and_the_admin_page_shows_their_precision(engine, tmp_path):
    folder = tmp_path / "check"
    recs = [make_pair(folder, f"rev{i}", seed=i) for i in range(3)]
    # 40 accepts and 10 rejects the gate decided alone; with share 0.5 about half are audited
    recs += [make_pair(folder, f"acc{i}", seed=i, verdict="accept") for i in range(40)]
    recs += [make_pair(folder, f"rej{i}", seed=i, verdict="reject") for i in range(10)]
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    rep = import_results(engine, folder / "results.jsonl", segment=None, audit_share=0.5)
    want = sum(in_audit_sample(r["id"], 0.5) for r in recs if r["verdict"] != "review")
    assert rep.audit == want and rep.imported == 3 + want and 10 < want < 40
    add_user(engine, "alice", "correct-horse-1")
    add_user(engine, "root", "correct-horse-1", "admin")
    with LiveServer(create_app(engine, Settings(gold_every=0, accept_target=0.95))) as srv:
        c, tok = login(srv.url, "alice")
        first = c.get("/api/next").json()["task"]
        assert first["item"]["verdict"] in ("accept", "reject")  # audit items are served first
        task = first
        people_rejected_accepts = 0
        while task is not None:
            item = task["item"]
            # people disagree with every third automatic accept
            ok = not (item["verdict"] == "accept" and int(item["id"][3:]) % 3 == 0)
            people_rejected_accepts += not ok
            answers = all_answers(task, True) | {"acceptable": ok if item["verdict"] == "accept" else False}
            r = c.post(
                f"/api/tasks/{task['assignment_id']}/submit",
                headers={"X-CSRF-Token": tok},
                json={"answers": answers},
            )
            assert r.status_code == 200, r.text
            task = c.get("/api/next").json()["task"]
        a, _ = login(srv.url, "root")
        page = a.get("/admin").text
    table = page[page.index('id="audit"') : page.index("</table>", page.index('id="audit"'))]
    n_acc = sum(in_audit_sample(f"acc{i}", 0.5) for i in range(40))
    row = [tr for tr in table.split("<tr") if "<td>all kinds</td><td>accept</td>" in tr][0]
    assert f"<td>{n_acc}</td><td>{n_acc - people_rejected_accepts}</td>" in row
    lo, hi = interval(n_acc - people_rejected_accepts, n_acc)
    assert f"{100 * lo:.1f}–{100 * hi:.1f} %" in row
    assert people_rejected_accepts > 0 and "under the target 95%" in row


def test_migration_adds_the_audit_flag_to_existing_items(db_url):
    from sqlalchemy import inspect, select, text

    from maskgate.review.db import migrate
    from maskgate.review.schema import Item

    eng = engine_at_revision(db_url, "0003")
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
    assert "audit" in {col["name"] for col in inspect(eng).get_columns("items")}
    with eng.connect() as c:
        assert c.scalar(select(Item.audit).where(Item.id == 1)) is False
    eng.dispose()
