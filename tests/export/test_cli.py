"""`maskgate export` and `maskgate import labelstudio` from the command line, on a real check run
of drawn images and on a real SQLite review database."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from maskgate.cli import app as cli
from maskgate.core.record import read_records
from maskgate.export import FORMATS

runner = CliRunner()


def _ok(args):
    r = runner.invoke(cli, args)
    assert r.exit_code == 0, r.output
    return r


def test_every_format_from_the_command_line(run, tmp_path):
    common = [
        str(run.dir),
        "--labels",
        str(run.labels),
        "--masks",
        str(run.masks),
        "--text-masks",
        str(run.overlays),
    ]
    for fmt in FORMATS:
        out = tmp_path / f"out-{fmt}"
        r = _ok(["export", fmt, *common, "-o", str(out)])
        assert f"{fmt}: wrote" in r.output and out.exists()
    coco = json.loads((tmp_path / "out-coco").read_text())
    assert len(coco["images"]) == 3 and {a["maskgate_source"] for a in coco["annotations"]} >= {
        "review",
        "masks",
    }
    back = tmp_path / "back.jsonl"
    r = _ok(["import", "labelstudio", str(tmp_path / "out-labelstudio"), "-o", str(back)])
    assert f"wrote {len(run.answers)} answers (1 masks)" in r.output
    assert len(back.read_text().splitlines()) == len(run.answers)


@pytest.mark.parametrize(
    "args, message",
    [
        (["export", "yaml", "{run}"], "unknown format 'yaml'"),
        (["export", "csv", "{tmp}/nowhere"], "no such results file"),
        (["export", "csv", "{run}", "--labels", "{tmp}/none.jsonl"], "no such labels file"),
        (["export", "coco", "{run}", "--masks", "{tmp}/nomasks"], "no such mask folder"),
        (["export", "csv", "{run}", "--db", "sqlite:///{tmp}/missing.db"], "no such review database"),
        (["export", "masks", "{run}"], "not an empty folder"),  # -o is the run folder itself
        (["import", "labelstudio", "{tmp}/none.json"], "no such file"),
    ],
)
def test_bad_input_is_a_clear_error_and_writes_nothing(run, tmp_path, args, message):
    args = [a.format(run=run.dir, tmp=tmp_path) for a in args]
    out = run.dir if args[1] == "masks" else tmp_path / "out"
    before = sorted(p.name for p in run.dir.iterdir())
    r = runner.invoke(cli, [*args, "-o", str(out)])
    assert r.exit_code == 2, r.output
    assert message in " ".join(r.output.split())
    assert not (tmp_path / "out").exists() and not (tmp_path / "missing.db").exists()
    assert sorted(p.name for p in run.dir.iterdir()) == before


def test_torn_results_lines_are_warnings_and_the_rest_is_exported(run, tmp_path):
    with open(run.results, "a") as f:
        f.write('{"id": "half", "verd')
    r = _ok(["export", "csv", str(run.results), "-o", str(tmp_path / "t.csv")])
    assert "warning" in r.output and "line 6" in r.output
    assert len((tmp_path / "t.csv").read_text().splitlines()) == 1 + 5


def test_labels_straight_from_the_review_database(run, tmp_path):
    """Answers submitted through the review queue on a real SQLite database come out as labels."""
    from maskgate.review.accounts import add_user
    from maskgate.review.db import open_db
    from maskgate.review.importer import import_results
    from maskgate.review.queue import AnswerIn, next_task, submit

    url = f"sqlite:///{tmp_path / 'review.db'}"
    engine = open_db(url)
    rep = import_results(engine, run.results, only_review=False, segment=None)
    assert rep.queued_slots == 4  # the error record is stored, never queued
    who = add_user(engine, "erin", "pw-erin-123")
    answered = {}
    while (task := next_task(engine, who.id, gold_every=0)) is not None:
        labels = {"residue": False, "quality": True}
        submit(
            engine, who.id, task.assignment_id, AnswerIn(q1=True, q2=True, labels=labels, acceptable=False)
        )
        answered[task.item_id] = labels
    engine.dispose()
    assert len(answered) == 4
    out = tmp_path / "t.csv"
    _ok(["export", "csv", str(run.dir), "--db", url, "-o", str(out)])
    import pandas as pd

    rows = pd.read_csv(out).set_index("id")
    for pid in ("cup", "vase", "bowl/a", "bowl/b"):
        assert rows.loc[pid, "label_source"] == "review" and rows.loc[pid, "reviewers"] == 1
        assert not rows.loc[pid, "label_residue"] and rows.loc[pid, "label_quality"]
        assert not rows.loc[pid, "acceptable"]


def test_a_real_check_run_exports_its_product_mask(tmp_path):
    """The real engine on a drawn product: COCO's product mask is the check's own product_mask
    evidence, scaled to the original."""
    from pycocotools.coco import COCO

    from maskgate.check.runner import run_check
    from maskgate.models.registry import MissingModelError
    from maskgate.synth.draw import add_overlays, compose, product, scene

    rgb, mask = product(256)
    orig = add_overlays(compose(scene(1, 256), rgb, mask))
    cut = np.dstack([rgb, mask])
    d = tmp_path / "set"
    d.mkdir()
    cv2.imwrite(str(d / "o.png"), orig[..., ::-1])
    cv2.imwrite(str(d / "e.png"), cut[..., [2, 1, 0, 3]])
    (d / "m.jsonl").write_text(json.dumps({"id": "mug", "original": "o.png", "edited": "e.png"}) + "\n")
    try:
        run_check(d / "m.jsonl", tmp_path / "out", progress=False)
    except MissingModelError as e:
        pytest.skip(str(e))
    (rec,) = read_records(tmp_path / "out" / "results.jsonl")
    assert rec.verdict != "error", rec.error
    ev = cv2.imread(str(tmp_path / "out" / rec.images()["product_mask"]), 0) > 127
    expect = cv2.resize(ev.astype(np.uint8), (256, 256), interpolation=cv2.INTER_NEAREST) > 0
    _ok(["export", "coco", str(tmp_path / "out"), "-o", str(tmp_path / "c.json")])
    coco = COCO(str(tmp_path / "c.json"))
    (ann,) = coco.loadAnns(coco.getAnnIds(catIds=coco.getCatIds(catNms=["product"])))
    assert ann["maskgate_source"] == "check"
    assert np.array_equal(coco.annToMask(ann).astype(bool), expect)
