"""Read the pairs to check from JSONL, HFPC JSONL, CSV or a folder of originals/ and edited/.

A malformed line becomes an error item (with its line number) instead of stopping the batch: the
user learns about it in results.jsonl next to everything else that did run. That includes a line
that is not UTF-8: each line is decoded on its own, so one Latin-1 byte costs its line, not the run.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from maskgate.core.types import KINDS, Kind
from maskgate.io import uri
from maskgate.io.images import IMAGE_EXTS, UNREAD_IMAGE_EXTS, unsupported_format


@dataclass
class PairSpec:
    id: str
    original: str
    edited: str
    mask: str | None = None
    kind: Kind | None = None
    labels: dict | None = None
    acceptable: bool | None = None
    extra: dict = field(default_factory=dict)
    error: str | None = None  # set when the manifest entry itself is unusable

    def passthrough(self) -> dict:
        """The fields a results record carries on unchanged: labels, acceptable and any other."""
        extra = dict(self.extra)
        if self.labels is not None:
            extra["labels"] = self.labels
        if self.acceptable is not None:
            extra["acceptable"] = self.acceptable
        return extra


def _resolve(base: Path | str, p: str | None) -> str | None:
    if p is None or p == "":
        return None
    if uri.scheme(p) is not None:  # memory://, s3://, file://: already absolute
        return p
    if isinstance(base, str):  # a manifest read from a URI: its relative paths are beside it
        return str(uri.join(base, p))
    q = Path(p).expanduser()
    # absolute, so results.jsonl and the report stay valid from any working directory
    return str(q if q.is_absolute() else (base / q).absolute())


def _flag(v) -> bool | None:
    """A label as people write it (true, 1, "0", "yes", 1.0); None when blank or unreadable."""
    if v is None or isinstance(v, bool):
        return v
    t = str(v).strip().lower()
    if t in ("1", "1.0", "true", "t", "yes", "y", "ok", "acceptable"):
        return True
    if t in ("0", "0.0", "false", "f", "no", "n", "bad", "unacceptable"):
        return False
    return None


parse_flag = _flag  # public: the report's labels reader reads a label the way a manifest does


def _labels(v) -> dict | None:
    if isinstance(v, str) and v.strip().startswith("{"):  # a CSV cell holding the JSON labels
        v = json.loads(v)
    if not isinstance(v, dict):
        return None
    return {k: _flag(x) for k, x in v.items()}


def _kind(v) -> Kind | None:
    if v is None or str(v).strip() == "":
        return None  # the engine detects it
    k = str(v).strip().lower().replace("-", "_")
    if k not in KINDS:
        raise ValueError(f"unknown kind {v!r} (expected one of {', '.join(KINDS)}, or leave it out)")
    return cast(Kind, k)


def _from_record(rec: dict, base: Path | str, where: str) -> PairSpec:
    """One manifest entry; anything unusable in it becomes the item's error, never an exception."""
    try:
        return _spec(rec, base, where)
    except (TypeError, ValueError, AttributeError) as e:
        rid = rec.get("id") if isinstance(rec, dict) else None
        return PairSpec(id=str(rid or where), original="", edited="", error=f"{where}: {e}")


def _spec(rec: dict, base: Path | str, where: str) -> PairSpec:
    if "origin" in rec and "generation" in rec and "original" not in rec:  # HFPC dataset line
        rest = {k: v for k, v in rec.items() if k not in ("origin", "generation", "label")}
        rec = {"original": rec["origin"], "edited": rec["generation"], "acceptable": rec.get("label"), **rest}
    orig, edit = rec.get("original"), rec.get("edited")
    if not orig or not edit:
        return PairSpec(
            id=str(rec.get("id") or where),
            original=str(orig or ""),
            edited=str(edit or ""),
            error=f"{where}: needs 'original' and 'edited'",
        )
    known = {"id", "original", "edited", "mask", "kind", "labels", "acceptable"}
    return PairSpec(
        id=str(rec.get("id") or Path(str(edit)).stem),
        original=_resolve(base, str(orig)) or "",
        edited=_resolve(base, str(edit)) or "",
        mask=_resolve(base, rec.get("mask") and str(rec["mask"])),
        kind=_kind(rec.get("kind")),
        labels=_labels(rec.get("labels")),
        acceptable=_flag(rec.get("acceptable")),
        extra={k: v for k, v in rec.items() if k not in known and v != ""},  # "": a blank CSV cell
    )


