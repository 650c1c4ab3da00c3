"""Folder-or-file batches: one output per input, a progress bar, and errors collected, not raised.

A batch of 5,000 catalogue images must not stop at the first truncated JPEG: each failure is kept
with its reason and reported at the end, and the exit status says whether any item failed. Nothing
named as an image is skipped in silence either: an .svg or a named pipe is a failed item with its
reason, and every file is vetted from its header (size, format, bombs) before any model sees it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from maskgate.io.images import IMAGE_EXTS, UNREAD_IMAGE_EXTS, ImageReadError, image_size, shape_problem

NAMED_AS_IMAGES = IMAGE_EXTS | UNREAD_IMAGE_EXTS


@dataclass
class BatchReport:
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


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


def run_batch(
    files: Iterable[Path],
    work: Callable[[Path], Path],
    *,
    on_start: Callable[[Path], None] | None = None,
    on_done: Callable[[Path], None] | None = None,
    admit: Callable[[Path], None] | None = admit_image,
) -> BatchReport:
    """Apply ``work`` (input path -> written path) to every file; failures are recorded, not raised.

    ``on_start`` / ``on_done`` are told of each file (the CLI draws its progress bar with them;
    a library caller passes nothing and gets no output). ``admit`` vets each file first and raises
    with the reason it cannot be processed (None: take every file as it is)."""
    report = BatchReport()
    for f in files:
        if on_start is not None:
            on_start(f)
        try:
            if admit is not None:
                admit(f)
            report.written.append(work(f))
        except KeyboardInterrupt:
            raise
        except Exception as e:  # noqa: BLE001 - one bad file must not stop the batch
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            report.failed.append((f, msg))
        if on_done is not None:
            on_done(f)
    return report
