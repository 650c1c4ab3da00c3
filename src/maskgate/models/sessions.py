"""One onnxruntime session per model file per process: loading costs far more than a pass."""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np
import onnxruntime as ort

_local = threading.local()


def default_threads() -> int:
    """Intra-op threads for sessions created on this thread: ``use_threads`` overrides, then
    ``$MASKGATE_THREADS``; 0 lets onnxruntime use every core."""
    override = getattr(_local, "threads", None)
    if override:
        return override
    env = os.environ.get("MASKGATE_THREADS")
    return int(env) if env else 0


def thread_budget() -> int:
    """How many cores this process may use for model passes."""
    return default_threads() or os.cpu_count() or 1


@contextmanager
def use_threads(n: int):
    """Run the model passes made on this thread with ``n`` intra-op threads (a session per thread
    count is cached, so two passes can run side by side, each on its share of the cores)."""
    before = getattr(_local, "threads", None)
    _local.threads = n
    try:
        yield
    finally:
        _local.threads = before


def new_session(model: str | bytes, threads: int) -> ort.InferenceSession:
    """A session on a file path or serialised model bytes, with our optimisation and thread policy."""
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    # idle pool threads must not spin: the check runs two sessions side by side and NumPy work
    # right after a pass, and a spinning pool would hold the core they need
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
    providers = [
        p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()
    ]
    return ort.InferenceSession(model, sess_options=so, providers=providers)


@lru_cache(maxsize=16)
def _session(path: str, threads: int) -> ort.InferenceSession:
    return new_session(path, threads)


def onnx_session(path: str | Path, threads: int | None = None) -> ort.InferenceSession:
    return _session(str(Path(path).resolve()), default_threads() if threads is None else threads)


def embedding_shape(path: str | Path) -> tuple[int | None, int | None]:
    """(width, height) an image-embedding model's NCHW input asks for; None where it is dynamic."""
    dims = onnx_session(path).get_inputs()[0].shape
    h, w = (dims[2], dims[3]) if len(dims) == 4 else (None, None)
    return (w if isinstance(w, int) else None, h if isinstance(h, int) else None)


def embed(path: str | Path, x: np.ndarray) -> np.ndarray:
    """The first output of an image-embedding model on an NCHW batch, one flat vector per image
    (the session is cached, so a worker loads the file once)."""
    sess = onnx_session(path)
    out = sess.run(None, {sess.get_inputs()[0].name: x.astype(np.float32)})[0]
    return np.asarray(out, np.float64).reshape(len(x), -1)
