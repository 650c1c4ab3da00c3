"""Read the pairs to check from JSONL, HFPC JSONL, CSV or a folder of originals/ and edited/.

A malformed line becomes an error item (with its line number) instead of stopping the batch: the
user learns about it in results.jsonl next to everything else that did run.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from maskgate.core.types import KINDS, Kind

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


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


def _resolve(base: Path, p: str | None) -> str | None:
    if p is None or p == "":
        return None
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


def _from_record(rec: dict, base: Path, where: str) -> PairSpec:
    """One manifest entry; anything unusable in it becomes the item's error, never an exception."""
    try:
        return _spec(rec, base, where)
    except (TypeError, ValueError, AttributeError) as e:
        rid = rec.get("id") if isinstance(rec, dict) else None
        return PairSpec(id=str(rid or where), original="", edited="", error=f"{where}: {e}")


def _spec(rec: dict, base: Path, where: str) -> PairSpec:
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


def _read_jsonl(path: Path) -> list[PairSpec]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise ValueError("not a JSON object")
        except ValueError as e:
            out.append(
                PairSpec(
                    id=f"line-{n}", original="", edited="", error=f"{path.name} line {n}: invalid JSON ({e})"
                )
            )
            continue
        out.append(_from_record(rec, path.parent, f"{path.name} line {n}"))
    return out


def _read_csv(path: Path) -> list[PairSpec]:
    out = []
    with path.open(newline="", encoding="utf-8-sig") as f:  # -sig: spreadsheet exports start with a BOM
        for n, row in enumerate(csv.DictReader(f), 2):
            rec = {k.strip(): (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k}
            out.append(_from_record(rec, path.parent, f"{path.name} line {n}"))
    return out


def _images(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in IMAGE_EXTS]


def _read_folder(path: Path) -> list[PairSpec]:
    """``originals/`` and ``edited/`` matched by stem; an edit's stem may extend its original's
    (``bear__00__bg_ok`` -> ``bear__00``): the longest original stem followed by ``_`` wins."""
    o_dir, e_dir = path / "originals", path / "edited"
    if not o_dir.is_dir() or not e_dir.is_dir():
        raise ValueError(f"{path} must hold originals/ and edited/ folders")
    originals = {p.stem: p for p in reversed(_images(o_dir))}  # same stem twice: first by name wins
    masks = {p.stem: p for p in reversed(_images(path / "masks"))} if (path / "masks").is_dir() else {}
    by_len = sorted(originals, key=len, reverse=True)
    out = []
    for ep in _images(e_dir):  # a list, not a dict: cup.jpg and cup.png are two edits to check
        stem = ep.stem
        match = stem if stem in originals else next((o for o in by_len if stem.startswith(o + "_")), None)
        if match is None:
            out.append(
                PairSpec(
                    id=stem, original="", edited=str(ep), error=f"no original in {o_dir} matches {ep.name}"
                )
            )
            continue
        out.append(
            PairSpec(
                id=stem,
                original=str(originals[match]),
                edited=str(ep),
                mask=str(masks[match]) if match in masks else None,
            )
        )
    return out


def read_manifest(path: str | Path) -> list[PairSpec]:
    p = Path(path)
    if p.is_dir():
        pairs = _read_folder(p)
    elif not p.exists():
        raise FileNotFoundError(f"manifest not found: {p}")
    elif p.suffix.lower() == ".csv":
        pairs = _read_csv(p)
    else:
        pairs = _read_jsonl(p)
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
