"""A dataset folder FiftyOne imports with ``fo.Dataset.from_dir(OUT, fo.types.FiftyOneDataset)``:
FiftyOne's serialized-JSON layout (``metadata.json`` without a ``version``, which FiftyOne reads
as its legacy format, plus ``samples.json``), one sample per pair.

This layout is plain JSON, so maskgate writes it without FiftyOne installed. Each sample is the
edit (``filepath``) with the check's verdict, score and kind, one ``<criterion>_pass`` and
``<criterion>_score`` field per criterion, the labels when there are any, and the original's
product and overlay masks as ``Segmentation`` fields whose PNGs are under ``OUT/masks/``. The
masks are in the original's frame: on an edit that keeps it (cut-outs, erasures) they line up.
A field that is unknown for a sample is left out of it rather than written as null, so FiftyOne
infers every field's type from the samples that have one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2

from maskgate import __version__
from maskgate.core.record import evidence_dirname
from maskgate.core.types import CRITERIA
from maskgate.export.source import ExportReport, Item, Source, fresh_dir


def sample(it: Item, out: Path, rep: ExportReport) -> dict[str, Any]:
    rec = it.record
    s: dict[str, Any] = {
        "filepath": str(it.edited.resolve()),
        "tags": [rec.verdict],
        "maskgate_id": rec.id,
        "original_filepath": str(it.original.resolve()),
        "kind": rec.kind,
        "verdict": rec.verdict,
        "score": rec.score,
        "source_overlay": rec.source_overlay,
    }
    for c in CRITERIA:
        cr = rec.criteria.get(c)
        if cr is not None:
            s[f"{c}_pass"] = cr.passed
            s[f"{c}_score"] = cr.score
    lab = it.label()
    if lab is not None:
        s["label_source"] = lab.source
        s["acceptable"] = lab.acceptable
        for c in CRITERIA:
            s[f"label_{c}"] = lab.labels.get(c)
    for field, got in (("product_mask", it.product_mask()), ("overlay_mask", it.overlay_mask())):
        if got is None:
            continue
        p = out / "masks" / field / f"{evidence_dirname(rec.id)}.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(p), got[0].astype("uint8") * 255):
            rep.problems.append(f"{rec.id}: could not write {p}")
            continue
        s[field] = {"_cls": "Segmentation", "mask_path": str(p.resolve()), "tags": []}
        s[f"{field}_source"] = got[1]
        rep.masks += 1
    return {k: v for k, v in s.items() if v is not None}


def write_fiftyone(src: Source, out: Path, **_: Any) -> ExportReport:
    fresh_dir(out)
    rep = ExportReport("fiftyone", out, problems=src.problems)
    samples = [sample(it, out, rep) for it in src.items]
    meta = {
        "name": f"maskgate-{src.results.parent.name}",
        "media_type": "image",
        "info": {"maskgate_version": __version__, "results": str(src.results)},
    }
    (out / "metadata.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    (out / "samples.json").write_text(json.dumps({"samples": samples}), encoding="utf-8")
    rep.written = len(samples)
    rep.skipped = len(src.errors)
    return rep
