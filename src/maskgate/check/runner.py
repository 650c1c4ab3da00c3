"""Run the check engine over a manifest: incremental, resumable, one bad pair never stops the rest.

Each finished pair is appended to the output store (``results.jsonl``, or Parquet parts; see
``maskgate.io.store``) by this process alone, so a killed run loses at most the pairs in flight;
re-running on the same folder skips every id already written (a line cut short by the kill is
dropped and redone). The pairs run in this process, in a local process pool, or on a Ray cluster's
actor pool (``maskgate.scale.engine``); all three feed the same store the same records.
"""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import select
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np

from maskgate.check.engine import Checker, Judgement
from maskgate.check.reward import RewardModel, WithReward
from maskgate.core.record import PairRecord
from maskgate.core.types import VERDICTS
from maskgate.io import uri
from maskgate.io.images import ImageReadError, load_image, save_image, shape_problem
from maskgate.io.lock import exclusive
from maskgate.io.manifest import PairSpec, read_manifest
from maskgate.io.store import Format, ResultStore, local_dir, local_done_ids, open_store
from maskgate.models.sessions import thread_budget, use_threads
from maskgate.scale.engine import Engine

RESULTS = "results.jsonl"


class RunBusyError(RuntimeError):
    """Another run is writing to the same output folder: two writers would duplicate pairs."""


def _exclusive(out_dir: Path):
    """Hold a lock on ``out_dir`` for the run (``io.lock``: none survives a run killed with -9)."""
    return exclusive(
        out_dir / ".lock",
        lambda: RunBusyError(
            f"another `maskgate check` is writing to {out_dir}; wait for it or use another --out"
        ),
    )


@dataclass
class RunSummary:
    out_dir: Path | str  # a local folder, or the fsspec URI the run wrote to
    total: int
    skipped: int  # already in the store from an earlier run
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    totals: dict[str, int] = field(default_factory=dict)  # verdicts over the whole store
    failed: int = 0  # this manifest's pairs whose record is an `error` (this run's or an earlier one's)
    results: Path | str = ""  # the store: results.jsonl or the results.parquet folder

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def to_json(self) -> dict:
        """The ``--json`` object of ``maskgate check``: this run's verdicts and the whole file's."""
        return {
            "results": str(self.results or uri.join(self.out_dir, RESULTS)),
            "pairs": self.total,
            "already_done": self.skipped,
            "checked": self.done,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "verdicts": {v: self.counts.get(v, 0) for v in VERDICTS},
            "all_verdicts": {v: self.totals.get(v, 0) for v in VERDICTS},
        }


def completed_ids(results: Path) -> set[str]:
    """Ids already written to a local ``results.jsonl``, repairing its tail so appending can go on
    safely (see ``maskgate.io.store.repair_tail``)."""
    return local_done_ids(results)


def _error_record(spec: PairSpec, reason: str) -> PairRecord:
    return PairRecord.failed(spec.id, spec.original, spec.edited, spec.kind, reason, spec.passthrough())


def _save_evidence(j: Judgement, out_dir: Path | str) -> None:
    for crit, imgs in j.images.items():
        for name, img in imgs.items():
            dest = uri.join(out_dir, j.record.criteria[crit].images[name])
            save_image(dest, np.ascontiguousarray(img), fast=True)


def _load(role: str, path: str, max_side: int, *, checked: bool = True):
    """Decode one file of a pair; ``checked``: it is judged (not a mask), so it must also be big
    enough to check (``io.images.shape_problem``), or the engine fails on it deep inside OpenCV."""
    try:
        im = load_image(path, max_side=max_side)
    except ImageReadError as e:
        raise ImageReadError(f"{role}: {e}") from e
    why = shape_problem(im.source_size, "check") if checked else None
    if why:
        raise ImageReadError(f"{role}: {why}")
    return im


def mask_plane(m) -> np.ndarray:
    """A mask file as 0/255: alpha of a cut-out, else the brightest channel; 0/1 masks are scaled."""
    plane = m.alpha if m.alpha is not None else m.rgb.max(axis=2)
    if plane.max() <= 1:
        plane = plane * np.uint8(255)
    return plane


