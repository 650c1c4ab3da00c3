"""Text erasing: share of ground-truth text boxes PP-OCR can still read after ``erase --what text``.

    python bench/erase.py [DATA] [--inpainter telea] [--limit N]

DATA holds posters and ``boxes.txt`` (one line per poster: index, ``train/<name>``, JSON whose
``mask`` field lists text boxes as ``x1,x2,y1,y2;`` and ``place.obj`` the strings as
``text,size,flag;``); default ``../shared/images/posters_with_text``. A box counts as readable when
full OCR on its crop (plus a small margin) returns a line sharing at least half of the box's
characters with its string. The same count on the untouched posters is printed as the baseline,
so the metric's own recall is visible.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np

from maskgate.io.images import load_image
from maskgate.make.erase import erase
from maskgate.vision.text import read_text


def parse_boxes(path: Path) -> dict[str, list[tuple[tuple[int, int, int, int], str]]]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        meta = json.loads(parts[2])
        boxes = [tuple(int(v) for v in b.split(",")) for b in meta["mask"].split(";") if b.strip()]
        texts = [t.rsplit(",", 2)[0] for t in meta.get("place", {}).get("obj", "").split(";") if t.strip()]
        texts += [""] * (len(boxes) - len(texts))
        out[Path(parts[1]).name] = [
            ((x1, y1, x2, y2), t) for (x1, x2, y1, y2), t in zip(boxes, texts, strict=False)
        ]
    return out


def readable(rgb: np.ndarray, box: tuple[int, int, int, int], text: str, min_score: float = 0.5) -> bool:
    x1, y1, x2, y2 = box
    m = max(4, (y2 - y1) // 4)
    h, w = rgb.shape[:2]
    crop = np.ascontiguousarray(rgb[max(0, y1 - m) : min(h, y2 + m), max(0, x1 - m) : min(w, x2 + m)])
    if crop.size == 0:
        return False
    want = "".join(text.split()).lower()
    for got, score in read_text(crop):
        got = "".join(got.split()).lower()
        if score < min_score or not got:
            continue
        if not want:
            return True
        match = SequenceMatcher(None, want, got).find_longest_match(0, len(want), 0, len(got)).size
        common = sum(min(want.count(c), got.count(c)) for c in set(want))
        if max(match, common) >= max(1, len(want) // 2):
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="?", default="../shared/images/posters_with_text")
    ap.add_argument("--inpainter", default="telea")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--product-text", action="store_true", help="also erase text printed on the product")
    ap.add_argument("--per-image", action="store_true")
    args = ap.parse_args(argv)
    data = Path(args.data)
    if not (data / "boxes.txt").is_file():
        print(f"no boxes.txt in {data}", file=sys.stderr)
        return 2
    gt = parse_boxes(data / "boxes.txt")
    names = sorted(n for n in gt if (data / n).is_file())[: args.limit or None]
    erase(load_image(data / names[0]).rgb, what="text", inpainter=args.inpainter)  # warm-up: model loads
    before = after = total = 0
    times = []
    for n in names:
        rgb = load_image(data / n).rgb
        t0 = time.perf_counter()
        res = erase(rgb, what="text", inpainter=args.inpainter, product_text=args.product_text)
        times.append(time.perf_counter() - t0)
        b = sum(readable(rgb, box, t) for box, t in gt[n])
        a = sum(readable(res.rgb, box, t) for box, t in gt[n])
        before, after, total = before + b, after + a, total + len(gt[n])
        if args.per_image:
            print(f"{n:8s} boxes={len(gt[n])} readable before={b} after={a} {times[-1]:.2f}s")
    print(
        f"posters={len(names)} text boxes={total} inpainter={args.inpainter} product_text={args.product_text}"
    )
    print(f"readable before erase: {before}/{total} ({before / total:.1%})")
    print(f"readable after erase:  {after}/{total} ({after / total:.1%})")
    print(f"erase time per image:  {np.mean(times):.2f} s (median {np.median(times):.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
