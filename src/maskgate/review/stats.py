"""Numbers for the admin pages: progress, throughput, agreement, gold accuracy, disagreements.

Reads answers once and computes in Python with the pure functions of ``agreement``; fine for
the tens of thousands of answers a project collects (the queue itself never runs this).
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select

from maskgate.review.agreement import cohen_kappa, fleiss_kappa, rle_iou
from maskgate.review.schema import Adjudication, Answer, Assignment, Item, Slot, User

QUESTION_KEYS = (
    "q1",
    "q2",
    "quality",
    "segmentation",
    "comprehensibility",
    "consistency",
    "background",
    "acceptable",
)


@dataclass
class Overview:
    progress: dict = field(default_factory=dict)
    reviewers: list[dict] = field(default_factory=list)
    agreement: list[dict] = field(default_factory=list)
    mask_iou: float | None = None
    disagreements: list[dict] = field(default_factory=list)


def answer_value(row: dict, key: str):
    if key in ("q1", "q2", "acceptable"):
        return row[key]
    return (row["labels"] or {}).get(key)


def gold_tally(answers: list[dict], gold: dict) -> tuple[int, int]:
    """(answers right, answers checked) of one reviewer's ``answers`` on the ``gold`` items (item id
    -> row with ``gold_labels`` and ``gold_acceptable``), counting every known question."""
    correct = checked = 0
    for r in answers:
        g = gold.get(r["item_id"])
        if g is None:
            continue
        for k, v in (g.gold_labels or {}).items():
            if v is not None and k in (r["labels"] or {}):
                checked += 1
                correct += r["labels"][k] == v
        if g.gold_acceptable is not None:
            checked += 1
            correct += r["acceptable"] == g.gold_acceptable
    return correct, checked


def overview(engine: Engine, *, iou_threshold: float = 0.8, max_disagreements: int = 200) -> Overview:
    ov = Overview()
    now = time.time()
    with engine.connect() as c:
        slot_states = dict(c.execute(select(Slot.state, func.count()).group_by(Slot.state)).all())
        ov.progress = {
            "items": c.scalar(select(func.count()).select_from(Item)),
            "gold": c.scalar(select(func.count()).select_from(Item).where(Item.is_gold)),
            "errors": c.scalar(select(func.count()).select_from(Item).where(Item.error.is_not(None))),
            "slots_open": slot_states.get("open", 0),
            "slots_leased": slot_states.get("leased", 0),
            "slots_done": slot_states.get("done", 0),
            "answers": c.scalar(select(func.count()).select_from(Answer)),
        }
        total = sum(slot_states.values())
        ov.progress["percent"] = round(100.0 * slot_states.get("done", 0) / total, 1) if total else 0.0
        users = {u.id: u.username for u in c.execute(select(User.id, User.username))}
        skips = dict(
            c.execute(
                select(Assignment.reviewer_id, func.count())
                .where(Assignment.status == "skipped")
                .group_by(Assignment.reviewer_id)
            ).all()
        )
        rows = [
            dict(r)
            for r in c.execute(
                select(
                    Answer.id,
                    Answer.item_id,
                    Answer.reviewer_id,
                    Answer.q1,
                    Answer.q2,
                    Answer.labels,
                    Answer.acceptable,
                    Answer.mask,
                    Answer.is_gold,
                    Answer.seconds,
                    Answer.created_at,
                )
            ).mappings()
        ]
        gold = {
            r.id: r
            for r in c.execute(select(Item.id, Item.gold_labels, Item.gold_acceptable).where(Item.is_gold))
        }
        adjudicated = set(c.scalars(select(Adjudication.item_id)))
        ext = (
            dict(
                c.execute(select(Item.id, Item.ext_id).where(Item.id.in_({r["item_id"] for r in rows}))).all()
            )
            if rows
            else {}
        )

    by_rev = defaultdict(list)
    for r in rows:
        by_rev[r["reviewer_id"]].append(r)
    for rid, rs in sorted(by_rev.items(), key=lambda kv: users.get(kv[0], "")):
        secs = [r["seconds"] for r in rs if r["seconds"] is not None]
        correct, checked = gold_tally(rs, gold)
        ov.reviewers.append(
            {
                "username": users.get(rid, str(rid)),
                "answers": len(rs),
                "last_hour": sum(1 for r in rs if r["created_at"] > now - 3600),
                "median_seconds": round(statistics.median(secs), 1) if secs else None,
                "skips": skips.get(rid, 0),
                "gold_items": sum(1 for r in rs if r["item_id"] in gold),
                "gold_accuracy": round(correct / checked, 3) if checked else None,
            }
        )

    per_item = defaultdict(list)
    for r in rows:
        if not r["is_gold"]:
            per_item[r["item_id"]].append(r)
    multi = {i: rs for i, rs in per_item.items() if len(rs) >= 2}
    for key in QUESTION_KEYS:
        ratings = [[answer_value(r, key) for r in rs] for rs in multi.values()]
        ratings = [[v for v in rr if v is not None] for rr in ratings]
        pair_a = defaultdict(list)
        for rs in multi.values():
            for x, y in itertools.combinations(sorted(rs, key=lambda r: r["reviewer_id"]), 2):
                vx, vy = answer_value(x, key), answer_value(y, key)
                if vx is not None and vy is not None:
                    pair_a[(x["reviewer_id"], y["reviewer_id"])].append((vx, vy))
        kappas = [(cohen_kappa([p[0] for p in v], [p[1] for p in v]), len(v)) for v in pair_a.values()]
        kappas = [(k, n) for k, n in kappas if k is not None]
        n_items = sum(1 for rr in ratings if len(rr) >= 2)
        ov.agreement.append(
            {
                "question": key,
                "items": n_items,
                "fleiss": _r(fleiss_kappa(ratings)),
                "cohen_mean": _r(sum(k * n for k, n in kappas) / sum(n for _, n in kappas))
                if kappas
                else None,
                "pairs": len(kappas),
            }
        )
    ious = []
    for iid, rs in multi.items():
        masks = [r["mask"] for r in rs if r["mask"]]
        item_ious = [rle_iou(a, b) for a, b in itertools.combinations(masks, 2) if a["size"] == b["size"]]
        iou = min(item_ious) if item_ious else None
        ious.extend(item_ious)
        differs = [k for k in QUESTION_KEYS if len({answer_value(r, k) for r in rs}) > 1]
        if differs or (iou is not None and iou < iou_threshold):
            ov.disagreements.append(
                {
                    "item_id": iid,
                    "ext_id": ext.get(iid, str(iid)),
                    "questions": differs,
                    "mask_iou": _r(iou),
                    "answers": len(rs),
                    "final": iid in adjudicated,
                }
            )
    ov.mask_iou = _r(statistics.fmean(ious)) if ious else None
    ov.disagreements.sort(
        key=lambda d: (-len(d["questions"]), d["mask_iou"] if d["mask_iou"] is not None else 1)
    )
    ov.disagreements = ov.disagreements[:max_disagreements]
    return ov


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 3)
