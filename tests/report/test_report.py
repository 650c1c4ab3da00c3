from __future__ import annotations

import json
from html.parser import HTMLParser

import numpy as np
import pytest
from typer.testing import CliRunner

from maskgate.check.verdict import Calibration, Thresholds
from maskgate.cli import app as cli
from maskgate.core.record import PairRecord, read_records
from maskgate.io.images import save_image
from maskgate.report.html import write_report
from maskgate.report.labels import LabelError, read_labels
from maskgate.report.metrics import (
    Decisions,
    by_kind,
    criterion_metrics,
    defect_table,
    outcome,
    verdict_confusion,
    verdict_metrics,
)

from .conftest import demo_run


def rec(i, verdict, fails=(), images=None, kind="isolated"):
    crit = {
        c: {"pass": c not in fails, "score": 0.1 if c in fails else 0.9, "evidence": {}}
        for c in ("residue", "quality")
    }
    if images:
        crit["residue"]["evidence"]["images"] = images
    return {
        "id": i,
        "original": "o.png",
        "edited": "e.png",
        "kind": kind,
        "verdict": verdict,
        "score": 0.5,
        "criteria": crit,
        "notes": [],
        "error": None,
    }


LABELS = {
    "a": {"labels": {"residue": True, "quality": True}, "acceptable": True, "defect": "ok"},
    "b": {"labels": {"residue": False, "quality": True}, "acceptable": False, "defect": "badge"},
    "c": {"labels": {"residue": True, "quality": False}, "acceptable": False, "defect": "blur"},
    "d": {"labels": {"residue": False, "quality": None}, "acceptable": False, "defect": "badge"},
    "e": {"labels": {"residue": True, "quality": True}, "acceptable": True, "defect": "ok"},
}
RECORDS = [
    rec("a", "accept"),
    rec("b", "reject", ["residue"]),
    rec("c", "accept", ["residue"]),
    rec("d", "review"),
    rec("e", "reject", ["quality"], kind="inpainted"),
]


def recs():
    return [PairRecord.from_json(r) for r in RECORDS]


def test_criterion_metrics_from_the_definitions():
    m = criterion_metrics(recs()[:4], LABELS)
    # residue: b caught (tp), c flagged wrongly (fp), d missed (fn), a tn
    assert (m["residue"]["tp"], m["residue"]["fp"], m["residue"]["fn"], m["residue"]["tn"]) == (1, 1, 1, 1)
    assert m["residue"]["precision"] == 0.5 and m["residue"]["recall"] == 0.5
    # quality: only c fails by label, never flagged; d is not applicable
    assert m["quality"]["n"] == 3 and m["quality"]["recall"] == 0.0


def test_verdict_metrics():
    v = verdict_metrics(recs()[:4], LABELS)
    assert v["accept_precision"] == 0.5  # a right, c wrong
    assert v["reject_precision"] == 1.0
    assert v["automation"] == 0.75


def test_outcomes_confusion_per_kind_and_defects():
    assert [outcome(r.verdict, LABELS[r.id]["acceptable"]) for r in recs()] == [
        "right",
        "right",
        "false accept",
        "review",
        "false reject",
    ]
    conf = verdict_confusion(recs(), LABELS)
    assert list(conf) == ["all", "inpainted", "isolated"]
    assert conf["all"]["accept"] == {"good": 1, "bad": 1} and conf["all"]["reject"] == {"good": 1, "bad": 1}
    assert conf["inpainted"]["reject"]["good"] == 1 and conf["inpainted"]["accept"] == {"good": 0, "bad": 0}
    kinds = by_kind(recs(), LABELS)
    assert kinds["inpainted"]["quality"]["fp"] == 1 and kinds["inpainted"]["residue"]["n"] == 1
    assert kinds["isolated"]["residue"] == criterion_metrics(recs()[:4], LABELS)["residue"]
    rows = {d["defect"]: d for d in defect_table(recs(), LABELS)}
    assert rows["badge"]["n"] == 2 and rows["badge"]["reject"] == 1 and rows["badge"]["review"] == 1
    assert rows["badge"]["failed_by"] == [("residue", 1)]
    assert rows["ok"]["false reject"] == 1 and rows["blur"]["false accept"] == 1


