"""How well the check's decisions match human labels; pure functions over results records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from maskgate.check.verdict import Scoring
from maskgate.core.record import PairRecord
from maskgate.core.types import CRITERIA


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def criterion_metrics(records: Sequence[PairRecord], labels: Mapping[str, Mapping]) -> dict[str, dict]:
    """Per criterion: precision/recall/F1 of catching failures (positive = labelled fail).

    A criterion the check did not judge (``pass: null``) counts as not failed; a label of null
    (not applicable) leaves the pair out of that criterion.
    """
    out = {}
    for c in CRITERIA:
        tp = fp = fn = tn = 0
        for r in records:
            lab = labels.get(r.id)
            if lab is None or r.verdict == "error":
                continue
            truth = (lab.get("labels") or {}).get(c)
            if truth is None:
                continue
            pred_fail = r.passed(c) is False
            if pred_fail and not truth:
                tp += 1
            elif pred_fail and truth:
                fp += 1
            elif not truth:
                fn += 1
            else:
                tn += 1
        p, rcl, f = _prf(tp, fp, fn)
        out[c] = {
            "precision": p,
            "recall": rcl,
            "f1": f,
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "tn": tn,
            "n": tp + fp + fn + tn,
        }
    return out


def verdict_metrics(records: Sequence[PairRecord], labels: Mapping[str, Mapping]) -> dict:
    """Accept precision, reject precision and automation (share decided without a person)."""
    counts: dict[str, int] = {}
    acc_ok = acc_n = rej_ok = rej_n = labelled = good = 0
    for r in records:
        v = r.verdict
        counts[v] = counts.get(v, 0) + 1
        lab = labels.get(r.id)
        if lab is None or lab.get("acceptable") is None or v == "error":
            continue
        labelled += 1
        good += bool(lab["acceptable"])
        if v == "accept":
            acc_n += 1
            acc_ok += bool(lab["acceptable"])
        elif v == "reject":
            rej_n += 1
            rej_ok += not lab["acceptable"]
    return {
        "labelled": labelled,
        "counts": counts,
        "accept_precision": acc_ok / acc_n if acc_n else None,
        "reject_precision": rej_ok / rej_n if rej_n else None,
        "automation": (acc_n + rej_n) / labelled if labelled else None,
        "accepted": acc_n,
        "rejected": rej_n,
        # what users judge a gate by: of the good edits, how many it lets through alone, and how
        # many it throws away (each a share of the labelled acceptable edits)
        "good": good,
        "good_accepted": acc_ok / good if good else None,
        "good_rejected": (rej_n - rej_ok) / good if good else None,
    }


def label_of(r: PairRecord, labels: Mapping[str, Mapping] | None) -> Mapping | None:
    """The pair's label line: from ``labels`` when given, else the manifest's fields in the record."""
    if labels is not None:
        return labels.get(r.id)
    return r.extra if (r.labels is not None or r.acceptable is not None) else None


def outcome(verdict: str, acceptable: bool | None) -> str | None:
    """What a verdict was worth against the label: right, a false accept or reject, or left to a
    person (review); None when the pair is unlabelled or could not be checked."""
    if acceptable is None or verdict == "error":
        return None
    if verdict == "review":
        return "review"
    if (verdict == "accept") == acceptable:
        return "right"
    return "false accept" if verdict == "accept" else "false reject"


def by_kind(records: Sequence[PairRecord], labels: Mapping[str, Mapping]) -> dict[str, dict[str, dict]]:
    """``criterion_metrics`` per edit kind (the kind the check judged, else the label's), so a
    criterion that is fine on cut-outs and wrong on erasures shows as such."""
    groups: dict[str, list[PairRecord]] = {}
    for r in records:
        lab = labels.get(r.id) or {}
        groups.setdefault(str(r.kind or lab.get("kind") or "unknown"), []).append(r)
    return {k: criterion_metrics(rs, labels) for k, rs in sorted(groups.items())}


def verdict_confusion(records: Sequence[PairRecord], labels: Mapping[str, Mapping]) -> dict[str, dict]:
    """Per edit kind (and ``all``): verdict x label counts, the false accepts and false rejects."""
    out: dict[str, dict] = {}
    for r in records:
        lab = labels.get(r.id)
        if lab is None or lab.get("acceptable") is None or r.verdict == "error":
            continue
        good = "good" if lab["acceptable"] else "bad"
        for k in ("all", str(r.kind or lab.get("kind") or "unknown")):
            t = out.setdefault(k, {v: {"good": 0, "bad": 0} for v in ("accept", "review", "reject")})
            t[r.verdict][good] += 1
    return dict(sorted(out.items(), key=lambda kv: (kv[0] != "all", kv[0])))


def defect_table(records: Sequence[PairRecord], labels: Mapping[str, Mapping]) -> list[dict]:
    """One row per labelled ``defect``: what the check did with it, the wrong verdicts, and the
    criterion that failed it most often (which criterion catches, or misses, that defect)."""
    rows: dict[str, dict] = {}
    for r in records:
        lab = labels.get(r.id)
        if lab is None or lab.get("defect") in (None, "") or r.verdict == "error":
            continue
        row = rows.setdefault(
            str(lab["defect"]),
            {
                "n": 0,
                "accept": 0,
                "review": 0,
                "reject": 0,
                "false accept": 0,
                "false reject": 0,
                "fails": {},
            },
        )
        row["n"] += 1
        row[r.verdict] += 1
        o = outcome(r.verdict, lab.get("acceptable"))
        if o in ("false accept", "false reject"):
            row[o] += 1
        for c, cr in r.criteria.items():
            if cr.passed is False:
                row["fails"][c] = row["fails"].get(c, 0) + 1
    out = []
    for d, row in sorted(rows.items()):
        fails = sorted(row.pop("fails").items(), key=lambda kv: (-kv[1], kv[0]))
        out.append({"defect": d, **row, "failed_by": fails[:2]})
    return out


@dataclass
class Decisions:
    """Every checked pair's scores laid out per scorer (the thresholds' unit), so the verdict can
    be redone for other accept thresholds without rereading records: the report's curves.

    A criterion is scored, and thresholded, under a scorer key (``residue@text_removed`` has its own
    thresholds), so the columns are keys, not criteria.
    """

    keys: list[str]
    scores: np.ndarray  # (pairs, keys): the criterion's score, NaN where it does not apply
    accept: np.ndarray  # (keys,) shipped accept thresholds
    reject: np.ndarray  # (keys,)
    good: np.ndarray  # (pairs,): 1 acceptable, 0 not, NaN unlabelled
    verdicts: list[str]  # as recorded

    @classmethod
    def build(
        cls, records: Sequence[PairRecord], labels: Mapping[str, Mapping] | None, scoring: Scoring
    ) -> Decisions:
        recs = [r for r in records if r.verdict != "error"]
        keys: list[str] = []
        col: dict[str, int] = {}
        cells: list[tuple[int, int, float]] = []
        for i, r in enumerate(recs):
            for c, cr in r.criteria.items():
                if cr.passed is None or c not in CRITERIA:
                    continue
                k = scoring.scorer(c, r.kind)
                if k not in col:
                    col[k] = len(keys)
                    keys.append(k)
                cells.append((i, col[k], cr.score))
        scores = np.full((len(recs), len(keys)), np.nan)
        if cells:
            ii, kk, ss = zip(*cells, strict=True)
            scores[list(ii), list(kk)] = ss
        th = [scoring.thresholds.get(k) or scoring.thresholds[k.split("@")[0]] for k in keys]
        good = np.full(len(recs), np.nan)
        for i, r in enumerate(recs):
            lab = label_of(r, labels)
            if lab is not None and isinstance(lab.get("acceptable"), bool):
                good[i] = float(lab["acceptable"])
        return cls(
            keys,
            scores,
            np.array([t.accept for t in th], float),
            np.array([t.reject for t in th], float),
            good,
            [r.verdict for r in recs],
        )

    def _clears(self, accept: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.isnan(self.scores) | (self.scores >= accept)

    def rejected(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return (self.scores < self.reject).any(axis=1)

    def shipped(self) -> list[str]:
        """The verdicts these thresholds give; they differ from the recorded ones when the run was
        scored with another calibration or model."""
        rej = self.rejected()
        acc = ~rej & self._clears(self.accept).all(axis=1)
        return ["reject" if j else "accept" if a else "review" for j, a in zip(rej, acc, strict=True)]

    def mismatches(self) -> int:
        return sum(a != b for a, b in zip(self.shipped(), self.verdicts, strict=True))

    def curves(self, grid: np.ndarray | None = None) -> tuple[list[dict], list[dict]]:
        """(curve rows, shipped points): for each scorer, precision of the accepts, the share of
        good edits accepted and the share decided without a person, as its accept threshold moves
        over ``grid`` with the others at their shipped values. Over the labelled pairs only."""
        grid = np.linspace(0, 1, 101) if grid is None else grid
        lab = ~np.isnan(self.good)
        if not lab.any():
            return [], []
        good = self.good[lab] == 1
        rej = self.rejected()[lab]
        clears = self._clears(self.accept)[lab]
        rows: list[dict] = []
        points: list[dict] = []
        n_good = int(good.sum())

        def figures(acc: np.ndarray) -> dict[str, np.ndarray]:  # acc: (thresholds, pairs)
            n_acc = acc.sum(axis=1)
            ok = (acc & good).sum(axis=1)
            return {
                "precision of accepts": np.where(n_acc > 0, ok / np.maximum(n_acc, 1), np.nan),
                "good edits accepted": ok / n_good if n_good else np.full(len(acc), np.nan),
                "decided alone": (n_acc + rej.sum()) / len(good),
            }

        for j, key in enumerate(self.keys):
            s = self.scores[lab, j]
            if np.isnan(s).all():
                continue
            others = ~rej & np.delete(clears, j, axis=1).all(axis=1)
            with np.errstate(invalid="ignore"):
                acc = others & (np.isnan(s) | (s >= grid[:, None]))
            for metric, ys in figures(acc).items():
                rows += [
                    {"scorer": key, "threshold": float(t), "metric": metric, "value": float(y)}
                    for t, y in zip(grid, ys, strict=True)
                    if not np.isnan(y)
                ]
            t0 = float(self.accept[j])
            with np.errstate(invalid="ignore"):
                acc0 = others & (np.isnan(s) | (s >= t0))
            for metric, ys in figures(acc0[None, :]).items():
                if not np.isnan(ys[0]):
                    points.append({"scorer": key, "threshold": t0, "metric": metric, "value": float(ys[0])})
        return rows, points
