"""Engine and migrations. SQLite (WAL) by default, PostgreSQL by URL.

SQLite note: pysqlite's own transaction handling is switched off so that SQLAlchemy's BEGIN is
the one that runs; queue writes then ask for ``BEGIN IMMEDIATE`` (take the write lock up front)
instead of upgrading a read lock mid-transaction, which is what deadlocks under concurrency.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL = "sqlite:///maskgate-review.db"
MIGRATIONS = Path(__file__).with_name("migrations")


def default_url() -> str:
    return os.environ.get("MASKGATE_DB", DEFAULT_URL)


def make_engine(url: str | None = None, *, pool_size: int = 10) -> Engine:
    url = url or default_url()
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _rec):
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            immediate = conn.get_execution_options().get("sqlite_immediate")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def writer(engine: Engine) -> Engine:
    """An engine view whose transactions take the write lock at BEGIN on SQLite."""
    return engine.execution_options(sqlite_immediate=True) if is_sqlite(engine) else engine


_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction. On SQLite, writers of this process also queue on a Python lock first:
    SQLite's busy handler polls with sleeps of up to 100 ms, which is what a waiting writer
    would otherwise pay; a lock hands over at once. Other processes still wait on the file lock."""
    if not is_sqlite(engine):
        with engine.begin() as conn:
            yield conn
        return
    key = id(engine.pool)
    with _locks_guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock, writer(engine).begin() as conn:
        yield conn


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent; runs on serve and import)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_db(url: str | None = None) -> Engine:
    engine = make_engine(url)
    migrate(engine)
    return engine
