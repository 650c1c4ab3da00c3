"""The gallery's data: one compact card per checked pair, and the thumbnails the cards show.

The cards travel to the page as one JSON data island that a small script filters, sorts and pages
(templates/report.js), so a 10,000-pair run puts one page of images in the DOM, not 10,000.
Thumbnails are written under ``thumbs/`` next to the report and linked relatively, so the folder
can be zipped and sent; the full-size view links the files themselves.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from maskgate.check.verdict import Scoring
from maskgate.core.record import PairRecord
from maskgate.io import uri
from maskgate.io.images import ImageReadError, load_image, save_image
from maskgate.report.metrics import label_of, outcome

THUMB = 320
SKIP_EVIDENCE = {"product_mask"}  # a plain mask says less than the overlays drawn from it


# Paths are plain strings here, not pathlib: at 10,000 pairs pathlib took a third of the time.
def _resolve(src: str, base: str) -> str:
    """``src`` from a record, made absolute against the run folder ``base`` (a URI keeps its
    scheme; a URI ``base`` joins as one)."""
    if os.path.isabs(src) or uri.scheme(src):
        return src
    return str(uri.join(base, src)) if uri.scheme(base) else os.path.join(base, src)


def _href(p: str, base: str) -> str:
    """A relative URL from the report to ``p`` (quoted: ids and paths may hold '#', '?', spaces);
    a URI is linked as itself (a browser opens http(s) ones; s3:// names where the file is)."""
    if uri.scheme(p):
        return quote(p, safe=":/")
    p = os.path.normpath(p)
    rel = p[len(base) + 1 :] if p.startswith(base + os.sep) else os.path.relpath(p, base)
    return quote(rel.replace(os.sep, "/"))


def _num(x: float | None, digits: int) -> float | None:
    """A score for the JSON island: NaN or infinity (a hand-made or foreign record) becomes null
    rather than an invalid document."""
    return round(x, digits) if x is not None and math.isfinite(x) else None


class Thumbs:
    """Thumbnails named by their source's path, size and mtime: an original shared by many edits
    is shrunk once, a re-run reuses what is there, and a replaced file gets a new thumbnail."""

    def __init__(self, base: str):
        self.dir = os.path.join(base, "thumbs")
        self.todo: dict[str, str] = {}

    def name(self, src: str) -> str | None:
        if uri.scheme(src):
            key = self._remote_key(src)
            if key is None:
                return None
        else:
            try:
                st = os.stat(src)
            except OSError:
                return None
            key = f"{os.path.realpath(src)}|{st.st_size}|{st.st_mtime_ns}".encode()
        dest = os.path.join(self.dir, f"{hashlib.sha1(key).hexdigest()[:16]}.jpg")
        if dest not in self.todo and not os.path.exists(dest):
            self.todo[dest] = src
        return dest

    @staticmethod
    def _remote_key(src: str) -> bytes | None:
        """A URI's key: its size and whatever version stamp the store gives (mtime, ETag)."""
        try:
            fs, p = uri.filesystem(src)
            info = fs.info(p)
        except Exception:  # noqa: BLE001 - missing or unreachable: shown as missing, like a local file
            return None
        stamp = info.get("mtime") or info.get("LastModified") or info.get("ETag") or info.get("created")
        return f"{src}|{info.get('size')}|{stamp}".encode()

    def make(self, workers: int | None = None) -> set[str]:
        """Write the pending thumbnails (decoding releases the GIL, so threads help); the set of
        those whose source could not be read, which the cards then show as missing."""
        failed: set[str] = set()
        if not self.todo:
            return failed

        def one(item: tuple[str, str]) -> str | None:
            dest, src = item
            try:
                im = load_image(src, max_side=THUMB)
            except ImageReadError:
                return dest
            rgb = im.rgb
            if im.alpha is not None:  # transparency shown flattened on light grey
                a = im.alpha[..., None].astype(np.float32) / 255
                rgb = (rgb * a + 230 * (1 - a)).astype(np.uint8)
            save_image(dest, rgb, quality=85)
            return None

        with ThreadPoolExecutor(workers or min(8, os.cpu_count() or 1)) as pool:
            failed = {d for d in pool.map(one, self.todo.items()) if d is not None}
        self.todo.clear()
        return failed


def cards(
    records: Sequence[PairRecord],
    labels: Mapping[str, Mapping] | None,
    scoring: Scoring,
    base: str | Path,
    thumbs: bool = True,
    report_dir: str | Path | None = None,
) -> list[dict[str, Any]]:
    """The gallery's cards (short keys: the island is the bulk of a large report).

    Each criterion's state says where its score sits against its own thresholds: ``fail`` under
    reject, ``doubt`` between reject and accept (what sent the pair to a person), ``ok`` over
    accept, ``na`` not applicable or not judged.

    ``base``: the run folder the records' relative paths start from (local or a URI);
    ``report_dir``: where the page and ``thumbs/`` go (default: ``base``), which its links start from.
    """
    run = str(base) if uri.scheme(str(base)) else os.path.abspath(base)
    root = os.path.abspath(report_dir if report_dir is not None else base)
    tb = Thumbs(root)
    out: list[dict[str, Any]] = []
    pending: list[tuple[dict, str, str | None]] = []  # (dict, key, thumbnail) to fill in after make()

    def image(d: dict, key: str, src: str) -> None:
        if not src:
            d[key] = None
            return
        p = _resolve(src, run)
        t = tb.name(p) if thumbs else None
        d[key] = [None, _href(p, root)]  # [thumbnail, full size]
        pending.append((d, key, t))

    for r in records:
        if r.verdict == "error":
            continue
        lab = label_of(r, labels) or {}
        truth = lab.get("labels") if isinstance(lab.get("labels"), Mapping) else {}
        good = lab.get("acceptable") if isinstance(lab.get("acceptable"), bool) else None
        crits = []
        for c, cr in r.criteria.items():
            t = scoring.thresholds.get(scoring.scorer(c, r.kind))
            if cr.passed is None or t is None or _num(cr.score, 3) is None:
                state = "na"
            else:
                state = "fail" if cr.score < t.reject else "doubt" if cr.score < t.accept else "ok"
            crits.append(
                {
                    "c": c,
                    "s": _num(cr.score, 3),
                    "st": state,
                    "p": cr.passed,
                    "l": truth.get(c),
                    "a": None if t is None or t.accept > 1 else round(t.accept, 3),
                }
            )
        card: dict[str, Any] = {
            "id": r.id,
            "v": r.verdict,
            "k": r.kind or lab.get("kind"),
            "s": _num(r.score, 4),
            "g": good,
            "o": outcome(r.verdict, good),
            "d": lab.get("defect"),
            "cr": crits,
            "n": list(r.notes),
        }
        image(card, "im_o", r.original)
        image(card, "im_e", r.edited)
        ev: list[dict] = []
        for c, cr in r.criteria.items():
            for name, rel in cr.images.items():
                if name in SKIP_EVIDENCE:
                    continue
                e = {"label": f"{c}: {name}"}
                image(e, "im", rel)
                ev.append(e)
        card["ev"] = ev
        out.append(card)
    failed = tb.make() if thumbs else set()
    for d, key, t in pending:
        if t is not None and t not in failed:
            d[key][0] = _href(t, root)
    return out
