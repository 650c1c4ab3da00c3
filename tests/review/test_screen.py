"""The reviewer screen says why: the doubtful criteria with their scores and evidence, "task n of
N" and the reviewer's progress, going back to revise the last answers, only the questions that
apply to the kind, and a page (not a JSON error) for "admins only". Over HTTP, and in Chromium."""

from __future__ import annotations

import json

from sqlalchemy import select

from maskgate.review.accounts import add_user
from maskgate.review.app import Settings, create_app
from maskgate.review.importer import import_results
from maskgate.review.schema import Answer

from .conftest import PW, LiveServer, all_answers, login, make_pair
from .test_browser import browser, log_in  # noqa: F401 - the fixture


def _pairs(folder, n=4):
    """``n`` erasures whose residue failed (score 0.2, heatmap evidence), and one cut-out whose
    quality is the doubtful criterion and whose evidence image went missing after the check."""
    recs = []
    for i in range(n):
        r = make_pair(folder, f"e{i}", seed=i)
        r["criteria"]["residue"].update({"pass": False, "score": 0.2})
        recs.append(r)
    cut = make_pair(folder, "cut", seed=7)
    cut["kind"] = "isolated"
    cut["model_version"] = "v0003"
    cut["criteria"]["residue"] = {"pass": True, "score": 0.95, "evidence": {}}
    cut["criteria"]["quality"] = {
        "pass": True,
        "score": 0.55,
        "evidence": {"images": {"blur_map": "evidence/cut/quality_blur.png"}},  # never written
    }
    recs.append(cut)
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    return folder / "results.jsonl"


def _submit(c, tok, task, value=True):
    r = c.post(
        f"/api/tasks/{task['assignment_id']}/submit",
        headers={"X-CSRF-Token": tok},
        json={"answers": all_answers(task, value)},
    )
    assert r.status_code == 200, r.text
    return r.json()["answer_id"]


def test_screen_data_progress_doubt_and_revising_over_http(engine, tmp_path):
    rep = import_results(engine, _pairs(tmp_path / "check"), segment=None)
    assert any("evidence image(s) missing: blur_map" in p for p in rep.problems)  # said at import
    add_user(engine, "alice", PW)
    add_user(engine, "bob", PW)
    with LiveServer(create_app(engine, Settings(gold_every=0))) as srv:
        c, tok = login(srv.url, "alice")
        seen = []
        ids = []
        while (task := c.get("/api/next").json()["task"]) is not None:
            p = task["progress"]
            seen.append((p["n"], p["total"], p["answered"]))
            item = task["item"]
            (d,) = item["doubtful"]
            if item["kind"] == "isolated":
                # a cut-out: no background question; the doubtful criterion is the lowest score
                assert "background" not in [q["key"] for q in task["questions"]]
                assert (d["criterion"], d["score"], d["pass"]) == ("quality", 0.55, True)
                assert d["evidence"] == [] and d["missing"] == ["blur_map"]
                assert item["model_version"] == "v0003"
            else:
                assert (d["criterion"], d["pass"], d["evidence"]) == ("residue", False, ["heatmap"])
                assert c.get(item["evidence"]["heatmap"]).status_code == 200
                assert item["model_version"] is None
            ids.append(_submit(c, tok, task, True))
        assert seen == [(1, 5, 0), (2, 5, 1), (3, 5, 2), (4, 5, 3), (5, 5, 4)]

        # going back: the last five answers can be revised, each screen pointing one further back
        page = c.get(f"/review/answers/{ids[-1]}").text
        assert "Revising an earlier answer" in page and f'href="/review/answers/{ids[-2]}"' in page
        data = json.loads(page.split('id="task-data">', 1)[1].split("</script>", 1)[0])
        assert data["assignment_id"] is None and data["revise"]["answers"]["acceptable"] is True
        new = dict(data["revise"]["answers"], acceptable=False, quality=False)
        r = c.post(
            f"/api/answers/{ids[-1]}/revise",
            headers={"X-CSRF-Token": tok},
            json={"answers": new, "note": "looked again"},
        )
        assert r.status_code == 200, r.text
        with engine.connect() as conn:
            row = conn.execute(select(Answer).where(Answer.id == ids[-1])).one()
        assert row.acceptable is False and row.labels["quality"] is False and row.note == "looked again"
        # no revising without the token, of an unanswered question set, or of someone else's answer
        assert c.post(f"/api/answers/{ids[-1]}/revise", json={"answers": new}).status_code == 403
        r = c.post(f"/api/answers/{ids[-1]}/revise", headers={"X-CSRF-Token": tok}, json={"answers": {}})
        assert r.status_code == 422
        b, btok = login(srv.url, "bob")
        assert (
            b.post(
                f"/api/answers/{ids[-1]}/revise", headers={"X-CSRF-Token": btok}, json={"answers": new}
            ).status_code
            == 404
        )
        assert b.get(f"/review/answers/{ids[-1]}").status_code == 404

        # "admins only" is a page for a person, JSON for a script
        r = c.get("/admin")
        assert r.status_code == 403 and "text/html" in r.headers["content-type"]
        assert "Admins only" in r.text and "signed in as alice" in r.text and 'href="/review"' in r.text
        r = c.get("/admin/items/1", headers={"accept": "application/json"})
        assert r.status_code == 403


