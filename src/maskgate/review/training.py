"""Training rows from the review database, for ``maskgate learn --from-db``.

Each reviewed item becomes one ``LabelledFeatures`` row, the same rows ``learn LABELS --results``
builds from files: the measurements are those the check stored in the item's record at import (no
image is measured again), and the labels are what people said:

- an admin's adjudicated answer, where there is one, is the label;
- otherwise, the reviewers' answers weighted by each one's gold accuracy (with a prior of
  ``PRIOR_ACCURACY`` worth ``PRIOR_WEIGHT`` gold answers, so one lucky gold answer does not make a
  reviewer an oracle and a reviewer without gold answers still counts);
- a question whose weighted majority holds less than ``min_agreement`` of the weight is left
  unlabelled (it waits for adjudication); an item whose overall answer is that contested is left
  out, since every row needs one.

A gold item's known answer is its label, as for adjudication.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from maskgate.core.types import CRITERIA
from maskgate.learn.calibrate import LabelledFeatures, group_of
from maskgate.review.adjudication import final_records
from maskgate.review.importer import stored_record
from maskgate.review.roots import served_path
from maskgate.review.schema import Answer, Item, Root
from maskgate.review.security import UnsafePathError
from maskgate.review.stats import gold_tally

PRIOR_ACCURACY = 0.75
PRIOR_WEIGHT = 4.0
MIN_AGREEMENT = 0.7


@dataclass
class DbRows:
    rows: list[LabelledFeatures] = field(default_factory=list)
    adjudicated: int = 0
    gold: int = 0
    consensus: int = 0
    contested: int = 0  # left out: the overall answer waits for adjudication
    contested_questions: int = 0  # criterion labels left unset for the same reason
    unmeasured: int = 0  # answered, but imported without a check record
    weights: dict[str, float] = field(default_factory=dict)  # reviewer id -> vote weight
    digest: str = ""  # sha256 of the labels used: a model names what it was trained on
    # row id -> (original, edited) as real paths under the item's image base: what an
    # image-referenced model (the reward model) reads. Only files an allowed root holds, as the
    # app serves them: a database names its files, and a training command must not read more of
    # the disk through it than the app would show a reviewer.
    paths: dict[str, tuple[str, str]] = field(default_factory=dict)
    unserved: int = 0  # labelled rows whose images lie outside every allowed root

    def summary(self) -> str:
        return (
            f"{len(self.rows)} labelled pairs from the review database ({self.adjudicated} adjudicated, "
            f"{self.gold} gold, {self.consensus} by weighted consensus); {self.contested} left out as "
            f"contested, {self.contested_questions} contested answers unlabelled, {self.unmeasured} without "
            "check measurements"
            + (f"; {self.unserved} with images outside every allowed root" if self.unserved else "")
        )


def reviewer_weights(answers: list[dict], gold: dict) -> dict[int, float]:
    """Each reviewer's vote weight: gold accuracy, shrunk towards the prior."""
    by: dict[int, list[dict]] = defaultdict(list)
    for a in answers:
        by[a["reviewer_id"]].append(a)
    out = {}
    for rid, rs in by.items():
        correct, checked = gold_tally(rs, gold)
        out[rid] = (correct + PRIOR_ACCURACY * PRIOR_WEIGHT) / (checked + PRIOR_WEIGHT)
    return out


def weighted_vote(votes: list[tuple[bool, float]]) -> tuple[bool | None, float]:
    """(majority answer, the share of the weight behind it); (None, 0) without votes."""
    total = sum(w for _, w in votes)
    if total <= 0:
        return None, 0.0
    yes = sum(w for v, w in votes if v) / total
    return (yes >= 0.5), max(yes, 1 - yes)


