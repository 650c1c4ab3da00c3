"""User accounts (admin, reviewer)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Engine, select

from maskgate.review.db import sessions
from maskgate.review.schema import User
from maskgate.review.security import hash_password, verify_password

ROLES = ("admin", "reviewer")


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    role: str


class AccountError(ValueError):
    pass


def add_user(
    engine: Engine, username: str, password: str, role: str = "reviewer", *, update: bool = False
) -> Account:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not username or len(username) > 64 or not username.isprintable() or " " in username:
        raise AccountError("username: 1-64 printable characters, no spaces")
    if len(password) < 8:
        raise AccountError("password: at least 8 characters")
    with sessions(engine).begin() as s:
        u = s.scalar(select(User).where(User.username == username))
        if u is not None and not update:
            raise AccountError(f"user {username!r} exists (use --update to change password or role)")
        if u is None:
            u = User(username=username, created_at=time.time(), served=0, password_hash="", role=role)
            s.add(u)
        u.password_hash = hash_password(password)
        u.role = role
        s.flush()
        return Account(u.id, u.username, u.role)


def authenticate(engine: Engine, username: str, password: str) -> Account | None:
    with sessions(engine)() as s:
        u = s.scalar(select(User).where(User.username == username))
        if u is None:
            verify_password(_DUMMY, password)  # same cost whether or not the user exists
            return None
        if not verify_password(u.password_hash, password):
            return None
        return Account(u.id, u.username, u.role)


def get_account(engine: Engine, user_id: int) -> Account | None:
    with sessions(engine)() as s:
        u = s.get(User, user_id)
        return None if u is None else Account(u.id, u.username, u.role)


_DUMMY = hash_password("not-a-real-password")
