"""How well the check's decisions match human labels; pure functions over results records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
