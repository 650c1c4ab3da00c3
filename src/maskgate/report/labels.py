"""Reading labels.jsonl files for the report (docs/formats.md#labels-for-calibrate-and-the-report).

A labels file is hand-made or exported often enough that a bad line must stop the report with the
file and line named: a report silently computed on half the labels would mislead more than none.
Values are read the way a manifest reads them (``true``, ``1``, ``"yes"``; blank is unknown).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from maskgate.io.manifest import parse_flag


class LabelError(ValueError):
    """A labels file the report cannot use; the message names the file and line."""


def _flag(v: Any, where: str) -> bool | None:
    if v is None or v == "":
        return None
    f = parse_flag(v)
    if f is None:
        raise LabelError(f"{where}: {v!r} is not a label (true/false, 1/0, yes/no, or null)")
    return f


def read_labels(paths: Iterable[str | Path]) -> dict[str, dict[str, Any]]:
    """id -> label line over several files; a later line for the same id wins (a later file, or a
    review export's later reviewer), except that an export line's adjudicated ``final`` answer,
    when there is one, is the label of its item."""
    out: dict[str, dict[str, Any]] = {}
    final: set[str] = set()
    for path in paths:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as e:
            raise LabelError(f"{p}: cannot read labels ({e})") from e
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            where = f"{p} line {n}"
            try:
                d = json.loads(line)
            except json.JSONDecodeError as e:
                raise LabelError(f"{where}: not JSON ({e.msg})") from e
            if not isinstance(d, dict) or not isinstance(d.get("id"), str) or not d["id"]:
                raise LabelError(f"{where}: expected an object with a string 'id'")
            adjudicated = isinstance(d.get("final"), Mapping)
            if adjudicated:  # the admin's answer for the item outranks each reviewer's
                d = {**d, **{k: d["final"][k] for k in ("labels", "acceptable") if k in d["final"]}}
            elif d["id"] in final:
                continue
            if "acceptable" not in d and "label" in d:  # HFPC lines, as in a manifest
                d["acceptable"] = d["label"]
            d["acceptable"] = _flag(d.get("acceptable"), f"{where}: 'acceptable'")
            lab = d.get("labels")
            if lab is not None:
                if not isinstance(lab, Mapping):
                    raise LabelError(f"{where}: 'labels' must map criteria to true, false or null")
                d["labels"] = {str(c): _flag(v, f"{where}: labels.{c}") for c, v in lab.items()}
            out[d["id"]] = d
            if adjudicated:
                final.add(d["id"])
    return out
