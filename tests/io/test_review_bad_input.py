"""``review import --all`` on check records whose images are bombs, pipes, tiny or truncated: each
item is stored with its reason (never queued) or imported, and nothing is decoded to find out."""

from __future__ import annotations

import codecs
import json

import numpy as np
import pytest
from sqlalchemy import select

from maskgate.review.db import open_db
from maskgate.review.importer import import_results
from maskgate.review.schema import Item
from tests import bad_input_corpus as bc

PEAK_LIMIT_MB = 1536


def _record(pid: str, original: str, edited: str) -> dict:
    return {
        "id": pid,
        "original": original,
        "edited": edited,
        "kind": "inpainted",
        "verdict": "error",
        "score": None,
        "criteria": {},
        "source_overlay": None,
        "notes": [],
        "error": "as the check wrote it",
    }


@pytest.fixture
def results(tmp_path):
    d = tmp_path / "check"
    bc.bombs(d)
    bc.save(d / "o.png", bc.textured(120, 90))
    bc.save(d / "dot.png", bc.textured(1, 1))
    bc.fifo(d / "pipe.png")
    bc.truncated(d / "cut.jpg")
    bc.truncated(d / "cut.png")
    (d / "zero.png").write_bytes(b"")
    bc.save(d / "strip.png", bc.textured(5, 4000))
    bc.animated(d / "anim.gif")
    bc.animated(d / "anim.webp")
    bc.animated(d / "apng.png")
    bc.cmyk_jpeg(d / "cmyk.jpg", bc.textured(120, 90))
    bc.png16(d / "deep16.png", np.linspace(0, 65535, 120 * 90).reshape(90, 120))
    recs = [
        _record("bomb_o", "bomb_jpeg_empty.jpg", "o.png"),
        _record("bomb_o_full", "bomb_png_full.png", "o.png"),
        _record("bomb_e", "o.png", "bomb_png_empty.png"),
        _record("bomb_e_full", "o.png", "bomb_jpeg_full.jpg"),
        _record("pipe_o", "pipe.png", "o.png"),
        _record("pipe_e", "o.png", "pipe.png"),
        _record("cut", "cut.jpg", "o.png"),
        _record("dot", "dot.png", "o.png"),
        _record("ok", "o.png", "o.png"),
        _record("cut_png", "o.png", "cut.png"),
        _record("zero_o", "zero.png", "o.png"),
        _record("zero_e", "o.png", "zero.png"),
        _record("strip", "strip.png", "strip.png"),
        _record("anim", "anim.gif", "anim.webp"),
        _record("apng", "apng.png", "apng.png"),
        _record("cmyk", "cmyk.jpg", "cmyk.jpg"),
        _record("deep", "deep16.png", "deep16.png"),
    ]
    lines = [json.dumps(r).encode() + b"\n" for r in recs]
    # Saved by a Latin-1 editor: a BOM before the first record, one line with a Latin-1 byte.
    latin1 = json.dumps(_record("latin1", "o.png", "o.png")).replace("o.png", "caf\xe9.png", 1)
    lines = [codecs.BOM_UTF8 + lines[0], *lines[1:], latin1.encode("latin-1") + b"\n"]
    (d / "results.jsonl").write_bytes(b"".join(lines))
    return d / "results.jsonl"


EXPECT = {
    "bomb_o": "cannot read original: image too large: bomb_jpeg_empty.jpg is 60000x60000",
    "bomb_o_full": "cannot read original: image too large: bomb_png_full.png is 40000x40000",
    "bomb_e": "cannot read edited: image too large: bomb_png_empty.png is 40000x40000",
    "bomb_e_full": "cannot read edited: image too large: bomb_jpeg_full.jpg is 40000x40000",
    "pipe_o": "cannot read original: not a regular file: ",
    "pipe_e": "cannot read edited: not a regular file: ",
    "cut": "cannot read original: cannot decode image cut.jpg: image file is truncated",
    "cut_png": "cannot read edited: cannot decode image cut.png: image file is truncated",
    "zero_o": "cannot read original: empty file (0 bytes): ",
    "zero_e": "cannot read edited: empty file (0 bytes): ",
}
# A 1x1 or 5x4000 original is still something a person can look at; animations (their first
# frame), CMYK and 16-bit images import as any other.
IMPORTED = ("dot", "ok", "strip", "anim", "apng", "cmyk", "deep")


@pytest.mark.timeout(120)
def test_each_item_is_stored_with_its_reason_or_imported(results, tmp_path):
    engine = open_db(f"sqlite:///{tmp_path / 'review.db'}")
    rep = import_results(engine, results, only_review=False, segment=None)
    assert rep.imported == len(EXPECT) + len(IMPORTED)
    with engine.connect() as c:
        errors = dict(c.execute(select(Item.ext_id, Item.error)).all())
    assert set(errors) == set(EXPECT) | set(IMPORTED)  # the BOM cost nothing: bomb_o is the first line
    for pid, why in EXPECT.items():
        assert errors[pid] and errors[pid].startswith(why), (pid, errors[pid])
        assert any(pid in p and why in p for p in rep.problems), pid
    assert all(errors[pid] is None for pid in IMPORTED), {p: errors[p] for p in IMPORTED}
    n = len(results.read_bytes().splitlines())  # the Latin-1 line is listed with its number and byte
    assert f"results.jsonl line {n}: not UTF-8 (byte 0xe9 at column " in " ".join(rep.problems)
    engine.dispose()


@pytest.mark.timeout(300)
def test_review_import_all_refuses_the_bombs_in_bounded_memory(results, tmp_path):
    r, peak = bc.run_measured(
        bc.maskgate_cmd("review", "import", results, "--all", "--db", f"sqlite:///{tmp_path / 'r.db'}")
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"imported {len(EXPECT) + len(IMPORTED)} items" in r.stdout
    assert r.stderr.count("image too large") == 4
    assert peak < PEAK_LIMIT_MB, f"review import: peak RSS {peak:.0f} MB on the bombs"
