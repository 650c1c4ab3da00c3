"""Resuming the make commands: a killed run picks up where it stopped and ends with exactly the
files of an uninterrupted run; what is not whole is never taken as done; other options are refused.

The journal's rules are exercised through the library with a cheap real verb (the input's
negative, written with ``save_image``) on local folders and memory://; the kill and the options
through the real CLI and u2netp in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import fsspec
import numpy as np
import pytest
from make_synth import product_scene
from PIL import Image
from tests.conftest import kill_midway

from maskgate.io import uri
from maskgate.io.images import load_image, save_image
from maskgate.make import resume as resume_mod
from maskgate.make.batch import plan_targets, run_batch
from maskgate.make.resume import JOURNAL, ResumeError, resume

ROOT = Path(__file__).resolve().parents[2]


def _inputs(folder: Path, n: int, size: tuple[int, int] = (48, 64)) -> list[Path]:
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        rgb = np.random.default_rng(i).integers(0, 256, (*size, 3), dtype=np.uint8)
        p = folder / ("sub" if i % 3 == 2 else "") / f"shot{i}.png"
        Image.fromarray(rgb).save(p)
        paths.append(p)
    return paths


def _make(inp, out, settings, tmp_path, *, overwrite=False, fail_after=None):
    """One run of the negative verb through the batch machinery the CLI uses; ``fail_after``:
    raise KeyboardInterrupt after that many files, as Ctrl-C would."""
    targets = plan_targets(inp, out, tmp_path / "scratch")
    plan = resume(targets, "negative", settings, overwrite=overwrite)
    seen = []

    def work(src):
        if fail_after is not None and len(seen) >= fail_after:
            raise KeyboardInterrupt
        seen.append(src)
        dest = targets.dest(src)
        save_image(dest, 255 - load_image(src).rgb)
        return dest

    try:
        report = run_batch(plan.todo, work, on_written=plan.add)
    finally:
        plan.close()
    report.already_done = plan.already_done
    return report, plan


def _pixels(folder: Path) -> dict[str, np.ndarray]:
    return {
        p.relative_to(folder).as_posix(): np.asarray(Image.open(p)) for p in sorted(folder.rglob("*.png"))
    }


def _mtimes(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob("*.png")}


def test_an_interrupted_run_resumes_without_redoing_what_finished(tmp_path):
    _inputs(tmp_path / "in", 7)
    with pytest.raises(KeyboardInterrupt):
        _make(tmp_path / "in", tmp_path / "out", {"--x": 1}, tmp_path, fail_after=3)
    first = _mtimes(tmp_path / "out")
    assert len(first) == 3
    report, plan = _make(tmp_path / "in", tmp_path / "out", {"--x": 1}, tmp_path)
    assert plan.already_done == 3 and len(report.written) == 4 and report.ok
    after = _mtimes(tmp_path / "out")
    assert {k: after[k] for k in first} == first  # the finished files were not written again
    _make(tmp_path / "in", tmp_path / "ref", {"--x": 1}, tmp_path)
    ref, got = _pixels(tmp_path / "ref"), _pixels(tmp_path / "out")
    assert ref.keys() == got.keys() and all(np.array_equal(ref[k], got[k]) for k in ref)


def test_a_truncated_missing_or_unjournaled_output_is_redone_and_leftovers_removed(tmp_path):
    _inputs(tmp_path / "in", 6)
    out = tmp_path / "out"
    _make(tmp_path / "in", out, {}, tmp_path)
    want = _pixels(out)
    full = (out / "shot0.png").read_bytes()
    (out / "shot0.png").write_bytes(full[: len(full) // 2])  # truncated under the result's name
    (out / "shot1.png").unlink()
    journal = out / JOURNAL
    lines = journal.read_text().splitlines()
    journal.write_text(
        "\n".join(ln for ln in lines if "shot3.png" not in ln) + "\n"
    )  # a kill before its line
    with journal.open("a") as f:
        f.write('{"input": "/torn')  # the last line, torn by a kill
    leftover = out / "sub" / f".shot5.png{uri.TMP_MARK}0123456789ab"
    leftover.write_bytes(full[:10])
    before = _mtimes(out)
    report, plan = _make(tmp_path / "in", out, {}, tmp_path)
    assert sorted(Path(p).name for p in report.written) == ["shot0.png", "shot1.png", "shot3.png"]
    assert plan.already_done == 3
    after = _mtimes(out)
    assert all(after[k] == before[k] for k in ("shot4.png", "sub/shot2.png", "sub/shot5.png"))
    got = _pixels(out)
    assert got.keys() == want.keys() and all(np.array_equal(want[k], got[k]) for k in want)
    assert not leftover.exists()
    entries = journal.read_text().splitlines()[1:]
    assert len(entries) == 6 and all(json.loads(e)["bytes"] > 0 for e in entries)  # torn line gone


def test_other_options_are_refused_and_overwrite_redoes_everything(tmp_path):
    _inputs(tmp_path / "in", 3)
    out = tmp_path / "out"
    _make(tmp_path / "in", out, {"--soft": True, "--model": "u2netp"}, tmp_path)
    journal, stamps = (out / JOURNAL).read_bytes(), _mtimes(out)
    with pytest.raises(ResumeError) as e:
        _make(tmp_path / "in", out, {"--soft": False, "--model": "u2netp"}, tmp_path)
    msg = str(e.value)
    assert "--soft true (this run: false)" in msg and "--overwrite" in msg and "--model" not in msg
    with pytest.raises(ResumeError, match="not `maskgate other`"):
        plan_other = plan_targets(tmp_path / "in", out, tmp_path / "scratch")
        resume(plan_other, "other", {"--soft": True, "--model": "u2netp"})
    assert (out / JOURNAL).read_bytes() == journal and _mtimes(out) == stamps  # nothing touched
    report, plan = _make(
        tmp_path / "in", out, {"--soft": False, "--model": "u2netp"}, tmp_path, overwrite=True
    )
    assert plan.already_done == 0 and len(report.written) == 3
    entries = [json.loads(e) for e in (out / JOURNAL).read_text().splitlines()[1:]]
    assert len(entries) == 3 and all(e["settings"] == {"--soft": False, "--model": "u2netp"} for e in entries)
    report, plan = _make(tmp_path / "in", out, {"--model": "u2netp", "--soft": False}, tmp_path)
    assert plan.already_done == 3 and report.written == []


def test_other_inputs_made_with_other_options_share_the_folder(tmp_path):
    a, b = _inputs(tmp_path / "in", 2)
    _make(a, tmp_path / "out", {"--soft": True}, tmp_path)
    report, plan = _make(b, tmp_path / "out", {"--soft": False}, tmp_path)  # another input: no mix
    assert plan.already_done == 0 and len(report.written) == 1
    for src, soft in ((a, True), (b, False)):  # each still resumes with its own options
        report, plan = _make(src, tmp_path / "out", {"--soft": soft}, tmp_path)
        assert plan.already_done == 1 and report.written == []
    with pytest.raises(ResumeError, match=r"holds the results of 1 of these inputs .*shot0\.png"):
        _make(tmp_path / "in", tmp_path / "out", {"--soft": False}, tmp_path)


def test_a_journal_without_a_readable_header_resumes_nothing(tmp_path):
    _inputs(tmp_path / "in", 2)
    out = tmp_path / "out"
    _make(tmp_path / "in", out, {}, tmp_path)
    (out / JOURNAL).write_text("not a journal\n")
    report, plan = _make(tmp_path / "in", out, {}, tmp_path)
    assert plan.already_done == 0 and len(report.written) == 2


def test_a_failed_input_is_not_done_and_is_tried_again(tmp_path):
    _inputs(tmp_path / "in", 2)
    (tmp_path / "in" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    report, _ = _make(tmp_path / "in", tmp_path / "out", {}, tmp_path)
    assert [Path(f).name for f, _ in report.failed] == ["broken.png"]
    report, plan = _make(tmp_path / "in", tmp_path / "out", {}, tmp_path)
    assert plan.already_done == 2 and [Path(f).name for f, _ in report.failed] == ["broken.png"]


def test_one_file_out_has_no_journal_and_is_made_each_time(tmp_path):
    (src,) = _inputs(tmp_path / "in", 1)
    for _ in range(2):
        report, plan = _make(src, tmp_path / "one.png", {}, tmp_path)
        assert plan.already_done == 0 and len(report.written) == 1
    assert not (tmp_path / JOURNAL).exists() and (tmp_path / "one.png").is_file()


def test_a_failed_write_leaves_the_earlier_file_whole_and_no_temporary(tmp_path, monkeypatch):
    dest = tmp_path / "o" / "a.png"
    save_image(dest, np.zeros((20, 20), np.uint8))
    before = dest.read_bytes()
    from maskgate.io import images

    def half_then_die(target, *a, **k):
        Path(target).write_bytes(before[:30])  # some bytes reached the disk, then the encoder died
        raise OSError("disk full")

    monkeypatch.setattr(images, "_encode", half_then_die)
    with pytest.raises(OSError, match="disk full"):
        save_image(dest, np.full((20, 20), 255, np.uint8))
    assert dest.read_bytes() == before and sorted(p.name for p in dest.parent.iterdir()) == ["a.png"]


@pytest.mark.parametrize("appends", [True, False])
def test_memory_uri_out_resumes_the_same_way(tmp_path, monkeypatch, appends):
    """memory:// appends to its journal; an object store cannot, so there the journal is rewritten
    whole every few lines and at the end (forced here by telling the journal the filesystem cannot
    append)."""
    if not appends:
        monkeypatch.setattr(resume_mod, "can_append", lambda fs: False)
        monkeypatch.setattr(resume_mod, "REWRITE_EVERY", 2)
    fs = fsspec.filesystem("memory")
    root = f"resume-{appends}-{os.getpid()}"
    for p in _inputs(tmp_path / "in", 5):
        fs.pipe_file(f"/{root}/in/{p.name}", p.read_bytes())
    inp, out = f"memory://{root}/in", f"memory://{root}/out"
    try:
        with pytest.raises(KeyboardInterrupt):
            _make(inp, out, {}, tmp_path, fail_after=3)
        fs.pipe_file(f"/{root}/out/shot0.png", fs.cat(f"/{root}/out/shot0.png")[:40])  # truncated
        report, plan = _make(inp, out, {}, tmp_path)
        assert plan.already_done == 2  # the three finished, less the truncated one
        assert "memory://" + f"{root}/out/shot0.png" in [str(p) for p in report.written]
        _make(tmp_path / "in", tmp_path / "ref", {}, tmp_path)
        for p in (tmp_path / "ref").rglob("*.png"):
            got = np.asarray(Image.open(fs.open(f"/{root}/out/{p.name}", "rb")))
            assert np.array_equal(got, np.asarray(Image.open(p)))
        report, plan = _make(inp, out, {}, tmp_path)
        assert plan.already_done == 5 and report.written == []
    finally:
        fs.rm(f"/{root}", recursive=True)


HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from maskgate.make.batch import plan_targets
    from maskgate.make.resume import resume
    plan = resume(plan_targets(sys.argv[1], sys.argv[2], Path(sys.argv[3])), "negative", {})
    print("holding", flush=True)
    time.sleep(60)
    """
)