def start_pair(checker, spec: PairSpec, out_dir: Path | str) -> Callable[[], PairRecord]:
    """Decode a pair and begin its check; the returned call gives its record (neither raises).

    A checker with ``start`` (the engine's) works on the pair in the background until the record
    is asked for; one with only ``check`` finishes here."""
    if spec.error:
        return partial(_error_record, spec, spec.error)
    try:
        orig = _load("original", spec.original, checker.max_side)
        edit = _load("edited", spec.edited, checker.max_side)
        mask_im = _load("mask", spec.mask, checker.max_side, checked=False) if spec.mask else None
        mask = mask_plane(mask_im) if mask_im is not None else None
        notes = tuple(
            f"{role}: {note}"
            for role, im in (("original", orig), ("edited", edit), ("mask", mask_im))
            if im is not None
            for note in im.notes
        )
        if hasattr(checker, "start"):
            finish = checker.start(orig, edit, kind=spec.kind, mask=mask, pair=spec)
        else:
            res = checker.check(orig, edit, kind=spec.kind, mask=mask, pair=spec)

            def finish() -> Judgement:
                return res
    except Exception as e:  # noqa: BLE001 - see _record
        return partial(_failed_record, spec, e)
    return partial(_record, spec, finish, out_dir, notes)


def _failed_record(spec: PairSpec, e: Exception) -> PairRecord:
    if isinstance(e, ImageReadError):
        return _error_record(spec, str(e))
    return _error_record(spec, f"check failed: {type(e).__name__}: {e}")


def _record(
    spec: PairSpec, finish: Callable[[], Judgement], out_dir: Path | str, notes: tuple[str, ...] = ()
) -> PairRecord:
    try:
        j = finish()
    except Exception as e:  # noqa: BLE001 - one broken pair must not stop a batch of thousands
        return _failed_record(spec, e)
    if notes:  # what decoding chose (an animation's first frame) belongs with the verdict
        j = replace(j, record=replace(j.record, notes=(*j.record.notes, *notes)))
    try:
        _save_evidence(j, out_dir)
        return j.record
    except Exception as e:  # noqa: BLE001 - a full disk or odd evidence array: the verdict still counts
        return replace(
            j.record,
            criteria={n: replace(c, images={}) for n, c in j.record.criteria.items()},
            notes=(*j.record.notes, f"evidence images not saved: {type(e).__name__}: {e}"),
        )


def process_pair(checker, spec: PairSpec, out_dir: Path | str) -> PairRecord:
    """Check one pair and return its results.jsonl record (never raises)."""
    return start_pair(checker, spec, out_dir)()


def process_pairs(checker, specs: Iterable[PairSpec], out_dir: Path | str) -> Iterator[PairRecord]:
    """Records of ``specs`` in order, each pair started before the one before it is finished.

    With two cores or more, finishing a pair (its criteria one after another, its verdict and
    evidence) runs on a thread of its own while this thread decodes the next pair and runs its
    text detection on every core: the detector leaves part of a core idle, which the criteria
    fill. (Measured on 40 dev pairs, ``bench/throughput.py --workers 1``: 276-281 ms/pair against
    291-301 with the criteria on two threads after each detection, and 312 with the detector on
    one core.) A killed run loses at most the two pairs in flight; resume redoes them."""
    # one core: nothing to fill, so a pair is finished on this thread after the next one starts
    finisher = ThreadPoolExecutor(1, thread_name_prefix="maskgate-finish") if thread_budget() >= 2 else None

    def later(finish: Callable[[], PairRecord]) -> Callable[[], PairRecord]:
        return finish if finisher is None else finisher.submit(_finish_on_one_core, finish).result

    try:
        pending = None
        for spec in specs:
            nxt = later(start_pair(checker, spec, out_dir))
            if pending is not None:
                yield pending()
            pending = nxt
        if pending is not None:
            yield pending()
    finally:
        if finisher is not None:
            finisher.shutdown(wait=True)


