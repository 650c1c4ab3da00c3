"""The written set: user folders of products and backgrounds are what it is made of, the CLI writes
the new label fields, and the demo's default set is still quick and the same shape."""

from __future__ import annotations

import json
import time

import cv2
import numpy as np
from typer.testing import CliRunner

from maskgate.cli import app
from maskgate.core.types import CRITERIA
from maskgate.io.images import load_image, save_image
from maskgate.synth.build import build_set
from maskgate.synth.families import BY_NAME
from maskgate.synth.layers import resize_cover


def read(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def stripes(h: int, w: int, colour, period: int) -> np.ndarray:
    """A photo-like image no drawn background resembles: bold diagonal stripes."""
    yy, xx = np.mgrid[0:h, 0:w]
    on = ((xx + yy) // period) % 2 == 0
    img = np.empty((h, w, 3), np.uint8)
    img[on], img[~on] = colour, (255 - np.array(colour)) // 2
    return img


def user_folders(tmp_path):
    products, backs = tmp_path / "products", tmp_path / "backs"
    (products / "masks").mkdir(parents=True)
    backs.mkdir()
    photo = stripes(300, 400, (30, 140, 60), 23)
    mask = np.zeros((300, 400), np.uint8)
    cv2.ellipse(mask, (200, 160), (70, 90), 0, 0, 360, 255, -1)
    photo[mask > 0] = (200, 40, 40)
    cv2.putText(photo, "KETTLE", (150, 170), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (250, 250, 250), 2)
    save_image(products / "kettle.jpg", photo)
    save_image(products / "masks" / "kettle.png", mask)
    cut = np.zeros((120, 90, 3), np.uint8)
    cut[:] = (40, 60, 200)
    cv2.rectangle(cut, (20, 30), (70, 90), (240, 220, 40), -1)
    alpha = np.zeros((120, 90), np.uint8)
    cv2.rectangle(alpha, (5, 5), (85, 115), 255, -1)
    save_image(products / "lamp.png", cut, alpha)
    save_image(backs / "beach.jpg", stripes(500, 700, (240, 200, 60), 31))
    save_image(backs / "forest.png", stripes(400, 400, (20, 90, 200), 17))
    return products, backs


def test_user_products_and_backgrounds_are_used(tmp_path):
    products, backs = user_folders(tmp_path)
    out = tmp_path / "set"
    lines = read(build_set(out, products=products, backgrounds=backs, per_product=16, size=256, seed=1))
    assert {x["group"] for x in lines} == {"folder:kettle", "folder:lamp"}
    assert all(x["source"]["product"] == x["group"] and x["source"]["generator"] == "synth" for x in lines)
    # the photo with a mask is its own original (its stripes are there), the cut-out got a scene
    kettle = load_image(out / "originals" / "kettle.jpg").rgb
    assert kettle.shape[:2] == (192, 256)
    ref = cv2.resize(stripes(300, 400, (30, 140, 60), 23), (256, 192), interpolation=cv2.INTER_AREA)
    assert np.abs(kettle[150:, :40].astype(int) - ref[150:, :40]).mean() < 20
    lamp = [x for x in lines if x["group"] == "folder:lamp"]
    assert lamp and lamp[0]["source"]["original_background"] != "own:folder:lamp"
    # inpainted edits on a folder photo show that photo
    on_photo = [x for x in lines if x["source"]["background"].startswith("photo:")]
    assert on_photo, "no edit used a background photo"
    for x in on_photo:
        name = x["source"]["background"].split(":", 1)[1]
        photo = load_image(next(backs.glob(name + ".*"))).rgb
        edit = load_image(out / x["edited"]).rgb
        want = resize_cover(photo, (edit.shape[1], edit.shape[0]))
        corner = (slice(0, edit.shape[0] // 6), slice(0, edit.shape[1] // 6))
        assert np.abs(edit[corner].astype(int) - want[corner]).mean() < 25, x["id"]


def test_cli_writes_labels_with_the_new_fields(tmp_path):
    r = CliRunner().invoke(
        app,
        ["synth", "--out", str(tmp_path), "--n-products", "2", "--per-product", "6", "--size", "256-288",
         "--families", "cutoff,quality_blur,bg_bad_ghosts", "--kinds", "inpainted", "--seed", "3"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    lines = read(tmp_path / "labels.jsonl")
    manifest = read(tmp_path / "manifest.jsonl")
    assert len(lines) == 12 and [m["id"] for m in manifest] == [x["id"] for x in lines]
    for x in lines:
        assert {"id", "original", "edited", "kind", "defect", "labels", "acceptable"} <= x.keys()
        assert {"family", "severity", "group", "source", "benign"} <= x.keys()
        assert x["kind"] == "inpainted" and x["family"] in ("ok", "cutoff", "quality_blur", "bg_bad_ghosts")
        assert set(x["labels"]) == set(CRITERIA) and x["labels"]["background"] in (True, False)
        assert x["group"].startswith("drawn:") and set(x["source"]) >= {"product", "background", "generator"}
        assert (tmp_path / x["original"]).is_file() and (tmp_path / x["edited"]).is_file()
        if x["family"] != "ok":
            f = BY_NAME[x["family"]]
            assert x["labels"][f.fails] is (x["severity"] < f.threshold)
            assert abs(x["severity"] - f.threshold) >= f.dead_zone / 2
            assert x["acceptable"] is x["labels"][f.fails]
    sizes = {load_image(tmp_path / x["original"]).size for x in lines}
    assert all(256 <= s[0] <= 288 for s in sizes)
    bad = CliRunner().invoke(app, ["synth", "--out", str(tmp_path / "x"), "--families", "cutof"])
    assert bad.exit_code != 0 and "unknown defect families: cutof" in bad.output


def test_build_set_defaults_are_the_demo_set_and_quick(tmp_path):
    t0 = time.perf_counter()
    labels_path = build_set(tmp_path)
    seconds = time.perf_counter() - t0
    lines = read(labels_path)
    manifest = read(tmp_path / "manifest.jsonl")
    assert len(lines) == 48 and [m["id"] for m in manifest] == [x["id"] for x in lines]
    assert seconds < 30, seconds  # about 5 s on the 2-core VM
    ids = {x["id"] for x in lines}
    assert {
        "product00__iso_tiny",
        "product00__iso_residue_text",
        "product00__iso_ok",
        "product03__bg_ok",
    } <= ids
    for x in lines:
        assert (tmp_path / x["original"]).is_file() and (tmp_path / x["edited"]).is_file()
        fails = [c for c in CRITERIA if x["labels"][c] is False]
        assert len(fails) == (0 if x["family"] == "ok" else 1)
        assert x["acceptable"] == (not fails)
        assert (x["labels"]["background"] is None) == (x["kind"] == "isolated")
        assert (
            x["benign"]["scale"] == 1.0 and x["benign"]["encoding"] == "jpeg:95"
        )  # the demo has no variation
    assert len({x["group"] for x in lines}) == 4


def test_a_seed_gives_the_same_set(tmp_path):
    a = read(build_set(tmp_path / "a", n_products=1, per_product=6, size=192, seed=5))
    b = read(build_set(tmp_path / "b", n_products=1, per_product=6, size=192, seed=5))
    c = read(build_set(tmp_path / "c", n_products=1, per_product=6, size=192, seed=6))
    assert a == b and a != c
    for x in a:
        assert (tmp_path / "a" / x["edited"]).read_bytes() == (tmp_path / "b" / x["edited"]).read_bytes()