def test_a_second_run_on_the_same_out_is_refused_while_one_runs(tmp_path):
    _inputs(tmp_path / "in", 1)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    args = [str(tmp_path / "in"), str(tmp_path / "out"), str(tmp_path)]
    proc = subprocess.Popen([sys.executable, "-c", HOLD, *args], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        with pytest.raises(ResumeError, match="another maskgate make command is writing"):
            _make(tmp_path / "in", tmp_path / "out", {}, tmp_path)
    finally:
        proc.kill()
        proc.wait(30)
    report, plan = _make(tmp_path / "in", tmp_path / "out", {}, tmp_path)  # the lock died with it
    assert len(report.written) == 1


# ---------------------------------------------------------------- the real CLI, killed with SIGKILL


def _cli(*args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MASKGATE_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "maskgate", *args], env=env, capture_output=True, text=True, timeout=300, **kw
    )


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shots")
    (folder / "sub").mkdir()
    for i in range(12):
        img, _ = product_scene("ellipse" if i % 2 else "bottle", h=120, w=160, seed=i)
        Image.fromarray(img).save(folder / ("sub" if i % 4 == 3 else "") / f"p{i:02d}.png")
    return folder


def _entries(out: Path) -> int:
    try:
        lines = (out / JOURNAL).read_text().split("\n")[1:]
    except FileNotFoundError:
        return 0
    n = 0
    for line in lines:
        try:
            json.loads(line)["output"]
            n += 1
        except (ValueError, KeyError, TypeError):
            pass
    return n


