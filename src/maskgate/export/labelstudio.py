"""Label Studio tasks: the check's answers and masks as predictions, the people's as annotations,
and the way back (a Label Studio JSON export read into review-label lines).

Each task shows the original (where the product and overlay brushes go) and the edit (where the
per-criterion pass/fail choices go); ``label_config()`` is the matching labeling interface. A brush
mask is Label Studio's RLE (``export.brush``). Everything a review-label line holds that Label
Studio has no place for (reviewer name, gold, submission time, the adjudicated answer) rides in
each annotation's ``maskgate`` object, so export -> import -> export gives the same file; an
annotation made in Label Studio has none, and its reviewer and time come from Label Studio's own
fields.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from maskgate.core.types import CRITERIA
from maskgate.export import brush
from maskgate.export.source import (
    ExportError,
    ExportReport,
    Item,
    Source,
    atomic_file,
    relative_to,
)
from maskgate.review.masks import decode_rle, encode_rle

MASKS = "masks"  # the BrushLabels tag, on the original
MODEL_VERSION = "maskgate-check"
_PF = {True: "pass", False: "fail"}
_YN = {True: "yes", False: "no"}
# (from_name, to_name, the review-label field, its two choices)
QUESTIONS: tuple[tuple[str, str, str, dict[bool, str]], ...] = (
    *((c, "edited", f"labels.{c}", _PF) for c in CRITERIA),
    ("acceptable", "edited", "acceptable", _YN),
    ("q1_original_has_overlay", "original", "q1_original_has_overlay", _YN),
    ("q2_edit_has_leftover", "edited", "q2_edit_has_leftover", _YN),
)
BRUSHES = (("product", "mask"), ("overlay", "overlay_mask"))  # brush label, review-label field
_META = ("reviewer", "gold", "submitted_at", "seconds", "final")


def label_config() -> str:
    """The Label Studio labeling interface the tasks are written for."""
    crit = "\n".join(
        f'    <Header value="{c}"/>\n    <Choices name="{c}" toName="edited" choice="single" showInline="true">'
        '<Choice value="pass"/><Choice value="fail"/></Choices>'
        for c in CRITERIA
    )
    yn = "\n".join(
        f'    <Header value="{name}"/>\n    <Choices name="{name}" toName="{to}" choice="single" showInline="true">'
        '<Choice value="yes"/><Choice value="no"/></Choices>'
        for name, to, _, m in QUESTIONS
        if m is _YN
    )
    return f"""<View>
  <View style="display: flex; gap: 1em">
    <View style="flex: 1"><Header value="original"/><Image name="original" value="$original"/></View>
    <View style="flex: 1"><Header value="edited"/><Image name="edited" value="$edited"/></View>
  </View>
  <BrushLabels name="{MASKS}" toName="original">
    <Label value="product" background="#ff00aa"/>
    <Label value="overlay" background="#00aaff"/>
  </BrushLabels>
{crit}
{yn}
  <TextArea name="note" toName="edited" maxSubmissions="1"/>
