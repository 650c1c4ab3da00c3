"""Real tools' cut-outs and erasures, labelled from ground truth: on photos the tests draw."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy import ndimage

from maskgate.core.types import CRITERIA
from maskgate.io.images import load_image, save_image
from maskgate.synth import tools
from maskgate.synth.draw import compose, product, scene

SIZE = 256
BENCH = Path(__file__).resolve().parents[2] / "bench" / "build_real_tools.py"


def _photo(seed: int = 0, busy: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rgb, gt = product(SIZE, seed)
    return compose(scene(seed, SIZE, busy=busy), rgb, gt), gt


def _builder():
    spec = importlib.util.spec_from_file_location("build_real_tools", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _direct(gt: np.ndarray, alpha: np.ndarray) -> dict[str, float]:
    """The GT measures again, by distance transforms instead of morphology: an independent check."""
    r = tools.edge_px(gt.shape)
    far_from_gt = ndimage.distance_transform_edt(~gt) > r + 0.5
    kept = (alpha >= 128) & far_from_gt
    shown = alpha >= 128
    lost = gt & (ndimage.distance_transform_edt(~shown) > r + 0.5)
    area = gt.sum()

    def piece(m: np.ndarray) -> float:
        lab, n = ndimage.label(m, structure=np.ones((3, 3)))
        return float(np.bincount(lab.ravel())[1:].max()) if n else 0.0

    return {
        "kept": kept.sum() / area,
        "kept_piece": piece(kept) / area,
        "lost": lost.sum() / area,
        "lost_piece": piece(lost) / area,
    }


def _rule_fails(d: dict[str, float], frame: int, area: int) -> tuple[bool, bool]:
    """(residue fails, segmentation fails) by the stated thresholds, on the direct measures."""
    residue = (
        d["kept_piece"] >= tools.RESIDUE_FAIL_PIECE
        or d["kept_piece"] * area / frame >= tools.RESIDUE_FAIL_PIECE_FRAME
        or d["kept"] >= tools.RESIDUE_FAIL_TOTAL
    )
    seg = d["lost_piece"] >= tools.SEG_FAIL_PIECE or d["lost"] >= tools.SEG_FAIL_TOTAL
    return residue, seg


def test_a_slab_of_scene_kept_beside_the_product_is_residue_false():
    _, gt = _photo()
    alpha = tools.gt_cutout(gt, 0, 0.8)
    ys, xs = np.nonzero(gt)
    alpha[ys.max() - 2 : ys.max() + 10, xs.min() : xs.min() + 24] = 255  # table below the mug, attached
    m = tools.measure_cutout(gt, alpha)
    assert (
        m.kept_piece_frame < tools.RESIDUE_FAIL_PIECE_FRAME
    )  # a slab small in the frame, big beside the mug
    lab = tools.label_cutout(m, "isolated")
    assert lab is not None
    assert lab["residue"] is False and lab["segmentation"] is True
    assert not tools.acceptable(lab)


def test_a_lost_part_is_segmentation_false():
    _, gt = _photo()
    alpha = tools.gt_cutout(gt, 0, 0.8)
    xs = np.nonzero(gt.any(axis=0))[0]
    alpha[:, xs.max() - (xs.max() - xs.min()) // 5 :] = 0  # the handle cut away
    lab = tools.label_cutout(tools.measure_cutout(gt, alpha), "inpainted")
    assert lab is not None
    assert lab["segmentation"] is False and lab["residue"] is True and lab["background"] is True


def test_a_soft_matte_that_shows_the_old_backdrop_or_the_product_half_is_labelled_failing():
    """No pixel of these crosses alpha 128 on the wrong side, yet each fails a reviewer: the old
    backdrop showing at a third around the product, or the product itself at three fifths."""
    _, gt = _photo()
    hazy = tools.gt_cutout(gt, 0, 0.8)
    hazy[(hazy == 0) & ~ndimage.binary_dilation(gt, iterations=6)] = 90
    m = tools.measure_cutout(gt, hazy)
    assert m.kept == 0 and m.ghost >= tools.RESIDUE_FAIL_GHOST
    lab = tools.label_cutout(m, "isolated")
    assert lab is not None and lab["residue"] is False
    washed = (tools.gt_cutout(gt, 0, 0.8) * 0.6).astype(np.uint8)  # 153 inside: never under 128
    m = tools.measure_cutout(gt, washed)
    assert m.lost < tools.SEG_FAIL_TOTAL and m.washed >= tools.SEG_FAIL_WASHED
    lab = tools.label_cutout(m, "inpainted")
    assert lab is not None and lab["segmentation"] is False and lab["quality"] is None


@pytest.mark.parametrize("grow", [-1, 0, 1, 2])
@pytest.mark.parametrize("feather", [0.5, 1.0])
def test_the_gt_cutout_feathered_is_acceptable(grow, feather):
    _, gt = _photo()
    m = tools.measure_cutout(gt, tools.gt_cutout(gt, grow, feather))
    iso, bg = tools.label_cutout(m, "isolated"), tools.label_cutout(m, "inpainted")
    assert iso is not None and bg is not None
    assert tools.acceptable(iso) and tools.acceptable(bg)
    assert iso["background"] is None and bg["background"] is True
    assert all(iso[c] is True for c in CRITERIA if c != "background")


def _dead_zone_alpha(gt: np.ndarray) -> np.ndarray:
    """The GT cut-out plus a small detached blob: about 0.8 % of the product, under the failing
    piece size and over the passing total."""
    alpha = tools.gt_cutout(gt, 0, 0.8)
    side = int(round((0.008 * gt.sum()) ** 0.5))
    ys, xs = np.nonzero(gt)
    y0, x0 = ys.min() + 10, xs.min() - 20 - side
    alpha[y0 : y0 + side, x0 : x0 + side] = 255
    return alpha


def test_a_cutout_in_the_dead_zone_gets_no_label():
    _, gt = _photo()
    m = tools.measure_cutout(gt, _dead_zone_alpha(gt))
    assert tools.RESIDUE_PASS_TOTAL <= m.kept_faint and m.kept_piece < tools.RESIDUE_FAIL_PIECE
    assert tools.label_cutout(m, "isolated") is None and tools.label_cutout(m, "inpainted") is None


@pytest.mark.parametrize(
    "backdrop, fails",
    [((120, 140, 118), (True, False)), ((236, 234, 228), (True, True))],
    ids=["keeps-the-prop", "also-eats-the-white-label"],
)
def test_colour_key_is_labelled_by_the_rule(backdrop, fails):
    """A prop touching the mug is one piece with it, so the key keeps it; on a light backdrop the
    key also takes the mug's cream label for backdrop."""
    rgb, gt = product(SIZE, 1)
    photo = compose(np.full((SIZE, SIZE, 3), backdrop, np.uint8), rgb, gt)
    ys, xs = np.nonzero(gt)
    corner = (int(xs.min()) - 30, int(ys.max()) - 12)
    cv2.rectangle(photo, corner, (int(xs.min()) + 6, int(ys.max()) + 8), (40, 60, 150), -1)
    photo[gt] = rgb[gt]  # the prop stands behind the mug
    alpha = tools.colour_key(photo, tol=25)
    m = tools.measure_cutout(gt, alpha)
    d = _direct(gt, alpha)
    for k in d:
        assert getattr(m, k) == pytest.approx(d[k], abs=0.01), k
    assert _rule_fails(d, gt.size, int(gt.sum())) == fails
    lab = tools.label_cutout(m, "isolated")
    assert lab is not None and (lab["residue"], lab["segmentation"]) == (not fails[0], not fails[1])


