"""The report's plots: altair (Vega-Lite) specs rendered to inline SVG by vl-convert.

Why SVG from vl-convert: the report must open offline and travel as a zipped folder, so it cannot
load vega/vega-lite/vega-embed from a CDN. vl-convert bundles the Vega runtime and renders the
chart in-process, so the page gets a finished SVG with real axes and no JavaScript to ship; the
price is no hover interactivity on the plots, which the gallery's filters replace. The data are
aggregated here (histogram bins, threshold grid) so a 10,000-pair run makes specs of the same size
as a 10-pair one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd
import vl_convert as vlc

COLORS = {"accept": "#2e7d32", "review": "#f9a825", "reject": "#c62828", "error": "#616161"}
METRIC_COLORS = {
    "precision of accepts": "#1565c0",
    "good edits accepted": "#2e7d32",
    "decided alone": "#ef6c00",
}


def svg(chart: alt.TopLevelMixin) -> str:
    out = vlc.vegalite_to_svg(chart.to_dict())
    return out[out.index("<svg") :]  # drop the XML declaration: the SVG is inlined in HTML


def verdict_bars(counts: Mapping[str, int]) -> str:
    df = pd.DataFrame({"verdict": list(counts), "pairs": list(counts.values())})
    bars = (
        alt.Chart(df)
        .mark_bar()
        .encode(
            y=alt.Y("verdict:N", sort=list(counts), title=None),
            x=alt.X("pairs:Q", title="pairs"),
            color=alt.Color(
                "verdict:N",
                scale=alt.Scale(domain=list(COLORS), range=list(COLORS.values())),
                legend=None,
            ),
            tooltip=["verdict", "pairs"],
        )
    )
    text = bars.mark_text(align="left", dx=3).encode(text="pairs:Q", color=alt.value("#222"))
    return svg((bars + text).properties(width=300, height=110))


def criterion_bars(per_crit: Mapping[str, Mapping[str, int]]) -> str:
    rows = [{"criterion": c, "outcome": o, "pairs": n} for c, d in per_crit.items() for o, n in d.items()]
    order = ["fail", "pass", "n/a"]
    chart = (
        alt.Chart(pd.DataFrame(rows))
        .mark_bar()
        .encode(
            y=alt.Y("criterion:N", sort=list(per_crit), title=None),
            x=alt.X("pairs:Q", title="pairs", stack="zero"),
            color=alt.Color(
                "outcome:N",
                scale=alt.Scale(domain=order, range=["#c62828", "#81c784", "#cfd8dc"]),
                sort=order,
                title=None,
            ),
            order=alt.Order("rank:Q"),
        )
        .transform_calculate(rank="indexof(['fail', 'pass', 'n/a'], datum.outcome)")
        .properties(width=300, height=150)
    )
    return svg(chart)


def score_histogram(scores_by_verdict: Mapping[str, Sequence[float]], bins: int = 20) -> str:
    """The overall score (the lowest criterion score), stacked by verdict, on a fixed [0, 1] axis."""
    edges = np.linspace(0, 1, bins + 1)
    rows = []
    for v, vals in scores_by_verdict.items():
        counts, _ = np.histogram(np.asarray(vals, float), bins=edges)
        rows += [
            {"verdict": v, "lo": float(edges[i]), "hi": float(edges[i + 1]), "pairs": int(n)}
            for i, n in enumerate(counts)
            if n
        ]
    if not rows:
        return "<p>no scores</p>"
    chart = (
        alt.Chart(pd.DataFrame(rows))
        .mark_bar()
        .encode(
            x=alt.X("lo:Q", scale=alt.Scale(domain=[0, 1]), title="overall score (lowest criterion score)"),
            x2="hi:Q",
            y=alt.Y("sum(pairs):Q", stack="zero", title="pairs"),
            color=alt.Color(
                "verdict:N",
                scale=alt.Scale(domain=list(COLORS), range=list(COLORS.values())),
                title=None,
            ),
        )
        .properties(width=340, height=150)
    )
    return svg(chart)


def threshold_curves(rows: list[dict], points: list[dict]) -> str:
    """One panel per scorer: the three verdict figures against its accept threshold, the shipped
    threshold drawn as a rule with its figures as dots. A scorer that never accepts alone has its
    threshold past 1 and no rule."""
    if not rows:
        return "<p>no labelled pairs with an acceptable label</p>"
    shipped = [{**p, "layer": "shipped"} for p in points if p["threshold"] <= 1]
    df = pd.DataFrame([{**r, "layer": "curve"} for r in rows] + shipped)
    color = alt.Color(
        "metric:N",
        scale=alt.Scale(domain=list(METRIC_COLORS), range=list(METRIC_COLORS.values())),
        title=None,
        legend=alt.Legend(orient="top"),
    )
    x = alt.X("threshold:Q", scale=alt.Scale(domain=[0, 1]), title="accept threshold")
    y = alt.Y("value:Q", scale=alt.Scale(domain=[0, 1]), title="share")
    curve = alt.Chart().mark_line(strokeWidth=1.6).encode(x=x, y=y, color=color)
    curve = curve.transform_filter("datum.layer == 'curve'")
    rule = alt.Chart().mark_rule(color="#555", strokeDash=[3, 3]).encode(x="threshold:Q")
    dots = alt.Chart().mark_point(filled=True, size=45, opacity=1).encode(x=x, y=y, color=color)
    layers = [curve]
    if shipped:
        layers += [r.transform_filter("datum.layer == 'shipped'") for r in (rule, dots)]
    chart = (
        alt.layer(*layers, data=df)
        .properties(width=210, height=140)
        .facet(facet=alt.Facet("scorer:N", title=None), columns=3)
    )
    return svg(chart)
