"""Build labelled `text_removed` pairs: ad posters with text erased well or badly.

    python bench/build_text_removed.py OUT [--posters ../shared/images/posters_with_text]
                                           [--pairs ../shared/images/inpainting_pairs]

From each poster (text boxes in boxes.txt, `x1,x2,y1,y2;` in field `mask`): a clean erasure
(OpenCV Telea over the dilated boxes: residue passes), one that leaves the largest text box
untouched, and one that leaves a 40% ghost of the text (both fail residue). From the IOPaint pairs:
the provided clean results pass; the unedited image offered as its own "erasure" fails.
Writes OUT/labels.jsonl in the benchmark's format (kind `text_removed`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

CRITERIA = ("residue", "segmentation", "quality", "comprehensibility", "consistency", "background")


def boxes_of(boxes_txt: Path) -> dict[str, list[tuple[int, int, int, int]]]:
    out = {}
    for line in boxes_txt.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        name = Path(parts[1]).name
        spec = json.loads(parts[2])["mask"]
        out[name] = [tuple(int(v) for v in b.split(",")) for b in spec.split(";") if b.strip()]
    return out


def label(pid, orig, edit, residue_ok, how):
    lab = {c: True for c in CRITERIA}
    lab["background"] = None
    lab["residue"] = residue_ok
    return {"id": pid, "original": orig, "edited": edit, "kind": "text_removed", "defect": how, "labels": lab, "acceptable": residue_ok}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--posters", type=Path, default=Path("../shared/images/posters_with_text"))
    ap.add_argument("--pairs", type=Path, default=Path("../shared/images/inpainting_pairs"))
    args = ap.parse_args()
    out = args.out
    (out / "edited").mkdir(parents=True, exist_ok=True)
    rows = []
    for name, boxes in sorted(boxes_of(args.posters / "boxes.txt").items()):
        src = args.posters / name
        img = cv2.imread(str(src))
        if img is None or not boxes:
            continue
        m = np.zeros(img.shape[:2], np.uint8)
        for x1, x2, y1, y2 in boxes:
            m[y1:y2, x1:x2] = 255
        m = cv2.dilate(m, np.ones((7, 7), np.uint8))
        clean = cv2.inpaint(img, m, 5, cv2.INPAINT_TELEA)
        big = max(boxes, key=lambda b: (b[1] - b[0]) * (b[3] - b[2]))
        partial = clean.copy()
        x1, x2, y1, y2 = big
        partial[y1:y2, x1:x2] = img[y1:y2, x1:x2]
        ghost = clean.copy()
        sel = m > 0
        ghost[sel] = (0.6 * clean[sel] + 0.4 * img[sel]).astype(np.uint8)
        stem = Path(name).stem
        for how, edit, ok in (("clean", clean, True), ("partial", partial, False), ("ghost", ghost, False)):
            rel = f"edited/poster{stem}__{how}.png"
            cv2.imwrite(str(out / rel), edit)
            rows.append(label(f"poster{stem}__{how}", str(src.resolve()), rel, ok, how))
    for orig, clean in (("unwant_text.jpg", "unwant_text_clean.jpg"), ("watermark.jpg", "watermark_cleanup.jpg")):
        o, c = args.pairs / orig, args.pairs / clean
        if o.is_file() and c.is_file():
            stem = Path(orig).stem
            rows.append(label(f"{stem}__clean", str(o.resolve()), str(c.resolve()), True, "clean"))
            rows.append(label(f"{stem}__untouched", str(o.resolve()), str(o.resolve()), False, "untouched"))
    (out / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} pairs -> {out / 'labels.jsonl'}")


if __name__ == "__main__":
    main()
