"""The app over real HTTP (uvicorn on a free localhost port): import -> login -> review -> export,
and the security rules: login everywhere, CSRF on every write, no path traversal, roles."""

import base64
import json
import re

import httpx
import numpy as np

from maskgate.review.accounts import add_user
from maskgate.review.app import Settings, create_app
from maskgate.review.exporter import export_labels
from maskgate.review.importer import import_results
from maskgate.review.masks import decode_rle, mask_to_png

from .conftest import PW, LiveServer, all_answers, login


def test_review_flow_and_export(engine, live, tmp_path):
    c, tok = login(live.url, "alice")
    task = c.get("/api/next").json()["task"]
    item = task["item"]
    assert c.get(item["original"]).status_code == 200
    assert c.get(item["evidence"]["heatmap"]).headers["content-type"] == "image/png"
    pre = c.get(item["premask"])
    assert pre.status_code == 200
    m = np.zeros((item["height"], item["width"]), bool)
    m[10:50, 20:90] = True
    body = {
        "answers": all_answers(task, True) | {"q2": False, "quality": False},
        "note": "halo at left",
        "mask": "data:image/png;base64," + base64.b64encode(mask_to_png(m)).decode(),
    }
    r = c.post(f"/api/tasks/{task['assignment_id']}/submit", json=body, headers={"X-CSRF-Token": tok})
    assert r.status_code == 200, r.text
    again = c.post(f"/api/tasks/{task['assignment_id']}/submit", json=body, headers={"X-CSRF-Token": tok})
    assert again.status_code == 409
    rep = export_labels(engine, tmp_path / "labels.jsonl", masks_dir=tmp_path / "masks")
    assert rep.answers == 1 and rep.masks_written == 1
    rec = json.loads((tmp_path / "labels.jsonl").read_text())
    assert rec["id"] == item["id"] and rec["reviewer"] == "alice" and rec["note"] == "halo at left"
    assert rec["labels"]["quality"] is False and rec["labels"]["residue"] is True
    assert rec["labels"]["background"] is (True if item["has_background"] else None)
    assert (decode_rle(rec["mask"]) == m).all()


def test_unanswered_questions_are_refused(live):
    c, tok = login(live.url, "alice")
    task = c.get("/api/next").json()["task"]
    r = c.post(
        f"/api/tasks/{task['assignment_id']}/submit",
        json={"answers": {"q1": True}},
        headers={"X-CSRF-Token": tok},
    )
    assert r.status_code == 422 and "unanswered" in r.text


def test_nothing_without_login(live):
    c = httpx.Client(base_url=live.url, follow_redirects=False)
    for path in ("/", "/review", "/admin", "/admin/items/1"):
        r = c.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    for path in ("/api/next", "/files/1/images/p0_orig.png", "/api/tasks/1/premask.png"):
        assert c.get(path).status_code == 401
    assert c.post("/api/tasks/1/submit", json={}).status_code == 401