def test_a_mask_run_killed_mid_way_resumes_to_the_files_of_an_uninterrupted_run(u2netp, shots, tmp_path):
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MASKGATE_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "maskgate", "mask", str(shots), "--out", str(out), "--fast"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kill_midway(proc, lambda: _entries(out) >= 3)
    done = _entries(out)
    assert 3 <= done < 12
    stamps = _mtimes(out)
    r = _cli("mask", str(shots), "--out", str(out), "--fast", "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["already_done"] == done and len(summary["written"]) == 12 - done
    assert " ".join(r.stderr.split()).count(f"{done} already done (skipped)") == 1
    redone = {Path(p).resolve() for p in summary["written"]}
    kept = {k: v for k, v in stamps.items() if (out / k).resolve() not in redone}
    assert len(kept) == done and all(_mtimes(out)[k] == v for k, v in kept.items())
    r = _cli("mask", str(shots), "--out", str(tmp_path / "whole"), "--fast")
    assert r.returncode == 0, r.stderr
    ref, got = _pixels(tmp_path / "whole"), _pixels(out)
    assert ref.keys() == got.keys() and len(ref) == 12
    assert all(np.array_equal(ref[k], got[k]) for k in ref)
    assert not [p for p in out.rglob("*") if uri.TMP_MARK in p.name]


def test_cli_refuses_to_resume_with_other_options_and_overwrite_redoes(u2netp, shots, tmp_path):
    one = tmp_path / "in"
    one.mkdir()
    for name in ("p00.png", "p01.png"):
        (one / name).write_bytes((shots / name).read_bytes())
    out = tmp_path / "out"
    assert _cli("isolate", str(one), "--out", str(out), "--fast").returncode == 0
    stamps = _mtimes(out)
    r = _cli("isolate", str(one), "--out", str(out), "--fast", "--bg", "black", "--json")
    said = " ".join(r.stderr.split())
    assert r.returncode == 2 and r.stdout == ""
    assert '--bg "white" (this run: "black")' in said and "--overwrite" in said
    assert _mtimes(out) == stamps
    r = _cli("isolate", str(one), "--out", str(out), "--fast", "--bg", "black", "--overwrite", "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["already_done"] == 0 and len(summary["written"]) == 2
    corner = np.asarray(Image.open(out / "p00.png"))[0, 0]
    assert corner.tolist()[:3] == [0, 0, 0]  # the new background, not a mix
    r = _cli("isolate", str(one), "--out", str(out), "--fast", "--bg", "black", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["already_done"] == 2


def test_an_unreadable_journal_stops_the_run_with_its_reason_and_changes_nothing(tmp_path):
    _inputs(tmp_path / "in", 2)
    out = tmp_path / "out"
    _make(tmp_path / "in", out, {}, tmp_path)
    (out / JOURNAL).unlink()
    (out / JOURNAL).mkdir()  # there, but not a file that can be read
    stamps = _mtimes(out)
    with pytest.raises(ResumeError, match="cannot read .*maskgate-make.jsonl, the journal"):
        _make(tmp_path / "in", out, {}, tmp_path)
    assert _mtimes(out) == stamps and (out / JOURNAL).is_dir()


def test_an_output_journaled_for_another_input_is_made_again_for_this_one(tmp_path):
    """Two INPUT folders with a file of the same name share its output name in one --out: the
    second run's input is not done because the first one's result is there."""
    _inputs(tmp_path / "a", 1)
    other = tmp_path / "b"
    other.mkdir()
    Image.fromarray(np.full((40, 40, 3), 7, np.uint8)).save(other / "shot0.png")
    _make(tmp_path / "a", tmp_path / "out", {}, tmp_path)
    report, plan = _make(other, tmp_path / "out", {}, tmp_path)
    assert plan.already_done == 0 and len(report.written) == 1
    assert (np.asarray(Image.open(tmp_path / "out" / "shot0.png")) == 248).all()  # b's negative
    report, plan = _make(tmp_path / "a", tmp_path / "out", {}, tmp_path)  # and back: a's again
    assert plan.already_done == 0 and len(report.written) == 1
    lines = (tmp_path / "out" / JOURNAL).read_text().splitlines()[1:]
    assert [json.loads(ln)["input"] for ln in lines] == [str((tmp_path / "a" / "shot0.png").absolute())]
