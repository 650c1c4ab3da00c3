"""Reading labels.jsonl files for the report (docs/formats.md#labels-for-calibrate-and-the-report).

A labels file is hand-made or exported often enough that a bad line must stop the report with the
file and line named: a report silently computed on half the labels would mislead more than none.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class LabelError(ValueError):
    """A labels file the report cannot use; the message names the file and line."""


def read_labels(paths: Iterable[str | Path]) -> dict[str, dict[str, Any]]:
    """id -> label line over several files; a later file's line for the same id wins, as when a
    review export corrects a synthetic label set."""
    out: dict[str, dict[str, Any]] = {}
    for path in paths:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as e:
            raise LabelError(f"{p}: cannot read labels ({e})") from e
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as e:
                raise LabelError(f"{p} line {n}: not JSON ({e.msg})") from e
            if not isinstance(d, dict) or not isinstance(d.get("id"), str) or not d["id"]:
                raise LabelError(f"{p} line {n}: expected an object with a string 'id'")
            lab = d.get("labels")
            if lab is not None and not (
                isinstance(lab, dict) and all(v is None or isinstance(v, bool) for v in lab.values())
            ):
                raise LabelError(f"{p} line {n}: 'labels' must map criteria to true, false or null")
            if d.get("acceptable") is not None and not isinstance(d["acceptable"], bool):
                raise LabelError(f"{p} line {n}: 'acceptable' must be true, false or null")
            out[d["id"]] = d
    return out
