"""bench/learning_curve.py on a labelled set the test draws: both orders run the same steps on the
same pool, held-out products never reach the pool, and the figures it writes are those of the
models it trained (the bench's own script, run as a user runs it)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.learn.built import draw_rows, write_set

BENCH = Path(__file__).resolve().parents[2] / "bench" / "learning_curve.py"


def _bench():
    spec = importlib.util.spec_from_file_location("learning_curve", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_reviewer_errors_come_at_the_stated_rate():
    lc = _bench()
    rows = draw_rows(400, seed=3)
    rng = np.random.default_rng(0)
    flipped = [
        sum(lc.noisy(r, 0.1, rng).labels[c] != r.labels[c] for c in ("residue", "quality")) for r in rows
    ]
    assert 0.07 < sum(flipped) / (2 * len(rows)) < 0.13
    assert all(lc.noisy(r, 0.0, rng) == r for r in rows[:20])


def test_two_reviewers_and_an_adjudicator_err_less_than_one_and_cost_their_answers():
    lc = _bench()
    rows = draw_rows(400, seed=4)
    rng = np.random.default_rng(1)
    got = [lc.answered(r, 0.1, 2, rng) for r in rows]
    wrong = sum(
        g.labels[c] != r.labels[c]
        for (g, _), r in zip(got, rows, strict=True)
        for c in ("residue", "quality")
    )
    # wrong when both err alike (0.01) or they split and the adjudicator errs (0.18 x 0.1)
    assert 0.015 < wrong / (2 * len(rows)) < 0.045
    costs = [n for _, n in got]
    assert set(costs) <= {2, 3} and 2 < np.mean(costs) < 3  # an adjudication is one more answer
    assert all(lc.answered(r, 0.0, 2, rng) == (r, 2) for r in rows[:20])
    assert all(lc.answered(r, 0.0, 1, rng) == (r, 1) for r in rows[:20])


def test_a_step_keeps_the_active_model_unless_the_new_one_is_better_held_out(monkeypatch):
    lc = _bench()
    rows = draw_rows(160, seed=5)
    active = object()
    seen = []

    def verdict(answer):
        def is_better(new, old):
            seen.append((new["pairs"], old))
            return answer, "stated"

        return is_better

    from maskgate.learn import versions

    monkeypatch.setattr(versions, "figures", lambda scoring, test, target: {"pairs": len(test), "s": scoring})
    monkeypatch.setattr(versions, "is_better", verdict(False))
    kept, note = lc.fit(rows, active)
    assert kept is active and "kept the active model" in note
    # compared on the held-out groups only, which the new model was not trained on
    n_test, old = seen[-1]
    assert 0 < n_test < len(rows) and old["s"] is active
    monkeypatch.setattr(versions, "is_better", verdict(True))
    new, note = lc.fit(rows, active)
    assert new is not active and note is None
    assert new.meta["trained_on"]["pairs"] == len(rows) - n_test


def test_curve_end_to_end(tmp_path):
    labels, results = write_set(tmp_path / "set", draw_rows(160, seed=1))
    out_json, out_svg = tmp_path / "lc.json", tmp_path / "lc.svg"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(BENCH.parents[1] / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    r = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--set",
            f"drawn={results}:{labels}",
            "--steps",
            "0,40,80",
            "--seeds",
            "2",
            "--target-precision",
            "0.8",
            "--json",
            str(out_json),
            "--svg",
            str(out_svg),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    fig = json.loads(out_json.read_text())["sets"]["drawn"]
    assert fig["pairs"] == 160 and fig["held_out_pairs"] + fig["pool"] == 160
    groups = {json.loads(x)["group"] for x in labels.read_text().splitlines()}
    assert set(fig["held_out_products"]) < groups and fig["held_out_products"]
    for order in ("queue", "random"):
        assert len(fig[order]) == 2
        for run in fig[order]:
            assert [e["labels"] for e in run] == [0, 40, 80]
            assert run[0] == fig["queue"][0][0]  # 0 labels: the packaged calibration, for everyone
            for e in run:
                assert e["accepted"] <= fig["held_out_pairs"]
                assert 0 <= e["good_accepted"] <= 1
                assert e["answers"] == e["labels"]  # one reviewer a pair
    assert "<svg" in out_svg.read_text()
    assert "drawn queue" in r.stderr and "labels:" in r.stderr  # progress and figures as it goes


def test_explore_gives_its_share_of_the_queue_to_random_draws(tmp_path, monkeypatch):
    lc = _bench()
    labels, results = write_set(tmp_path / "set", draw_rows(120, seed=6))
    rows, recs, _ = lc.load_set(results, labels, "group")
    pool = list(range(len(rows)))
    scoring = lc.start_scoring()
    plain = lc.queue_order(pool, rows, recs, scoring, np.random.default_rng(0))
    monkeypatch.setitem(lc.SETTINGS, "explore", 0.25)
    mixed = lc.queue_order(pool, rows, recs, scoring, np.random.default_rng(0))
    assert sorted(mixed) == sorted(plain)  # every pair once, none lost
    # the places not drawn at random (3 of every 4) hold the queue's order, in that order
    kept = [i for k, i in enumerate(mixed) if int((k + 1) * 0.25) == int(k * 0.25)]
    assert len(kept) == 90
    assert kept == [i for i in plain if i in set(kept)]
    # the drawn places are not the queue's next items: the first four places differ
    assert mixed[:4] != plain[:4]


def test_group_by_product_and_the_calibration_start(tmp_path, monkeypatch):
    lc = _bench()
    labels, results = write_set(tmp_path / "set", draw_rows(80, seed=7))
    # a product holds two photos (groups), as a subject holds several photos in synth
    lines = [json.loads(x) for x in labels.read_text().splitlines()]
    for lab in lines:
        lab["product"] = "p" + str(int(lab["id"].split("__")[0].removeprefix("product")) // 2)
    labels.write_text("".join(json.dumps(x) + "\n" for x in lines))
    rows, _, products = lc.load_set(results, labels, "product")
    grouped, _, _ = lc.load_set(results, labels, "product", group_by_product=True)
    assert [r.group for r in grouped] == [products[r.id] for r in rows]
    assert len({r.group for r in grouped}) < len({r.group for r in rows})  # photos, then products
    from maskgate.check.verdict import Calibration

    monkeypatch.setitem(lc.SETTINGS, "start", "calibration")
    assert type(lc.start_scoring()) is Calibration
    monkeypatch.setitem(lc.SETTINGS, "start", "packaged")
    assert type(lc.start_scoring()) is type(lc.load_scoring(None))
