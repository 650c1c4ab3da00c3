import pytest

from maskgate.models.registry import MissingModelError, resolve_model


@pytest.fixture(scope="session")
def u2netp():
    """The default segmenter's weights (scripts/test.sh pulls them through the package index)."""
    try:
        return resolve_model("u2netp")
    except MissingModelError as e:
        pytest.skip(f"u2netp weights missing: {e}")
