"""Salient-object segmentation with a registry ONNX model (u2netp by default).

The network runs at its fixed input size whatever the image size, so a 12000-px photo costs the
same as a thumbnail: we shrink before the pass and only upsample the small probability map.
"""

from __future__ import annotations

import cv2
import numpy as np

from maskgate.models.registry import get_spec, resolve_model
from maskgate.models.sessions import onnx_session


def _prepare(rgb: np.ndarray, spec) -> np.ndarray:
    w, h = spec.input_size
    x = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA if rgb.shape[0] > h else cv2.INTER_LINEAR)
    x = x.astype(np.float32) * spec.scale
    x = (x - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)
    return x.transpose(2, 0, 1)[None]


def saliency_lowres(rgb: np.ndarray, model: str = "u2netp", model_path: str | None = None) -> np.ndarray:
    """Min-max normalised saliency at the network's resolution (float32 in [0, 1])."""
    spec = get_spec(model)
    sess = onnx_session(resolve_model(model, model_path))
    inp = sess.get_inputs()[0]
    out = sess.run(None, {inp.name: _prepare(rgb, spec)})[0]
    s = out.reshape(out.shape[-2:]).astype(np.float32)
    lo, hi = float(s.min()), float(s.max())
    return (s - lo) / (hi - lo) if hi > lo + 1e-6 else np.zeros_like(s)


def saliency(rgb: np.ndarray, model: str = "u2netp", model_path: str | None = None) -> np.ndarray:
    """Saliency upsampled to the image size (float32 in [0, 1])."""
    s = saliency_lowres(rgb, model, model_path)
    return cv2.resize(s, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
