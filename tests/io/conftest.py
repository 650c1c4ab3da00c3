"""The bad-input corpus, built once per module in a temporary folder (see tests/bad_input_corpus.py)."""

from __future__ import annotations

import pytest

from maskgate.models.registry import MissingModelError, resolve_model


@pytest.fixture(scope="session")
def models():
    """The default segmenter's weights: the commands and the check need them for the good items."""
    try:
        return resolve_model("u2netp")
    except MissingModelError as e:  # scripts/test.sh pulls the weights; a bare pytest may not have them
        pytest.skip(f"u2netp weights missing: {e}")
