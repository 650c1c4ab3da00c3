"""Do two runs of a make command write the same images? For refactors of the make layer.

    python bench/same_images.py BEFORE_DIR AFTER_DIR

Matches files by path relative to each folder and compares decoded pixels (and alpha) exactly.
Prints each difference and a summary; exits 1 on any difference or a file present on one side only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image


def _pixels(p: Path) -> np.ndarray:
    with Image.open(p) as im:
        return np.asarray(im)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    args = ap.parse_args()
    a = {p.relative_to(args.before) for p in args.before.rglob("*") if p.is_file()}
    b = {p.relative_to(args.after) for p in args.after.rglob("*") if p.is_file()}
    bad = 0
    for rel in sorted(a ^ b):
        print(f"{rel}: only {'before' if rel in a else 'after'}")
        bad += 1
    for rel in sorted(a & b):
        x, y = _pixels(args.before / rel), _pixels(args.after / rel)
        if x.shape != y.shape or not np.array_equal(x, y):
            diff = (
                "shape"
                if x.shape != y.shape
                else f"{int((x != y).any(axis=-1).sum() if x.ndim == 3 else (x != y).sum())} px"
            )
            print(f"{rel}: differs ({diff})")
            bad += 1
    print(f"{len(a & b)} images compared, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
