"""``maskgate reward train``: fit the reward model's heads (``check.reward``) on people's labels.

A label on one edit says little about the scene (the light, the product, the framing all vary);
two edits of one original with different labels differ in little else than what made one of them
wrong. So where an original has edits labelled both ways, every (good, bad) pair among them is a
comparison row, and the fit asks the good edit's score to exceed the bad one's (a RankNet-style
logistic loss on the feature difference); every other labelled edit is a plain logistic row. Both
losses share the weights and are minimised together. A one-dimensional logistic fit of the
resulting score on all labels then makes it a probability (comparisons fix the direction, not
the level).

The loss is written here because it joins two losses over one weight vector, which no installed
library fits (scikit-learn is not a dependency; scipy's L-BFGS minimises it). Figures are grouped
out-of-fold (``--group-by``, by default each pair's original), so they speak of unseen products.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

import maskgate
from maskgate.check.reward import HEADS, Backbone, Head, RewardModel, check_features, prepare_pair
from maskgate.core.record import read_records
from maskgate.io.images import load_image
from maskgate.learn import logistic
from maskgate.learn.calibrate import LabelledFeatures, best_f1_threshold, group_of
from maskgate.learn.train import auc, balanced_log_loss, fold_ids

# Regularisation strengths tried, strongest first (a tie keeps the simpler model).
L2_GRID = (30.0, 3.0, 0.3)
MIN_ROWS = 10  # a head with fewer labels, or one outcome only, is not trained


class RewardDataError(ValueError):
    """A label file the reward model cannot train on, with the line and the fix."""


@dataclass
class RewardRow:
    """One labelled (original, edit): where its images are, and what people said of it."""

    id: str
    group: str
    original: str  # path: edits of one original are compared with each other
    edited: str
    kind: str | None
    labels: dict[str, bool | None]  # head -> good / bad / unlabelled
    feats: dict[str, dict[str, float]] | None = None  # the check's measurements, when a record had them


_GOOD = {"good", "accept", "acceptable", "pass", "true", "yes", "1"}
_BAD = {"bad", "reject", "unacceptable", "fail", "false", "no", "0"}


def good_label(v: Any) -> bool | None:
    """A label value as good (True), bad (False) or none; anything else is an error."""
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in _GOOD | _BAD:
        return v.strip().lower() in _GOOD
    raise ValueError(f"{v!r} is not a label (use true/false, 1/0, good/bad or accept/reject)")


def _lines(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as e:
            raise RewardDataError(f"{path}:{n}: not JSON ({e})") from e
        if not isinstance(rec, dict):
            raise RewardDataError(f"{path}:{n}: a JSON object per line is expected")
        yield n, rec


def _overall(rec: Mapping[str, Any], where: str) -> bool | None:
    for k in ("acceptable", "label", "verdict"):
        if k in rec and rec[k] is not None:
            try:
                return good_label(rec[k])
            except ValueError as e:
                raise RewardDataError(f"{where}: field {k!r}: {e}") from e
    return None


def _background(rec: Mapping[str, Any], where: str) -> bool | None:
    labels = rec.get("labels")
    if not isinstance(labels, dict):
        return None
    try:
        return good_label(labels.get("background"))
    except ValueError as e:
        raise RewardDataError(f"{where}: labels.background: {e}") from e


def rows_from_labels(
    labels: str | Path, results: str | Path | None = None, group_by: str = "group"
) -> list[RewardRow]:
    """The project's label JSONL (``id``; ``acceptable`` or ``label`` / ``verdict``; per-criterion
    ``labels``), joined by id with a ``maskgate check`` results.jsonl when given (its paths, kind and
    measurements); without one, the label line's ``original`` / ``edited`` paths, relative to the file."""
    path = Path(labels)
    recs = {r.id: r for r in read_records(results)} if results is not None else None
    rows = []
    for n, lab in _lines(path):
        where = f"{path}:{n}"
        if "id" not in lab:
            raise RewardDataError(f"{where}: no `id` field")
        rid = str(lab["id"])
        if recs is not None:
            rec = recs.get(rid)
            if rec is None or rec.verdict == "error":
                continue  # not checked (or not checkable): learn skips it the same way
            original, edited, kind = rec.original, rec.edited, rec.kind
            feats: dict[str, dict[str, float]] | None = {
                c: cr.measurements() for c, cr in rec.criteria.items()
            }
        else:
            if not lab.get("original") or not lab.get("edited"):
                raise RewardDataError(f"{where}: no `original` / `edited` paths (or give --results)")
            original, edited = str(path.parent / lab["original"]), str(path.parent / lab["edited"])
            kind, feats = lab.get("kind"), None
        heads = {"overall": _overall(lab, where), "background": _background(lab, where)}
        rows.append(RewardRow(rid, group_of(lab, group_by), original, edited, kind, heads, feats))
    return rows


