"""Review app security over real HTTP (uvicorn + httpx) on real databases: sessions that end when
they should, login throttling, the Secure cookie rule, and images served only from the folders an
import or an admin allowed. Each test builds its own data."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import select, text, update
from typer.testing import CliRunner

from maskgate.cli import app as cli
from maskgate.review.accounts import add_user
from maskgate.review.app import Settings, create_app, secure_cookie_setting
from maskgate.review.importer import image_folders, import_results
from maskgate.review.roots import list_roots
from maskgate.review.schema import AuthSession
from maskgate.review.security import id_hash, new_token, sign, unsign
from maskgate.review.throttle import ThrottlePolicy
from maskgate.review.web.deps import SESSION_COOKIE

from .conftest import PW, LiveServer, engine_at_revision, login, make_pair


@contextmanager
def live_with(engine, results_dir: Path, **settings):
    """Like the ``live`` fixture, with other app settings (a longer throttle delay, so that a
    slow machine cannot outwait a lock between two requests)."""
    import_results(engine, results_dir / "results.jsonl", segment=None)
    add_user(engine, "alice", PW)
    add_user(engine, "bob", PW)
    with LiveServer(create_app(engine, Settings(gold_every=0, **settings))) as srv:
        yield srv


# ------------------------------------------------------------------------------------ helpers


def login_token(c: httpx.Client) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)


def try_login(base: str, user: str, password: str, headers: dict | None = None) -> httpx.Response:
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30, headers=headers or {}) as c:
        return c.post("/login", data={"username": user, "password": password, "csrf": login_token(c)})


def replay(base: str, cookie: str) -> httpx.Client:
    """A client that has nothing but a copied session cookie."""
    return httpx.Client(base_url=base, follow_redirects=False, timeout=30, cookies={SESSION_COOKIE: cookie})


def refused(base: str, cookie: str) -> bool:
    with replay(base, cookie) as c:
        api, page = c.get("/api/next"), c.get("/review")
    return (
        api.status_code == 401 and page.status_code == 303 and page.headers["location"].startswith("/login")
    )


# ------------------------------------------------------------------------------------ sessions


def test_cookie_replayed_after_logout_is_refused_on_every_device(live):
    c, tok = login(live.url, "alice")
    laptop, _ = login(live.url, "alice")
    bob, _ = login(live.url, "bob")
    stolen, other = c.cookies[SESSION_COOKIE], laptop.cookies[SESSION_COOKIE]
    assert not refused(live.url, stolen) and not refused(live.url, other)
    r = c.post("/logout", data={"csrf": tok})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert refused(live.url, stolen) and refused(live.url, other)
    assert bob.get("/api/next").status_code == 200  # someone else's logout ends nothing of theirs
    # and a fresh login is a new session that works
    again, _ = login(live.url, "alice")
    assert again.cookies[SESSION_COOKIE] != stolen and not refused(live.url, again.cookies[SESSION_COOKIE])


def test_cookie_replayed_after_password_change_is_refused(live, db_url):
    c, _ = login(live.url, "alice")
    stolen = c.cookies[SESSION_COOKIE]
    assert not refused(live.url, stolen)
    res = CliRunner().invoke(
        cli, ["user", "add", "alice", "--update", "--password", "new-horse-22", "--db", db_url]
    )
    assert res.exit_code == 0, res.output
    assert refused(live.url, stolen)
    assert try_login(live.url, "alice", PW).status_code == 401
    assert try_login(live.url, "alice", "new-horse-22").status_code == 303


def test_admin_ends_a_users_sessions_from_the_admin_page_and_the_cli(live, db_url):
    alice, _ = login(live.url, "alice")
    bob, _ = login(live.url, "bob")
    admin, _ = login(live.url, "root")
    page = admin.get("/admin").text
    table = page[page.index('id="sessions"') :]
    m = re.search(
        r"<td>alice</td><td>1</td>.*?action=\"(/admin/users/\d+/revoke)\".*?value=\"([^\"]+)\"", table, re.S
    )
    assert m, table[:800]
    assert alice.get("/api/next").status_code == 200
    # a reviewer cannot end anyone's sessions
    r = bob.post(
        m.group(1),
        data={"csrf": re.search(r'name="csrf-token" content="([^"]+)"', bob.get("/review").text).group(1)},
    )
    assert r.status_code == 403 and alice.get("/api/next").status_code == 200
    r = admin.post(m.group(1), data={"csrf": m.group(2)})
    assert r.status_code == 303
    assert alice.get("/api/next").status_code == 401 and bob.get("/api/next").status_code == 200
    res = CliRunner().invoke(cli, ["user", "revoke", "bob", "--db", db_url])
    assert res.exit_code == 0 and "ended 1 sessions" in res.output, res.output
    assert bob.get("/api/next").status_code == 401
    res = CliRunner().invoke(cli, ["user", "revoke", "nobody", "--db", db_url])
    assert res.exit_code == 2 and "no user" in res.output


def test_cookie_holds_only_a_signed_id_the_database_keeps_hashed(live, engine):
    c, _ = login(live.url, "alice")
    cookie = c.cookies[SESSION_COOKIE]
    with engine.connect() as conn:
        secret = conn.execute(text("SELECT value FROM settings WHERE key = 'session_secret'")).scalar_one()
        rows = conn.execute(select(AuthSession)).all()
    sid = unsign(secret, cookie, "session")
    assert sid and cookie.startswith(sid + ".") and "alice" not in cookie
    assert [r.id_hash for r in rows] == [id_hash(sid)] and sid not in str([tuple(r) for r in rows])
    # a changed id (signature kept), a changed signature, or a well-signed id that names no
    # session is no session at all
    assert refused(live.url, ("A" if cookie[0] != "A" else "B") + cookie[1:])
    assert refused(live.url, cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))
    assert refused(live.url, sign(secret, new_token(), "session"))
    assert not refused(live.url, cookie)
    # an expired row is refused even with a perfect cookie
    with engine.begin() as conn:
        conn.execute(update(AuthSession).values(expires_at=time.time() - 1))
    assert refused(live.url, cookie)


def test_concurrent_requests_recording_last_seen_never_fail(live, engine, monkeypatch):
    """Every request writes last_seen here (normally once a minute): reads of the session and those
    writes from many threads at once must not trip over each other (SQLite's busy snapshot)."""
    import maskgate.review.accounts as accounts

    clients = [login(live.url, u)[0] for u in ("alice", "bob", "root", "alice")]
    monkeypatch.setattr(accounts, "TOUCH_EVERY", -1.0)
    with engine.connect() as c:
        before = max(c.execute(select(AuthSession.last_seen)).scalars())
    codes: list[int] = []

    def hammer(c: httpx.Client) -> None:
        for _ in range(10):
            codes.append(c.get("/api/next").status_code)

    threads = [threading.Thread(target=hammer, args=(c,)) for c in clients for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 80, sorted(set(codes))
    with engine.connect() as c:
        assert max(c.execute(select(AuthSession.last_seen)).scalars()) > before


def test_session_cookie_flags_over_plain_http(live):
    with httpx.Client(base_url=live.url, follow_redirects=False) as c:
        page = c.get("/login")
        assert "secure" not in page.headers["set-cookie"].lower()
        r = c.post("/login", data={"username": "alice", "password": PW, "csrf": login_token(c)})
    set_cookie = next(v for v in r.headers.get_list("set-cookie") if v.startswith(SESSION_COOKIE + "="))
    low = set_cookie.lower()
    assert "httponly" in low and "samesite=strict" in low and "max-age=43200" in low and "secure" not in low


# ------------------------------------------------------------------------------------ throttling


def test_throttling_engages_after_repeated_failures_and_refuses_the_right_password(engine, results_dir):
    with live_with(engine, results_dir, throttle=ThrottlePolicy(base_delay=3)) as srv:
        for _ in range(5):
            assert try_login(srv.url, "alice", "wrong-password").status_code == 401
        r = try_login(srv.url, "alice", PW)
        assert r.status_code == 429, r.text
        wait = int(r.headers["retry-after"])
        assert 1 <= wait <= 3 and "Too many failed logins" in r.text
        assert SESSION_COOKIE not in r.headers.get("set-cookie", "")
        # the account is locked, not the address: bob still gets in from here
        assert try_login(srv.url, "bob", PW).status_code == 303
        # once the lock is over, one more failure locks it twice as long
        time.sleep(wait + 0.2)
        assert try_login(srv.url, "alice", "wrong-again").status_code == 401
        r = try_login(srv.url, "alice", PW)
        assert r.status_code == 429 and 4 <= int(r.headers["retry-after"]) <= 6, r.headers
        time.sleep(int(r.headers["retry-after"]) + 0.2)
        assert try_login(srv.url, "alice", PW).status_code == 303
        # a success clears the account's count: five tries again before it locks
        for _ in range(4):
            assert try_login(srv.url, "alice", "wrong-password").status_code == 401
        assert try_login(srv.url, "alice", PW).status_code == 303


def test_a_burst_of_parallel_guesses_gets_no_more_tries(engine, results_dir):
    codes: list[int] = []
    with live_with(engine, results_dir, throttle=ThrottlePolicy(base_delay=60)) as srv:

        def guess(i: int) -> None:
            codes.append(try_login(srv.url, "alice", f"guess-{i}").status_code)

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(set(codes)) == [401, 429] and codes.count(401) == 5, codes
        assert try_login(srv.url, "alice", PW).status_code == 429


def test_address_throttle_holds_across_workers(engine, results_dir):
    """Two app instances on one database (what two worker processes are): failures on one lock
    the address on the other, and a client cannot pick another address with X-Forwarded-For
    unless it is a trusted proxy."""
    add_user(engine, "alice", PW)
    cfg = Settings(gold_every=0, throttle=ThrottlePolicy(address_free=4, base_delay=60))
    with (
        LiveServer(create_app(engine, cfg), forwarded_allow_ips="10.9.9.9") as a,
        LiveServer(create_app(engine, cfg), forwarded_allow_ips="10.9.9.9") as b,
    ):
        for i in range(4):  # different accounts, one address, faked X-Forwarded-For ignored
            r = try_login(a.url, f"nobody{i}", "x" * 10, headers={"X-Forwarded-For": f"203.0.113.{i}"})
            assert r.status_code == 401
        r = try_login(b.url, "alice", PW)
        assert r.status_code == 429 and "from this address" in r.text
    # behind a trusted proxy (uvicorn's default trusts 127.0.0.1) the forwarded address counts
    with LiveServer(create_app(engine, cfg)) as trusted:
        assert (
            try_login(trusted.url, "alice", PW, headers={"X-Forwarded-For": "198.51.100.7"}).status_code
            == 303
        )


# ------------------------------------------------------------------------------------ secure cookies


def test_secure_cookie_rule():
    assert secure_cookie_setting(True, None) is True
    assert secure_cookie_setting(False, "https://review.example") is False
    assert secure_cookie_setting(None, "https://review.example") is True
    assert secure_cookie_setting(None, "http://review.example") is None
    assert secure_cookie_setting(None, None) is None


def _login_cookies(base: str, headers: dict | None = None) -> list[str]:
    with httpx.Client(base_url=base, follow_redirects=False, headers=headers or {}) as c:
        page = c.get("/login")
        tok = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        signed = re.search(r"maskgate_login=([^;]+)", page.headers["set-cookie"]).group(1)
        c.cookies.clear()
        r = c.post(
            "/login",
            data={"username": "alice", "password": PW, "csrf": tok},
            headers={"Cookie": f"maskgate_login={signed}"},  # httpx keeps Secure cookies for https
        )
        assert r.status_code == 303, r.text
        return [page.headers["set-cookie"], *r.headers.get_list("set-cookie")]


def test_secure_flag_when_forced_or_behind_an_https_proxy(engine):
    add_user(engine, "alice", PW)
    secure = lambda cookies: len(cookies) == 3 and all("; secure" in c.lower() for c in cookies)  # noqa: E731
    with LiveServer(create_app(engine, Settings(secure_cookies=True))) as srv:
        assert secure(_login_cookies(srv.url))
    https = {"X-Forwarded-Proto": "https"}
    with LiveServer(create_app(engine, Settings())) as srv:  # auto; uvicorn trusts 127.0.0.1
        assert secure(_login_cookies(srv.url, https))
        assert not any("secure" in c.lower() for c in _login_cookies(srv.url))
    with LiveServer(create_app(engine, Settings()), forwarded_allow_ips="10.9.9.9") as srv:
        assert not any("secure" in c.lower() for c in _login_cookies(srv.url, https))  # untrusted proxy


def test_serve_options_reach_the_server(monkeypatch):
    import maskgate.review.app as review_app

    got = {}
    monkeypatch.setattr(review_app, "run_server", lambda *a, **k: got.update(args=a, kw=k))
    for argv, want in (
        (["serve"], None),
        (["serve", "--base-url", "https://review.example"], True),
        (["serve", "--base-url", "https://review.example", "--no-secure-cookies"], False),
        (["serve", "--secure-cookies"], True),
    ):
        res = CliRunner().invoke(cli, [*argv, "--forwarded-allow-ips", "10.0.0.5"])
        assert res.exit_code == 0, res.output
        assert got["args"][3].secure_cookies is want and got["kw"]["forwarded_allow_ips"] == "10.0.0.5"


# ------------------------------------------------------------------------------------ image roots


def absolute_results(tmp_path: Path, n: int = 2) -> tuple[Path, Path]:
    """Check output whose originals and edits sit in a photos folder given by absolute paths,
    with evidence relative to the output folder: the common parent of the two is ``tmp_path``,
    which also holds a private folder nobody named."""
    out, photos = tmp_path / "out", tmp_path / "photos"
    photos.mkdir()
    recs = []
    for i in range(n):
        rec = make_pair(out, f"a{i}", seed=i)
        for key in ("original", "edited"):
            dst = photos / Path(rec[key]).name
            shutil.move(out / rec[key], dst)
            rec[key] = str(dst)
        recs.append(rec)
    (out / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    private = tmp_path / "private"
    private.mkdir()
    shutil.copy(photos / "a0_orig.png", private / "secret.png")
    (photos / "link.png").symlink_to(private / "secret.png")
    return out / "results.jsonl", private / "secret.png"


def test_import_of_absolute_paths_cannot_serve_a_file_outside_the_folders_it_named(engine, db_url, tmp_path):
    results, secret = absolute_results(tmp_path)
    rep = import_results(engine, results, segment=None)
    assert rep.imported == 2 and not rep.problems, rep.problems
    roots = list_roots(engine)
    allowed = {r.path for r in roots if r.allowed}
    assert allowed == {str((tmp_path / "out").resolve()), str((tmp_path / "photos").resolve())}
    assert all(Path(p) != Path(p).parent for p in allowed)
    add_user(engine, "alice", PW)
    secret_bytes = secret.read_bytes()
    with LiveServer(create_app(engine, Settings(gold_every=0))) as srv:
        c, _ = login(srv.url, "alice")
        item = c.get("/api/next").json()["task"]["item"]
        for url in (item["original"], item["edited"], *item["evidence"].values()):
            r = c.get(url)
            assert r.status_code == 200 and r.content[:4] == b"\x89PNG", url
        rel_secret = secret.resolve().relative_to(tmp_path.resolve())
        asked = 0
        for r in roots:  # every root, base-only ones included, by every route to the secret
            base = Path(r.path)
            for rel in {
                str(secret.resolve().relative_to(base)) if secret.resolve().is_relative_to(base) else None,
                str(rel_secret),
                "link.png",
                "photos/link.png",
            } - {None}:
                resp = c.get(f"/files/{r.id}/{rel}")
                asked += 1
                assert resp.status_code in (400, 404), (r.path, rel, resp.status_code)
                assert resp.content != secret_bytes
        assert asked >= 6
        # an admin takes the photos folder back: its images stop, the items stay
        res = CliRunner().invoke(cli, ["review", "roots", "remove", str(tmp_path / "photos"), "--db", db_url])
        assert res.exit_code == 0, res.output
        assert c.get(item["original"]).status_code == 400
        assert c.get(item["evidence"]["heatmap"]).status_code == 200
        res = CliRunner().invoke(cli, ["review", "roots", "add", str(tmp_path / "photos"), "--db", db_url])
        assert res.exit_code == 0 and "allowed" in res.output, res.output
        assert c.get(item["original"]).status_code == 200


def test_roots_cli_refuses_filesystem_roots_and_files(db_url, tmp_path):
    run = lambda *a: CliRunner().invoke(cli, ["review", "roots", *a, "--db", db_url])  # noqa: E731
    res = run("add", "/")
    assert res.exit_code == 2 and "file system root" in res.output
    f = tmp_path / "x.png"
    f.write_bytes(b"x")
    res = run("add", str(f))
    assert res.exit_code == 2 and "not a folder" in res.output
    res = run("add", str(tmp_path))
    assert res.exit_code == 0
    listed = run("list").output
    assert str(tmp_path.resolve()) in listed and "allowed\tadmin" in listed
    assert run("remove", "999").exit_code == 2
    assert run("remove", str(tmp_path)).exit_code == 0 and str(tmp_path.resolve()) not in run("list").output


def test_an_image_in_a_filesystem_root_is_never_allowed(tmp_path):
    need, why = image_folders([Path("/orig.png"), tmp_path / "out" / "e.png"], tmp_path / "out", set())
    assert need == set() and "file system root" in why
    need, why = image_folders([Path("/srv/a/orig.png"), tmp_path / "out" / "e.png"], tmp_path / "out", set())
    assert why is None and need == {Path("/srv/a"), tmp_path / "out"}
    # an already allowed root covers a file without widening anything
    need, _ = image_folders([Path("/srv/a/b/orig.png")], Path("/"), {"/srv/a"})
    assert need == set()


# ------------------------------------------------------------------------------------ migration


def test_migration_from_0003_disables_a_filesystem_root_and_adds_sessions(db_url, results_dir):
    from sqlalchemy import inspect

    from maskgate.review.db import migrate

    eng = engine_at_revision(db_url, "0003")
    folder = str(results_dir.resolve())
    images = folder + "/images"
    with eng.begin() as c:
        c.execute(text("INSERT INTO roots (id, path) VALUES (1, '/'), (2, :p)"), {"p": images})
        for i, root, orig in (
            (1, 1, folder.lstrip("/") + "/evidence/p0/residue_heatmap.png"),
            (2, 2, "p1_orig.png"),
        ):
            c.execute(
                text(
                    "INSERT INTO items (id, ext_id, root_id, original, edited, has_background, evidence, "
                    "check_record, overlap, is_gold, created_at, priority) VALUES (:i, :e, :r, :o, :o, false, "
                    "'{}', '{}', 1, false, 0, 0)"
                ),
                {"i": i, "e": f"old{i}", "r": root, "o": orig},
            )
            c.execute(
                text("INSERT INTO slots (item_id, due, state, priority) VALUES (:i, 0, 'open', 0)"), {"i": i}
            )
    migrate(eng)
    insp = inspect(eng)
    assert {"auth_sessions", "login_throttle"} <= set(insp.get_table_names())
    by_path = {r.path: r for r in list_roots(eng)}
    assert by_path["/"].allowed is False and by_path[images].allowed is True
    assert {r.added_by for r in by_path.values()} == {"legacy"} and by_path["/"].items == 1
    add_user(eng, "alice", PW)
    with LiveServer(create_app(eng, Settings(gold_every=0))) as srv:
        c, _ = login(srv.url, "alice")  # sessions work on the upgraded database
        assert c.get("/files/2/p1_orig.png").status_code == 200
        # "/" serves nothing any more: not the old item's file, not an image beside the allowed root
        assert c.get(f"/files/1/{folder.lstrip('/')}/evidence/p0/residue_heatmap.png").status_code == 400
        assert c.get(f"/files/1/{images.lstrip('/')}/p0_orig.png").status_code == 200  # inside root 2
        assert c.get("/api/next").json()["task"] is not None  # the old queue is still served
    eng.dispose()
