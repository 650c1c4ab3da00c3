"""Benign variation is labelled acceptable with every applicable criterion true, and really is a
different file from the plain clean edit: re-encoded, smaller, reframed, on another backdrop."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from maskgate.core.types import CRITERIA
from maskgate.io.images import load_image
from maskgate.synth import benign as bn
from maskgate.synth import defects
from maskgate.synth.build import build_set
from maskgate.synth.layers import bbox, centre, long_side
from maskgate.synth.sources import Backgrounds, drawn_products, make_original

SIZE = 320


@pytest.fixture(scope="module")
def original():
    bgs = Backgrounds()
    src = drawn_products(1, lambda i: SIZE, mugs_only=False)[0][1]()
    return make_original(src, *bgs.make("calm", 5, (SIZE, SIZE)), np.random.default_rng(0))


def clean(original, kind, **change) -> tuple[bn.Stage, defects.Made]:
    base = bn.plain(kind, "scene:9")
    variation = bn.Benign(**{**base.__dict__, **change})
    st = bn.stage(original, kind, variation, Backgrounds())
    return st, defects.ok(st, 0.0, np.random.default_rng(0))


def written(made, tmp_path, encoding: str, name: str):
    path = bn.write(made.edit, tmp_path / name, encoding)
    return path, Image.open(path).format, load_image(path)


def test_reencodings_change_the_file_not_the_label(original, tmp_path):
    _, made = clean(original, "inpainted")
    ref_path, ref_fmt, ref = written(made, tmp_path, "png", "plain")
    assert ref_fmt == "PNG" and np.array_equal(ref.rgb, made.edit.rgb)
    for enc, fmt in (("jpeg:72", "JPEG"), ("webp:80", "WEBP"), ("webp:lossless", "WEBP")):
        _, got_fmt, got = written(made, tmp_path, enc, enc.replace(":", "_"))
        assert got_fmt == fmt
        diff = np.abs(got.rgb.astype(int) - ref.rgb).mean()
        assert (diff > 0.3) == (enc != "webp:lossless"), (enc, diff)  # lossy codecs really re-encode


def test_lower_delivery_resolution_is_a_smaller_file(original):
    st_full, full = clean(original, "isolated")
    st_small, small = clean(original, "isolated", scale=0.45)
    assert small.edit.rgb.shape[0] == round(SIZE * 0.45) and full.edit.rgb.shape[0] == SIZE
    ratio = long_side(st_small.product.mask) / long_side(st_full.product.mask)
    assert abs(ratio - 0.45) < 0.03


def test_reframing_moves_and_scales_the_product_but_keeps_it_whole(original):
    st0, _ = clean(original, "isolated")
    st1, made = clean(original, "isolated", shift=(0.04, -0.03), zoom=1.05)
    (x0, y0), (x1, y1) = centre(st0.product.mask), centre(st1.product.mask)
    assert abs((x1 - x0) - 0.04 * SIZE) < 2 and abs((y1 - y0) + 0.03 * SIZE) < 2
    assert abs(long_side(st1.product.mask) / long_side(st0.product.mask) - 1.05) < 0.02
    assert abs(st1.product.alpha.sum() / st0.product.alpha.sum() - 1.05**2) < 0.03  # nothing cut
    far = bn.stage(original, "isolated", bn.Benign("white", 1.0, (0.9, 0.9), 1.0, "png"), Backgrounds())
    box = bbox(far.product.mask)
    assert box is not None and box[2] <= SIZE and box[3] <= SIZE  # a shift that would cut is held back
    assert abs(far.product.alpha.sum() - st0.product.alpha.sum()) < 0.01 * st0.product.alpha.sum()


def test_cutout_backdrops(original):
    _, white = clean(original, "isolated")
    _, off = clean(original, "isolated", backdrop="offwhite", tone=(246, 244, 240))
    _, shadow = clean(original, "isolated", backdrop="shadow", tone=(250, 250, 250), shadow=0.35)
    _, clear = clean(original, "isolated", backdrop="transparent")
    assert tuple(white.edit.rgb[2, 2]) == (255, 255, 255) and tuple(off.edit.rgb[2, 2]) == (246, 244, 240)
    st, _ = clean(original, "isolated")
    below = np.zeros_like(st.product.mask)
    box = bbox(st.product.mask)
    assert box is not None
    below[box[3] : box[3] + 6, box[0] : box[2]] = True
    assert shadow.edit.rgb[below].mean() < 245  # the shadow under the product
    assert (
        clear.edit.alpha is not None
        and clear.edit.alpha[2, 2] == 0
        and clear.edit.alpha[st.product.mask].min() > 0.99
    )


def test_new_backgrounds_of_every_kind_differ(original):
    picks = {
        src: clean(original, "inpainted", backdrop=src)[1].edit.rgb
        for src in ("studio:4", "scene:4", "scene:5")
    }
    outs = list(picks.values())
    for i in range(len(outs)):
        for j in range(i + 1, len(outs)):
            assert np.abs(outs[i].astype(int) - outs[j]).mean() > 10


def test_benign_edits_are_labelled_acceptable_and_vary(tmp_path):
    labels_path = build_set(
        tmp_path, n_products=2, per_product=12, families=[], ok_share=1.0, size=256, seed=4
    )
    lines = [json.loads(x) for x in labels_path.read_text().splitlines()]
    assert len(lines) == 24
    for x in lines:
        assert x["family"] == "ok" and x["acceptable"] is True
        applicable = [c for c in CRITERIA if not (c == "background" and x["kind"] == "isolated")]
        assert all(x["labels"][c] is True for c in applicable)
        assert (x["labels"]["background"] is None) == (x["kind"] == "isolated")
    benign = [x["benign"] for x in lines]
    assert len({b["encoding"].split(":")[0] for b in benign}) >= 2
    assert any(b["scale"] < 0.9 for b in benign) and any(b["shift"] != [0.0, 0.0] for b in benign)
    assert len({b["backdrop"] for b in benign}) >= 3
    sizes = {Image.open(tmp_path / x["edited"]).size for x in lines}
    assert len(sizes) > 1  # delivered at several resolutions


def test_a_defect_with_benign_variation_stays_a_defect(tmp_path):
    labels_path = build_set(
        tmp_path, n_products=1, per_product=20, families=["cutoff"], ok_share=0.0, size=256
    )
    lines = [json.loads(x) for x in labels_path.read_text().splitlines()]
    varied = [x for x in lines if x["benign"]["scale"] < 1 or x["benign"]["encoding"] != "png"]
    assert varied and all(x["labels"]["segmentation"] is (x["severity"] < 0.02) for x in varied)
    assert any(x["acceptable"] is False for x in varied)