</View>
"""


def _get(line: Mapping, dotted: str) -> Any:
    head, _, rest = dotted.partition(".")
    v = line.get(head)
    return (v or {}).get(rest) if rest else v


def _choices(values: Mapping[str, bool | None]) -> list[dict]:
    out = []
    for name, to, key, words in QUESTIONS:
        v = values.get(key)
        if isinstance(v, bool):
            out.append(
                {
                    "id": name,
                    "from_name": name,
                    "to_name": to,
                    "type": "choices",
                    "value": {"choices": [words[v]]},
                }
            )
    return out


def _brush(mask: np.ndarray, label: str) -> dict:
    h, w = mask.shape
    return {
        "id": f"{MASKS}_{label}",
        "from_name": MASKS,
        "to_name": "original",
        "type": "brushlabels",
        "original_width": int(w),
        "original_height": int(h),
        "image_rotation": 0,
        "value": {"format": "rle", "rle": brush.encode(mask), "brushlabels": [label]},
    }


def _prediction(it: Item) -> dict:
    rec = it.record
    values: dict[str, bool | None] = {f"labels.{c}": rec.passed(c) for c in CRITERIA}
    values["acceptable"] = {"accept": True, "reject": False}.get(rec.verdict)
    values["q1_original_has_overlay"] = rec.source_overlay
    result = _choices(values)
    for label, got in (("product", it.check_mask()), ("overlay", it.overlay_mask())):
        if got is not None:
            result.append(_brush(got[0], label))
    return {"model_version": MODEL_VERSION, "score": rec.score, "result": result}


def _annotation(line: Mapping, problems: list[str]) -> dict:
    values = {key: _get(line, key) for _, _, key, _ in QUESTIONS}
    result = _choices(values)
    for label, key in BRUSHES:
        rle = line.get(key)
        if isinstance(rle, Mapping):
            try:
                result.append(_brush(decode_rle(dict(rle)), label))
            except Exception as e:  # a hand-edited labels file can hold anything
                problems.append(f"{line.get('id')}: {key} of {line.get('reviewer')} unreadable ({e})")
    if line.get("note"):
        result.append(
            {
                "id": "note",
                "from_name": "note",
                "to_name": "edited",
                "type": "textarea",
                "value": {"text": [str(line["note"])]},
            }
        )
    ann: dict[str, Any] = {"result": result, "was_cancelled": False, "ground_truth": bool(line.get("gold"))}
    if isinstance(line.get("seconds"), int | float):
        ann["lead_time"] = line["seconds"]
    ann["maskgate"] = {k: line.get(k) for k in _META}
    return ann


def _url(path: Path, root: Path | None, prefix: str | None) -> str:
    rel = relative_to(path, root)
    return prefix + quote(rel, safe="/:") if prefix else rel


def tasks(src: Source, *, image_root: Path | None = None, url_prefix: str | None = None) -> list[dict]:
    problems = src.problems
    out = []
    for it in src.items:
        rec = it.record
        task: dict[str, Any] = {
            "data": {
                "original": _url(it.original, image_root, url_prefix),
                "edited": _url(it.edited, image_root, url_prefix),
                "maskgate_id": rec.id,
                "kind": rec.kind,
                "verdict": rec.verdict,
                "score": rec.score,
                "original_path": rec.original,
                "edited_path": rec.edited,
            },
            "predictions": [_prediction(it)],
        }
        if it.answers:
            task["annotations"] = [_annotation(a, problems) for a in it.answers]
        out.append(task)
    return out


def write_labelstudio(
    src: Source, out: Path, *, image_root: Path | None = None, url_prefix: str | None = None, **_: Any
) -> ExportReport:
    """``OUT`` (a JSON list of tasks, what Label Studio imports) and, beside it,
    ``<OUT stem>.label-config.xml`` (the labeling interface to paste into the project)."""
    rep = ExportReport("labelstudio", out, problems=src.problems)
    data = tasks(src, image_root=image_root, url_prefix=url_prefix)
    with atomic_file(out) as tmp:
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    cfg = out.with_name(out.stem + ".label-config.xml")
    with atomic_file(cfg) as tmp:
        tmp.write_text(label_config(), encoding="utf-8")
    rep.written = len(data)
    rep.masks = sum(r["type"] == "brushlabels" for t in data for p in t["predictions"] for r in p["result"])
    rep.skipped = len(src.errors)
    return rep


# ---------------------------------------------------------------------------- import


def _reviewer(ann: Mapping) -> str | None:
    by = ann.get("completed_by")
    if isinstance(by, Mapping):
        by = by.get("email") or by.get("username") or by.get("id")
    name = ann.get("created_username") or by
    return None if name is None else str(name)


def _answer(task_data: Mapping, ann: Mapping, where: str, problems: list[str]) -> dict:
    picked: dict[str, bool | None] = {}
    masks: dict[str, np.ndarray] = {}
    note = ""
    by_name = {name: (key, {w: v for v, w in words.items()}) for name, _, key, words in QUESTIONS}
    for r in ann.get("result") or []:
        if not isinstance(r, Mapping):
            problems.append(f"{where}: a result that is not an object")
            continue
        name, typ, val = r.get("from_name"), str(r.get("type", "")).lower(), r.get("value") or {}
        if typ == "choices" and name in by_name:
            key, words = by_name[name]
            ch = val.get("choices") or []
            if len(ch) != 1 or ch[0] not in words:
                problems.append(f"{where}: {name}: choices {ch!r} are not one of {sorted(words)}")
                continue
            picked[key] = words[ch[0]]
        elif typ == "brushlabels" and val.get("format", "rle") == "rle":
            labs = val.get("brushlabels") or []
            label = labs[0] if len(labs) == 1 else None
            if label not in dict(BRUSHES):
                problems.append(f"{where}: brush labelled {labs!r}, not product or overlay: left out")
                continue
            try:
                m = brush.decode(val["rle"], int(r["original_height"]), int(r["original_width"]))
            except (KeyError, TypeError, ValueError) as e:
                problems.append(f"{where}: {label} brush unreadable ({e}): left out")
                continue
            if label in masks and masks[label].shape != m.shape:
                problems.append(f"{where}: {label} brushes of different sizes: the first is kept")
                continue
            masks[label] = masks[label] | m if label in masks else m  # strokes of one label unite
        elif typ == "textarea" and name == "note":
            note = "\n".join(str(t) for t in val.get("text") or [])
        else:
            problems.append(f"{where}: result {name!r} of type {typ!r} is not one maskgate reads: left out")
    meta = ann.get("maskgate") if isinstance(ann.get("maskgate"), Mapping) else {}
    q1 = picked.get("q1_original_has_overlay")
    line: dict[str, Any] = {
        "id": str(task_data.get("maskgate_id")),
        "original": task_data.get("original_path") or task_data.get("original"),
        "edited": task_data.get("edited_path") or task_data.get("edited"),
        "kind": task_data.get("kind"),
        "reviewer": meta.get("reviewer") if meta else _reviewer(ann),
        "labels": {c: picked.get(f"labels.{c}") for c in CRITERIA},
        "acceptable": picked.get("acceptable"),
        "source_overlay": q1,
        "q1_original_has_overlay": q1,
        "q2_edit_has_leftover": picked.get("q2_edit_has_leftover"),
        "note": note,
        "mask": encode_rle(masks["product"]) if "product" in masks else None,
        "gold": bool(meta.get("gold")) if meta else bool(ann.get("ground_truth")),
        "check_verdict": task_data.get("verdict"),
        "seconds": meta.get("seconds") if meta else ann.get("lead_time"),
        "submitted_at": meta.get("submitted_at") if meta else ann.get("created_at"),
        "final": meta.get("final") if meta else None,
    }
    if "overlay" in masks:
        line["overlay_mask"] = encode_rle(masks["overlay"])
    return line


def import_labelstudio(export: str | Path, out: str | Path) -> ExportReport:
    """Read a Label Studio JSON export (tasks made by ``write_labelstudio``) into review-label
    lines at ``out``, one per annotation, in the ``maskgate review export`` format that
    ``maskgate export --labels`` and the label readers take. Cancelled (skipped) annotations and
    predictions are not answers and are left out; a task without ``data.maskgate_id`` is not one
    of maskgate's and is reported. Results maskgate has no field for are reported, not guessed."""
    export, out = Path(export), Path(out)
    if not export.is_file():
        raise ExportError(f"no such file: {export}")
    try:
        data = json.loads(export.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ExportError(f"{export}: not a JSON file ({e})") from e
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ExportError(f"{export}: expected Label Studio's JSON export (a list of tasks)")
    if data and isinstance(data[0], Mapping) and "data" not in data[0] and "annotations" not in data[0]:
        raise ExportError(
            f"{export}: tasks have no 'data' or 'annotations' (a JSON-MIN or CSV export?): "
            "export the project as JSON"
        )
    rep = ExportReport("labelstudio import", out)
    lines = []
    for n, task in enumerate(data, 1):
        td = task.get("data") if isinstance(task, Mapping) else None
        if not isinstance(td, Mapping) or not td.get("maskgate_id"):
            rep.problems.append(f"task {n}: no data.maskgate_id (not exported by maskgate): left out")
            rep.skipped += 1
            continue
        for k, ann in enumerate(task.get("annotations") or [], 1):
            where = f"task {n} ({td['maskgate_id']}) annotation {k}"
            if not isinstance(ann, Mapping):
                rep.problems.append(f"{where}: not an object: left out")
                continue
            if ann.get("was_cancelled"):
                rep.skipped += 1
                continue
            line = _answer(td, ann, where, rep.problems)
            lines.append(line)
            rep.masks += sum(line.get(m) is not None for m in ("mask", "overlay_mask"))
    with atomic_file(out) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    rep.written = len(lines)
    return rep
