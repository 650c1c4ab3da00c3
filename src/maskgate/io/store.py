"""Where a check run's records go: ``results.jsonl`` as always, or Parquet parts for large runs.

Both stores are resumable (``done_ids`` is what a rerun skips) and safe against a crash mid-write:

- **JSONL** appends one whole line per record and flushes it; only the last line can be torn by a
  kill, and opening the store cuts it off (its pair is redone). It needs a filesystem that can
  append: local disks and ``memory://``; object stores cannot (use Parquet there).
- **Parquet** buffers records and writes them as immutable part files
  (``results.parquet/part-<run>-<n>.parquet``). A part appears whole or not at all: written to a
  hidden temporary name and renamed on local disks, put as one object on object stores. A kill
  loses the buffer, whose pairs are redone. Each row carries the record's typed columns for
  queries (DuckDB, Polars, Spark) and the full record line (``record``), which reads back exactly.

The store is written by one process, the run's driver: worker processes and Ray actors return
records to it, so no two writers ever append to the same file.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, Literal, Protocol

from maskgate.core.record import PairRecord, RecordError, iter_records
from maskgate.io import uri

Format = Literal["jsonl", "parquet"]
FORMATS: tuple[Format, ...] = ("jsonl", "parquet")
JSONL = "results.jsonl"
PARQUET = "results.parquet"


class StoreError(ValueError):
    """An output store that cannot be used as asked (the message says what to do instead)."""


class ResultStore(Protocol):
    location: str | Path

    def done_ids(self) -> set[str]: ...

    def append(self, rec: PairRecord) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...

    def verdicts(self) -> Iterator[tuple[str, str]]: ...

    def records(self) -> Iterator[PairRecord]: ...


def open_store(out: str | Path, fmt: Format = "jsonl", **kw: Any) -> ResultStore:
    """The store of format ``fmt`` in the run folder ``out`` (a local folder or an fsspec URI)."""
    if fmt == "jsonl":
        return JsonlStore(out)
    if fmt == "parquet":
        return ParquetStore(out, **kw)
    raise StoreError(f"unknown output format {fmt!r} (expected one of {', '.join(FORMATS)})")


def repair_tail(data: bytes) -> tuple[set[str], bytes | None]:
    """(ids of the whole records in a JSONL file's ``data``, the bytes to write back or None).

    Only the LAST line can be torn (one writer, whole lines): it is cut off and its pair redone. A
    whole last record without its newline gets one, or the next append would join it. An
    unreadable line in the middle (edited by hand?) is left as it is and its pair not counted as
    done; it is never a reason to drop the good lines after it."""
    lines = data.split(b"\n")
    ids: set[str] = set()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            ids.add(str(rec["id"]))
        except (ValueError, KeyError, TypeError):
            if i == len(lines) - 1:  # torn tail from a kill: drop it
                return ids, data[: len(data) - len(line)]
            continue
        if i == len(lines) - 1:
            return ids, data + b"\n"
    return ids, None


def local_done_ids(path: Path) -> set[str]:
    """Ids in a local JSONL file, its tail repaired in place (earlier lines are never rewritten)."""
    if not path.exists():
        return set()
    data = path.read_bytes()
    ids, fixed = repair_tail(data)
    if fixed is not None and len(fixed) < len(data):
        with path.open("r+b") as f:
            f.truncate(len(fixed))
    elif fixed is not None:
        with path.open("ab") as f:
            f.write(b"\n")
    return ids


class JsonlStore:
    """``results.jsonl`` in the run folder (see module doc). ``writing=False``: opened to be read
    (the report), which any filesystem can do, appending or not."""

    def __init__(self, out: str | Path, writing: bool = True):
        self.location = uri.join(out, JSONL)
        self._local = uri.local_path(self.location)
        self._fh: Any = None
        if self._local is None and writing:
            fs, _ = uri.filesystem(str(self.location))
            if not can_append(fs):
                raise StoreError(
                    f"{self.location}: this filesystem cannot append to a file, which results.jsonl "
                    "needs; write --format parquet there, or a local folder"
                )

    def done_ids(self) -> set[str]:
        if self._local is not None:
            return local_done_ids(self._local)
        try:
            data = uri.read_bytes(str(self.location), cap=1 << 62)
        except uri.UriError:  # not there yet, or empty
            return set()
        ids, fixed = repair_tail(data)
        if fixed is not None:
            uri.write_bytes(str(self.location), fixed)
        return ids

    def append(self, rec: PairRecord) -> None:
        line = (rec.to_line() + "\n").encode("utf-8")
        if self._local is not None:
            if self._fh is None:
                self._local.parent.mkdir(parents=True, exist_ok=True)
                self._fh = self._local.open("ab")
            self._fh.write(line)
            self._fh.flush()
            return
        # A remote file is only written on close: one open-append-close per record keeps each
        # record durable as it finishes, at the cost of rewriting the object (memory:// or an
        # appendable store; object stores take Parquet).
        fs, p = uri.filesystem(str(self.location))
        with fs.open(p, "ab") as f:
            f.write(line)

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def records(self) -> Iterator[PairRecord]:
        """The readable records, in file order; a torn or foreign line is skipped, as the report
        always has (the review importer lists them instead, through ``iter_records``)."""
        if self._local is not None:
            if self._local.exists():
                yield from (r for _, r in iter_records(self._local) if isinstance(r, PairRecord))
            return
        try:
            data = uri.read_bytes(str(self.location), cap=1 << 62)
        except uri.UriError:  # not there (yet), or empty: no records
            return
        for line in data.splitlines():
            if not line.strip():
                continue
            try:
                yield PairRecord.from_json(json.loads(line))
            except (ValueError, RecordError):
                continue

    def verdicts(self) -> Iterator[tuple[str, str]]:
        if self._local is not None:
            if not self._local.exists():
                return
            data = self._local.read_bytes()
        else:
            try:
                data = uri.read_bytes(str(self.location), cap=1 << 62)
            except uri.UriError:
                return
        for line in data.splitlines():  # bytes: a hand-edited line may not be UTF-8
            try:
                rec = json.loads(line)
                yield str(rec["id"]), rec["verdict"]
            except (ValueError, KeyError, TypeError):
                continue


def can_append(fs: Any) -> bool:
    """Whether ``fs`` can append to an object; known by protocol, since object stores (s3, gcs,
    azure) accept an append mode on some versions only by rewriting or not at all."""
    protocols = fs.protocol if isinstance(fs.protocol, tuple | list) else (fs.protocol,)
    return bool({"memory", "file", "local"} & set(protocols))


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as e:
        raise StoreError("--format parquet needs pyarrow: pip install 'maskgate[parquet]'") from e
    return pa, pq


class ParquetStore:
    """``results.parquet/`` part files in the run folder (see module doc)."""

    def __init__(self, out: str | Path, rows_per_part: int = 1000, seconds_per_part: float = 60.0):
        self.location = uri.join(out, PARQUET)
        self.rows_per_part = rows_per_part
        self.seconds_per_part = seconds_per_part
        self._buf: list[PairRecord] = []
        self._since = time.monotonic()
        self._run = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        self._n = 0
        self._pa, self._pq = _pyarrow()
        self._fs, self._dir = uri.filesystem(str(self.location))

    def _parts(self) -> list[str]:
        if not self._fs.exists(self._dir):
            return []
        return sorted(
            p for p in self._fs.ls(self._dir, detail=False) if p.rsplit("/", 1)[-1].startswith("part-")
        )

    def _clean(self) -> None:
        """Temporaries a kill left behind are not results: removed, their pairs redone."""
        if not self._fs.exists(self._dir):
            return
        for p in self._fs.ls(self._dir, detail=False):
            if p.rsplit("/", 1)[-1].startswith(".tmp-"):
                self._fs.rm(p)

    def done_ids(self) -> set[str]:
        self._clean()
        ids: set[str] = set()
        for p in self._parts():
            try:
                with self._fs.open(p, "rb") as f:
                    col = self._pq.read_table(f, columns=["id"]).column("id")
            except Exception:  # noqa: BLE001 - a damaged part (copied in by hand?): set aside, redone
                self._fs.mv(p, p.rsplit("/", 1)[0] + "/unreadable-" + p.rsplit("/", 1)[-1])
                continue
            ids.update(str(x) for x in col.to_pylist())
        return ids

    def append(self, rec: PairRecord) -> None:
        self._buf.append(rec)
        if len(self._buf) >= self.rows_per_part or time.monotonic() - self._since >= self.seconds_per_part:
            self.flush()

    def flush(self) -> None:
        if not self._buf:
            return
        pa, pq = self._pa, self._pq
        recs, self._buf = self._buf, []
        self._since = time.monotonic()
        table = pa.table(
            {
                "id": pa.array([r.id for r in recs], pa.string()),
                "verdict": pa.array([r.verdict for r in recs], pa.string()),
                "kind": pa.array([r.kind for r in recs], pa.string()),
                "score": pa.array([r.score for r in recs], pa.float64()),
                "error": pa.array([r.error for r in recs], pa.string()),
                "record": pa.array([r.to_line() for r in recs], pa.string()),
            }
        )
        self._n += 1
        name = f"part-{self._run}-{self._n:05d}.parquet"
        self._fs.makedirs(self._dir, exist_ok=True)
        local = uri.local_path(self.location)
        if local is not None:  # atomic on one filesystem: a part is never seen half-written
            tmp = local / f".tmp-{name}"
            pq.write_table(table, tmp)
            os.replace(tmp, local / name)
        else:
            with self._fs.open(f"{self._dir}/{name}", "wb") as f:  # one object, put on close
                pq.write_table(table, f)

    def close(self) -> None:
        self.flush()

    def records(self) -> Iterator[PairRecord]:
        for p in self._parts():
            with self._fs.open(p, "rb") as f:
                for line in self._pq.read_table(f, columns=["record"]).column("record").to_pylist():
                    yield PairRecord.from_json(json.loads(line))

    def verdicts(self) -> Iterator[tuple[str, str]]:
        for p in self._parts():
            with self._fs.open(p, "rb") as f:
                t = self._pq.read_table(f, columns=["id", "verdict"])
            yield from zip(t.column("id").to_pylist(), t.column("verdict").to_pylist(), strict=True)


def find_results(path: str | Path) -> tuple[ResultStore, str | Path]:
    """(the store, the run folder its records' relative paths start from) for what a user names as
    a check run's results: the run folder (local or a URI), its ``results.jsonl``, or its
    ``results.parquet`` folder. Raises StoreError naming what was looked for."""
    loc = uri.local_path(path)
    p: str | Path = loc if loc is not None else str(path).rstrip("/")
    name = PurePosixPath(str(p)).name
    if name == JSONL:  # a named results.jsonl that is not there yet reads as no records
        if loc is not None and not (loc.is_file() or not loc.exists()):
            raise StoreError(f"not a results file: {p} is not a regular file")
        return JsonlStore(uri.parent(p), writing=False), uri.parent(p)
    if name == PARQUET:
        if not _exists(p):
            raise StoreError(f"no such results file: {p}")
        return ParquetStore(uri.parent(p)), uri.parent(p)
    has = [f for f in (JSONL, PARQUET) if _exists(uri.join(p, f))]
    if len(has) == 2:
        raise StoreError(
            f"{p} holds both {JSONL} and {PARQUET}/: name the one to read ({uri.join(p, JSONL)} or "
            f"{uri.join(p, PARQUET)})"
        )
    if not has:
        raise StoreError(
            f"no such results file: {p} (give a `maskgate check` output folder, its {JSONL} or its {PARQUET})"
        )
    return (JsonlStore(p, writing=False) if has[0] == JSONL else ParquetStore(p)), p


def _exists(p: str | Path) -> bool:
    loc = uri.local_path(p)
    return loc.exists() if loc is not None else uri.exists(str(p))


def local_dir(out: str | Path) -> Path | None:
    """The run folder as a local Path (to lock it, to write the HTML report), or None for a URI."""
    return uri.local_path(out)
