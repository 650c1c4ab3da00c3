"""The four make commands on fsspec URIs: INPUT and --out on memory:// (a folder or one file),
the same pixels as the same files on disk, and a URI that cannot be read stopped with its reason."""

from __future__ import annotations

import io

import fsspec
import numpy as np
import pytest
from PIL import Image

from tests.cli.conftest import invoke, one_json, product_photo, save_png
from tests.cli.test_make_streams import VERBS


def _png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("verb", list(VERBS))
def test_memory_uris_in_and_out_give_the_local_files_pixels(verb, tmp_path, request, u2netp):
    fs = fsspec.filesystem("memory")
    root = f"/uri-{verb}-{id(request.node)}"
    photo = product_photo(text="SALE 50%")
    fs.pipe_file(f"{root}/in/sub/a.png", _png(photo))
    fs.pipe_file(f"{root}/in/notes.txt", b"not an image: not listed")
    fs.pipe_file(f"{root}/in/broken.png", b"\x89PNG\r\n\x1a\n cut")
    save_png(tmp_path / "in" / "sub" / "a.png", photo)

    r = invoke(verb, f"memory://{root}/in", "--out", f"memory://{root}/out", *VERBS[verb], "--json")
    assert r.exit_code == 1, r.output  # the broken file is a failed item; the batch goes on
    summary = one_json(r)
    assert summary["written"] == [f"memory://{root}/out/sub/a.png"]
    assert [f["path"] for f in summary["failed"]] == [f"memory://{root}/in/broken.png"]
    assert "cannot decode image broken.png" in summary["failed"][0]["reason"]
    # the one result, beside the resume journal (docs/cli.md#resume-of-the-make-commands)
    assert fs.find(f"{root}/out") == [f"{root}/out/.maskgate-make.jsonl", f"{root}/out/sub/a.png"]

    local = invoke(verb, tmp_path / "in", "--out", tmp_path / "out", *VERBS[verb])
    assert local.exit_code == 0, local.output
    on_disk = (tmp_path / "out" / "sub" / "a.png").read_bytes()
    assert fs.cat(f"{root}/out/sub/a.png") == on_disk  # the same bytes, wherever they were written

    one = invoke(verb, f"memory://{root}/in/sub/a.png", "--out", f"file://{tmp_path}/one.png", *VERBS[verb])
    assert one.exit_code == 0, one.output
    assert (tmp_path / "one.png").read_bytes() == on_disk


@pytest.mark.parametrize(
    "inp, says",
    [
        ("memory://nowhere-at-all/in", "no such file or folder: memory://nowhere-at-all/in"),
        ("nosuchfs://bucket/in", "cannot open nosuchfs://bucket/in"),
    ],
)
def test_a_uri_that_cannot_be_read_stops_before_any_work(tmp_path, inp, says):
    r = invoke("mask", inp, "--out", tmp_path / "out")
    assert r.exit_code == 2 and says in " ".join(r.stderr.split())
    assert not (tmp_path / "out").exists()


def test_isolate_takes_its_background_image_from_a_uri(tmp_path, u2netp):
    """--bg names an input like INPUT does, so it may be a URI too; one that cannot be read stops
    the run with its name before any work."""
    fs = fsspec.filesystem("memory")
    root = f"/uri-bg-{tmp_path.name}"
    bg = np.zeros((64, 64, 3), np.uint8)
    bg[..., 1] = 200  # green
    fs.pipe_file(f"{root}/bg.png", _png(bg))
    save_png(tmp_path / "a.png", product_photo())
    out = tmp_path / "a_out.png"
    r = invoke("isolate", str(tmp_path / "a.png"), "--out", str(out), "--bg", f"memory://{root}/bg.png")
    assert r.exit_code == 0, r.output
    corner = np.asarray(Image.open(out).convert("RGB"))[2, 2]
    assert corner[1] > 150 and corner[0] < 60 and corner[2] < 60  # the URI's green, not white
    r = invoke("isolate", str(tmp_path / "a.png"), "--out", str(out), "--bg", f"memory://{root}/none.png")
    assert r.exit_code == 2 and "none.png" in r.output
