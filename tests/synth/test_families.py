"""Every defect family, well above its threshold, changes the part of the edit it names and fails
its criterion; well below, it passes; inside the dead zone nothing is written."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from maskgate.synth import build
from maskgate.synth.defects import Made, scaled_unit
from maskgate.synth.families import BY_NAME, FAMILIES, Family
from maskgate.synth.layers import delta_e
from tests.synth.conftest import BALL, MUG

CASES = [(f.name, k) for f in FAMILIES for k in f.kinds]
CHANGED_DE = 3.0  # a pixel counts as changed by the defect above this colour difference
SLACK = 0.003  # share of changed pixels allowed outside the family's region (anti-aliasing)


def grow(mask: np.ndarray, px: float) -> np.ndarray:
    k = 2 * int(np.ceil(px)) + 1
    return cv2.dilate(mask.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0


def shrink(mask: np.ndarray, px: int) -> np.ndarray:
    return cv2.erode(mask.astype(np.uint8), np.ones((2 * px + 1, 2 * px + 1), np.uint8)) > 0


def region(name: str, st) -> tuple[np.ndarray, np.ndarray]:
    """(where the family may change the edit, where it must change something)."""
    p = st.product.mask
    outside = ~p
    unit = scaled_unit(st, 0.02, 2.0)
    if name.startswith("residue_") and name != "residue_bg":
        ov = grow(st.overlay(name.removeprefix("residue_")).alpha > 0.02, 4)
        return ov, ov
    ys, xs = np.nonzero(p)
    box = np.zeros_like(p)
    box[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] = True
    table = {
        "residue_bg": (outside, grow(p, 2) & outside),
        "cutoff": (grow(p, 1), p),
        "quality_blur": (grow(p, 6 * unit), p),
        "quality_pixelate": (grow(p, 6 * unit), p),
        "quality_jpeg": (grow(p, 20), p),
        "quality_tint_cast": (grow(p, 1), p),
        "quality_tint_halo": (grow(p, 4 * unit) & ~shrink(p, 1), grow(p, 2) & outside),
        "tiny": (np.ones_like(p), p),
        "altered_flip": (grow(box, 1), p),
        "altered_hue": (grow(p, 1), p),
        "altered_patch": (grow(p, 1), p),
        "altered_warp": (grow(p, 6 * unit), p),
    }
    if name in table:
        return table[name]
    return ~shrink(p, 2), outside  # background families leave the product alone


def severity_above(f: Family) -> float:
    return f.threshold + 0.5 * (f.high - f.threshold)


def severity_below(f: Family) -> float:
    return f.low + 0.5 * (f.threshold - f.dead_zone / 2 - f.low)


@pytest.mark.parametrize("name,kind", CASES)
def test_well_above_threshold_changes_its_part_and_fails(stages, name, kind):
    f = BY_NAME[name]
    st = stages[(MUG, kind)]
    made = f.make(st, severity_above(f), np.random.default_rng(1))
    assert made is not None, f"{name} not applicable to the drawn mug"
    assert f.passes(made.severity) is False, made.severity
    changed = delta_e(made.edit.flat(), st.compose().flat()) > CHANGED_DE
    allowed, must = region(name, st)
    assert changed.sum() > 20
    assert (changed & must).any(), f"{name} did not change what it should"
    assert (changed & ~allowed).sum() <= SLACK * changed.size, f"{name} changed pixels it should not"
    assert build.labels_for(kind, f.fails)[f.fails] is False


@pytest.mark.parametrize("name,kind", CASES)
def test_well_below_threshold_passes(stages, name, kind):
    f = BY_NAME[name]
    st = stages[(BALL if name == "altered_flip" else MUG, kind)]  # a mirrored ball is no change
    made = f.make(st, severity_below(f), np.random.default_rng(1))
    assert made is not None
    assert made.severity < f.threshold - f.dead_zone / 2
    assert f.passes(made.severity) is True


@pytest.mark.parametrize("name", [f.name for f in FAMILIES if not f.measured])
def test_drawn_families_produce_the_severity_asked_for(stages, name):
    """What the rules are stated in is what the edit shows, so a label's severity can be trusted."""
    f = BY_NAME[name]
    for sev in (f.low + 0.3 * (f.high - f.low), f.threshold):
        made = f.make(stages[(MUG, f.kinds[-1])], sev, np.random.default_rng(2))
        assert made is not None and abs(made.severity - sev) <= 0.1 * max(sev, f.dead_zone), (
            sev,
            made.severity,
        )


def test_flip_severity_is_the_products_asymmetry(stages):
    f = BY_NAME["altered_flip"]
    mug = f.make(stages[(MUG, "isolated")], 0.0, np.random.default_rng(0))
    ball = f.make(stages[(BALL, "isolated")], 0.0, np.random.default_rng(0))
    assert mug is not None and ball is not None
    assert mug.severity > 0.1 and ball.severity < 0.01


def test_passes_is_split_by_the_dead_zone():
    f = BY_NAME["cutoff"]
    half = f.dead_zone / 2
    assert f.passes(f.threshold - half - 1e-6) is True
    assert f.passes(f.threshold) is None
    assert f.passes(f.threshold + 0.99 * half) is None
    assert f.passes(f.threshold + half + 1e-6) is False


