"""The four make commands as rembg's are used: `-` for stdin/stdout, `--out FILE.png` for one
input, `--json` for scripts, and a missing model refused once before the batch."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.cli.conftest import invoke, one_json, product_photo, save_png

# Each verb with the options that keep it quick on a small image.
VERBS = {
    "mask": ["--fast"],
    "text-mask": [],
    "isolate": ["--fast", "--bg", "#ffffff"],
    "erase": ["--fast"],
}


def _pixels(src) -> np.ndarray:
    with Image.open(src if not isinstance(src, bytes) else io.BytesIO(src)) as im:
        return np.asarray(im.convert("RGB"), np.int16)


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    """The same result up to a GrabCut/matting tie here and there: under 1% of pixels differ by more
    than a few levels."""
    return a.shape == b.shape and float((np.abs(a - b).max(axis=-1) > 8).mean()) < 0.01


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    save_png(folder / "sub" / "a.png", product_photo(text="SALE 50%"))
    return folder


@pytest.mark.parametrize("verb", list(VERBS))
def test_folder_file_and_stdio_give_the_same_image(verb, photo, tmp_path, u2netp):
    src = photo / "sub" / "a.png"
    opts = VERBS[verb]

    r = invoke(verb, photo, "--out", tmp_path / "folder", *opts, "--json")
    assert r.exit_code == 0, r.output
    summary = one_json(r)
    in_folder = tmp_path / "folder" / "sub" / "a.png"
    assert summary == {
        "command": verb,
        "out": str(tmp_path / "folder"),
        "written": [str(in_folder)],
        "failed": [],
        "notes": [],
        "already_done": 0,
        "ok": True,
    }
    assert "1 written" in r.stderr

    r = invoke(verb, src, "--out", tmp_path / "one.png", *opts)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "one.png").is_file() and r.stdout == ""
    with Image.open(tmp_path / "one.png") as im:
        assert im.format == "PNG" and im.size == (128, 96)

    r = invoke(verb, "-", "--out", "-", *opts, input=src.read_bytes())
    assert r.exit_code == 0, r.output
    assert r.stdout_bytes[:8] == b"\x89PNG\r\n\x1a\n"  # the image alone: messages went to stderr
    assert "written to standard output" in r.stderr

    folder_px = _pixels(in_folder)
    assert _close(folder_px, _pixels(tmp_path / "one.png"))
    assert _close(folder_px, _pixels(r.stdout_bytes))


def test_a_real_pipe_in_and_out(photo, tmp_path, u2netp):
    src = photo / "sub" / "a.png"
    p = subprocess.run(
        [sys.executable, "-m", "maskgate", "mask", "-", "-o", "-", "--fast"],
        input=src.read_bytes(),
        capture_output=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr.decode()
    mask = _pixels(p.stdout)[..., 0]
    assert mask.shape == (96, 128) and set(np.unique(mask)) <= {0, 255}
    assert mask[48, 64] == 255 and mask[3, 3] == 0  # the drawn product, not the backdrop
    stored = tmp_path / "stored.png"
    r = invoke("mask", src, "--out", stored, "--fast")
    assert r.exit_code == 0 and _close(_pixels(stored), _pixels(p.stdout))


def test_stdin_single_file_out_and_jpeg(photo, tmp_path, u2netp):
    src = photo / "sub" / "a.png"
    r = invoke("erase", "-", "--out", tmp_path / "clean.jpg", "--fast", "--json", input=src.read_bytes())
    assert r.exit_code == 0, r.output
    assert one_json(r)["written"] == [str(tmp_path / "clean.jpg")]
    with Image.open(tmp_path / "clean.jpg") as im:
        assert im.format == "JPEG" and im.size == (128, 96)


def test_an_existing_folder_named_like_an_image_stays_a_folder(photo, tmp_path, u2netp):
    (tmp_path / "masks.png").mkdir()
    r = invoke("mask", photo / "sub" / "a.png", "--out", tmp_path / "masks.png", "--fast")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "masks.png" / "a.png").is_file()


@pytest.mark.parametrize(
    "args, why",
    [
        (["mask", "{photo}", "--out", "{tmp}/one.png"], "is a folder"),
        (["mask", "{photo}", "--out", "-"], "is a folder"),
        (["mask", "-", "--out", "{tmp}/folder"], "without a name"),
        (["mask", "{src}", "--out", "-", "--json"], "both write to standard output"),
        (["mask", "{src}", "--out", "{tmp}/m.svg"], "cannot write .svg"),
        (["isolate", "{src}", "--out", "{tmp}/cut.jpg", "--bg", "transparent"], "JPEG cannot store"),
        (["erase", "{src}", "--out", "{src}"], "would overwrite 1 input image"),
        (["mask", "{photo}", "--out", "{photo}"], "would overwrite 1 input image"),
    ],
)
def test_contradictory_input_and_output_are_refused_before_anything_runs(args, why, photo, tmp_path, u2netp):
    fill = {"photo": str(photo), "tmp": str(tmp_path), "src": str(photo / "sub" / "a.png")}
    r = invoke(*[a.format(**fill) for a in args], input=b"")
    assert r.exit_code == 2, r.output
    assert why in " ".join(r.stderr.split()) and r.stdout == ""
    assert list(tmp_path.iterdir()) == []  # nothing written, no folder made
    assert sorted(p.name for p in photo.rglob("*")) == ["a.png", "sub"]
    assert (_pixels(photo / "sub" / "a.png") == product_photo(text="SALE 50%")).all()  # the input untouched


def test_bad_bytes_on_stdin(tmp_path, u2netp):
    r = invoke("mask", "-", "--out", "-", input=b"")
    assert r.exit_code == 2 and "no image on standard input" in r.stderr and r.stdout_bytes == b""
    r = invoke("mask", "-", "--out", "-", "--fast", input=b"\x89PNG\r\n\x1a\n truncated")
    assert r.exit_code == 1, r.output
    assert "failed -: cannot decode image" in " ".join(r.stderr.split())
    assert r.stdout_bytes == b""  # a failed item never leaves part of a PNG in the pipe
    r = invoke("mask", "-", "--out", tmp_path / "m.png", "--fast", "--json", input=b"GIF89a nope")
    assert r.exit_code == 1 and not (tmp_path / "m.png").exists()
    (failed,) = one_json(r)["failed"]
    assert failed["path"] == "-" and "cannot decode image" in failed["reason"]


def test_a_missing_model_fails_once_before_the_batch(photo, tmp_path, u2netp):
    many = tmp_path / "in"
    for i in range(3):
        save_png(many / f"p{i}.png", product_photo())
    empty = {"MASKGATE_MODEL_DIR": str(tmp_path / "none"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    r = invoke("mask", many, "--out", tmp_path / "out", "--json", env=empty)
    assert r.exit_code == 2, r.output
    err = " ".join(r.stderr.split())
    assert (
        err.count("not found") == 1 and "maskgate models pull u2netp" in err and "MASKGATE_MODEL_DIR" in err
    )
    assert r.stdout == "" and not (tmp_path / "out").exists()

    # the text detector ships in its wheel: text-mask without --combined needs no segmenter
    r = invoke("text-mask", many, "--out", tmp_path / "tm", env=empty)
    assert r.exit_code == 0, r.output
    assert len(list((tmp_path / "tm").glob("*.png"))) == 3

    # the segmenter present, the inpainter not: the inpainter is named
    only_u2netp = tmp_path / "models"
    only_u2netp.mkdir()
    shutil.copy(u2netp, only_u2netp / u2netp.name)
    env = {**empty, "MASKGATE_MODEL_DIR": str(only_u2netp)}
    r = invoke("erase", many, "--out", tmp_path / "e", "--inpainter", "lama", env=env)
    assert r.exit_code == 2, r.output
    err = " ".join(r.stderr.split())
    assert err.count("not found") == 1 and "maskgate models pull lama" in err
    assert not (tmp_path / "e").exists()
