"""Folder-or-file batches: one output per input, a progress bar, and errors collected, not raised.

A batch of 5,000 catalogue images must not stop at the first truncated JPEG: each failure is kept
with its reason and reported at the end, and the exit status says whether any item failed. Nothing
named as an image is skipped in silence either: an .svg or a named pipe is a failed item with its
reason, and every file is vetted from its header (size, format, bombs) before any model sees it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from maskgate.io.images import IMAGE_EXTS, UNREAD_IMAGE_EXTS, ImageReadError, image_size, shape_problem
from maskgate.io.targets import STDIO, TargetError, is_stdio, names_image_file, output_problem, spool
from maskgate.models.registry import resolve_model
from maskgate.scale.engine import Engine

NAMED_AS_IMAGES = IMAGE_EXTS | UNREAD_IMAGE_EXTS


@dataclass
class BatchReport:
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass
class Targets:
    """What one make command reads and writes, decided from INPUT and ``--out`` before any model runs."""

    files: list[Path]
    dest: Callable[[Path], Path]
    shown: str  # where the results go, as the user should read it
    to_stdout: Path | None = None  # the finished file to copy to standard output
    from_stdin: Path | None = None  # the spooled copy of standard input

    def name(self, src: Path) -> str:
        """An input as the user gave it: ``-`` for the spooled stdin, not its temporary path."""
        return STDIO if src == self.from_stdin else str(src)

    def to_json(self, command: str, report: BatchReport) -> dict:
        """The ``--json`` object of a make run: what was written where and what failed, with why."""
        written = [STDIO if self.to_stdout is not None else str(p) for p in report.written]
        return {
            "command": command,
            "out": self.shown,
            "written": written,
            "failed": [{"path": self.name(f), "reason": why} for f, why in report.failed],
            "ok": report.ok,
        }


def plan_targets(
    inp: Path, out: Path, scratch: Path, *, stdin: BinaryIO | None = None, alpha: bool = False
) -> Targets:
    """Decide the inputs and each one's output path (see :mod:`maskgate.io.targets`).

    ``-`` as INPUT reads one image from ``stdin`` (spooled into ``scratch``); ``-`` as ``--out``
    writes the one result to standard output; an ``--out`` named like an image is that one file;
    anything else is a folder mirroring INPUT's sub-folders. ``alpha``: the verb writes transparency,
    which rules out a JPEG file. Contradictions raise :class:`TargetError` before ``stdin`` is read."""
    from_stdin, to_stdout = is_stdio(inp), is_stdio(out)
    one_file = not to_stdout and names_image_file(out)
    if from_stdin and not (to_stdout or one_file):
        raise TargetError(
            f"INPUT - (standard input) is one image without a name: write it to a file (--out result.png) "
            f"or to standard output (--out -), not into the folder {out}"
        )
    if one_file:
        why = output_problem(out, alpha)
        if why:
            raise TargetError(why)
    if from_stdin:
        if stdin is None:
            raise TargetError("INPUT - needs standard input")
        files = [spool(stdin, scratch / "stdin")]
    else:
        files = collect(inp)
        if not files:
            raise FileNotFoundError(f"no images found in {inp}")
        if (to_stdout or one_file) and inp.is_dir():
            target = "standard output (--out -)" if to_stdout else f"the one file {out}"
            raise TargetError(
                f"INPUT {inp} is a folder ({len(files)} images) but --out names {target}: "
                "give an output folder, or one image as INPUT"
            )
    spooled = files[0] if from_stdin else None
    if to_stdout:
        tmp = scratch / "stdout.png"
        return Targets(files, lambda _src: tmp, "standard output", tmp, spooled)
    if one_file:
        targets = Targets(files, lambda _src: out, str(out), from_stdin=spooled)
    else:
        targets = Targets(files, lambda src: out_path(src, inp, out), str(out))
    over = [f for f in files if f != spooled and targets.dest(f).resolve() == f.resolve()]
    if over:
        raise TargetError(
            f"--out {out} would overwrite {len(over)} input image(s), e.g. {over[0]}: give another --out"
        )
    return targets


def require_models(names: Iterable[str]) -> None:
    """Find every model a batch will load before its first file, so that a missing one is one
    error naming the fix (``MissingModelError``) instead of one failed item per file."""
    for name in names:
        resolve_model(name)


def collect(inp: str | Path) -> list[Path]:
    """The images under ``inp`` (a file, or a folder searched recursively), sorted.

    Anything named as an image is taken, also a format we cannot read or a pipe: ``run_batch``
    fails it with the reason, so the user sees it in the list rather than missing from the output."""
    p = Path(inp)
    if p.is_dir():
        return sorted(
            f
            for f in p.rglob("*")
            if not f.is_dir() and f.suffix.lower() in NAMED_AS_IMAGES and not f.name.startswith(".")
        )
    if p.exists() or p.is_symlink():  # a pipe or device too: admit_image says what it is
        return [p]
    raise FileNotFoundError(f"no such file or folder: {p}")


def admit_image(path: Path) -> None:
    """Refuse, from the header alone, a file no verb can process (see ``maskgate.io.images``: not a
    regular file, an unknown format, over the pixel limit, under the minimum size)."""
    why = shape_problem(image_size(path), "process")
    if why:
        raise ImageReadError(why)


def out_path(src: Path, root: Path, out_dir: Path, suffix: str = ".png", tag: str = "") -> Path:
    """Output path keeping the input's sub-folder and stem (``tag`` goes before the suffix)."""
    rel = src.relative_to(root).parent if root.is_dir() else Path()
    return out_dir / rel / f"{src.stem}{tag}{suffix}"


