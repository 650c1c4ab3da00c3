"""``load_image`` on hostile and odd files: every one gets a correct image or an ImageReadError that
names the file and the reason, without blocking and without decoding what it refuses."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest
from PIL import Image

from maskgate.io import images
from maskgate.io.images import ImageReadError, image_size, load_image, shape_problem
from tests import bad_input_corpus as bc

PEAK_LIMIT_MB = 1536


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    return bc.bombs(tmp_path_factory.mktemp("bombs"))


def test_the_corpus_bombs_are_what_they_claim(bombs):
    """The test is only as good as its bombs: their headers claim the huge sizes, and the full JPEG's
    hand-made scan decodes (checked on a small one, so this test never decodes a bomb)."""
    for kind, side in (
        ("png_empty", 40000),
        ("png_full", 40000),
        ("jpeg_empty", 60000),
        ("jpeg_full", 40000),
    ):
        with Image.open(bombs[kind]) as im:
            assert im.size == (side, side)
    assert bombs["png_full"].stat().st_size > 4_000_000  # the payload is really there (4.8 GB inflated)
    small = bc.flat_grey_jpeg(64)
    with Image.open(__import__("io").BytesIO(small)) as im:
        im.load()
        assert (np.asarray(im) == 128).all()
    small_png = bc.png_bomb_full(bombs["png_full"].parent / "small.png", side=300)
    with Image.open(small_png) as im:
        im.load()
        assert im.size == (300, 300) and not np.asarray(im).any()


_LOAD_BOMBS = """
import json, sys
from maskgate.io.images import ImageReadError, image_size, load_image
out = {}
for path in sys.argv[1:]:
    for max_side in (None, 1024):
        try:
            load_image(path, max_side=max_side)
            out[f"{path}:{max_side}"] = "decoded"
        except ImageReadError as e:
            out[f"{path}:{max_side}"] = str(e)
    try:
        image_size(path)
        out[f"{path}:header"] = "read"
    except ImageReadError as e:
        out[f"{path}:header"] = str(e)
