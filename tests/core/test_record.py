"""The results record: every reader goes through ``PairRecord.from_json``, so it must read what
the engine writes, keep every field, and name the field when a line is not a record."""

from __future__ import annotations

import json

import pytest

from maskgate.core.record import SCHEMA_VERSION, CriterionRecord, PairRecord, RecordError, iter_records


def line(**over):
    rec = {
        "id": "mug__01__iso_ok",
        "original": "originals/mug__01.jpg",
        "edited": "edited/mug__01__iso_ok.png",
        "kind": "isolated",
        "verdict": "review",
        "score": 0.4312,
        "criteria": {
            "residue": {
                "pass": True,
                "score": 0.91,
                "evidence": {
                    "text_count": 0,
                    "overlay_carried": 0.1,
                    "images": {"heatmap": "evidence/x/residue_heatmap.png"},
                },
            },
            "background": {"pass": None, "score": 1.0, "evidence": {}},
        },
        "source_overlay": True,
        "notes": ["aspect ratio changed"],
        "error": None,
        "labels": {"residue": True},
        "acceptable": True,
        "defect": "iso_ok",
    }
    rec.update(over)
    return rec


def test_round_trip_keeps_every_field_and_splits_images_from_measurements():
    r = PairRecord.from_json(line())
    assert r.criteria["residue"].images == {"heatmap": "evidence/x/residue_heatmap.png"}
    assert r.criteria["residue"].measurements() == {"text_count": 0, "overlay_carried": 0.1}
    assert r.labels == {"residue": True} and r.acceptable is True and r.extra["defect"] == "iso_ok"
    assert r.passed("background") is None and r.passed("segmentation") is None
    out = r.to_json()
    assert out["schema_version"] == SCHEMA_VERSION
    assert {k: v for k, v in out.items() if k != "schema_version"} == line()
    assert PairRecord.from_json(json.loads(r.to_line())) == r


def test_records_written_before_the_version_field_read_the_same():
    assert PairRecord.from_json(line()).schema_version == SCHEMA_VERSION
    with pytest.raises(RecordError, match="newer maskgate"):
        PairRecord.from_json(line(schema_version=SCHEMA_VERSION + 1))


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"verdict": "maybe"}, "verdict"),
        ({"kind": "cutout"}, "kind"),
        ({"score": "high"}, "score"),
        ({"criteria": {"residue": {"pass": "yes", "score": 1}}}, "criteria.residue.pass"),
        ({"criteria": {"residue": {"pass": True, "score": None}}}, "criteria.residue.score"),
        ({"criteria": {"residue": {"evidence": {"images": ["a.png"]}}}}, "criteria.residue.evidence.images"),
        ({"notes": "one note"}, "notes"),
        ({"id": ""}, "id"),
    ],
)
def test_a_malformed_line_names_its_field(bad, field):
    with pytest.raises(RecordError, match=field.replace(".", r"\.")):
        PairRecord.from_json(line(**bad))


def test_error_records_and_torn_lines(tmp_path):
    err = PairRecord.failed("p", "o.png", "e.png", None, "original: file not found", {"acceptable": False})
    assert err.verdict == "error" and err.score is None and err.criteria == {}
    p = tmp_path / "results.jsonl"
    p.write_text(err.to_line() + "\n\n" + json.dumps(line()) + "\n" + '{"id": "torn", "verd')
    got = list(iter_records(p))
    assert [n for n, _ in got] == [1, 3, 4]
    assert got[0][1] == err and isinstance(got[1][1], PairRecord)
    assert isinstance(got[2][1], RecordError) and "not JSON" in str(got[2][1])


def test_a_criterion_without_images_writes_no_images_key():
    assert "images" not in CriterionRecord(True, 0.9, {"a": 1.0}).to_json()["evidence"]
