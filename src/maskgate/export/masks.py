"""One 8-bit PNG per pair and mask (255 = product, or overlay), in the original's pixel grid, and
``index.jsonl`` saying which file is whose and where each mask came from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2

from maskgate.core.record import evidence_dirname
from maskgate.export.source import ExportReport, Source, fresh_dir


def write_masks(src: Source, out: Path, **_: Any) -> ExportReport:
    """``OUT/product/<id>.png``, ``OUT/overlay/<id>.png`` (ids made file-system safe the way the
    check names evidence folders) and ``OUT/index.jsonl``."""
    fresh_dir(out)
    rep = ExportReport("masks", out, problems=src.problems)
    none: list[str] = []
    with open(out / "index.jsonl", "w", encoding="utf-8") as idx:
        for it in src.items:
            line: dict[str, Any] = {"id": it.id, "original": str(it.original)}
            for kind, got in (("product", it.product_mask()), ("overlay", it.overlay_mask())):
                line[kind] = line[f"{kind}_source"] = None
                if got is None:
                    continue
                rel = f"{kind}/{evidence_dirname(it.id)}.png"
                (out / kind).mkdir(exist_ok=True)
                if not cv2.imwrite(str(out / rel), got[0].astype("uint8") * 255):
                    rep.problems.append(f"{it.id}: could not write {out / rel}")
                    continue
                line[kind], line[f"{kind}_source"] = rel, got[1]
                rep.masks += 1
            if line["product"] is None and line["overlay"] is None:
                none.append(it.id)
            idx.write(json.dumps(line, ensure_ascii=False) + "\n")
            rep.written += 1
    if none:
        rep.problems.append(
            f"{len(none)} pairs have no mask: {', '.join(none[:5])}" + (" ..." if len(none) > 5 else "")
        )
    rep.skipped = len(src.errors)
    return rep
