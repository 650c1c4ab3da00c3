"""`maskgate check --engine / --format` as a user meets them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from maskgate.cli import app
from tests.check.test_runner import _write_pairs


@pytest.mark.parametrize(
    "args, says",
    [
        (["--engine", "spark"], "unknown engine 'spark'"),
        (["--format", "csv"], "--format must be one of jsonl, parquet"),
        (["--engine", "ray", "--batch-size", "0"], "at least 1"),
    ],
)
def test_bad_engine_or_format_options_stop_before_any_work(tmp_path, args, says):
    m = _write_pairs(tmp_path, 1)
    r = CliRunner().invoke(app, ["check", str(m), "--out", str(tmp_path / "o"), *args])
    assert r.exit_code == 2 and says in r.output
    assert not (tmp_path / "o" / "results.jsonl").exists()


def test_parquet_output_resumes_and_says_there_is_no_html_report(tmp_path):
    from maskgate.models.registry import MissingModelError, resolve_model

    try:
        resolve_model("u2netp")
    except MissingModelError as e:
        pytest.skip(str(e))
    m = _write_pairs(tmp_path, 2)
    out = tmp_path / "out"
    args = ["check", str(m), "--out", f"file://{out}", "--format", "parquet", "--no-progress"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "2 pairs, 0 already done, 2 checked" in first.output
    assert f"results: {out / 'results.parquet'}" in first.output and "report: none" in first.output
    assert len(list((out / "results.parquet").glob("part-*.parquet"))) == 1
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "2 pairs, 2 already done, 0 checked" in again.output
    as_json = CliRunner().invoke(app, [*args, "--json"])  # the summary names the Parquet store
    assert as_json.exit_code == 0, as_json.output
    summary = json.loads(as_json.stdout)
    assert summary["results"] == str(out / "results.parquet") and summary["report"] is None
    assert summary["pairs"] == 2 and summary["already_done"] == 2 and summary["checked"] == 0


@pytest.mark.parametrize("io", [["-", "--out", "m.png"], ["in.png", "--out", "-"]])
def test_standard_input_or_output_stays_on_the_local_engine(tmp_path, io):
    r = CliRunner().invoke(app, ["mask", *io, "--engine", "ray"], input=b"not read")
    assert r.exit_code == 2 and r.stdout == ""
    assert "without --engine ray" in " ".join(r.stderr.split())


@pytest.mark.parametrize("verb", ["mask", "text-mask", "isolate", "erase"])
def test_make_workers_need_the_ray_engine(tmp_path, verb):
    r = CliRunner().invoke(app, [verb, str(tmp_path), "--out", str(tmp_path / "o"), "--workers", "2"])
    assert r.exit_code == 2 and "needs --engine ray" in " ".join(r.stderr.split())
    r = CliRunner().invoke(app, [verb, str(tmp_path), "--out", str(tmp_path / "o"), "--engine", "spark"])
    assert r.exit_code == 2 and "unknown engine 'spark'" in " ".join(r.stderr.split())
