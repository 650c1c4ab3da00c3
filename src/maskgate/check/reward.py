"""A learned reward model (REWARD_DIR, written by ``maskgate reward train``) as the check reads it.

The six criteria say whether an edit is clean; none says whether its new background suits the
product (a shoe on a kitchen shelf is clean and still wrong). People's labels on (original, edit)
do say it, so a small linear model learns it from features of the pair: the backbone's (the
default scene statistics of ``vision.reward``, or an image-embedding ONNX model the user gives)
and, when every training pair had a check record, the check's own badness vectors.

It has up to two heads: ``background`` (labels' ``background`` field) and ``overall`` (the pair's
acceptable/verdict label). In a check run the background head is averaged in log-odds, at equal
weight, with the background criterion's score for edits with a new background (``inpainted``);
the overall head is one more input to the overall score (the lowest), and an automatic accept
whose overall reward falls under the head's ``decide`` threshold goes to review instead. The
reward model never accepts or rejects a pair on its own: its thresholds were not set for sure
decisions, only the criteria's were.

Training lives in ``learn/reward.py``; this module reads, writes and evaluates.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from maskgate.check.context import ANALYSIS_SIDE, fit_edit
from maskgate.check.modelfile import read_versioned, spec_hash, write_json
from maskgate.check.scoring import FEATURES, vector
from maskgate.core.types import CRITERIA
from maskgate.io.images import rgba_over
from maskgate.models.sessions import embed, embedding_shape
from maskgate.vision.reward import STAT_NAMES, STATS_VERSION, embedding_input, pair_stats, shrink

FORMAT = "maskgate-reward"
FORMAT_VERSION = 1
REWARD_FILE = "reward.json"
HEADS = ("overall", "background")
# CLIP's published normalisation: the image-embedding models a user is likely to bring expect it.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
DEFAULT_EMBED_SIDE = 224
# The kinds whose edit is a new scene behind the product: the background head speaks only there.
NEW_BACKGROUND = ("inpainted",)


class RewardError(ValueError):
    """A REWARD_DIR or backbone this maskgate cannot score with, with the fix in the message."""


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Backbone:
    """Where the image features come from: ``default`` (scene statistics with the segmenter's
    product masks) or ``onnx`` (an image-embedding model: its path, sha256, input size and
    normalisation, all stored with the model so that it is refused on another network)."""

    name: str = "default"
    path: str | None = None
    sha256: str | None = None
    size: tuple[int, int] | None = None  # (width, height) of the ONNX input
    mean: tuple[float, ...] = CLIP_MEAN
    std: tuple[float, ...] = CLIP_STD
    segmenter: str = "u2netp"
    dim: int | None = None  # the embedding's length, known after the first pass

    @classmethod
    def parse(cls, text: str) -> Backbone:
        """``default`` or ``onnx:PATH`` (the CLI's ``--backbone``)."""
        if text == "default":
            return cls()
        if not text.startswith("onnx:") or not text[5:]:
            raise RewardError(
                f"--backbone {text!r}: use `default` or `onnx:PATH` (an image-embedding ONNX model)"
            )
        p = Path(text[5:]).expanduser().resolve()
        if not p.is_file():
            raise RewardError(
                f"backbone ONNX file not found: {p} (give the path of an image-embedding .onnx file, "
                "or use --backbone default)"
            )
        try:
            w, h = embedding_shape(p)
        except Exception as e:  # onnxruntime raises its own types for a file that is not a model
            raise RewardError(f"backbone {p}: not an ONNX model onnxruntime can load ({e})") from e
        size = (w or DEFAULT_EMBED_SIDE, h or DEFAULT_EMBED_SIDE)
        return cls("onnx", str(p), sha256_file(p), size)

    def spec(self) -> dict[str, Any]:
        if self.name == "default":
            return {"name": "default", "segmenter": self.segmenter, "stats_version": STATS_VERSION}
        return {
            "name": "onnx",
            "path": self.path,
            "sha256": self.sha256,
            "input_size": list(self.size or ()),
            "mean": list(self.mean),
            "std": list(self.std),
            "dim": self.dim,
        }

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], where: str) -> Backbone:
        if spec.get("name") == "default":
            if spec.get("stats_version") != STATS_VERSION:
                raise RewardError(
                    f"{where}: trained on scene statistics version {spec.get('stats_version')}, this "
                    f"maskgate computes version {STATS_VERSION}; retrain it with `maskgate reward train`"
                )
            return cls(segmenter=str(spec.get("segmenter", "u2netp")))
        if spec.get("name") != "onnx":
            raise RewardError(f"{where}: unknown backbone {spec.get('name')!r}")
        p = Path(str(spec.get("path")))
        if not p.is_file():
            raise RewardError(
                f"{where}: its backbone ONNX file {p} is missing; put that file back at that path "
                "(the sha256 in reward.json must match), or retrain with `maskgate reward train ... "
                "--backbone onnx:NEW_PATH`"
            )
        if sha256_file(p) != spec.get("sha256"):
            raise RewardError(
                f"{where}: the backbone ONNX file {p} is not the one it was trained with (sha256 "
                "differs); restore that file or retrain with `maskgate reward train --backbone onnx:...`"
            )
        w, h = spec["input_size"]
        return cls(
            "onnx",
            str(p),
            spec["sha256"],
            (int(w), int(h)),
            tuple(spec["mean"]),
            tuple(spec["std"]),
            dim=spec.get("dim"),
        )

    def features(self, orig_rgb: np.ndarray, edit_rgb: np.ndarray) -> dict[str, float]:
        """The backbone's named features of one pair."""
        if self.name == "default":
            return pair_stats(orig_rgb, edit_rgb, self.segmenter)
        assert self.path is not None and self.size is not None
        x = np.concatenate(
            [
                embedding_input(shrink(im, 2 * max(self.size)), self.size, self.mean, self.std)
                for im in (orig_rgb, edit_rgb)
            ]
        )
        e = embed(self.path, x)
        e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-9)
        o, ed = e
        out = {f"emb:edit:{i}": float(v) for i, v in enumerate(ed)}
        out |= {f"emb:change:{i}": float(v) for i, v in enumerate(ed - o)}
        out["emb:cos"] = float(o @ ed)
        return out

    def names(self) -> list[str]:
        if self.name == "default":
            return list(STAT_NAMES)
        d = int(self.dim or 0)
        return [f"emb:edit:{i}" for i in range(d)] + [f"emb:change:{i}" for i in range(d)] + ["emb:cos"]


