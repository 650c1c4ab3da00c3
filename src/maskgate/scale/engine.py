"""Run a batch function over many items on a Ray cluster: a Dataset through an actor pool.

The check and the make commands each know how to do a batch of their items (a pair spec, an input
file), given a worker that built its models once. This module knows only how to spread such
batches: ``ray_map`` turns the items into a Ray Dataset, runs ``map_batches`` with a callable class
(so each actor builds the worker once, models included), and streams the results back to the
caller as they finish, in completion order. The caller, the only writer, stores them.

Ray is an optional extra (``pip install 'maskgate[ray]'``): imported here only when a Ray run is
asked for, with the install command when it is missing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

EngineKind = Literal["local", "ray"]
ENGINES: tuple[EngineKind, ...] = ("local", "ray")

# A batch function: a worker's items (JSON strings) to their results (JSON strings), one each, in
# order. Strings cross the process boundary the same way on any engine and any Ray version.
BatchFn = Callable[[list[str]], list[str]]


class EngineError(RuntimeError):
    """A run that cannot start on the engine asked for (the message says how to fix it)."""


@dataclass(frozen=True)
class Engine:
    """How a run is spread. ``local``: ``workers`` processes on this machine. ``ray``: ``workers``
    actors, each reserving ``cpus`` CPUs and ``gpus`` GPUs, fed ``batch_size`` items at a time, on
    the cluster at ``address`` (None: a local cluster started for the run; ``auto``: the one
    ``ray start`` runs here)."""

    kind: EngineKind = "local"
    workers: int = 1
    address: str | None = None
    batch_size: int = 4
    cpus: float = 1.0
    gpus: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ENGINES:
            raise EngineError(f"unknown engine {self.kind!r} (expected one of {', '.join(ENGINES)})")
        if self.workers < 1 or self.batch_size < 1:
            raise EngineError("workers and batch size must be at least 1")
        if self.cpus <= 0 or self.gpus < 0:
            raise EngineError("CPUs per worker must be above 0 and GPUs per worker at least 0")

    @property
    def threads(self) -> int:
        """onnxruntime threads per worker: what the worker reserved, so actors do not oversubscribe."""
        return max(1, math.floor(self.cpus))


def require_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401 - the Data library is a separate extra of ray
    except ImportError as e:
        raise EngineError(
            "--engine ray needs Ray with its Data library: pip install 'maskgate[ray]' "
            f"(or 'ray[data]'); import failed: {e}"
        ) from e
    return ray


def connect(engine: Engine, *, quiet: bool = True) -> Any:
    """Ray, initialised for this process: the running session if there is one, else the cluster
    at ``engine.address``, else a fresh local one (no dashboard: nothing listens beyond the run)."""
    ray = require_ray()
    if not ray.is_initialized():
        kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": not quiet}
        if engine.address is None:
            kw["num_cpus"] = os.cpu_count() or 1
        try:
            ray.init(address=engine.address, **kw)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise EngineError(f"cannot reach the Ray cluster at {engine.address}: {e}") from e
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = not quiet
    return ray


class _Actor:
    """One actor of the pool: builds its worker once, then runs batches through it."""

    def __init__(self, make: Callable[[], BatchFn], threads: int):
        os.environ["MASKGATE_THREADS"] = str(threads)  # read when each model session is made
        self.fn = make()

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        out = self.fn([str(x) for x in batch["item"]])
        return {"out": np.array(out, dtype=object)}


def ray_map(
    items: Sequence[str], make: Callable[[], BatchFn], engine: Engine, *, quiet: bool = True
) -> Iterator[str]:
    """The results of ``make()``'s batch function over ``items``, as actors finish them.

    ``make`` is pickled to every actor (cloudpickle: a closure will do) and called there once.
    The items are cut into blocks of ``engine.batch_size`` so results stream back a batch at a
    time rather than at the end."""
    if not items:
        return
    ray = connect(engine, quiet=quiet)
    ds = ray.data.from_items(
        [{"item": s} for s in items], override_num_blocks=max(1, math.ceil(len(items) / engine.batch_size))
    )
    ds = ds.map_batches(
        _Actor,
        fn_constructor_kwargs={"make": make, "threads": engine.threads},
        batch_size=engine.batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=engine.workers),  # `concurrency=` before Ray 2.51
        num_cpus=engine.cpus,
        num_gpus=engine.gpus or None,
    )
    for row in ds.iter_rows():
        yield str(row["out"])
