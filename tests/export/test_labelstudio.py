"""Label Studio: maskgate's brush RLE against the SDK's encoder and decoder, the tasks against
the labeling config, and export -> import -> export giving the same file."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from maskgate.core.types import CRITERIA
from maskgate.export import ExportError, brush, export, import_labelstudio, load
from maskgate.review.masks import decode_rle

sdk = pytest.importorskip("label_studio_sdk.converter.brush", reason="label-studio-sdk is not installed")


def _masks(rng):
    yield np.zeros((1, 1), bool)
    yield np.ones((7, 3), bool)
    yield rng.random((33, 47)) > 0.5  # many short runs
    m = np.zeros((300, 500), bool)
    m[40:260, 100:420] = True  # runs over 256 and 2**16 values (4 channels a pixel)
    yield m
    yield np.ones((256, 256), bool)  # one run of exactly 2**18 values: split into full 2**16 pieces
    yield rng.random((90, 61)) > 0.97


def test_brush_rle_is_the_sdks_byte_for_byte_and_both_decoders_agree():
    rng = np.random.default_rng(7)
    for m in _masks(rng):
        ours = brush.encode(m)
        theirs = sdk.mask2rle(m.astype(np.uint8) * 255)
        assert ours == theirs, m.shape
        h, w = m.shape
        assert np.array_equal(sdk.decode_rle(ours).reshape(h, w, 4)[..., 3] > 127, m)
        assert np.array_equal(brush.decode(theirs, h, w), m)


def test_brush_decoder_reads_literal_runs_and_other_headers():
    """Label Studio's front end may write literal (non-series) runs and other run-length sizes;
    the SDK's decoder is the reference for what such a stream means."""
    rng = np.random.default_rng(3)
    h, w = 5, 6
    alpha = (rng.random(h * w) > 0.5).astype(np.uint8) * 255
    flat = np.repeat(alpha, 4)
    flat[::4] = rng.integers(0, 255, h * w)  # red differs from alpha: literal runs appear
    bits = "".join(f"{v:0{n}b}" for v, n in ((flat.size, 32), (7, 5), (1, 4), (2, 4), (5, 4), (9, 4)))
    i = 0
    while i < flat.size:  # literal groups of up to 2 values, or series
        j = i + 1
        while j < flat.size and flat[j] == flat[i] and j - i < 4:
            j += 1
        if j - i >= 2:
            bits += "1" + "01" + f"{j - i - 1:03b}" + f"{flat[i]:08b}"  # index 1: 3-bit lengths
        else:
            n = min(2, flat.size - i)
            bits += "0" + "00" + f"{n - 1:02b}" + "".join(f"{v:08b}" for v in flat[i : i + n])
            j = i + n
        i = j
    bits += "0" * (-len(bits) % 8)
    rle = [int(bits[k : k + 8], 2) for k in range(0, len(bits), 8)]
    reference = sdk.decode_rle(rle).reshape(h, w, 4)[..., 3] > 127
    assert np.array_equal(reference, alpha.reshape(h, w) > 127)
    assert np.array_equal(brush.decode(rle, h, w), reference)


def test_brush_decoder_refuses_a_size_mismatch():
    rle = brush.encode(np.ones((4, 4), bool))
    with pytest.raises(brush.BrushError, match="4x4x4|not 5x4x4"):
        brush.decode(rle, 5, 4)
    with pytest.raises(brush.BrushError, match="too short"):
        brush.decode([1, 2], 1, 1)


def _config_names():
    from maskgate.export.labelstudio import label_config

    root = ET.fromstring(label_config())
    controls = {e.get("name"): e for e in root.iter() if e.get("toName")}
    objects = {e.get("name") for e in root.iter() if e.tag == "Image"}
    return controls, objects


