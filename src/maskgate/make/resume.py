"""Resume for the make commands: a killed batch over 10,000 photos picks up where it stopped.

A folder ``--out`` holds a journal, ``.maskgate-make.jsonl``: a header line (the journal's format),
then one line per finished input: the input, its output relative to ``--out``, the output's size
in bytes, the command and the options that change what it writes. The line is appended, and
flushed, by the one process that drives the run (the local loop, or the Ray driver as results
come back), and only after the output is on disk whole (:func:`maskgate.io.images.save_image`
renames it into place, or puts it as one object).

An input is done when its latest line is there, with this run's command and options, and its
output is there with that size. So:

- a half-written output cannot exist under a result's name (atomic writes), and a file of any
  other size (truncated or replaced since) is redone, as is an output without a line (one a kill
  caught between the rename and the journal line, or one from before the journal existed);
- a torn last journal line (the kill caught it mid-write) is dropped, and its input redone;
- an input whose result there was made with other options is refused (:class:`ResumeError`,
  naming the options and the fix) rather than skipped or silently remade; ``overwrite`` redoes
  every input of the run. Other inputs' results in the same folder, whatever their options, are
  left alone (one folder may hold a soft matte of one image and a hard mask of another);
- an output whose latest line names another input (two INPUT folders with a ``shoe.jpg`` each,
  into one ``--out``) is made again for this run's input;
- failed inputs have no line, so a rerun tries them again.

A local ``--out`` is locked for the run (a second make command on it is refused), since two
drivers appending to one journal would each take the other's half-written outputs for leftovers.

This is the make commands' counterpart of ``check``'s resume from the ids in ``results.jsonl``,
hand-written because no library keeps a "done" journal over fsspec paths. A single-file or
standard-output ``--out`` has no journal: it is one image, made again on each run (and still
written atomically).
"""

from __future__ import annotations

import json
import re
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maskgate import __version__
from maskgate.io import uri
from maskgate.io.lock import exclusive
from maskgate.io.store import can_append
from maskgate.io.targets import TargetError
from maskgate.make.batch import Src, Targets

JOURNAL = ".maskgate-make.jsonl"
LOCK = ".maskgate-make.lock"
FORMAT = 1
_HEADER = json.dumps({"maskgate_make": FORMAT, "maskgate": __version__})

# A remote journal on an object store, which cannot append, is rewritten whole this often (a kill
# loses at most these lines, whose inputs are redone).
REWRITE_EVERY = 64
REWRITE_SECONDS = 30.0

_LEFTOVER = re.compile(rf"^\..+{re.escape(uri.TMP_MARK)}[0-9a-f]{{12}}$")


class ResumeError(ValueError):
    """A ``--out`` whose earlier results cannot be resumed as asked (the message says what to do)."""


def _key(src: Src) -> str:
    """An input as the journal names it: absolute, so the local engine (paths as given) and the Ray
    engine (absolute paths) agree on it."""
    return str(src.absolute()) if isinstance(src, Path) else str(src)


def _rel(dest: Src, out_dir: Src) -> str:
    if isinstance(dest, Path) and isinstance(out_dir, Path):
        return dest.relative_to(out_dir).as_posix()
    return str(dest)[len(str(out_dir).rstrip("/")) :].lstrip("/")


def _normal(settings: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(settings, sort_keys=True))  # tuples as lists, as read back


@dataclass
class Resume:
    """What this run does (``todo``) and skips (``already_done``), and the journal it adds to."""

    todo: list[Src]
    already_done: int = 0
    _journal: _Journal | None = None

    def add(self, src: Src, dest: Src) -> None:
        """Journal ``src`` as done: called once its output ``dest`` is written whole."""
        if self._journal is not None:
            self._journal.add(src, dest)

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None


def resume(targets: Targets, command: str, settings: dict[str, Any], *, overwrite: bool = False) -> Resume:
    """Open ``targets``' journal and leave out the inputs already done (see module doc).

    ``settings``: the options that change what ``command`` writes, by their CLI names. An input of
    this run whose result there was made with other ones raises :class:`ResumeError`, unless
    ``overwrite`` (redo every input). The caller must ``close()`` the result; a local ``--out`` is
    locked against a second run until then."""
    if targets.out_dir is None:  # one file or standard output: one image, always made
        return Resume(list(targets.files))
    keys = {f: k for f in targets.files if (k := _entry_key(targets, f)) is not None}
    journal = _Journal(targets.out_dir, command, _normal(settings))
    try:
        done = journal.open(set(keys.values()), overwrite)
    except BaseException:
        journal.close()
        raise
    todo = [f for f in targets.files if keys.get(f) not in done]
    return Resume(todo, len(targets.files) - len(todo), journal)


