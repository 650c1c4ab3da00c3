"""Manifest text as people really save it: BOMs, Latin-1 bytes, NULs, UTF-16, pipes, and folders
holding files in formats maskgate does not read. A bad line costs that line, never the run."""

from __future__ import annotations

import json

import pytest

from maskgate.io.images import IMAGE_EXTS
from maskgate.io.manifest import read_manifest
from tests import bad_input_corpus as bc


def _line(**kw) -> bytes:
    return json.dumps(kw).encode() + b"\n"


def test_jsonl_with_a_bom_reads_its_first_line(tmp_path):
    (tmp_path / "m.jsonl").write_bytes(b"\xef\xbb\xbf" + _line(id="a", original="o.png", edited="e.png"))
    (a,) = read_manifest(tmp_path / "m.jsonl")
    assert a.error is None and a.id == "a"


def test_a_latin1_byte_costs_its_line_with_the_line_number_and_the_byte(tmp_path):
    data = (
        _line(id="a", original="o.png", edited="e.png")
        + '{"id": "b", "original": "caf\xe9.png", "edited": "e.png"}\n'.encode("latin-1")
        + _line(id="c", original="o.png", edited="é.png")  # real UTF-8 is fine
        + b"\r\n"
        + _line(id="d", original="o.png", edited="e.png")
    )
    (tmp_path / "m.jsonl").write_bytes(data)
    a, bad, c, d = read_manifest(tmp_path / "m.jsonl")
    assert (a.error, c.error, d.error) == (None, None, None)
    assert c.edited.endswith("é.png")
    assert bad.id == "line-2"
    assert bad.error == (
        "m.jsonl line 2: not UTF-8 (byte 0xe9 at column 29; Latin-1 or Windows-1252?): save the file as UTF-8"
    )


def test_latin1_csv_rows_are_errors_and_the_others_run(tmp_path):
    text = "id,original,edited\na,o.jpg,e.jpg\nb,caf\xe9.jpg,e2.jpg\nc,o.jpg,e3.jpg\n"
    (tmp_path / "m.csv").write_bytes(text.encode("latin-1"))
    a, b, c = read_manifest(tmp_path / "m.csv")
    assert a.error is None and c.error is None and c.id == "c"
    assert b.error.startswith("m.csv line 3: not UTF-8 (byte 0xe9 at column 6")


def test_csv_rows_keep_their_physical_line_numbers(tmp_path):
    """A quoted cell may span lines: a bad byte inside it fails that row, and the rows after it
    are numbered by the line they start on."""
    text = (
        b"id,original,edited,note\n"
        b'a,o.jpg,e.jpg,"two\nlines"\n'
        b'b,o.jpg,e.jpg,"bad \xff\nbyte"\n'
        b"\n"
        b"c,o.jpg\n"
        b"d,o.jpg,e\x00.jpg\n"
        b"e,o.jpg,e.jpg\n"
    )
    (tmp_path / "m.csv").write_bytes(text)
    a, b, c, d, e = read_manifest(tmp_path / "m.csv")
    assert a.error is None and a.extra == {"note": "two\nlines"}
    assert b.error.startswith("m.csv line 4: not UTF-8 (byte 0xff")
    assert c.error == "m.csv line 7: needs 'original' and 'edited'"
    assert d.error == "m.csv line 8: holds a NUL byte (a binary file?)"
    assert e.error is None and e.id == "e"


def test_csv_header_that_is_not_utf8_stops_with_the_reason(tmp_path):
    (tmp_path / "m.csv").write_bytes("id,original,edited,r\xe9f\na,o.jpg,e.jpg,1\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"m.csv line 1 \(the header\): not UTF-8 \(byte 0xe9"):
        read_manifest(tmp_path / "m.csv")


def test_utf16_csv_from_a_spreadsheet(tmp_path):
    text = "id,original,edited\na,caf\xe9.jpg,e.jpg\n"
    (tmp_path / "m.csv").write_bytes(text.encode("utf-16"))  # with its BOM
    (a,) = read_manifest(tmp_path / "m.csv")
    assert a.error is None and a.original.endswith("café.jpg")


@pytest.mark.timeout(20)
def test_a_manifest_that_is_a_pipe_is_refused_at_once(tmp_path):
    pipe = bc.fifo(tmp_path / "m.jsonl")
    with pytest.raises(ValueError, match="manifest is not a regular file"):
        read_manifest(pipe)


@pytest.mark.timeout(20)
def test_folder_lists_what_it_cannot_read(tmp_path):
    for name in ("originals/mug.jpg", "originals/logo.svg", "originals/cup.png", "edited/mug__a.jpg"):
        bc.save(tmp_path / name, bc.textured(32, 32)) if not name.endswith(".svg") else None
    (tmp_path / "originals/logo.svg").write_text("<svg/>")
    (tmp_path / "originals/shoe.heic").write_bytes(b"x")
    (tmp_path / "edited/mug__b.svg").write_text("<svg/>")
    (tmp_path / "edited/cup__x.heic").write_bytes(b"x")
    (tmp_path / "edited/shoe__v.png").write_bytes(b"x")
    (tmp_path / "edited/notes.txt").write_text("not an image, not listed")
    bc.fifo(tmp_path / "edited/mug__pipe.png")
    pairs = {p.id: p for p in read_manifest(tmp_path)}
    assert set(pairs) == {"mug__a", "mug__b", "cup__x", "shoe__v", "mug__pipe", "originals/logo.svg"}
    assert pairs["mug__a"].error is None
    assert pairs["mug__pipe"].error is None  # a pair: reading its edit is refused with the reason
    assert pairs["mug__b"].error.startswith("edited edited/mug__b.svg: unsupported image format .svg")
    assert pairs["cup__x"].error.startswith("edited edited/cup__x.heic: unsupported image format .heic")
    assert pairs["shoe__v"].error.startswith("original originals/shoe.heic: unsupported image format")
    assert pairs["originals/logo.svg"].error.startswith("original originals/logo.svg: unsupported")
    assert ".png" in pairs["mug__b"].error  # says what it does read


def test_avif_is_read_when_pillow_can(tmp_path):
    for name in ("originals/a.png", "edited/a__x.avif"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    (p,) = read_manifest(tmp_path)
    if ".avif" in IMAGE_EXTS:
        assert p.error is None
    else:
        assert "unsupported image format .avif" in p.error