def test_tasks_match_the_labeling_config_and_the_sdk_decodes_their_masks(run, tmp_path):
    out = tmp_path / "tasks.json"
    src = load(run.results, labels=run.labels, masks_dir=run.masks, text_masks_dir=run.overlays)
    rep = export("labelstudio", src, out, image_root=run.dir.parent, url_prefix="/data/local-files/?d=")
    tasks = json.loads(out.read_text())
    assert rep.written == 4 and (tmp_path / "tasks.label-config.xml").is_file()
    controls, objects = _config_names()
    by_id = {t["data"]["maskgate_id"]: t for t in tasks}
    assert by_id["cup"]["data"]["original"] == "/data/local-files/?d=photos/originals/cup.png"
    for pid, t in by_id.items():
        rec = run.records[pid]
        for r in [r for p in t["predictions"] for r in p["result"]] + [
            r for a in t.get("annotations", []) for r in a["result"]
        ]:
            ctl = controls[r["from_name"]]
            assert r["to_name"] == ctl.get("toName") and r["to_name"] in objects
            if r["type"] == "choices":
                allowed = {c.get("value") for c in ctl.iter("Choice")}
                assert set(r["value"]["choices"]) <= allowed
            else:
                assert r["type"] == ctl.tag.lower()
        pred = t["predictions"][0]["result"]
        choices = {r["from_name"]: r["value"]["choices"][0] for r in pred if r["type"] == "choices"}
        for c in CRITERIA:
            p = rec.passed(c)
            assert choices.get(c) == (None if p is None else ("pass" if p else "fail"))
        # the SDK's own reader turns the predicted brushes into the same pixels
        layers = sdk.decode_from_annotation(
            "masks", [_as_converter_gives(r) for r in pred if r["type"] == "brushlabels"]
        )
        product = run.check[pid] if pid != "vase" else run.product["vase"]
        assert np.array_equal(layers["masks-product-0"] > 127, product), pid
        if pid in run.overlay:
            assert np.array_equal(layers["masks-overlay-0"] > 127, run.overlay[pid])
    ann = by_id["bowl/a"]["annotations"]
    assert [a["maskgate"]["reviewer"] for a in ann] == ["alice", "bob", "carol"]
    assert "annotations" not in by_id["bowl/b"]


def _as_converter_gives(r: dict) -> dict:
    """A result as the SDK's Converter hands it to its brush decoder (value, type and size)."""
    return {
        **r["value"],
        "type": r["type"],
        "original_width": r["original_width"],
        "original_height": r["original_height"],
    }


def test_the_sdks_converter_reads_the_reviewers_masks(run, tmp_path):
    """Label Studio's own BRUSH_TO_NUMPY export over the tasks (numbered, as Label Studio numbers
    them when it exports) gives the reviewers' masks."""
    from label_studio_sdk.converter import Converter

    from maskgate.export.labelstudio import label_config

    f = tmp_path / "tasks.json"
    export("labelstudio", load(run.results, labels=run.labels), f)
    tasks = json.loads(f.read_text())
    for i, t in enumerate(tasks, 1):
        t["id"] = i
        for k, a in enumerate(t.get("annotations", []), 1):
            a["id"] = k
    f.write_text(json.dumps(tasks))
    out = tmp_path / "npy"
    out.mkdir()
    Converter(config=label_config(), project_dir=str(tmp_path)).convert(
        str(f), str(out), "BRUSH_TO_NUMPY", is_dir=False
    )
    task = next(t["id"] for t in tasks if t["data"]["maskgate_id"] == "bowl/a")
    got = sorted(p.name for p in out.iterdir())
    assert got == [f"task-{task}-annotation-1-by--masks-product-0.npy"]  # only alice painted
    assert np.array_equal(np.load(out / got[0]) > 127, run.product["bowl/a"])


def test_export_import_export_is_lossless(run, tmp_path):
    src = load(run.results, labels=run.labels, text_masks_dir=run.overlays)
    first = tmp_path / "1.json"
    export("labelstudio", src, first)
    back = tmp_path / "back.jsonl"
    rep = import_labelstudio(first, back)
    assert rep.written == len(run.answers) and not rep.problems
    lines = [json.loads(x) for x in back.read_text().splitlines()]
    key = lambda d: (d["id"], d["reviewer"])  # noqa: E731 - tasks come in the results' order
    for a, b in zip(sorted(run.answers, key=key), sorted(lines, key=key), strict=True):
        for k in a:
            if k == "mask":
                assert (a[k] is None) == (b[k] is None)
                if a[k]:
                    assert np.array_equal(decode_rle(a[k]), decode_rle(b[k]))
            else:
                assert b[k] == a[k], k
    # the lines are labels `maskgate learn` / `calibrate` read (the last answer per id counts there)
    from maskgate.learn.calibrate import rows_from_results

    rows = {r.id: r for r in rows_from_results(run.results, back)}
    assert set(rows) == {"bowl/a", "cup"} and rows["bowl/a"].labels["segmentation"] is False
    second = tmp_path / "2.json"
    export("labelstudio", load(run.results, labels=back, text_masks_dir=run.overlays), second)
    assert second.read_bytes() == first.read_bytes()


