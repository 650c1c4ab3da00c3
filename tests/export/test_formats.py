"""COCO, tables, mask PNGs, HFPC lines and the FiftyOne folder, each read back by the tool it is
for (pycocotools, pandas, polars, DuckDB, maskgate's own manifest reader, FiftyOne when
installed) and compared with the masks and records the run was built from."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from maskgate.core.types import CRITERIA
from maskgate.export import ExportError, export, load
from maskgate.io.manifest import read_manifest


def _full(run, **kw):
    return load(run.results, labels=run.labels, masks_dir=run.masks, text_masks_dir=run.overlays, **kw)


# ------------------------------------------------------------------------------ COCO


def test_coco_loads_in_pycocotools_and_masks_decode_to_the_same_pixels(run, tmp_path):
    from pycocotools.coco import COCO

    out = tmp_path / "coco.json"
    rep = export("coco", _full(run), out, image_root=run.dir.parent)
    coco = COCO(str(out))
    assert {c["name"] for c in coco.loadCats(coco.getCatIds())} == {"product", "overlay"}
    product_cat = coco.getCatIds(catNms=["product"])[0]
    overlay_cat = coco.getCatIds(catNms=["overlay"])[0]
    # one image per original: the bowl's two edits share one; the error record has none
    imgs = {im["file_name"]: im for im in coco.loadImgs(coco.getImgIds())}
    assert set(imgs) == {f"photos/originals/{s}.png" for s in ("cup", "vase", "bowl")}
    assert rep.written == 3 and rep.skipped == 1
    bowl = imgs["photos/originals/bowl.png"]
    assert bowl["maskgate_ids"] == ["bowl/a", "bowl/b"]
    for im in imgs.values():
        pid = im["maskgate_ids"][0]
        assert (im["height"], im["width"]) == run.sizes[pid]
        anns = {a["category_id"]: a for a in coco.loadAnns(coco.getAnnIds(imgIds=im["id"]))}
        got = coco.annToMask(anns[product_cat]).astype(bool)
        assert np.array_equal(got, run.product[pid]), pid
        assert anns[product_cat]["maskgate_source"] == run.product_source[pid]
        assert anns[product_cat]["area"] == int(run.product[pid].sum())
        x, y, w, h = anns[product_cat]["bbox"]
        ys, xs = np.nonzero(run.product[pid])
        assert (x, y, x + w, y + h) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        if pid in run.overlay:
            assert np.array_equal(coco.annToMask(anns[overlay_cat]).astype(bool), run.overlay[pid])
        else:
            assert overlay_cat not in anns


def test_coco_without_extra_sources_uses_the_checks_masks(run, tmp_path):
    from pycocotools.coco import COCO

    out = tmp_path / "coco.json"
    export("coco", load(run.results), out)
    coco = COCO(str(out))
    for im in coco.loadImgs(coco.getImgIds()):
        assert im["file_name"].startswith("/")  # absolute without --image-root
        (ann,) = coco.loadAnns(coco.getAnnIds(imgIds=im["id"]))
        assert ann["maskgate_source"] == "check"
        assert np.array_equal(coco.annToMask(ann).astype(bool), run.check[im["maskgate_ids"][0]])


def test_an_unreadable_original_or_mask_is_reported_and_the_rest_exported(run, tmp_path):
    (run.dir.parent / "photos" / "originals" / "cup.png").write_bytes(b"not a png")
    bad = run.overlays / "bowl.png"
    bad.write_bytes(b"\x89PNG broken")
    src = _full(run)
    rep = export("coco", src, tmp_path / "c.json")
    assert rep.written == 2 and rep.skipped == 2  # cup and the error record
    assert any("cup" in p and "original unreadable" in p for p in rep.problems)
    assert any("bowl" in p and "text mask file unreadable" in p for p in rep.problems)


# ------------------------------------------------------------------------------ tables


def _expected_row(run, pid):
    rec = run.records[pid]
    row = {"id": pid, "verdict": rec.verdict, "kind": rec.kind, "score": rec.score}
    for c in CRITERIA:
        cr = rec.criteria.get(c)
        row[f"{c}_pass"] = None if cr is None else cr.passed
        row[f"{c}_score"] = None if cr is None else cr.score
    return row


def _norm(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_tables_read_the_same_in_pandas_polars_and_duckdb(run, tmp_path, fmt):
    import duckdb
    import pandas as pd
    import polars as pl

    out = tmp_path / f"t.{fmt}"
    rep = export(fmt, _full(run), out)
    assert rep.written == 5  # the error record is a row too
    if fmt == "csv":
        frames = {
            "pandas": pd.read_csv(out).to_dict("records"),
            "polars": pl.read_csv(out, infer_schema_length=None).to_dicts(),
            "duckdb": duckdb.sql(f"SELECT * FROM read_csv_auto('{out}')").df().to_dict("records"),
        }
    else:
        frames = {
            "pandas": pd.read_parquet(out).to_dict("records"),
            "polars": pl.read_parquet(out).to_dicts(),
            "duckdb": duckdb.sql(f"SELECT * FROM '{out}'").df().to_dict("records"),
        }
    for who, rows in frames.items():
        by_id = {r["id"]: {k: _norm(v) for k, v in r.items()} for r in rows}
        assert list(by_id) == ["cup", "vase", "broken", "bowl/a", "bowl/b"], who
        for pid in ("cup", "vase", "bowl/a", "bowl/b"):
            exp = _expected_row(run, pid)
            got = by_id[pid]
            for k, v in exp.items():
                if isinstance(v, float):
                    assert got[k] == pytest.approx(v), (who, pid, k)
                else:
                    assert got[k] == v, (who, pid, k, got[k])
        assert by_id["broken"]["verdict"] == "error" and "not found" in by_id["broken"]["error"]
        assert by_id["broken"]["residue_pass"] is None
        # labels: the final answer (cup), the majority of three (bowl/a), the manifest's (vase)
        assert by_id["cup"]["label_source"] == "final" and by_id["cup"]["acceptable"] is True
        assert by_id["cup"]["label_quality"] is True
        assert by_id["bowl/a"]["label_source"] == "review" and by_id["bowl/a"]["reviewers"] == 3
        assert by_id["bowl/a"]["label_segmentation"] is False and by_id["bowl/a"]["acceptable"] is False
        assert by_id["vase"]["label_source"] == "manifest" and by_id["vase"]["label_residue"] is False
        assert by_id["bowl/b"]["label_source"] is None and by_id["bowl/b"]["reviewers"] == 0


def test_table_without_labels_has_no_label_columns(run, tmp_path):
    import pandas as pd

    lines = [json.loads(x) for x in run.results.read_text().splitlines()]
    for d in lines:
        d.pop("labels", None), d.pop("acceptable", None)
    run.results.write_text("".join(json.dumps(d) + "\n" for d in lines))
    export("csv", load(run.results), tmp_path / "t.csv")
    cols = list(pd.read_csv(tmp_path / "t.csv").columns)
    assert "residue_pass" in cols and "background_score" in cols
    assert not any(c.startswith("label_") or c == "acceptable" for c in cols)


# ------------------------------------------------------------------------------ masks


def test_masks_folder_has_a_png_per_pair_and_an_index(run, tmp_path):
    out = tmp_path / "m"
    rep = export("masks", _full(run), out)
    index = [json.loads(x) for x in (out / "index.jsonl").read_text().splitlines()]
    assert [d["id"] for d in index] == ["cup", "vase", "bowl/a", "bowl/b"]
    assert rep.masks == 4 + 3
    for d in index:
        got = cv2.imread(str(out / d["product"]), cv2.IMREAD_UNCHANGED)
        assert set(np.unique(got)) <= {0, 255}
        assert np.array_equal(got > 0, run.product[d["id"]] if d["id"] != "bowl/b" else run.check["bowl/b"])
        assert d["product_source"] == ("check" if d["id"] == "bowl/b" else run.product_source[d["id"]])
        if d["id"] in run.overlay:
            assert np.array_equal(cv2.imread(str(out / d["overlay"]), 0) > 0, run.overlay[d["id"]])
        else:
            assert d["overlay"] is None
    with pytest.raises(ExportError, match="not an empty folder"):
        export("masks", _full(run), out)  # never writes over an earlier export


# ------------------------------------------------------------------------------ HFPC


def test_hfpc_lines_from_labels_and_from_the_verdict_read_back_as_a_manifest(run, tmp_path):
    out = tmp_path / "hfpc.jsonl"
    rep = export("hfpc", _full(run), out)
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert {d["id"]: d["label"] for d in lines} == {"cup": 1, "vase": 0, "bowl/a": 0}
    assert all(set(d) == {"origin", "generation", "label", "id"} for d in lines)
    assert rep.skipped == 2 and any("bowl/b" in p for p in rep.problems)
    specs = {s.id: s for s in read_manifest(out)}  # maskgate reads its own HFPC lines back
    assert specs["vase"].acceptable is False and specs["cup"].acceptable is True
    assert specs["cup"].original == run.records["cup"].original and not specs["cup"].error

    export("hfpc", load(run.results), out, label_from="verdict")
    by_verdict = {d["id"]: d["label"] for d in map(json.loads, out.read_text().splitlines())}
    assert by_verdict == {"cup": 1, "vase": 0, "bowl/b": 1}  # bowl/a is verdict review
    with pytest.raises(ExportError, match="label-from"):
        export("hfpc", load(run.results), out, label_from="vibes")


# ------------------------------------------------------------------------------ FiftyOne


def test_fiftyone_folder_structure(run, tmp_path):
    out = tmp_path / "fo"
    export("fiftyone", _full(run), out)
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["media_type"] == "image" and "version" not in meta  # read as the legacy JSON layout
    samples = json.loads((out / "samples.json").read_text())["samples"]
    assert [s["maskgate_id"] for s in samples] == ["cup", "vase", "bowl/a", "bowl/b"]
    for s in samples:
        rec = run.records[s["maskgate_id"]]
        assert s["filepath"] == str(run.dir.joinpath(rec.edited).resolve())
        assert s["verdict"] == rec.verdict and s["tags"] == [rec.verdict]
        for c in CRITERIA:
            cr = rec.criteria[c]
            if cr.passed is None:
                assert f"{c}_pass" not in s  # unknown is left out, not null
            else:
                assert s[f"{c}_pass"] is cr.passed
            assert s[f"{c}_score"] == cr.score
        assert all(v is not None for v in s.values())
        seg = s["product_mask"]
        assert seg["_cls"] == "Segmentation"
        expect = run.check["bowl/b"] if s["maskgate_id"] == "bowl/b" else run.product[s["maskgate_id"]]
        assert np.array_equal(cv2.imread(seg["mask_path"], 0) > 0, expect)
        assert ("overlay_mask" in s) == (s["maskgate_id"] in run.overlay)
    assert samples[0]["label_source"] == "final" and samples[0]["acceptable"] is True


def _fiftyone():
    return pytest.importorskip(
        "fiftyone", reason="fiftyone is not installed (pip install 'maskgate[fiftyone]')"
    )


def test_fiftyones_own_importer_reads_the_folder(run, tmp_path):
    """FiftyOne's importer for this layout turns every sample into a ``fo.Sample`` with its fields
    and masks (no database needed for this part)."""
    fo = _fiftyone()
    out = tmp_path / "fo"
    export("fiftyone", _full(run), out)
    assert fo.utils.data.FiftyOneDatasetImporter(str(out))._is_legacy_format_data()  # what from_dir checks
    importer = fo.types.LegacyFiftyOneDataset().get_dataset_importer_cls()(str(out))
    with importer:
        samples = list(importer)
    assert [s.maskgate_id for s in samples] == ["cup", "vase", "bowl/a", "bowl/b"]
    for s in samples:
        rec = run.records[s.maskgate_id]
        assert isinstance(s, fo.Sample) and s.verdict == rec.verdict and s.tags == [rec.verdict]
        assert s.residue_score == rec.criteria["residue"].score
        assert s.residue_pass is rec.criteria["residue"].passed
        assert isinstance(s.product_mask, fo.Segmentation)
        expect = run.check["bowl/b"] if s.maskgate_id == "bowl/b" else run.product[s.maskgate_id]
        assert np.array_equal(s.product_mask.get_mask() > 0, expect)


def test_fiftyone_imports_the_folder_into_a_dataset(run, tmp_path):
    fo = _fiftyone()
    out = tmp_path / "fo"
    export("fiftyone", _full(run), out)
    try:
        ds = fo.Dataset.from_dir(str(out), dataset_type=fo.types.FiftyOneDataset)
    except Exception as e:  # noqa: BLE001 - FiftyOne's database (MongoDB) may be unavailable here
        if "mongo" in f"{type(e).__name__} {e}".lower() or "database" in str(e).lower():
            pytest.skip(f"FiftyOne's database is not available: {type(e).__name__}: {str(e)[:160]}")
        raise
    try:
        assert len(ds) == 4
        assert sorted(ds.values("verdict")) == ["accept", "accept", "reject", "review"]
        assert ds.count_values("tags") == {"accept": 2, "reject": 1, "review": 1}
        for s in ds:
            assert s.product_mask.get_mask().shape == run.sizes[s.maskgate_id]
    finally:
        ds.delete()
