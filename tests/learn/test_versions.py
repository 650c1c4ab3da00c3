"""Model versions: a retrained model is written beside the old one, compared with it on the same
held-out groups, and activated only when better; the check reads the active one and records it."""

from __future__ import annotations

import json

import pytest

from maskgate.check.model import LearnedModel, ModelError, load_scoring
from maskgate.core.record import PairRecord
from maskgate.learn.versions import (
    PACKAGED,
    VersionError,
    activate,
    active_version,
    describe,
    figures,
    held_out_groups,
    retrain,
    versions,
)
from tests.learn.built import draw_rows


def test_held_out_groups_are_stable_partial_and_never_everything():
    groups = [f"g{i % 40}" for i in range(400)]
    a, b = held_out_groups(groups), held_out_groups(list(reversed(groups)))
    assert a == b  # a hash draw, not the order of the rows
    assert 0 < len(a) < 40
    assert 3 <= len(a) <= 15  # about a fifth of 40
    assert len(held_out_groups(["a", "b", "c"], share=0.99)) == 1  # two are always left to train on
    with pytest.raises(ValueError, match="three at least"):
        held_out_groups(["a", "b"])


def test_first_version_beats_the_packaged_calibration_then_a_worse_one_is_kept_inactive(tmp_path):
    root = tmp_path / "models"
    first = retrain(draw_rows(400, seed=3, flip=0.01), root)
    assert first.previous == PACKAGED
    assert first.activated, first.reason
    assert first.new_figures["mean_log_loss"] < first.previous_figures["mean_log_loss"]
    assert versions(root) == ["v0001"] and active_version(root) == "v0001"
    # check --model ROOT scores with the active version, and names it in every record
    m = load_scoring(root)
    assert isinstance(m, LearnedModel) and m.version == "v0001"

    # Twelve pairs: too few for any scorer to train (fewer than ten labelled each), so the new
    # version is the untrained default, and the trained active one is better on the held-out pairs.
    worse = retrain(draw_rows(12, seed=4, flip=0.01, prefix="few"), root)
    assert not worse.activated
    assert worse.previous == "v0001"
    assert worse.new_figures["mean_log_loss"] > worse.previous_figures["mean_log_loss"]
    assert "not below" in worse.reason
    assert versions(root) == ["v0001", "v0002"] and active_version(root) == "v0001"
    saved = json.loads((root / "v0002" / "model.json").read_text())
    assert saved["version"] == "v0002" and saved["held_out"]["activated"] is False
    assert saved["held_out"]["previous"]["version"] == "v0001"
    # both were scored on the same held-out pairs
    assert saved["held_out"]["new"]["pairs"] == saved["held_out"]["previous"]["pairs"] == worse.held_out_pairs

    listed = describe(root)
    assert [(v.name, v.active, v.activated) for v in listed] == [
        ("v0001", True, True),
        ("v0002", False, False),
    ]

    activate(root, "v0002")  # a person may still choose it
    assert load_scoring(root).version == "v0002"
    with pytest.raises(VersionError, match="no model version 'v0009'"):
        activate(root, "v0009")


def test_a_plain_model_folder_is_not_taken_for_a_models_folder(tmp_path):
    model = retrain(draw_rows(200, seed=5), tmp_path / "m").model
    plain = model.save(tmp_path / "plain")
    with pytest.raises(VersionError, match="single model folder"):
        retrain(draw_rows(200, seed=5), plain)
    assert load_scoring(plain).version == "v0001"  # the meta it was trained with names it


def test_a_dangling_active_pointer_is_refused_with_the_fix(tmp_path):
    root = tmp_path / "models"
    retrain(draw_rows(200, seed=6), root)
    (root / "ACTIVE").write_text("v0007\n")
    with pytest.raises(ModelError, match="models activate"):
        load_scoring(root)
    (root / "ACTIVE").write_text("../elsewhere\n")
    with pytest.raises(ModelError, match="not a version name"):
        load_scoring(root)
    (root / "ACTIVE").unlink()
    with pytest.raises(ModelError, match="without an active version"):
        load_scoring(root)


def test_figures_count_right_and_wrong_verdicts_against_people():
    rows = draw_rows(200, seed=8)
    f = figures(load_scoring(None), rows)
    assert f["pairs"] == 200
    assert f["right"] + f["wrong"] + f["review"] <= 200
    assert set(f["criteria"]) == {"residue", "quality", "comprehensibility"}


def test_model_version_travels_in_the_record_and_old_records_still_read():
    base = {"id": "a", "original": "o", "edited": "e", "kind": "isolated", "verdict": "accept", "score": 1.0}
    old = PairRecord.from_json(base)
    assert old.model_version is None and "model_version" not in old.to_json()
    rec = PairRecord.from_json({**base, "model_version": "v0003"})
    assert rec.model_version == "v0003" and rec.to_json()["model_version"] == "v0003"
    assert "model_version" not in rec.extra
    with pytest.raises(ValueError, match="model_version"):
        PairRecord.from_json({**base, "model_version": 3})
