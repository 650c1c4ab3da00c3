"""Images the check tests build themselves: a product-like mug on a textured scene, with overlays."""

from __future__ import annotations

import numpy as np
import pytest

from maskgate.core.types import LoadedImage

SIZE = 384

# The drawing lives in the package (the demo uses it too); re-exported for the tests.
from maskgate.synth.draw import add_overlays, compose, product, scene  # noqa: E402,F401


def studio() -> np.ndarray:
    """A plain studio gradient: a backdrop u2netp finds the product on, for its own tests."""
    y = np.linspace(120, 200, SIZE, dtype=np.float32)[:, None, None]
    return np.broadcast_to(y * np.array([1.0, 0.95, 0.85], np.float32), (SIZE, SIZE, 3)).astype(np.uint8)


def loaded(rgb: np.ndarray, alpha: np.ndarray | None = None) -> LoadedImage:
    return LoadedImage(rgb, alpha, (rgb.shape[1], rgb.shape[0]))


@pytest.fixture(scope="session")
def mug():
    rgb, mask = product()
    original = add_overlays(compose(scene(0), rgb, mask))
    return {"rgb": rgb, "mask": mask, "original": original}


@pytest.fixture(scope="session")
def checker():
    from maskgate.check.engine import Checker
    from maskgate.models.registry import MissingModelError

    try:
        return Checker()
    except MissingModelError as e:  # scripts/test.sh pulls the weights; a bare pytest may not have them
        pytest.skip(str(e))
