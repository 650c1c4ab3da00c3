"""One writer per output folder, for every command that writes results into one.

Hand-written over ``fcntl`` because no installed library locks this way: a POSIX record lock
(``lockf``) belongs to the process, is not inherited by forked workers and vanishes with the
process, so a run killed with -9 never leaves a stale lock behind (``filelock`` leaves a file to
clean up and can be shared with forked children).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive(lock_file: Path, busy: Callable[[], Exception]) -> Iterator[None]:
    """Hold ``lock_file`` for the block; raise ``busy()`` at once when another process holds it.
    Where ``fcntl`` is missing (Windows) nothing is locked."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with lock_file.open("a") as fh:
        try:
            fcntl.lockf(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            raise busy() from e
        yield