def rows_from_labelled(
    rows: Sequence[LabelledFeatures], paths: Mapping[str, tuple[str, str]]
) -> list[RewardRow]:
    """Labelled pairs with their measurements (the review database's, ``review.training``) as
    reward rows: the overall label is the pair's acceptability, the background head's the
    background criterion's; a pair whose images are not known is left out."""
    return [
        RewardRow(
            r.id,
            r.group,
            paths[r.id][0],
            paths[r.id][1],
            r.kind,
            {"overall": bool(r.acceptable), "background": r.labels.get("background")},
            r.features,
        )
        for r in rows
        if r.id in paths
    ]


def rows_from_hfpc(path: str | Path, group_by: str = "group") -> list[RewardRow]:
    """HFPC-style JSONL: ``{"origin": path, "generation": path, "label": 0/1 or good/bad}``, paths
    relative to the file; the label is the overall one."""
    p = Path(path)
    rows = []
    for n, rec in _lines(p):
        where = f"{p}:{n}"
        if not rec.get("origin") or not rec.get("generation"):
            raise RewardDataError(f"{where}: an HFPC line needs `origin` and `generation` paths")
        try:
            y = good_label(rec.get("label"))
        except ValueError as e:
            raise RewardDataError(f"{where}: field 'label': {e}") from e
        original, edited = str(p.parent / rec["origin"]), str(p.parent / rec["generation"])
        rid = str(rec.get("id") or Path(rec["generation"]).stem)
        grp = str(rec[group_by]) if rec.get(group_by) not in (None, "") else original
        rows.append(
            RewardRow(rid, grp, original, edited, rec.get("kind"), {"overall": y, "background": None})
        )
    return rows


# ---------------------------------------------------------------- features


def featurize(
    rows: Sequence[RewardRow],
    backbone: Backbone,
    use_check: bool,
    on_pair: Callable[[int, int], None] | None = None,
) -> tuple[RewardModel, np.ndarray, list[int], list[str]]:
    """The feature matrix of the rows whose images decode, a model skeleton that names its columns
    (with the embedding's length filled in), the rows kept, and why the others were skipped."""
    vecs: list[np.ndarray] = []
    kept: list[int] = []
    skipped: list[str] = []
    model = RewardModel(backbone, use_check, {})
    for i, r in enumerate(rows):
        try:
            o, e = prepare_pair(load_image(r.original, max_side=1024), load_image(r.edited, max_side=1024))
        except (OSError, ValueError) as exc:  # a missing or undecodable file skips that pair, named
            skipped.append(f"{r.id}: {exc}")
            continue
        named = model.backbone.features(o, e)
        if model.backbone.name == "onnx" and model.backbone.dim is None:
            dim = sum(1 for k in named if k.startswith("emb:edit:"))
            model = replace(model, backbone=replace(model.backbone, dim=dim))
        if use_check:
            named |= check_features(r.feats or {})
        vecs.append(np.array([named[n] for n in model.names()], np.float64))
        kept.append(i)
        if on_pair:
            on_pair(i + 1, len(rows))
    x = np.array(vecs) if vecs else np.zeros((0, len(model.names())))
    return model, x, kept, skipped


# ---------------------------------------------------------------- the fit


def comparisons(originals: Sequence[str], y: np.ndarray) -> np.ndarray:
    """(good, bad) row pairs: edits of one original labelled both ways."""
    by: dict[str, list[int]] = {}
    for i, o in enumerate(originals):
        by.setdefault(o, []).append(i)
    out = [(g, b) for idx in by.values() for g in idx if y[g] == 1 for b in idx if y[b] == 0]
    return np.array(out, np.int64).reshape(-1, 2)


