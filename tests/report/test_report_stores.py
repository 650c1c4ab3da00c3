"""`maskgate report` reads a run through the output stores: the same page from results.jsonl and
from results.parquet, on disk and on memory://, with the thumbnails on this machine."""

from __future__ import annotations

import json
from pathlib import Path

import fsspec
import pytest
from typer.testing import CliRunner

from maskgate.check.runner import run_check
from maskgate.cli import app
from maskgate.report.html import write_report
from tests.check.standin import stand_in
from tests.check.test_runner import _write_pairs

from .test_report import parse

pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One manifest of four pairs (one whose edit is missing: an error record) checked into four
    stores: JSONL and Parquet, on disk and on memory://."""
    d = tmp_path_factory.mktemp("stores")
    m = _write_pairs(d, 3)
    with m.open("a") as f:
        f.write(json.dumps({"id": "gone", "original": "o0.png", "edited": "nowhere.png"}) + "\n")
    fs = fsspec.filesystem("memory")
    root = f"/report-stores-{id(d)}"
    for p in d.iterdir():
        fs.pipe_file(f"{root}/in/{p.name}", p.read_bytes())
    out = {}
    for where, manifest, base in (
        ("disk", m, str(d)),
        ("memory", f"memory://{root}/in/m.jsonl", f"memory://{root}"),
    ):
        for fmt in ("jsonl", "parquet"):
            run = f"{base}/run-{fmt}"
            run_check(manifest, run, progress=False, checker_factory=stand_in, fmt=fmt)
            out[where, fmt] = run
    return out


def _cards(path) -> dict[str, dict]:
    _, data = parse(path)
    return {c["id"]: c for c in data["cards"]}


def test_the_report_is_the_same_from_every_store(runs, tmp_path):
    pages = {}
    for (where, fmt), run in runs.items():
        html = write_report(run, tmp_path / f"{where}-{fmt}" / "report.html")
        pages[where, fmt] = _cards(html)
        text = html.read_text()
        assert "gone" in text and "nowhere.png" in text  # the error record is listed
    ref = pages["disk", "jsonl"]
    assert sorted(ref) == ["p0", "p1", "p2"]
    for key, cards in pages.items():
        assert cards.keys() == ref.keys(), key
        for pid, card in cards.items():
            same = {k: v for k, v in card.items() if k not in ("im_o", "im_e", "ev")}
            assert same == {k: v for k, v in ref[pid].items() if k not in ("im_o", "im_e", "ev")}, key
            assert len(card["ev"]) == len(ref[pid]["ev"]) > 0
            for im in [card["im_o"], card["im_e"], *(e["im"] for e in card["ev"])]:
                thumb, full = im
                assert thumb and (tmp_path / f"{key[0]}-{key[1]}" / thumb).is_file(), (key, im)
                if key[0] == "memory":  # the full-size view names the file where it is
                    assert full.startswith("memory://"), full


def test_report_cli_on_parquet_and_on_a_uri(runs, tmp_path):
    disk = runs["disk", "parquet"]
    r = CliRunner().invoke(app, ["report", f"{disk}/results.parquet", "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary == {"report": f"{disk}/report.html", "results": f"{disk}/results.parquet"}
    assert sorted(_cards(Path(disk) / "report.html")) == [
        "p0",
        "p1",
        "p2",
    ]

    remote = runs["memory", "jsonl"]
    r = CliRunner().invoke(app, ["report", remote])
    assert r.exit_code == 2 and "not on this machine" in " ".join(r.output.split())
    r = CliRunner().invoke(app, ["report", remote, "--out", str(tmp_path / "rep")])
    assert r.exit_code == 0, r.output
    assert sorted(_cards(tmp_path / "rep" / "report.html")) == ["p0", "p1", "p2"]

    r = CliRunner().invoke(app, ["report", runs["memory", "parquet"].rsplit("/", 1)[0] + "/nowhere"])
    assert r.exit_code == 2 and "no such results file" in r.output
