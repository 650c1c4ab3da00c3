"""`--json` on every command that does work: one JSON object on stdout that says what the run did,
checked against what it wrote; the human lines go to stderr."""

from __future__ import annotations

import json
import shutil

from sqlalchemy import func, select

from maskgate.check.verdict import Calibration
from maskgate.core.record import read_records
from maskgate.models.registry import REGISTRY
from maskgate.review.accounts import add_user
from maskgate.review.db import open_db
from maskgate.review.questionnaire import AnswerIn
from maskgate.review.queue import next_task, submit
from maskgate.review.schema import Item
from tests.check.test_runner import _write_pairs
from tests.cli.conftest import invoke, one_json
from tests.learn.built import draw_rows, write_set
from tests.review.conftest import make_pair


def _lines(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_check_then_report(tmp_path, u2netp):
    manifest = _write_pairs(tmp_path, 2)
    out = tmp_path / "out"
    r = invoke("check", manifest, "--out", out, "--no-progress", "--json")
    assert r.exit_code == 0, r.output
    s = one_json(r)
    recs = list(read_records(out / "results.jsonl"))
    assert s["results"] == str(out / "results.jsonl") and s["report"] == str(out / "report.html")
    assert s["pairs"] == 2 and s["checked"] == 2 and s["already_done"] == 0 and s["failed"] == 0
    assert s["verdicts"] == {v: sum(x.verdict == v for x in recs) for v in s["verdicts"]}
    assert "2 pairs, 0 already done" in r.stderr  # the table and lines for people, on stderr

    again = one_json(invoke("check", manifest, "--out", out, "--no-progress", "--json"))
    assert again["already_done"] == 2 and again["checked"] == 0 and again["all_verdicts"] == s["verdicts"]

    (out / "report.html").unlink()
    r = invoke("report", out, "--json")
    assert r.exit_code == 0, r.output
    assert one_json(r) == {"report": str(out / "report.html"), "results": str(out / "results.jsonl")}
    assert (out / "report.html").is_file()
    r = invoke("report", tmp_path / "nowhere", "--json")
    assert r.exit_code == 2 and r.stdout == "" and "no such results file" in r.stderr


def test_synth(tmp_path):
    out = tmp_path / "set"
    r = invoke(
        "synth", "--out", out, "--n-products", "1", "--per-product", "3", "--size", "160",
        "--families", "cutoff", "--kinds", "inpainted", "--seed", "2", "--json",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    s = one_json(r)
    labels = _lines(out / "labels.jsonl")
    assert s["labels"] == str(out / "labels.jsonl") and s["manifest"] == str(out / "manifest.jsonl")
    assert s["pairs"] == len(labels) > 0
    assert s == {
        **json.loads((out / "summary.json").read_text()),
        "labels": s["labels"],
        "manifest": s["manifest"],
    }


def test_learn_and_calibrate(tmp_path):
    labels, results = write_set(tmp_path / "set", draw_rows(120, seed=3))
    model = tmp_path / "model"
    r = invoke("learn", labels, "--results", results, "--out", model, "--model-class", "logistic", "--json")
    assert r.exit_code == 0, r.output
    s = one_json(r)
    saved = json.loads((model / "model.json").read_text())
    assert s["model"] == str(model)
    assert s["validation"] == saved["validation"] and s["thresholds"] == saved["thresholds"]
    assert s["validation"]["pairs"] == 120
    assert "wrote" in r.stderr

    cal = tmp_path / "cal.json"
    r = invoke("calibrate", labels, "--results", results, "--out", cal, "--json")
    assert r.exit_code == 0, r.output
    s = one_json(r)
    assert s["calibration"] == str(cal) and s["metrics"] == Calibration.load(cal).metrics
    assert s["metrics"]["pairs"] == 120


def test_review_import_and_export(tmp_path):
    folder = tmp_path / "check"
    recs = [make_pair(folder, f"p{i}", seed=i) for i in range(3)] + [
        make_pair(folder, "ok", verdict="accept")
    ]
    (folder / "results.jsonl").write_text("".join(json.dumps(x) + "\n" for x in recs))
    db = f"sqlite:///{tmp_path / 'review.db'}"

    r = invoke("review", "import", folder / "results.jsonl", "--db", db, "--no-prelabel", "--json")
    assert r.exit_code == 0, r.output
    s = one_json(r)
    assert s["imported"] == 3 and s["filtered_out"] == 1 and s["problems"] == [] and s["prelabel"] is False
    engine = open_db(db)
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(Item)).scalar() == 3
    again = one_json(
        invoke("review", "import", folder / "results.jsonl", "--db", db, "--no-prelabel", "--json")
    )
    assert again["imported"] == 0 and again["skipped_existing"] == 3

    rid = add_user(engine, "ann", "password-123").id
    for _ in range(2):
        t = next_task(engine, rid, gold_every=0)
        submit(
            engine,
            rid,
            t.assignment_id,
            AnswerIn(q1=False, q2=True, labels={"residue": False}, acceptable=False),
        )
    engine.dispose()
    out = tmp_path / "labels.jsonl"
    r = invoke("review", "export", "--db", db, "--out", out, "--json")
    assert r.exit_code == 0, r.output
    s = one_json(r)
    assert s == {"out": str(out), "masks_dir": None, "answers": 2, "masks_written": 0}
    assert len(_lines(out)) == 2


def test_models_list(tmp_path, u2netp):
    here = tmp_path / "models"
    here.mkdir()
    shutil.copy(u2netp, here / u2netp.name)
    env = {"MASKGATE_MODEL_DIR": str(here), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    r = invoke("models", "list", "--json", env=env)
    assert r.exit_code == 0, r.output
    found = {m["name"]: m for m in one_json(r)["models"]}
    assert set(found) == set(REGISTRY)
    assert found["u2netp"]["path"] == str(here / u2netp.name) and found["u2netp"]["fix"] is None
    for name, m in found.items():
        if name != "u2netp":
            assert m["path"] is None and f"maskgate models pull {name}" in m["fix"]


def test_review_import_without_the_prelabel_model_says_so_once(tmp_path):
    folder = tmp_path / "check"
    recs = [make_pair(folder, f"p{i}", seed=i, with_mask=False) for i in range(3)]
    (folder / "results.jsonl").write_text("".join(json.dumps(x) + "\n" for x in recs))
    empty = {"MASKGATE_MODEL_DIR": str(tmp_path / "none"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    db = f"sqlite:///{tmp_path / 'review.db'}"
    r = invoke("review", "import", folder / "results.jsonl", "--db", db, "--json", env=empty)
    assert r.exit_code == 0, r.output
    s = one_json(r)
    assert s["imported"] == 3 and s["prelabel"] is False and s["problems"] == []
    err = " ".join(r.stderr.split())
    assert err.count("no pre-labels") == 1 and "maskgate models pull u2netp" in err


def test_check_without_the_model_fails_once_with_the_fix(tmp_path):
    manifest = _write_pairs(tmp_path, 3)
    empty = {"MASKGATE_MODEL_DIR": str(tmp_path / "none"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    r = invoke("check", manifest, "--out", tmp_path / "out", "--no-progress", "--json", env=empty)
    assert r.exit_code == 2, r.output
    err = " ".join(r.stderr.split())
    assert err.count("not found") == 1 and "maskgate models pull u2netp" in err and r.stdout == ""
    results = tmp_path / "out" / "results.jsonl"  # the store makes the file with its first record
    assert not results.exists() or not list(read_records(results))  # no pair recorded as an error