def test_only_the_last_five_answers_can_be_revised(engine, tmp_path):
    import_results(engine, _pairs(tmp_path / "check", n=6), segment=None)
    add_user(engine, "alice", PW)
    with LiveServer(create_app(engine, Settings(gold_every=0))) as srv:
        c, tok = login(srv.url, "alice")
        ids = []
        while (task := c.get("/api/next").json()["task"]) is not None:
            ids.append(_submit(c, tok, task))
        assert len(ids) == 7
        assert c.get(f"/review/answers/{ids[1]}").status_code == 404  # sixth from last
        assert c.get(f"/review/answers/{ids[2]}").status_code == 200
        page = c.get(f"/review/answers/{ids[2]}").text
        assert 'id="back"' not in page  # the oldest that may be revised points no further


def _why_asked(page) -> str:
    """Check the screen's "why you are asked" for the pair shown; returns its criterion."""
    li = page.locator("#doubtful-list li").first
    crit = li.get_attribute("data-criterion")
    if crit == "residue":  # an erasure whose residue failed: its heatmap one click away
        assert "fail" in li.text_content() and "score 0.20" in li.text_content()
        li.locator("button.evidence").click()
        page.wait_for_function(
            "() => window.maskgate && document.querySelector('#doubtful-list button.evidence.active')"
        )
        assert li.locator("button.evidence").text_content() == "hide heatmap"
        assert page.evaluate("document.querySelector('#evidence-toggles input').checked")
    else:  # the cut-out: its lowest score, and the evidence image the run folder lacks
        assert crit == "quality" and "score 0.55" in li.text_content() and "pass" in li.text_content()
        assert "evidence missing: blur_map" in li.text_content()
        assert "judged by model v0003" in page.text_content("#model-version")
    return crit


def test_reviewer_screen_in_chromium_says_why_counts_and_goes_back(engine, tmp_path, browser):  # noqa: F811
    import_results(engine, _pairs(tmp_path / "check", n=2), segment=None)
    add_user(engine, "alice", PW)
    add_user(engine, "root", PW, "admin")
    with LiveServer(create_app(engine, Settings(gold_every=0))) as srv:
        page = browser.new_page(viewport={"width": 1400, "height": 800})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        log_in(page, srv.url, "alice")
        assert page.text_content("#progress").split()[:4] == ["Task", "1", "of", "3"]
        task = page.evaluate("window.maskgate.task")
        first_id = task["item"]["id"]
        seen = {_why_asked(page)}
        keys = [q["key"] for q in task["questions"]]
        assert ("background" in keys) is False  # neither an erasure nor a cut-out is asked about backgrounds
        for _ in keys:
            page.keyboard.press("1")
        with page.expect_response(lambda r: r.url.endswith("/submit")) as resp:
            page.keyboard.press("Enter")
        assert resp.value.status == 200
        page.wait_for_function("(id) => window.maskgate && window.maskgate.task.item.id !== id", arg=first_id)
        assert page.text_content("#progress").split()[:4] == ["Task", "2", "of", "3"]
        assert "1 answered" in page.text_content("#progress")

        # Backspace: back to the answer just given, every question already answered as it was
        page.keyboard.press("Backspace")
        page.wait_for_function("() => window.maskgate && window.maskgate.task.revise")
        assert page.evaluate("window.maskgate.task.item.id") == first_id
        assert page.evaluate("window.maskgate.answers") == {k: True for k in keys}
        assert page.locator("#skip").count() == 0
        page.keyboard.press("2")  # the cursor starts on the first question: q1 becomes "no"
        with page.expect_response(lambda r: r.url.endswith("/revise")) as resp:
            page.keyboard.press("Enter")
        assert resp.value.status == 200
        page.wait_for_function("() => window.maskgate && !window.maskgate.task.revise")
        seen.add(_why_asked(page))  # back on the task held: the other kind of pair
        assert seen == {"residue", "quality"}
        assert not errors, errors
        page.goto(srv.url + "/admin")
        assert "Admins only" in page.text_content("#error-page")
    with engine.connect() as conn:
        (ans,) = conn.execute(select(Answer)).all()
    stored = {"q1": ans.q1, "q2": ans.q2, "acceptable": ans.acceptable} | dict(ans.labels)
    assert {k: stored[k] for k in keys} == {k: k != "q1" for k in keys}  # only q1 changed
