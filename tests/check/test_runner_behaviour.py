"""The runner's contract, driven by a stand-in checker (see standin.py): one record per pair,
readable errors, sizes passed through untouched, worker processes, dead workers, torn files."""

from __future__ import annotations

import json

import cv2
import numpy as np

from maskgate.check.runner import completed_ids, run_check
from tests.check.standin import stand_in


def _img(path, value, size=(64, 48)):
    rgb = np.full((size[1], size[0], 3), value, np.uint8)
    rgb[10:30, 10:40] = (value + 90) % 256  # something that is not flat
    cv2.imwrite(str(path), rgb)
    return path.name


def _manifest(folder, rows):
    (folder / "m.jsonl").write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)
    )
    return folder / "m.jsonl"


def _records(out):
    return [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines() if x.strip()]


def test_every_pair_gets_one_record_and_failures_say_why(tmp_path):
    o = _img(tmp_path / "o.png", 100)
    ok = _img(tmp_path / "ok.png", 105)
    bad = _img(tmp_path / "bad.png", 240)
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (tmp_path / "mask_corrupt.png").write_bytes(b"GIF89a nonsense")
    _img(tmp_path / "raise.png", 100)
    rows = [
        {
            "id": "ok",
            "original": o,
            "edited": ok,
            "labels": {"residue": True},
            "acceptable": True,
            "defect": "none",
        },
        {"id": "bad", "original": o, "edited": bad, "acceptable": False},
        {"id": "missing", "original": "nope.png", "edited": ok},
        {"id": "corrupt", "original": o, "edited": "corrupt.png"},
        {"id": "badmask", "original": o, "edited": ok, "mask": "mask_corrupt.png"},
        {"id": "engine", "original": o, "edited": "raise.png"},
        {"id": "kind", "original": o, "edited": ok, "kind": "cutout"},
        "{not json",
    ]
    s = run_check(_manifest(tmp_path, rows), tmp_path / "out", progress=False, checker_factory=stand_in)
    recs = {r["id"]: r for r in _records(tmp_path / "out")}
    assert len(recs) == s.total == 8 and s.done == 8 and s.skipped == 0
    assert recs["ok"]["verdict"] == "accept" and recs["bad"]["verdict"] == "reject"
    assert recs["ok"]["labels"] == {"residue": True} and recs["ok"]["acceptable"] is True
    assert recs["ok"]["defect"] == "none"  # unknown fields pass through to the record
    reasons = {k: r["error"] for k, r in recs.items() if r["verdict"] == "error"}
    assert set(reasons) == {"missing", "corrupt", "badmask", "engine", "kind", "line-8"}
    assert reasons["missing"].startswith("original: file not found")
    assert reasons["corrupt"].startswith("edited: cannot decode")
    assert reasons["badmask"].startswith("mask: cannot decode")
    assert "stand-in engine failure" in reasons["engine"]
    assert "unknown kind 'cutout'" in reasons["kind"]
    assert "line 8" in reasons["line-8"] and "invalid JSON" in reasons["line-8"]
    assert recs["bad"]["acceptable"] is False and "acceptable" not in recs["missing"]  # no label, no field
    # evidence images are PNG files at the relative paths the record names
    paths = recs["ok"]["criteria"]["residue"]["evidence"]["images"]
    assert set(paths) == {"heat", "side"}
    assert all(cv2.imread(str(tmp_path / "out" / p)) is not None for p in paths.values())
    assert not (tmp_path / "out" / "report.html").exists()  # the runner checks; its caller asks for a report


def test_sizes_are_passed_as_they_are_and_masks_come_as_0_255(tmp_path):
    o = _img(tmp_path / "o.png", 100, (200, 100))
    small = _img(tmp_path / "small.png", 100, (100, 50))
    tall = _img(tmp_path / "tall.png", 100, (90, 160))
    huge = _img(tmp_path / "huge.png", 100, (1000, 500))
    cv2.imwrite(
        str(tmp_path / "m01.png"), np.pad(np.ones((50, 100), np.uint8), ((25, 25), (50, 50)))
    )  # a 0/1 mask
    rgba = np.zeros((100, 200, 4), np.uint8)
    rgba[20:80, 50:150] = (0, 0, 255, 255)
    cv2.imwrite(str(tmp_path / "cut.png"), rgba)  # an RGBA cut-out: its alpha is the mask
    rows = [
        {"id": "small", "original": o, "edited": small, "mask": "m01.png"},
        {"id": "tall", "original": o, "edited": tall, "mask": "cut.png"},
        {"id": "huge", "original": o, "edited": huge},
    ]
    run_check(_manifest(tmp_path, rows), tmp_path / "out", progress=False, checker_factory=stand_in)
    ev = {r["id"]: r["criteria"]["residue"]["evidence"] for r in _records(tmp_path / "out")}
    assert ev["small"]["original_size"] == [200, 100] and ev["small"]["edited_size"] == [100, 50]
    assert ev["tall"]["edited_size"] == [90, 160]
    assert ev["huge"]["edited_size"] == [256, 128]  # decoded once, at the checker's working size
    assert ev["small"]["mask_max"] == 255 and ev["small"]["mask_shape"] == [100, 200]
    assert ev["tall"]["mask_max"] == 255
    assert ev["huge"]["mask_max"] is None


