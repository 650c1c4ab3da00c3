"""Read the pairs to check from JSONL, HFPC JSONL, CSV or a folder of originals/ and edited/.

A malformed line becomes an error item (with its line number) instead of stopping the batch: the
user learns about it in results.jsonl next to everything else that did run.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


@dataclass
class PairSpec:
    id: str
    original: str
    edited: str
    mask: str | None = None
    kind: str | None = None
    labels: dict | None = None
    acceptable: bool | None = None
    extra: dict = field(default_factory=dict)
    error: str | None = None  # set when the manifest entry itself is unusable


def _resolve(base: Path, p: str | None) -> str | None:
    if p is None or p == "":
        return None
    q = Path(p).expanduser()
    # absolute, so results.jsonl and the report stay valid from any working directory
    return str(q if q.is_absolute() else (base / q).absolute())


def _from_record(rec: dict, base: Path, where: str) -> PairSpec:
    if "origin" in rec and "generation" in rec and "original" not in rec:  # HFPC dataset line
        rec = {"original": rec["origin"], "edited": rec["generation"], "acceptable": bool(int(rec.get("label", 0))), **{k: v for k, v in rec.items() if k not in ("origin", "generation", "label")}}
    orig, edit = rec.get("original"), rec.get("edited")
    if not orig or not edit:
        return PairSpec(id=str(rec.get("id") or where), original=str(orig or ""), edited=str(edit or ""), error=f"{where}: needs 'original' and 'edited'")
    labels = rec.get("labels")
    acc = rec.get("acceptable")
    known = {"id", "original", "edited", "mask", "kind", "labels", "acceptable"}
    return PairSpec(
        id=str(rec.get("id") or Path(edit).stem),
        original=_resolve(base, orig),
        edited=_resolve(base, edit),
        mask=_resolve(base, rec.get("mask")),
        kind=rec.get("kind") or None,
        labels=labels if isinstance(labels, dict) else None,
        acceptable=None if acc is None else (acc in (True, "true", "True", "1", 1)),
        extra={k: v for k, v in rec.items() if k not in known},
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
            out.append(PairSpec(id=f"line-{n}", original="", edited="", error=f"{path.name} line {n}: invalid JSON ({e})"))
            continue
        out.append(_from_record(rec, path.parent, f"{path.name} line {n}"))
    return out


def _read_csv(path: Path) -> list[PairSpec]:
    out = []
    with path.open(newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.DictReader(f), 2):
            rec = {k.strip(): (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k}
            out.append(_from_record(rec, path.parent, f"{path.name} line {n}"))
    return out


def _images(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_EXTS}


def _read_folder(path: Path) -> list[PairSpec]:
    """``originals/`` and ``edited/`` matched by stem; an edit's stem may extend its original's
    (``bear__00__bg_ok`` -> ``bear__00``): the longest original stem followed by ``_`` wins."""
    o_dir, e_dir = path / "originals", path / "edited"
    if not o_dir.is_dir() or not e_dir.is_dir():
        raise ValueError(f"{path} must hold originals/ and edited/ folders")
    originals = _images(o_dir)
    masks = _images(path / "masks") if (path / "masks").is_dir() else {}
    by_len = sorted(originals, key=len, reverse=True)
    out = []
    for stem, ep in _images(e_dir).items():
        match = stem if stem in originals else next((o for o in by_len if stem.startswith(o + "_")), None)
        if match is None:
            out.append(PairSpec(id=stem, original="", edited=str(ep), error=f"no original in {o_dir} matches {ep.name}"))
            continue
        out.append(PairSpec(id=stem, original=str(originals[match]), edited=str(ep), mask=str(masks[match]) if match in masks else None))
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
    seen: dict[str, int] = {}
    for s in pairs:  # ids must be unique: results are resumed by id
        if s.id in seen:
            seen[s.id] += 1
            s.id = f"{s.id}~{seen[s.id]}"
        else:
            seen[s.id] = 0
    return pairs
