"""A check run the export tests build themselves: drawn originals and edits, records written with
``PairRecord`` the way the engine writes them (the product mask evidence at a smaller analysis
size), a mask folder, an overlay folder and review labels from two reviewers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest

from maskgate.core.record import CriterionRecord, PairRecord, evidence_path
from maskgate.core.types import CRITERIA
from maskgate.review.masks import encode_rle


def disk(h: int, w: int, cx: int, cy: int, r: int) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    cv2.circle(m, (cx, cy), r, 1, -1)
    return m > 0


def box(h: int, w: int, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def png(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    a = arr.astype(np.uint8) * 255 if arr.dtype == bool else arr
    assert cv2.imwrite(str(path), a[..., ::-1] if a.ndim == 3 else a)


@dataclass
class Run:
    dir: Path
    results: Path
    masks: Path  # `maskgate mask`-style folder (one original)
    overlays: Path  # `maskgate text-mask`-style folder (one original)
    labels: Path  # review labels, `maskgate review export` format
    records: dict[str, PairRecord] = field(default_factory=dict)
    # what each pair's masks must decode to, in the original's grid
    product: dict[str, np.ndarray] = field(default_factory=dict)  # the best one, every source given
    check: dict[str, np.ndarray] = field(default_factory=dict)  # the check's evidence, scaled up
    product_source: dict[str, str] = field(default_factory=dict)
    overlay: dict[str, np.ndarray] = field(default_factory=dict)
    answers: list[dict] = field(default_factory=list)
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # original (h, w) per pair


def _record(pid, orig, edit, kind, verdict, passes, *, images=None, extra=None, overlay=None) -> PairRecord:
    crit = {}
    for i, c in enumerate(CRITERIA):
        p = passes.get(c, True)
        imgs = images if (images and c == "segmentation") else {}
        crit[c] = CriterionRecord(p, 0.1 + 0.13 * i if p is not False else 0.05, {"m": i * 0.5}, imgs)
    applicable = [cr.score for cr in crit.values() if cr.passed is not None]
    return PairRecord(
        pid,
        str(orig),
        str(edit),
        kind,
        verdict,
        round(min(applicable), 4),
        crit,
        overlay,
        (),
        None,
        extra or {},
    )


@pytest.fixture
def run(tmp_path) -> Run:
    d = tmp_path / "check"
    img = tmp_path / "photos"
    r = Run(
        d, d / "results.jsonl", tmp_path / "masks", tmp_path / "overlays", tmp_path / "review-labels.jsonl"
    )
    rng = np.random.default_rng(0)
    specs = [  # id, original stem, (h, w), kind, verdict, passes, manifest labels
        ("cup", "cup", (120, 160), "isolated", "accept", {"background": None}, None),
        ("vase", "vase", (96, 200), "inpainted", "reject", {"residue": False}, {"residue": False}),
        (
            "bowl/a",
            "bowl",
            (150, 110),
            "text_removed",
            "review",
            {"background": None, "quality": False},
            None,
        ),
        ("bowl/b", "bowl", (150, 110), "text_removed", "accept", {"background": None}, None),
    ]
    lines = []
    for pid, stem, (h, w), kind, verdict, passes, labs in specs:
        orig, edit = img / "originals" / f"{stem}.png", img / "edited" / f"{pid.replace('/', '_')}.png"
        o = rng.integers(150, 230, (h, w, 3), dtype=np.uint8)
        prod = disk(h, w, w // 2, h // 2, min(h, w) // 3)
        o[prod] = (200, 40, 40)
        cv2.putText(o, "SALE", (2, h - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (10, 10, 10), 1)
        if not orig.exists():
            png(orig, o)
        e = o.copy()
        e[h - 20 :, : w // 2] = 240
        png(edit, e)
        # the check's product mask: at analysis size (half here), a slightly smaller disk
        small = cv2.resize(prod.astype(np.uint8), (w // 2, h // 2), interpolation=cv2.INTER_NEAREST) > 0
        ev = evidence_path(pid, "segmentation", "product_mask")
        png(d / ev, small)
        r.check[pid] = cv2.resize(small.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
        r.product[pid] = r.check[pid]
        r.product_source[pid] = "check"
        r.sizes[pid] = (h, w)
        extra = {"labels": labs, "acceptable": False} if labs else {}
        # one record with paths relative to the run folder, as hand-made records have
        o_ref = Path("..") / "photos" / "originals" / f"{stem}.png" if pid == "vase" else orig
        rec = _record(
            pid,
            o_ref,
            edit,
            kind,
            verdict,
            passes,
            images={"product_mask": ev},
            extra=extra,
            overlay=stem != "vase",
        )
        r.records[pid] = rec
        lines.append(rec.to_line())
    err = PairRecord.failed(
        "broken", str(img / "x.png"), str(img / "y.png"), None, "original: file not found", {}
    )
    r.records["broken"] = err
    lines.insert(2, err.to_line())
    d.mkdir(parents=True, exist_ok=True)
    r.results.write_text("\n".join(lines) + "\n")

    # a full-resolution product mask for vase (what `maskgate mask` writes): wins over the check's
    h, w = r.sizes["vase"]
    vm = box(h, w, 30, 10, 170, 90)
    png(r.masks / "sub" / "vase.png", vm)
    r.product["vase"], r.product_source["vase"] = vm, "masks"
    # overlays for the bowl (both of its pairs) and the cup
    for stem, pids in (("bowl", ("bowl/a", "bowl/b")), ("cup", ("cup",))):
        h, w = r.sizes[pids[0]]
        om = box(h, w, 0, h - 20, w // 2, h)
        png(r.overlays / f"{stem}.png", om)
        for p in pids:
            r.overlay[p] = om

    # review labels: alice and bob disagree on bowl/a's segmentation; alice corrected its mask;
    # cup has one answer and an adjudicated final answer
    h, w = r.sizes["bowl/a"]
    corrected = disk(h, w, w // 2 + 3, h // 2, min(h, w) // 3 + 2)
    base = {c: True for c in CRITERIA} | {"background": None}

    def answer(pid, who, labels, acceptable, mask=None, final=None, note="", q2=False):
        rec = r.records[pid]
        return {
            "id": pid,
            "original": rec.original,
            "edited": rec.edited,
            "kind": rec.kind,
            "reviewer": who,
            "labels": labels,
            "acceptable": acceptable,
            "source_overlay": True,
            "q1_original_has_overlay": True,
            "q2_edit_has_leftover": q2,
            "note": note,
            "mask": encode_rle(mask) if mask is not None else None,
            "gold": False,
            "check_verdict": rec.verdict,
            "seconds": 12.5,
            "submitted_at": 1_700_000_000.25,
            "final": final,
        }

    r.answers = [
        answer("bowl/a", "alice", base | {"segmentation": False}, False, corrected, note="edge cut, see top"),
        answer("bowl/a", "bob", base, True),
        answer("bowl/a", "carol", base | {"segmentation": False}, False),
        answer(
            "cup",
            "bob",
            base | {"quality": False},
            False,
            final={"labels": base, "acceptable": True, "adjudicator": "root", "decided_at": 1.0},
            q2=True,
        ),
    ]
    r.labels.write_text("".join(json.dumps(a) + "\n" for a in r.answers))
    r.product["bowl/a"], r.product_source["bowl/a"] = corrected, "review"
    return r
