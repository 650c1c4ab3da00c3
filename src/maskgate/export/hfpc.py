"""HFPC-style pair lines, ``{"origin", "generation", "label"}`` (plus the pair's ``id``, which
``maskgate check`` reads back): label 1 for an acceptable edit, 0 for one that is not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from maskgate.export.source import ExportError, ExportReport, Source, atomic_file, relative_to

LABEL_FROM = ("labels", "verdict")


def write_hfpc(
    src: Source, out: Path, *, label_from: str = "labels", image_root: Path | None = None, **_: Any
) -> ExportReport:
    """``label_from="labels"``: the people's ``acceptable`` (adjudicated, else the reviewers'
    majority, else the manifest's); ``"verdict"``: the check's own, accept 1 and reject 0. A pair
    with no label that way (a tie, no review, verdict ``review``) is left out and counted."""
    if label_from not in LABEL_FROM:
        raise ExportError(f"--label-from must be one of {', '.join(LABEL_FROM)}, not {label_from!r}")
    rep = ExportReport("hfpc", out, problems=src.problems)
    unlabelled: list[str] = []
    with atomic_file(out) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for it in src.items:
            if label_from == "verdict":
                ok = {"accept": True, "reject": False}.get(it.record.verdict)
            else:
                lab = it.label()
                ok = lab.acceptable if lab else None
            if ok is None:
                unlabelled.append(it.id)
                continue
            line = {
                "origin": relative_to(it.original, image_root),
                "generation": relative_to(it.edited, image_root),
                "label": int(ok),
                "id": it.id,
            }
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
            rep.written += 1
    rep.skipped = len(unlabelled) + len(src.errors)
    if unlabelled:
        how = "verdict review" if label_from == "verdict" else "no acceptable label"
        rep.problems.append(
            f"{len(unlabelled)} pairs left out ({how}): {', '.join(unlabelled[:5])}"
            + (" ..." if len(unlabelled) > 5 else "")
        )
    if src.errors:
        rep.problems.append(f"{len(src.errors)} error records left out")
    return rep