def test_worker_processes_give_the_same_records(tmp_path):
    o = _img(tmp_path / "o.png", 100)
    rows = [
        {"id": f"p{i}", "original": o, "edited": _img(tmp_path / f"e{i}.png", 60 + 15 * i)} for i in range(10)
    ]
    m = _manifest(tmp_path, rows)
    run_check(m, tmp_path / "one", progress=False, checker_factory=stand_in)
    run_check(m, tmp_path / "two", workers=2, progress=False, checker_factory=stand_in)
    one = {r["id"]: r for r in _records(tmp_path / "one")}
    two = _records(tmp_path / "two")
    assert len(two) == 10 and {r["id"] for r in two} == set(one)
    for r in two:
        assert r["verdict"] == one[r["id"]]["verdict"] and r["score"] == one[r["id"]]["score"]
    import os

    pids = {r["criteria"]["residue"]["evidence"]["pid"] for r in two}
    assert os.getpid() not in pids  # checked in the workers, written by the parent


def test_a_pair_that_kills_its_worker_is_an_error_and_the_rest_go_on(tmp_path):
    o = _img(tmp_path / "o.png", 100)
    rows = [{"id": f"p{i}", "original": o, "edited": _img(tmp_path / f"e{i}.png", 90 + i)} for i in range(8)]
    rows.insert(3, {"id": "killer", "original": o, "edited": _img(tmp_path / "die.png", 100)})
    s = run_check(
        _manifest(tmp_path, rows),
        tmp_path / "out",
        workers=2,
        progress=False,
        checker_factory=stand_in,
    )
    recs = _records(tmp_path / "out")
    assert sorted(r["id"] for r in recs) == sorted(r["id"] for r in rows)  # each exactly once
    by_id = {r["id"]: r for r in recs}
    assert by_id["killer"]["verdict"] == "error" and "worker process died" in by_id["killer"]["error"]
    assert all(by_id[f"p{i}"]["verdict"] == "accept" for i in range(8))  # innocent bystanders redone
    assert s.counts == {"accept": 8, "error": 1}


def test_rerun_skips_done_ids_and_redoes_a_torn_last_line(tmp_path):
    o = _img(tmp_path / "o.png", 100)
    rows = [{"id": f"p{i}", "original": o, "edited": _img(tmp_path / f"e{i}.png", 100 + i)} for i in range(4)]
    m = _manifest(tmp_path, rows)
    out = tmp_path / "out"
    run_check(m, out, progress=False, checker_factory=stand_in)
    lines = (out / "results.jsonl").read_text().splitlines()
    (out / "results.jsonl").write_text("\n".join(lines[:2]) + "\n" + lines[2][:25])  # killed mid-line
    s = run_check(m, out, progress=False, checker_factory=stand_in)
    assert (s.skipped, s.done) == (2, 2)
    after = (out / "results.jsonl").read_text().splitlines()
    assert after[:2] == lines[:2] and sorted(json.loads(x)["id"] for x in after) == ["p0", "p1", "p2", "p3"]
    s = run_check(m, out, progress=False, checker_factory=stand_in)
    assert (s.skipped, s.done) == (4, 0)


def test_completed_ids_repairs_only_the_tail(tmp_path):
    f = tmp_path / "results.jsonl"
    f.write_text('{"id": "a"}\nhand-edited garbage\n{"id": "b"}')  # complete last record, no newline
    assert completed_ids(f) == {"a", "b"}
    assert f.read_text() == '{"id": "a"}\nhand-edited garbage\n{"id": "b"}\n'  # nothing good dropped
    with f.open("a") as fh:
        fh.write('{"id": "c", "verdi')
    assert completed_ids(f) == {"a", "b"}
    assert f.read_text().endswith('{"id": "b"}\n')
    assert completed_ids(tmp_path / "none.jsonl") == set()


