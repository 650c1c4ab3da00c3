"""A trained scoring model (MODEL_DIR, written by ``maskgate learn``) as the check reads it.

The check scores through one interface (``verdict.Scoring``: a scorer key per criterion and kind,
P(pass) from a feature dict, thresholds per key), so a calibration JSON and a MODEL_DIR are
interchangeable to the engine: ``load_scoring`` takes either. Training lives in ``learn``; this
module only reads, writes and evaluates, so the check never depends on the training code.

A MODEL_DIR holds ``model.json`` (what it was trained on, each scorer's class and feature spec,
thresholds, validation figures) and one LightGBM text model per tree scorer. Every scorer records
the feature spec it was trained on (names, transforms, reference levels, signs, and how derived
features behave); a model whose spec differs from this maskgate's would weigh the wrong numbers,
so loading refuses it and names the fix.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from maskgate.check.criterion import Feature
from maskgate.check.modelfile import json_default, read_versioned, spec_hash, write_json
from maskgate.check.reward import RewardModel, RewardScoring, WithReward
from maskgate.check.scoring import FEATURES, probability, scorer, vector
from maskgate.check.verdict import Calibration, Thresholds
from maskgate.core.types import CRITERIA

FORMAT = "maskgate-model"
FORMAT_VERSION = 1
MODEL_FILE = "model.json"
# A models folder (``maskgate learn --from-db --out MODELS``) holds one MODEL_DIR per version,
# ``v0001``, ``v0002``, ..., and this file naming the active one.
ACTIVE_FILE = "ACTIVE"
# Thresholds no score reaches: the scorer never accepts (or rejects) a pair on its own.
NEVER_ACCEPT = 1.01
NEVER_REJECT = -0.01

ModelClass = Literal["logistic", "gbm", "default"]


class ModelError(ValueError):
    """A MODEL_DIR this maskgate cannot score with (missing, newer format, other features)."""


# ---------------------------------------------------------------- feature spec


class _Reads(dict):
    """A measurement dict that notes which keys a derived feature reads."""

    def __init__(self, values: Mapping[str, float] | None = None):
        super().__init__(values or {})
        self.read: set[str] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)


# Inputs a derived feature is probed at: its formula may change while its name stays, and a model
# trained on the old formula would then weigh a different quantity.
_PROBES = (0.0, 0.003, 0.05, 0.4, 1.0, 2.5, 10.0)


def _derived(f: Feature) -> dict[str, Any]:
    assert f.of is not None
    probe = _Reads()
    f.of(probe)
    reads = sorted(probe.read)
    outs = []
    for v in _PROBES:
        for scheme in (lambda j, v=v: v * (j + 1), lambda j, v=v: v / (j + 1)):
            outs.append(float(f"{f.value({k: scheme(j) for j, k in enumerate(reads)}):.10g}"))
    return {"reads": reads, "probe": outs}


@cache
def raw_inputs(key: str) -> tuple[tuple[str, int], ...]:
    """Raw measurements a tree scorer may also take, each with its monotone direction.

    The badness is flat below its reference level; the raw value lets trees use what lies there.
    Only measurements whose direction is known take part: read by no derived feature (whose
    direction nobody stated), and pointing one way in every feature that names them."""
    feats = FEATURES[key]
    derived_reads: set[str] = set()
    for f in feats:
        if f.of is not None:
            derived_reads.update(_derived(f)["reads"])
    dirs: dict[str, set[int]] = {}
    for f in feats:
        if f.of is None:
            dirs.setdefault(f.name, set()).add(-f.sign if f.how == "low" else f.sign)
    return tuple((n, d.pop()) for n, d in dirs.items() if n not in derived_reads and len(d) == 1)


def feature_spec(key: str) -> dict[str, Any]:
    """What scorer ``key`` weighs in this maskgate: a model trained on another spec is refused."""
    return {
        "features": [
            {"name": f.name, "how": f.how, "ref": f.ref, "sign": f.sign}
            | ({"derived": _derived(f)} if f.of is not None else {})
            for f in FEATURES[key]
        ],
        "raw": [{"name": n, "direction": d} for n, d in raw_inputs(key)],
    }


def gbm_vector(key: str, feats: Mapping[str, float]) -> np.ndarray:
    """A tree scorer's inputs: the badness vector, then the raw measurements of ``raw_inputs``."""
    by_name = {f.name: f for f in FEATURES[key] if f.of is None}
    raw = [by_name[n].value(feats) for n, _ in raw_inputs(key)]
    return np.concatenate([vector(key, feats), np.asarray(raw, np.float64)])


def gbm_constraints(key: str) -> list[int]:
    """Monotone direction of each tree input on P(pass): a badness lowers it, an exonerating
    feature raises it, a raw measurement goes the way its badness does."""
    return [int(f.sign) for f in FEATURES[key]] + [d for _, d in raw_inputs(key)]


