"""User accounts (admin, reviewer) and their login sessions.

Sessions live in the database (``auth_sessions``) rather than in the cookie, so that ending one
takes effect at once: logging out and changing a password end every session of that user, and an
admin can end them too (``maskgate user revoke``, or the admin page). The cookie holds only the
signed random id.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, select, update

from maskgate.review.db import sessions, write_transaction, writer
from maskgate.review.schema import AuthSession, User
from maskgate.review.security import hash_password, id_hash, new_token, verify_password

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
    with sessions(writer(engine)).begin() as s:
        u = s.scalar(select(User).where(User.username == username))
        if u is not None and not update:
            raise AccountError(f"user {username!r} exists (use --update to change password or role)")
        if u is None:
            u = User(username=username, created_at=time.time(), served=0, password_hash="", role=role)
            s.add(u)
        if u.id is not None:
            # A password change must lock out whoever had the old one: end every session.
            _revoke(s, u.id, time.time())
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

SESSION_HOURS = 12.0
TOUCH_EVERY = 60.0  # seconds between last_seen writes: a write per request would queue on SQLite's lock


@dataclass(frozen=True)
class LiveSession:
    account: Account
    csrf: str
    id_hash: str


def start_session(
    engine: Engine, user_id: int, client: str | None = None, hours: float = SESSION_HOURS
) -> str:
    """A new session for ``user_id``; returns the id the cookie carries (only its hash is kept).
    Sessions that expired a day ago are dropped here, so the table does not grow without end."""
    sid, now = new_token(), time.time()
    with sessions(writer(engine)).begin() as s:
        s.execute(delete(AuthSession).where(AuthSession.expires_at < now - 86400))
        s.add(
            AuthSession(
                id_hash=id_hash(sid),
                user_id=user_id,
                csrf=new_token(),
                created_at=now,
                last_seen=now,
                expires_at=now + hours * 3600,
                client=(client or "")[:64] or None,
            )
        )
    return sid


def session_for(engine: Engine, sid: str | None) -> LiveSession | None:
    """The session ``sid`` names, if it is neither revoked nor expired and its user still exists.
    The role is read from the user on every request, so a changed role counts at once."""
    if not sid:
        return None
    h, now = id_hash(sid), time.time()
    with sessions(engine)() as s:
        row = s.execute(
            select(AuthSession, User)
            .join(User, User.id == AuthSession.user_id)
            .where(AuthSession.id_hash == h)
        ).first()
        if row is None:
            return None
        a, u = row
        if a.revoked_at is not None or a.expires_at <= now:
            return None
        live = LiveSession(Account(u.id, u.username, u.role), a.csrf, h)
        stale = now - a.last_seen > TOUCH_EVERY
    if stale:
        # A write transaction of its own: on SQLite, upgrading the read above to a write would
        # fail at once (SQLITE_BUSY) whenever another writer committed in between.
        with write_transaction(engine) as c:
            c.execute(update(AuthSession).where(AuthSession.id_hash == h).values(last_seen=now))
    return live


def _revoke(s, user_id: int, now: float) -> int:
    res = s.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return res.rowcount or 0


def end_session(engine: Engine, h: str) -> None:
    with sessions(writer(engine)).begin() as s:
        s.execute(
            update(AuthSession)
            .where(AuthSession.id_hash == h, AuthSession.revoked_at.is_(None))
            .values(revoked_at=time.time())
        )


def revoke_sessions(engine: Engine, user_id: int) -> int:
    """End every session of a user; returns how many were live (or at least not yet revoked)."""
    with sessions(writer(engine)).begin() as s:
        return _revoke(s, user_id, time.time())


def revoke_user(engine: Engine, username: str) -> int:
    with sessions(engine)() as s:
        uid = s.scalar(select(User.id).where(User.username == username))
    if uid is None:
        raise AccountError(f"no user {username!r}")
    return revoke_sessions(engine, uid)


@dataclass(frozen=True)
class SessionCount:
    user_id: int
    username: str
    live: int
    last_seen: float | None


def live_sessions(engine: Engine) -> list[SessionCount]:
    """Per user: live sessions and when one was last used (for the admin page)."""
    now = time.time()
    with sessions(engine)() as s:
        rows = s.execute(
            select(User.id, User.username, func.count(AuthSession.id_hash), func.max(AuthSession.last_seen))
            .outerjoin(
                AuthSession,
                (AuthSession.user_id == User.id)
                & AuthSession.revoked_at.is_(None)
                & (AuthSession.expires_at > now),
            )
            .group_by(User.id, User.username)
            .order_by(User.username)
        ).all()
    return [SessionCount(i, n, c, ls) for i, n, c, ls in rows]
