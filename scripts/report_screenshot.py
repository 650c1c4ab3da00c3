"""Take docs/report.png: a drawn, labelled check run (no model runs), its report, and headless
Chromium (Debian's) with the gallery filtered to the wrong verdicts.

    python scripts/report_screenshot.py [--out docs/report.png]

``demo_run`` is also what the report's browser tests run on.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import cv2
import numpy as np

from maskgate.check.verdict import Calibration, decide
from maskgate.core.types import KINDS
from maskgate.report.html import write_report

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
APPLIES = {
    "isolated": ("residue", "segmentation", "quality", "comprehensibility", "consistency"),
    "inpainted": ("residue", "segmentation", "quality", "comprehensibility", "consistency", "background"),
    "text_removed": ("residue", "quality", "comprehensibility", "consistency"),
}
DEFECTS = ("residue_badge", "cutoff", "tint_cast", "blur")
FAILS = {"residue_badge": "residue", "cutoff": "segmentation", "tint_cast": "consistency", "blur": "quality"}


def _product(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 235, np.uint8)
    color = tuple(int(v) for v in rng.integers(30, 200, 3))
    cx, cy = w // 2 + int(rng.integers(-40, 40)), h // 2
    cv2.ellipse(img, (cx, cy), (w // 5, h // 3), 0, 0, 360, color, -1)
    cv2.rectangle(img, (cx - 20, cy - h // 3 - 30), (cx + 20, cy - h // 3 + 5), color, -1)
    cv2.rectangle(img, (w - 150, h - 70), (w - 20, h - 20), (20, 20, 200), -1)
    cv2.putText(img, "SALE", (w - 135, h - 33), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2)
    return img


def demo_run(folder: Path, n: int = 60, seed: int = 0, images: bool = True) -> tuple[Path, Path]:
    """A check run of ``n`` drawn pairs, scored and decided with the packaged thresholds, and its
    labels (some disagree with the verdicts, as real labels do): (results.jsonl, labels.jsonl).
    ``images=False`` writes records whose files do not exist (a size test)."""
    rng = np.random.default_rng(seed)
    cal = Calibration.load()
    folder.mkdir(parents=True, exist_ok=True)
    h, w = 300, 400
    originals = []
    for k in range(min(n, 6)):
        p = folder / "originals" / f"product_{k}.png"
        if images:
            p.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(p), _product(h, w, k)[..., ::-1])
        originals.append(p)
    recs, labs = [], []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        defect = "ok" if rng.random() < 0.5 else DEFECTS[int(rng.integers(len(DEFECTS)))]
        bad = FAILS.get(defect)
        if bad not in APPLIES[kind]:
            defect, bad = "ok", None
        pid = f"p{i:05d}_{kind}_{defect}"
        scores: dict[str, float | None] = {}
        for c in APPLIES[kind]:
            hi = 1 - rng.beta(1, 150)
            lo = rng.beta(1.5, 4)
            # the defect's criterion mostly scores low, and now and then a clean one does (a false alarm)
            low = rng.random() < (0.85 if c == bad else 0.04)
            scores[c] = round(float(lo if low else hi), 4)
        scores.update({c: None for c in APPLIES["inpainted"] if c not in scores})
        keys = {c: cal.scorer(c, kind) for c in scores}
        passed, verdict, overall = decide(scores, cal, keys)
        orig = originals[i % len(originals)]
        edit = folder / "edited" / f"{pid}.png"
        crit = {}
        for c, s in scores.items():
            crit[c] = {"pass": passed[c], "score": 1.0 if s is None else s, "evidence": {}}
        if images:
            e = cv2.imread(str(orig))
            if bad == "residue" or kind == "isolated":
                e[:, :] = np.where((e == 235).all(axis=2, keepdims=True), 255, e)
            if bad != "residue":
                e[h - 75 : h - 15, w - 155 : w - 15] = 255 if kind == "isolated" else 235
            if bad == "quality":
                e = cv2.GaussianBlur(e, (15, 15), 0)
            if bad == "consistency":
                e = cv2.add(e, np.full_like(e, (0, 0, 60)))
            edit.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(edit), e)
            if passed.get("residue") is False:
                heat = np.zeros((h, w), np.uint8)
                heat[h - 75 : h - 15, w - 155 : w - 15] = 255
                heat = cv2.applyColorMap(cv2.GaussianBlur(heat, (41, 41), 0), cv2.COLORMAP_JET)
                rel = f"evidence/{pid}/residue_heatmap.png"
                (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(folder / rel), cv2.addWeighted(e, 0.5, heat, 0.5, 0))
                crit["residue"]["evidence"]["images"] = {"heatmap": rel}
            if passed.get("quality") is False:  # side by side, as the quality criterion draws it
                o = cv2.imread(str(orig))
                rel = f"evidence/{pid}/quality_crop.png"
                (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(folder / rel), np.hstack([o[50:250, 100:300], e[50:250, 100:300]]))
                crit["quality"]["evidence"]["images"] = {"crop": rel}
        truth = {c: (None if s is None else c != bad) for c, s in scores.items()}
        rec = {
            "id": pid,
            "original": str(orig.resolve()) if images else str(orig),
            "edited": str(edit.resolve()) if images else str(edit),
            "kind": kind,
            "verdict": verdict,
            "score": round(float(overall), 4),
            "criteria": crit,
            "source_overlay": True,
            "notes": [],
            "error": None,
        }
        recs.append(rec)
        labs.append({"id": pid, "kind": kind, "defect": defect, "labels": truth, "acceptable": bad is None})
    results = folder / "results.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in recs))
    labels = folder / "labels.jsonl"
    labels.write_text("".join(json.dumps(r) + "\n" for r in labs))
    return results, labels


def take_screenshot(out: Path, chromium: str = "/usr/bin/chromium") -> Path:
    from playwright.sync_api import sync_playwright

    from maskgate.report.labels import read_labels

    with tempfile.TemporaryDirectory() as tmp:
        results, labels = demo_run(Path(tmp) / "run", n=60)
        report = write_report(results, labels=read_labels([labels]))
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
            page = b.new_page(viewport={"width": 1280, "height": 900})
            page.goto(report.as_uri())
            page.wait_for_selector("body[data-ready='1']")
            page.select_option("#f-outcome", "wrong")
            page.evaluate("document.getElementById('pairs').scrollIntoView()")
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=False)
            b.close()
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "report.png")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    print(take_screenshot(ap.parse_args().out, ap.parse_args().chromium))