def check_names() -> list[str]:
    """The check's own measurements as the reward model takes them: each criterion's badness
    vector (its criterion-level scorer's features) and whether it was measured."""
    out = []
    for c in CRITERIA:
        out += [f"check:{c}:{f.name}" for f in FEATURES[c]] + [f"check:{c}:measured"]
    return out


def check_features(feats: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for c in CRITERIA:
        m = feats.get(c) or {}
        vals = vector(c, m) if m else np.zeros(len(FEATURES[c]))
        out |= {f"check:{c}:{f.name}": float(v) for f, v in zip(FEATURES[c], vals, strict=True)}
        out[f"check:{c}:measured"] = 1.0 if m else 0.0
    return out


@dataclass
class Head:
    """One head: standardisation, a linear score, and where it calls a pair bad."""

    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    decide: float = 0.5
    info: dict[str, Any] = field(default_factory=dict)

    def probability(self, x: np.ndarray) -> np.ndarray:
        z = (np.atleast_2d(x) - np.asarray(self.mean)) / np.asarray(self.scale)
        t = z @ np.asarray(self.coef) + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(t, -40, 40)))


@dataclass
class RewardModel:
    backbone: Backbone
    use_check: bool
    heads: dict[str, Head]
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def names(self) -> list[str]:
        return self.backbone.names() + (check_names() if self.use_check else [])

    def spec(self) -> dict[str, Any]:
        return {"backbone": self.backbone.spec(), "use_check": self.use_check, "features": self.names()}

    def vector(
        self, orig_rgb: np.ndarray, edit_rgb: np.ndarray, feats: Mapping[str, Mapping[str, float]] | None
    ) -> np.ndarray:
        named = self.backbone.features(orig_rgb, edit_rgb)
        if self.use_check:
            named |= check_features(feats or {})
        names = self.names()
        if set(named) != set(names):
            raise RewardError(
                f"reward model {self.path or ''}: the backbone gives {len(named)} features, the model "
                f"was trained on {len(names)}; retrain it with `maskgate reward train`"
            )
        return np.array([named[n] for n in names], np.float64)

    def score(
        self, orig_rgb: np.ndarray, edit_rgb: np.ndarray, feats: Mapping[str, Mapping[str, float]] | None
    ) -> dict[str, float]:
        x = self.vector(orig_rgb, edit_rgb, feats)
        return {k: float(h.probability(x)[0]) for k, h in self.heads.items()}

    @property
    def version(self) -> str | None:
        v = self.meta.get("version")
        return v if isinstance(v, str) and v else (self.path.name if self.path else None)

    def adjust(
        self,
        orig_rgb: np.ndarray,
        edit_rgb: np.ndarray,
        kind: str | None,
        feats: Mapping[str, Mapping[str, float]],
        scores: dict[str, float | None],
    ) -> tuple[dict[str, float | None], dict[str, Any]]:
        """The criterion scores with the background head blended in (see module doc), and what the
        record keeps of the reward (its heads' scores, the version, what it changed)."""
        r = self.score(orig_rgb, edit_rgb, feats)
        out = dict(scores)
        # six significant digits: a probability near 0 or 1 is what the log-odds blend weighs most
        info: dict[str, Any] = {"version": self.version, **{k: float(f"{v:.6g}") for k, v in r.items()}}
        b = scores.get("background")
        if "background" in r and kind in NEW_BACKGROUND and b is not None:
            out["background"] = blend(float(b), r["background"])
            info["background_criterion"] = float(f"{float(b):.6g}")
        return out, info

    def overrule(self, verdict: str, overall: float, info: dict[str, Any]) -> tuple[str, float]:
        """The overall head: one more input to the lowest score; an accept it doubts goes to review."""
        p = info.get("overall")
        if p is None:
            return verdict, overall
        if verdict == "accept" and p < self.heads["overall"].decide:
            verdict = "review"
            info["sent_to_review"] = True
        return verdict, min(overall, float(p))

    def save(self, out_dir: str | Path) -> Path:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        spec = self.spec()
        raw = {
            **self.meta,
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "spec": spec,
            "spec_hash": spec_hash(spec),
            "heads": {k: asdict(h) for k, h in self.heads.items()},
        }
        write_json(out / REWARD_FILE, raw)
        return out

    @classmethod
    def load(cls, folder: str | Path) -> RewardModel:
        d = Path(folder)
        p = d / REWARD_FILE
        raw = read_versioned(p, FORMAT, FORMAT_VERSION, RewardError, "reward model", "maskgate reward train")
        spec = raw.get("spec") or {}
        if raw.get("spec_hash") != spec_hash(spec):
            raise RewardError(
                f"{p}: its feature spec was edited (hash differs); retrain it with `maskgate reward train`"
            )
        bb = Backbone.from_spec(spec.get("backbone") or {}, str(p))
        heads = {k: Head(**h) for k, h in (raw.get("heads") or {}).items() if k in HEADS}
        if not heads:
            raise RewardError(f"{p}: no head was trained (too few labels); see its `skipped` field")
        model = cls(
            bb, bool(spec.get("use_check")), heads, {k: v for k, v in raw.items() if k not in ("heads",)}, d
        )
        if model.names() != spec.get("features"):
            raise RewardError(
                f"{p}: trained on other features than this maskgate computes "
                f"({_difference(spec.get('features') or [], model.names())}); retrain it with `maskgate reward train`"
            )
        for k, h in heads.items():
            if not (len(h.mean) == len(h.scale) == len(h.coef) == len(model.names())):
                raise RewardError(
                    f"{p}: head {k!r} has {len(h.coef)} weights for {len(model.names())} features"
                )
        return model


