"""Adjudication: an admin records the final answer for a disagreement over real HTTP; it is
stored, replaces an earlier one, and ``maskgate review export`` carries it as ``final``."""

import json
import re

import pytest
from typer.testing import CliRunner

from maskgate.cli import app as cli
from maskgate.review.adjudication import AdjudicationError, final_records, record_final
from maskgate.review.stats import overview

from .conftest import all_answers, login

QUESTIONS = (
    "q1",
    "q2",
    "quality",
    "segmentation",
    "comprehensibility",
    "consistency",
    "background",
    "acceptable",
)


def _answer_all(base: str, who: str, value: bool) -> None:
    c, tok = login(base, who)
    while (task := c.get("/api/next").json()["task"]) is not None:
        r = c.post(
            f"/api/tasks/{task['assignment_id']}/submit",
            headers={"X-CSRF-Token": tok},
            json={"answers": all_answers(task, value)},
        )
        assert r.status_code == 200, r.text


def test_admin_records_final_answer_and_export_carries_it(engine, live, db_url, tmp_path):
    _answer_all(live.url, "alice", True)
    _answer_all(live.url, "bob", False)
    a, _ = login(live.url, "root")
    item_url = re.search(r'href="(/admin/items/(\d+))"', a.get("/admin").text)
    url, item_id = item_url.group(1), int(item_url.group(2))
    page = a.get(url).text
    assert "Not adjudicated yet" in page
    tok = re.search(r'id="final-form">\s*<input type="hidden" name="csrf" value="([^"]+)"', page).group(1)
    form = {k: "no" for k in QUESTIONS} | {
        "acceptable": "yes",
        "background": "",
        "csrf": tok,
        "note": "sticker fully removed",
    }
    # Reviewers may not adjudicate, and the CSRF token is required.
    rc, _ = login(live.url, "alice")
    assert rc.post(url + "/final", data=form).status_code == 403
    assert a.post(url + "/final", data=form | {"csrf": "forged"}).status_code == 403
    assert a.post(url + "/final", data=form | {"quality": "maybe"}).status_code == 400
    r = a.post(url + "/final", data=form)
    assert r.status_code == 303 and r.headers["location"] == url
    page = a.get(url).text
    assert "Recorded: accept." in page  # the overall answer reads accept/reject, as it was asked
    assert re.search(r'<select name="quality">.*?value="no" selected', page, re.S)

    # Stored, and saving again replaces it.
    fin = final_records(engine)[item_id]
    assert (
        fin["acceptable"] is True
        and fin["labels"]["quality"] is False
        and fin["labels"]["background"] is None
    )
    assert fin["q1_original_has_overlay"] is False and fin["adjudicator"] == "root"
    assert a.post(url + "/final", data=form | {"quality": "yes"}).status_code == 303
    assert final_records(engine)[item_id]["labels"]["quality"] is True
    assert len(final_records(engine)) == 1
    assert [d["final"] for d in overview(engine).disagreements].count(True) == 1

    # The CLI export: every answer of that item carries the final labels; the others carry null.
    out = tmp_path / "labels.jsonl"
    res = CliRunner().invoke(cli, ["review", "export", "--db", db_url, "-o", str(out)])
    assert res.exit_code == 0, res.output
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    ext = {r["id"] for r in recs if r["final"] is not None}
    assert len(ext) == 1
    mine = [r for r in recs if r["id"] in ext]
    assert len(mine) == 2 and {r["reviewer"] for r in mine} == {"alice", "bob"}
    for r in mine:
        assert r["final"]["labels"]["quality"] is True and r["final"]["acceptable"] is True
        assert r["final"]["note"] == "sticker fully removed" and r["final"]["adjudicator"] == "root"
    assert all(r["final"] is None for r in recs if r["id"] not in ext)


def test_record_final_validates(engine, results_dir):
    from maskgate.review.accounts import add_user
    from maskgate.review.importer import import_results

    import_results(engine, results_dir / "results.jsonl", segment=None)
    admin = add_user(engine, "root", "correct-horse-1", "admin").id
    with pytest.raises(AdjudicationError, match="unknown"):
        record_final(engine, 1, admin, {"colour": True})
    with pytest.raises(AdjudicationError, match="expected"):
        record_final(engine, 1, admin, {"quality": "yes"})
    with pytest.raises(AdjudicationError, match="no item"):
        record_final(engine, 999, admin, {"quality": True})
    record_final(engine, 1, admin, {"acceptable": False})
    assert final_records(engine)[1]["acceptable"] is False
    assert final_records(engine)[1]["labels"]["quality"] is None
