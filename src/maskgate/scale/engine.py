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
        return {"i": batch["i"], "out": np.array(out, dtype=object)}


def _pass(
    ray: Any, items: Sequence[tuple[int, str]], make: Callable[[], BatchFn], engine: Engine, retries: int
) -> Iterator[tuple[int, str]]:
    """One Dataset over ``items``; a block whose actor dies ``retries`` + 1 times is dropped (its
    items do not come back) instead of failing the run or, Ray's default, being retried for ever."""
    ctx = ray.data.DataContext.get_current()
    before, ctx.max_errored_blocks = ctx.max_errored_blocks, -1  # a Dataset copies the context now
    try:
        yield from _rows(ray, items, make, engine, retries)
    finally:
        ctx.max_errored_blocks = before


def _rows(
    ray: Any, items: Sequence[tuple[int, str]], make: Callable[[], BatchFn], engine: Engine, retries: int
) -> Iterator[tuple[int, str]]:
    ds = ray.data.from_items(
        [{"i": i, "item": s} for i, s in items],
        override_num_blocks=max(1, math.ceil(len(items) / engine.batch_size)),
    )
    ds = ds.map_batches(
        _Actor,
        fn_constructor_kwargs={"make": make, "threads": engine.threads},
        batch_size=engine.batch_size,
        batch_format="numpy",
        # (`concurrency=`, deprecated in Ray 2.51.) Alone (retries=0), one task at a time per actor: a task
        # queued behind the item that kills the actor would die with it.
        compute=ray.data.ActorPoolStrategy(
            size=engine.workers, max_tasks_in_flight_per_actor=None if retries else 1
        ),
        num_cpus=engine.cpus,
        num_gpus=engine.gpus or None,
        max_task_retries=retries,
    )
    for row in ds.iter_rows():
        yield int(row["i"]), str(row["out"])


def ray_map(
    items: Sequence[str], make: Callable[[], BatchFn], engine: Engine, *, quiet: bool = True
) -> Iterator[tuple[int, str | None]]:
    """(index into ``items``, result) for every item, as actors finish them; None for an item
    whose actor died on it every time.

    ``make`` is pickled to every actor (cloudpickle: a closure will do) and called there once.
    The items are cut into blocks of ``engine.batch_size`` so results stream back a batch at a
    time rather than at the end. An actor that dies (out of memory, a crash in native code) takes
    its batch with it: Ray retries the batch twice on a fresh actor, then the items of a batch that
    never came back are run again one per batch, once, so only the item that really kills an actor
    is lost, as on the local engine's process pool."""
    if not items:
        return
    ray = connect(engine, quiet=quiet)
    seen: set[int] = set()
    for i, out in _pass(ray, list(enumerate(items)), make, engine, retries=2):
        seen.add(i)
        yield i, out
    lost = [(i, s) for i, s in enumerate(items) if i not in seen]
    if not lost:
        return
    alone = Engine(engine.kind, min(engine.workers, len(lost)), engine.address, 1, engine.cpus, engine.gpus)
    for i, out in _pass(ray, lost, make, alone, retries=0):
        seen.add(i)
        yield i, out
    for i, _ in lost:
        if i not in seen:
            yield i, None