@dataclass(frozen=True)
class _RemoteFile:
    """A manifest behind an fsspec URI, with the two parts of a Path the readers use."""

    uri: str

    @property
    def name(self) -> str:
        return self.uri.rstrip("/").rsplit("/", 1)[-1]

    @property
    def parent(self) -> str:
        return str(uri.parent(self.uri))


def _manifest_bytes(path: Path | _RemoteFile) -> bytes:
    """The manifest's bytes, refusing what reading would block on (a pipe) or make no sense of."""
    if isinstance(path, _RemoteFile):  # read whole, with the size cap
        try:
            return uri.read_bytes(path.uri)
        except uri.UriError as e:
            raise ValueError(f"manifest: {e}") from None
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise ValueError(f"manifest is not a regular file (a pipe or device?): {path}")
    return path.read_bytes()


def _lines(path: Path | _RemoteFile) -> Iterator[tuple[int, str, str | None]]:
    """(line number, text, why it is unreadable or None) for every line, decoded one by one.

    A UTF-8 BOM (spreadsheet exports, Notepad) is dropped; a file with a UTF-16 BOM ("Unicode
    text" from a spreadsheet) is decoded as UTF-16 as a whole. Otherwise a line that is not UTF-8
    comes back with the offending byte and its text decoded with replacement characters, so a CSV
    reader keeps its quoting in step. Only ``\\n``, ``\\r\\n`` and ``\\r`` end a line (not the
    Unicode separators a JSON string may hold)."""
    data = _manifest_bytes(path)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"{path.name}: starts with a UTF-16 BOM but is not UTF-16 ({e.reason})") from e
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    for n, raw in enumerate(data.splitlines(keepends=True), 1):  # ends kept: a CSV cell may span lines
        try:
            yield n, raw.decode("utf-8"), None
        except UnicodeDecodeError as e:
            why = (
                f"not UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1}; "
                "Latin-1 or Windows-1252?): save the file as UTF-8"
            )
            yield n, raw.decode("utf-8", errors="replace"), why


def _line_error(path: Path | _RemoteFile, n: int, why: str) -> PairSpec:
    return PairSpec(id=f"line-{n}", original="", edited="", error=f"{path.name} line {n}: {why}")


def _read_jsonl(path: Path | _RemoteFile) -> list[PairSpec]:
    out = []
    for n, line, undecodable in _lines(path):
        if undecodable:
            out.append(_line_error(path, n, undecodable))
            continue
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise ValueError("not a JSON object")
        except ValueError as e:
            out.append(_line_error(path, n, f"invalid JSON ({e})"))
            continue
        out.append(_from_record(rec, path.parent, f"{path.name} line {n}"))
    return out


def _read_csv(path: Path | _RemoteFile) -> list[PairSpec]:
    """Rows by their physical line numbers (a quoted cell may span lines): a row is an error item
    when any line of it is not UTF-8, or holds a NUL byte, or does not parse."""
    texts: list[str] = []
    bad: dict[int, str] = {}
    for n, text, undecodable in _lines(path):
        if "\x00" in text:
            undecodable, text = undecodable or "holds a NUL byte (a binary file?)", text.replace("\x00", "")
        if undecodable:
            bad[n] = undecodable
        texts.append(text)
    if 1 in bad:
        raise ValueError(f"{path.name} line 1 (the header): {bad[1]}")
    reader = csv.reader(texts)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return []
    out = []
    last = reader.line_num
    while True:
        first = last + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            out.append(_line_error(path, first, f"not CSV ({e})"))
            last = reader.line_num
            continue
        last = reader.line_num
        if not row:
            continue
        why = next((f"{path.name} line {i}: {bad[i]}" for i in range(first, last + 1) if i in bad), None)
        if why:
            out.append(PairSpec(id=f"line-{first}", original="", edited="", error=why))
            continue
        cells = [c.strip() for c in row]
        rec = {k: (cells[i] if i < len(cells) else None) for i, k in enumerate(header) if k}
        out.append(_from_record(rec, path.parent, f"{path.name} line {first}"))
    return out


