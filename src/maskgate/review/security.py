"""Passwords, session ids, CSRF tokens and safe file paths."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path, PurePosixPath

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, Signer

_hasher = PasswordHasher()
MAX_BODY_BYTES = 32 * 1024 * 1024  # a 4000x3000 mask PNG is well under 1 MB; this also bounds forms


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def id_hash(session_id: str) -> str:
    """What the database keeps of a session id: enough to find the session, not to use it."""
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def sign(secret: str, value: str, purpose: str) -> str:
    """A cookie value. Signed so that a forged or truncated cookie is refused without a database
    look-up; ``purpose`` keeps a value signed for one cookie from being accepted by another."""
    return Signer(secret, salt=f"maskgate.{purpose}").sign(value).decode("ascii")


def unsign(secret: str, signed: str | None, purpose: str) -> str | None:
    if not signed:
        return None
    try:
        return Signer(secret, salt=f"maskgate.{purpose}").unsign(signed).decode("ascii")
    except (BadSignature, UnicodeError):
        return None


def tokens_match(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


class UnsafePathError(ValueError):
    """A requested path that would leave its root (``..``, absolute, or through a symlink)."""


def safe_join(root: str | Path, rel: str) -> Path:
    """``root/rel`` if and only if it stays inside ``root`` once resolved. Rejects ``..`` parts
    outright (even when they would resolve back inside) so no traversal attempt ever touches
    the file system."""
    if not rel or "\x00" in rel or "\\" in rel:
        raise UnsafePathError("bad path")
    p = PurePosixPath(rel)
    if p.is_absolute() or any(part == ".." for part in p.parts):
        raise UnsafePathError("path leaves its root")
    base = Path(root).resolve()
    full = (base / p).resolve()
    if not full.is_relative_to(base):
        raise UnsafePathError("path leaves its root")
    return full


def is_filesystem_root(path: str | Path) -> bool:
    """``/`` or a drive (``C:\\``): never a folder to serve images from."""
    p = Path(path)
    return p.parent == p
