"""Load test of the review queue: N concurrent reviewers against a queue of T tasks.

Each reviewer thread loops "next task" -> "submit" (with a small mask) for a fixed number of
tasks, timing both calls. These are the library calls the HTTP handlers make (queue.next_task,
queue.submit), so the numbers are the database path under concurrency, without HTTP parsing.

    python bench/review_load.py --backend sqlite --backend postgres   # postgres needs MASKGATE_TEST_PG_URL
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from maskgate.review.accounts import add_user
from maskgate.review.db import open_db
from maskgate.review.importer import bulk_add
from maskgate.review.masks import encode_rle
from maskgate.review.queue import AnswerIn, next_task, submit


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] * 1000


def run(url: str, tasks: int, reviewers: int, per_reviewer: int, think_ms: float = 0.0) -> dict:
    engine = open_db(url)
    t = time.perf_counter()
    bulk_add(
        engine,
        tempfile.gettempdir(),
        [{"ext_id": f"t{i}", "original": f"o{i}.png", "edited": f"e{i}.png"} for i in range(tasks)],
        overlap=1,
    )
    setup = time.perf_counter() - t
    users = [add_user(engine, f"bench{i}", "bench-password").id for i in range(reviewers)]
    m = np.zeros((300, 400), bool)
    m[50:250, 100:300] = True
    rle = encode_rle(m)
    lat_next: list[float] = []
    lat_submit: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(reviewers)

    def work(uid: int) -> None:
        mine_n, mine_s = [], []
        rng = np.random.default_rng(uid)
        barrier.wait()
        for _ in range(per_reviewer):
            if think_ms:
                time.sleep(rng.exponential(think_ms / 1000))
            t0 = time.perf_counter()
            task = next_task(engine, uid, gold_every=0)
            mine_n.append(time.perf_counter() - t0)
            if task is None:
                break
            t0 = time.perf_counter()
            submit(
                engine,
                uid,
                task.assignment_id,
                AnswerIn(q1=False, q2=False, labels={"residue": True}, acceptable=True, mask=rle),
            )
            mine_s.append(time.perf_counter() - t0)
        with lock:
            lat_next.extend(mine_n)
            lat_submit.extend(mine_s)

    threads = [threading.Thread(target=work, args=(u,)) for u in users]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t
    engine.dispose()
    return {
        "setup_s": setup,
        "wall_s": wall,
        "n": len(lat_submit),
        "next_p50": pct(lat_next, 50),
        "next_p95": pct(lat_next, 95),
        "submit_p50": pct(lat_submit, 50),
        "submit_p95": pct(lat_submit, 95),
        "throughput": len(lat_submit) / wall,
        "mean_next": statistics.fmean(lat_next) * 1000,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", action="append", choices=["sqlite", "postgres"])
    ap.add_argument("--tasks", type=int, default=100_000)
    ap.add_argument("--reviewers", type=int, default=20)
    ap.add_argument("--per-reviewer", type=int, default=100, help="tasks each reviewer does")
    ap.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="mean pause between a reviewer's tasks (0: closed loop, every reviewer hammering)",
    )
    ap.add_argument(
        "--pg-url",
        default=os.environ.get("MASKGATE_TEST_PG_URL"),
        help="server URL; a fresh database is created on it and dropped after",
    )
    a = ap.parse_args()
    rows = []
    for backend in a.backend or ["sqlite", "postgres"]:
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as d:
                rows.append(
                    (
                        "SQLite (WAL)",
                        run(
                            f"sqlite:///{Path(d) / 'bench.db'}",
                            a.tasks,
                            a.reviewers,
                            a.per_reviewer,
                            a.think_ms,
                        ),
                    )
                )
        else:
            if not a.pg_url:
                print(
                    'postgres: no --pg-url / MASKGATE_TEST_PG_URL (eval "$(scripts/pg_temp.sh start)")',
                    file=sys.stderr,
                )
                continue
            name = "bench_" + uuid.uuid4().hex[:8]
            admin = create_engine(a.pg_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                url = make_url(a.pg_url).set(database=name).render_as_string(hide_password=False)
                rows.append(("PostgreSQL 15", run(url, a.tasks, a.reviewers, a.per_reviewer, a.think_ms)))
            finally:
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(
        f"{a.reviewers} concurrent reviewers, {a.tasks:,} tasks, {a.per_reviewer} tasks each, "
        f"think time {a.think_ms:g} ms\n"
    )
    print(
        "| backend | tasks done | next p50 (ms) | next p95 (ms) | submit p50 (ms) | submit p95 (ms) | tasks/s |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, r in rows:
        print(
            f"| {name} | {r['n']:,} | {r['next_p50']:.1f} | {r['next_p95']:.1f} | {r['submit_p50']:.1f} "
            f"| {r['submit_p95']:.1f} | {r['throughput']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
