from __future__ import annotations

import json
from html.parser import HTMLParser

import numpy as np

from maskgate.core.record import PairRecord
from maskgate.io.images import save_image
from maskgate.report.html import write_report
from maskgate.report.metrics import criterion_metrics, verdict_metrics


def rec(i, verdict, fails=(), images=None):
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
        "kind": "isolated",
        "verdict": verdict,
        "score": 0.5,
        "criteria": crit,
        "notes": [],
        "error": None,
    }


LABELS = {
    "a": {"labels": {"residue": True, "quality": True}, "acceptable": True},
    "b": {"labels": {"residue": False, "quality": True}, "acceptable": False},
    "c": {"labels": {"residue": True, "quality": False}, "acceptable": False},
    "d": {"labels": {"residue": False, "quality": None}, "acceptable": False},
}
RECORDS = [
    rec("a", "accept"),
    rec("b", "reject", ["residue"]),
    rec("c", "accept", ["residue"]),
    rec("d", "review"),
]


def test_criterion_metrics_from_the_definitions():
    m = criterion_metrics([PairRecord.from_json(r) for r in RECORDS], LABELS)
    # residue: b caught (tp), c flagged wrongly (fp), d missed (fn), a tn
    assert (m["residue"]["tp"], m["residue"]["fp"], m["residue"]["fn"], m["residue"]["tn"]) == (1, 1, 1, 1)
    assert m["residue"]["precision"] == 0.5 and m["residue"]["recall"] == 0.5
    # quality: only c fails by label, never flagged; d is not applicable
    assert m["quality"]["n"] == 3 and m["quality"]["recall"] == 0.0


def test_verdict_metrics():
    v = verdict_metrics([PairRecord.from_json(r) for r in RECORDS], LABELS)
    assert v["accept_precision"] == 0.5  # a right, c wrong
    assert v["reject_precision"] == 1.0
    assert v["automation"] == 0.75


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.imgs = set(), []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "img":
            self.imgs.append(a["src"])


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
    p = _Ids()
    p.feed(out.read_text())
    assert {"summary", "criteria", "metrics", "verdict-metrics", "gallery", "errors"} <= p.ids
    html = out.read_text()
    assert "file not found: x.png" in html and "missing" in html
    for src in p.imgs:  # every thumbnail link resolves next to the report
        assert (tmp_path / src).is_file()
    assert any("residue_heatmap" in s for s in p.imgs)


def test_report_empty_run(tmp_path):
    out = write_report(_write(tmp_path, []))
    p = _Ids()
    p.feed(out.read_text())
    assert "metrics" not in p.ids and "0 pairs" in out.read_text()