print(json.dumps(out))
"""


@pytest.mark.timeout(120)
def test_bombs_are_refused_from_the_header_in_bounded_memory(bombs):
    r, peak = bc.run_measured([sys.executable, "-c", _LOAD_BOMBS, *map(str, bombs.values())])
    assert r.returncode == 0, r.stderr[-2000:]
    reasons = json.loads(r.stdout)
    assert len(reasons) == 12
    for key, why in reasons.items():
        name = os.path.basename(key.rsplit(":", 1)[0])
        assert why.startswith(f"image too large: {name} is "), (key, why)
        assert "refused before decoding" in why, (key, why)
    assert peak < PEAK_LIMIT_MB, f"peak RSS {peak:.0f} MB loading the bombs"


def test_pil_own_bomb_guard_is_turned_into_a_clear_error(tmp_path, monkeypatch):
    p = bc.save(tmp_path / "plain.png", bc.textured(64, 64))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # as if some code turned PIL's guard back on
    with pytest.raises(ImageReadError, match="image too large: plain.png"):
        load_image(p)


@pytest.mark.timeout(20)
def test_a_fifo_is_refused_before_it_is_opened(tmp_path):
    pipe = bc.fifo(tmp_path / "pipe.png")
    for call in (load_image, image_size):
        with pytest.raises(ImageReadError, match=r"not a regular file: .*pipe\.png is a named pipe \(FIFO\)"):
            call(pipe)


@pytest.mark.timeout(20)
def test_a_pipe_swapped_in_after_the_stat_cannot_block_either(tmp_path, monkeypatch):
    """The open itself is non-blocking and checked on the descriptor: skip the stat and the pipe is
    still refused at once (a blocking open would wait for a writer until the timeout)."""
    pipe = bc.fifo(tmp_path / "late.jpg")
    monkeypatch.setattr(images, "require_regular_file", lambda p: None)
    with pytest.raises(ImageReadError, match="named pipe"):
        load_image(pipe)


@pytest.mark.timeout(20)
def test_devices_folders_missing_and_empty_files(tmp_path):
    (tmp_path / "zero.png").write_bytes(b"")
    (tmp_path / "dir.png").mkdir()
    os.symlink(tmp_path / "gone.png", tmp_path / "dangling.png")
    cases = {
        tmp_path / "zero.png": r"empty file \(0 bytes\): .*zero\.png",
        tmp_path / "dir.png": r"is a folder, not an image: .*dir\.png",
        tmp_path / "nope.png": r"file not found: .*nope\.png",
        tmp_path / "dangling.png": r"file not found: .*dangling\.png",
    }
    if os.path.exists("/dev/zero"):
        cases[images.Path("/dev/zero")] = r"not a regular file: /dev/zero is a character device"
    for path, why in cases.items():
        with pytest.raises(ImageReadError, match=why):
            load_image(path)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_files_say_so(tmp_path, suffix):
    p = bc.truncated(tmp_path / f"cut{suffix}")
    with pytest.raises(ImageReadError, match=rf"cannot decode image cut\{suffix}: image file is truncated"):
        load_image(p)


def test_other_formats_and_disguised_files(tmp_path):
    (tmp_path / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    with pytest.raises(
        ImageReadError, match=r"logo\.svg: unsupported image format \.svg \(maskgate reads .*\.png"
    ):
        load_image(tmp_path / "logo.svg")
    # an EPS named .jpg: PIL would hand it to Ghostscript; only the formats we read are tried
    (tmp_path / "photo.jpg").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    with pytest.raises(ImageReadError, match=r"cannot decode image photo\.jpg: not a format maskgate reads"):
        load_image(tmp_path / "photo.jpg")
    (tmp_path / "text.png").write_text("hello")
    with pytest.raises(ImageReadError, match=r"cannot decode image text\.png"):
        load_image(tmp_path / "text.png")


@pytest.mark.parametrize("ext", [".gif", ".webp"])
def test_animations_give_their_first_frame_and_say_so(tmp_path, ext):
    im = load_image(bc.animated(tmp_path / f"anim{ext}"))
    assert im.rgb.shape == (64, 64, 3) and (im.rgb == (40, 0, 0)).all()
    assert im.notes == (f"anim{ext} is animated: only its first frame is used",)
    still = bc.save(tmp_path / f"still{ext}", bc.textured(32, 32))
    assert load_image(still).notes == ()


def test_cmyk_jpeg_comes_back_as_its_rgb(tmp_path):
    rgb = bc.textured(96, 64)
    im = load_image(bc.cmyk_jpeg(tmp_path / "cmyk.jpg", rgb))
    assert im.rgb.shape == rgb.shape and im.rgb.dtype == np.uint8
    assert np.abs(im.rgb.astype(int) - rgb).mean() < 6  # JPEG loss only


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    grey = np.linspace(0, 65535, 64 * 48).reshape(48, 64).round()
    im = load_image(bc.png16(tmp_path / "deep.png", grey))
    expect = np.clip(grey / 65535 * 255 + 0.5, 0, 255).astype(np.uint8)
    assert (im.rgb[..., 0] == expect).all() and (im.rgb[..., 1] == expect).all()
    assert im.rgb.max() == 255 and im.rgb.min() == 0


def test_tiny_images_decode_the_layers_refuse_them():
    """Decoding a 1x1 is fine (a mask may be tiny); what make and check refuse is stated once."""
    assert shape_problem((1, 1), "check") == "image too small to check: 1x1 (at least 16 px on each side)"
    assert shape_problem((5, 4000), "process") == (
        "image too small to process: 5x4000 (at least 16 px on each side)"
    )
    assert shape_problem((4000, 16), "check") == (
        "image too elongated to check: 4000x16 (the long side may be at most 64 times the short side)"
    )
    assert shape_problem((16, 16), "check") is None and shape_problem((16, 1024), "check") is None


def test_tiny_files_load(tmp_path):
    for w, h in ((1, 1), (2, 2), (5, 4000), (4000, 5)):
        im = load_image(bc.save(tmp_path / f"t{w}x{h}.png", bc.textured(w, h)), max_side=1024)
        assert im.source_size == (w, h) and min(im.rgb.shape[:2]) >= 1
