"""Folder-or-file batches: one output per input, a progress bar, and errors collected, not raised.

A batch of 5,000 catalogue images must not stop at the first truncated JPEG: each failure is kept
with its reason and reported at the end, and the exit status says whether any item failed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}


@dataclass
class BatchReport:
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def collect(inp: str | Path) -> list[Path]:
    """The images under ``inp`` (a file, or a folder searched recursively), sorted."""
    p = Path(inp)
    if p.is_file():
        return [p]
    if p.is_dir():
        return sorted(
            f
            for f in p.rglob("*")
            if f.is_file() and f.suffix.lower() in IMAGE_EXTS and not f.name.startswith(".")
        )
    raise FileNotFoundError(f"no such file or folder: {p}")


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
) -> BatchReport:
    """Apply ``work`` (input path -> written path) to every file; failures are recorded, not raised.

    ``on_start`` / ``on_done`` are told of each file (the CLI draws its progress bar with them;
    a library caller passes nothing and gets no output)."""
    report = BatchReport()
    for f in files:
        if on_start is not None:
            on_start(f)
        try:
            report.written.append(work(f))
        except KeyboardInterrupt:
            raise
        except Exception as e:  # noqa: BLE001 - one bad file must not stop the batch
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            report.failed.append((f, msg))
        if on_done is not None:
            on_done(f)
    return report
