"""The four make commands on the bad-input corpus: each file is written or listed with its reason,
the batch completes, the exit status follows the convention (docs/cli.md#exit-status), and the
bombs are refused in bounded memory."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from maskgate.cli import app
from tests import bad_input_corpus as bc

COMMANDS = ("mask", "text-mask", "isolate", "erase")
PEAK_LIMIT_MB = 1536


def _flat(s: str) -> str:
    """Output without whitespace: rich wraps long paths at the terminal width, anywhere."""
    return "".join(s.split())


def _args(cmd: str, inp, out) -> list[str]:
    return [cmd, str(inp), "--out", str(out), *(() if cmd == "text-mask" else ("--fast",))]


@pytest.fixture(scope="module")
def bomb_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("bombs")
    bc.bombs(d)
    return d


@pytest.mark.timeout(300)
@pytest.mark.parametrize("cmd", COMMANDS)
def test_bombs_are_refused_in_bounded_memory(cmd, bomb_dir, tmp_path):
    r, peak = bc.run_measured(bc.maskgate_cmd(*_args(cmd, bomb_dir, tmp_path / "out")))
    out = _flat(r.stderr)
    assert r.returncode == 1, r.stderr[-3000:]
    assert _flat(f"{cmd}: 0 written to {tmp_path / 'out'}, 4 failed") in out
    for p in sorted(bomb_dir.iterdir()):
        assert _flat(f"failed {p}: image too large: {p.name} is ") in out, r.stderr[-3000:]
    assert out.count("refusedbeforedecoding") == 4
    assert peak < PEAK_LIMIT_MB, f"{cmd}: peak RSS {peak:.0f} MB on the bombs"


GOOD = {  # name -> the (width, height) its output has
    "photo.png": (200, 150),
    "square16.png": (16, 16),
    "tall.png": (16, 1024),
    "wide.png": (1024, 16),
    "anim.gif": (64, 64),
    "anim2.webp": (64, 64),
    "apng.png": (64, 64),
    "twin.png": (64, 48),
    "cmyk.jpg": (96, 64),
    "deep16.png": (64, 48),
}
ANIMATED = ("anim.gif", "anim2.webp", "apng.png")
BAD = {  # name -> the reason it is listed with
    "pipe.png": "is a named pipe (FIFO); only regular files are read",
    "zero.png": "empty file (0 bytes)",
    "cut.png": "cannot decode image cut.png: image file is truncated",
    "cutj.jpg": "cannot decode image cutj.jpg: image file is truncated",
    "dot.png": "image too small to process: 1x1 (at least 16 px on each side)",
    "px4.png": "image too small to process: 2x2 (at least 16 px on each side)",
    "strip.png": "image too small to process: 5x4000 (at least 16 px on each side)",
    "band.png": "image too small to process: 4000x5 (at least 16 px on each side)",
    "thread.png": "image too elongated to process: 16x1040 (the long side may be at most 64 times",
    "logo.svg": "unsupported image format .svg (maskgate reads",
    "twin.webp": "is also the result of",  # twin.png came first: its result is not overwritten
    **{
        f"bomb_{kind}.{ext}": f"image too large: bomb_{kind}.{ext} is "
        for kind, ext in (
            ("png_empty", "png"),
            ("png_full", "png"),
            ("jpeg_empty", "jpg"),
            ("jpeg_full", "jpg"),
        )
    },
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    bc.save(d / "photo.png", bc.textured(200, 150))
    for name, (w, h) in (("square16.png", (16, 16)), ("tall.png", (16, 1024)), ("wide.png", (1024, 16))):
        bc.save(d / name, bc.textured(w, h, seed=2))
    bc.animated(d / "anim.gif")
    bc.animated(d / "anim2.webp")
    bc.animated(d / "apng.png")
    bc.save(d / "twin.png", bc.textured(64, 48))
    bc.save(d / "twin.webp", bc.textured(64, 48, seed=4))
    bc.cmyk_jpeg(d / "cmyk.jpg", bc.textured(96, 64))
    bc.png16(d / "deep16.png", np.linspace(0, 65535, 64 * 48).reshape(48, 64))
    bc.fifo(d / "pipe.png")
    (d / "zero.png").write_bytes(b"")
    bc.truncated(d / "cut.png")
    bc.truncated(d / "cutj.jpg")  # not cut.jpg: its result would be cut.png's (see twin)
    for name, (w, h) in (("dot.png", (1, 1)), ("px4.png", (2, 2)), ("strip.png", (5, 4000))):
        bc.save(d / name, bc.textured(w, h))
    bc.save(d / "band.png", bc.textured(4000, 5))
    bc.save(d / "thread.png", bc.textured(16, 1040))
    (d / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (d / "notes.txt").write_text("not named as an image: not listed")
    bc.bombs(d)
    return d


@pytest.mark.timeout(900)
@pytest.mark.parametrize("cmd", COMMANDS)
def test_every_file_is_written_or_listed_with_its_reason(cmd, corpus, tmp_path, u2netp):
    """The whole corpus, bombs included, in one run of the command in a fresh process whose peak
    RSS is measured: models, good files and refusals together stay under the limit."""
    r, peak = bc.run_measured(bc.maskgate_cmd(*_args(cmd, corpus, tmp_path / "out")), timeout=800)
    out = _flat(r.stderr)
    assert r.returncode == 1, r.stderr[-3000:]
    assert _flat(f"{len(GOOD)} written to {tmp_path / 'out'}, {len(BAD)} failed") in out, r.stderr[-3000:]
    failed = {ln.split(": ", 1)[0]: ln for ln in r.stderr.splitlines() if ln.startswith("failed ")}
    for name, why in BAD.items():  # each listed on its own line, naming the file, with its reason
        line = failed.get(f"failed {corpus / name}")
        assert line is not None and why in line, (name, why, line)
    for name, size in GOOD.items():
        with Image.open(tmp_path / "out" / (name.rsplit(".", 1)[0] + ".png")) as im:
            assert im.size == size, name
    assert "OpenCV" not in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out" / "notes.png").exists()
    for name in ANIMATED:  # the first frame made the result, and the user is told so
        assert _flat(f"note {corpus / name}: {name} is animated: only its first frame is used") in out
    if cmd == "erase":  # nothing to erase on a flat frame: the first frame (red 40) comes back
        with Image.open(tmp_path / "out" / "apng.png") as im:
            assert np.abs(np.asarray(im.convert("RGB"), np.int16) - (40, 0, 0)).max() <= 2
    assert peak < PEAK_LIMIT_MB, f"{cmd}: peak RSS {peak:.0f} MB on the corpus"


@pytest.mark.timeout(60)
def test_a_pipe_given_as_the_input_is_a_failed_item_not_a_hang(tmp_path):
    pipe = bc.fifo(tmp_path / "in.png")
    r = CliRunner().invoke(app, ["mask", str(pipe), "--out", str(tmp_path / "out")])
    assert r.exit_code == 1, r.output
    assert _flat("is a named pipe (FIFO)") in _flat(r.output)


def test_nothing_to_do_is_a_usage_error(tmp_path):
    (tmp_path / "empty").mkdir()
    r = CliRunner().invoke(app, ["mask", str(tmp_path / "empty"), "--out", str(tmp_path / "out")])
    assert r.exit_code == 2 and "no images found" in r.output
    r = CliRunner().invoke(app, ["mask", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")])
    assert r.exit_code == 2 and "no such file or folder" in r.output


def test_ctrl_c_is_exit_130_like_check(tmp_path, monkeypatch):
    from maskgate.io import images

    bc.save(tmp_path / "in" / "a.png", bc.textured(64, 48))

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(images, "load_image", interrupted)
    r = CliRunner().invoke(app, ["mask", str(tmp_path / "in"), "--out", str(tmp_path / "out")])
    assert r.exit_code == 130 and "interrupted" in r.output
