"""Fixtures: a real database on both backends, a small real results.jsonl with images, and a
real uvicorn server on a free localhost port."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
import uuid
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from maskgate.review.accounts import add_user
from maskgate.review.app import Settings, create_app
from maskgate.review.db import open_db
from maskgate.review.importer import import_results

PG_ENV = "MASKGATE_TEST_PG_URL"


def _pg_database(base_url: str):
    """A fresh database on the test server per test; dropped afterwards."""
    name = "mg_" + uuid.uuid4().hex[:12]
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base_url).set(database=name)

    def drop():
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


_pg_state: dict[str, str | None] = {}


def pg_unavailable(base: str | None) -> str | None:
    """Why the PostgreSQL tests cannot run (None when they can); one bounded connection attempt
    per process, so a missing or dead server gives skips, never a hang."""
    if not base:
        return f'{PG_ENV} not set: start a server with `eval "$(scripts/pg_temp.sh start)"`'
    if base not in _pg_state:
        try:
            e = create_engine(base, connect_args={"connect_timeout": 5})
            with e.connect() as c:
                c.execute(text("SELECT 1"))
            e.dispose()
            _pg_state[base] = None
        except Exception as exc:  # noqa: BLE001 - any failure means: skip with the reason
            _pg_state[base] = (
                f"PostgreSQL at {PG_ENV} unreachable: {type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
            )
    return _pg_state[base]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'review.db'}"
        return
    base = os.environ.get(PG_ENV)
    reason = pg_unavailable(base)
    if reason:
        pytest.skip(reason)
    url, drop = _pg_database(base)
    yield url
    drop()


@pytest.fixture
def engine(db_url):
    e = open_db(db_url)
    yield e
    e.dispose()


def engine_at_revision(db_url: str, revision: str):
    """An engine on a database migrated only up to ``revision``: what an older maskgate left
    behind, for the tests that upgrade it."""
    from alembic import command
    from alembic.config import Config

    from maskgate.review.db import MIGRATIONS, make_engine

    eng = make_engine(db_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return eng


def write_image(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]))


def make_pair(
    folder: Path,
    pid: str,
    *,
    w: int = 160,
    h: int = 120,
    seed: int = 0,
    with_mask: bool = True,
    verdict: str = "review",
    background: bool = False,
) -> dict:
    """A product (a filled circle) on a light background, an edit with a leftover logo, evidence
    images and the model's product mask: the shape of one ``maskgate check`` record."""
    rng = np.random.default_rng(seed)
    orig = np.full((h, w, 3), 235, np.uint8)
    orig += rng.integers(0, 8, orig.shape, dtype=np.uint8)
    cv2.circle(orig, (w // 2, h // 2), min(w, h) // 4, (200, 40, 40), -1)
    cv2.putText(orig, "LOGO", (4, h - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (10, 10, 10), 1)
    edit = orig.copy()
    edit[h - 24 :, : w // 3] = 240
    mask = np.zeros((h, w), np.uint8)
    cv2.circle(mask, (w // 2, h // 2), min(w, h) // 4, 255, -1)
    heat = cv2.applyColorMap(((1 - mask / 255) * 200).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
    write_image(folder / "images" / f"{pid}_orig.png", orig)
    write_image(folder / "images" / f"{pid}_edit.png", edit)
    write_image(folder / "evidence" / pid / "residue_heatmap.png", heat)
    images = {"heatmap": f"evidence/{pid}/residue_heatmap.png"}
    if with_mask:
        cv2.imwrite(str(folder / "evidence" / pid / "product_mask.png"), mask)
        images["product_mask"] = f"evidence/{pid}/product_mask.png"
    crit = {
        name: {"pass": True, "score": 0.9, "evidence": {}}
        for name in ("residue", "segmentation", "quality", "comprehensibility", "consistency")
    }
    crit["residue"] = {"pass": None, "score": 0.5, "evidence": {"images": images}}
    crit["background"] = {"pass": True, "score": 0.8, "evidence": {}} if background else None
    return {
        "id": pid,
        "original": f"images/{pid}_orig.png",
        "edited": f"images/{pid}_edit.png",
        "kind": "text_removed",
        "verdict": verdict,
        "score": 0.5,
        "criteria": crit,
        "source_overlay": True,
        "notes": [],
        "error": None,
    }


@pytest.fixture
def results_dir(tmp_path) -> Path:
    """4 review pairs (one with a new background), 1 accepted pair, and the results.jsonl."""
    folder = tmp_path / "check"
    recs = [make_pair(folder, f"p{i}", seed=i, background=(i == 1)) for i in range(4)]
    recs.append(make_pair(folder, "ok0", verdict="accept", seed=9))
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, app, **config):
        """``config``: more ``uvicorn.Config`` options (e.g. ``forwarded_allow_ips``)."""
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", **config
        )
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


# ------------------------------------------------------------ a live app with 4 pairs, overlap 2
PW = "correct-horse-1"


@pytest.fixture
def live(engine, results_dir):
    rep = import_results(engine, results_dir / "results.jsonl", overlap=2, segment=None)
    assert rep.imported == 4 and not rep.problems
    add_user(engine, "alice", PW)
    add_user(engine, "bob", PW)
    add_user(engine, "root", PW, "admin")
    with LiveServer(create_app(engine, Settings(gold_every=0))) as srv:
        yield srv


def login(base: str, user: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    page = c.get("/login").text
    tok = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    r = c.post("/login", data={"username": user, "password": PW, "csrf": tok, "next": "/review"})
    assert r.status_code == 303, r.text
    tok = re.search(r'name="csrf-token" content="([^"]+)"', c.get("/review").text).group(1)
    return c, tok


def all_answers(task: dict, value: bool = True) -> dict:
    return {q["key"]: value for q in task["questions"]}
