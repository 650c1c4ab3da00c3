"""The batch runner: errors per pair, size mismatches, resume after a real SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import cv2
import numpy as np

from maskgate.check.engine import Judgement
from maskgate.check.runner import build_checker, process_pair, process_pairs, run_check
from maskgate.core.record import PairRecord
from maskgate.io.manifest import read_manifest
from maskgate.models.sessions import thread_budget
from tests.check.conftest import add_overlays, compose, product, scene


def _write_pairs(folder, n):
    rgb, mask = product(256)
    orig = add_overlays(compose(scene(0, 256), rgb, mask))
    white = np.full_like(orig, 255)
    lines = []
    for i in range(n):
        o, e = folder / f"o{i}.png", folder / f"e{i}.png"
        cv2.imwrite(str(o), orig[..., ::-1])
        cv2.imwrite(str(e), compose(white if i % 2 else scene(i + 1, 256), rgb, mask)[..., ::-1])
        lines.append(json.dumps({"id": f"p{i}", "original": o.name, "edited": e.name}))
    (folder / "m.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "m.jsonl"


def _records(out):
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]


def test_bad_inputs_are_reported_and_the_batch_goes_on(tmp_path, u2netp):
    m = _write_pairs(tmp_path, 2)
    (tmp_path / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    big = cv2.resize(cv2.imread(str(tmp_path / "e0.png")), (384, 384))  # 1.5x: aligned by scaling
    cv2.imwrite(str(tmp_path / "big.png"), big)
    wide = cv2.resize(cv2.imread(str(tmp_path / "e0.png")), (384, 256))  # aspect ratio changed
    cv2.imwrite(str(tmp_path / "wide.png"), wide)
    extra = [
        {"id": "corrupt", "original": "o0.png", "edited": "corrupt.jpg"},
        {"id": "missing", "original": "o0.png", "edited": "nope.png"},
        {"id": "bigger", "original": "o0.png", "edited": "big.png"},
        {"id": "wider", "original": "o0.png", "edited": "wide.png"},
    ]
    with m.open("a") as f:
        f.write("".join(json.dumps(x) + "\n" for x in extra))
    s = run_check(m, tmp_path / "out", progress=False)
    recs = {r["id"]: r for r in _records(tmp_path / "out")}
    assert s.total == 6 and len(recs) == 6
    assert recs["corrupt"]["verdict"] == "error" and "cannot decode" in recs["corrupt"]["error"]
    assert recs["missing"]["verdict"] == "error" and "not found" in recs["missing"]["error"]
    assert recs["bigger"]["verdict"] in ("accept", "review", "reject") and not recs["bigger"]["notes"]
    assert any("aspect ratio" in n for n in recs["wider"]["notes"])
    for r in recs.values():  # every evidence path written is a real file
        for c in r["criteria"].values():
            for rel in c["evidence"].get("images", {}).values():
                assert (tmp_path / "out" / rel).is_file()


def test_overlapping_pairs_keep_their_own_results(tmp_path, u2netp, monkeypatch):
    """The runner starts pair i+1 before it finishes pair i (one pair's criteria beside the next
    one's model passes); each record must still be exactly the one that pair gets alone."""
    monkeypatch.setenv("MASKGATE_THREADS", "2")  # the side-by-side path, on any machine
    m = _write_pairs(tmp_path, 4)  # cut-outs and new backgrounds in turn
    with m.open("a") as f:
        f.write(json.dumps({"id": "missing", "original": "o0.png", "edited": "nope.png"}) + "\n")
        f.write(json.dumps({"id": "last", "original": "o1.png", "edited": "e1.png"}) + "\n")
    specs = read_manifest(m)
    specs.insert(2, specs.pop(4))  # a pair that fails to load, between two in flight
    checker = build_checker()
    piped = list(process_pairs(checker, specs, tmp_path / "piped"))
    alone = [process_pair(checker, s, tmp_path / "alone") for s in specs]
    assert [r.id for r in piped] == [s.id for s in specs]
    assert piped == alone
    assert piped[2].verdict == "error" and "not found" in piped[2].error
    assert {r.kind for r in piped if r.verdict != "error"} == {"isolated", "inpainted"}


def test_resume_after_kill(tmp_path, u2netp):
    m = _write_pairs(tmp_path, 20)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "maskgate", "check", str(m), "--out", str(out), "--no-progress"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline:
        if (out / "results.jsonl").exists() and len((out / "results.jsonl").read_text().splitlines()) >= 3:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = (out / "results.jsonl").read_text().splitlines()
    assert 0 < len(before) < 20, "the run must be killed midway for this test to mean anything"
    with (out / "results.jsonl").open("a") as f:  # a line torn by the kill
        f.write('{"id": "p19", "verd')
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=600)
    after = (out / "results.jsonl").read_text().splitlines()
    ids = [json.loads(line)["id"] for line in after]
    assert sorted(ids) == sorted(f"p{i}" for i in range(20))
    assert after[: len(before)] == before  # what was written before the kill is kept as it was


class _Recorder:
    """Records which thread starts and which finishes each pair, and the finisher's core budget."""

    max_side = 256

    def __init__(self):
        self.events: list[tuple[str, str, str, int]] = []

    def start(self, original, edited, kind=None, mask=None, *, pair):
        self.events.append(("start", pair.id, threading.current_thread().name, thread_budget()))

        def finish():
            time.sleep(0.05)  # long enough that the next pair is started meanwhile
            self.events.append(("finish", pair.id, threading.current_thread().name, thread_budget()))
            return Judgement(
                PairRecord(
                    id=pair.id, original=pair.original, edited=pair.edited, kind="isolated", verdict="accept"
                )
            )

        return finish


def test_pairs_finish_on_their_own_thread_on_one_core_while_the_next_starts(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKGATE_THREADS", "2")
    specs = read_manifest(_write_pairs(tmp_path, 3))
    rec = _Recorder()
    out = list(process_pairs(rec, specs, tmp_path / "out"))
    assert [r.id for r in out] == ["p0", "p1", "p2"]
    main = threading.current_thread().name
    starts = [e for e in rec.events if e[0] == "start"]
    finishes = [e for e in rec.events if e[0] == "finish"]
    assert all(t == main and budget == 2 for _, _, t, budget in starts)  # detection: every core
    assert all(t != main and budget == 1 for _, _, t, budget in finishes)  # criteria: one core
    order = [(e[0], e[1]) for e in rec.events]
    assert order.index(("start", "p1")) < order.index(("finish", "p0"))

    monkeypatch.setenv("MASKGATE_THREADS", "1")  # one core: everything on the calling thread
    rec = _Recorder()
    assert [r.id for r in process_pairs(rec, specs, tmp_path / "one")] == ["p0", "p1", "p2"]
    assert {e[2] for e in rec.events} == {main}
