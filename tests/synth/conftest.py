"""Clean edits the synth tests break: a drawn product on its original, staged as a cut-out on
white and on a new busy background, at the original's resolution."""

from __future__ import annotations

import numpy as np
import pytest

from maskgate.synth import benign as bn
from maskgate.synth.sources import Backgrounds, drawn_products, make_original

SIZE = 384
MUG, BALL = 0, 3  # drawn_product variants: an asymmetric mug, a mirror-symmetric ball


def staged(variant: int, kind: str, scale: float = 1.0) -> bn.Stage:
    bgs = Backgrounds()
    src = drawn_products(variant + 1, lambda i: SIZE, mugs_only=False)[variant][1]()
    original = make_original(src, *bgs.make("calm", 3, (SIZE, SIZE)), np.random.default_rng(0))
    plain = bn.plain(kind, "scene:77")  # type: ignore[arg-type]
    variation = bn.Benign(plain.backdrop, scale, plain.shift, plain.zoom, plain.encoding)
    return bn.stage(original, kind, variation, bgs)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def stages() -> dict[tuple[int, str], bn.Stage]:
    return {(v, k): staged(v, k) for v in (MUG, BALL) for k in ("isolated", "inpainted")}
