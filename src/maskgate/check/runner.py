"""Run the check engine over a manifest: incremental, resumable, one bad pair never stops the rest.

Each finished pair is appended to ``results.jsonl`` and flushed at once, so a killed run loses at
most the pairs in flight; re-running on the same folder skips every id already written (a line cut
short by the kill is dropped and redone).
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from maskgate.check.result import PairResult
from maskgate.io.images import ImageReadError, load_image, save_image
from maskgate.io.manifest import PairSpec, read_manifest

RESULTS = "results.jsonl"


@dataclass
class RunSummary:
    out_dir: Path
    total: int
    skipped: int  # already in results.jsonl from an earlier run
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def done(self) -> int:
        return sum(self.counts.values())


def completed_ids(results: Path) -> set[str]:
    """Ids already written; drops a torn last line left by a killed run."""
    if not results.exists():
        return set()
    data = results.read_bytes()
    ids, good_end = set(), 0
    pos = 0
    for line in data.split(b"\n"):
        end = pos + len(line) + 1
        if line.strip():
            try:
                ids.add(json.loads(line)["id"])
                good_end = min(end, len(data))
            except (ValueError, KeyError):
                break
        else:
            good_end = min(end, len(data))
        pos = end
    if good_end < len(data):
        with results.open("r+b") as f:
            f.truncate(good_end)
    return ids


def _labels_extra(spec: PairSpec) -> dict:
    extra = dict(spec.extra)
    if spec.labels is not None:
        extra["labels"] = spec.labels
    if spec.acceptable is not None:
        extra["acceptable"] = spec.acceptable
    return extra


def _error_record(spec: PairSpec, reason: str) -> dict:
    return PairResult(spec.id, spec.original, spec.edited, spec.kind, "error", None, {}, None, [], reason, _labels_extra(spec)).to_record()


def _save_evidence(res: PairResult, out_dir: Path) -> dict[str, dict[str, str]]:
    paths: dict[str, dict[str, str]] = {}
    safe = "".join(ch if ch.isalnum() or ch in "-_.~" else "_" for ch in res.id)
    for crit, c in res.criteria.items():
        for name, img in c.images.items():
            rel = f"evidence/{safe}/{crit}_{name}.png"
            save_image(out_dir / rel, np.ascontiguousarray(img), fast=True)
            paths.setdefault(crit, {})[name] = rel
    return paths


def process_pair(checker, spec: PairSpec, out_dir: Path) -> dict:
    """Check one pair and return its results.jsonl record (never raises)."""
    if spec.error:
        return _error_record(spec, spec.error)
    try:
        orig = load_image(spec.original, max_side=checker.max_side)
        edit = load_image(spec.edited, max_side=checker.max_side)
        mask = None
        if spec.mask:
            m = load_image(spec.mask, max_side=checker.max_side)
            mask = m.alpha if m.alpha is not None else m.rgb[..., 0]
        res = checker.check(orig, edit, kind=spec.kind, mask=mask)
    except ImageReadError as e:
        return _error_record(spec, str(e))
    except Exception as e:  # noqa: BLE001 - one broken pair must not stop a batch of thousands
        return _error_record(spec, f"check failed: {type(e).__name__}: {e}")
    res.id, res.original, res.edited = spec.id, spec.original, spec.edited
    res.extra = _labels_extra(spec)
    return res.to_record(_save_evidence(res, out_dir))


# --- worker processes: one Checker (models loaded once) per process

_worker_checker = None


def _init_worker(calibration, threads: int) -> None:
    global _worker_checker
    os.environ["MASKGATE_THREADS"] = str(threads)
    from maskgate.check.engine import Checker

    _worker_checker = Checker(calibration)


def _work(spec: PairSpec, out_dir: str) -> dict:
    return process_pair(_worker_checker, spec, Path(out_dir))


def run_check(manifest, out_dir, workers: int = 1, calibration=None, progress: bool = True, report: bool = True) -> RunSummary:
    from maskgate.check.engine import Checker

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pairs = read_manifest(manifest)
    results = out_dir / RESULTS
    done = completed_ids(results)
    todo = [p for p in pairs if p.id not in done]
    summary = RunSummary(out_dir, len(pairs), len(pairs) - len(todo))
    t0 = time.perf_counter()
    with results.open("a", encoding="utf-8") as fh, _progress(progress, len(todo)) as bar:

        def emit(rec: dict) -> None:
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            summary.counts[rec["verdict"]] = summary.counts.get(rec["verdict"], 0) + 1
            bar.advance()

        if workers <= 1:
            checker = Checker(calibration) if todo else None
            for spec in todo:
                emit(process_pair(checker, spec, out_dir))
        else:
            threads = max(1, (os.cpu_count() or 1) // workers)
            with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(calibration, threads)) as pool:
                pending = set()
                it = iter(todo)
                for spec in it:  # keep a bounded window in flight so a kill loses little
                    pending.add(pool.submit(_work, spec, str(out_dir)))
                    if len(pending) >= 2 * workers:
                        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for f in finished:
                            emit(f.result())
                for f in pending:
                    emit(f.result())
    summary.seconds = time.perf_counter() - t0
    if report:
        try:
            from maskgate.report.html import write_report
        except ImportError:
            pass
        else:
            write_report(results)
    return summary


class _progress:
    """A rich progress bar with pairs/s and ETA; silent when not wanted or not on a terminal."""

    def __init__(self, enabled: bool, total: int):
        self.enabled = enabled and total > 0
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

            self.p = Progress(TextColumn("checking"), BarColumn(), MofNCompleteColumn(), Speed(), TimeRemainingColumn())
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
