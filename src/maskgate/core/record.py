"""The results contract: one ``PairRecord`` per checked pair, the line format of ``results.jsonl``.

The engine builds a record complete (id, paths, verdict, scores, evidence image paths) and every
reader (report, metrics, calibration, the review importer and app, the queue) goes through
``PairRecord.from_json``: a renamed or mistyped field fails there, with the field's name, instead
of turning into a silent ``None`` six modules away. docs/results-schema.md documents the format.
"""

from __future__ import annotations

import codecs
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from maskgate.core.types import KINDS, VERDICTS, Kind, Verdict

# 1: the first versioned format. Records written before it carry no "schema_version" and read the
# same way (the fields did not change).
SCHEMA_VERSION = 1

_FIELDS = (
    "id",
    "original",
    "edited",
    "kind",
    "verdict",
    "score",
    "criteria",
    "source_overlay",
    "notes",
    "error",
    "model_version",
    "schema_version",
)


class RecordError(ValueError):
    """A results line that is not a record of this format (the message names the field)."""


def _float(v: Any, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise RecordError(f"{where}: expected a number, got {v!r}")
    return float(v)


@dataclass(frozen=True)
class CriterionRecord:
    """One criterion's outcome for one pair."""

    passed: bool | None  # None: the criterion does not apply to this kind of edit, or was not judged
    score: float  # P(pass) in [0, 1]; 1.0 where the criterion was not judged
    evidence: Mapping[str, Any] = field(default_factory=dict)  # measurements (numbers) and notes (text)
    images: Mapping[str, str] = field(
        default_factory=dict
    )  # evidence image name -> path under the run folder

    def measurements(self) -> dict[str, float]:
        """The numeric evidence: what the scorers weigh and calibration learns from."""
        return {k: v for k, v in self.evidence.items() if isinstance(v, int | float)}

    def to_json(self) -> dict[str, Any]:
        ev = dict(self.evidence)
        if self.images:
            ev["images"] = dict(self.images)
        return {"pass": self.passed, "score": self.score, "evidence": ev}

    @classmethod
    def from_json(cls, d: Any, where: str = "criterion") -> CriterionRecord:
        if not isinstance(d, Mapping):
            raise RecordError(f"{where}: expected an object, got {d!r}")
        passed = d.get("pass")
        if passed is not None and not isinstance(passed, bool):
            raise RecordError(f"{where}.pass: expected true, false or null, got {passed!r}")
        ev = d.get("evidence") or {}
        if not isinstance(ev, Mapping):
            raise RecordError(f"{where}.evidence: expected an object")
        ev = dict(ev)
        images = ev.pop("images", None) or {}
        if not isinstance(images, Mapping) or not all(isinstance(p, str) for p in images.values()):
            raise RecordError(f"{where}.evidence.images: expected names mapped to paths")
        return cls(passed, _float(d.get("score", 1.0), f"{where}.score"), ev, dict(images))


@dataclass(frozen=True)
class PairRecord:
    """What ``maskgate check`` decided for one (original, edit) pair."""

    id: str
    original: str
    edited: str
    kind: Kind | None
    verdict: Verdict
    score: float | None  # the lowest criterion score (None for an error)
    criteria: Mapping[str, CriterionRecord] = field(default_factory=dict)
    source_overlay: bool | None = None  # the original carried text/logos off the product
    notes: tuple[str, ...] = ()
    error: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # the manifest's own fields: labels, defect, ...
    schema_version: int = SCHEMA_VERSION
    # The model version (from a versioned models folder) that scored the pair; None for the packaged
    # calibration, a calibration file, or records written before the field existed.
    model_version: str | None = None

    @classmethod
    def failed(
        cls, id: str, original: str, edited: str, kind: Kind | None, reason: str, extra: Mapping[str, Any]
    ) -> PairRecord:
        """The record of a pair that could not be checked (unreadable file, crash): verdict error."""
        return cls(id, original, edited, kind, "error", None, {}, None, (), reason, dict(extra))

    @property
    def labels(self) -> dict[str, bool | None] | None:
        lab = self.extra.get("labels")
        return dict(lab) if isinstance(lab, Mapping) else None

    @property
    def acceptable(self) -> bool | None:
        v = self.extra.get("acceptable")
        return v if isinstance(v, bool) else None

    def passed(self, criterion: str) -> bool | None:
        c = self.criteria.get(criterion)
        return None if c is None else c.passed

    def images(self) -> dict[str, str]:
        """Every evidence image by name (criterion-qualified where two criteria use one name)."""
        out: dict[str, str] = {}
        for cname, c in self.criteria.items():
            for name, p in c.images.items():
                out[name if name not in out else f"{cname}.{name}"] = p
        return out

    def to_json(self) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "id": self.id,
            "original": self.original,
            "edited": self.edited,
            "kind": self.kind,
            "verdict": self.verdict,
            "score": self.score,
            "criteria": {n: c.to_json() for n, c in self.criteria.items()},
            "source_overlay": self.source_overlay,
            "notes": list(self.notes),
            "error": self.error,
        }
        if self.model_version is not None:  # absent rather than null: older readers see no change
            rec["model_version"] = self.model_version
        rec.update({k: v for k, v in self.extra.items() if k not in _FIELDS})
        rec["schema_version"] = self.schema_version
        return rec

    def to_line(self) -> str:
        return json.dumps(self.to_json())

    @classmethod
    def from_json(cls, d: Any) -> PairRecord:
        if not isinstance(d, Mapping):
            raise RecordError(f"expected a JSON object, got {type(d).__name__}")
        if "id" not in d or d["id"] is None or d["id"] == "":
            raise RecordError("no 'id'")
        version = d.get("schema_version", SCHEMA_VERSION)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise RecordError(
                f"schema_version {version!r}: written by a newer maskgate (this one reads {SCHEMA_VERSION})"
            )
        kind = d.get("kind")
        if kind is not None and kind not in KINDS:
            raise RecordError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
        verdict = d.get("verdict")
        if verdict not in VERDICTS:
            raise RecordError(f"verdict: {verdict!r} is not one of {', '.join(VERDICTS)}")
        score = d.get("score")
        crit = d.get("criteria") or {}
        if not isinstance(crit, Mapping):
            raise RecordError("criteria: expected an object")
        notes = d.get("notes") or []
        if not isinstance(notes, list | tuple) or not all(isinstance(n, str) for n in notes):
            raise RecordError("notes: expected a list of strings")
        so = d.get("source_overlay")
        err = d.get("error")
        mv = d.get("model_version")
        if mv is not None and (not isinstance(mv, str) or not mv):
            raise RecordError(f"model_version: expected a version name or null, got {mv!r}")
        return cls(
            id=str(d["id"]),
            original=str(d.get("original") or ""),
            edited=str(d.get("edited") or ""),
            kind=cast(Kind | None, kind),
            verdict=cast(Verdict, verdict),
            score=None if score is None else _float(score, "score"),
            # a null entry is a criterion the writer left out (hand-made or other tools' records)
            criteria={
                str(n): CriterionRecord.from_json(c, f"criteria.{n}")
                for n, c in crit.items()
                if c is not None
            },
            source_overlay=so if isinstance(so, bool) else None,
            notes=tuple(notes),
            error=None if err is None else str(err),
            extra={k: v for k, v in d.items() if k not in _FIELDS},
            schema_version=version,
            model_version=mv,
        )


