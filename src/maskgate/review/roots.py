"""Which folders the app may serve images from.

A root row is either a *base* (items name their files relative to it) or *allowed* (images inside
it may be served), or both. Only allowed roots grant anything: an admin registers one with
``maskgate review roots add DIR``, and an import allows exactly the folders its files are in
(the results file's folder for files inside it, else each file's own folder), never a common
parent and never a file system root. Every read of a user's image (the file route, heatmap
overlays, mask refinement) goes through :func:`served_path`, which resolves the real path
(symlinks included) and checks it lies inside an allowed root.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from maskgate.review.db import writer
from maskgate.review.schema import Item, Root
from maskgate.review.security import UnsafePathError, is_filesystem_root, safe_join

R = Root.__table__


class RootError(ValueError):
    pass


@dataclass(frozen=True)
class RootInfo:
    id: int
    path: str
    allowed: bool
    added_by: str
    items: int


def real_folder(path: str | Path) -> Path:
    """The folder a root may be: an existing directory, by its real path, not a file system root."""
    p = Path(path).expanduser().resolve()
    if not p.is_dir():
        raise RootError(f"not a folder: {path}")
    if is_filesystem_root(p):
        raise RootError(f"{p} is a file system root: register the folders that hold the images")
    return p


def ensure_root(c: Connection, path: Path, *, allowed: bool, added_by: str) -> int:
    """The id of the root row for ``path``, created if missing; ``allowed`` only ever turns a
    row on here, never off (a base that is also some item's allowed folder stays allowed)."""
    key = str(path)
    row = c.execute(select(R.c.id, R.c.allowed).where(R.c.path == key)).first()
    if row is None:
        return c.execute(
            insert(R)
            .values(path=key, allowed=allowed, added_by=added_by, created_at=time.time())
            .returning(R.c.id)
        ).scalar_one()
    if allowed and not row.allowed:
        c.execute(update(R).where(R.c.id == row.id).values(allowed=True, added_by=added_by))
    return row.id


def add_root(engine: Engine, path: str | Path) -> RootInfo:
    p = real_folder(path)
    with writer(engine).begin() as c:
        rid = ensure_root(c, p, allowed=True, added_by="admin")
        c.execute(update(R).where(R.c.id == rid).values(added_by="admin"))
    return next(r for r in list_roots(engine) if r.id == rid)


def list_roots(engine: Engine) -> list[RootInfo]:
    with engine.connect() as c:
        counts = {k: v for k, v in c.execute(select(Item.root_id, func.count()).group_by(Item.root_id))}
        rows = c.execute(select(R.c.id, R.c.path, R.c.allowed, R.c.added_by).order_by(R.c.path)).all()
    return [RootInfo(r.id, r.path, bool(r.allowed), r.added_by, counts.get(r.id, 0)) for r in rows]


def remove_root(engine: Engine, which: str) -> RootInfo:
    """Stop serving from a root (``which``: its id or path). The row stays while items use it as
    their base, so their paths still mean the same; nothing under it is served any more unless
    another allowed root holds it."""
    roots = list_roots(engine)
    key = str(Path(which).expanduser().resolve()) if not which.isdigit() else None
    found = [r for r in roots if (str(r.id) == which if key is None else r.path in (which, key))]
    if not found:
        raise RootError(f"no root {which!r} (see `maskgate review roots list`)")
    r = found[0]
    with writer(engine).begin() as c:
        if r.items:
            c.execute(update(R).where(R.c.id == r.id).values(allowed=False))
        else:
            c.execute(delete(R).where(R.c.id == r.id))
    return RootInfo(r.id, r.path, False, r.added_by, r.items)


def ancestors(p: Path) -> list[str]:
    return [str(a) for a in (p, *p.parents)]


def allowed_paths(c: Connection) -> set[str]:
    return set(c.execute(select(R.c.path).where(R.c.allowed)).scalars())


def inside_any(p: Path, allowed: Iterable[str]) -> bool:
    s = set(allowed)
    return any(a in s for a in ancestors(p))


def served_path(s: Session, root_id: int, rel: str) -> Path:
    """The real file ``rel`` names under base ``root_id``, if an allowed root holds it.

    Raises ``LookupError`` for an unknown base and ``UnsafePathError`` for a path that leaves its
    base or lies outside every allowed root. One indexed look-up: the real path's ancestors
    against ``roots.path``."""
    base = s.get(Root, root_id)
    if base is None:
        raise LookupError("no such root")
    real = safe_join(base.path, rel)  # resolves symlinks; refuses "..", absolute, leaving the base
    hit = s.scalar(select(R.c.id).where(R.c.allowed, R.c.path.in_(ancestors(real.parent))).limit(1))
    if hit is None:
        raise UnsafePathError("not inside an allowed image folder")
    return real


def read_path(db: sessionmaker[Session], root_id: int, rel: str) -> Path:
    """:func:`served_path` in a session of its own."""
    with db() as s:
        return served_path(s, root_id, rel)
