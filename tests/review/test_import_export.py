"""Importing check output (bad input included), gold labels, pre-labels, and the CLI commands."""

import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from maskgate.cli import app as cli
from maskgate.review.importer import import_results
from maskgate.review.masks import decode_rle
from maskgate.review.schema import Item, Slot

from .conftest import make_pair


def test_bad_lines_and_missing_images_lose_nothing(engine, results_dir):
    lines = (results_dir / "results.jsonl").read_text().splitlines()
    broken = make_pair(results_dir, "gone", seed=3)
    broken["edited"] = "images/does_not_exist.png"
    lines[1:1] = ["{not json", json.dumps({"no": "id"}), json.dumps(broken)]
    (results_dir / "results.jsonl").write_text("\n".join(lines) + "\n")
    rep = import_results(engine, results_dir / "results.jsonl", overlap=3, segment=None)
    assert rep.imported == 5 and rep.filtered_out == 1
    assert any("not JSON" in p for p in rep.problems) and any("no 'id'" in p for p in rep.problems)
    assert any("gone" in p and "missing image" in p for p in rep.problems)
    with engine.connect() as c:
        err = c.execute(select(Item.error).where(Item.ext_id == "gone")).scalar_one()
        assert "does_not_exist" in err
        assert c.scalar(select(func.count()).select_from(Slot)) == 4 * 3  # the broken one is not queued
    again = import_results(engine, results_dir / "results.jsonl", segment=None)
    assert again.imported == 0 and again.skipped_existing == 5


def test_premask_from_evidence_and_background_flag(engine, results_dir):
    import_results(engine, results_dir / "results.jsonl", segment=None, only_review=False)
    with engine.connect() as c:
        rows = {r.ext_id: r for r in c.execute(select(Item))}
    assert len(rows) == 5 and rows["p1"].has_background and not rows["p0"].has_background
    m = decode_rle(rows["p0"].premask)
    assert m.shape == (120, 160) and m[60, 80] and not m[0, 0]
    assert "heatmap" in rows["p0"].evidence and rows["p0"].evidence["heatmap"].startswith("evidence/")


def test_gold_items(engine, results_dir, tmp_path):
    gold = tmp_path / "labels.jsonl"
    gold.write_text(
        json.dumps(
            {
                "id": "ok0",
                "original": "x",
                "edited": "y",
                "kind": "text_removed",
                "labels": {"residue": True, "quality": False},
                "acceptable": False,
                "gold": True,
            }
        )
        + "\n"
        + json.dumps({"id": "nowhere", "labels": {}, "acceptable": True, "gold": True})
        + "\n"
    )
    rep = import_results(engine, results_dir / "results.jsonl", gold=gold, segment=None)
    assert rep.gold == 1 and any("nowhere" in p for p in rep.problems)
    with engine.connect() as c:
        g = c.execute(select(Item).where(Item.ext_id == "ok0")).one()
        assert g.is_gold and g.gold_labels["quality"] is False and g.gold_acceptable is False
        assert c.scalar(select(func.count()).select_from(Slot).where(Slot.item_id == g.id)) == 0


def test_a_gold_file_with_a_bom_and_a_latin1_line_loses_only_that_line(engine, results_dir, tmp_path):
    """Labels files get edited by hand in editors that write a BOM or Latin-1: the BOM is not the
    first id's problem, and a Latin-1 line is reported with its number while the rest count."""
    gold = tmp_path / "labels.jsonl"
    first = json.dumps({"id": "ok0", "labels": {"residue": True}, "acceptable": True, "gold": True})
    latin = json.dumps({"id": "p0", "labels": {}, "note": "caf\u00e9", "gold": True}).replace(
        "\\u00e9", "\xe9"
    )
    gold.write_bytes(b"\xef\xbb\xbf" + first.encode() + b"\n" + latin.encode("latin-1") + b"\n")
    rep = import_results(engine, results_dir / "results.jsonl", gold=gold, segment=None)
    assert rep.gold == 1  # ok0, despite the BOM in front of it
    assert any("line 2" in p and "not UTF-8" in p for p in rep.problems)
    with engine.connect() as c:
        assert c.execute(select(Item.is_gold).where(Item.ext_id == "ok0")).scalar_one()
        assert not c.execute(select(Item.is_gold).where(Item.ext_id == "p0")).scalar_one()


def test_a_labels_file_for_every_item_makes_only_a_sample_gold(engine, tmp_path):
    """The README's `review import --gold labels.jsonl` on a set whose labels cover every pair
    must still leave pairs to review: gold is a sample, not every labelled item."""
    from maskgate.review.importer import in_gold_sample

    folder = tmp_path / "check"
    recs = [make_pair(folder, f"p{i:02d}", seed=i) for i in range(40)]
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    labels = folder / "labels.jsonl"
    labels.write_text(
        "".join(
            json.dumps({"id": r["id"], "labels": {"residue": True}, "acceptable": True}) + "\n" for r in recs
        )
    )
    rep = import_results(
        engine, folder / "results.jsonl", gold=labels, gold_share=0.2, segment=None, only_review=False
    )
    expected = sum(in_gold_sample(r["id"], 0.2) for r in recs)
    assert rep.gold == expected and 0 < expected < 20
    assert rep.queued_slots == 40 - expected
    assert sum(in_gold_sample(f"x{i}", 0.2) for i in range(2000)) == pytest.approx(400, abs=60)


def test_premask_from_the_model_when_check_gave_none(engine, tmp_path):
    from maskgate.models.registry import MissingModelError, resolve_model

    try:
        resolve_model("u2netp")
    except MissingModelError:
        pytest.skip("u2netp weights not available (scripts/test.sh pulls them)")
    folder = tmp_path / "c"
    rec = make_pair(folder, "m0", with_mask=False, w=200, h=160)
    (folder / "results.jsonl").write_text(json.dumps(rec) + "\n")
    rep = import_results(engine, folder / "results.jsonl")
    assert not rep.problems, rep.problems
    with engine.connect() as c:
        m = decode_rle(c.execute(select(Item.premask)).scalar_one())
    assert m.shape == (160, 200) and m.any()


def test_cli_user_import_export(db_url, results_dir, tmp_path):
    run = CliRunner().invoke
    r = run(cli, ["user", "add", "carol", "--role", "admin", "--password", "pw-long-enough", "--db", db_url])
    assert r.exit_code == 0, r.output
    r = run(cli, ["user", "add", "carol", "--password", "pw-long-enough", "--db", db_url])
    assert r.exit_code != 0 and "exists" in r.output
    r = run(
        cli,
        [
            "review",
            "import",
            str(results_dir / "results.jsonl"),
            "--overlap",
            "2",
            "--no-prelabel",
            "--db",
            db_url,
        ],
    )
    assert r.exit_code == 0 and "imported 4 items" in r.output, r.output
    r = run(cli, ["review", "import", str(tmp_path / "missing.jsonl"), "--db", db_url])
    assert r.exit_code == 2 and "no such file" in r.output
    out = tmp_path / "labels.jsonl"
    r = run(cli, ["review", "export", "--out", str(out), "--masks-dir", str(tmp_path / "m"), "--db", db_url])
    assert r.exit_code == 0 and out.read_text() == "" and "wrote 0 answers" in r.output
