"""Values passed between layers: one definition each, so a text region or a decoded image means
the same thing to make, check, review and the exporters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

Criterion = Literal["residue", "segmentation", "quality", "comprehensibility", "consistency", "background"]
Kind = Literal["isolated", "inpainted", "text_removed"]
Verdict = Literal["accept", "reject", "review", "error"]

CRITERIA: tuple[Criterion, ...] = get_args(Criterion)
KINDS: tuple[Kind, ...] = get_args(Kind)
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)


@dataclass(frozen=True)
class TextRegion:
    polygon: np.ndarray  # Nx2 float32, (x, y) in image pixels
    score: float

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        x0, y0 = self.polygon.min(0)
        x1, y1 = self.polygon.max(0)
        return int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1))


@dataclass(frozen=True)
class LoadedImage:
    rgb: np.ndarray  # HxWx3 uint8, RGB order
    alpha: np.ndarray | None  # HxW uint8, None when the file has no (non-trivial) alpha
    source_size: tuple[int, int]  # (width, height) of the file after EXIF rotation, before any downscale
    path: str = ""
    notes: tuple[str, ...] = ()  # what decoding chose for the user (an animation's first frame)

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]

    @property
    def scale(self) -> float:
        """Working size over file size (1.0 when not downscaled)."""
        return self.rgb.shape[1] / self.source_size[0]
