"""Criteria only read the pair's context: run in any order, they measure the same, bit for bit.

The context is built here from drawn images without any model (the saliency is the drawn mask,
the text regions are drawn too), so the test needs no weights and covers every edit kind."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

from maskgate.check.context import build_context
from maskgate.check.criteria import REGISTRY
from maskgate.check.engine import measure_all
from maskgate.core.types import TextRegion
from tests.check.conftest import add_overlays, compose, scene

WHITE = np.full((384, 384, 3), 255, np.uint8)


def _box(x0, y0, x1, y1) -> TextRegion:
    return TextRegion(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32), 0.9)


def _pairs(mug):
    rgb, mask = mug["rgb"], mug["mask"]
    original = mug["original"]
    blurred = cv2.GaussianBlur(compose(scene(3), rgb, mask), (0, 0), 2.0)
    shifted = np.roll(compose(WHITE, rgb, mask), 6, axis=1)
    hue = compose(
        scene(1), cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV) + np.uint8(40), cv2.COLOR_HSV2RGB), mask
    )
    clean = compose(scene(0), rgb, mask)
    return [
        ("isolated", original, shifted),
        ("inpainted", original, blurred),
        ("inpainted", original, hue),
        ("text_removed", original, clean),
        ("text_removed", add_overlays(clean), add_overlays(clean)),
    ]


def _context(kind, original, edit, mask):
    texts_o = [_box(20, 20, 200, 44), _box(240, 330, 370, 360)]
    texts_e = [_box(20, 20, 200, 44)] if kind != "text_removed" else []
    return build_context(original, edit, None, mask.astype(np.float32), texts_o, texts_e, kind=kind)


def _same(a, b) -> bool:
    if a.keys() != b.keys():
        return False
    for c in a:
        if a[c].keys() != b[c].keys():
            return False
        for k in a[c]:
            x, y = a[c][k], b[c][k]
            if not (x == y or (isinstance(x, float) and np.isnan(x) and np.isnan(y))):
                return False
    return True


@pytest.mark.parametrize("case", range(5))
def test_any_order_measures_the_same(mug, case):
    kind, original, edit = _pairs(mug)[case]
    reference = measure_all(_context(kind, original, edit, mug["mask"]))
    assert any(reference.values()), "the context must be judgeable for the test to mean anything"
    rng = random.Random(case)
    for _ in range(4):
        order = list(REGISTRY)
        rng.shuffle(order)
        assert _same(measure_all(_context(kind, original, edit, mug["mask"]), order), reference), [
            c.name for c in order
        ]
    # one criterion measured alone on a fresh context sees what it saw among the others
    for c in REGISTRY:
        ctx = _context(kind, original, edit, mug["mask"])
        if c.judgeable(ctx):
            alone = dict(c.measure(ctx))
            assert {k: v for k, v in reference[c.name].items() if k in alone} == alone, c.name


@pytest.mark.parametrize("case", range(5))
def test_criteria_side_by_side_on_threads_measure_the_same(mug, case):
    """The checker measures one pair's criteria on two threads at once (``Checker.features``):
    the shared members they race for must come out as they do one criterion after another."""
    kind, original, edit = _pairs(mug)[case]
    reference = measure_all(_context(kind, original, edit, mug["mask"]))
    with ThreadPoolExecutor(3) as pool:
        for _ in range(3):
            together = measure_all(_context(kind, original, edit, mug["mask"]), pool=pool)
            assert _same(together, reference)