def _finish_on_one_core(finish: Callable[[], PairRecord]) -> PairRecord:
    with use_threads(1):  # the other cores are the next pair's detector's
        return finish()


# --- worker processes: one Checker (models loaded once) per process

_worker_checker = None


def build_checker(calibration=None) -> Checker:
    """The default checker factory; a factory must be a module-level function (it is pickled)."""
    return Checker(calibration)


def _exit_with_parent(parent: int, every: float = 0.5) -> None:
    """A parent killed with SIGKILL cannot shut its pool down, and the workers, each holding the
    models in memory, would wait on their task queue for ever (siblings keep the pipe open). So
    each worker watches the run's process and leaves when it is gone. Watched by a pidfd, which
    turns readable when that process ends (a zombie included): a worker's own parent is the fork
    server (see ``_pool``), which lives on while any worker holds its pipe."""
    try:
        fd = os.pidfd_open(parent)
    except (AttributeError, OSError):  # not Linux >= 5.3: poll for the pid instead
        fd = None

    def watch() -> None:
        if fd is not None:
            select.select([fd], [], [])
        else:
            while _alive(parent):
                time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the pid exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's
        pass
    return True


def _init_worker(factory, calibration, threads: int, parent: int, env: dict[str, str], cwd: str) -> None:
    """``env`` and ``cwd``: the run's, as they are now; the fork server holds those of the moment
    it started (a model folder set later, a relative path)."""
    global _worker_checker
    _exit_with_parent(parent)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    os.environ["MASKGATE_THREADS"] = str(threads)
    _worker_checker = factory(calibration)


# Workers come from a fork server, not forked from the run's process: that process has loaded the
# scoring once already (so a bad model fails before any worker starts), and LightGBM's boosters
# start an OpenMP thread pool there; libgomp's state does not survive fork(), and a forked worker
# then hangs for ever in its own Booster() (seen with the packaged gate and --workers 2). The fork
# server is a fresh interpreter that imported the engine and loaded no model, so forking from it
# is safe and a worker still starts in well under a second.
_PRELOAD = ["maskgate.check.runner"]


def _pool(workers: int, factory, calibration, threads: int) -> ProcessPoolExecutor:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    return ProcessPoolExecutor(
        workers,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(factory, calibration, threads, os.getpid(), dict(os.environ), os.getcwd()),
    )


def _work(spec: PairSpec, out_dir: Path | str) -> PairRecord:
    return process_pair(_worker_checker, spec, out_dir)


def _crash_record(spec: PairSpec, exc: BaseException) -> PairRecord:
    return _error_record(
        spec,
        f"the worker process died while checking this pair (out of memory, or a crash in a decoder or model?): {type(exc).__name__}: {exc}",
    )


