"""Folder-or-file batches: one output per input, a progress bar, and errors collected, not raised.

A batch of 5,000 catalogue images must not stop at the first truncated JPEG: each failure is kept
with its reason and reported at the end, and the exit status says whether any item failed. Nothing
named as an image is skipped in silence either: an .svg or a named pipe is a failed item with its
reason, and every file is vetted from its header (size, format, bombs) before any model sees it.

INPUT and ``--out`` may be fsspec URIs (``memory://``, ``s3://``...): an input or output is then a
URI string instead of a :class:`~pathlib.Path`, and :mod:`maskgate.io.images` reads and writes it
(a local path, plain or ``file://``, stays a Path, so the regular-file guards apply to it).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from maskgate.io import uri
from maskgate.io.images import IMAGE_EXTS, UNREAD_IMAGE_EXTS, ImageReadError, image_size, shape_problem
from maskgate.io.targets import (
    STDIO,
    TargetError,
    is_folder,
    is_stdio,
    names_image_file,
    output_problem,
    spool,
    suffix,
)
from maskgate.models.registry import resolve_model
from maskgate.scale.engine import Engine

NAMED_AS_IMAGES = IMAGE_EXTS | UNREAD_IMAGE_EXTS

# An input or output of a make command: a local Path, or an fsspec URI kept as the string it was.
Src = Path | str


def as_src(path: str | Path) -> Src:
    """A local path (plain or ``file://``) as a Path; any other URI as its string."""
    loc = uri.local_path(path)
    return loc if loc is not None else str(path)


@dataclass(frozen=True)
class Made:
    """What one item's work gives back: where the result went, and what the user must know about
    it (an animation of which only the first frame was used)."""

    dest: Src
    notes: tuple[str, ...] = ()


@dataclass
class BatchReport:
    written: list[Src] = field(default_factory=list)
    failed: list[tuple[Src, str]] = field(default_factory=list)
    notes: list[tuple[Src, str]] = field(default_factory=list)  # (input, note) of written items
    already_done: int = 0  # inputs an earlier run finished, skipped (make/resume.py)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass
class Targets:
    """What one make command reads and writes, decided from INPUT and ``--out`` before any model runs."""

    files: list[Src]
    dest: Callable[[Src], Src]
    shown: str  # where the results go, as the user should read it
    to_stdout: Path | None = None  # the finished file to copy to standard output
    from_stdin: Path | None = None  # the spooled copy of standard input
    out_dir: Src | None = None  # the output folder (None: one file or standard output), which resumes

    def name(self, src: Src) -> str:
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
            "notes": [{"path": self.name(f), "note": note} for f, note in report.notes],
            "already_done": report.already_done,
            "ok": report.ok,
        }


def plan_targets(
    inp: str | Path,
    out: str | Path,
    scratch: Path,
    *,
    stdin: BinaryIO | None = None,
    alpha: bool = False,
    absolute: bool = False,
) -> Targets:
    """Decide the inputs and each one's output path (see :mod:`maskgate.io.targets`).

    ``-`` as INPUT reads one image from ``stdin`` (spooled into ``scratch``); ``-`` as ``--out``
    writes the one result to standard output; an ``--out`` named like an image is that one file;
    anything else is a folder mirroring INPUT's sub-folders. ``alpha``: the verb writes transparency,
    which rules out a JPEG file. Contradictions raise :class:`TargetError` before ``stdin`` is read.
    Either may be an fsspec URI (a file, or a folder: a prefix searched recursively).

    ``absolute``: local paths are made absolute first, for workers that may not share this
    process's working folder (Ray actors, on this node or another)."""
    inp, out = as_src(inp), as_src(out)
    from_stdin, to_stdout = is_stdio(inp), is_stdio(out)
    if absolute:
        inp = inp.absolute() if isinstance(inp, Path) and not from_stdin else inp
        out = out.absolute() if isinstance(out, Path) and not to_stdout else out
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
        if (to_stdout or one_file) and is_folder(inp):
            target = "standard output (--out -)" if to_stdout else f"the one file {out}"
            raise TargetError(
                f"INPUT {inp} is a folder ({len(files)} images) but --out names {target}: "
                "give an output folder, or one image as INPUT"
            )
    spooled = files[0] if from_stdin else None
    clash: dict[Src, str] = {}
    if to_stdout:
        tmp = scratch / "stdout.png"
        return Targets(files, lambda _src: tmp, "standard output", tmp, spooled)
    if one_file:
        targets = Targets(files, lambda _src: out, str(out), from_stdin=spooled)
    else:
        folder = is_folder(inp)
        clash = _clashes(files, lambda src: out_path(src, inp, out, folder=folder))
        targets = Targets(files, _Dest(inp, out, folder, clash), str(out), out_dir=out)
    over = [f for f in files if f != spooled and f not in clash and _same(targets.dest(f), f)]
    if over:
        raise TargetError(
            f"--out {out} would overwrite {len(over)} input image(s), e.g. {over[0]}: give another --out"
        )
    return targets