def decoded_lines(path: str | Path) -> Iterator[tuple[int, str | None, str | None]]:
    """(line number, text, None) per line of a JSONL file, or (line number, None, reason) for a
    line that is not UTF-8 (a file edited in a Latin-1 editor): decoded line by line, such a line
    costs that line, not the file. A UTF-8 BOM (the same editors) is dropped."""
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            if n == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                yield n, raw.decode("utf-8"), None
            except UnicodeDecodeError as e:
                why = (
                    f"not UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1}; Latin-1 or Windows-1252?)"
                )
                yield n, None, why


def iter_records(path: str | Path) -> Iterator[tuple[int, PairRecord | RecordError]]:
    """(line number, record or the reason it is not one) for each non-blank line of a results file.

    A line torn by a killed run is a RecordError like any other; the caller decides whether to
    skip it (the report) or to list it (the review importer). So is a line that is not UTF-8
    (``decoded_lines``)."""
    for n, line, why in decoded_lines(path):
        if line is None:
            yield n, RecordError(why or "not UTF-8")
            continue
        if not line.strip():
            continue
        try:
            yield n, PairRecord.from_json(json.loads(line))
        except ValueError as e:  # JSONDecodeError and RecordError
            yield n, e if isinstance(e, RecordError) else RecordError(f"not JSON ({e})")


def read_records(path: str | Path) -> list[PairRecord]:
    """The readable records of a results file (torn or foreign lines are skipped)."""
    return [r for _, r in iter_records(path) if isinstance(r, PairRecord)]


def evidence_dirname(pid: str) -> str:
    """A file-system-safe folder name per id; ids that only differ in unsafe characters ("a/b",
    "a:b") get a hash suffix so one pair's evidence never overwrites another's."""
    safe = "".join(ch if ch.isalnum() or ch in "-_.~" else "_" for ch in pid).lstrip(".") or "_"
    if safe != pid:
        safe += "-" + hashlib.sha1(pid.encode("utf-8")).hexdigest()[:8]
    return safe


def evidence_path(pid: str, criterion: str, name: str) -> str:
    """Where a pair's evidence image is written, relative to the run folder."""
    return f"evidence/{evidence_dirname(pid)}/{criterion}_{name}.png"
