"""The engine choice without a Ray cluster: settings checked, Ray missing said plainly, the local
engine's records the same whether the files are on disk or on memory://."""

from __future__ import annotations

import json
import sys

import cv2
import fsspec
import numpy as np
import pytest

from maskgate.check.runner import run_check
from maskgate.scale.engine import Engine, EngineError, require_ray
from tests.check.standin import stand_in


def test_ray_missing_is_a_clear_error_with_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(EngineError, match=r"pip install 'maskgate\[ray\]'"):
        require_ray()


@pytest.mark.parametrize(
    "kw", [{"kind": "spark"}, {"workers": 0}, {"batch_size": 0}, {"cpus": 0}, {"gpus": -1}]
)
def test_impossible_engine_settings_are_refused(kw):
    with pytest.raises(EngineError):
        Engine(**kw)


def test_threads_follow_the_cpus_a_worker_reserves():
    assert [Engine("ray", cpus=c).threads for c in (0.5, 1, 2.7, 4)] == [1, 1, 2, 4]


def _pairs(n: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        (rng.integers(0, 255, (40, 40, 3), np.uint8), rng.integers(0, 255, (40, 40, 3), np.uint8))
        for _ in range(n)
    ]


def _strip(rec: dict) -> dict:
    rec = json.loads(json.dumps(rec))
    rec.pop("original"), rec.pop("edited")
    rec["criteria"]["residue"]["evidence"].pop("pid")
    return rec


def test_the_local_engine_reads_and_writes_memory_uris_as_it_does_files(tmp_path, request):
    root = f"/local-{id(request.node)}"
    fs = fsspec.filesystem("memory")
    lines = []
    for i, (o, e) in enumerate(_pairs(4)):
        for name, im in ((f"o{i}.png", o), (f"e{i}.png", e)):
            ok, buf = cv2.imencode(".png", im)
            fs.pipe_file(f"{root}/{name}", buf.tobytes())
            (tmp_path / name).write_bytes(buf.tobytes())
        lines.append(json.dumps({"id": f"p{i}", "original": f"o{i}.png", "edited": f"e{i}.png"}))
    lines.append(json.dumps({"id": "gone", "original": "o0.png", "edited": "nope.png"}))
    text = "\n".join(lines) + "\n"
    fs.pipe_file(f"{root}/m.jsonl", text.encode())
    (tmp_path / "m.jsonl").write_text(text)

    on_disk = run_check(tmp_path / "m.jsonl", tmp_path / "out", progress=False, checker_factory=stand_in)
    in_memory = run_check(
        f"memory://{root}/m.jsonl", f"memory://{root}/out", progress=False, checker_factory=stand_in
    )
    assert on_disk.counts == in_memory.counts and in_memory.failed == 1
    a = {r["id"]: r for r in map(json.loads, (tmp_path / "out" / "results.jsonl").read_text().splitlines())}
    b = {r["id"]: r for r in map(json.loads, fs.cat(f"{root}/out/results.jsonl").decode().splitlines())}
    assert b["p0"]["original"] == f"memory://{root}/o0.png"
    assert "file not found: memory://" in b["gone"]["error"]
    assert {k: _strip(v) for k, v in a.items() if k != "gone"} == {
        k: _strip(v) for k, v in b.items() if k != "gone"
    }
    for rel in b["p1"]["criteria"]["residue"]["evidence"]["images"].values():
        assert fs.cat(f"{root}/out/{rel}") == (tmp_path / "out" / rel).read_bytes()


def test_worker_processes_cannot_write_to_memory_and_say_so(request):
    root = f"/pool-{id(request.node)}"
    fs = fsspec.filesystem("memory")
    ok, buf = cv2.imencode(".png", _pairs(1)[0][0])
    fs.pipe_file(f"{root}/o.png", buf.tobytes())
    fs.pipe_file(f"{root}/m.jsonl", json.dumps({"id": "a", "original": "o.png", "edited": "o.png"}).encode())
    with pytest.raises(ValueError, match="exists only in this process"):
        run_check(
            f"memory://{root}/m.jsonl",
            f"memory://{root}/out",
            workers=2,
            progress=False,
            checker_factory=stand_in,
        )