def _clashes(files: list[Src], dest: Callable[[Src], Src]) -> dict[Src, str]:
    """The inputs whose output another input already has (``shoe.jpg`` and ``shoe.png`` in one
    folder both make ``shoe.png``), each with the reason it is not processed: the first keeps the
    name, the others fail, rather than overwrite a result in silence."""
    first: dict[str, Src] = {}
    clash: dict[Src, str] = {}
    for f in files:
        d = str(dest(f))
        if d in first:
            clash[f] = (
                f"its result {d} is also the result of {first[d]} (same name, another extension): "
                "rename one, or run it on its own"
            )
        else:
            first[d] = f
    return clash


@dataclass(frozen=True)
class _Dest:
    """Each input's output path in a folder run (a plain class, pickled to Ray actors whole)."""

    inp: Src
    out: Src
    folder: bool
    clash: dict[Src, str]

    def __call__(self, src: Src) -> Src:
        if src in self.clash:
            raise TargetError(self.clash[src])
        return out_path(src, self.inp, self.out, folder=self.folder)


def require_models(names: Iterable[str]) -> None:
    """Find every model a batch will load before its first file, so that a missing one is one
    error naming the fix (``MissingModelError``) instead of one failed item per file."""
    for name in names:
        resolve_model(name)


def _same(a: Src, b: Src) -> bool:
    if isinstance(a, Path) and isinstance(b, Path):
        return a.resolve() == b.resolve()
    return str(a) == str(b)


def _named_as_image(name: str) -> bool:
    base = PurePosixPath(name).name
    return suffix(base) in NAMED_AS_IMAGES and not base.startswith(".")


def collect(inp: str | Path) -> list[Src]:
    """The images under ``inp`` (a file, or a folder searched recursively, local or a URI), sorted.

    Anything named as an image is taken, also a format we cannot read or a pipe: ``run_batch``
    fails it with the reason, so the user sees it in the list rather than missing from the output."""
    src = as_src(inp)
    if isinstance(src, str):
        try:
            if uri.is_dir(src):
                return [f for f in uri.find_files(src) if _named_as_image(f[len(src.rstrip("/")) :])]
            if uri.exists(src):
                return [src]
        except uri.UriError as e:
            raise FileNotFoundError(str(e)) from None
        raise FileNotFoundError(f"no such file or folder: {src}")
    p = src
    if p.is_dir():
        return sorted(
            f
            for f in p.rglob("*")
            if not f.is_dir() and f.suffix.lower() in NAMED_AS_IMAGES and not f.name.startswith(".")
        )
    if p.exists() or p.is_symlink():  # a pipe or device too: admit_image says what it is
        return [p]
    raise FileNotFoundError(f"no such file or folder: {p}")


def admit_image(path: Src) -> None:
    """Refuse, from the header alone, a file no verb can process (see ``maskgate.io.images``: not a
    regular file, an unknown format, over the pixel limit, under the minimum size)."""
    why = shape_problem(image_size(path), "process")
    if why:
        raise ImageReadError(why)


def out_path(
    src: Src, root: Src, out_dir: Src, suffix: str = ".png", tag: str = "", *, folder: bool | None = None
) -> Src:
    """Output path keeping the input's sub-folder and stem (``tag`` goes before the suffix); any of
    the three may be a URI. ``folder``: whether ``root`` is a folder, when the caller knows (a URI
    costs a request to ask)."""
    folder = is_folder(root) if folder is None else folder
    if not folder:
        rel: tuple[str, ...] = ()
    elif isinstance(src, Path) and isinstance(root, Path):
        rel = src.relative_to(root).parent.parts
    else:
        rel = PurePosixPath(str(src)[len(str(root).rstrip("/")) :].lstrip("/")).parent.parts
    return uri.join(out_dir, *rel, f"{PurePosixPath(str(src)).stem}{tag}{suffix}")


