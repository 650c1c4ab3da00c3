"""Images and manifests behind fsspec URIs read as local files do, with a size cap on the bytes."""

from __future__ import annotations

import json

import cv2
import fsspec
import numpy as np
import pytest

from maskgate.io import uri
from maskgate.io.images import ImageReadError, image_size, load_image, save_image
from maskgate.io.manifest import read_manifest


def _drawn(seed: int, shape=(48, 72)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (*shape, 3), dtype=np.uint8)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp"])
def test_an_image_on_memory_decodes_as_the_same_file_on_disk(tmp_path, suffix, request):
    rgb = _drawn(1)
    local = tmp_path / f"a{suffix}"
    remote = f"memory://img-{request.node.originalname}-{id(request.node)}/a{suffix}"
    save_image(local, rgb)
    save_image(remote, rgb)
    assert fsspec.filesystem("memory").cat(remote.removeprefix("memory://")) == local.read_bytes()
    a, b = load_image(local, max_side=40), load_image(remote, max_side=40)
    assert np.array_equal(a.rgb, b.rgb) and a.source_size == b.source_size == (72, 48)
    assert b.path == remote and image_size(remote) == (72, 48)
    assert np.array_equal(load_image(f"file://{local}").rgb, load_image(local).rgb)


def test_a_uri_is_refused_with_its_reason(monkeypatch, request):
    base = f"memory://bad-{request.node.originalname}-{id(request.node)}"
    with pytest.raises(ImageReadError, match="file not found: memory://"):
        load_image(f"{base}/missing.png")
    fs = fsspec.filesystem("memory")
    fs.pipe_file(f"/bad-{request.node.originalname}-{id(request.node)}/empty.png", b"")
    with pytest.raises(ImageReadError, match="empty file"):
        load_image(f"{base}/empty.png")
    fs.pipe_file(f"/bad-{request.node.originalname}-{id(request.node)}/junk.png", b"\x89PNG not really")
    with pytest.raises(ImageReadError, match="cannot decode image junk.png"):
        load_image(f"{base}/junk.png")
    save_image(f"{base}/big.png", _drawn(2, (64, 64)))
    size = fs.size(f"/bad-{request.node.originalname}-{id(request.node)}/big.png")
    monkeypatch.setattr(uri, "MAX_READ_BYTES", size - 1)
    with pytest.raises(ImageReadError, match="too large to read"):
        load_image(f"{base}/big.png")
    with pytest.raises(ImageReadError, match="cannot open nosuchfs://"):
        load_image("nosuchfs://x/y.png")


def test_a_bomb_on_a_uri_is_refused_from_its_header(request):
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0))
    png = b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")
    fsspec.filesystem("memory").pipe_file(f"/bomb-{request.node.originalname}-{id(request.node)}/b.png", png)
    with pytest.raises(ImageReadError, match="refused before decoding"):
        load_image(f"memory://bomb-{request.node.originalname}-{id(request.node)}/b.png")


def test_a_manifest_on_memory_resolves_its_relative_paths_beside_it(tmp_path, request):
    root = f"/man-{request.node.originalname}-{id(request.node)}"
    fs = fsspec.filesystem("memory")
    lines = [
        {"id": "rel", "original": "o.png", "edited": "sub/e.png"},
        {"id": "abs", "original": f"file://{tmp_path}/o.png", "edited": "s3://bucket/e.png"},
        {"id": "bad", "original": "o.png"},
    ]
    fs.pipe_file(f"{root}/m.jsonl", "\n".join(json.dumps(x) for x in lines).encode())
    got = {p.id: p for p in read_manifest(f"memory://{root}/m.jsonl")}
    assert (got["rel"].original, got["rel"].edited) == (
        f"memory://{root}/o.png",
        f"memory://{root}/sub/e.png",
    )
    assert (got["abs"].original, got["abs"].edited) == (f"file://{tmp_path}/o.png", "s3://bucket/e.png")
    assert got["bad"].error and "needs 'original' and 'edited'" in got["bad"].error
    fs.pipe_file(f"{root}/m.csv", b"id,original,edited\nc1,o.png,e.png\n")
    (spec,) = read_manifest(f"memory://{root}/m.csv")
    assert (spec.id, spec.edited) == ("c1", f"memory://{root}/e.png")
    with pytest.raises(ValueError, match="manifest: file not found"):
        read_manifest(f"memory://{root}/nope.jsonl")


def test_a_local_path_keeps_the_regular_file_guards(tmp_path):
    import os

    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    for p in (fifo, f"file://{fifo}"):
        with pytest.raises(ImageReadError, match="not a regular file"):
            load_image(p)
    cv2.imwrite(str(tmp_path / "ok.png"), _drawn(3))
    assert load_image(f"file://{tmp_path}/ok.png").size == (72, 48)
