"""``report.html``: what a check run decided, how sure it was, and the pairs a person should see.

Thumbnails are written next to the report and linked relatively, so the folder can be zipped and
sent; the page has no external assets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape

from maskgate.core.record import PairRecord, read_records
from maskgate.core.types import CRITERIA, VERDICTS
from maskgate.io.images import ImageReadError, load_image, save_image
from maskgate.report.metrics import criterion_metrics, verdict_metrics

GALLERY_LIMIT = 200
THUMB = 320
COLORS = {"accept": "#2e7d32", "reject": "#c62828", "review": "#f9a825", "error": "#616161"}


def bar_svg(items: list[tuple[str, float, str]], width: int = 420, bar_h: int = 22) -> str:
    """Horizontal bars (label, value, colour) as an inline SVG string."""
    top = max((v for _, v, _ in items), default=1) or 1
    rows = []
    for i, (label, v, color) in enumerate(items):
        w = int((width - 170) * v / top)
        y = i * (bar_h + 6)
        rows.append(
            f'<text x="0" y="{y + 15}" font-size="13">{label}</text>'
            f'<rect x="120" y="{y}" width="{w}" height="{bar_h}" fill="{color}"/>'
            f'<text x="{125 + w}" y="{y + 15}" font-size="12">{v:g}</text>'
        )
    return f'<svg width="{width}" height="{len(items) * (bar_h + 6)}" role="img">{"".join(rows)}</svg>'


def histogram_svg(values: list[float], bins: int = 20, width: int = 420, height: int = 120) -> str:
    if not values:
        return "<p>no scores</p>"
    counts, _ = np.histogram(values, bins=bins, range=(0, 1))
    top = counts.max() or 1
    bw = width / bins
    bars = "".join(
        f'<rect x="{i * bw:.1f}" y="{height - 18 - c / top * (height - 24):.1f}" width="{bw - 2:.1f}" '
        f'height="{c / top * (height - 24):.1f}" fill="#1565c0"><title>{i / bins:.2f}-{(i + 1) / bins:.2f}: {c}</title></rect>'
        for i, c in enumerate(counts)
    )
    axis = f'<text x="0" y="{height - 2}" font-size="11">0</text><text x="{width - 10}" y="{height - 2}" font-size="11">1</text>'
    return f'<svg width="{width}" height="{height}" role="img">{bars}{axis}</svg>'


def _thumb(src: str | Path, dest: Path, base: Path) -> str | None:
    """Write a small JPEG of ``src`` (relative to ``base`` if not absolute); None when unreadable."""
    p = Path(src)
    if not p.is_absolute():
        p = base / p
    if dest.exists():
        return str(dest.relative_to(base))
    try:
        im = load_image(p, max_side=THUMB)
    except ImageReadError:
        return None
    rgb = im.rgb
    if im.alpha is not None:  # a chequer-free flattening on light grey shows transparency
        a = im.alpha[..., None].astype(np.float32) / 255
        rgb = (rgb * a + 230 * (1 - a)).astype(np.uint8)
    save_image(dest, rgb, quality=85)
    return str(dest.relative_to(base))


def write_report(results_path: Path, out_path: Path | None = None, labels: dict | None = None) -> Path:
    results_path = Path(results_path)
    base = results_path.parent
    out_path = Path(out_path) if out_path else base / "report.html"
    records = read_records(results_path) if results_path.exists() else []
    if labels is None:  # labels carried in the manifest travel in the records
        labels = {r.id: r.extra for r in records if r.labels is not None}
    counts = {v: sum(r.verdict == v for r in records) for v in VERDICTS}
    per_crit = {c: {"fail": 0, "pass": 0, "n/a": 0} for c in CRITERIA}
    for r in records:
        for c in CRITERIA:
            v = r.passed(c)
            per_crit[c]["fail" if v is False else "pass" if v is True else "n/a"] += 1
    gallery = [
        _card(r, base) for r in [r for r in records if r.verdict in ("reject", "review")][:GALLERY_LIMIT]
    ]
    env = Environment(
        loader=PackageLoader("maskgate.report", "templates"), autoescape=select_autoescape(["html", "j2"])
    )
    html = env.get_template("report.html.j2").render(
        n=len(records),
        counts=counts,
        verdict_svg=bar_svg([(k, v, COLORS[k]) for k, v in counts.items()]),
        criteria_svg=bar_svg([(c, per_crit[c]["fail"], "#c62828") for c in CRITERIA]),
        per_crit=per_crit,
        hist_svg=histogram_svg([r.score for r in records if r.score is not None]),
        crit_metrics=criterion_metrics(records, labels) if labels else None,
        verdict_metrics=verdict_metrics(records, labels) if labels else None,
        gallery=gallery,
        gallery_total=sum(r.verdict in ("reject", "review") for r in records),
        errors=[{"id": r.id, "error": r.error} for r in records if r.verdict == "error"],
        criteria=CRITERIA,
    )
    out_path.write_text(html, encoding="utf-8")
    return out_path


def _card(r: PairRecord, base: Path) -> dict:
    """One gallery card: thumbnails of the pair and of its evidence, the failing criteria."""
    thumbs = base / "thumbs"
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in r.id)
    ev = []
    for c, res in r.criteria.items():
        for name, rel in res.images.items():
            if name == "product_mask":
                continue
            t = _thumb(rel, thumbs / f"{safe}_{c}_{name}.jpg", base)
            ev.append({"label": f"{c}: {name}", "src": t})
    return {
        "id": r.id,
        "verdict": r.verdict,
        "score": r.score,
        "kind": r.kind,
        "original": _thumb(r.original, thumbs / f"{safe}_o.jpg", base) if r.original else None,
        "edited": _thumb(r.edited, thumbs / f"{safe}_e.jpg", base) if r.edited else None,
        "failing": [(c, round(v.score, 2)) for c, v in r.criteria.items() if v.passed is False],
        "notes": list(r.notes),
        "evidence": ev,
    }
