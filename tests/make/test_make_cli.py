"""The four commands on odd inputs: RGBA, grayscale, EXIF-rotated, WebP, very large, corrupt."""

import numpy as np
import pytest
from make_synth import iou, product_scene, put_text
from PIL import Image
from typer.testing import CliRunner

from maskgate.cli import app

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _read(p):
    return np.asarray(Image.open(p))


@pytest.fixture(scope="module")
def scene():
    return product_scene("bottle", seed=11)


def test_mask_folder_with_corrupt_file_reports_it_and_does_the_rest(u2netp, tmp_path, scene):
    img, gt = scene
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    Image.fromarray(img).save(src / "a.jpg", quality=92)
    Image.fromarray(img).save(src / "sub" / "b.webp", quality=90)
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    r = _run("mask", src, "--out", tmp_path / "out", "--fast")
    assert r.exit_code == 1, r.output
    flat = r.output.replace("\n", "")  # rich wraps long paths at the terminal width
    assert "broken.png" in flat and "1 failed" in flat
    for p in (tmp_path / "out" / "a.png", tmp_path / "out" / "sub" / "b.png"):
        m = _read(p)
        assert m.dtype == np.uint8 and m.shape == gt.shape
        assert iou(m > 127, gt) > 0.9


# the first soft mask in a fresh environment JIT-compiles pymatting (numba), minutes on a loaded box
@pytest.mark.timeout(900)
def test_mask_soft_rgba_and_gray(u2netp, tmp_path, scene):
    img, gt = scene
    rgba = np.dstack(
        [
            img,
            np.where(np.arange(img.shape[1])[None, :] < 40, 0, 255).repeat(img.shape[0], 0).astype(np.uint8),
        ]
    )
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(img).convert("L").save(tmp_path / "gray.png")
    r = _run("mask", tmp_path / "rgba.png", "--out", tmp_path / "o", "--soft", "--fast")
    assert r.exit_code == 0, r.output
    soft = _read(tmp_path / "o" / "rgba.png")
    assert soft.shape == gt.shape and (soft[:, :40] == 0).all()
    assert ((soft > 0) & (soft < 255)).any()  # a matte, not a binary mask
    r = _run("mask", tmp_path / "gray.png", "--out", tmp_path / "o", "--fast")
    assert r.exit_code == 0, r.output
    assert iou(_read(tmp_path / "o" / "gray.png") > 127, gt) > 0.85


def test_exif_rotated_input_gives_upright_mask(u2netp, tmp_path, scene):
    img, gt = scene
    # Store the image rotated on its side with an EXIF orientation (6: rotate 90 CW to display).
    stored = Image.fromarray(np.rot90(img, 1).copy())
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(tmp_path / "rot.jpg", exif=exif.tobytes(), quality=95)
    r = _run("mask", tmp_path / "rot.jpg", "--out", tmp_path / "o", "--fast")
    assert r.exit_code == 0, r.output
    m = _read(tmp_path / "o" / "rot.png")
    assert m.shape == gt.shape  # upright, as displayed
    assert iou(m > 127, gt) > 0.85


def test_very_large_jpeg_mask_and_isolate(u2netp, tmp_path):
    img, gt = product_scene("ellipse", h=300, w=400, seed=12)
    big = Image.fromarray(img).resize((12000, 9000), Image.BILINEAR)
    big.save(tmp_path / "big.jpg", quality=80)
    del big
    r = _run("mask", tmp_path / "big.jpg", "--out", tmp_path / "o", "--fast")
    assert r.exit_code == 0, r.output
    with Image.open(tmp_path / "o" / "big.png") as m:
        assert m.size == (12000, 9000) and m.mode == "L"
        small = np.asarray(m.resize((400, 300), Image.NEAREST))
    assert iou(small > 127, gt) > 0.9


def test_isolate_backgrounds(u2netp, tmp_path, scene):
    img, gt = scene
    Image.fromarray(img).save(tmp_path / "p.png")
    r = _run("isolate", tmp_path / "p.png", "--out", tmp_path / "t", "--bg", "transparent", "--fast")
    assert r.exit_code == 0, r.output
    t = _read(tmp_path / "t" / "p.png")
    assert t.shape == (*gt.shape, 4)
    assert iou(t[..., 3] > 127, gt) > 0.9
    r = _run("isolate", tmp_path / "p.png", "--out", tmp_path / "c", "--bg", "#00ff00", "--fast")
    assert r.exit_code == 0, r.output
    c = _read(tmp_path / "c" / "p.png")
    far = ~np.pad(gt, 10)[:-20, :-20] & ~gt  # background, away from the edge
    assert (c[far] == [0, 255, 0]).all(axis=-1).mean() > 0.95
    bg = np.zeros_like(img)
    bg[..., 2] = 200
    Image.fromarray(bg).save(tmp_path / "bg.png")
    r = _run("isolate", tmp_path / "p.png", "--out", tmp_path / "i", "--bg", tmp_path / "bg.png", "--fast")
    assert r.exit_code == 0, r.output
    assert _read(tmp_path / "i" / "p.png")[5, 5, 2] == 200
    assert _run("isolate", tmp_path / "p.png", "--out", tmp_path / "x", "--bg", "nonsense").exit_code == 2


def test_text_mask_and_erase_commands(u2netp, tmp_path, scene):
    img, gt = scene
    img = put_text(img, "NEW 2X", (20, 60), 1.6, (255, 255, 255), 3)
    Image.fromarray(img).save(tmp_path / "c.png")
    r = _run("text-mask", tmp_path / "c.png", "--out", tmp_path / "tm", "--combined", "--fast")
    assert r.exit_code == 0, r.output
    tm = _read(tmp_path / "tm" / "c.png")
    assert tm.shape == gt.shape and tm[35:60, 25:150].mean() > 150
    r = _run("erase", tmp_path / "c.png", "--out", tmp_path / "e", "--what", "text", "--fast")
    assert r.exit_code == 0, r.output
    assert _read(tmp_path / "e" / "c.png").shape == img.shape
    assert _run("erase", tmp_path / "c.png", "--out", tmp_path / "e", "--inpainter", "nope").exit_code == 2
