"""Write the human labels: one JSONL line per submitted answer, with the same criterion names
as ``maskgate check`` and the corrected mask as COCO RLE (optionally also as PNG files). Where an
admin adjudicated the item, ``final`` holds that answer (``labels``, ``acceptable``, q1/q2, who,
when) on each of the item's lines; otherwise it is null."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import Engine, select

from maskgate.review.adjudication import final_records
from maskgate.review.importer import stored_record
from maskgate.review.masks import decode_rle, mask_to_png
from maskgate.review.schema import Answer, Item, User

AN, IT, U = Answer.__table__, Item.__table__, User.__table__


@dataclass
class ExportReport:
    answers: int = 0
    masks_written: int = 0

    def to_json(self) -> dict:
        """The ``--json`` object of ``maskgate review export``."""
        return asdict(self)


def _safe_name(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", s)[:120] or "item"


def answer_records(engine: Engine, *, include_gold: bool = True):
    q = (
        select(
            AN,
            IT.c.ext_id,
            IT.c.check_record,
            IT.c.kind,
            IT.c.verdict,
            IT.c.gold_labels,
            IT.c.gold_acceptable,
            U.c.username,
        )
        .join(IT, IT.c.id == AN.c.item_id)
        .join(U, U.c.id == AN.c.reviewer_id)
        .order_by(AN.c.id)
    )
    if not include_gold:
        q = q.where(AN.c.is_gold.is_(False))
    finals = final_records(engine)
    with engine.connect() as c:
        for r in c.execute(q).mappings():
            rec = stored_record(r["check_record"])
            yield {
                "id": r["ext_id"],
                "original": rec.original if rec else None,
                "edited": rec.edited if rec else None,
                "kind": r["kind"],
                "reviewer": r["username"],
                "labels": r["labels"],
                "acceptable": r["acceptable"],
                "source_overlay": r["q1"],
                "q1_original_has_overlay": r["q1"],
                "q2_edit_has_leftover": r["q2"],
                "note": r["note"],
                "mask": r["mask"],
                "gold": r["is_gold"],
                "check_verdict": r["verdict"],
                "seconds": None if r["seconds"] is None else round(r["seconds"], 2),
                "submitted_at": r["created_at"],
                "final": finals.get(r["item_id"]),  # the admin's adjudicated answer, or None
            }


def export_labels(
    engine: Engine, out: str | Path, *, masks_dir: str | Path | None = None, include_gold: bool = True
) -> ExportReport:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rep = ExportReport()
    mdir = Path(masks_dir) if masks_dir else None
    if mdir:
        mdir.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".part")
    with open(tmp, "w", encoding="utf-8") as f:
        for rec in answer_records(engine, include_gold=include_gold):
            if mdir and rec["mask"]:
                p = mdir / f"{_safe_name(rec['id'])}__{_safe_name(rec['reviewer'])}.png"
                p.write_bytes(mask_to_png(decode_rle(rec["mask"])))
                rec["mask_png"] = str(p)
                rep.masks_written += 1
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            rep.answers += 1
    tmp.replace(out)  # a reader never sees a half-written export
    return rep