def _entry_key(targets: Targets, src: Src) -> tuple[str, str] | None:
    assert targets.out_dir is not None
    try:
        dest = targets.dest(src)
    except TargetError:  # an input whose result another one has: it fails again, with its reason
        return None
    return _key(src), _rel(dest, targets.out_dir)


@dataclass
class _Journal:
    out_dir: Src
    command: str
    settings: dict[str, Any]
    _lines: list[str] = field(default_factory=list)  # a non-appending store's whole journal
    _fh: Any = None
    _lock: Any = None
    _pending: int = 0
    _since: float = 0.0

    @property
    def location(self) -> Src:
        return uri.join(self.out_dir, JOURNAL)

    def open(self, wanted: set[tuple[str, str]], overwrite: bool) -> set[tuple[str, str]]:
        """Of this run's (input, output) pairs, ``wanted``, those done; first refuses the ones whose
        result was made with other options. The journal is then rewritten whole with the lines
        that still hold (the latest line of each output, there with its size), less those this run
        makes again, so later appends never follow a torn line."""
        local = uri.local_path(self.out_dir)
        if local is not None:
            local.mkdir(parents=True, exist_ok=True)
            self._lock = _exclusive(local)
            self._lock.__enter__()
            _remove_leftovers(local)
        latest: dict[str, tuple[str, dict[str, Any]]] = {}  # by output: a file holds one result
        for line, e in self._read():
            latest[e["output"]] = (line, e)
        sizes = self._sizes() if latest else None  # a URI folder is listed only when there is a journal
        ours = {out for _, out in wanted}
        keep: list[str] = []
        done: set[tuple[str, str]] = set()
        other: list[dict[str, Any]] = []
        for output, (line, e) in latest.items():
            if sizes is None or sizes(uri.join(self.out_dir, *output.split("/"))) != e["bytes"]:
                continue  # gone, truncated or replaced since: not a result, made again if asked
            key = (e["input"], output)
            if key in wanted:
                if overwrite:
                    continue
                if e["command"] == self.command and e["settings"] == self.settings:
                    done.add(key)
                else:
                    other.append(e)
            elif output in ours:  # another input's result under this run's output name: made again
                continue
            keep.append(line)
        if other:
            raise ResumeError(self._refusal(other))
        self._lines = [_HEADER, *keep]
        self._write_whole()
        return done

    def _refusal(self, other: list[dict[str, Any]]) -> str:
        e, n, out = other[0], len(other), str(self.out_dir)
        if e["command"] != self.command:
            how = f"`maskgate {e['command']}`, not `maskgate {self.command}`"
        else:
            was = e["settings"]
            diff = [
                f"{k} {json.dumps(was.get(k))} (this run: {json.dumps(self.settings.get(k))})"
                for k in sorted(set(was) | set(self.settings))
                if was.get(k) != self.settings.get(k)
            ]
            how = f"`maskgate {self.command}` with {', '.join(diff)}"
        return (
            f"--out {out} holds the results of {n} of these inputs made by {how} (e.g. {e['output']}); "
            "resuming would mix the two. Rerun with the earlier options to resume, give another --out, "
            "or add --overwrite to redo them with this run's options"
        )

    def _read(self) -> list[tuple[str, dict[str, Any]]]:
        """The journal's whole entry lines, parsed ([] when there is none, or no header of this
        format: then nothing is taken as done, and every input is made again with this run's
        options, which leaves the folder consistent). One that cannot be read raises."""
        loc = uri.local_path(self.location)
        try:
            if loc is not None:
                data = loc.read_bytes() if loc.exists() else b""
            else:
                data = (
                    uri.read_bytes(str(self.location), cap=1 << 62) if uri.exists(str(self.location)) else b""
                )
        except (OSError, uri.UriError) as e:  # there but unreadable: say so, rather than redo it all
            raise ResumeError(f"cannot read {self.location}, the journal a rerun resumes from: {e}") from None
        lines = data.decode("utf-8", "replace").split("\n")
        try:
            head = json.loads(lines[0])
        except ValueError:
            return []
        if not isinstance(head, dict) or head.get("maskgate_make") != FORMAT:
            return []
        good = []
        for line in lines[1:]:  # a torn last line (or a hand-edited one) is not an entry
            try:
                e = json.loads(line)
                if (
                    isinstance(e["input"], str)
                    and isinstance(e["output"], str)
                    and isinstance(e["bytes"], int)
                    and isinstance(e["command"], str)
                    and isinstance(e["settings"], dict)
                ):
                    good.append((line, e))
            except (ValueError, KeyError, TypeError):
                continue
        return good

    def _sizes(self):
        """A function from an output to its size in bytes (None when it is missing): one listing
        for a URI folder rather than a request per file."""
        if uri.local_path(self.out_dir) is not None:

            def local_size(dest: Src) -> int | None:
                p = uri.local_path(dest)
                try:
                    return p.stat().st_size if p is not None and p.is_file() else None
                except OSError:
                    return None

            return local_size
        fs, base = uri.filesystem(str(self.out_dir))
        try:
            found = fs.find(base.rstrip("/"), detail=True) if fs.exists(base) else {}
        except Exception as e:  # noqa: BLE001 - each backend raises its own types (permissions, network)
            raise ResumeError(f"cannot list {self.out_dir} to resume: {type(e).__name__}: {e}") from None
        sizes = {p: info.get("size") for p, info in found.items()}  # fsspec's paths, as url_to_fs gives them

        def remote_size(dest: Src) -> int | None:
            return sizes.get(uri.filesystem(str(dest))[1])

        return remote_size

    def add(self, src: Src, dest: Src) -> None:
        try:
            size = _size(dest)
        except (OSError, uri.UriError):  # not visible from here (another node's disk?): made again next time
            return
        line = json.dumps(
            {
                "input": _key(src),
                "output": _rel(dest, self.out_dir),
                "bytes": size,
                "command": self.command,
                "settings": self.settings,
            },
            sort_keys=True,
        )
        loc = uri.local_path(self.location)
        if loc is not None:
            if self._fh is None:
                self._fh = loc.open("ab")
            self._fh.write((line + "\n").encode("utf-8"))
            self._fh.flush()
            return
        fs, p = uri.filesystem(str(self.location))
        if can_append(fs):
            with fs.open(p, "ab") as f:
                f.write((line + "\n").encode("utf-8"))
            return
        self._lines.append(line)
        self._pending += 1
        if self._pending >= REWRITE_EVERY or time.monotonic() - self._since >= REWRITE_SECONDS:
            self._write_whole()

    def _write_whole(self) -> None:
        data = ("\n".join(self._lines) + "\n").encode("utf-8")
        loc = uri.local_path(self.location)
        if loc is not None:
            with uri.atomic_local(loc) as tmp:
                tmp.write_bytes(data)
        else:
            uri.write_bytes(str(self.location), data)
        self._pending, self._since = 0, time.monotonic()

    def close(self) -> None:
        try:
            if self._fh is not None:
                self._fh.close()
                self._fh = None
            elif self._pending:
                self._write_whole()
        finally:
            if self._lock is not None:
                self._lock.__exit__(None, None, None)
                self._lock = None


def _size(dest: Src) -> int:
    loc = uri.local_path(dest)
    if loc is not None:
        return loc.stat().st_size
    fs, p = uri.filesystem(str(dest))
    try:
        return int(fs.info(p)["size"])
    except Exception as e:  # noqa: BLE001 - as above
        raise uri.UriError(f"cannot read the size of {dest}: {e}") from None


def _remove_leftovers(out_dir: Path) -> None:
    """Delete the hidden temporary files that killed runs left in ``out_dir`` (only names
    :func:`maskgate.io.uri.atomic_local` makes; the lock says no run is writing them now)."""
    for p in out_dir.rglob(f".*{uri.TMP_MARK}*"):
        if _LEFTOVER.match(p.name) and p.is_file():
            p.unlink(missing_ok=True)


def _exclusive(out_dir: Path) -> AbstractContextManager[None]:
    """Hold a lock on ``out_dir`` for the run, as ``check`` does (``io.lock``)."""
    return exclusive(
        out_dir / LOCK,
        lambda: ResumeError(
            f"another maskgate make command is writing to {out_dir}; wait for it or use another --out"
        ),
    )