@pytest.mark.parametrize("seed", [0, 2])
def test_grabcut_on_a_textured_scene_is_labelled_by_the_rule(seed):
    photo, gt = _photo(seed, busy=True)
    alpha = tools.grabcut_box(photo, gt, margin=0.08)
    assert alpha is not None
    m = tools.measure_cutout(gt, alpha)
    assert m.iou > 0.5  # it ran and found the mug
    d = _direct(gt, alpha)
    for k in d:
        assert getattr(m, k) == pytest.approx(d[k], abs=0.01), k
    res_fails, seg_fails = _rule_fails(d, gt.size, int(gt.sum()))
    lab = tools.label_cutout(m, "isolated")
    if lab is None:
        assert not res_fails and not seg_fails
    else:
        assert (lab["residue"] is False) == res_fails and (lab["segmentation"] is False) == seg_fails


def _poster(seed: int = 3) -> tuple[np.ndarray, np.ndarray, list[tools.Overlay]]:
    clean, gt = _photo(seed, busy=True)
    drawn, overlays = tools.draw_overlays(clean, gt, np.random.default_rng(seed))
    assert len(overlays) >= 2
    for o in overlays:
        x0, y0, x1, y1 = o.box
        assert not gt[y0:y1, x0:x1].any()  # never over the product
    return clean, drawn, overlays