def gbm_input_names(key: str) -> list[str]:
    return [f.name for f in FEATURES[key]] + [f"raw:{n}" for n, _ in raw_inputs(key)]


# ---------------------------------------------------------------- scorers


@dataclass
class ScorerModel:
    """One scorer: sign-constrained logistic (``logistic``: its fitted dict), monotone trees
    (``booster``: a LightGBM Booster), or none fitted (``default``: ``scoring.probability``
    without a model, thresholds that never decide)."""

    key: str
    model_class: ModelClass
    logistic: dict[str, Any] | None = None
    booster: Any = None
    info: dict[str, Any] = field(default_factory=dict)  # comparison, rows, hyperparameters

    def probability(self, feats: Mapping[str, float]) -> float:
        if self.model_class == "gbm":
            return float(self.booster.predict(gbm_vector(self.key, feats)[None, :], num_threads=1)[0])
        return probability(self.key, feats, self.logistic if self.model_class == "logistic" else None)

    def probabilities(self, rows: list[Mapping[str, float]]) -> np.ndarray:
        if not rows:
            return np.zeros(0)
        if self.model_class == "gbm":
            x = np.array([gbm_vector(self.key, f) for f in rows])
            return np.asarray(self.booster.predict(x, num_threads=1), np.float64)
        return np.array([self.probability(f) for f in rows])


def _gbm_file(key: str) -> str:
    return f"gbm-{key}.txt"


def _load_booster(path: Path) -> Any:
    import lightgbm  # only a MODEL_DIR with tree scorers needs it

    return lightgbm.Booster(model_file=str(path))


@dataclass
class LearnedModel:
    """A MODEL_DIR in memory: the ``verdict.Scoring`` the engine scores with."""

    scorers: dict[str, ScorerModel]
    thresholds: dict[str, Thresholds]
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def version(self) -> str | None:
        """The version name written into each record this model scores: its version in a models
        folder, else the folder's name (a plain MODEL_DIR from ``maskgate learn LABELS``)."""
        v = self.meta.get("version")
        if isinstance(v, str) and v:
            return v
        return self.path.name if self.path is not None else None

    @property
    def accept_kinds(self) -> tuple[str, ...] | None:
        """The kinds whose accept bound held in training (``learn.train``), or None (every kind):
        a model saved before this field vouches for every kind, as it was trained to."""
        v = self.meta.get("accept_kinds")
        return None if v is None else tuple(str(k) for k in v)

    def scorer(self, criterion: str, kind: str | None) -> str:
        key = scorer(criterion, kind)
        return key if key in self.scorers and key in self.thresholds else criterion

    def probability(self, key: str, feats: Mapping[str, float]) -> float:
        s = self.scorers.get(key)
        return s.probability(feats) if s is not None else probability(key, feats, None)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object of ``maskgate learn``: held-out figures and thresholds, as JSON types."""
        raw = {
            "validation": self.meta.get("validation"),
            "thresholds": {k: asdict(t) for k, t in self.thresholds.items()},
        }
        return json.loads(json.dumps(raw, default=json_default))

    def save(self, out_dir: str | Path) -> Path:
        """Write ``model.json`` and the tree files; returns the folder."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        scorers = {}
        for key, s in self.scorers.items():
            spec = feature_spec(key)
            entry: dict[str, Any] = {
                "class": s.model_class,
                "feature_spec": spec,
                "spec_hash": spec_hash(spec),
                **s.info,
            }
            if s.model_class == "logistic":
                entry["logistic"] = s.logistic
            if s.model_class == "gbm":
                entry["gbm_file"] = _gbm_file(key)
                entry["gbm_inputs"] = gbm_input_names(key)
                s.booster.save_model(str(out / _gbm_file(key)))
            scorers[key] = entry
        raw = {
            **self.meta,
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "spec_hash": spec_hash({k: v["feature_spec"] for k, v in sorted(scorers.items())}),
            "scorers": scorers,
            "thresholds": {k: asdict(t) for k, t in self.thresholds.items()},
        }
        write_json(out / MODEL_FILE, raw)
        return out

    @classmethod
    def load(cls, model_dir: str | Path) -> LearnedModel:
        d = resolve_model_dir(model_dir)
        path = d / MODEL_FILE
        raw = read_versioned(path, FORMAT, FORMAT_VERSION, ModelError, "model", "maskgate learn")
        refit = (
            "retrain it with this maskgate: `maskgate learn LABELS --results results.jsonl --out "
            f"{d}` (run `maskgate check` on the labelled pairs first, or leave out --results)"
        )
        scorers: dict[str, ScorerModel] = {}
        for key, entry in raw.get("scorers", {}).items():
            if key not in FEATURES:
                raise ModelError(f"{d}: scorer {key!r} is not one this maskgate has; {refit}")
            want = feature_spec(key)
            if entry.get("spec_hash") != spec_hash(want) or entry.get("feature_spec") != want:
                raise ModelError(
                    f"{d}: scorer {key!r} was trained on other features than this maskgate measures "
                    f"({_spec_difference(entry.get('feature_spec') or {}, want)}); {refit}"
                )
            cls_name = entry.get("class")
            info = {
                k: v
                for k, v in entry.items()
                if k not in ("class", "feature_spec", "spec_hash", "logistic", "gbm_file", "gbm_inputs")
            }
            if cls_name == "logistic":
                scorers[key] = ScorerModel(key, "logistic", logistic=entry["logistic"], info=info)
            elif cls_name == "gbm":
                f = d / entry["gbm_file"]
                if not f.is_file():
                    raise ModelError(f"{d}: tree file {entry['gbm_file']} of scorer {key!r} is missing")
                scorers[key] = ScorerModel(key, "gbm", booster=_load_booster(f), info=info)
            elif cls_name == "default":
                scorers[key] = ScorerModel(key, "default", info=info)
            else:
                raise ModelError(f"{d}: scorer {key!r} has an unknown class {cls_name!r}")
        thresholds = {k: Thresholds(**t) for k, t in raw.get("thresholds", {}).items()}
        for c in CRITERIA:  # a criterion the model never saw decides nothing on its own
            thresholds.setdefault(c, Thresholds(0.5, NEVER_ACCEPT, NEVER_REJECT))
        meta = {k: v for k, v in raw.items() if k not in ("scorers", "thresholds")}
        return cls(scorers, thresholds, meta, d)


