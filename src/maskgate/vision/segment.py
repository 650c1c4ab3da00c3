"""Salient-object segmentation with a registry ONNX model (u2netp by default).

The network runs at its fixed input size whatever the image size, so a 12000-px photo costs the
same as a thumbnail: we shrink before the pass and only upsample the small probability map.

One 320x320 square pass squashes the image and loses thin or small parts of the object, and a
single view is brittle (mirroring an image can move IoU by 0.3 on hard scenes). Fully convolutional
models such as U^2-Net accept other sizes once the declared input dims are relaxed, so ``passes``
can add an aspect-preserving higher-resolution view and mirrored views; their mean is steadier than
any one of them (see bench/masks.py).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from maskgate.models.registry import ModelSpec, get_spec, resolve_model
from maskgate.models.sessions import default_threads, new_session, onnx_session

log = logging.getLogger(__name__)

# The default view set: the model's own square input mirrored, plus one aspect-preserving 448-px view
# and its mirror. Chosen on bench/masks.py (13 GrabCut images: 0.909 mean IoU after refinement; other
# three-view sets scored 0.86-0.87, one square view 0.82), so re-measure on new data before trusting
# the exact choice. "sq" alone (FAST_PASSES) is the sub-second path.
DEFAULT_PASSES: tuple[str, ...] = ("sqf", "a448", "a448f")
FAST_PASSES: tuple[str, ...] = ("sq",)


def _normalise(x: np.ndarray, spec: ModelSpec) -> np.ndarray:
    x = x.astype(np.float32) * spec.scale
    x = (x - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def _prepare(rgb: np.ndarray, spec, size: tuple[int, int] | None = None) -> np.ndarray:
    w, h = size or spec.input_size
    x = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA if rgb.shape[0] > h else cv2.INTER_LINEAR)
    return _normalise(x, spec)


def _activate(out: np.ndarray, activation: str) -> np.ndarray:
    s = out.reshape(out.shape[-2:]).astype(np.float32)
    if activation == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-s))
    lo, hi = float(s.min()), float(s.max())
    return (s - lo) / (hi - lo) if hi > lo + 1e-6 else np.zeros_like(s)


@lru_cache(maxsize=4)
def _dynamic_session(path: str, threads: int):
    """The same model with free height/width, or None when the graph cannot be relaxed."""
    try:
        import onnx

        m = onnx.load(path)
        dims = m.graph.input[0].type.tensor_type.shape.dim
        if len(dims) != 4:
            return None
        dims[2].dim_param, dims[3].dim_param = "height", "width"
        for o in m.graph.output:
            for i, d in enumerate(o.type.tensor_type.shape.dim):
                if i >= 2:
                    d.dim_param = f"out{i}"
        return new_session(m.SerializeToString(), threads)
    except Exception as e:  # noqa: BLE001 - any failure means: use the declared size
        log.info("cannot relax input size of %s: %s", path, e)
        return None


def _run(
    rgb: np.ndarray, spec: ModelSpec, path: Path, size: tuple[int, int] | None, flip: bool
) -> np.ndarray:
    declared = spec.input_size
    sess = None
    if size is not None and declared is not None and tuple(size) != tuple(declared):
        sess = _dynamic_session(str(Path(path).resolve()), default_threads())
        if sess is None:
            size = declared
    if sess is None:
        sess = onnx_session(path)
    if size is None:
        size = declared or (max(32, rgb.shape[1] // 32 * 32), max(32, rgb.shape[0] // 32 * 32))
    x = _prepare(rgb[:, ::-1] if flip else rgb, spec, size)
    inp = sess.get_inputs()[0]
    s = _activate(sess.run(None, {inp.name: x})[0], spec.activation)
    return np.ascontiguousarray(s[:, ::-1]) if flip else s


def saliency_lowres(
    rgb: np.ndarray,
    model: str = "u2netp",
    model_path: str | None = None,
    *,
    size: tuple[int, int] | None = None,
    flip: bool = False,
) -> np.ndarray:
    """Min-max normalised saliency at the network's resolution (float32 in [0, 1]).

    ``size`` (width, height) runs the model at another resolution when its graph allows it;
    ``flip`` runs on the mirrored image and mirrors the result back.
    """
    spec = get_spec(model)
    return _run(rgb, spec, resolve_model(model, model_path), size, flip)


def pass_size(name: str, shape: tuple[int, int], spec: ModelSpec) -> tuple[tuple[int, int] | None, bool]:
    """Decode a view name: ``sq`` (declared size), ``a448`` (longest side 448, aspect kept), ``f`` = mirrored."""
    flip = name.endswith("f")
    core = name[:-1] if flip else name
    if core == "sq":
        return spec.input_size, flip
    if core.startswith("a") and core[1:].isdigit():
        longest = int(core[1:])
        h, w = shape[:2]
        f = longest / max(h, w)
        return (max(32, round(w * f / 32) * 32), max(32, round(h * f / 32) * 32)), flip
    raise ValueError(f"unknown segmentation pass '{name}' (use sq, sqf, a<side>, a<side>f)")


def saliency_passes(
    rgb: np.ndarray,
    model: str = "u2netp",
    model_path: str | None = None,
    passes: tuple[str, ...] | None = None,
    out_size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Mean saliency over several views, resampled to ``out_size`` (width, height; default: the image)."""
    return saliency_views(rgb, model, model_path, passes, out_size).mean(0)


def saliency_views(
    rgb: np.ndarray,
    model: str = "u2netp",
    model_path: str | None = None,
    passes: tuple[str, ...] | None = None,
    out_size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Saliency of each view, stacked (V x H x W float32): where views disagree, the model is unsure."""
    spec = get_spec(model)
    path = resolve_model(model, model_path)
    passes = passes or (DEFAULT_PASSES if spec.name == "u2netp" else ("sq",))
    w, h = out_size or (rgb.shape[1], rgb.shape[0])
    # Every view is decimated from one copy at most 2x the largest view, not from a 100-MP original.
    biggest = max(max(pass_size(p, rgb.shape, spec)[0] or (rgb.shape[1], rgb.shape[0])) for p in passes)
    small = rgb
    if max(rgb.shape[:2]) > 2 * biggest:
        f = 2 * biggest / max(rgb.shape[:2])
        small = cv2.resize(rgb, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    out = np.empty((len(passes), h, w), np.float32)
    for k, p in enumerate(passes):
        size, flip = pass_size(p, rgb.shape, spec)
        out[k] = cv2.resize(_run(small, spec, path, size, flip), (w, h), interpolation=cv2.INTER_LINEAR)
    return out


def saliency(rgb: np.ndarray, model: str = "u2netp", model_path: str | None = None) -> np.ndarray:
    """Saliency upsampled to the image size (float32 in [0, 1])."""
    s = saliency_lowres(rgb, model, model_path)
    return cv2.resize(s, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
