"""Label Studio's brush RLE: the bit-packed run-length code (thi-ng rle-pack) its brush tool stores
masks in, over the RGBA pixels of the image.

Hand-written because the only Python implementation, ``label_studio_sdk.converter.brush``, comes
with the whole SDK (pydantic, nltk, lxml, a code generator, ...) and builds its bits one Python
string per run. This one packs the bits with NumPy; ``encode`` writes the same bytes as the SDK's
``mask2rle`` (tests/export compare them byte for byte), and ``decode`` reads any header, so it also
reads what Label Studio's own front end writes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_SIZES = (3, 4, 8, 16)  # run-length field widths the SDK writes (its header says so)
_LONGEST = 2**16  # the longest run one 16-bit field holds


class BrushError(ValueError):
    """A brush RLE that cannot be a mask of the stated size (the message says why)."""


def encode(mask: np.ndarray) -> list[int]:
    """HxW mask (nonzero = painted) -> Label Studio brush RLE (a list of byte values).

    Every RGBA channel of a painted pixel is 255, as ``mask2rle`` on a 0/255 mask writes it."""
    m = np.asarray(mask)
    if m.ndim != 2:
        raise BrushError(f"a brush mask is 2-D, got shape {m.shape}")
    flat = (m.ravel() > 0).astype(np.uint8) * np.uint8(255)
    num = flat.size * 4
    if num >= 2**32:
        raise BrushError(f"mask too large for brush RLE: {m.shape[1]}x{m.shape[0]}")
    fields: list[tuple[np.ndarray, np.ndarray]] = []  # (values, widths), in stream order
    if flat.size:
        starts = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1]])
        lengths = np.diff(np.r_[starts, flat.size]).astype(np.int64) * 4  # 4 channels per pixel
        values = flat[starts].astype(np.int64)
        fields = _run_fields(lengths, values)
    head_v = np.array([num, 7] + [s - 1 for s in _SIZES], np.int64)
    head_w = np.array([32, 5, 4, 4, 4, 4], np.int64)
    vals = np.concatenate([head_v, *(f[0] for f in fields)]) if fields else head_v
    widths = np.concatenate([head_w, *(f[1] for f in fields)]) if fields else head_w
    bits = _to_bits(vals, widths)
    # the SDK always pads with 8 - len % 8 zero bits (a whole byte when already aligned)
    bits = np.concatenate([bits, np.zeros(8 - bits.size % 8, np.uint8)])
    return np.packbits(bits).tolist()


def _run_fields(lengths: np.ndarray, values: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The fields of each run, as the SDK's encoder picks them: a series flag, the size index, the
    length minus one in 3, 4, 8 or 16 bits, then the 8-bit value; runs over 2**16 are split into
    2**16-long pieces with a remainder."""
    # runs of length 1 cannot occur (each pixel is 4 equal channels), so every run is a series
    pieces = np.maximum(1, -(-lengths // _LONGEST))  # ceil; the last piece holds the remainder
    long = lengths > 256
    n_full = np.where(long, pieces - 1, 0)
    rem = np.where(long, lengths - n_full * _LONGEST, lengths)
    # the SDK's loop is `while rem > 2**16`, so a multiple of 2**16 ends on a full piece
    idx = np.select([rem <= 8, rem <= 16, rem <= 256], [0, 1, 2], 3)
    idx = np.where(long, 3, idx)
    width = np.array(_SIZES, np.int64)[idx]
    # one token per piece: flag(1) + index(2) + length(width) + value(8), as one integer
    rep = n_full + 1
    run_of_token = np.repeat(np.arange(lengths.size), rep)
    first_token = np.cumsum(rep) - rep
    is_last = np.zeros(run_of_token.size, bool)
    is_last[first_token + rep - 1] = True
    t_idx = np.where(is_last, idx[run_of_token], 3)
    t_w = np.where(is_last, width[run_of_token], 16)
    t_len = np.where(is_last, rem[run_of_token], _LONGEST) - 1
    t_val = values[run_of_token]
    token = (((1 << 2 | t_idx) << t_w | t_len) << 8) | t_val
    return [(token, 1 + 2 + t_w + 8)]


def _to_bits(vals: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """Each value in its width of bits, most significant first, concatenated."""
    top = int(widths.max())
    shifts = np.arange(top - 1, -1, -1, dtype=np.int64)  # bit k of a top-wide field
    bits = (vals[:, None] >> shifts[None, :]) & 1
    keep = shifts[None, :] < widths[:, None]  # right-aligned: drop the leading unused positions
    return bits[keep].astype(np.uint8)


def decode(rle: Sequence[int] | bytes, height: int, width: int) -> np.ndarray:
    """Label Studio brush RLE -> HxW bool mask (alpha over 127), for any word and run-length
    sizes in the header."""
    try:
        raw = np.frombuffer(bytes(rle), np.uint8)
    except (TypeError, ValueError) as e:
        raise BrushError(f"brush RLE is not a list of byte values ({e})") from e
    if raw.size < 6:
        raise BrushError(f"brush RLE too short ({raw.size} bytes)")
    s = (np.unpackbits(raw) + ord("0")).tobytes().decode("ascii")
    total = len(s)
    pos = 0

    def read(n: int) -> int:
        nonlocal pos
        if pos + n > total:
            raise BrushError("brush RLE ends in the middle of a run")
        v = int(s[pos : pos + n], 2) if n else 0
        pos += n
        return v

    num = read(32)
    if num != height * width * 4:
        raise BrushError(
            f"brush RLE holds {num} values, not {height}x{width}x4 = {height * width * 4} "
            "(original_width/original_height do not match the mask)"
        )
    word = read(5) + 1
    sizes = [read(4) + 1 for _ in range(4)]
    vals: list[int] = []
    lens: list[int] = []
    i = 0
    while i < num:
        series = read(1)
        n = 1 + read(sizes[read(2)])
        n = min(n, num - i)
        if series:
            vals.append(read(word))
            lens.append(n)
        else:
            vals.extend(read(word) for _ in range(n))
            lens.extend([1] * n)
        i += n
    dtype = np.uint8 if word <= 8 else np.uint16 if word <= 16 else np.uint32
    flat = np.repeat(np.array(vals, dtype), np.array(lens, np.int64))
    return flat.reshape(height, width, 4)[..., 3] > 127