RUN = """
import sys
from maskgate.check.runner import run_check
from tests.check.standin import stand_in
run_check(sys.argv[1], sys.argv[2], workers=2, progress=False, checker_factory=stand_in)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"  # a zombie is dead, just not yet reaped
    except (FileNotFoundError, IndexError):
        return False


def test_killed_pool_run_resumes_and_leaves_no_workers_behind(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    o = _img(tmp_path / "o.png", 100)
    rows = [
        {"id": f"p{i}", "original": o, "edited": _img(tmp_path / f"slow{i}.png", 100 + i)} for i in range(24)
    ]
    m = _manifest(tmp_path, rows)
    out = tmp_path / "out"
    root = Path(__file__).resolve().parents[2]
    cmd = [sys.executable, "-c", RUN, str(m), str(out)]
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    res = out / "results.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and not (res.exists() and len(res.read_text().splitlines()) >= 4):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = res.read_text().splitlines()
    assert 4 <= len(before) < 24, "the run must be killed midway for this test to mean anything"
    workers = {json.loads(x)["criteria"]["residue"]["evidence"]["pid"] for x in before}
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers), "workers outlived their killed parent"
    subprocess.run(cmd, cwd=root, check=True, capture_output=True, timeout=120)
    after = res.read_text().splitlines()
    assert after[: len(before)] == before
    assert sorted(json.loads(x)["id"] for x in after) == sorted(r["id"] for r in rows)


def test_a_second_run_on_the_same_folder_is_refused_while_the_first_writes(tmp_path):
    import subprocess
    import sys
    import time
    from pathlib import Path

    import pytest

    from maskgate.check.runner import RunBusyError

    o = _img(tmp_path / "o.png", 100)
    rows = [
        {"id": f"p{i}", "original": o, "edited": _img(tmp_path / f"slow{i}.png", 100 + i)} for i in range(40)
    ]
    m = _manifest(tmp_path, rows)
    out = tmp_path / "out"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", RUN, str(m), str(out)], cwd=root, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not (out / "results.jsonl").exists():
            time.sleep(0.05)
        with pytest.raises(RunBusyError, match="another `maskgate check`"):
            run_check(m, out, progress=False, checker_factory=stand_in)
    finally:
        proc.kill()
        proc.wait()
    s = run_check(m, out, progress=False, checker_factory=stand_in)  # free again once it is gone
    assert s.done + s.skipped == 40


def test_ids_that_differ_only_in_unsafe_characters_keep_their_own_evidence(tmp_path):
    o = _img(tmp_path / "o.png", 100)
    rows = [
        {"id": "cat/1", "original": o, "edited": _img(tmp_path / "e1.png", 60)},
        {"id": "cat:1", "original": o, "edited": _img(tmp_path / "e2.png", 200)},
        {"id": "../../escape", "original": o, "edited": _img(tmp_path / "e3.png", 120)},
    ]
    run_check(_manifest(tmp_path, rows), tmp_path / "out", progress=False, checker_factory=stand_in)
    heat = {
        r["id"]: r["criteria"]["residue"]["evidence"]["images"]["heat"] for r in _records(tmp_path / "out")
    }
    assert len(set(heat.values())) == 3
    for p in heat.values():
        f = (tmp_path / "out" / p).resolve()
        assert f.is_file() and (tmp_path / "out" / "evidence") in f.parents


def test_workers_see_the_runs_environment_and_folder_as_they_are_now(tmp_path, monkeypatch):
    # Workers come from a fork server that started with the first pool; a model folder set, or a
    # folder changed into, after that must still reach them, as it would reach a forked worker.
    o = _img(tmp_path / "o.png", 100)
    rows = [{"id": f"p{i}", "original": o, "edited": _img(tmp_path / f"e{i}.png", 90 + i)} for i in range(4)]
    m = _manifest(tmp_path, rows)
    monkeypatch.setenv("STANDIN_MARK", "first")
    run_check(m, tmp_path / "one", workers=2, progress=False, checker_factory=stand_in)
    monkeypatch.setenv("STANDIN_MARK", "second")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    run_check(m, tmp_path / "two", workers=2, progress=False, checker_factory=stand_in)
    for out, mark, cwd in (("one", "first", None), ("two", "second", str(tmp_path / "sub"))):
        ev = [r["criteria"]["residue"]["evidence"] for r in _records(tmp_path / out)]
        assert {e["mark"] for e in ev} == {mark}
        if cwd:
            assert {e["cwd"] for e in ev} == {cwd}


REAL_RUN = """
import sys
from maskgate.check.runner import run_check
s = run_check(sys.argv[1], sys.argv[2], workers=2, progress=False)
print(s.done, s.counts)
"""


def test_a_pool_of_real_checkers_with_the_packaged_gate_finishes(tmp_path, u2netp):
    # The run's process loads the scoring once before its workers start (a bad model fails
    # there); the packaged gate's LightGBM boosters leave an OpenMP pool behind, and workers
    # forked from that process hung for ever in their own Booster() load.
    import subprocess
    import sys
    from pathlib import Path

    rng = np.random.default_rng(0)
    rows = []
    for i in range(3):
        rgb = np.full((96, 128, 3), 235, np.uint8)
        cv2.circle(rgb, (64, 48), 30, tuple(int(v) for v in rng.integers(0, 200, 3)), -1)
        cv2.imwrite(str(tmp_path / f"o{i}.png"), rgb)
        cv2.imwrite(str(tmp_path / f"e{i}.png"), rgb)
        rows.append({"id": f"p{i}", "original": f"o{i}.png", "edited": f"e{i}.png"})
    m = _manifest(tmp_path, rows)
    root = Path(__file__).resolve().parents[2]
    r = subprocess.run(
        [sys.executable, "-c", REAL_RUN, str(m), str(tmp_path / "out")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    recs = _records(tmp_path / "out")
    assert sorted(x["id"] for x in recs) == ["p0", "p1", "p2"]
    assert all(x["verdict"] != "error" for x in recs), [x.get("error") for x in recs]
