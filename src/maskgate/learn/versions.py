"""Model versions: each retraining is a new folder beside the old ones, and the gate only switches
to it when it is better on pairs neither model was trained on.

A models folder holds ``v0001``, ``v0002``, ... (each a MODEL_DIR ``check --model`` reads) and an
``ACTIVE`` file naming the version the check scores with (``check.model.resolve_model_dir``).
Nothing is ever overwritten: a worse model is still written, with its figures, so one can see why
it was not activated, and ``activate`` can roll back to any version.

The comparison is on one held-out split (whole groups, drawn by a hash of the group name so a
rerun draws the same ones), on which the new model is not trained and which the previous model
(the active version, or the packaged calibration when none is) is scored on too. The figure that
decides is the mean over criteria of the balanced log-loss of P(pass) against people's labels:
it rewards a scorer for being right and for knowing how sure it is, which is what the accept and
reject thresholds rest on; the verdict figures of both are written beside it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from maskgate.check.model import ACTIVE_FILE, MODEL_FILE, LearnedModel, load_scoring, resolve_model_dir
from maskgate.check.verdict import Calibration, Scoring, decide
from maskgate.core.types import CRITERIA
from maskgate.learn.bounds import upper_bound
from maskgate.learn.calibrate import LabelledFeatures
from maskgate.learn.train import REJECT_PRECISION, ModelChoice, auc, balanced_log_loss, train

VERSION_RE = re.compile(r"^v(\d{4,})$")
HELD_OUT_SHARE = 0.2
PACKAGED = "packaged gate"


class VersionError(ValueError):
    """A models folder that cannot take or give a version (a plain MODEL_DIR, an unknown name)."""


# ---------------------------------------------------------------- the folder


def versions(root: str | Path) -> list[str]:
    """Version names in ``root``, oldest first."""
    d = Path(root)
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), p.name) for p in d.iterdir() if (m := VERSION_RE.match(p.name)) and p.is_dir()]
    return [name for _, name in sorted(found)]


def active_version(root: str | Path) -> str | None:
    f = Path(root) / ACTIVE_FILE
    return f.read_text(encoding="utf-8").strip() or None if f.is_file() else None


def _check_root(root: Path) -> None:
    if (root / MODEL_FILE).is_file():
        raise VersionError(
            f"{root} is a single model folder (it has {MODEL_FILE}), not a models folder of versions: "
            "give a new or versioned folder"
        )


def activate(root: str | Path, version: str) -> None:
    """Make ``version`` the one ``check --model ROOT`` scores with. The pointer is replaced in one
    rename, so a check starting meanwhile reads the old version or the new one, never a torn name."""
    d = Path(root)
    if version not in versions(d) or not (d / version / MODEL_FILE).is_file():
        known = ", ".join(versions(d)) or "none"
        raise VersionError(f"{d}: no model version {version!r} (versions: {known})")
    tmp = d / f".{ACTIVE_FILE}.tmp"
    tmp.write_text(version + "\n", encoding="utf-8")
    os.replace(tmp, d / ACTIVE_FILE)


def save_version(model: LearnedModel, root: str | Path) -> str:
    """Write ``model`` as the next version of ``root`` (created if need be); returns its name.
    The version folder is made with ``mkdir(exist_ok=False)``: two trainings at once cannot
    write into one version."""
    d = Path(root)
    _check_root(d)
    d.mkdir(parents=True, exist_ok=True)
    existing = versions(d)
    n = int(VERSION_RE.match(existing[-1]).group(1)) + 1 if existing else 1  # type: ignore[union-attr]
    while True:
        name = f"v{n:04d}"
        try:
            (d / name).mkdir()
            break
        except FileExistsError:
            n += 1
    model.meta["version"] = name
    model.save(d / name)
    return name


@dataclass
class VersionInfo:
    name: str
    active: bool
    created: str | None
    pairs: int | None
    held_out: dict[str, Any] = field(default_factory=dict)
    activated: bool | None = None  # what learn decided when it wrote the version
    problem: str | None = None  # an unreadable model.json


def describe(root: str | Path) -> list[VersionInfo]:
    """Every version with what it was trained on and its held-out figures, for ``models versions``."""
    d = Path(root)
    act = active_version(d)
    out = []
    for name in versions(d):
        try:
            raw = json.loads((d / name / MODEL_FILE).read_text())
        except (OSError, ValueError) as e:
            out.append(VersionInfo(name, name == act, None, None, problem=str(e)))
            continue
        ho = raw.get("held_out") or {}
        out.append(
            VersionInfo(
                name,
                name == act,
                raw.get("created"),
                (raw.get("trained_on") or {}).get("pairs"),
                ho,
                ho.get("activated"),
            )
        )
    return out


# ---------------------------------------------------------------- held-out figures


def held_out_groups(groups: Sequence[str], share: float = HELD_OUT_SHARE) -> set[str]:
    """The groups held out: a stable hash draw of ``share`` of them (at least one, and never all)."""
    uniq = sorted(set(groups))
    if len(uniq) < 3:
        raise ValueError(
            f"{len(uniq)} groups: a held-out split needs three at least (two to train on, one to test)"
        )

    def h(g: str) -> float:
        return int.from_bytes(hashlib.sha1(g.encode("utf-8")).digest()[:8], "big") / 2**64

    ranked = sorted(uniq, key=h)
    picked = {g for g in uniq if h(g) < share}
    if not picked:
        picked = {ranked[0]}
    if len(picked) > len(uniq) - 2:
        picked = set(ranked[: len(uniq) - 2])
    return picked


def scored_row(scoring: Scoring, r: LabelledFeatures) -> tuple[dict[str, float | None], dict[str, str], str]:
    """A labelled row's criterion scores (None where not measured), the scorer each came from,
    and the verdict the check would give it. One place for this, because the verdict needs the
    row's kind (accepts are vouched for kind by kind) and a copy that left it out accepted nothing."""
    scores: dict[str, float | None] = {}
    keys: dict[str, str] = {}
    for c in CRITERIA:
        f = r.features.get(c)
        if not f:
            scores[c] = None
            continue
        keys[c] = scoring.scorer(c, r.kind)
        scores[c] = scoring.probability(keys[c], f)
    return scores, keys, decide(scores, scoring, keys, r.kind)[1]