def test_shipped_point_is_the_recorded_verdicts_and_curves_are_monotone(tmp_path):
    results, labels = demo_run(tmp_path, n=300, seed=3, images=False)
    records, lab = read_records(results), read_labels([labels])
    dec = Decisions.build(records, lab, Calibration.load())
    assert dec.mismatches() == 0  # demo_run decides with the packaged thresholds
    rows, points = dec.curves()
    vm = verdict_metrics(records, lab)
    for p in points:  # each scorer's shipped dot is the run's own verdict figures
        want = {
            "precision of accepts": vm["accept_precision"],
            "good edits accepted": vm["good_accepted"],
            "decided alone": vm["automation"],
        }[p["metric"]]
        assert p["value"] == pytest.approx(want)
    for key in dec.keys:  # a stricter accept threshold accepts fewer pairs
        for metric in ("good edits accepted", "decided alone"):
            ys = [r["value"] for r in rows if r["scorer"] == key and r["metric"] == metric]
            assert len(ys) == 101 and all(a >= b for a, b in zip(ys, ys[1:], strict=False))
    # a record decided by other thresholds is counted, not silently redrawn
    changed = [PairRecord.from_json({**records[0].to_json(), "verdict": "accept"}), *records[1:]]
    assert Decisions.build(changed, lab, Calibration.load()).mismatches() == (records[0].verdict != "accept")


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.imgs, self.scripts, self._in = set(), [], [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "img" and a.get("src"):
            self.imgs.append(a["src"])
        if tag == "script":
            self._in = a.get("id", "")
            self.scripts.append([self._in, ""])

    def handle_data(self, data):
        if self._in is not None:
            self.scripts[-1][1] += data

    def handle_endtag(self, tag):
        if tag == "script":
            self._in = None


def parse(path):
    p = _Page()
    p.feed(path.read_text())
    return p, json.loads(dict(p.scripts)["report-data"])


def _write(tmp_path, records):
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return tmp_path / "results.jsonl"


def test_report_with_labels_images_and_missing_files(tmp_path):
    img = np.full((40, 60, 3), 200, np.uint8)
    save_image(tmp_path / "o.png", img)
    save_image(tmp_path / "e.png", img)
    save_image(tmp_path / "evidence" / "b" / "residue_heatmap.png", img)
    records = [*RECORDS, {**rec("x", "error"), "criteria": {}, "error": "file not found: x.png"}]
    records[1] = rec("b", "reject", ["residue"], images={"heatmap": "evidence/b/residue_heatmap.png"})
    records[3] = {**rec("d", "review"), "edited": "gone.png"}
    out = write_report(_write(tmp_path, records), labels=LABELS)
    page, data = parse(out)
    assert {
        "summary",
        "criteria",
        "metrics",
        "verdict-metrics",
        "confusion",
        "defect-table",
        "gallery",
    } <= page.ids
    assert "errors" in page.ids and "file not found: x.png" in out.read_text()
    assert page.imgs == []  # the gallery's images come from the data island, a page at a time
    cards = {c["id"]: c for c in data["cards"]}
    assert set(cards) == {"a", "b", "c", "d", "e"}  # error records are in the errors table
    for c in cards.values():  # every thumbnail and full-size link resolves next to the report
        for im in [c["im_o"], c["im_e"], *(e["im"] for e in c["ev"])]:
            if im[0]:
                assert (tmp_path / im[0]).is_file()
    assert cards["d"]["im_e"] == [None, "gone.png"]  # missing: no thumbnail, the card says so
    assert [e["label"] for e in cards["b"]["ev"]] == ["residue: heatmap"]
    assert (tmp_path / cards["b"]["ev"][0]["im"][1]).is_file()
    assert (cards["c"]["g"], cards["c"]["o"], cards["e"]["o"]) == (False, "false accept", "false reject")
    assert cards["a"]["im_o"][0] == cards["b"]["im_o"][0]  # one original, one thumbnail


def test_doubtful_criteria_are_placed_by_the_run_thresholds(tmp_path):
    cal = Calibration.load()
    t = cal.thresholds["quality"]
    mid = (t.reject + t.accept) / 2
    r = rec("m", "review")
    r["criteria"]["quality"]["score"] = mid
    r["criteria"]["residue"]["score"] = 0.999
    _, data = parse(write_report(_write(tmp_path, [r]), scoring=cal))
    states = {c["c"]: (c["st"], c["a"]) for c in data["cards"][0]["cr"]}
    assert states["quality"] == ("doubt", round(t.accept, 3)) and states["residue"][0] == "ok"
    # a scorer that never accepts alone (a learned model's 1.01) leaves every score doubtful
    cal.thresholds["residue"] = Thresholds(0.5, 1.01, -0.01)
    _, data = parse(write_report(_write(tmp_path, [r]), scoring=cal))
    states = {c["c"]: (c["st"], c["a"]) for c in data["cards"][0]["cr"]}
    assert states["residue"] == ("doubt", None)


def test_hostile_id_cannot_break_out_of_the_data_island(tmp_path):
    evil = '</script><script>document.title="owned"</script>&<!--'
    out = write_report(_write(tmp_path, [rec(evil, "review")]))
    page, data = parse(out)
    assert [s[0] for s in page.scripts] == ["report-data", ""]
    assert data["cards"][0]["id"] == evil


def test_foreign_record_with_nan_and_unknown_criterion(tmp_path):
    r = rec("n", "review")
    r["score"] = float("nan")  # json.dumps writes NaN, and PairRecord reads it
    r["criteria"]["residue"]["score"] = float("nan")
    r["criteria"]["sharpness"] = {"pass": False, "score": 0.2, "evidence": {}}
    _, data = parse(write_report(_write(tmp_path, [r])))
    card = data["cards"][0]
    states = {c["c"]: (c["s"], c["st"]) for c in card["cr"]}
    assert card["s"] is None and states["residue"] == (None, "na") and states["sharpness"] == (0.2, "na")


def test_report_empty_run(tmp_path):
    out = write_report(_write(tmp_path, []))
    page, data = parse(out)
    assert "metrics" not in page.ids and "0 pairs" in out.read_text() and data["cards"] == []


def test_labels_files_merge_and_bad_lines_name_file_and_line(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text('{"id": "p", "acceptable": true}\n\n{"id": "q", "acceptable": false}\n')
    b.write_text('{"id": "p", "acceptable": false, "defect": "blur"}\n')
    got = read_labels([a, b])
    assert got["p"]["acceptable"] is False and got["q"]["acceptable"] is False
    # read as a manifest reads labels; an export's adjudicated answer outranks its reviewers'
    a.write_text(
        '{"id": "p", "acceptable": "yes", "labels": {"residue": 0, "quality": ""}}\n'
        '{"id": "r", "acceptable": false, "final": {"acceptable": true, "labels": {"residue": true}}}\n'
        '{"id": "r", "acceptable": false, "labels": {"residue": false}}\n'
        '{"id": "h", "label": 1}\n'
    )
    got = read_labels([a])
    assert got["p"]["acceptable"] is True and got["p"]["labels"] == {"residue": False, "quality": None}
    assert got["r"]["acceptable"] is True and got["r"]["labels"] == {"residue": True}
    assert got["h"]["acceptable"] is True
    for text, why in [
        ('{"id": "p"}\n{"id": ', "line 2: not JSON"),
        ('{"acceptable": true}\n', "line 1: expected an object with a string 'id'"),
        ('{"id": "p", "labels": ["residue"]}\n', "line 1: 'labels' must map"),
        ('{"id": "p", "labels": {"residue": "maybe"}}\n', "line 1: labels.residue: 'maybe' is not a label"),
        ('{"id": "p", "acceptable": 7}\n', "line 1: 'acceptable': 7 is not a label"),
    ]:
        a.write_text(text)
        with pytest.raises(LabelError, match=why) as e:
            read_labels([a])
        assert str(a) in str(e.value)


def test_cli_report_several_labels_and_a_bad_one_loses_nothing(tmp_path):
    results, labels = demo_run(tmp_path / "run", n=30, images=False)
    more = tmp_path / "more.jsonl"
    first = json.loads(labels.read_text().splitlines()[0])
    more.write_text(
        json.dumps({**first, "defect": "relabelled", "acceptable": not first["acceptable"]}) + "\n"
    )
    res = CliRunner().invoke(
        cli, ["report", str(results.parent), "--labels", str(labels), "--labels", str(more)]
    )
    assert res.exit_code == 0, res.output
    report = results.parent / "report.html"
    _, data = parse(report)
    card = next(c for c in data["cards"] if c["id"] == first["id"])
    assert card["d"] == "relabelled" and card["g"] is (not first["acceptable"])
    before = report.read_text()
    more.write_text("not json\n")
    res = CliRunner().invoke(cli, ["report", str(results), "--labels", str(more)])
    assert res.exit_code == 2 and "line 1: not JSON" in res.output
    assert report.read_text() == before
    res = CliRunner().invoke(cli, ["report", str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and "no results.jsonl" in res.output
    res = CliRunner().invoke(cli, ["report", str(results), "--calibration", str(tmp_path / "no.json")])
    assert res.exit_code == 2 and "no such calibration file" in res.output
    res = CliRunner().invoke(
        cli, ["report", str(results), "--calibration", str(labels), "--model", str(tmp_path)]
    )
    assert res.exit_code == 2 and "not both" in res.output
    assert report.read_text() == before


def test_ten_thousand_pairs_render_fast_and_as_data(tmp_path):
    import time

    results, labels = demo_run(tmp_path, n=10_000, images=False)
    lab = read_labels([labels])
    t = time.perf_counter()
    out = write_report(results, labels=lab)
    took = time.perf_counter() - t
    assert took < 90, f"{took:.1f} s for 10,000 pairs"  # about 11 s on a busy 2-core machine
    page, data = parse(out)
    assert len(data["cards"]) == 10_000 and page.imgs == []
    assert {"confusion", "curve-plot", "defect-table"} <= page.ids
