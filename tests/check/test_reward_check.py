"""`check` with a reward model: the background score and the verdict take it in, nothing else
changes; without one, the record is what the check wrote before rewards existed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from maskgate.check.reward import Backbone, RewardModel, RewardScoring, blend
from maskgate.cli import app
from maskgate.io.images import load_image
from maskgate.io.manifest import PairSpec
from maskgate.learn.reward import rows_from_labels, train_reward
from tests.learn.scenes import build, tiny_embedding


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("reward")
    labels = build(root / "train", 12, seed=1)
    onnx_path = tiny_embedding(root / "tiny.onnx")
    model = train_reward(rows_from_labels(labels), Backbone.parse(f"onnx:{onnx_path}"))
    return model.save(root / "reward"), build(root / "pairs", 3, seed=5, edits=(2, 3))


def test_reward_changes_background_and_overall_only(trained, checker):
    reward_dir, labels = trained
    from maskgate.check.engine import Checker

    with_reward = Checker(RewardScoring(checker.calibration, RewardModel.load(reward_dir)))
    for r in rows_from_labels(labels)[:2]:
        o, e = load_image(r.original, max_side=1024), load_image(r.edited, max_side=1024)
        spec = PairSpec(id=r.id, original=r.original, edited=r.edited, kind="inpainted")
        plain = checker.check(o, e, "inpainted", pair=spec).record.to_json()
        rewarded = with_reward.check(o, e, "inpainted", pair=spec).record.to_json()
        assert "reward" not in plain  # the default path writes no reward field
        rew = rewarded.pop("reward")
        assert set(rew) >= {"overall", "background", "version", "background_criterion"}
        assert rew["background_criterion"] == pytest.approx(
            plain["criteria"]["background"]["score"], abs=1e-4
        )
        want = blend(rew["background_criterion"], rew["background"])
        assert rewarded["criteria"]["background"]["score"] == pytest.approx(want, abs=1e-3)
        assert rewarded["score"] <= min(plain["score"], rew["overall"]) + 1e-4

        # every measurement, and every other criterion, is the same (a failing criterion may show
        # an evidence image a passing one does not)
        def measured(ev):
            return {k: v for k, v in ev.items() if k != "images"}

        for c, crit in plain["criteria"].items():
            assert measured(rewarded["criteria"][c]["evidence"]) == measured(crit["evidence"])
            if c != "background":
                assert rewarded["criteria"][c] == crit
        rest = {k: v for k, v in plain.items() if k not in ("criteria", "score", "verdict")}
        assert {k: v for k, v in rewarded.items() if k not in ("criteria", "score", "verdict")} == rest


def test_cli_train_then_check_with_reward(trained, tmp_path, checker):
    reward_dir, labels = trained
    onnx_path = json.loads((reward_dir / "reward.json").read_text())["spec"]["backbone"]["path"]
    out = tmp_path / "r"
    r = CliRunner().invoke(
        app, ["reward", "train", str(labels), "--backbone", f"onnx:{onnx_path}", "--out", str(out), "--json"]
    )
    # three originals are too few to fit: the error names the counts, and nothing is written
    assert r.exit_code == 2 and "no head could be trained" in r.output and not out.exists()

    manifest = tmp_path / "m.jsonl"
    manifest.write_text(
        "".join(
            json.dumps({"id": x.id, "original": x.original, "edited": x.edited, "kind": "inpainted"}) + "\n"
            for x in rows_from_labels(labels)[:1]
        )
    )
    res = CliRunner().invoke(
        app,
        [
            "check",
            str(manifest),
            "--out",
            str(tmp_path / "run"),
            "--reward",
            str(reward_dir),
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    rec = json.loads((tmp_path / "run" / "results.jsonl").read_text().splitlines()[0])
    assert 0 <= rec["reward"]["overall"] <= 1
    bad = CliRunner().invoke(
        app, ["check", str(manifest), "--out", str(tmp_path / "run2"), "--reward", str(tmp_path)]
    )
    assert bad.exit_code == 2 and "not a reward model folder" in " ".join(bad.output.split())
    assert not (tmp_path / "run2" / "results.jsonl").exists()


def test_blend_is_symmetric_and_pulled_by_a_sure_failure():
    assert blend(0.5, 0.5) == pytest.approx(0.5)
    assert blend(0.9, 0.2) == pytest.approx(blend(0.2, 0.9))
    assert blend(0.99, 0.01) == pytest.approx(0.5)
    assert blend(0.9, 0.05) < 0.5 < blend(0.9, 0.6)
    assert np.isfinite(blend(1.0, 0.0))