def fit_weights(z: np.ndarray, y: np.ndarray, pairs: np.ndarray, l2: float) -> np.ndarray:
    """Weights (and a last intercept) minimising the mean pairwise loss over ``pairs`` plus the
    mean balanced logistic loss over the rows in no pair, plus L2 (see module doc)."""
    n, d = z.shape
    in_pair = np.zeros(n, bool)
    in_pair[pairs.ravel()] = True
    pt = ~in_pair
    zp, yp = z[pt], y[pt]
    pos = min(max(float(yp.mean()) if len(yp) else 0.5, 1e-3), 1 - 1e-3)
    bw = np.where(yp == 1, 0.5 / pos, 0.5 / (1 - pos))
    diff = z[pairs[:, 0]] - z[pairs[:, 1]] if len(pairs) else np.zeros((0, d))

    def loss(p: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = p[:d], p[d]
        val, gw, gb = 0.5 * l2 * float(w @ w) / n, l2 * w / n, 0.0
        if len(zp) and len(set(yp.tolist())) == 2:
            t = zp @ w + b
            ll = np.logaddexp(0, -t) * yp + np.logaddexp(0, t) * (1 - yp)
            g = (1 / (1 + np.exp(-t)) - yp) * bw / len(zp)
            val += float((bw * ll).sum() / len(zp))
            gw, gb = gw + zp.T @ g, gb + float(g.sum())
        if len(diff):
            u = diff @ w
            val += float(np.logaddexp(0, -u).mean())
            gw = gw + diff.T @ (-1 / (1 + np.exp(u)) / len(diff))
        return val, np.concatenate([gw, [gb]])

    return minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B").x


def fit_head(x: np.ndarray, y: np.ndarray, originals: Sequence[str], l2: float) -> Head:
    """One head on standardised features: the joint fit, then the score made a probability."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    p = fit_weights(z, y, comparisons(originals, y), l2)
    s = z @ p[:-1]
    platt = logistic.fit(s[:, None], y, np.array([1.0]), l2=1e-3)
    a = platt["coef"][0] / platt["scale"][0]
    return Head(mean.tolist(), scale.tolist(), (a * p[:-1]).tolist(), float(platt["intercept"]))


def pair_accuracy(p: np.ndarray, pairs: np.ndarray) -> float:
    """Share of (good, bad) comparisons the scores order right (ties count half)."""
    if not len(pairs):
        return math.nan
    g, b = p[pairs[:, 0]], p[pairs[:, 1]]
    return float(((g > b) + 0.5 * (g == b)).mean())


def _oof(x: np.ndarray, y: np.ndarray, originals: list[str], groups: list[str], l2: float) -> np.ndarray:
    k = min(5, len(set(groups)))
    folds = fold_ids(groups, k)
    out = np.full(len(y), np.nan)
    for f in range(k):
        tr, te = folds != f, folds == f
        if len(set(y[tr].tolist())) < 2 or not te.any():
            continue
        head = fit_head(x[tr], y[tr], [originals[i] for i in np.nonzero(tr)[0]], l2)
        out[te] = head.probability(x[te])
    return out


def train_head(x: np.ndarray, y: np.ndarray, originals: list[str], groups: list[str]) -> Head:
    """The head with the L2 strength whose grouped out-of-fold AUC is best, and its figures."""
    best: tuple[float, float, np.ndarray] | None = None
    tried = {}
    for l2 in L2_GRID:
        o = _oof(x, y, originals, groups, l2)
        ok = ~np.isnan(o)
        a = auc(o[ok], y[ok] == 1) if ok.any() else math.nan
        tried[str(l2)] = None if math.isnan(a) else round(a, 4)
        if not math.isnan(a) and (best is None or a > best[0] + 1e-9):
            best = (a, l2, o)
    if best is None:
        raise RewardDataError("no fold had both outcomes to train on: label more groups both ways")
    a, l2, o = best
    ok = ~np.isnan(o)
    pairs = comparisons(originals, y)
    keep = ok[pairs[:, 0]] & ok[pairs[:, 1]] if len(pairs) else np.zeros(0, bool)
    decide, f1 = best_f1_threshold(o[ok], y[ok] == 1)
    head = fit_head(x, y, originals, l2)
    head.decide = float(decide)
    head.info = {
        "rows": len(y),
        "good": int(y.sum()),
        "bad": int(len(y) - y.sum()),
        "comparisons": len(pairs),
        "pointwise_rows": int(len(y) - len(np.unique(pairs))) if len(pairs) else len(y),
        "l2": l2,
        "validation": {
            "out_of_fold": True,
            "groups": len(set(groups)),
            "auc": round(a, 4),
            "pair_accuracy": None if not keep.any() else round(pair_accuracy(o, pairs[keep]), 4),
            "balanced_log_loss": round(balanced_log_loss(o[ok], y[ok]), 4),
            "f1_catching_bad": round(f1, 4),
            "auc_by_l2": tried,
        },
    }
    return head


def describe_files(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    return [{"file": str(p), "sha256": hashlib.sha256(Path(p).read_bytes()).hexdigest()} for p in paths]


def train_reward(
    rows: Sequence[RewardRow],
    backbone: Backbone,
    sources: list[dict[str, Any]] | None = None,
    on_pair: Callable[[int, int], None] | None = None,
) -> RewardModel:
    """Every head the labels allow (``MIN_ROWS`` labelled, both outcomes). The check's
    measurements take part only when every row has them: a model trained partly without them
    would weigh zeros the check never gives."""
    t0 = time.perf_counter()
    if not rows:
        raise RewardDataError("no labelled pairs to train on")
    use_check = all(r.feats is not None for r in rows)
    model, x, kept, skipped = featurize(rows, backbone, use_check, on_pair)
    if not kept:
        raise RewardDataError(f"none of the {len(rows)} pairs could be read: {skipped[0]}")
    rs = [rows[i] for i in kept]
    heads: dict[str, Head] = {}
    not_trained: dict[str, str] = {}
    for h in HEADS:
        idx = [i for i, r in enumerate(rs) if r.labels.get(h) is not None]
        y = np.array([1.0 if rs[i].labels[h] else 0.0 for i in idx])
        groups = [rs[i].group for i in idx]
        if len(idx) < MIN_ROWS or len(set(y.tolist())) < 2 or len(set(groups)) < 2:
            not_trained[h] = (
                f"{len(idx)} labelled pairs in {len(set(groups))} groups (need {MIN_ROWS}, both outcomes, two groups)"
            )
            continue
        heads[h] = train_head(x[idx], y, [rs[i].original for i in idx], groups)
    if not heads:
        raise RewardDataError(
            f"no head could be trained: {'; '.join(f'{k}: {v}' for k, v in not_trained.items())}"
        )
    model.heads = heads
    model.meta = {
        "maskgate_version": maskgate.__version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "trained_on": {"files": sources or [], "pairs": len(rs), "groups": len({r.group for r in rs})},
        "check_measurements": use_check,
        "skipped": {"pairs": skipped[:50], "count": len(skipped), "heads": not_trained},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return model


def gather(
    labels: Sequence[str | Path],
    results: Sequence[str | Path] | None = None,
    hfpc: Sequence[str | Path] = (),
    group_by: str = "group",
) -> tuple[list[RewardRow], list[dict[str, Any]]]:
    """Every labelled row of the label files (each joined with its results.jsonl, in order, when
    ``results`` is given) and of the HFPC files, with the files' sha256 for the provenance."""
    results = list(results or [])
    if results and len(results) != len(labels):
        raise RewardDataError(
            f"{len(labels)} label files but {len(results)} --results: give one per label file, in order"
        )
    for p in [*labels, *results, *hfpc]:
        if not Path(p).is_file():
            raise RewardDataError(f"no such file: {p}")
    rows: list[RewardRow] = []
    for i, lab in enumerate(labels):
        rows += rows_from_labels(lab, results[i] if results else None, group_by)
    for h in hfpc:
        rows += rows_from_hfpc(h, group_by)
    return rows, describe_files([*labels, *results, *hfpc])


def summary(model: RewardModel) -> dict[str, Any]:
    """What ``maskgate reward train --json`` prints: each head's held-out figures and threshold."""
    return {
        "backbone": model.backbone.spec(),
        "check_measurements": model.use_check,
        "heads": {k: {"decide": round(h.decide, 4), **h.info} for k, h in model.heads.items()},
        "skipped": model.meta.get("skipped"),
    }
