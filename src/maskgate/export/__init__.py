"""Exports of check results and review labels to the formats other tools read (COCO, Label
Studio, FiftyOne, CSV, Parquet, mask PNGs, HFPC lines), and Label Studio's answers back in.

It sits above ``review`` because it reads the review database's answers; each format is one
module laying out what ``export.source`` gathered, and ``FORMATS`` is the table the CLI offers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from maskgate.export.coco import write_coco
from maskgate.export.fiftyone import write_fiftyone
from maskgate.export.hfpc import write_hfpc
from maskgate.export.labelstudio import import_labelstudio, write_labelstudio
from maskgate.export.masks import write_masks
from maskgate.export.source import ExportError, ExportReport, Source, load
from maskgate.export.table import write_csv, write_parquet

Writer = Callable[..., ExportReport]

# format -> (writer, writes a folder, what it is)
FORMATS: dict[str, tuple[Writer, bool, str]] = {
    "coco": (write_coco, False, "COCO instances JSON, product and overlay masks as RLE"),
    "labelstudio": (write_labelstudio, False, "Label Studio tasks JSON (+ its labeling config)"),
    "fiftyone": (write_fiftyone, True, "a FiftyOne dataset folder"),
    "csv": (write_csv, False, "one row per pair, a pass and score column per criterion"),
    "parquet": (write_parquet, False, "the CSV's table as typed Parquet"),
    "masks": (write_masks, True, "a PNG per pair and mask, with index.jsonl"),
    "hfpc": (write_hfpc, False, 'HFPC lines {"origin", "generation", "label"}'),
}


def export(fmt: str, src: Source, out: str | Path, **options: Any) -> ExportReport:
    """Write ``src`` as ``fmt`` to ``out`` (a file, or a new folder for folder formats)."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    return FORMATS[fmt][0](src, Path(out), **options)


__all__ = ["FORMATS", "ExportError", "ExportReport", "Source", "export", "import_labelstudio", "load"]