def training_rows(engine: Engine, *, group_by: str = "group", min_agreement: float = MIN_AGREEMENT) -> DbRows:
    """The labelled rows of every reviewed item (see module doc)."""
    out = DbRows()
    with engine.connect() as c:
        items = {
            r.id: r
            for r in c.execute(
                select(
                    Item.id,
                    Item.ext_id,
                    Item.check_record,
                    Item.is_gold,
                    Item.gold_labels,
                    Item.gold_acceptable,
                    Item.original,
                    Item.edited,
                    Item.root_id,
                    Root.path.label("base"),
                ).join(Root, Root.id == Item.root_id, isouter=True)
            )
        }
        answers = [
            dict(r)
            for r in c.execute(
                select(
                    Answer.item_id,
                    Answer.reviewer_id,
                    Answer.labels,
                    Answer.acceptable,
                    Answer.q2,
                    Answer.is_gold,
                ).order_by(Answer.id)
            ).mappings()
        ]
    finals = final_records(engine)
    gold = {i: r for i, r in items.items() if r.is_gold}
    weights = reviewer_weights(answers, gold)
    out.weights = {str(k): round(v, 4) for k, v in weights.items()}
    per_item: dict[int, list[dict]] = defaultdict(list)
    for a in answers:
        per_item[a["item_id"]].append(a)
    labelled: list[tuple[str, dict[str, Any], bool]] = []
    files: dict[str, tuple[int, str, str]] = {}
    for iid in sorted(set(per_item) | set(finals) | set(gold)):
        it = items.get(iid)
        if it is None:
            continue
        labels: dict[str, bool | None]
        acceptable: bool | None
        if iid in finals:
            f = finals[iid]
            labels = {k: (f["labels"] or {}).get(k) for k in CRITERIA}
            if f.get("q2_edit_has_leftover") is not None and labels.get("residue") is None:
                labels["residue"] = not f["q2_edit_has_leftover"]
            acceptable, how = f["acceptable"], "adjudicated"
        elif it.is_gold and (
            it.gold_acceptable is not None or any(v is not None for v in (it.gold_labels or {}).values())
        ):
            labels = {k: (it.gold_labels or {}).get(k) for k in CRITERIA}
            acceptable, how = it.gold_acceptable, "gold"
        elif per_item.get(iid) and not it.is_gold:
            rs = per_item[iid]
            labels = {}
            for k in CRITERIA:
                votes = [
                    (a["labels"][k], weights[a["reviewer_id"]])
                    for a in rs
                    if (a["labels"] or {}).get(k) is not None
                ]
                v, share = weighted_vote(votes)
                if v is not None and share < min_agreement:
                    out.contested_questions += 1
                    v = None
                labels[k] = v
            acceptable, share = weighted_vote([(a["acceptable"], weights[a["reviewer_id"]]) for a in rs])
            if acceptable is not None and share < min_agreement:
                out.contested += 1
                continue
            how = "consensus"
        else:
            continue
        if acceptable is None:
            out.contested += 1
            continue
        rec = stored_record(it.check_record)
        if rec is None or rec.verdict == "error":
            out.unmeasured += 1
            continue
        feats = {c: (rec.criteria[c].measurements() if c in rec.criteria else {}) for c in CRITERIA}
        if not any(feats.values()):
            out.unmeasured += 1
            continue
        setattr(out, how, getattr(out, how) + 1)
        out.rows.append(
            LabelledFeatures(
                rec.id, group_of(rec.to_json(), group_by), rec.kind, feats, labels, bool(acceptable)
            )
        )
        labelled.append((rec.id, labels, bool(acceptable)))
        if it.root_id is not None:
            files[rec.id] = (it.root_id, it.original, it.edited)
    with Session(engine) as s:
        for rid, (root, orig, edit) in files.items():
            try:
                out.paths[rid] = (str(served_path(s, root, orig)), str(served_path(s, root, edit)))
            except (LookupError, UnsafePathError):
                out.unserved += 1
    out.digest = hashlib.sha256(json.dumps(labelled, sort_keys=True).encode()).hexdigest()
    return out


def describe_db(url: str, rows: DbRows) -> list[dict[str, Any]]:
    """The ``trained_on.files`` entry of a model trained from a database (no password in it)."""
    from sqlalchemy.engine import make_url

    return [
        {
            "database": make_url(url).render_as_string(hide_password=True),
            "labels_sha256": rows.digest,
            "pairs": len(rows.rows),
            "adjudicated": rows.adjudicated,
            "gold": rows.gold,
            "consensus": rows.consensus,
            "contested_left_out": rows.contested,
            "reviewer_weights": rows.weights,
        }
    ]
