"""`maskgate check` as a user meets it: the summary it prints, and the errors that stop it at once."""

from __future__ import annotations

from typer.testing import CliRunner

from maskgate.cli import app
from tests.check.test_runner import _write_pairs


def test_missing_manifest_and_bad_folder_fail_with_the_reason(tmp_path):
    r = CliRunner().invoke(app, ["check", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "manifest not found" in r.output
    (tmp_path / "pairs" / "edited").mkdir(parents=True)
    r = CliRunner().invoke(app, ["check", str(tmp_path / "pairs"), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "originals/ and edited/" in r.output


def test_summary_counts_this_run_and_all_results(tmp_path, checker):
    m = _write_pairs(tmp_path, 2)
    out = tmp_path / "out"
    args = ["check", str(m), "--out", str(out), "--no-progress"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "2 pairs, 0 already done, 2 checked" in first.output
    assert f"report: {out / 'report.html'}" in first.output and (out / "report.html").is_file()
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "2 pairs, 2 already done, 0 checked" in again.output
    rows = [line for line in again.output.splitlines() if line.startswith("│")]
    table = {}
    for line in rows:
        name, now, total = (c.strip() for c in line.strip().strip("│").split("│"))
        table[name] = (int(now), int(total))
    assert set(table) == {"accept", "reject", "review", "error"}
    assert sum(v[0] for v in table.values()) == 0 and sum(v[1] for v in table.values()) == 2
