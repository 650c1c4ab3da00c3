"""COCO instances JSON: one image per distinct original, its product mask (category ``product``)
and its overlay regions (category ``overlay``) as compressed RLE, which pycocotools decodes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from maskgate import __version__
from maskgate.export.source import ExportReport, Item, Source, atomic_file, relative_to

CATEGORIES = [
    {"id": 1, "name": "product", "supercategory": "maskgate"},
    {"id": 2, "name": "overlay", "supercategory": "maskgate"},
]
_RANK = {"review": 0, "masks": 1, "check": 2, "text-masks": 1}  # a person's mask beats the machine's


def annotation(mask: np.ndarray, ann_id: int, image_id: int, category: int, source: str) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {
        "id": ann_id,
        "image_id": image_id,
        "category_id": category,
        "segmentation": {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")},
        "area": int(mask_utils.area(rle)),
        "bbox": [float(v) for v in mask_utils.toBbox(rle)],
        "iscrowd": 0,
        "maskgate_source": source,
    }


def write_coco(src: Source, out: Path, *, image_root: Path | None = None, **_: Any) -> ExportReport:
    """``file_name`` is the original's path relative to ``image_root`` (absolute without it).
    Pairs that share an original share its image entry (``maskgate_ids`` lists them); its masks
    are the best ones any of them has (a reviewer's first)."""
    rep = ExportReport("coco", out, problems=src.problems)
    groups: dict[Path, list[Item]] = {}
    for it in src.items:
        groups.setdefault(it.original.resolve(), []).append(it)
    images: list[dict] = []
    anns: list[dict] = []
    nomask: list[str] = []
    for img_id, (orig, items) in enumerate(groups.items(), 1):
        hw = next((h for h in (i.original_hw() for i in items) if h is not None), None)
        if hw is None:
            rep.skipped += len(items)
            continue
        images.append(
            {
                "id": img_id,
                "file_name": relative_to(orig, image_root),
                "height": hw[0],
                "width": hw[1],
                "maskgate_ids": [i.id for i in items],
            }
        )
        found = False
        for cat, get in ((1, Item.product_mask), (2, Item.overlay_mask)):
            cands = [g for g in (get(i) for i in items) if g is not None and g[0].shape == hw]
            if not cands:
                continue
            m, source = min(cands, key=lambda g: _RANK[g[1]])
            found = True
            if m.any():  # an empty mask is no instance
                anns.append(annotation(m, len(anns) + 1, img_id, cat, source))
                rep.masks += 1
        if not found:
            nomask.append(items[0].id)
    doc = {
        "info": {"description": f"maskgate {__version__} export of {src.results}", "version": __version__},
        "licenses": [],
        "images": images,
        "annotations": anns,
        "categories": CATEGORIES,
    }
    with atomic_file(out) as tmp:
        tmp.write_text(json.dumps(doc), encoding="utf-8")
    rep.written = len(images)
    rep.skipped += len(src.errors)
    if nomask:
        rep.problems.append(
            f"{len(nomask)} images have no mask: {', '.join(nomask[:5])}"
            + (" ..." if len(nomask) > 5 else "")
        )
    return rep