def test_the_table_is_consistent():
    for f in FAMILIES:
        assert f.low <= f.threshold - f.dead_zone / 2 and f.threshold + f.dead_zone / 2 < f.high, f.name
        assert f.kinds and f.rule
    bg = [f for f in FAMILIES if f.fails == "background"]
    assert bg and all(f.kinds == ("inpainted",) for f in bg)
    assert {f.name for f in FAMILIES} >= {
        "residue_text", "residue_badge", "residue_logo", "residue_bg", "cutoff", "quality_blur",
        "quality_jpeg", "quality_pixelate", "quality_tint_cast", "quality_tint_halo", "tiny",
        "altered_flip", "altered_hue", "altered_patch", "altered_warp", "bg_bad_noise", "bg_bad_smear",
        "bg_bad_ghosts",
    }  # fmt: skip


@pytest.mark.parametrize("name", [f.name for f in FAMILIES])
def test_dead_zone_edits_are_kept_apart_with_the_uncertain_criterion_unlabelled(tmp_path, monkeypatch, name):
    """A dead-zone edit is no training label (labels.jsonl and the manifest never hold it), but it
    is written to dead_zone.jsonl, its criterion null and its verdict unknown, so the accept
    bounds can count it."""
    f = BY_NAME[name]
    monkeypatch.setattr(Family, "draw", lambda self, rng: self.threshold)
    if f.measured:  # its severity is the content's: make the content land on the threshold

        def on_threshold(st, sev, rng):
            made = f.make(st, sev, rng)
            return made and Made(made.edit, f.threshold)

        monkeypatch.setattr(build, "select", lambda names: (replace(f, make=on_threshold),))
    labels = build.build_set(tmp_path, n_products=1, per_product=1, families=[name], ok_share=0.0, size=256)
    assert labels.read_text() == "" and (tmp_path / "manifest.jsonl").read_text() == ""
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["families"][name].get("left_out", 0) > 0
    assert "pass" not in summary["families"][name] and "fail" not in summary["families"][name]
    dz = [json.loads(line) for line in (tmp_path / "dead_zone.jsonl").read_text().splitlines()]
    assert len(dz) == summary["families"][name]["left_out"] == summary["dead_zone_pairs"]
    for line in dz:
        assert line["dead_zone"] == f.fails and line["acceptable"] is None
        assert line["labels"][f.fails] is None
        assert all(v is True for c, v in line["labels"].items() if c != f.fails and v is not None)
        assert abs(line["severity"] - f.threshold) < f.dead_zone / 2
        assert (tmp_path / line["edited"]).is_file()


def test_the_documented_table_is_the_registry():
    """docs/synth.md shows the thresholds reviewers will argue about: it must be the code's."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "synth.md").read_text()
    rows = {}
    for line in doc.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0].strip("`")] = cells
    assert set(rows) == set(BY_NAME)
    for name, cells in rows.items():
        f = BY_NAME[name]
        lo, hi = f.threshold - f.dead_zone / 2, f.threshold + f.dead_zone / 2
        assert (
            cells[1] == f.fails and cells[3] == f"{f.low:g} – {f.high:g}" and cells[4] == f"{f.threshold:g}"
        )
        assert cells[5] == f"{lo:g} – {hi:g}" and cells[6] == f.rule, name


def _written_by_family(tmp_path, monkeypatch, severity_of) -> dict[str, list[dict]]:
    monkeypatch.setattr(Family, "draw", lambda self, rng: severity_of(self))
    path = build.build_set(tmp_path, n_products=2, per_product=30, ok_share=0.0, size=256, seed=11)
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    out: dict[str, list[dict]] = {}
    for x in lines:
        out.setdefault(x["family"], []).append(x)
    return out


def test_written_lines_above_threshold_fail_their_criterion_only(tmp_path, monkeypatch):
    by_family = _written_by_family(tmp_path, monkeypatch, severity_above)
    assert len(by_family) >= 15  # nearly every family drawn, with benign variation on top
    for name, lines in by_family.items():
        f = BY_NAME[name]
        for x in lines:
            fails = x["severity"] > f.threshold
            assert fails or f.measured, x["id"]  # only content can hold a measured family back
            assert x["labels"][f.fails] is (not fails) and x["acceptable"] is (not fails), x["id"]
            assert [c for c, v in x["labels"].items() if v is False] == ([f.fails] if fails else [])
            assert x["defect"].endswith(name)
    assert all(x["acceptable"] is False for x in by_family["cutoff"] + by_family["quality_blur"])


def test_written_lines_below_threshold_are_acceptable(tmp_path, monkeypatch):
    by_family = _written_by_family(tmp_path, monkeypatch, severity_below)
    assert len(by_family) >= 15
    for name, lines in by_family.items():
        f = BY_NAME[name]
        for x in lines:
            if f.measured and x["severity"] > f.threshold:  # a mirrored mug is a flip whatever was drawn
                assert x["labels"][f.fails] is False
                continue
            assert x["acceptable"] is True and x["severity"] < f.threshold, x["id"]
            assert all(v is not False for v in x["labels"].values())
