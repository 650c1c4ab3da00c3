"""Do two `maskgate check` runs agree? For refactors that must not change what the check decides.

    python bench/same_results.py BEFORE/results.jsonl AFTER/results.jsonl [--tol 1e-6]

Compares, pair by pair (matched by id): kind, verdict, overall score, and for every criterion its
pass/fail, score and every numeric measurement in its evidence (to ``--tol``), plus the names of
its evidence images. Prints each difference and a summary; exits 1 when any pair differs or the
two runs do not hold the same ids. Reads the raw JSON, so it compares runs of any two versions.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


def _records(path: Path) -> dict[str, dict]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            out[str(rec["id"])] = rec
    return out


def _num_differs(a, b, tol: float) -> bool:
    if (
        isinstance(a, bool)
        or isinstance(b, bool)
        or not isinstance(a, int | float)
        or not isinstance(b, int | float)
    ):
        return a != b
    return not (math.isclose(a, b, rel_tol=0, abs_tol=tol) or (math.isnan(a) and math.isnan(b)))


def differences(a: dict, b: dict, tol: float) -> list[str]:
    out = []
    for k in ("kind", "verdict", "error", "source_overlay"):
        if a.get(k) != b.get(k):
            out.append(f"{k}: {a.get(k)!r} -> {b.get(k)!r}")
    if _num_differs(a.get("score"), b.get("score"), tol):
        out.append(f"score: {a.get('score')} -> {b.get('score')}")
    ca, cb = a.get("criteria") or {}, b.get("criteria") or {}
    for c in sorted(set(ca) | set(cb)):
        x, y = ca.get(c) or {}, cb.get(c) or {}
        if x.get("pass") != y.get("pass"):
            out.append(f"{c}.pass: {x.get('pass')} -> {y.get('pass')}")
        if _num_differs(x.get("score"), y.get("score"), tol):
            out.append(f"{c}.score: {x.get('score')} -> {y.get('score')}")
        ex, ey = dict(x.get("evidence") or {}), dict(y.get("evidence") or {})
        ix, iy = ex.pop("images", {}) or {}, ey.pop("images", {}) or {}
        if set(ix) != set(iy):
            out.append(f"{c}.images: {sorted(ix)} -> {sorted(iy)}")
        for k in sorted(set(ex) | set(ey)):
            if k not in ex or k not in ey or _num_differs(ex[k], ey[k], tol):
                out.append(f"{c}.{k}: {ex.get(k, '(absent)')} -> {ey.get(k, '(absent)')}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--tol", type=float, default=1e-6)
    args = ap.parse_args()
    a, b = _records(args.before), _records(args.after)
    bad = 0
    if set(a) != set(b):
        print(f"ids differ: {len(set(a) - set(b))} only before, {len(set(b) - set(a))} only after")
        bad += 1
    for pid in sorted(set(a) & set(b)):
        diff = differences(a[pid], b[pid], args.tol)
        if diff:
            bad += 1
            print(f"{pid}: " + "; ".join(diff))
    print(f"{len(set(a) & set(b))} pairs compared, {bad} differ (tolerance {args.tol:g})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