def test_import_reads_annotations_made_in_label_studio(run, tmp_path):
    """What a Label Studio export holds for an answer made there: no maskgate object, its own
    user, time and region ids, a brush from the SDK's encoder, a cancelled annotation, a result
    maskgate has no field for, and a task that is not maskgate's."""
    src = load(run.results)
    tasks_file = tmp_path / "t.json"
    export("labelstudio", src, tasks_file)
    tasks = json.loads(tasks_file.read_text())
    h, w = run.sizes["vase"]
    painted = np.zeros((h, w), np.uint8)
    painted[10:50, 20:120] = 255
    painted[60:70, 150:190] = 255
    second_stroke = np.zeros((h, w), np.uint8)
    second_stroke[80:90, 5:15] = 255
    vase = next(t for t in tasks if t["data"]["maskgate_id"] == "vase")
    vase["id"] = 17
    vase["annotations"] = [
        {
            "id": 3,
            "completed_by": 2,
            "created_username": "dana@example.com, 2",
            "lead_time": 41.2,
            "created_at": "2026-11-30T10:00:00.000000Z",
            "was_cancelled": False,
            "result": [
                {
                    "id": "Xa1",
                    "from_name": "residue",
                    "to_name": "edited",
                    "type": "choices",
                    "value": {"choices": ["fail"]},
                },
                {
                    "id": "Xa2",
                    "from_name": "acceptable",
                    "to_name": "edited",
                    "type": "choices",
                    "value": {"choices": ["no"]},
                },
                {
                    "id": "Xa3",
                    "from_name": "note",
                    "to_name": "edited",
                    "type": "textarea",
                    "value": {"text": ["logo left"]},
                },
                *(
                    {
                        "id": f"B{k}",
                        "from_name": "masks",
                        "to_name": "original",
                        "type": "brushlabels",
                        "original_width": w,
                        "original_height": h,
                        "image_rotation": 0,
                        "value": {"format": "rle", "rle": sdk.mask2rle(m), "brushlabels": ["product"]},
                    }
                    for k, m in enumerate((painted, second_stroke))
                ),
                {
                    "id": "Xa4",
                    "from_name": "mood",
                    "to_name": "edited",
                    "type": "rating",
                    "value": {"rating": 4},
                },
            ],
        },
        {"id": 4, "completed_by": 5, "was_cancelled": True, "result": []},
    ]
    tasks.append({"id": 99, "data": {"image": "/x.png"}, "annotations": [{"result": []}]})
    tasks_file.write_text(json.dumps(tasks))
    rep = import_labelstudio(tasks_file, tmp_path / "l.jsonl")
    (line,) = [json.loads(x) for x in (tmp_path / "l.jsonl").read_text().splitlines()]
    assert line["id"] == "vase" and line["reviewer"] == "dana@example.com, 2"
    assert line["labels"]["residue"] is False and line["labels"]["quality"] is None
    assert line["acceptable"] is False and line["note"] == "logo left" and line["seconds"] == 41.2
    assert line["original"] == run.records["vase"].original and line["check_verdict"] == "reject"
    assert np.array_equal(decode_rle(line["mask"]), (painted | second_stroke) > 0)  # strokes unite
    assert rep.skipped == 2  # the cancelled annotation and the foreign task
    assert any("'mood'" in p for p in rep.problems) and any("task 5" in p for p in rep.problems)


@pytest.mark.parametrize(
    "content, why",
    [
        ("{not json", "not a JSON file"),
        ('"a string"', "a list of tasks"),
        ('[{"image": "/a.png", "residue": "pass"}]', "JSON-MIN"),
    ],
)
def test_import_refuses_what_is_not_a_label_studio_json_export(tmp_path, content, why):
    p = tmp_path / "e.json"
    p.write_text(content)
    with pytest.raises(ExportError, match=why):
        import_labelstudio(p, tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()


def test_a_bad_brush_is_reported_and_the_rest_of_the_answer_kept(run, tmp_path):
    f = tmp_path / "t.json"
    export("labelstudio", load(run.results, labels=run.labels), f)
    tasks = json.loads(f.read_text())
    ann = next(t for t in tasks if t["data"]["maskgate_id"] == "bowl/a")["annotations"][0]
    for r in ann["result"]:
        if r["type"] == "brushlabels":
            r["original_width"] += 1  # no longer the mask's size
    f.write_text(json.dumps(tasks))
    rep = import_labelstudio(f, tmp_path / "l.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "l.jsonl").read_text().splitlines()]
    (alice,) = [d for d in lines if d["id"] == "bowl/a" and d["reviewer"] == "alice"]
    assert alice["reviewer"] == "alice" and alice["mask"] is None and alice["labels"]["segmentation"] is False
    assert any("product brush unreadable" in p for p in rep.problems)
