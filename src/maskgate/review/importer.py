"""Load ``maskgate check`` output (results.jsonl) and gold labels into the review database.

Bad input loses nothing: an unreadable line or a missing image is reported and the rest goes on;
an item whose images are missing is stored with its error (visible to admins) but never queued.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy import Engine, insert, select

from maskgate.core.record import PairRecord, decoded_lines, iter_records
from maskgate.core.types import CRITERIA
from maskgate.io.images import ImageReadError, image_size, load_image
from maskgate.learn.active import priority
from maskgate.models.registry import MissingModelError, resolve_model
from maskgate.review.db import writer
from maskgate.review.masks import encode_rle
from maskgate.review.priority import AUDIT_PRIORITY, reprioritize
from maskgate.review.roots import allowed_paths, ensure_root, inside_any
from maskgate.review.schema import Item, Root, Slot
from maskgate.review.security import is_filesystem_root
from maskgate.vision.segment import saliency

IT, S, R = Item.__table__, Slot.__table__, Root.__table__
MASK_NAMES = ("product_mask",)


@dataclass
class ImportReport:
    imported: int = 0
    queued_slots: int = 0
    gold: int = 0
    skipped_existing: int = 0
    filtered_out: int = 0
    audit: int = 0
    problems: list[str] = field(default_factory=list)  # "line 3: ..." / "item x: ..."

    def summary(self) -> str:
        return (
            f"imported {self.imported} items ({self.gold} gold, {self.audit} audit, {self.queued_slots} review slots), "
            f"{self.skipped_existing} already present, {self.filtered_out} filtered out, "
            f"{len(self.problems)} problems"
        )

    def to_json(self) -> dict:
        """The ``--json`` object of ``maskgate review import``."""
        return asdict(self)


@dataclass
class GoldLabel:
    labels: dict[str, bool | None]
    acceptable: bool | None


# The size the edit is decoded at on import, to find a file that is broken past its header.
EDIT_PROBE_SIDE = 256


def read_jsonl(path: Path, report: ImportReport) -> Iterable[tuple[int, dict]]:
    """The objects of a JSONL file (a gold labels file); each line that is not one (not UTF-8, not
    JSON, no id) is a problem in the report, and the rest of the file still counts."""
    for n, line, why in decoded_lines(path):
        if line is None:
            report.problems.append(f"{path.name} line {n}: {why}")
            continue
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            report.problems.append(f"{path.name} line {n}: not JSON ({e.msg})")
            continue
        if not isinstance(rec, dict) or not rec.get("id"):
            report.problems.append(f"{path.name} line {n}: no 'id'")
            continue
        yield n, rec


def in_gold_sample(pair_id: str, share: float) -> bool:
    """A stable draw of ``share`` of the ids (a hash, not a random state): importing the same
    file twice, or in parts, picks the same gold items."""
    h = int.from_bytes(hashlib.sha1(pair_id.encode("utf-8")).digest()[:8], "big")
    return h / 2**64 < share


AUDIT_SHARE = 0.05


def in_audit_sample(pair_id: str, share: float) -> bool:
    """A stable draw of ``share`` of the ids, independent of the gold draw (another salt), so the
    audited pairs are a random sample of what the gate decided alone, whatever was made gold."""
    h = int.from_bytes(hashlib.sha1(b"audit\0" + pair_id.encode("utf-8")).digest()[:8], "big")
    return h / 2**64 < share


def read_gold(path: Path, report: ImportReport, share: float = 0.1) -> dict[str, GoldLabel]:
    """Gold items from a labels file: those flagged ``"gold": true``, and a ``share`` sample of the
    other labelled ones. Gold items measure reviewers and are never queued for review, so making
    every labelled pair gold would leave nothing to review (a labels file often covers a whole set)."""
    gold = {}
    for n, rec in read_jsonl(path, report):
        labels = rec.get("labels") or {}
        bad = sorted(set(labels) - set(CRITERIA))
        if bad:
            report.problems.append(f"{path.name} line {n}: unknown criteria {bad}")
        pid = str(rec["id"])
        if rec.get("gold") is True or in_gold_sample(pid, share):
            gold[pid] = GoldLabel({k: labels.get(k) for k in CRITERIA}, rec.get("acceptable"))
    return gold


def _abs(base: Path, p: str) -> Path:
    q = Path(p)
    return (q if q.is_absolute() else base / q).resolve()


def stored_record(raw: dict | None) -> PairRecord | None:
    """The check record an item was imported with (None for items loaded without a check)."""
    return PairRecord.from_json(raw) if raw else None


def has_new_background(rec: PairRecord) -> bool:
    return rec.passed("background") is not None


PRELABEL_MODEL = "u2netp"


def default_segmenter(rgb: np.ndarray) -> np.ndarray:
    return saliency(rgb, PRELABEL_MODEL) > 0.5


def prelabel_segmenter() -> tuple[Callable[[np.ndarray], np.ndarray] | None, str | None]:
    """The segmenter for pre-labels, or None and why there is none. A missing model is said once
    for the whole import rather than as a problem on every item; the import goes on without
    pre-labels, as reviewers can paint from an empty mask."""
    try:
        resolve_model(PRELABEL_MODEL)
    except MissingModelError as e:
        return None, f"no pre-labels: {e}"
    return default_segmenter, None


def _premask(
    files: dict[str, Path], original: Path, segment: Callable | None
) -> tuple[dict | None, tuple, str | None]:
    """(RLE, (h, w), note). The mask is in the original's pixel grid, which is what people paint on.

    The original is decoded whole only for the segmenter; otherwise at :data:`EDIT_PROBE_SIDE`, which
    still finds a file broken past its header, and its grid comes from the header."""
    # raises ImageReadError: the caller records it
    segmented = segment is not None and not any(name in files for name in MASK_NAMES)
    img = load_image(original, max_side=None if segmented else EDIT_PROBE_SIDE)
    w, h = img.source_size
    for name in MASK_NAMES:
        if name in files:
            try:
                m = load_image(files[name]).rgb[..., 0] > 127
            except ImageReadError as e:
                return None, (h, w), f"product_mask unreadable ({e}); starting from an empty mask"
            if m.shape != (h, w):
                m = cv2.resize(m.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
            return encode_rle(m), (h, w), None
    if segment is None:
        return None, (h, w), None
    try:
        return encode_rle(segment(img.rgb)), (h, w), None
    except Exception as e:  # a missing model must not stop the import
        return None, (h, w), f"no pre-label ({type(e).__name__}: {e})"


def _root_id(c, path: Path, cache: dict[str, int], *, allowed: bool = False) -> int:
    key = str(path)
    if key not in cache or allowed:
        cache[key] = ensure_root(c, path, allowed=allowed, added_by="import")
    return cache[key]


def image_folders(files: list[Path], base: Path, allowed: set[str]) -> tuple[set[Path], str | None]:
    """The folders an item's files need allowed, and why the item cannot be served (or None).

    A file inside the results folder needs that folder (the one the import was pointed at); one
    already inside an allowed root needs nothing; any other needs its own folder. Never a common
    parent (two absolute paths would otherwise open everything above them) and never a file
    system root."""
    need: set[Path] = set()
    for f in files:
        if f.is_relative_to(base) and not is_filesystem_root(base):
            need.add(base)
        elif not inside_any(f.parent, allowed):
            if is_filesystem_root(f.parent):
                return set(), (
                    f"{f} lies in a file system root; move it into a folder (a root folder is never served)"
                )
            need.add(f.parent)
    return need, None


def import_results(
    engine: Engine,
    results: str | Path,
    *,
    only_review: bool = True,
    verdict: str = "review",
    overlap: int = 1,
    gold: str | Path | None = None,
    gold_share: float = 0.1,
    segment: Callable[[np.ndarray], np.ndarray] | None = default_segmenter,
    batch: int = 500,
    thresholds: dict[str, float] | None = None,
    audit_share: float = AUDIT_SHARE,
    diversity: float | None = None,
) -> ImportReport:
    """Import check records as review items. Each item's queue priority comes from its scores
    (:func:`maskgate.learn.active.priority`, against ``thresholds`` per criterion, default 0.5):
    the closest calls are served first. ``gold``: a labels file whose ids flagged ``"gold": true``,
    and a ``gold_share`` sample of the rest, become gold items (see ``read_gold``).
    ``audit_share`` of the pairs the gate accepted or rejected alone is imported too, as audit
    items (``in_audit_sample``), when only one verdict is imported; with every verdict imported
    they are all reviewed and each decided pair is audited. Afterwards every pending item's
    priority is recomputed (``priority.reprioritize``; ``diversity`` None: its default)."""
    if overlap < 1:
        raise ValueError("overlap must be >= 1")
    if not 0.0 <= audit_share <= 1.0:
        raise ValueError(f"audit share {audit_share}: give a share between 0 and 1")
    results = Path(results).resolve()
    base = results.parent
    report = ImportReport()
    gold_map = read_gold(Path(gold), report, gold_share) if gold else {}
    with engine.connect() as c:
        existing = set(c.execute(select(IT.c.ext_id)).scalars())
        allowed = allowed_paths(c)
    roots: dict[str, int] = {}
    pending: list[dict] = []
    seen: set[str] = set()

    def flush():
        if not pending:
            return
        with writer(engine).begin() as c:
            for row in pending:
                for folder in row.pop("_allow"):
                    if folder not in allowed:
                        _root_id(c, Path(folder), roots, allowed=True)
                        allowed.add(folder)
                row["root_id"] = _root_id(c, Path(row.pop("_root")), roots)
            ids = (
                c.execute(insert(IT).returning(IT.c.id, sort_by_parameter_order=True), pending)
                .scalars()
                .all()
            )
            slots = [
                {"item_id": i, "due": 0.0, "state": "open", "priority": row["priority"]}
                for i, row in zip(ids, pending, strict=True)
                if not row["is_gold"] and row["error"] is None
                for _ in range(row["overlap"])
            ]
            if slots:
                c.execute(insert(S), slots)
            report.queued_slots += len(slots)
        pending.clear()

    for n, rec in iter_records(results):
        if not isinstance(rec, PairRecord):
            report.problems.append(f"{results.name} line {n}: {rec}")
            continue
        ext = rec.id
        g = gold_map.get(ext)
        if ext in existing or ext in seen:
            report.skipped_existing += 1
            continue
        audit = rec.verdict in ("accept", "reject") and (
            not only_review or (rec.verdict != verdict and in_audit_sample(ext, audit_share))
        )
        if only_review and rec.verdict != verdict and g is None and not audit:
            report.filtered_out += 1
            continue
        seen.add(ext)
        if not rec.original or not rec.edited:
            report.problems.append(f"line {n} ({ext}): no 'original' or 'edited' path")
            continue
        orig, edit = _abs(base, rec.original), _abs(base, rec.edited)
        ev = {k: _abs(base, v) for k, v in rec.images().items()}
        every = [orig, edit, *ev.values()]
        root = (
            base
            if all(p.is_relative_to(base) for p in every)
            else Path(os.path.commonpath([p.parent for p in every]))
        )
        error, premask, hw = None, None, (None, None)
        missing = [str(p) for p in (orig, edit) if not p.exists()]
        if missing:
            error = "missing image: " + ", ".join(missing)
        else:
            try:
                # The header first: a pipe, device or bomb is refused before anything is decoded. Then
                # a decode (JPEG at 1/8 size through draft mode): a truncated file has a sound header
                # and would reach the reviewer as a broken image.
                image_size(edit)
                load_image(edit, max_side=EDIT_PROBE_SIDE)
            except ImageReadError as e:
                error = f"cannot read edited: {e}"
        if not error:
            try:
                premask, hw, note = _premask(ev, orig, segment)
                if note:
                    report.problems.append(f"{ext}: {note}")
            except Exception as e:
                error = f"cannot read original: {e}"
        folders: set[Path] = set()
        if not error:
            present = [p for p in every if p.is_file()]
            folders, error = image_folders(present, base, allowed)
        if error:
            report.problems.append(f"line {n} ({ext}): {error}")
        else:
            gone = sorted(k for k, p in ev.items() if not p.is_file())
            if gone:  # the reviewer screen says which; the admin hears it here, at import
                report.problems.append(f"line {n} ({ext}): evidence image(s) missing: {', '.join(gone)}")
        pending.append(
            {
                "ext_id": ext,
                "_root": str(root),
                "_allow": sorted(str(f) for f in folders),
                "original": str(orig.relative_to(root)),
                "edited": str(edit.relative_to(root)),
                "kind": rec.kind,
                "verdict": rec.verdict,
                "score": rec.score,
                "has_background": has_new_background(rec),
                "width": hw[1],
                "height": hw[0],
                "evidence": {k: str(v.relative_to(root)) for k, v in ev.items() if v.is_file()},
                "check_record": rec.to_json(),
                "premask": premask,
                "error": error,
                "overlap": overlap,
                "is_gold": g is not None,
                "gold_labels": g.labels if g else None,
                "gold_acceptable": g.acceptable if g else None,
                "priority": AUDIT_PRIORITY if audit and only_review else priority(rec, thresholds),
                "audit": audit and g is None,
                "created_at": time.time(),
            }
        )
        report.imported += 1
        report.gold += g is not None
        report.audit += audit and g is None
        if len(pending) >= batch:
            flush()
    flush()
    if report.imported:
        # the new items among the old: information, then diversity
        if diversity is None:
            reprioritize(engine, thresholds)
        else:
            reprioritize(engine, thresholds, diversity=diversity)
    missing_gold = sorted(set(gold_map) - seen - existing)
    if missing_gold:
        report.problems.append(
            f"gold ids not in the results file: {', '.join(missing_gold[:10])}"
            + (" ..." if len(missing_gold) > 10 else "")
        )
    return report


def bulk_add(
    engine: Engine, root: str | Path, rows: list[dict], *, overlap: int = 1, batch: int = 5000
) -> int:
    """Insert prepared items (keys of ``Item``; at least ext_id, original, edited) and their slots
    in large batches. Used by the bench and the concurrency tests to build 100k-task queues fast."""
    now = time.time()
    total = 0
    with writer(engine).begin() as c:
        rid = _root_id(c, Path(root).resolve(), {}, allowed=True)
    for i in range(0, len(rows), batch):
        chunk = [
            {
                "kind": "isolated",
                "verdict": "review",
                "score": None,
                "has_background": False,
                "width": None,
                "height": None,
                "evidence": {},
                "check_record": {},
                "premask": None,
                "error": None,
                "is_gold": False,
                "gold_labels": None,
                "gold_acceptable": None,
                "priority": 0.0,
                "audit": False,
                **r,
                "root_id": rid,
                "overlap": overlap,
                "created_at": now,
            }
            for r in rows[i : i + batch]
        ]
        with writer(engine).begin() as c:
            ids = (
                c.execute(insert(IT).returning(IT.c.id, sort_by_parameter_order=True), chunk).scalars().all()
            )
            slots = [
                {"item_id": j, "due": 0.0, "state": "open", "priority": r.get("priority", 0.0)}
                for j, r in zip(ids, chunk, strict=True)
                if not r["is_gold"]
                for _ in range(overlap)
            ]
            if slots:
                c.execute(insert(S), slots)
        total += len(chunk)
    return total
