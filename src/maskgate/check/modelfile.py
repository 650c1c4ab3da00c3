"""The versioned JSON files a trained model is saved as (``model.json``, ``reward.json``): one
writer and one guarded reader, so both kinds of model refuse the same things the same way."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


def spec_hash(spec: Mapping[str, Any]) -> str:
    """A short fingerprint of a feature spec: a model whose spec differs weighs other numbers."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return None if math.isnan(float(o)) else float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_json(path: Path, raw: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(raw, indent=2, default=json_default) + "\n")


def read_versioned(
    path: Path, fmt: str, version: int, error: type[Exception], what: str, train: str
) -> dict[str, Any]:
    """The file's object, after the checks every model file needs: present (else ``train`` is the
    command that makes one), JSON, of format ``fmt``, and not newer than ``version``."""
    if not path.is_file():
        raise error(f"{path.parent} is not a {what} folder (no {path.name}): train one with `{train}`")
    try:
        raw = json.loads(path.read_text())
    except ValueError as e:
        raise error(f"{path}: not JSON ({e})") from e
    if not isinstance(raw, dict) or raw.get("format") != fmt:
        got = raw.get("format") if isinstance(raw, dict) else None
        raise error(f"{path}: not a maskgate {what} (format {got!r})")
    if int(raw.get("format_version", 0)) > version:
        raise error(
            f"{path}: format version {raw['format_version']} is newer than this maskgate reads "
            f"({version}): upgrade maskgate"
        )
    return raw