def _one(
    f: Src, work: Callable[[Src], Src | Made], admit: Callable[[Src], None] | None
) -> tuple[Src | None, str, tuple[str, ...]]:
    """(written path, "", notes) or (None, the reason, ()), for one file; never raises but on Ctrl-C."""
    try:
        if admit is not None:
            admit(f)
        done = work(f)
        if isinstance(done, Made):
            return done.dest, "", done.notes
        return done, "", ()
    except KeyboardInterrupt:
        raise
    except Exception as e:  # noqa: BLE001 - one bad file must not stop the batch
        return None, str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__, ()


def run_batch(
    files: Iterable[Src],
    work: Callable[[Src], Src | Made],
    *,
    on_start: Callable[[Src], None] | None = None,
    on_done: Callable[[Src], None] | None = None,
    admit: Callable[[Src], None] | None = admit_image,
    engine: Engine | None = None,
    on_written: Callable[[Src, Src], None] | None = None,
) -> BatchReport:
    """Apply ``work`` (input -> written path, or a :class:`Made` with notes) to every file;
    failures are recorded, not raised.

    ``on_start`` / ``on_done`` are told of each file (the CLI draws its progress bar with them;
    a library caller passes nothing and gets no output). ``admit`` vets each file first and raises
    with the reason it cannot be processed (None: take every file as it is). With a Ray ``engine``
    the files are spread over its actors (``work`` and ``admit`` are pickled to each; the models
    they load stay loaded in the actor), ``on_done`` is told as results come back, in completion
    order, and ``on_start`` is not called: the driver does not see a file start. ``on_written``
    (input, output) is told in this process, on either engine, once an output is written whole
    (the resume journal's lines, :mod:`maskgate.make.resume`).

    Files on a process-local filesystem (``memory://``) exist only in this process: on Ray an
    input there travels to its actor inside the item, and the result comes back with the answer,
    for this process to write where the local engine would have."""
    report = BatchReport()
    if engine is not None and engine.kind == "ray":
        from maskgate.scale.engine import ray_map

        todo = list(files)
        items = [json.dumps({"src": str(f), "blob": _travelling(f)}) for f in todo]
        for i, res in ray_map(items, _RayMake(work, admit), engine):
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
                dest = as_src(d["dest"]) if d["dest"] else None
                why = d["error"]
                if dest is not None and d["blob"] is not None:
                    try:
                        uri.write_bytes(str(dest), base64.b64decode(d["blob"]))
                    except uri.UriError as e:
                        dest, why = None, str(e)
                _note(report, src, dest, why, tuple(d["notes"]))
                if dest is not None and on_written is not None:
                    on_written(src, dest)
            if on_done is not None:
                on_done(src)
        return report
    for f in files:
        if on_start is not None:
            on_start(f)
        dest, why, notes = _one(f, work, admit)
        _note(report, f, dest, why, notes)
        if dest is not None and on_written is not None:
            on_written(f, dest)
        if on_done is not None:
            on_done(f)
    return report


def _note(report: BatchReport, src: Src, dest: Src | None, why: str, notes: tuple[str, ...] = ()) -> None:
    if dest is not None:
        report.written.append(dest)
        report.notes.extend((src, n) for n in notes)
    else:
        report.failed.append((src, why))


def _travelling(src: Src) -> str | None:
    """An input on a process-local filesystem, base64, to send to its actor; one that cannot be
    read stays behind, and the actor reports the same error the local engine would."""
    if not uri.process_local(src):
        return None
    try:
        return base64.b64encode(uri.read_bytes(str(src))).decode("ascii")
    except uri.UriError:
        return None


@dataclass(frozen=True)
class _RayMake:
    """Pickled to each Ray actor (cloudpickle takes the CLI's closures) and called there once."""

    work: Callable[[Src], Src | Made]
    admit: Callable[[Src], None] | None

    def __call__(self) -> Callable[[list[str]], list[str]]:
        def batch(items: list[str]) -> list[str]:
            out = []
            for s in items:
                d = json.loads(s)
                src = as_src(d["src"])
                if d["blob"] is not None:  # placed in this actor's memory:// under the same name
                    uri.write_bytes(str(src), base64.b64decode(d["blob"]))
                try:
                    dest, why, notes = _one(src, self.work, self.admit)
                finally:
                    if d["blob"] is not None:
                        uri.remove(str(src))
                blob = None
                if dest is not None and uri.process_local(dest):  # sent back for the driver to write
                    blob = base64.b64encode(uri.read_bytes(str(dest))).decode("ascii")
                    uri.remove(str(dest))
                out.append(
                    json.dumps(
                        {
                            "src": d["src"],
                            "dest": str(dest) if dest is not None else None,
                            "error": why,
                            "notes": list(notes),
                            "blob": blob,
                        }
                    )
                )
            return out

        return batch
