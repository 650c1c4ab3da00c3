"""The reward model learns what people call a fitting background, from pairs it never saw.

Margin: on held-out products (their originals never trained on), the overall head must rank good
edits above bad ones with AUC > 0.5 + 0.25 (the default backbone) and > 0.5 + 0.15 (the tiny ONNX
embedding, eight numbers from four fixed filters); chance is 0.5.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from maskgate.check.reward import Backbone, RewardError, RewardModel
from maskgate.learn.reward import (
    RewardDataError,
    comparisons,
    fit_weights,
    rows_from_hfpc,
    rows_from_labels,
    train_reward,
)
from maskgate.learn.train import auc
from tests.learn.scenes import build, tiny_embedding

DEFAULT_MARGIN = 0.25
ONNX_MARGIN = 0.15


def _held_out_auc(model: RewardModel, labels: Path) -> tuple[float, int]:
    from maskgate.check.reward import prepare_pair
    from maskgate.io.images import load_image

    ps, ys = [], []
    for r in rows_from_labels(labels):
        o, e = prepare_pair(load_image(r.original), load_image(r.edited))
        ps.append(model.score(o, e, None)["overall"])
        ys.append(bool(r.labels["overall"]))
    return auc(np.array(ps), np.array(ys)), len(ys)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenes")
    return build(root / "train", 12, seed=1), build(root / "test", 6, seed=2)


def test_default_backbone_ranks_held_out_pairs(scenes, tmp_path):
    pytest.importorskip("onnxruntime")
    from maskgate.models.registry import MissingModelError

    train_labels, test_labels = scenes
    rows = rows_from_labels(train_labels)
    try:
        model = train_reward(rows, Backbone())
    except MissingModelError as e:
        pytest.skip(str(e))
    head = model.heads["overall"]
    # the pairwise path ran (originals with edits labelled both ways), and the pointwise one
    assert head.info["comparisons"] > 0 and head.info["pointwise_rows"] > 0
    assert "background" in model.heads
    loaded = RewardModel.load(model.save(tmp_path / "reward"))
    a, n = _held_out_auc(loaded, test_labels)
    assert n >= 10
    assert a > 0.5 + DEFAULT_MARGIN, f"held-out AUC {a:.3f}"


def test_onnx_backbone_trains_and_scores(scenes, tmp_path):
    train_labels, test_labels = scenes
    onnx_path = tiny_embedding(tmp_path / "tiny.onnx")
    bb = Backbone.parse(f"onnx:{onnx_path}")
    assert bb.size == (64, 64)  # the graph's own input size
    model = train_reward(rows_from_labels(train_labels), bb)
    assert model.backbone.dim == 8 and len(model.names()) == 17
    out = model.save(tmp_path / "reward")
    spec = json.loads((out / "reward.json").read_text())["spec"]["backbone"]
    assert spec["name"] == "onnx" and spec["sha256"] == bb.sha256
    a, _ = _held_out_auc(RewardModel.load(out), test_labels)
    assert a > 0.5 + ONNX_MARGIN, f"held-out AUC {a:.3f}"

    # the backbone file is part of the model: gone or changed, the model is refused with the fix
    onnx_path.write_bytes(onnx_path.read_bytes() + b"\0")
    with pytest.raises(RewardError, match="sha256"):
        RewardModel.load(out)
    onnx_path.unlink()
    with pytest.raises(RewardError, match="missing; put that file back"):
        RewardModel.load(out)


def test_missing_onnx_backbone_names_the_fix(tmp_path):
    with pytest.raises(RewardError, match="not found.*--backbone default"):
        Backbone.parse(f"onnx:{tmp_path / 'nope.onnx'}")
    with pytest.raises(RewardError, match="onnx:PATH"):
        Backbone.parse("clip")


def test_model_with_other_features_is_refused(scenes, tmp_path):
    onnx_path = tiny_embedding(tmp_path / "tiny.onnx")
    model = train_reward(rows_from_labels(scenes[0]), Backbone.parse(f"onnx:{onnx_path}"))
    out = model.save(tmp_path / "reward")
    raw = json.loads((out / "reward.json").read_text())
    raw["spec"]["features"] = raw["spec"]["features"][:-1]
    (out / "reward.json").write_text(json.dumps(raw))
    with pytest.raises(RewardError, match="edited"):
        RewardModel.load(out)


def test_pairwise_loss_orders_comparisons_alone():
    """Rows that are all comparisons (no pointwise row): the direction is learned from the pairs."""
    rng = np.random.default_rng(0)
    n = 60
    originals = [f"o{i // 2}" for i in range(n)]
    y = np.array([i % 2 for i in range(n)], float)
    base = rng.normal(0, 3, (n // 2, 1)).repeat(2, axis=0)  # per-original level: no pointwise signal
    z = np.hstack([base + 0.8 * y[:, None] + rng.normal(0, 0.3, (n, 1)), rng.normal(0, 1, (n, 2))])
    pairs = comparisons(originals, y)
    assert len(pairs) == n // 2
    w = fit_weights(z, y, pairs, l2=0.1)
    assert w[0] > 0 and abs(w[0]) > 3 * max(abs(w[1]), abs(w[2]))


def test_hfpc_lines_and_bad_labels(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    p = tmp_path / "hfpc.jsonl"
    p.write_text(
        json.dumps({"origin": "a.png", "generation": "b.png", "label": "good"})
        + "\n"
        + json.dumps({"origin": "a.png", "generation": "c.png", "label": 0})
        + "\n"
    )
    rows = rows_from_hfpc(p)
    assert [r.labels["overall"] for r in rows] == [True, False]
    assert rows[0].original == str(tmp_path / "a.png") and rows[0].group == rows[1].group
    p.write_text(json.dumps({"origin": "a.png", "generation": "b.png", "label": "maybe"}) + "\n")
    with pytest.raises(RewardDataError, match=r"hfpc.jsonl:1: field 'label'"):
        rows_from_hfpc(p)
    p.write_text(json.dumps({"origin": "a.png", "label": 1}) + "\n")
    with pytest.raises(RewardDataError, match="origin` and `generation"):
        rows_from_hfpc(p)


def test_unreadable_pairs_are_skipped_and_named(scenes, tmp_path):
    onnx_path = tiny_embedding(tmp_path / "tiny.onnx")
    rows = rows_from_labels(scenes[0])
    rows[0].edited = str(tmp_path / "gone.png")
    model = train_reward(rows, Backbone.parse(f"onnx:{onnx_path}"))
    assert model.meta["skipped"]["count"] == 1
    assert rows[0].id in model.meta["skipped"]["pairs"][0]


def test_check_measurements_join_when_every_pair_has_a_record(scenes, tmp_path):
    """With --results, the paths and kind come from the records and the check's badness vectors
    become features; a label file with no record for some id keeps only the ones checked."""
    labels = scenes[0]
    lines = [json.loads(x) for x in labels.read_text().splitlines()]
    rng = np.random.default_rng(0)
    recs = []
    for lab in lines[:-1]:  # the last pair was never checked
        recs.append(
            {
                "id": lab["id"],
                "original": str(labels.parent / lab["original"]),
                "edited": str(labels.parent / lab["edited"]),
                "kind": "inpainted",
                "verdict": "review",
                "score": 0.5,
                "criteria": {
                    "background": {
                        "pass": True,
                        "score": 0.5,
                        "evidence": {"chroma_hf": float(rng.uniform(0, 2))},
                    }
                },
            }
        )
    results = tmp_path / "results.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in recs))
    rows = rows_from_labels(labels, results)
    assert len(rows) == len(lines) - 1 and all(r.feats is not None for r in rows)
    model = train_reward(rows, Backbone.parse(f"onnx:{tiny_embedding(tmp_path / 'tiny.onnx')}"))
    assert model.use_check and "check:background:measured" in model.names()
    RewardModel.load(model.save(tmp_path / "reward"))  # the spec round-trips

    from maskgate.learn.reward import gather

    with pytest.raises(RewardDataError, match="one per label file"):
        gather([labels, labels], [results])
    with pytest.raises(RewardDataError, match="no such file"):
        gather([tmp_path / "none.jsonl"])