def _one(
    f: Path, work: Callable[[Path], Path], admit: Callable[[Path], None] | None
) -> tuple[Path | None, str]:
    """(written path, "") or (None, the reason), for one file; never raises but on Ctrl-C."""
    try:
        if admit is not None:
            admit(f)
        return work(f), ""
    except KeyboardInterrupt:
        raise
    except Exception as e:  # noqa: BLE001 - one bad file must not stop the batch
        return None, str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def run_batch(
    files: Iterable[Path],
    work: Callable[[Path], Path],
    *,
    on_start: Callable[[Path], None] | None = None,
    on_done: Callable[[Path], None] | None = None,
    admit: Callable[[Path], None] | None = admit_image,
    engine: Engine | None = None,
) -> BatchReport:
    """Apply ``work`` (input path -> written path) to every file; failures are recorded, not raised.

    ``on_start`` / ``on_done`` are told of each file (the CLI draws its progress bar with them;
    a library caller passes nothing and gets no output). ``admit`` vets each file first and raises
    with the reason it cannot be processed (None: take every file as it is). With a Ray ``engine``
    the files are spread over its actors (``work`` and ``admit`` are pickled to each; the models
    they load stay loaded in the actor), ``on_done`` is told as results come back, in completion
    order, and ``on_start`` is not called: the driver does not see a file start."""
    report = BatchReport()
    if engine is not None and engine.kind == "ray":
        from maskgate.scale.engine import ray_map

        todo = list(files)
        for i, res in ray_map([str(f) for f in todo], _RayMake(work, admit), engine):
            src = todo[i]
            if res is None:
                _note(
                    report,
                    src,
                    None,
                    "the Ray actor died processing it (out of memory, or a crash in a decoder or model?)",
                )
            else:
                d = json.loads(res)
                _note(report, src, Path(d["dest"]) if d["dest"] else None, d["error"])
            if on_done is not None:
                on_done(src)
        return report
    for f in files:
        if on_start is not None:
            on_start(f)
        dest, why = _one(f, work, admit)
        _note(report, f, dest, why)
        if on_done is not None:
            on_done(f)
    return report


def _note(report: BatchReport, src: Path, dest: Path | None, why: str) -> None:
    if dest is not None:
        report.written.append(dest)
    else:
        report.failed.append((src, why))


@dataclass(frozen=True)
class _RayMake:
    """Pickled to each Ray actor (cloudpickle takes the CLI's closures) and called there once."""

    work: Callable[[Path], Path]
    admit: Callable[[Path], None] | None

    def __call__(self) -> Callable[[list[str]], list[str]]:
        def batch(items: list[str]) -> list[str]:
            out = []
            for s in items:
                dest, why = _one(Path(s), self.work, self.admit)
                out.append(json.dumps({"src": s, "dest": str(dest) if dest else None, "error": why}))
            return out

        return batch