def resolve_model_dir(folder: str | Path) -> Path:
    """The MODEL_DIR a folder stands for: itself, or a models folder's active version, so that
    ``check --model MODELS`` always scores with what ``learn --from-db`` last activated."""
    d = Path(folder)
    if (d / MODEL_FILE).is_file():
        return d
    if not (d / ACTIVE_FILE).exists():
        if any(p.is_dir() and (p / MODEL_FILE).is_file() for p in d.glob("v[0-9]*")):
            raise ModelError(
                f"{d}: a models folder without an active version; choose one with "
                f"`maskgate models activate {d} VERSION` (`maskgate models versions {d}` lists them)"
            )
        return d
    name = (d / ACTIVE_FILE).read_text(encoding="utf-8").strip()
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ModelError(f"{d / ACTIVE_FILE}: {name!r} is not a version name of this folder")
    v = d / name
    if not (v / MODEL_FILE).is_file():
        raise ModelError(
            f"{d}: the active version {name} has no {MODEL_FILE}; activate another with "
            f"`maskgate models activate {d} VERSION`"
        )
    return v


def _spec_difference(have: Mapping[str, Any], want: Mapping[str, Any]) -> str:
    """The first differences between a model's feature spec and this maskgate's, in words."""
    h = {f["name"]: f for f in have.get("features", [])}
    w = {f["name"]: f for f in want.get("features", [])}
    parts = []
    if set(h) - set(w):
        parts.append(f"no longer measured: {', '.join(sorted(set(h) - set(w)))}")
    if set(w) - set(h):
        parts.append(f"new: {', '.join(sorted(set(w) - set(h)))}")
    changed = [n for n in w if n in h and h[n] != w[n]]
    if changed:
        parts.append(f"changed: {', '.join(changed)}")
    if not parts and have.get("raw") != want.get("raw"):
        parts.append("other raw inputs")
    return "; ".join(parts) or "feature order"


def load_scoring(
    source: str | Path | Calibration | LearnedModel | RewardScoring | WithReward | None = None,
) -> Calibration | LearnedModel | RewardScoring:
    """The scoring the check uses: the packaged calibration (None), a calibration JSON file, or a
    MODEL_DIR from ``maskgate learn`` (a folder), with a reward model beside it when the source is
    a ``reward.WithReward``; an object already loaded is passed through."""
    if isinstance(source, Calibration | LearnedModel | RewardScoring):
        return source
    if isinstance(source, WithReward):
        return RewardScoring(load_scoring(source.scoring), RewardModel.load(source.reward))
    if source is not None and Path(source).is_dir():
        return LearnedModel.load(source)
    if source is not None and not Path(source).exists():
        raise FileNotFoundError(f"no such calibration file or model folder: {source}")
    if source is None:
        shipped = packaged_model_dir()
        if shipped is not None:
            return LearnedModel.load(shipped)
    return Calibration.load(source)


# The gate the package ships: a MODEL_DIR trained by ``bench/generalize.py --out`` on corpora that
# leave out every set it is measured on (docs/benchmarks.md says which). When it is absent (a
# checkout that removed it), the hand-built calibration beside it scores instead.
PACKAGED_MODEL = "default_model"


def packaged_model_dir() -> Path | None:
    from importlib import resources

    d = Path(str(resources.files("maskgate.check").joinpath(PACKAGED_MODEL)))
    return d if (d / MODEL_FILE).is_file() else None