def figures(scoring: Scoring, rows: Sequence[LabelledFeatures], target: float = 0.98) -> dict[str, Any]:
    """How ``scoring`` does on labelled ``rows``: per criterion, the balanced log-loss and AUC of
    P(pass) against the labels; per pair, the verdicts the check would give, against
    ``acceptable``."""
    per: dict[str, dict[str, Any]] = {}
    verdicts = []
    for r in rows:
        scores, _, verdict = scored_row(scoring, r)
        for c, p in scores.items():
            lab = r.labels.get(c)
            if p is not None and lab is not None:
                e = per.setdefault(c, {"p": [], "y": []})
                e["p"].append(p)
                e["y"].append(1.0 if lab else 0.0)
        verdicts.append(verdict)
    crit = {}
    for name, e in per.items():
        pv, y = np.array(e["p"]), np.array(e["y"])
        crit[name] = {
            "rows": len(y),
            "fail": int((y == 0).sum()),
            "log_loss": _num(balanced_log_loss(pv, y)),
            "auc": _num(auc(pv, y == 1)),
        }
    losses = [v["log_loss"] for v in crit.values() if v["log_loss"] is not None]
    v = np.array(verdicts, dtype=object)
    ok = np.array([r.acceptable for r in rows], bool)
    acc, rej = v == "accept", v == "reject"
    n_acc, bad_acc = int(acc.sum()), int((acc & ~ok).sum())
    n_rej, good_rej = int(rej.sum()), int((rej & ok).sum())
    return {
        "pairs": len(rows),
        "mean_log_loss": _num(float(np.mean(losses))) if losses else None,
        "criteria": crit,
        "accept": {
            "pairs": n_acc,
            "bad": bad_acc,
            "precision": _num(1 - bad_acc / n_acc) if n_acc else None,
            "precision_lower_bound": _num(1 - upper_bound(bad_acc, n_acc)),
        },
        "reject": {
            "pairs": n_rej,
            "good": good_rej,
            "precision": _num(1 - good_rej / n_rej) if n_rej else None,
        },
        "right": int(((acc & ok) | (rej & ~ok)).sum()),
        "wrong": int(((acc & ~ok) | (rej & ok)).sum()),
        "review": int((v == "review").sum()),
        "target_precision": target,
    }


def _num(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) else round(float(x), 6)


