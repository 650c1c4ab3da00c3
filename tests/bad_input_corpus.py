"""Hostile and odd image files, built byte by byte by the tests that need them (nothing is checked
in): decompression bombs with full and empty payloads, a FIFO, truncated and empty files,
animations, CMYK, 16-bit, and images too small or too thin to process.

The bombs are cheap to write and dear to decode: a PNG whose IHDR claims 40000x40000 (4.8 GB as
RGB), and a JPEG whose SOF0 claims 60000x60000 (10.8 GB), each with a token payload ("empty") or
with an entropy-coded stream that really covers every pixel ("full").
"""

from __future__ import annotations

import io
import os
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

BOMB_PNG_SIDE = 40000
BOMB_JPEG_SIDE = 60000
FULL_JPEG_SIDE = 40000  # a full scan at 60000 px would be 42 MB on disk; 40000 px is 19 MB


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(w: int, h: int, depth: int, colour: int, idat: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def png_bomb_empty(path: Path, side: int = BOMB_PNG_SIDE) -> Path:
    """A valid IHDR for side x side RGB and an IDAT of a few bytes."""
    path.write_bytes(_png(side, side, 8, 2, zlib.compress(b"\x00" * 64)))
    return path


def png_bomb_full(path: Path, side: int = BOMB_PNG_SIDE) -> Path:
    """Every row present (8-bit RGB, all zero), 4.7 MB at 40000 px: decoding it really yields
    side x side x 3 bytes. Built without compressing 4.8 GB: after a full flush deflate starts
    afresh, so a chunk of zero rows compresses to the same bytes every time and the stream is that
    block repeated, closed with the adler32 of n zero bytes, which is ``(n % 65521) << 16 | 1``."""
    row = 1 + 3 * side  # filter byte + RGB
    k = next(d for d in range(min(side, 100), 0, -1) if side % d == 0)  # rows per chunk
    z = zlib.compressobj(9)
    first = z.compress(b"\x00" * (row * k)) + z.flush(zlib.Z_FULL_FLUSH)
    again = z.compress(b"\x00" * (row * k)) + z.flush(zlib.Z_FULL_FLUSH)
    assert first[2:] == again  # the zlib header, then the chunk's block
    n = row * side
    close = z.flush()[:-4] + struct.pack(">I", (n % 65521) << 16 | 1)
    path.write_bytes(_png(side, side, 8, 2, first + again * (side // k - 1) + close))
    return path


def _sof_at(data: bytes) -> int:
    i = data.find(b"\xff\xc0")
    assert i >= 0, "a baseline JPEG has an SOF0 marker"
    return i


def patch_jpeg_size(data: bytes, w: int, h: int) -> bytes:
    """The same JPEG with SOF0 claiming another size (height, then width, after the precision byte)."""
    i = _sof_at(data)
    return data[: i + 5] + struct.pack(">HH", h, w) + data[i + 9 :]


def jpeg_bomb_empty(path: Path, side: int = BOMB_JPEG_SIDE) -> Path:
    """A 64x64 JPEG whose header says side x side: the payload covers almost nothing."""
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), np.uint8)).save(buf, "JPEG", quality=80)
    path.write_bytes(patch_jpeg_size(buf.getvalue(), side, side))
    return path


def flat_grey_jpeg(side: int) -> bytes:
    """A greyscale baseline JPEG of side x side (a multiple of 32) whose scan codes every 8x8 block:
    with the standard Huffman tables a block of grey 128 is DC category 0 ("00") then EOB ("1010"),
    so four blocks are exactly the three bytes 28 a2 8a (no 0xff, nothing to stuff)."""
    assert side % 32 == 0
    buf = io.BytesIO()
    Image.new("L", (8, 8), 128).save(buf, "JPEG", quality=75)
    data = buf.getvalue()
    sos = data.find(b"\xff\xda")
    head_end = sos + 2 + struct.unpack(">H", data[sos + 2 : sos + 4])[0]
    blocks = (side // 8) ** 2
    scan = b"\x28\xa2\x8a" * (blocks // 4)
    return patch_jpeg_size(data[:head_end], side, side) + scan + b"\xff\xd9"


def jpeg_bomb_full(path: Path, side: int = FULL_JPEG_SIDE) -> Path:
    path.write_bytes(flat_grey_jpeg(side))
    return path


def bombs(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "png_empty": png_bomb_empty(folder / "bomb_png_empty.png"),
        "png_full": png_bomb_full(folder / "bomb_png_full.png"),
        "jpeg_empty": jpeg_bomb_empty(folder / "bomb_jpeg_empty.jpg"),
        "jpeg_full": jpeg_bomb_full(folder / "bomb_jpeg_full.jpg"),
    }


def textured(w: int, h: int, seed: int = 0) -> np.ndarray:
    """A smooth scene with a darker blob in the middle: something a segmenter can work on."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = 150 + 40 * np.sin(xx / max(w, 1) * 6) + 30 * np.cos(yy / max(h, 1) * 5)
    blob = ((xx - w / 2) / max(w / 4, 1)) ** 2 + ((yy - h / 2) / max(h / 4, 1)) ** 2 < 1
    rgb = np.stack([base, base * 0.9, base * 0.8], -1)
    rgb[blob] = (60, 90, 160)
    rgb += rng.normal(0, 4, rgb.shape)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def save(path: Path, rgb: np.ndarray, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path, **kw)
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def truncated(path: Path, w: int = 200, h: int = 150) -> Path:
    """The first half of a valid file of ``path``'s format."""
    buf = io.BytesIO()
    fmt = "PNG" if path.suffix == ".png" else "JPEG"
    Image.fromarray(textured(w, h)).save(buf, fmt)
    data = buf.getvalue()
    path.write_bytes(data[: len(data) // 2])
    return path


def animated(path: Path, frames: int = 3, side: int = 64) -> Path:
    """Frame i is flat (40 * i + 40, 0, 0): the first frame is red 40."""
    ims = [Image.new("RGB", (side, side), (40 * i + 40, 0, 0)) for i in range(frames)]
    ims[0].save(path, save_all=True, append_images=ims[1:], duration=100, loop=0, lossless=True)
    return path


def cmyk_jpeg(path: Path, rgb: np.ndarray) -> Path:
    Image.fromarray(rgb).convert("CMYK").save(path, "JPEG", quality=95)
    return path


def png16(path: Path, grey16: np.ndarray) -> Path:
    Image.fromarray(grey16.astype(np.uint16)).save(path)  # mode I;16
    return path


_MEASURED = """
import resource, subprocess, sys
cap = int(float(sys.argv[1]) * 2**30)
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
r = subprocess.run(sys.argv[2:])
print(f"PEAK_RSS_MB {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f}", file=sys.stderr)
sys.exit(r.returncode)
"""


def child_env() -> dict[str, str]:
    """The environment for a child Python that must import this maskgate (not another checkout's),
    with a wide terminal so rich does not wrap the lines a test reads."""
    import maskgate

    src = str(Path(maskgate.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "COLUMNS": "1000"}


def run_measured(
    args: list[str], *, cap_gb: float = 6.0, timeout: float = 300, cwd: Path | None = None
) -> tuple[subprocess.CompletedProcess, float]:
    """Run ``args`` as a child of a fresh wrapper process and return it with its peak RSS in MB
    (``RUSAGE_CHILDREN`` of the wrapper: that child alone, whatever this test process ran before).

    The wrapper caps the address space at ``cap_gb``, so a regression that decodes a bomb fails
    with MemoryError instead of taking 14 GB from a shared machine."""
    r = subprocess.run(
        [sys.executable, "-c", _MEASURED, str(cap_gb), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(),
        cwd=cwd,
    )
    m = re.search(r"PEAK_RSS_MB (\d+)", r.stderr)
    assert m, r.stderr[-2000:]
    return r, float(m.group(1))


def maskgate_cmd(*args: object) -> list[str]:
    return [sys.executable, "-m", "maskgate", *(str(a) for a in args)]
