"""One row per pair, one column per criterion's pass and score: for spreadsheets, pandas, polars
and DuckDB. Error records are rows too (verdict ``error``, the reason in ``error``), so a count of
rows is a count of pairs."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from maskgate.core.record import PairRecord
from maskgate.core.types import CRITERIA
from maskgate.export.source import ExportError, ExportReport, Item, Source, atomic_file

BASE = ("id", "kind", "verdict", "score", "original", "edited", "source_overlay", "error", "notes")
LABELS = ("label_source", "reviewers", *(f"label_{c}" for c in CRITERIA), "acceptable")
_BOOL = {"source_overlay", "acceptable"} | {f"{c}_pass" for c in CRITERIA} | {f"label_{c}" for c in CRITERIA}
_FLOAT = {"score"} | {f"{c}_score" for c in CRITERIA}
_INT = {"reviewers"}


def columns(with_labels: bool) -> list[str]:
    crit = [f"{c}_{k}" for c in CRITERIA for k in ("pass", "score")]
    return [*BASE, *crit, *(LABELS if with_labels else ())]


def _row(entry: Item | PairRecord) -> dict[str, Any]:
    rec = entry.record if isinstance(entry, Item) else entry
    row: dict[str, Any] = {
        "id": rec.id,
        "kind": rec.kind,
        "verdict": rec.verdict,
        "score": rec.score,
        "original": str(entry.original) if isinstance(entry, Item) else rec.original,
        "edited": str(entry.edited) if isinstance(entry, Item) else rec.edited,
        "source_overlay": rec.source_overlay,
        "error": rec.error,
        "notes": "; ".join(rec.notes) or None,
    }
    for c in CRITERIA:
        cr = rec.criteria.get(c)
        row[f"{c}_pass"] = None if cr is None else cr.passed
        row[f"{c}_score"] = None if cr is None else cr.score
    lab = entry.label() if isinstance(entry, Item) else None
    row["label_source"] = lab.source if lab else None
    row["reviewers"] = len(entry.answers) if isinstance(entry, Item) else 0
    for c in CRITERIA:
        row[f"label_{c}"] = lab.labels.get(c) if lab else None
    row["acceptable"] = lab.acceptable if lab else None
    return row


def rows(src: Source) -> tuple[list[str], list[dict[str, Any]]]:
    """The columns and rows; the label columns only when some pair has a label."""
    all_rows = [_row(e) for e in src.order]
    with_labels = any(r["label_source"] for r in all_rows)
    cols = columns(with_labels)
    return cols, [{k: r[k] for k in cols} for r in all_rows]


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ""
    return str(v)


def write_csv(src: Source, out: Path, **_: Any) -> ExportReport:
    """RFC 4180 CSV in UTF-8: booleans ``true``/``false``, unknown cells empty (what pandas,
    polars and DuckDB read as missing)."""
    cols, data = rows(src)
    rep = ExportReport("csv", out, problems=src.problems)
    with atomic_file(out) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for r in data:
            w.writerow([_cell(r[c]) for c in cols])
    rep.written = len(data)
    return rep


def write_parquet(src: Source, out: Path, **_: Any) -> ExportReport:
    """Parquet with typed columns (nullable booleans, doubles, strings)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as e:
        raise ExportError("the parquet export needs pyarrow: pip install 'maskgate[export]'") from e
    cols, data = rows(src)

    def typ(c: str):
        return (
            pa.bool_()
            if c in _BOOL
            else pa.float64()
            if c in _FLOAT
            else pa.int64()
            if c in _INT
            else pa.string()
        )

    schema = pa.schema([pa.field(c, typ(c)) for c in cols])
    table = pa.Table.from_pylist(data, schema=schema)
    rep = ExportReport("parquet", out, problems=src.problems)
    with atomic_file(out) as tmp:
        pq.write_table(table, tmp)
    rep.written = len(data)
    return rep
