"""Paths that may be URIs: ``file://``, ``memory://``, ``s3://``, ``gs://``... read through fsspec.

A local path (no scheme, or ``file://``) stays a local path, so everything :mod:`maskgate.io.images`
does to protect a run from a user's files (refusing pipes and devices before opening them) still
applies to it. Any other URI is read through fsspec, whose filesystem packages (``s3fs``,
``gcsfs``) the user installs; those reads are capped in size, since a remote "image" can be of any
length and is read into memory whole.
"""

from __future__ import annotations

import os
import posixpath
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# An object read into memory whole (an image, a manifest): the biggest catalogue shot we process
# (200 MP) compresses to well under this; anything larger is refused before it is read.
MAX_READ_BYTES = 512 * 1024 * 1024

# "C:\\x" is a Windows path, not a URI with scheme "c": a scheme has two letters or more.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")


class UriError(OSError):
    """A URI that cannot be read or written; the message names it and the reason."""


def scheme(path: str | Path) -> str | None:
    """The URI scheme of ``path`` (``"memory"``, ``"s3"``), or None for a plain local path."""
    if isinstance(path, Path):
        return None
    m = _SCHEME.match(path)
    return m.group(1).lower() if m else None


def local_path(path: str | Path) -> Path | None:
    """``path`` as a local :class:`Path` when it names a local file (plain or ``file://``), else None."""
    s = scheme(path)
    if s is None:
        return Path(path)
    if s in ("file", "local"):
        return Path(str(path).split("://", 1)[1])
    return None


def is_remote(path: str | Path) -> bool:
    """True when ``path`` is read through fsspec rather than as a local file."""
    return local_path(path) is None


# Filesystems that live inside one process: another process (a Ray actor) sees none of their
# files, so what it reads must be sent to it and what it writes sent back.
PROCESS_LOCAL = frozenset({"memory"})


def process_local(path: str | Path) -> bool:
    return scheme(path) in PROCESS_LOCAL


def join(base: str | Path, *parts: str) -> str | Path:
    """``base`` joined with relative ``parts``: a Path for a local base, a URI string for a URI."""
    loc = local_path(base)
    if loc is not None:
        return loc.joinpath(*parts)
    return posixpath.join(str(base).rstrip("/"), *parts)


def parent(path: str | Path) -> str | Path:
    loc = local_path(path)
    if loc is not None:
        return loc.parent
    head, _, _ = str(path).rstrip("/").rpartition("/")
    return head


def is_dir(uri: str) -> bool:
    """Whether ``uri`` is a folder (on an object store: a prefix with objects under it); a missing
    or unreachable one is not."""
    fs, p = filesystem(uri)
    try:
        return bool(fs.isdir(p))
    except Exception:  # noqa: BLE001 - each backend raises its own types (permissions, network)
        return False


def find_files(uri: str) -> list[str]:
    """Every file under the folder ``uri``, recursively, as URIs in the form ``uri`` was given
    (``memory://in`` lists ``memory://in/sub/a.png``, not fsspec's internal ``/in/sub/a.png``)."""
    fs, p = filesystem(uri)
    base = p.rstrip("/")
    try:
        found = fs.find(base)
    except Exception as e:  # noqa: BLE001 - as above
        raise UriError(f"cannot list {uri}: {type(e).__name__}: {e}") from None
    root = uri.rstrip("/")
    return sorted(posixpath.join(root, f[len(base) :].lstrip("/")) for f in found if f.startswith(base + "/"))


def exists(uri: str) -> bool:
    fs, p = filesystem(uri)
    try:
        return bool(fs.exists(p))
    except Exception:  # noqa: BLE001 - as above
        return False


def filesystem(uri: str) -> tuple[Any, str]:
    """(fsspec filesystem, path inside it) for a URI; a missing filesystem package is a UriError
    that says which one to install."""
    try:
        from fsspec.core import url_to_fs
    except ImportError as e:  # fsspec is a dependency; a broken install still gets a clear message
        raise UriError(f"reading {uri} needs fsspec: pip install fsspec") from e
    try:
        return url_to_fs(uri)
    except (ImportError, ValueError) as e:  # fsspec: "Install s3fs to access S3", unknown protocol
        raise UriError(f"cannot open {uri}: {e}") from None


def read_bytes(uri: str, cap: int | None = None) -> bytes:
    """The whole object at ``uri``, refused (UriError) when it is missing or larger than ``cap``.

    The size is asked first where the filesystem knows it, and the read itself stops at ``cap + 1``
    bytes, so a filesystem that does not report sizes still cannot make us hold more (default cap:
    :data:`MAX_READ_BYTES`)."""
    cap = MAX_READ_BYTES if cap is None else cap
    fs, p = filesystem(uri)
    try:
        info = fs.info(p)
    except FileNotFoundError:
        raise UriError(f"file not found: {uri}") from None
    except Exception as e:  # noqa: BLE001 - each backend raises its own types (permissions, network)
        raise UriError(f"cannot read {uri}: {type(e).__name__}: {e}") from None
    if info.get("type") == "directory":
        raise UriError(f"is a folder, not a file: {uri}")
    size = info.get("size")
    if size is not None and size > cap:
        raise UriError(f"file too large to read: {uri} is {size} bytes (limit {cap})")
    if size == 0:
        raise UriError(f"empty file (0 bytes): {uri}")
    try:
        with fs.open(p, "rb") as fh:
            data = fh.read(cap + 1)
    except Exception as e:  # noqa: BLE001 - as above
        raise UriError(f"cannot read {uri}: {type(e).__name__}: {e}") from None
    if len(data) > cap:
        raise UriError(f"file too large to read: {uri} is over {cap} bytes")
    if not data:
        raise UriError(f"empty file (0 bytes): {uri}")
    return data


def remove(uri: str) -> None:
    fs, p = filesystem(uri)
    try:
        fs.rm(p)
    except FileNotFoundError:
        pass


def write_bytes(uri: str, data: bytes) -> None:
    """Write one whole object; object stores make it visible all at once or not at all, as does
    ``memory://`` (a local path goes through :func:`atomic_local` instead)."""
    fs, p = filesystem(uri)
    try:
        fs.pipe_file(p, data)
    except Exception as e:  # noqa: BLE001 - each backend raises its own types
        raise UriError(f"cannot write {uri}: {type(e).__name__}: {e}") from None


# The hidden name a local file is written under before it is renamed into place (see
# ``atomic_local``): a leftover from a killed run is recognisable, and no reader takes it for a result.
TMP_MARK = ".maskgate-tmp-"


@contextmanager
def atomic_local(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed over ``path`` when the block ends
    without an error, removed when it raises. The rename is atomic on one filesystem, so a reader
    (or a resumed run) sees the old file or the whole new one, never a half-written one, whatever
    kills the writer. (A kill -9 leaves the hidden temporary file, which nothing reads.)"""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}{TMP_MARK}{uuid.uuid4().hex[:12]}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
