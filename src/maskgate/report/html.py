"""``report.html``: what a check run decided, where it was wrong against the labels, and every pair
to look at.

The page has no external assets: the plots are inline SVG (see ``charts``), the gallery is a JSON
data island rendered a page at a time by an inline script, and the thumbnails sit in ``thumbs/``
next to it, so the folder can be zipped and sent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from maskgate.check.model import LearnedModel, load_scoring
from maskgate.check.verdict import Calibration, Scoring
from maskgate.core.types import CRITERIA, KINDS, VERDICTS
from maskgate.io import uri
from maskgate.io.store import find_results
from maskgate.report import charts
from maskgate.report.gallery import cards
from maskgate.report.metrics import (
    Decisions,
    by_kind,
    criterion_metrics,
    defect_table,
    label_of,
    verdict_confusion,
    verdict_metrics,
)

PAGE_SIZE = 24


def _island(data: object) -> Markup:
    """JSON safe inside <script type="application/json">: '<' escaped so no id or path in the
    data can close the script element."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def write_report(
    results_path: str | Path,
    out_path: Path | None = None,
    labels: Mapping[str, Mapping] | None = None,
    scoring: str | Path | Calibration | LearnedModel | None = None,
    thumbs: bool = True,
) -> Path:
    """Write the report of ``results_path``: a check run's folder, its ``results.jsonl`` or its
    ``results.parquet``, local or an fsspec URI (read through :mod:`maskgate.io.store`).

    ``out_path``: the HTML file (default: ``report.html`` in the run folder); a run on a URI needs
    one on this machine, because the thumbnails are files beside the page. Its full-size links
    then name the images' URIs.

    ``labels``: id -> label line; without it the labels the manifest carried into the records are
    used. ``scoring``: the calibration or model folder the run was scored with (default: the
    packaged calibration); its thresholds place each score (doubtful or not) and draw the curves.
    ``thumbs=False`` links nothing but the full-size files (tests, and very large runs in a hurry).
    """
    store, run = find_results(results_path)
    local_run = uri.local_path(run)
    if out_path is None and local_run is None:
        raise ValueError(
            f"{run} is not on this machine: give a local folder for report.html and its thumbnails (--out)"
        )
    out_path = Path(out_path) if out_path else Path(str(local_run)) / "report.html"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    records = list(store.records())
    sc: Scoring = load_scoring(scoring)
    if labels is None:  # labels carried in the manifest travel in the records
        carried = {r.id: r.extra for r in records if label_of(r, None) is not None}
        labels = carried or None
    counts = {v: sum(r.verdict == v for r in records) for v in VERDICTS}
    per_crit = {c: {"fail": 0, "pass": 0, "n/a": 0} for c in CRITERIA}
    for r in records:
        for c in CRITERIA:
            v = r.passed(c)
            per_crit[c]["fail" if v is False else "pass" if v is True else "n/a"] += 1
    scores = {
        v: [r.score for r in records if r.verdict == v and r.score is not None and math.isfinite(r.score)]
        for v in VERDICTS
    }
    dec = Decisions.build(records, labels, sc)
    curves = dec.curves() if labels else ([], [])
    defects = defect_table(records, labels) if labels else []
    env = Environment(
        loader=PackageLoader("maskgate.report", "templates"), autoescape=select_autoescape(["html", "j2"])
    )
    asset = resources.files("maskgate.report").joinpath("templates")
    html = env.get_template("report.html.j2").render(
        n=len(records),
        counts=counts,
        verdict_svg=Markup(charts.verdict_bars(counts)),
        criteria_svg=Markup(charts.criterion_bars(per_crit)),
        hist_svg=Markup(charts.score_histogram(scores)),
        per_crit=per_crit,
        crit_metrics=criterion_metrics(records, labels) if labels else None,
        kind_metrics=by_kind(records, labels) if labels else None,
        confusion=verdict_confusion(records, labels) if labels else None,
        verdict_metrics=verdict_metrics(records, labels) if labels else None,
        curves_svg=Markup(charts.threshold_curves(*curves)) if labels else None,
        mismatches=dec.mismatches(),
        checked=len(dec.verdicts),
        defects=defects,
        errors=[{"id": r.id, "error": r.error} for r in records if r.verdict == "error"],
        criteria=CRITERIA,
        kinds=KINDS,
        island=_island(
            {
                "cards": cards(records, labels, sc, run, thumbs=thumbs, report_dir=out_path.parent),
                "page": PAGE_SIZE,
                "criteria": CRITERIA,
            }
        ),
        script=Markup(asset.joinpath("report.js").read_text(encoding="utf-8")),
        style=Markup(asset.joinpath("report.css").read_text(encoding="utf-8")),
    )
    out_path.write_text(html, encoding="utf-8")
    return out_path