def _run_pool(todo: list[PairSpec], out_dir: Path | str, workers: int, factory, calibration, emit) -> None:
    """Results are emitted in completion order by this (the only writing) process.

    A worker that dies (killed for memory, a segfault in native code) breaks the whole pool and
    every pair in flight with it. The pairs in flight are then retried one at a time in a pool of
    their own, so only the pair that really kills a worker is recorded as an error; the rest of the
    batch goes on in a fresh pool.
    """
    threads = max(1, (os.cpu_count() or 1) // workers)
    queue = list(reversed(todo))
    while queue:
        suspects: list[PairSpec] = []
        with _pool(workers, factory, calibration, threads) as pool:
            pending: dict = {}
            try:
                while queue or pending:
                    while queue and len(pending) < 2 * workers:  # a bounded window: a kill loses little
                        fut = pool.submit(_work, queue[-1], out_dir)  # raises when the pool broke
                        pending[fut] = queue.pop()
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for f in finished:
                        rec = f.result()  # raises BrokenProcessPool before the pair leaves `pending`
                        del pending[f]
                        emit(rec)
            except BrokenProcessPool:
                suspects = list(pending.values())
        for spec in suspects:
            with _pool(1, factory, calibration, threads) as alone:
                try:
                    emit(alone.submit(_work, spec, out_dir).result())
                except BrokenProcessPool as e:
                    emit(_crash_record(spec, e))


# --- the Ray engine: one Checker per actor, the records come back to this process


def _travelling(spec: PairSpec) -> dict[str, str]:
    """The pair's files on a process-local filesystem (memory://), base64, to send to an actor;
    one that cannot be read stays behind, and the actor records the same error the local engine
    would."""
    blobs = {}
    for p in (spec.original, spec.edited, spec.mask):
        if p and uri.process_local(p):
            try:
                blobs[p] = base64.b64encode(uri.read_bytes(p)).decode("ascii")
            except uri.UriError:
                continue
    return blobs


@dataclass(frozen=True)
class _RayCheck:
    """Pickled to each actor and called there once: builds that actor's checker (models loaded
    once per actor) and returns its batch function, pair specs to records.

    Files on a process-local filesystem (memory://) travel with the items: a pair's inputs come
    in the item and are placed in the actor's own memory filesystem under the same paths; the
    evidence images written there go back with the record, so the driver writes them where the
    local engine would have."""

    factory: Callable
    calibration: object
    out_dir: Path | str

    def __call__(self) -> Callable[[list[str]], list[str]]:
        checker = self.factory(self.calibration)
        out_dir = self.out_dir
        back = uri.process_local(out_dir)

        def batch(items: list[str]) -> list[str]:
            specs, placed = [], []
            for s in items:
                d = json.loads(s)
                for path, b64 in d.pop("blobs", {}).items():
                    uri.write_bytes(path, base64.b64decode(b64))
                    placed.append(path)
                specs.append(PairSpec(**d))
            out = []
            for rec in process_pairs(checker, specs, out_dir):
                files = {}
                if back:
                    for rel in {r for c in rec.criteria.values() for r in c.images.values()}:
                        where = str(uri.join(out_dir, rel))
                        try:
                            files[rel] = base64.b64encode(uri.read_bytes(where)).decode("ascii")
                        except uri.UriError:  # not saved: the record's notes already say so
                            continue
                        uri.remove(where)
                out.append(json.dumps({"record": rec.to_line(), "files": files}))
            for path in placed:
                uri.remove(path)
            return out

        return batch


def _run_ray(
    todo: list[PairSpec], out_dir: Path | str, engine: Engine, factory, calibration, emit, quiet
) -> None:
    from maskgate.scale.engine import ray_map

    if uri.local_path(out_dir) is not None:  # actors on other nodes write evidence there too
        out_dir = Path(out_dir).absolute()
    items = [json.dumps({**asdict(s), "blobs": _travelling(s)}) for s in todo]
    for i, res in ray_map(items, _RayCheck(factory, calibration, out_dir), engine, quiet=quiet):
        if res is None:  # its actor died on it, alone too
            emit(_crash_record(todo[i], RuntimeError("the Ray actor died on it, also when it ran alone")))
            continue
        d = json.loads(res)
        for rel, b64 in d["files"].items():  # written before the record that names them
            uri.write_bytes(str(uri.join(out_dir, rel)), base64.b64decode(b64))
        emit(PairRecord.from_json(json.loads(d["record"])))


def run_check(
    manifest,
    out_dir,
    workers: int = 1,
    calibration=None,
    progress: bool = True,
    checker_factory: Callable | None = None,
    model=None,
    engine: Engine | None = None,
    fmt: Format = "jsonl",
    store_options: dict | None = None,
    reward=None,
) -> RunSummary:
    """Check every pair of ``manifest`` into ``out_dir`` (see module doc); returns the counts (the
    caller asks for a report: ``report.html.write_report(summary.results)``).

    ``calibration`` (a calibration JSON) or ``model`` (a MODEL_DIR from ``maskgate learn``) is
    what the pairs are scored with; either reaches ``checker_factory(scoring)``, which builds the
    checker (default: the engine's ``Checker``, whose loader tells a file from a folder), once
    per worker process when ``workers`` > 1, so each worker loads it itself.

    ``engine`` says where the pairs run (default: ``workers`` local processes); ``out_dir`` and the
    manifest may be fsspec URIs; ``fmt`` is the output store's format (``jsonl`` or ``parquet``),
    ``store_options`` its settings (Parquet: ``rows_per_part``, ``seconds_per_part``).
    ``reward``: a REWARD_DIR from ``maskgate reward train`` scoring beside it (``check.reward``).
    """
    if calibration is not None and model is not None:
        raise ValueError("give --calibration or --model, not both")
    if model is not None:
        calibration = model
    if reward is not None:  # each worker loads both itself, as it loads the scoring alone
        RewardModel.load(reward)  # a bad reward folder fails here, once, with its message
        calibration = WithReward(calibration, reward)
    factory = checker_factory or build_checker
    engine = engine or Engine("local", workers)
    local = local_dir(out_dir)
    if local is not None:
        local.mkdir(parents=True, exist_ok=True)
        out_dir = local
    pairs = read_manifest(manifest)
    store = open_store(out_dir, fmt, **(store_options or {}))
    if local is None:  # no lock on a URI: one run per output URI is the caller's to keep
        return _run(pairs, out_dir, engine, factory, calibration, progress, store)
    with _exclusive(local):
        return _run(pairs, out_dir, engine, factory, calibration, progress, store)


def _run(
    pairs: list[PairSpec],
    out_dir: Path | str,
    engine: Engine,
    factory,
    calibration,
    progress: bool,
    store: ResultStore,
) -> RunSummary:
    done = store.done_ids()
    todo = [p for p in pairs if p.id not in done]
    summary = RunSummary(out_dir, len(pairs), len(pairs) - len(todo), results=store.location)
    t0 = time.perf_counter()
    try:
        with _progress(progress, len(todo)) as bar:

            def emit(rec: PairRecord) -> None:
                store.append(rec)
                summary.counts[rec.verdict] = summary.counts.get(rec.verdict, 0) + 1
                bar.advance()

            if todo and engine.kind == "ray":
                factory(calibration)  # a missing model or bad calibration fails here, once, with its message
                _run_ray(todo, out_dir, engine, factory, calibration, emit, quiet=not bar.enabled)
            elif todo and engine.workers <= 1:
                for rec in process_pairs(factory(calibration), todo, out_dir):
                    emit(rec)
            elif todo:
                if uri.process_local(out_dir):
                    raise ValueError(
                        f"{out_dir}: a memory:// folder exists only in this process, so worker processes "
                        "cannot write to it; use --workers 1, --engine ray, or a shared filesystem"
                    )
                factory(calibration)  # a missing model or bad calibration fails here, once, with its message
                _run_pool(todo, out_dir, engine.workers, factory, calibration, emit)
    finally:
        store.close()  # Parquet: the last buffered records become a part
    summary.seconds = time.perf_counter() - t0
    ours = {p.id for p in pairs}
    failed: set[str] = set()
    for rid, v in store.verdicts():
        summary.totals[v] = summary.totals.get(v, 0) + 1
        if v == "error" and rid in ours:
            failed.add(rid)
    summary.failed = len(failed)
    return summary


class _progress:
    """A rich progress bar with pairs/s and ETA; silent when not wanted or not on a terminal."""

    def __init__(self, enabled: bool, total: int):
        # a bar redrawn into a log file or a CI pipe is noise: only on a terminal
        self.enabled = enabled and total > 0 and sys.stderr.isatty()
        self.total = total

    def __enter__(self):
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                ProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.text import Text

            class Speed(ProgressColumn):
                def render(self, task):
                    return Text(f"{task.speed:.2f} pairs/s" if task.speed else "- pairs/s")

            from rich.console import Console

            self.p = Progress(
                TextColumn("checking"),
                BarColumn(),
                MofNCompleteColumn(),
                Speed(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self.p.start()
            self.task = self.p.add_task("check", total=self.total)
        return self

    def advance(self) -> None:
        if self.enabled:
            self.p.advance(self.task)

    def __exit__(self, *exc):
        if self.enabled:
            self.p.stop()
        return False
