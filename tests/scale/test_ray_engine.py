"""The Ray engine on a real local Ray cluster: the same records as the local engine, and a run
killed with SIGKILL resumes to exactly one record per pair.

One cluster (2 CPUs, no dashboard) serves the whole module: starting Ray costs seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import fsspec
import numpy as np
import pytest

from maskgate.check.runner import run_check
from maskgate.io.store import open_store
from maskgate.scale.engine import Engine
from tests.check.conftest import add_overlays, compose, product, scene
from tests.check.standin import stand_in
from tests.conftest import kill_midway

ray = pytest.importorskip("ray", reason="the Ray engine is an optional extra: pip install 'maskgate[ray]'")
pytest.importorskip("ray.data")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster on 127.0.0.1 whose workers import this checkout (maskgate and tests)."""
    env_path = os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = env_path  # the raylet and every worker inherit it
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


def _png(rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", rgb[..., ::-1])
    assert ok
    return buf.tobytes()


def _memory_pairs(root: str, n: int) -> str:
    """``n`` drawn pairs (a new background, a white backdrop, in turn) and their manifest, all on
    memory://, the manifest naming the images relative to itself."""
    fs = fsspec.filesystem("memory")
    rgb, mask = product(256)
    orig = add_overlays(compose(scene(0, 256), rgb, mask))
    white = np.full_like(orig, 255)
    lines = []
    for i in range(n):
        fs.pipe_file(f"{root}/o{i}.png", _png(orig))
        fs.pipe_file(f"{root}/e{i}.png", _png(compose(white if i % 2 else scene(i + 1, 256), rgb, mask)))
        lines.append(json.dumps({"id": f"p{i}", "original": f"o{i}.png", "edited": f"e{i}.png"}))
    fs.pipe_file(f"{root}/manifest.jsonl", ("\n".join(lines) + "\n").encode())
    return f"memory://{root}/manifest.jsonl"


def _memory_results(out: str) -> tuple[dict[str, dict], dict[str, bytes]]:
    """(records by id, evidence file bytes by path relative to the run folder) of a memory:// run."""
    fs = fsspec.filesystem("memory")
    root = out.removeprefix("memory://")
    lines = fs.cat(f"{root}/results.jsonl").decode().splitlines()
    recs = {r["id"]: r for r in map(json.loads, lines)}
    assert len(recs) == len(lines), "one record per pair"
    files = {p.split(root + "/", 1)[1]: fs.cat(p) for p in fs.find(f"{root}/evidence")}
    return recs, files


def test_ray_engine_gives_the_local_engines_records_on_memory_uris(cluster, u2netp, monkeypatch):
    monkeypatch.setenv("MASKGATE_THREADS", "1")  # the same onnxruntime threads as each actor's
    manifest = _memory_pairs("/eq-in", 3)
    local = run_check(manifest, "memory://eq-local", progress=False)
    remote = run_check(manifest, "memory://eq-ray", progress=False, engine=Engine("ray", 2, batch_size=1))
    assert (local.total, local.done, remote.done) == (3, 3, 3)
    recs_l, files_l = _memory_results("memory://eq-local")
    recs_r, files_r = _memory_results("memory://eq-ray")
    assert recs_l.keys() == {"p0", "p1", "p2"}
    assert all(r["verdict"] != "error" for r in recs_l.values()), recs_l
    assert recs_r == recs_l  # every field: verdicts, scores, measurements, paths, notes
    assert files_l and files_r.keys() == files_l.keys()  # each evidence image, written by the driver
    assert all(files_r[k] == files_l[k] for k in files_l)
    assert remote.totals == local.totals


KILLED_RUN = """
import sys
import ray
from maskgate.check.runner import run_check
from maskgate.scale.engine import Engine
from tests.check.standin import stand_in
from tests.conftest import kill_midway
ray.init(address=sys.argv[3], log_to_driver=False)
run_check(sys.argv[1], sys.argv[2], progress=False, checker_factory=stand_in,
          engine=Engine("ray", 2, address=sys.argv[3], batch_size=1), fmt=sys.argv[4],
          store_options={"rows_per_part": 2} if sys.argv[4] == "parquet" else None)
"""


def _slow_pairs(folder: Path, n: int) -> Path:
    rng = np.random.default_rng(7)
    lines = []
    for i in range(n):
        for role in ("o", "slow-e"):
            cv2.imwrite(str(folder / f"{role}{i}.png"), rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
        lines.append(json.dumps({"id": f"p{i}", "original": f"o{i}.png", "edited": f"slow-e{i}.png"}))
    (folder / "m.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "m.jsonl"


def _ids(out: Path, fmt: str) -> list[str]:
    store = open_store(out, fmt)  # type: ignore[arg-type]
    return [rid for rid, _ in store.verdicts()]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_a_ray_run_killed_mid_way_resumes_to_one_record_per_pair(cluster, tmp_path, fmt):
    n = 24
    manifest = _slow_pairs(tmp_path, n)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(manifest), f"file://{out}", cluster, fmt], env=env, cwd=ROOT
    )
    kill_midway(proc, lambda: out.exists() and len(_ids(out, fmt)) >= 2, poll=0.05)
    before = _ids(out, fmt)
    assert 2 <= len(before) < n and len(set(before)) == len(before)

    s = run_check(
        manifest,
        f"file://{out}",
        progress=False,
        checker_factory=stand_in,
        engine=Engine("ray", 2, batch_size=1),
        fmt=fmt,  # type: ignore[arg-type]
    )
    after = _ids(out, fmt)
    assert sorted(after) == sorted(f"p{i}" for i in range(n))  # each pair exactly once
    assert s.skipped == len(before) and s.done == n - len(before)
    assert set(before) <= set(after)  # what the killed run wrote was kept, not redone


@pytest.mark.parametrize("verb", ["mask", "text-mask", "isolate", "erase"])
def test_make_commands_on_ray_write_the_local_engines_files(cluster, u2netp, tmp_path, monkeypatch, verb):
    from typer.testing import CliRunner

    from maskgate.cli import app

    monkeypatch.setenv("MASKGATE_THREADS", "1")
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    rgb, mask = product(192)
    for i in range(2):
        cv2.imwrite(
            str(src / ("sub" if i else "") / f"shot{i}.png"),
            add_overlays(compose(scene(i, 192), rgb, mask))[..., ::-1],  # text for text-mask and erase
        )
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    outs = {}
    for engine in ("local", "ray"):
        outs[engine] = tmp_path / engine
        args = [verb, str(src), "--out", str(outs[engine]), "--engine", engine]
        if engine == "ray":  # relative paths: the actors do not share this process's working folder
            monkeypatch.chdir(tmp_path)
            args = [verb, "in", "--out", "ray", "--engine", engine]
        args += [] if verb == "text-mask" else ["--fast"]
        r = CliRunner().invoke(
            app, args + (["--workers", "2", "--batch-size", "1", "--json"] if engine == "ray" else [])
        )
        said = " ".join((r.stderr if engine == "ray" else r.output).split())  # rich wraps long lines
        assert r.exit_code == 1, r.output  # the broken file is a failed item, the batch goes on
        assert "2 written" in said and "1 failed" in said and "broken.png: cannot decode image" in said
        if engine == "ray":  # --json: the one summary object on stdout, as on the local engine
            summary = json.loads(r.stdout)
            assert summary["command"] == verb and summary["ok"] is False and len(summary["written"]) == 2
            assert [f["path"] for f in summary["failed"]] == [str(src / "broken.png")]
    written = sorted(p.relative_to(outs["local"]) for p in outs["local"].rglob("*.png"))
    assert written == [Path("shot0.png"), Path("sub/shot1.png")]
    assert sorted(p.relative_to(outs["ray"]) for p in outs["ray"].rglob("*.png")) == written
    for rel in written:  # the same pixels, whichever engine wrote them
        a = cv2.imread(str(outs["local"] / rel), cv2.IMREAD_UNCHANGED)
        b = cv2.imread(str(outs["ray"] / rel), cv2.IMREAD_UNCHANGED)
        assert a.shape == b.shape and np.array_equal(a, b)


def test_make_commands_on_ray_read_and_write_memory_uris_as_the_local_engine_does(
    cluster, u2netp, monkeypatch, tmp_path
):
    """Inputs on memory:// reach the actors inside their items and the results come back for the
    driver to write; an animation's note (only its first frame is used) comes back with them."""
    from typer.testing import CliRunner

    from maskgate.cli import app
    from tests.bad_input_corpus import animated

    monkeypatch.setenv("MASKGATE_THREADS", "1")
    fs = fsspec.filesystem("memory")
    rgb, mask = product(160)
    fs.pipe_file("/mk-in/shot.png", _png(compose(scene(3, 160), rgb, mask)))
    fs.pipe_file("/mk-in/sub/shot2.png", _png(compose(scene(4, 160), rgb, mask)))
    fs.pipe_file("/mk-in/anim.gif", animated(tmp_path / "anim.gif", side=48).read_bytes())
    summaries = {}
    for engine in ("local", "ray"):
        args = [
            "mask",
            "memory://mk-in",
            "--out",
            f"memory://mk-{engine}",
            "--fast",
            "--json",
            "--engine",
            engine,
        ]
        r = CliRunner().invoke(
            app, args + (["--workers", "2", "--batch-size", "1"] if engine == "ray" else [])
        )
        assert r.exit_code == 0, r.output
        summaries[engine] = json.loads(r.stdout)
        assert "note memory://mk-in/anim.gif: anim.gif is animated: only its first frame is used" in " ".join(
            r.stderr.split()
        )
    for engine, summary in summaries.items():
        assert sorted(summary["written"]) == sorted(
            f"memory://mk-{engine}/{n}" for n in ("anim.png", "shot.png", "sub/shot2.png")
        )
        assert summary["notes"] == [
            {"path": "memory://mk-in/anim.gif", "note": "anim.gif is animated: only its first frame is used"}
        ]
    for rel in ("anim.png", "shot.png", "sub/shot2.png"):
        assert fs.cat(f"/mk-ray/{rel}") == fs.cat(f"/mk-local/{rel}"), rel  # the same bytes


def test_a_pair_that_kills_its_actor_is_an_error_and_its_batch_mates_are_redone(cluster, tmp_path):
    rng = np.random.default_rng(3)
    lines = []
    for i, name in enumerate(["e0", "e1", "die-e2", "e3"]):
        cv2.imwrite(str(tmp_path / f"o{i}.png"), rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
        cv2.imwrite(str(tmp_path / f"{name}.png"), rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
        lines.append(json.dumps({"id": f"p{i}", "original": f"o{i}.png", "edited": f"{name}.png"}))
    (tmp_path / "m.jsonl").write_text("\n".join(lines) + "\n")
    engine = Engine("ray", 2, batch_size=2)  # p2 (it kills its actor) shares its batch with p3
    s = run_check(
        tmp_path / "m.jsonl", tmp_path / "out", progress=False, checker_factory=stand_in, engine=engine
    )
    recs = {
        r["id"]: r for r in map(json.loads, (tmp_path / "out" / "results.jsonl").read_text().splitlines())
    }
    assert sorted(recs) == ["p0", "p1", "p2", "p3"] and s.failed == 1
    assert recs["p2"]["verdict"] == "error" and "actor died" in recs["p2"]["error"]
    assert all(recs[k]["verdict"] != "error" for k in ("p0", "p1", "p3"))


def _journaled(out: Path) -> list[str]:
    """The outputs a make run's journal names (its torn last line, if any, left out)."""
    try:
        lines = (out / ".maskgate-make.jsonl").read_text().split("\n")[1:]
    except FileNotFoundError:
        return []
    names = []
    for line in lines:
        try:
            names.append(json.loads(line)["output"])
        except (ValueError, KeyError):
            pass
    return names


def test_a_make_run_on_ray_killed_mid_way_resumes_to_the_local_engines_files(
    cluster, u2netp, tmp_path, monkeypatch
):
    """SIGKILL the driver of `mask --engine ray` after some outputs are journaled, truncate one of
    them, rerun on Ray: only the unfinished and the truncated are made, and the folder ends with
    the local engine's pixels. The local engine then finishes the same folder's journal too."""
    from typer.testing import CliRunner

    from maskgate.cli import app

    monkeypatch.setenv("MASKGATE_THREADS", "1")
    monkeypatch.chdir(tmp_path)  # relative paths: the actors do not share this process's working folder
    (tmp_path / "in").mkdir()
    rgb, mask = product(160)
    n = 12
    for i in range(n):
        cv2.imwrite(str(tmp_path / "in" / f"shot{i:02d}.png"), compose(scene(i, 160), rgb, mask)[..., ::-1])
    ray_args = ["--fast", "--engine", "ray", "--workers", "2", "--batch-size", "1"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "maskgate", "mask", "in", "--out", "out", *ray_args, "--ray-address", cluster],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    out = tmp_path / "out"
    kill_midway(proc, lambda: len(_journaled(out)) >= 3)
    finished = _journaled(out)
    assert 3 <= len(finished) < n
    cut = out / finished[0]
    cut.write_bytes(cut.read_bytes()[:50])  # a finished output, truncated since
    kept = {name: (out / name).stat().st_mtime_ns for name in finished[1:]}

    r = CliRunner().invoke(app, ["mask", "in", "--out", "out", *ray_args, "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["already_done"] == len(finished) - 1 and len(summary["written"]) == n - len(finished) + 1
    assert finished[0] in {Path(p).name for p in summary["written"]}
    assert {name: (out / name).stat().st_mtime_ns for name in kept} == kept  # not made again

    r = CliRunner().invoke(app, ["mask", "in", "--out", "whole", "--fast"])  # the local engine, whole
    assert r.exit_code == 0, r.output
    whole = sorted(p.name for p in (tmp_path / "whole").glob("*.png"))
    assert whole == sorted(p.name for p in out.glob("*.png")) and len(whole) == n
    for name in whole:
        a = cv2.imread(str(tmp_path / "whole" / name), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(a, cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED)), name
    assert not [p for p in out.iterdir() if "maskgate-tmp" in p.name]

    (out / whole[-1]).unlink()  # the local engine resumes from the journal the Ray runs wrote
    r = CliRunner().invoke(app, ["mask", "in", "--out", "out", "--fast", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["already_done"] == n - 1
