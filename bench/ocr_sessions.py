"""PP-OCR detection time under onnxruntime's session settings: rapidocr's own (no memory arena,
spinning pool threads) against the ones ``maskgate.vision.text`` uses (arena on, no spinning).

    python bench/ocr_sessions.py MANIFEST [--limit 20] [--threads 2]

Each setting detects the same edits at the check's working size, after one warm-up pass; the
polygons are compared with those of the first setting, so a faster setting that found anything
else would say so.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort


def _session(path: str, threads: int, arena: bool, spin: bool) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.enable_cpu_mem_arena = arena
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return ort.InferenceSession(path, sess_options=so, providers=["CPUExecutionProvider"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("manifest", type=Path)
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    from maskgate.check.engine import Checker
    from maskgate.io.images import load_image
    from maskgate.io.manifest import read_manifest
    from maskgate.models.sessions import use_threads
    from maskgate.vision.text import _engine, detect_text

    pairs = [p for p in read_manifest(args.manifest) if not p.error][: args.limit]
    edits = [load_image(p.edited, max_side=Checker.max_side).rgb for p in pairs]
    with use_threads(args.threads):
        detect_text(edits[0])
        det = _engine(args.threads, None)[0].text_det.session
        path = det.session._model_path
        first = None
        print(f"{len(edits)} dev edits, {args.threads} threads; ms per detection")
        for name, arena, spin in (
            ("rapidocr's own: no arena, spinning", False, True),
            ("no arena, no spinning", False, False),
            ("arena, spinning", True, True),
            ("arena, no spinning (maskgate)", True, False),
        ):
            det.session = _session(path, args.threads, arena, spin)
            detect_text(edits[0])
            t0 = time.perf_counter()
            found = [detect_text(e) for e in edits]
            ms = (time.perf_counter() - t0) / len(edits) * 1000
            polys = [[r.polygon for r in f] for f in found]
            if first is None:
                first = polys
            same = all(
                len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
                for a, b in zip(first, polys, strict=True)
            )
            print(f"{name:40s} {ms:7.1f}   same polygons: {same}")


if __name__ == "__main__":
    main()
