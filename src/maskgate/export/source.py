"""What every export format reads: the check's records, the people's labels and the masks of each
pair, gathered once so that each format module only lays them out.

Masks are the original's (its pixel grid is what reviewers paint on and what a segmentation
dataset wants). The product mask is, in this order: the latest reviewer's corrected mask, a file
in ``masks_dir`` named after the original (what ``maskgate mask`` writes, or a manifest's
``masks/`` folder), or the check's own ``product_mask`` evidence image (the given manifest mask
when there was one, else the saliency pass), which is at the check's analysis size and scaled up.
The overlay mask (text, logos, badges off the product) only comes from ``text_masks_dir``
(``maskgate text-mask``): results.jsonl records whether there was an overlay, not where.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from maskgate.check.runner import mask_plane
from maskgate.core.record import PairRecord, iter_records
from maskgate.core.types import CRITERIA
from maskgate.io.images import IMAGE_EXTS, ImageReadError, image_size, load_image
from maskgate.review.masks import decode_rle

MaskSource = str  # "review" | "masks" | "check" | "text-masks"


class ExportError(ValueError):
    """Input an export cannot start from; the message names the file and what is wrong."""


@dataclass
class ExportReport:
    format: str
    out: Path
    written: int = 0  # pairs, rows, tasks or images written
    masks: int = 0  # masks written
    skipped: int = 0  # pairs left out (the problems say which and why)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.format}: wrote {self.written} items and {self.masks} masks to {self.out}"
            + (f", skipped {self.skipped}" if self.skipped else "")
            + (f", {len(self.problems)} problems" if self.problems else "")
        )


@dataclass(frozen=True)
class Label:
    """One pair's human answer: the adjudicated one, else the reviewers' majority per question
    (a tie is unknown), else the manifest's labels."""

    labels: dict[str, bool | None]
    acceptable: bool | None
    source: str  # "final" | "review" | "manifest"


def _majority(values: Iterable[Any]) -> bool | None:
    c = Counter(v for v in values if isinstance(v, bool))
    if not c or c[True] == c[False]:
        return None
    return c[True] > c[False]


def _index_masks(folder: Path | None) -> dict[str, list[Path]]:
    """Mask files by stem, searched recursively (``maskgate mask`` keeps the input's sub-folders)."""
    if folder is None:
        return {}
    if not folder.is_dir():
        raise ExportError(f"no such mask folder: {folder}")
    out: dict[str, list[Path]] = {}
    for p in sorted(folder.rglob("*")):
        if p.suffix.lower() in IMAGE_EXTS and p.is_file():
            out.setdefault(p.stem, []).append(p)
    return out


