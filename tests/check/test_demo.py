"""`maskgate demo` end to end, offline: a drawn set, the real checker, the report."""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

from typer.testing import CliRunner

from maskgate.cli import app


def labels_of(d) -> list[str]:
    return [x for x in (d / "pairs" / "labels.jsonl").read_text().splitlines() if x.strip()]


def test_demo_runs_and_writes_results_and_report(tmp_path, checker):
    r = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--n-products", "1", "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)  # --json: one object on stdout, the messages on stderr
    assert summary["report"] == str(tmp_path / "check" / "report.html")
    assert sum(summary["verdicts"].values()) == summary["checked"] == len(labels_of(tmp_path))
    records = [json.loads(x) for x in (tmp_path / "check" / "results.jsonl").read_text().splitlines()]
    labels = [json.loads(x) for x in (tmp_path / "pairs" / "labels.jsonl").read_text().splitlines()]
    assert {x["id"] for x in records} == {x["id"] for x in labels}
    assert all(x["verdict"] in ("accept", "reject", "review") for x in records)
    html = (tmp_path / "check" / "report.html").read_text()
    assert 'id="metrics"' in html  # the demo set is labelled, so the report scores the check
    # the gallery's cards travel as a JSON island: every thumbnail and full-size link resolves
    island = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    cards = json.loads(island.group(1))["cards"]
    assert {c["id"] for c in cards} == {x["id"] for x in records}
    links = [im for c in cards for im in [c["im_o"], c["im_e"], *(e["im"] for e in c["ev"])]]
    assert any(c["ev"] for c in cards)  # evidence images among them
    assert all((tmp_path / "check" / unquote(s)).is_file() for im in links for s in im)
    # the clearest defects are caught
    by_id = {x["id"]: x for x in records}
    assert by_id["product00__iso_tiny"]["criteria"]["comprehensibility"]["pass"] is False
    assert by_id["product00__iso_residue_text"]["criteria"]["residue"]["pass"] is False