def _images(folder: Path) -> list[Path]:
    """Files named as images, sorted; those in a format we do not read are kept (the pair says so)
    and so are pipes and devices named like images (reading them is refused with the reason)."""
    names = IMAGE_EXTS | UNREAD_IMAGE_EXTS
    return [p for p in sorted(folder.iterdir()) if not p.is_dir() and p.suffix.lower() in names]


def _unread(role: str, p: Path) -> str | None:
    why = unsupported_format(p)
    return f"{role} {p.parent.name}/{p.name}: {why}" if why else None


def _read_folder(path: Path) -> list[PairSpec]:
    """``originals/`` and ``edited/`` matched by stem; an edit's stem may extend its original's
    (``bear__00__bg_ok`` -> ``bear__00``): the longest original stem followed by ``_`` wins.

    A file in a format maskgate does not read (.svg, .heic, ...) is not dropped in silence: its
    pairs are error items saying so, and an original no edit matches gets an error item of its own."""
    o_dir, e_dir = path / "originals", path / "edited"
    if not o_dir.is_dir() or not e_dir.is_dir():
        raise ValueError(f"{path} must hold originals/ and edited/ folders")
    originals = {p.stem: p for p in reversed(_images(o_dir))}  # same stem twice: first by name wins
    masks = {p.stem: p for p in reversed(_images(path / "masks"))} if (path / "masks").is_dir() else {}
    by_len = sorted(originals, key=len, reverse=True)
    used: set[str] = set()
    out = []
    for ep in _images(e_dir):  # a list, not a dict: cup.jpg and cup.png are two edits to check
        stem = ep.stem
        match = stem if stem in originals else next((o for o in by_len if stem.startswith(o + "_")), None)
        if match is None:
            out.append(
                PairSpec(
                    id=stem,
                    original="",
                    edited=str(ep),
                    error=_unread("edited", ep) or f"no original in {o_dir} matches {ep.name}",
                )
            )
            continue
        used.add(match)
        op, mp = originals[match], masks.get(match)
        why = _unread("original", op) or _unread("edited", ep) or (_unread("mask", mp) if mp else None)
        out.append(
            PairSpec(
                id=stem, original=str(op), edited=str(ep), mask=str(mp) if mp else None, error=why or None
            )
        )
    for stem, op in sorted(originals.items()):
        why = _unread("original", op)
        if why and stem not in used:
            out.append(PairSpec(id=f"originals/{op.name}", original=str(op), edited="", error=why))
    return out


def read_manifest(path: str | Path) -> list[PairSpec]:
    """The pairs of a manifest: a local file or folder, or a JSONL/CSV file behind an fsspec URI
    (``memory://``, ``s3://``...), whose relative paths are read beside it."""
    local = uri.local_path(path)
    if local is None:
        remote = _RemoteFile(str(path))
        pairs = _read_csv(remote) if remote.name.lower().endswith(".csv") else _read_jsonl(remote)
        return _unique_ids(pairs)
    p = local
    if p.is_dir():
        pairs = _read_folder(p)
    elif not p.exists():
        raise FileNotFoundError(f"manifest not found: {p}")
    elif p.suffix.lower() == ".csv":
        pairs = _read_csv(p)
    else:
        pairs = _read_jsonl(p)
    return _unique_ids(pairs)


def _unique_ids(pairs: list[PairSpec]) -> list[PairSpec]:
    taken = {s.id for s in pairs}
    seen: set[str] = set()
    for s in pairs:  # ids must be unique: results are resumed by id
        if s.id in seen:
            n = 1
            while f"{s.id}~{n}" in taken:
                n += 1
            s.id = f"{s.id}~{n}"
            taken.add(s.id)
        seen.add(s.id)
    return pairs
