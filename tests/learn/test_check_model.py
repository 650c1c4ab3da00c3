"""`maskgate check --model MODEL_DIR` scores with that model, through the same engine path."""

from __future__ import annotations

from typer.testing import CliRunner

from maskgate.check.engine import Checker
from maskgate.check.verdict import Calibration, decide
from maskgate.cli import app
from maskgate.core.record import read_records
from maskgate.core.types import CRITERIA
from maskgate.io.images import load_image
from maskgate.io.manifest import read_manifest
from maskgate.learn.train import train
from tests.check.test_runner import _write_pairs
from tests.learn.built import draw_rows


def test_check_with_a_model_dir_scores_with_it(tmp_path, u2netp):
    manifest = _write_pairs(tmp_path, 1)
    model = train(draw_rows(400, seed=7), 0.98)
    model_dir = model.save(tmp_path / "model")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app, ["check", str(manifest), "--out", str(out), "--no-progress", "--model", str(model_dir)]
    )
    assert res.exit_code == 0, res.output
    (rec,) = read_records(out / "results.jsonl")

    # the engine, given the same model, on the same pair: the scores the model gives its measurements
    spec = read_manifest(manifest)[0]
    checker = Checker(model=model_dir)
    ctx = checker.context(load_image(spec.original, max_side=1024), load_image(spec.edited, max_side=1024))
    feats = checker.features(ctx)
    keys = {c: model.scorer(c, ctx.kind) for c in CRITERIA}
    scores = {
        c: (model.probability(keys[c], feats[c]) if rec.criteria[c].passed is not None else None)
        for c in CRITERIA
    }
    default = Calibration.load()
    differs = False
    for c in CRITERIA:
        if scores[c] is None:
            continue
        assert rec.criteria[c].score == round(scores[c], 4), c
        differs |= abs(default.probability(default.scorer(c, ctx.kind), feats[c]) - scores[c]) > 1e-3
    assert differs  # not the packaged calibration's scores
    assert rec.verdict == decide(scores, model, keys)[1]
    assert rec.verdict != "accept"  # segmentation, consistency, background: never labelled, never sure


def test_check_refuses_a_model_that_is_not_a_folder_or_comes_with_a_calibration(tmp_path):
    manifest = _write_pairs(tmp_path, 1)
    r = CliRunner().invoke(
        app, ["check", str(manifest), "--out", str(tmp_path / "o"), "--model", str(manifest)]
    )
    assert r.exit_code == 2 and "not a folder" in " ".join(r.output.split())
    r = CliRunner().invoke(
        app,
        [
            "check",
            str(manifest),
            "--out",
            str(tmp_path / "o"),
            "--model",
            str(tmp_path),
            "--calibration",
            str(manifest),
        ],
    )
    assert r.exit_code == 2 and "not both" in " ".join(r.output.split())
