"""Named models: where their weights come from, how they are verified and loaded once per worker."""

from maskgate.models.registry import REGISTRY, MissingModelError, ModelSpec, resolve_model
from maskgate.models.sessions import onnx_session

__all__ = ["REGISTRY", "MissingModelError", "ModelSpec", "onnx_session", "resolve_model"]