def _resize(mask: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    if mask.shape == hw:
        return mask
    return cv2.resize(mask.astype(np.uint8), (hw[1], hw[0]), interpolation=cv2.INTER_NEAREST) > 0


@dataclass
class Item:
    """One checked pair with its answers; masks are read on demand and kept."""

    record: PairRecord
    answers: list[dict]
    run_dir: Path
    _src: Source
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.record.id

    def path(self, p: str) -> Path:
        """A record's path as the review importer reads it: relative ones against the run folder."""
        q = Path(p)
        return q if q.is_absolute() else self.run_dir / q

    @property
    def original(self) -> Path:
        return self.path(self.record.original)

    @property
    def edited(self) -> Path:
        return self.path(self.record.edited)

    def label(self) -> Label | None:
        finals = [a["final"] for a in self.answers if isinstance(a.get("final"), Mapping)]
        if finals:
            f = finals[-1]
            labs = f.get("labels") or {}
            return Label({c: labs.get(c) for c in CRITERIA}, f.get("acceptable"), "final")
        if self.answers:
            labs = [a.get("labels") or {} for a in self.answers]
            return Label(
                {c: _majority(lab.get(c) for lab in labs) for c in CRITERIA},
                _majority(a.get("acceptable") for a in self.answers),
                "review",
            )
        rl, ra = self.record.labels, self.record.acceptable
        if rl is None and ra is None:
            return None
        rl = rl or {}
        return Label({c: rl.get(c) for c in CRITERIA}, ra, "manifest")

    def original_hw(self) -> tuple[int, int] | None:
        """(height, width) of the original, from its header; None (and a problem) when unreadable."""
        if "hw" not in self._cache:
            hw: tuple[int, int] | None = None
            try:
                w, h = image_size(self.original)
                hw = (h, w)
            except (OSError, ImageReadError) as e:
                for a in reversed(self.answers):  # a reviewer's mask is in the original's grid
                    if isinstance(a.get("mask"), Mapping):
                        hw = (int(a["mask"]["size"][0]), int(a["mask"]["size"][1]))
                        break
                if hw is None:
                    self._src.problem(f"{self.id}: original unreadable, no masks ({e})")
                else:
                    self._src.problem(
                        f"{self.id}: original unreadable ({e}); its size is the reviewer's mask's"
                    )
            self._cache["hw"] = hw
        return self._cache["hw"]

    def review_mask(self) -> np.ndarray | None:
        """The latest reviewer's corrected product mask (answers are in submission order)."""
        for a in reversed(self.answers):
            rle = a.get("mask")
            if isinstance(rle, Mapping):
                try:
                    return decode_rle(dict(rle))
                except Exception as e:  # a hand-edited labels file can hold anything
                    self._src.problem(f"{self.id}: reviewer {a.get('reviewer')}'s mask unreadable ({e})")
        return None

    def _file_mask(self, folder: dict[str, list[Path]], what: str) -> np.ndarray | None:
        found = folder.get(self.original.stem, [])
        if len(found) > 1:
            self._src.problem(
                f"{self.id}: {len(found)} {what} files named {self.original.stem!r}: "
                + ", ".join(map(str, found[:3]))
            )
            return None
        if not found:
            return None
        try:
            return mask_plane(load_image(found[0])) > 127
        except (OSError, ImageReadError) as e:
            self._src.problem(f"{self.id}: {what} file unreadable ({e})")
            return None

    def _scaled(self, m: np.ndarray | None) -> np.ndarray | None:
        hw = self.original_hw()
        return None if m is None or hw is None else _resize(m, hw)

    def check_mask(self) -> tuple[np.ndarray, MaskSource] | None:
        """The machine's product mask: ``masks_dir``'s file, else the check's evidence image."""
        if "check" not in self._cache:
            got = None
            m = self._file_mask(self._src.masks, "mask")
            if m is not None:
                got = (m, "masks")
            else:
                ev = self.record.images().get("product_mask")
                if ev:
                    try:
                        got = (mask_plane(load_image(self.path(ev))) > 127, "check")
                    except (OSError, ImageReadError) as e:
                        self._src.problem(f"{self.id}: product_mask evidence unreadable ({e})")
            if got is not None:
                s = self._scaled(got[0])
                got = None if s is None else (s, got[1])
            self._cache["check"] = got
        return self._cache["check"]

    def product_mask(self) -> tuple[np.ndarray, MaskSource] | None:
        """The best product mask there is: a reviewer's, else the machine's."""
        r = self.review_mask()
        if r is not None:
            s = self._scaled(r)
            if s is not None:
                return s, "review"
        return self.check_mask()

    def overlay_mask(self) -> tuple[np.ndarray, MaskSource] | None:
        if "overlay" not in self._cache:
            m = self._scaled(self._file_mask(self._src.text_masks, "text mask"))
            self._cache["overlay"] = None if m is None else (m, "text-masks")
        return self._cache["overlay"]


@dataclass
class Source:
    """The records of one results file with their answers and mask folders."""

    results: Path
    items: list[Item] = field(default_factory=list)
    errors: list[PairRecord] = field(default_factory=list)  # verdict "error": nothing to export
    order: list[Item | PairRecord] = field(default_factory=list)  # both, in the file's order
    masks: dict[str, list[Path]] = field(default_factory=dict)
    text_masks: dict[str, list[Path]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def problem(self, msg: str) -> None:
        self.problems.append(msg)


def read_label_lines(path: Path, problems: list[str]) -> list[dict]:
    """Answer lines in the ``maskgate review export`` format (or any JSONL with an ``id``)."""
    if not path.is_file():
        raise ExportError(f"no such labels file: {path}")
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as e:
                problems.append(f"{path.name} line {n}: not JSON ({e.msg})")
                continue
            if not isinstance(d, dict) or not d.get("id"):
                problems.append(f"{path.name} line {n}: no 'id'")
                continue
            out.append(d)
    return out


def load(
    results: str | Path,
    *,
    labels: str | Path | None = None,
    answers: Iterable[dict] | None = None,
    masks_dir: str | Path | None = None,
    text_masks_dir: str | Path | None = None,
) -> Source:
    """Read a check run for export. ``labels``: a review-labels JSONL (``maskgate review export``
    or ``maskgate import labelstudio``); ``answers``: the same lines from elsewhere (the review
    database through ``review.exporter.answer_records``). A torn or foreign results line is a
    problem, not a stop."""
    results = Path(results)
    if results.is_dir():
        results = results / "results.jsonl"
    if not results.is_file():
        raise ExportError(f"no such results file: {results}")
    src = Source(results.resolve())
    src.masks = _index_masks(Path(masks_dir) if masks_dir else None)
    src.text_masks = _index_masks(Path(text_masks_dir) if text_masks_dir else None)
    lines = list(answers or [])
    if labels is not None:
        lines += read_label_lines(Path(labels), src.problems)
    by_id: dict[str, list[dict]] = {}
    for a in lines:
        by_id.setdefault(str(a["id"]), []).append(a)
    run_dir = src.results.parent
    seen: set[str] = set()
    for n, rec in iter_records(results):
        if not isinstance(rec, PairRecord):
            src.problem(f"{results.name} line {n}: {rec}")
            continue
        if rec.id in seen:
            src.problem(f"{results.name} line {n}: id {rec.id!r} repeated; the first record is kept")
            continue
        seen.add(rec.id)
        if rec.verdict == "error":
            src.errors.append(rec)
            src.order.append(rec)
            continue
        src.items.append(Item(rec, by_id.get(rec.id, []), run_dir, src))
        src.order.append(src.items[-1])
    stray = sorted(set(by_id) - seen)
    if stray:
        src.problem(
            f"{len(stray)} labelled ids are not in {results.name}: {', '.join(stray[:5])}"
            + (" ..." if len(stray) > 5 else "")
        )
    return src


def relative_to(path: Path, root: Path | None) -> str:
    """``path`` relative to ``root`` when it lies under it (as export files reference images)."""
    p = path.resolve()
    if root is None or not p.is_relative_to(root.resolve()):
        return str(p)
    return p.relative_to(root.resolve()).as_posix()


@contextmanager
def atomic_file(out: Path) -> Iterator[Path]:
    """A temporary path beside ``out`` that replaces it once written: a reader (or a crash) never
    sees half an export, and the old file stays until the new one is complete."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    try:
        yield tmp
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)


def fresh_dir(out: Path) -> Path:
    """The output folder of a folder format; one that already holds files is refused, so an
    export never mixes with (or overwrites) what is there."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} exists and is not an empty folder: give a new --out")
    out.mkdir(parents=True, exist_ok=True)
    return out


def review_answers(db_url: str | None, *, include_gold: bool = True) -> list[dict]:
    """The review database's answers as review-label lines (what ``maskgate review export``
    writes). A SQLite file that does not exist is refused instead of created empty."""
    from sqlalchemy.engine import make_url

    from maskgate.review.db import open_db
    from maskgate.review.exporter import answer_records

    if db_url:
        url = make_url(db_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            if not Path(url.database).is_file():
                raise ExportError(f"no such review database: {url.database}")
    engine = open_db(db_url)
    try:
        return list(answer_records(engine, include_gold=include_gold))
    finally:
        engine.dispose()
