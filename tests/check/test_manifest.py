from __future__ import annotations

import json

from maskgate.io.manifest import read_manifest


def _touch(p):
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"x")
    return p


def test_jsonl_relative_paths_ids_and_labels(tmp_path):
    (tmp_path / "m.jsonl").write_text(
        json.dumps({"original": "o/a.jpg", "edited": "e/a_1.png", "kind": "isolated", "labels": {"residue": False}, "acceptable": False})
        + "\n\n"
        + json.dumps({"id": "b", "original": "/abs/o.jpg", "edited": "e/b.jpg", "mask": "m/b.png"})
        + "\n"
    )
    a, b = read_manifest(tmp_path / "m.jsonl")
    assert a.id == "a_1" and a.original == str(tmp_path / "o/a.jpg") and a.kind == "isolated"
    assert a.labels == {"residue": False} and a.acceptable is False
    assert b.id == "b" and b.original == "/abs/o.jpg" and b.mask == str(tmp_path / "m/b.png")


def test_hfpc_lines(tmp_path):
    (tmp_path / "h.jsonl").write_text(json.dumps({"origin": "x/o.png", "generation": "x/g.png", "label": 1}) + "\n")
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
    (tmp_path / "m.jsonl").write_text('{"original": "a.jpg", "edited": "b.jpg"}\nnot json\n{"original": "a.jpg"}\n{"original": "c.jpg", "edited": "b.jpg"}\n')
    pairs = read_manifest(tmp_path / "m.jsonl")
    assert [p.error is None for p in pairs] == [True, False, False, True]
    assert "line 2" in pairs[1].error and "line 3" in pairs[2].error
    assert len({p.id for p in pairs}) == 4