def is_better(new: Mapping[str, Any], old: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether the new model's held-out figures beat the old one's, and why, in words."""
    a, b = new.get("mean_log_loss"), old.get("mean_log_loss")
    if a is None:
        return False, "no held-out pair is labelled on a criterion the new model scores"
    if b is not None and not a < b:
        return False, f"held-out mean log-loss {a:.4f} is not below the previous model's {b:.4f}"
    return True, f"held-out mean log-loss {a:.4f} against the previous model's " + (
        f"{b:.4f}" if b is not None else "(none)"
    )


# ---------------------------------------------------------------- retraining


@dataclass
class Retrained:
    version: str
    activated: bool
    reason: str
    previous: str  # the version it was compared with, or PACKAGED
    new_figures: dict[str, Any]
    previous_figures: dict[str, Any]
    train_pairs: int
    held_out_pairs: int
    model: LearnedModel


def previous_scoring(root: str | Path) -> tuple[str, Calibration | LearnedModel]:
    """What the gate scores with now: the active version, or what the package ships."""
    d = Path(root)
    name = active_version(d) if d.is_dir() else None
    if name is None:
        shipped = load_scoring(None)
        assert isinstance(shipped, Calibration | LearnedModel)
        return PACKAGED, shipped
    return name, LearnedModel.load(resolve_model_dir(d))


@dataclass
class Challenge:
    """A new model trained outside a held-out draw of the groups, against the model it would
    replace, both scored on those groups."""

    model: LearnedModel
    held: set[str]
    new_figures: dict[str, Any]
    old_figures: dict[str, Any]
    better: bool
    reason: str
    train_pairs: int
    held_out_pairs: int


def challenge(
    rows: list[LabelledFeatures],
    previous: Scoring,
    *,
    target_precision: float = 0.98,
    model_class: ModelChoice = "auto",
    held_out_share: float = HELD_OUT_SHARE,
    sources: list[dict[str, Any]] | None = None,
    group_by: str = "group",
    threads: int = 1,
    reject_precision: float = REJECT_PRECISION,
) -> Challenge:
    """Train on the rows outside the held-out groups and compare with ``previous`` there
    (``is_better``); nothing is written. ``retrain`` and bench/learning_curve.py decide by it."""
    held = held_out_groups([r.group for r in rows], held_out_share)
    fit_rows = [r for r in rows if r.group not in held]
    test_rows = [r for r in rows if r.group in held]
    model = train(
        fit_rows,
        target_precision,
        model_class,
        sources=sources or [],
        group_by=group_by,
        threads=threads,
        reject_precision=reject_precision,
    )
    new_fig = figures(model, test_rows, target_precision)
    old_fig = figures(previous, test_rows, target_precision)
    better, why = is_better(new_fig, old_fig)
    return Challenge(model, held, new_fig, old_fig, better, why, len(fit_rows), len(test_rows))


def retrain(
    rows: list[LabelledFeatures],
    root: str | Path,
    *,
    target_precision: float = 0.98,
    model_class: ModelChoice = "auto",
    held_out_share: float = HELD_OUT_SHARE,
    sources: list[dict[str, Any]] | None = None,
    group_by: str = "group",
    threads: int = 1,
    reject_precision: float = REJECT_PRECISION,
) -> Retrained:
    """Train a new version on the rows outside the held-out groups, score it and the current model
    on the held-out ones, write it as the next version of ``root``, and activate it only when it
    is better (``is_better``)."""
    d = Path(root)
    _check_root(d)
    prev_name, prev = previous_scoring(d)
    c = challenge(
        rows,
        prev,
        target_precision=target_precision,
        model_class=model_class,
        held_out_share=held_out_share,
        sources=sources,
        group_by=group_by,
        threads=threads,
        reject_precision=reject_precision,
    )
    c.model.meta["held_out"] = {
        "split": f"groups drawn by hash, share {held_out_share}",
        "groups": sorted(c.held),
        "pairs": c.held_out_pairs,
        "new": c.new_figures,
        "previous": {"version": prev_name, **c.old_figures},
        "activated": c.better,
        "reason": c.reason,
    }
    name = save_version(c.model, d)
    if c.better:
        activate(d, name)
    return Retrained(
        name,
        c.better,
        c.reason,
        prev_name,
        c.new_figures,
        c.old_figures,
        c.train_pairs,
        c.held_out_pairs,
        c.model,
    )
