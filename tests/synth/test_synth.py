from __future__ import annotations

import json

import numpy as np

from maskgate.core.types import CRITERIA
from maskgate.synth import defects
from maskgate.synth.build import build_set
from maskgate.synth.draw import product, scene


def test_each_defect_changes_what_it_should():
    rgb, mask = product(256)
    rng = np.random.default_rng(0)
    clean = defects.ok(rgb, mask, None, rng)
    cut = defects.cutoff(rgb, mask, None, rng)
    assert (cut[mask] == 255).all(axis=1).sum() > 0.2 * mask.sum()  # product pixels gone to the backdrop
    assert (cut[~mask] == clean[~mask]).all()
    blur = defects.quality_blur(rgb, mask, None, rng)
    assert (
        np.abs(np.diff(blur[mask].astype(int), axis=0)).mean()
        < np.abs(np.diff(clean[mask].astype(int), axis=0)).mean()
    )
    hue = defects.altered_hue(rgb, mask, None, rng)
    assert np.abs(hue[mask].astype(int) - clean[mask]).mean() > 20 and (hue[~mask] == clean[~mask]).all()
    tiny = defects.tiny(rgb, mask, None, rng)
    assert (np.abs(tiny.astype(int) - 255).max(axis=2) > 10).mean() < 0.02
    bg = scene(1, 256)
    noisy = defects.bg_noise(rgb, mask, bg, rng)
    assert (noisy[mask] == rgb[mask]).all() and np.abs(noisy[~mask].astype(int) - bg[~mask]).mean() > 30


def test_build_set_writes_consistent_labels(tmp_path):
    labels_path = build_set(tmp_path, n_products=2, seed=3, size=192)
    labels = [json.loads(x) for x in labels_path.read_text().splitlines()]
    manifest = [json.loads(x) for x in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    assert [m["id"] for m in manifest] == [x["id"] for x in labels]
    assert len({x["id"] for x in labels}) == len(labels)
    for x in labels:
        assert (tmp_path / x["original"]).is_file() and (tmp_path / x["edited"]).is_file()
        fails = [c for c in CRITERIA if x["labels"][c] is False]
        assert len(fails) == (0 if x["defect"] == "ok" else 1)
        assert x["acceptable"] == (not fails)
        assert (x["labels"]["background"] is None) == (x["kind"] == "isolated")
