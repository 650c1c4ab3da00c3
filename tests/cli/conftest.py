"""What the CLI tests share: a small drawn product photo, the default segmenter's weights, and a
runner that keeps stdout and stderr apart (the conventions are about which stream gets what)."""

from __future__ import annotations

import json

import cv2
import numpy as np
from typer.testing import CliRunner

from maskgate.cli import app


def product_photo(w: int = 128, h: int = 96, text: str | None = None) -> np.ndarray:
    """A red bottle-ish shape on a pale studio gradient, optionally with a bold promo line."""
    y = np.linspace(225, 190, h, dtype=np.float32)[:, None, None]
    rgb = np.broadcast_to(y * np.array([1.0, 0.97, 0.92], np.float32), (h, w, 3)).astype(np.uint8).copy()
    cv2.ellipse(rgb, (w // 2, h // 2 + 4), (w // 6, h // 3), 0, 0, 360, (190, 30, 40), -1)
    cv2.rectangle(rgb, (w // 2 - 6, h // 6 - 4), (w // 2 + 6, h // 2 - h // 3 + 8), (60, 60, 60), -1)
    if text:
        cv2.putText(rgb, text, (4, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (20, 20, 20), 2)
    return rgb


def save_png(path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]))


def invoke(*args, input: bytes | None = None, env: dict | None = None):
    """``maskgate ARGS`` in-process; the result has ``stdout``/``stdout_bytes`` and ``stderr`` apart."""
    return CliRunner().invoke(app, [str(a) for a in args], input=input, env=env)


def one_json(result) -> dict:
    """The single JSON object ``--json`` promises: stdout must be that and nothing else."""
    text = result.stdout.strip()
    assert text.count("\n") == 0, f"stdout is more than one line: {result.stdout!r}"
    obj = json.loads(text)
    assert isinstance(obj, dict)
    return obj