def test_csrf_is_required(live):
    c, tok = login(live.url, "alice")
    task = c.get("/api/next").json()["task"]
    url = f"/api/tasks/{task['assignment_id']}/skip"
    assert c.post(url, json={}).status_code == 403
    assert c.post(url, json={}, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert c.post("/logout", data={"csrf": "forged"}).status_code == 403
    anon = httpx.Client(base_url=live.url)
    anon.get("/login")
    r = anon.post("/login", data={"username": "alice", "password": PW, "csrf": "forged"})
    assert r.status_code == 403
    assert c.post(url, json={}, headers={"X-CSRF-Token": tok}).status_code == 200


def test_json_writes_check_login_csrf_body_lease_in_that_order(live):
    """A request failing several checks gets the status of the first; body problems are a 400 whose
    detail is one sentence (review.js shows it to the reviewer), not a 422 list."""
    anon = httpx.Client(base_url=live.url)
    assert anon.post("/api/tasks/1/submit", content=b"{nope").status_code == 401
    c, tok = login(live.url, "alice")
    task = c.get("/api/next").json()["task"]
    url = f"/api/tasks/{task['assignment_id']}"
    h = {"X-CSRF-Token": tok}
    assert c.post(url + "/submit", content=b"{nope").status_code == 403
    for body, detail in (
        (b"{nope", "body is not JSON"),
        (b"[1]", "body must be a JSON object"),
        (b'{"mask": 5}', "'mask' must be a PNG data URL"),
    ):
        r = c.post(url + "/submit", content=body, headers=h)
        assert (r.status_code, r.json()) == (400, {"detail": detail})
    assert c.post("/api/tasks/9999/submit", json={"mask": 5}, headers=h).status_code == 409
    r = c.post(url + "/refine", json={"fg": 5}, headers=h)
    assert (r.status_code, r.json()) == (400, {"detail": "'mask' (a PNG data URL) is required"})
    r = c.post(url + "/refine", json={"mask": "data:image/png;base64,@@"}, headers=h)
    assert r.status_code == 400 and r.json()["detail"].startswith("mask: ")
    r = c.post(url + "/submit", json={"answers": 5}, headers=h)
    assert (r.status_code, r.json()) == (422, {"detail": "'answers' must be an object"})


def test_path_traversal_rejected(live, results_dir):
    """Raw request paths (http.client does not normalise ``..`` away like browsers and httpx do)."""
    import http.client

    (results_dir.parent / "secret.png").write_bytes(b"\x89PNG secret")
    c, _ = login(live.url, "alice")
    cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
    for path in (
        "/files/1/../secret.png",
        "/files/1/%2e%2e/secret.png",
        "/files/1/images/%2e%2e/%2e%2e/secret.png",
        "/files/1/images/../../secret.png",
        "/files/1/%2Fetc%2Fpasswd",
        "/files/1/..%2fsecret.png",
        "/files/99/images/p0_orig.png",
        "/files/1/results.jsonl",
    ):
        conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=10)
        conn.request("GET", path, headers={"Cookie": cookie})
        r = conn.getresponse()
        body = r.read()
        conn.close()
        assert r.status in (400, 404), (path, r.status)
        assert b"secret" not in body
    assert c.get("/files/1/images/p0_orig.png").status_code == 200


def test_reviewer_cannot_reach_admin(live):
    c, _ = login(live.url, "alice")
    assert c.get("/admin").status_code == 403
    assert c.get("/admin/items/1").status_code == 403
    a, _ = login(live.url, "root")
    assert a.get("/admin").status_code == 200


def test_upload_size_limit(engine, results_dir):
    import_results(engine, results_dir / "results.jsonl", segment=None)
    add_user(engine, "alice", PW)
    with LiveServer(create_app(engine, Settings(gold_every=0, max_body=10_000))) as srv:
        c, tok = login(srv.url, "alice")
        task = c.get("/api/next").json()["task"]
        r = c.post(
            f"/api/tasks/{task['assignment_id']}/submit",
            headers={"X-CSRF-Token": tok},
            json={"answers": {}, "mask": "data:image/png;base64," + "A" * 20_000},
        )
        assert r.status_code == 413


def test_wrong_password_and_admin_pages_show_agreement(engine, live):
    c = httpx.Client(base_url=live.url)
    tok = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
    assert c.post("/login", data={"username": "alice", "password": "nope", "csrf": tok}).status_code == 401
    for who, val in (("alice", True), ("bob", False)):
        rc, rtok = login(live.url, who)
        while (task := rc.get("/api/next").json()["task"]) is not None:
            r = rc.post(
                f"/api/tasks/{task['assignment_id']}/submit",
                headers={"X-CSRF-Token": rtok},
                json={"answers": all_answers(task, val)},
            )
            assert r.status_code == 200, r.text
    a, _ = login(live.url, "root")
    page = a.get("/admin").text
    assert "alice" in page and "bob" in page and "Disagreements" in page
    assert page.count('href="/admin/items/') == 4  # all four pairs disagree
    # the agreement table counts the items each question was answered on by both reviewers (all
    # four for the questions every pair gets; the background question only for new backgrounds)
    table = page[page.index('id="agreement"') : page.index("</table>", page.index('id="agreement"'))]
    cells = dict(re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td>", table))
    assert cells["q1"] == cells["quality"] == "4" and all(v.isdigit() for v in cells.values()), cells
    first = re.search(r'href="(/admin/items/\d+)"', page).group(1)
    assert "bob" in a.get(first).text
