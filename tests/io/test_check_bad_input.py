"""``maskgate check`` on the bad-input corpus: every pair gets a verdict or an error record naming the
file and the reason, the pairs after a pipe still run, tiny and thin images are refused (or, at the
documented limits, checked) without OpenCV text, bombs cost no memory, and the exit status says
whether any pair ended in error (docs/cli.md#exit-status)."""

from __future__ import annotations

import codecs
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from maskgate.check.runner import run_check
from maskgate.cli import app
from tests import bad_input_corpus as bc
from tests.check.standin import stand_in

PEAK_LIMIT_MB = 1536


def _manifest(folder, rows) -> str:
    (folder / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(folder / "m.jsonl")


def _records(out) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("check_corpus")
    bc.save(d / "o.png", bc.textured(200, 150))
    bc.save(d / "e.png", bc.textured(200, 150, seed=1))
    bc.bombs(d)
    bc.fifo(d / "pipe.png")
    (d / "zero.png").write_bytes(b"")
    bc.truncated(d / "cut.png")
    bc.truncated(d / "cut.jpg")
    bc.animated(d / "anim.gif")
    bc.animated(d / "anim.webp")
    bc.animated(d / "apng.png")
    bc.cmyk_jpeg(d / "cmyk.jpg", bc.textured(200, 150))
    bc.png16(d / "deep16.png", np.linspace(0, 65535, 200 * 150).reshape(150, 200))
    for w, h in ((1, 1), (2, 2), (5, 4000), (4000, 5), (16, 1040)):
        bc.save(d / f"t{w}x{h}.png", bc.textured(w, h))
    (d / "logo.svg").write_text("<svg/>")
    return d


ERRORS = {  # pair id -> (original, edited, the start of its error)
    "bomb_png_empty": (
        "o.png",
        "bomb_png_empty.png",
        "edited: image too large: bomb_png_empty.png is 40000x40000",
    ),
    "bomb_png_full": (
        "bomb_png_full.png",
        "e.png",
        "original: image too large: bomb_png_full.png is 40000x40000",
    ),
    "bomb_jpeg_empty": (
        "o.png",
        "bomb_jpeg_empty.jpg",
        "edited: image too large: bomb_jpeg_empty.jpg is 60000x60000",
    ),
    "bomb_jpeg_full": (
        "bomb_jpeg_full.jpg",
        "e.png",
        "original: image too large: bomb_jpeg_full.jpg is 40000x40000",
    ),
    "pipe": ("o.png", "pipe.png", "edited: not a regular file: "),
    "zero": ("zero.png", "e.png", "original: empty file (0 bytes): "),
    "cut_png": ("o.png", "cut.png", "edited: cannot decode image cut.png: image file is truncated"),
    "cut_jpg": ("cut.jpg", "e.png", "original: cannot decode image cut.jpg: image file is truncated"),
    "dot": ("t1x1.png", "e.png", "original: image too small to check: 1x1 (at least 16 px on each side)"),
    "px4": ("o.png", "t2x2.png", "edited: image too small to check: 2x2 (at least 16 px on each side)"),
    "strip": ("t5x4000.png", "e.png", "original: image too small to check: 5x4000"),
    "band": ("t4000x5.png", "t4000x5.png", "original: image too small to check: 4000x5"),
    "thread": ("t16x1040.png", "e.png", "original: image too elongated to check: 16x1040"),
    "svg": ("o.png", "logo.svg", "edited: cannot decode image logo.svg: unsupported image format .svg"),
    "mask_pipe": ("o.png", "e.png", "mask: not a regular file: "),
}
GOOD = {  # pair id -> (original, edited, the notes its record must carry)
    "ok": ("o.png", "e.png", ()),
    "gif": ("anim.gif", "anim.webp", ("original: anim.gif is animated", "edited: anim.webp is animated")),
    "apng": ("apng.png", "e.png", ("original: apng.png is animated",)),
    "cmyk": ("cmyk.jpg", "e.png", ()),
    "deep": ("deep16.png", "e.png", ()),
}


def _rows(corpus) -> list[dict]:
    rows = []
    for pid, (o, e, _) in {**ERRORS, **GOOD}.items():
        row = {"id": pid, "original": str(corpus / o), "edited": str(corpus / e)}
        if pid == "mask_pipe":
            row["mask"] = str(corpus / "pipe.png")
        rows.append(row)
    return rows


@pytest.mark.timeout(120)
def test_every_pair_gets_a_record_and_the_pairs_after_a_pipe_still_run(corpus, tmp_path):
    # Saved by a Latin-1 editor: a BOM before the first line, and one line with a Latin-1 byte.
    lines = [json.dumps(r).encode() + b"\n" for r in _rows(corpus)]
    latin1 = json.dumps(
        {"id": "latin1", "original": str(corpus / "o.png"), "edited": "caf\xe9.png"}, ensure_ascii=False
    )
    lines = [codecs.BOM_UTF8 + lines[0], *lines[1:], latin1.encode("latin-1") + b"\n"]
    (tmp_path / "m.jsonl").write_bytes(b"".join(lines))
    s = run_check(tmp_path / "m.jsonl", tmp_path / "out", progress=False, checker_factory=stand_in)
    recs = _records(tmp_path / "out")
    n = len(lines)
    assert set(recs) == set(ERRORS) | set(GOOD) | {f"line-{n}"} and s.done == len(recs)
    assert recs[f"line-{n}"]["error"].startswith(f"m.jsonl line {n}: not UTF-8 (byte 0xe9 at column ")
    for pid, (_, _, why) in ERRORS.items():
        assert recs[pid]["verdict"] == "error" and recs[pid]["error"].startswith(why), (
            pid,
            recs[pid]["error"],
        )
    assert "is a named pipe (FIFO)" in recs["pipe"]["error"] and "pipe.png" in recs["pipe"]["error"]
    for pid, (_, _, notes) in GOOD.items():
        assert recs[pid]["verdict"] in ("accept", "reject"), (pid, recs[pid]["error"])
        for note in notes:
            assert any(n.startswith(note) for n in recs[pid]["notes"]), (pid, recs[pid]["notes"])
    assert s.failed == len(ERRORS) + 1


@pytest.mark.timeout(120)
def test_bombs_cost_the_check_no_memory(corpus, tmp_path):
    rows = [
        {"id": pid, "original": str(corpus / o), "edited": str(corpus / e)}
        for pid, (o, e, _) in ERRORS.items()
        if pid.startswith("bomb")
    ]
    r, peak = bc.run_measured(
        bc.maskgate_cmd("check", _manifest(tmp_path, rows), "--out", tmp_path / "out", "--no-progress")
    )
    assert r.returncode == 1, r.stderr[-3000:]
    recs = _records(tmp_path / "out")
    assert len(recs) == 4 and all("refused before decoding" in x["error"] for x in recs.values())
    assert peak < PEAK_LIMIT_MB, f"check: peak RSS {peak:.0f} MB on the bombs"


@pytest.mark.timeout(900)
def test_the_whole_corpus_through_the_real_check_in_bounded_memory(corpus, tmp_path, u2netp):
    """``maskgate check`` with the real models, in a fresh process whose peak RSS is measured, on
    every kind at once: the same errors as the stand-in run above, a verdict for the others."""
    lines = [json.dumps(r).encode() + b"\n" for r in _rows(corpus)]
    (tmp_path / "m.jsonl").write_bytes(codecs.BOM_UTF8 + b"".join(lines))
    r, peak = bc.run_measured(
        bc.maskgate_cmd("check", tmp_path / "m.jsonl", "--out", tmp_path / "out", "--no-progress"),
        timeout=800,
    )
    assert r.returncode == 1, r.stderr[-3000:]
    recs = _records(tmp_path / "out")
    assert set(recs) == set(ERRORS) | set(GOOD)
    for pid, (_, _, why) in ERRORS.items():
        assert recs[pid]["verdict"] == "error" and recs[pid]["error"].startswith(why), (
            pid,
            recs[pid]["error"],
        )
    for pid, (_, _, notes) in GOOD.items():
        assert recs[pid]["verdict"] in ("accept", "review", "reject"), (pid, recs[pid]["error"])
        for note in notes:
            assert any(n.startswith(note) for n in recs[pid]["notes"]), (pid, recs[pid]["notes"])
    assert peak < PEAK_LIMIT_MB, f"check: peak RSS {peak:.0f} MB on the corpus"


_SHAPES = ((16, 16), (16, 1024), (1024, 16), (300, 16), (24, 24))


def _shape_pairs(d) -> list[dict]:
    """At each documented limit: a new background, a cut-out on white, one with alpha, and a light
    retouch (judged as an erasure, which runs the optical flow)."""
    rows = []
    for w, h in _SHAPES:
        o = bc.textured(w, h)
        yy, xx = np.mgrid[0:h, 0:w]
        blob = ((xx - w / 2) / (w / 4)) ** 2 + ((yy - h / 2) / (h / 4)) ** 2 < 1
        edits = {
            "bg": np.where(blob[..., None], o, bc.textured(w, h, seed=5) // 2 + 60),
            "white": np.where(blob[..., None], o, 255),
            "alpha": np.dstack([o, np.where(blob, 255, 0)]),
            "retouch": bc.textured(w, h, seed=1),
        }
        bc.save(d / f"o{w}x{h}.png", o)
        for name, e in edits.items():
            bc.save(d / f"e{w}x{h}_{name}.png", e.astype(np.uint8))
            rows.append(
                {"id": f"{w}x{h}_{name}", "original": f"o{w}x{h}.png", "edited": f"e{w}x{h}_{name}.png"}
            )
    return rows


@pytest.mark.timeout(900)
def test_the_engine_checks_images_at_the_documented_limits(tmp_path, u2netp):
    """The limits are where the engine still works (a 16x300 strip once segfaulted OpenCV's optical
    flow): every pair there gets a verdict, not an error."""
    s = run_check(_manifest(tmp_path, _shape_pairs(tmp_path)), tmp_path / "out", progress=False)
    recs = _records(tmp_path / "out")
    assert len(recs) == 4 * len(_SHAPES) and s.failed == 0
    assert all(r["verdict"] in ("accept", "review", "reject") for r in recs.values()), [
        (k, r["error"]) for k, r in recs.items() if r["error"]
    ]


@pytest.mark.timeout(900)
def test_exit_status_says_whether_any_pair_ended_in_error(corpus, tmp_path, u2netp):
    good = [{"id": "ok", "original": str(corpus / "o.png"), "edited": str(corpus / "e.png")}]
    r = CliRunner().invoke(
        app, ["check", _manifest(tmp_path, good), "--out", str(tmp_path / "a"), "--no-progress"]
    )
    assert r.exit_code == 0, r.output
    bad = [*good, {"id": "dot", "original": str(corpus / "t1x1.png"), "edited": str(corpus / "e.png")}]
    r = CliRunner().invoke(
        app, ["check", _manifest(tmp_path, bad), "--out", str(tmp_path / "b"), "--no-progress"]
    )
    assert r.exit_code == 1, r.output
    assert "OpenCV" not in (tmp_path / "b" / "results.jsonl").read_text()
    # resumed: nothing new runs, but the error is still in results.jsonl for this manifest
    r = CliRunner().invoke(
        app, ["check", _manifest(tmp_path, bad), "--out", str(tmp_path / "b"), "--no-progress"]
    )
    assert r.exit_code == 1 and "2 already done" in r.output
    r = CliRunner().invoke(app, ["check", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "c")])
    assert r.exit_code == 2 and "manifest not found" in r.output


def test_a_tall_strip_is_not_blown_up_for_text_detection(monkeypatch):
    """PP-OCR's default detector scales the short side to 736 px: a 16x1024 column would be
    detected at 736x47104 (minutes, several GB, seen in the check's full-size pass on the edit). It
    is detected without upscaling instead; a photo keeps the default."""
    from maskgate.vision import text

    asked: list[int | None] = []

    class NoText:
        boxes = None

    def engine(threads, max_side):
        asked.append(max_side)
        return (lambda *a, **k: NoText()), __import__("threading").Lock()

    monkeypatch.setattr(text, "_engine", engine)
    assert text.detect_text(np.zeros((1024, 16, 3), np.uint8)) == []
    assert text.detect_text(np.zeros((768, 1024, 3), np.uint8)) == []
    assert text.detect_text(np.zeros((1024, 768, 3), np.uint8)) == []
    assert asked == [text.MAX_UPSCALED_SIDE, None, None]


@pytest.mark.timeout(60)
def test_a_manifest_that_is_a_pipe_is_a_usage_error(tmp_path):
    pipe = bc.fifo(tmp_path / "m.jsonl")
    r = CliRunner().invoke(app, ["check", str(pipe), "--out", str(tmp_path / "out")])
    assert r.exit_code == 2 and "not a regular file" in r.output


_FLOW = """
import sys
import cv2
import numpy as np
from maskgate.check.criteria.consistency import _flow
rng = np.random.default_rng(0)
for h, w in ((16, 300), (8, 512), (12, 40), (24, 128), (8, 8)):
    a = cv2.GaussianBlur(rng.integers(0, 255, (h, w), np.uint8), (3, 3), 0)
    for _ in range(3):
        f = _flow(a, np.roll(a, 1, 1))
    assert f.shape == (h, w, 2), f.shape
print("ok")
"""


@pytest.mark.timeout(120)
def test_optical_flow_on_strips_does_not_crash_the_worker():
    """OpenCV's DIS flow reads out of bounds under 32 px on a side; in a subprocess, because
    without the padding this segfaults (seen on 16x300, 8x512 and 12x40)."""
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-c", _FLOW], capture_output=True, text=True, timeout=100, env=bc.child_env()
    )
    assert r.returncode == 0 and r.stdout.strip() == "ok", (r.returncode, r.stderr[-2000:])
