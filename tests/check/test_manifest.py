from __future__ import annotations

import json

from maskgate.io.manifest import read_manifest


def _touch(p):
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"x")
    return p


def test_jsonl_relative_paths_ids_and_labels(tmp_path):
    (tmp_path / "m.jsonl").write_text(
        json.dumps(
            {
                "original": "o/a.jpg",
                "edited": "e/a_1.png",
                "kind": "isolated",
                "labels": {"residue": False},
                "acceptable": False,
            }
        )
        + "\n\n"
        + json.dumps({"id": "b", "original": "/abs/o.jpg", "edited": "e/b.jpg", "mask": "m/b.png"})
        + "\n"
    )
    a, b = read_manifest(tmp_path / "m.jsonl")
    assert a.id == "a_1" and a.original == str(tmp_path / "o/a.jpg") and a.kind == "isolated"
    assert a.labels == {"residue": False} and a.acceptable is False
    assert b.id == "b" and b.original == "/abs/o.jpg" and b.mask == str(tmp_path / "m/b.png")


def test_hfpc_lines(tmp_path):
    (tmp_path / "h.jsonl").write_text(
        json.dumps({"origin": "x/o.png", "generation": "x/g.png", "label": 1}) + "\n"
    )
    (p,) = read_manifest(tmp_path / "h.jsonl")
    assert p.original.endswith("x/o.png") and p.edited.endswith("x/g.png") and p.acceptable is True


def test_csv(tmp_path):
    (tmp_path / "m.csv").write_text("id,original,edited,kind\nq,o.jpg,e.jpg,inpainted\nr,o2.jpg,e2.jpg,\n")
    q, r = read_manifest(tmp_path / "m.csv")
    assert (q.id, q.kind, r.kind) == ("q", "inpainted", None)
    assert r.edited == str(tmp_path / "e2.jpg")


def test_folder_matches_by_stem_prefix(tmp_path):
    _touch(tmp_path / "originals/bear__00.jpg")
    _touch(tmp_path / "originals/bear__0.jpg")
    _touch(tmp_path / "originals/cup.png")
    _touch(tmp_path / "edited/bear__00__bg_ok.jpg")
    _touch(tmp_path / "edited/cup.webp")
    _touch(tmp_path / "edited/stray.jpg")
    pairs = {p.id: p for p in read_manifest(tmp_path)}
    assert pairs["bear__00__bg_ok"].original.endswith("bear__00.jpg")  # longest stem wins
    assert pairs["cup"].original.endswith("cup.png")
    assert pairs["stray"].error and "no original" in pairs["stray"].error


def test_bad_lines_become_error_items_and_ids_stay_unique(tmp_path):
    (tmp_path / "m.jsonl").write_text(
        '{"original": "a.jpg", "edited": "b.jpg"}\nnot json\n{"original": "a.jpg"}\n{"original": "c.jpg", "edited": "b.jpg"}\n'
    )
    pairs = read_manifest(tmp_path / "m.jsonl")
    assert [p.error is None for p in pairs] == [True, False, False, True]
    assert "line 2" in pairs[1].error and "line 3" in pairs[2].error
    assert len({p.id for p in pairs}) == 4


def test_csv_from_a_spreadsheet_bom_blank_cells_and_json_labels(tmp_path):
    text = (
        "id,original,edited,kind,acceptable,labels,note\n"
        'a,o.jpg,e.jpg,Isolated,false,"{""residue"": false, ""background"": null}",\n'
        "b,o.jpg,e2.jpg,,,,checked twice\n"
        "c,o.jpg\n"
    )
    (tmp_path / "m.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    a, b, c = read_manifest(tmp_path / "m.csv")
    assert a.id == "a" and a.kind == "isolated" and a.acceptable is False  # BOM not glued to "id"
    assert a.labels == {"residue": False, "background": None} and "note" not in a.extra
    assert (b.kind, b.acceptable, b.labels, b.extra) == (None, None, None, {"note": "checked twice"})
    assert c.error and "line 4" in c.error


def test_hfpc_label_spellings(tmp_path):
    lines = [
        {"origin": "o.png", "generation": "g0.png", "label": 0},
        {"origin": "o.png", "generation": "g1.png", "label": "1"},
        {"origin": "o.png", "generation": "g2.png"},
        {"origin": "o.png", "generation": "g3.png", "label": 1.0, "prompt": "on a beach"},
    ]
    (tmp_path / "h.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    ps = read_manifest(tmp_path / "h.jsonl")
    assert [p.acceptable for p in ps] == [False, True, None, True]  # no label is unknown, not "bad"
    assert [p.id for p in ps] == ["g0", "g1", "g2", "g3"] and ps[3].extra == {"prompt": "on a beach"}


def test_unusable_entries_are_items_not_crashes(tmp_path):
    (tmp_path / "m.jsonl").write_text(
        "[1, 2]\n"
        + json.dumps({"original": "o.png", "edited": "e.png", "kind": "cutout"})
        + "\n"
        + json.dumps({"original": "o.png", "edited": "e.png", "kind": "Text-Removed"})
        + "\n"
        + json.dumps({"original": "o.png", "edited": "e.png", "labels": "residue"})
        + "\n"
    )
    bad_json, bad_kind, ok, odd_labels = read_manifest(tmp_path / "m.jsonl")
    assert "line 1" in bad_json.error and "not a JSON object" in bad_json.error
    assert "unknown kind 'cutout'" in bad_kind.error and "line 2" in bad_kind.error
    assert ok.error is None and ok.kind == "text_removed"
    assert odd_labels.error is None and odd_labels.labels is None


def test_duplicate_ids_get_suffixes_that_collide_with_nothing(tmp_path):
    rows = [{"id": i, "original": "o.png", "edited": "e.png"} for i in ("x", "x", "x~1", "x")]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    ids = [p.id for p in read_manifest(tmp_path / "m.jsonl")]
    assert ids[0] == "x" and ids[2] == "x~1" and len(set(ids)) == 4
    assert ids == [
        p.id for p in read_manifest(tmp_path / "m.jsonl")
    ]  # stable across runs: resume relies on it


def test_folder_exact_stem_single_underscore_masks_and_same_stem_edits(tmp_path):
    for name in ("originals/shoe.png", "originals/shoe_red.png", "originals/mug.jpg", "masks/mug.png"):
        _touch(tmp_path / name)
    for name in (
        "edited/shoe_red.png",
        "edited/shoe_v2.jpg",
        "edited/mug__bg.jpg",
        "edited/mug__bg.png",
        "edited/notes.txt",
    ):
        _touch(tmp_path / name)
    pairs = read_manifest(tmp_path)
    by_edit = {p.edited.rsplit("/", 1)[1]: p for p in pairs}
    assert set(by_edit) == {
        "shoe_red.png",
        "shoe_v2.jpg",
        "mug__bg.jpg",
        "mug__bg.png",
    }  # both mug__bg checked
    assert by_edit["shoe_red.png"].original.endswith("shoe_red.png")  # exact stem wins
    assert by_edit["shoe_v2.jpg"].original.endswith("shoe.png")
    assert by_edit["mug__bg.png"].mask.endswith("masks/mug.png") and by_edit["shoe_v2.jpg"].mask is None
    assert len({p.id for p in pairs}) == 4