def blend(p_criterion: float, p_reward: float) -> float:
    """Equal-weight mean in log-odds: either one sure of a failure pulls the score down."""

    def logit(p: float) -> float:
        p = min(max(p, 1e-6), 1 - 1e-6)
        return math.log(p / (1 - p))

    return 1.0 / (1.0 + math.exp(-(logit(p_criterion) + logit(p_reward)) / 2))


def _difference(have: list[str], want: list[str]) -> str:
    gone, new = sorted(set(have) - set(want)), sorted(set(want) - set(have))
    parts = []
    if gone:
        parts.append(f"no longer computed: {', '.join(gone[:5])}{' ...' if len(gone) > 5 else ''}")
    if new:
        parts.append(f"new: {', '.join(new[:5])}{' ...' if len(new) > 5 else ''}")
    return "; ".join(parts) or "feature order"


@dataclass(frozen=True)
class WithReward:
    """A scoring source and a REWARD_DIR, as paths: what ``run_check`` hands each worker, which
    loads both itself (``check.model.load_scoring``)."""

    scoring: Any
    reward: str | Path


@dataclass
class RewardScoring:
    """A ``verdict.Scoring`` with a reward model beside it: the criteria score as the base does;
    the engine asks ``reward`` for the rest."""

    base: Any
    reward: RewardModel
    thresholds: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.thresholds = self.base.thresholds

    @property
    def version(self) -> str | None:
        return getattr(self.base, "version", None)

    @property
    def accept_kinds(self) -> tuple[str, ...] | None:
        return getattr(self.base, "accept_kinds", None)

    def scorer(self, criterion: str, kind: str | None) -> str:
        return self.base.scorer(criterion, kind)

    def probability(self, key: str, feats: Mapping[str, float]) -> float:
        return self.base.probability(key, feats)


def prepare_pair(original: Any, edited: Any) -> tuple[np.ndarray, np.ndarray]:
    """Two decoded images (``LoadedImage``) as the check's context holds them: cut-outs flattened
    on white, the edit brought to the original's size, both at the analysis side. Training calls
    this on the labelled files, so the reward model sees at training what it sees in a check."""
    orig = rgba_over(original.rgb, original.alpha)
    edit, _, _ = fit_edit(rgba_over(edited.rgb, edited.alpha), edited.alpha, orig.shape[:2])
    return shrink(orig, ANALYSIS_SIDE), shrink(edit, ANALYSIS_SIDE)
