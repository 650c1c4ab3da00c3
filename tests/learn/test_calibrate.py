"""Calibration fits one scorer per criterion, and an erasure's residue its own when labels allow."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from maskgate.check.scoring import probability
from maskgate.check.verdict import Calibration
from maskgate.cli import app
from maskgate.learn.calibrate import LabelledFeatures, calibrate


def _rows(n_cutouts: int, n_erasures: int, seed: int = 0) -> list[LabelledFeatures]:
    """Cut-outs whose residue shows as stray text area; erasures whose residue shows only as
    overlay text left (their text area is noise, unrelated to the label)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_cutouts):
        ok = i % 2 == 0
        f = {"text_area": float(rng.uniform(0, 0.0004) if ok else rng.uniform(0.01, 0.05))}
        rows.append(
            LabelledFeatures(
                f"cup{i % 7}__{i}", f"cup{i % 7}", "isolated", {"residue": f}, {"residue": ok}, ok
            )
        )
    for i in range(n_erasures):
        ok = i % 3 == 0
        f = {
            "overlay_left": 0.0 if ok else float(rng.uniform(0.4, 1.0)),
            "text_area": float(rng.uniform(0, 0.003)),
        }
        rows.append(
            LabelledFeatures(
                f"poster{i % 6}__{i}", f"poster{i % 6}", "text_removed", {"residue": f}, {"residue": ok}, ok
            )
        )
    return rows


def test_erasures_get_their_own_residue_scorer(tmp_path):
    cal = calibrate(_rows(60, 30))
    assert "residue@text_removed" in cal.models and "residue" in cal.models
    path = tmp_path / "cal.json"
    cal.save(path)
    back = Calibration.load(path)
    assert back.scorer("residue", "text_removed") == "residue@text_removed"
    assert back.scorer("residue", "isolated") == "residue"
    key = back.scorer("residue", "text_removed")
    t = back.thresholds[key].decide
    left = probability(key, {"overlay_left": 1.0, "text_area": 0.0}, back.models[key])
    clean = probability(key, {"overlay_left": 0.0, "text_area": 0.002}, back.models[key])
    assert left < t <= clean
    assert cal.metrics["f1"]["residue@text_removed"] > 0.9


def test_too_few_erasures_stay_with_the_criterions_scorer():
    cal = calibrate(_rows(60, 6))
    assert "residue@text_removed" not in cal.models
    assert cal.scorer("residue", "text_removed") == "residue"


def _write_set(folder, rows: list[LabelledFeatures]):
    """A labels.jsonl and the results.jsonl a check run on it would leave (measurements in evidence)."""
    folder.mkdir()
    labels, results = folder / "labels.jsonl", folder / "results.jsonl"
    labels.write_text(
        "".join(
            json.dumps(
                {
                    "id": r.id,
                    "original": "o.png",
                    "edited": "e.png",
                    "kind": r.kind,
                    "labels": r.labels,
                    "acceptable": r.acceptable,
                }
            )
            + "\n"
            for r in rows
        )
    )
    results.write_text(
        "".join(
            json.dumps(
                {
                    "id": r.id,
                    "kind": r.kind,
                    "verdict": "review",
                    "criteria": {"residue": {"pass": None, "score": 0.5, "evidence": r.features["residue"]}},
                }
            )
            + "\n"
            for r in rows
        )
    )
    return labels, results


def test_cli_fits_several_label_sets_together(tmp_path):
    rows = _rows(60, 30)
    cut_labels, cut_results = _write_set(tmp_path / "cutouts", [r for r in rows if r.kind == "isolated"])
    era_labels, era_results = _write_set(tmp_path / "erasures", [r for r in rows if r.kind == "text_removed"])
    out = tmp_path / "cal.json"
    args = [
        "calibrate",
        str(cut_labels),
        str(era_labels),
        "--results",
        str(cut_results),
        "--results",
        str(era_results),
        "-o",
        str(out),
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    cal = Calibration.load(out)
    assert {"residue", "residue@text_removed"} <= set(cal.models)
    assert cal.metrics["pairs"] == 90
    res = CliRunner().invoke(app, args[:3] + ["--results", str(cut_results), "-o", str(out)])
    assert res.exit_code != 0 and "one per label file" in res.output


def test_cross_validation_groups_come_from_the_labels_not_the_id():
    from maskgate.learn.calibrate import group_of

    lab = {"id": "a__b__c", "original": "originals/mug_3.jpg", "product": "mug"}
    assert group_of(lab) == "originals/mug_3.jpg"  # no "group" field: the pair's original
    assert group_of({**lab, "group": "catalogue-7"}) == "catalogue-7"
    assert group_of(lab, "product") == "mug"
    assert group_of(lab, lambda r: r["original"].split("/")[0]) == "originals"