@pytest.mark.parametrize("method", ["telea", "ns"])
def test_a_complete_erasure_is_residue_true_and_one_that_misses_a_line_false(method):
    clean, drawn, overlays = _poster()
    rng = np.random.default_rng(0)
    hole, _ = tools.erase_mask(overlays, clean, drawn, "complete", rng)
    lab = tools.label_erasure(tools.measure_erasure(clean, drawn, tools.erase(drawn, hole, method), overlays))
    assert lab is not None and lab["residue"] is True
    assert all(lab[c] is None for c in CRITERIA if c != "residue")
    hole, missed = tools.erase_mask(overlays, clean, drawn, "missed_line", rng)
    m = tools.measure_erasure(clean, drawn, tools.erase(drawn, hole, method), overlays)
    assert m.left[missed] > 0.9
    assert tools.label_erasure(m) == {**{c: None for c in CRITERIA}, "residue": False}


def test_the_erasure_measure_tells_a_ghost_from_a_wrong_fill():
    clean, drawn, overlays = _poster()
    ghost = (0.35 * clean + 0.65 * drawn).astype(np.uint8)
    assert tools.label_erasure(tools.measure_erasure(clean, drawn, ghost, overlays))["residue"] is False
    wrong = clean.copy()
    for o in overlays:  # each line replaced by a flat patch of the wrong colour: no text left
        x0, y0, x1, y1 = tools._grown(o.box, clean.shape)
        wrong[y0:y1, x0:x1] = clean[y0:y1, x0:x1].reshape(-1, 3).mean(0).astype(np.uint8)[::-1]
    assert tools.measure_erasure(clean, drawn, wrong, overlays).worst < tools.TEXT_PASS_LINE


def test_patchmatch_erases_when_it_is_installed():
    if not tools.patchmatch_available():
        pytest.skip("pypatchmatch does not load here")
    clean, drawn, overlays = _poster()
    rng = np.random.default_rng(0)
    hole, _ = tools.erase_mask(overlays, clean, drawn, "complete", rng)
    erased = tools.erase(drawn, hole, "patchmatch")
    assert (erased[hole == 0] == drawn[hole == 0]).all()
    assert tools.measure_erasure(clean, drawn, erased, overlays).worst < tools.TEXT_FAIL_LINE
    hole, missed = tools.erase_mask(overlays, clean, drawn, "missed_line", rng)
    m = tools.measure_erasure(clean, drawn, tools.erase(drawn, hole, "patchmatch"), overlays)
    assert tools.label_erasure(m)["residue"] is False


def _photo_folder(root: Path, layout: tuple[str, str] = ("images", "masks"), n: int = 2) -> Path:
    (root / layout[0]).mkdir(parents=True)
    (root / layout[1]).mkdir()
    for v in range(n):
        photo, gt = _photo(v, busy=v == 1)
        save_image(root / layout[0] / f"mug{v}.jpg", photo)
        ext = ".bmp" if layout[1] == "seg_GT" else ".png"
        cv2.imwrite(str(root / layout[1] / f"mug{v}{ext}"), gt.astype(np.uint8) * 255)
    return root


def test_the_loader_reads_both_layouts(tmp_path):
    for layout in (("images", "masks"), ("imgs", "seg_GT")):
        folder = _photo_folder(tmp_path / layout[0], layout)
        pairs = tools.source_pairs(folder)
        assert [p.stem for p, _ in pairs] == ["mug0", "mug1"]
        src = tools.load_source(*pairs[0], side=200)
        assert (
            max(src.rgb.shape[:2]) == 200 and src.mask.shape == src.rgb.shape[:2] and src.mask.dtype == bool
        )
        assert abs(src.mask.mean() - _photo(0)[1].mean()) < 0.01


