"""`maskgate reward train --from-db`: the reward model learns from the review database's answers
as `learn --from-db` reads them (gold, adjudicated, weighted consensus), with the images the items
name, and ranks held-out pairs as well as when trained from a label file."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from maskgate.check.reward import RewardModel
from maskgate.cli import app
from maskgate.review.importer import import_results
from tests.learn.scenes import build
from tests.learn.test_reward import DEFAULT_MARGIN, _held_out_auc

from .conftest import make_pair


def _results_for(labels) -> None:
    """A check record per labelled pair (review verdict, one measurement per criterion), beside
    the labels, naming the pair's own images."""
    folder = labels.parent
    recs = []
    for line in labels.read_text().splitlines():
        lab = json.loads(line)
        rec = make_pair(folder, lab["id"])
        rec |= {"original": lab["original"], "edited": lab["edited"], "kind": lab["kind"]}
        for c in rec["criteria"]:
            if rec["criteria"][c] is not None:
                rec["criteria"][c]["evidence"] = {**rec["criteria"][c]["evidence"], "measured": 0.0}
        recs.append(rec)
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))


def test_reward_trains_from_the_review_database(engine, tmp_path):
    pytest.importorskip("onnxruntime")
    train_labels = build(tmp_path / "train", 12, seed=1)
    test_labels = build(tmp_path / "test", 6, seed=2)
    _results_for(train_labels)
    # every labelled pair becomes a gold item: answers the database knows without a reviewer
    rep = import_results(
        engine, train_labels.parent / "results.jsonl", segment=None, gold=train_labels, gold_share=1.0
    )
    n = sum(1 for _ in train_labels.read_text().splitlines())
    assert rep.gold == n
    url = engine.url.render_as_string(hide_password=False)
    out = tmp_path / "reward"
    res = CliRunner().invoke(app, ["reward", "train", "--from-db", "--db", url, "--out", str(out)])
    if "pull u2netp" in res.output:
        pytest.skip(res.output)
    assert res.exit_code == 0, res.output
    assert f"{n} labelled pairs from the review database" in res.output
    model = RewardModel.load(out)
    head = model.heads["overall"]
    assert head.info["rows"] == n and head.info["comparisons"] > 0
    (src,) = model.meta["trained_on"]["files"]  # the database, its labels' digest, no password
    assert src["database"] == engine.url.render_as_string(hide_password=True)
    assert src["pairs"] == n and src["gold"] == n
    a, m = _held_out_auc(model, test_labels)
    assert m >= 10
    assert a > 0.5 + DEFAULT_MARGIN, f"held-out AUC {a:.3f}"


def test_reward_from_db_needs_labels(engine, tmp_path):
    url = engine.url.render_as_string(hide_password=False)
    res = CliRunner().invoke(app, ["reward", "train", "--from-db", "--db", url, "--out", str(tmp_path / "r")])
    assert res.exit_code != 0
    assert "no labelled pairs" in res.output


def test_from_db_reads_only_images_an_allowed_root_holds(engine, tmp_path):
    """The database names the files; a training command reads only those the app would serve."""
    from maskgate.review.roots import list_roots, remove_root
    from maskgate.review.training import training_rows

    labels = build(tmp_path / "train", 4, seed=3)
    _results_for(labels)
    import_results(engine, labels.parent / "results.jsonl", segment=None, gold=labels, gold_share=1.0)
    got = training_rows(engine)
    assert got.rows and set(got.paths) == {r.id for r in got.rows} and got.unserved == 0
    assert all(p.startswith(str(labels.parent.resolve())) for pair in got.paths.values() for p in pair)
    for r in list_roots(engine):
        if r.allowed:
            remove_root(engine, r.path)
    got = training_rows(engine)
    assert got.rows and not got.paths  # the labels still train `learn`; no image is read
    assert got.unserved == len(got.rows)
    assert "outside every allowed root" in got.summary()
