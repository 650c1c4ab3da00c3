"""Where a make command reads its image from and writes its result to: a path, a folder, or ``-``
for the standard streams (``maskgate mask - -``, as ``rembg i - -``).

The verbs only ever see regular files. Standard input is spooled to a temporary file first, so the
header checks of :mod:`maskgate.io.images` (pipes, formats, bombs, sizes) apply to it unchanged. A
result bound for standard output is written to a temporary file and copied out only once it is
complete, so a failed item never leaves half a PNG in the caller's pipe.
"""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from maskgate.io import uri
from maskgate.io.images import IMAGE_EXTS, UNREAD_IMAGE_EXTS, ImageReadError

STDIO = "-"
# What `save_image` writes for a single output file; PNG and WebP keep an alpha channel, JPEG has none.
WRITE_EXTS = (".png", ".webp", ".jpg", ".jpeg")
ALPHA_EXTS = (".png", ".webp")


class TargetError(ValueError):
    """INPUT and --out that contradict each other (a folder into one file, a nameless stdin image
    into a folder); the message says what to give instead."""


def is_stdio(path: str | Path | None) -> bool:
    return path is not None and str(path) == STDIO


def suffix(path: str | Path) -> str:
    """The extension of a local path or a URI, lower-cased (``Path`` would read ``memory://a``
    as ``memory:/a``, which still has the right suffix, but not the right name)."""
    return PurePosixPath(str(path)).suffix.lower()


def is_folder(path: str | Path) -> bool:
    """Whether ``path`` (a local path or an fsspec URI) is an existing folder (a URI prefix with
    objects under it counts as one)."""
    loc = uri.local_path(path)
    if loc is not None:
        return loc.is_dir()
    return uri.is_dir(str(path))


def names_image_file(path: str | Path) -> bool:
    """``--out result.png`` means a file. A folder of that name that already exists stays the folder
    it was, so a run that used to write into ``out.png/`` still does."""
    return suffix(path) in (IMAGE_EXTS | UNREAD_IMAGE_EXTS) and not is_folder(path)


def output_problem(path: str | Path, alpha: bool) -> str | None:
    """Why ``path`` cannot hold the result (checked before any model runs), or None."""
    ext = suffix(path)
    if ext not in WRITE_EXTS:
        return f"--out {path}: cannot write {ext} files; name a {', '.join(WRITE_EXTS)} file or a folder"
    if alpha and ext not in ALPHA_EXTS:
        return (
            f"--out {path}: the result has transparency, which JPEG cannot store; name a .png or .webp file"
        )
    return None


def spool(stream: BinaryIO, dest: Path) -> Path:
    """Copy ``stream`` (standard input) into the regular file ``dest``; an empty stream is refused
    here, with a reason that says where the image was expected."""
    with open(dest, "wb") as f:
        shutil.copyfileobj(stream, f, 1 << 20)
    if dest.stat().st_size == 0:
        raise ImageReadError("no image on standard input (0 bytes read)")
    return dest


def copy_out(src: Path, stream: BinaryIO) -> None:
    """The finished file ``src`` onto ``stream`` (standard output)."""
    with open(src, "rb") as f:
        shutil.copyfileobj(f, stream, 1 << 20)
    stream.flush()