def test_the_builder_writes_the_stated_fields_and_leaves_the_dead_zone_out(tmp_path):
    build = _builder()
    photos = _photo_folder(tmp_path / "photos")
    families = {
        "gt": build.FAMILIES["gt"],
        "colour_key": build.FAMILIES["colour_key"],
        "dead": lambda rgb, gt, rng: _dead_zone_alpha(gt),
    }
    out = tmp_path / "out"
    summary = build.build(photos, out, seed=1, side=SIZE, families=families, fills=["telea"])
    rows = [json.loads(x) for x in (out / "labels.jsonl").read_text().splitlines()]
    assert summary["pairs"] == len(rows) > 0
    fields = {
        "id",
        "original",
        "edited",
        "kind",
        "defect",
        "labels",
        "acceptable",
        "family",
        "measured",
        "group",
        "source",
    }
    for r in rows:
        assert fields <= set(r), r["id"]
        assert (out / r["original"]).is_file() and (out / r["edited"]).is_file()
        assert set(r["labels"]) == set(CRITERIA)
        assert r["acceptable"] == all(v is not False for v in r["labels"].values())
        assert r["group"] in ("mug0", "mug1") and r["id"].startswith(r["group"] + "__")
        assert (
            set(r["source"]) >= {"product", "background", "generator"}
            and r["source"]["generator"] == r["family"]
        )
        assert (r["labels"]["background"] is None) == (r["kind"] != "inpainted")
        if r["kind"] == "text_removed":
            assert r["family"] == "fill_telea" and [c for c in CRITERIA if r["labels"][c] is not None] == [
                "residue"
            ]
        else:
            assert {"kept", "lost", "kept_piece", "lost_piece"} <= set(r["measured"])
    assert {r["kind"] for r in rows} == {"isolated", "inpainted", "text_removed"}
    assert not any(r["family"] == "dead" for r in rows)
    assert not list((out / "edited").glob("*_dead.*"))
    # the dead zone's cut-outs are pairs of their own, as maskgate synth writes them: no training
    # label, the uncertain criterion null, and never in labels.jsonl or the manifest
    dead = [json.loads(x) for x in (out / "dead_zone.jsonl").read_text().splitlines()]
    assert {d["id"] for d in dead if d.get("family") == "dead"} == {
        f"mug{v}__{k}_dead__dz" for v in range(2) for k in ("iso", "bg")
    }
    assert summary["dead_zone_pairs"] == len(dead)
    for d in dead:
        assert d["acceptable"] is None and d["labels"][d["dead_zone"]] is None
        assert d["dead_zone"] in ("residue", "segmentation")
        assert (out / d["edited"]).is_file() and (out / d["original"]).is_file()
    assert not {d["id"] for d in dead} & {r["id"] for r in rows}
    left = [json.loads(x) for x in (out / "left_out.jsonl").read_text().splitlines()]
    assert summary["left_out"] == len(left)
    gt_rows = [r for r in rows if r["family"] == "gt"]
    assert len(gt_rows) == 4 and all(r["acceptable"] for r in gt_rows)
    iso = next(r for r in rows if r["kind"] == "isolated")
    edited = load_image(out / iso["edited"])
    assert edited.rgb.shape[:2] == load_image(out / iso["original"]).rgb.shape[:2]
    manifest = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert [m["id"] for m in manifest] == [r["id"] for r in rows]


def test_the_builder_refuses_a_measuring_set_as_training_source(tmp_path):
    build = _builder()
    photos = _photo_folder(tmp_path / "grabcut", ("imgs", "seg_GT"), n=1)
    with pytest.raises(SystemExit, match="refused"):
        build.build(photos, tmp_path / "out", families={}, fills=[])
    build.build(photos, tmp_path / "out", families={"gt": build.FAMILIES["gt"]}, fills=[], holdout=True)
    rows = [json.loads(x) for x in (tmp_path / "out" / "labels.jsonl").read_text().splitlines()]
    assert rows and all(r["split"] == "holdout" for r in rows)
