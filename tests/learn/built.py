"""Labelled measurements the learn tests build: failures show as higher badness, among noise.

Each pair is measured on residue, quality and comprehensibility (the other criteria are not
measured, as for a kind they do not apply to). The label of each criterion depends on one or two
of its measurements; the others are noise the untrained default scorer weighs as much as the
signal, which is what a trained scorer should learn to ignore.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from maskgate.core.types import CRITERIA
from maskgate.learn.calibrate import LabelledFeatures

MEASURED = ("residue", "quality", "comprehensibility")


def draw_rows(n: int, seed: int = 0, flip: float = 0.0, prefix: str = "product") -> list[LabelledFeatures]:
    """``n`` pairs in ``n // 4`` groups (four edits per product); ``flip``: share of criterion
    labels turned over (labelling mistakes)."""
    rng = np.random.default_rng(seed)
    n_groups = max(n // 4, 2)
    rows = []
    for i in range(n):
        kind = "text_removed" if rng.random() < 0.25 else "isolated"
        ok = {
            "residue": rng.random() < 0.75,
            "quality": rng.random() < 0.8,
            "comprehensibility": rng.random() < 0.85,
        }
        if kind == "isolated":
            residue = {
                "text_count": float(rng.integers(0, 4)),  # noise
                "text_score": float(rng.uniform(0, 1.2)),  # noise
                "stray_share": float(
                    2e-4 * np.exp(rng.normal(-0.5, 0.5) if ok["residue"] else rng.uniform(0.7, 2.5))
                ),
                "stray_blobs": float(rng.integers(0, 3)),  # noise
            }
        else:
            residue = {
                "overlay_left": 0.0 if ok["residue"] else float(rng.uniform(0.05, 1.0)),
                "text_area": float(5e-4 * np.exp(rng.normal(0, 1))),  # noise
            }
        quality = {
            "sharp_ratio": float(rng.uniform(0.8, 1.1) if ok["quality"] else rng.uniform(0.35, 0.8)),
            "flat_delta": float(rng.uniform(0, 0.1)),  # noise from here on
            "block_delta": float(rng.uniform(0, 1.0)),
            "tint_slope": float(rng.uniform(0.85, 1.0)),
            "de_outer": float(rng.uniform(4, 16)),
        }
        comprehensibility = {
            "area_share": float(
                rng.uniform(0.06, 0.5) if ok["comprehensibility"] else rng.uniform(0.01, 0.045)
            ),
            "bbox_share": float(rng.uniform(0.02, 0.5)),  # noise
            "min_side": float(rng.uniform(0.05, 0.6)),  # noise
        }
        labels: dict[str, bool | None] = {c: None for c in CRITERIA}
        for c in MEASURED:
            labels[c] = bool(ok[c]) != bool(rng.random() < flip)
        group = f"{prefix}{i % n_groups}"
        rows.append(
            LabelledFeatures(
                f"{group}__{i}",
                group,
                kind,
                {"residue": residue, "quality": quality, "comprehensibility": comprehensibility},
                labels,
                all(v for v in labels.values() if v is not None),
            )
        )
    return rows


def write_set(folder: Path, rows: list[LabelledFeatures]) -> tuple[Path, Path]:
    """A labels.jsonl and the results.jsonl a check run on it would leave (measurements in evidence)."""
    folder.mkdir(parents=True, exist_ok=True)
    labels, results = folder / "labels.jsonl", folder / "results.jsonl"
    labels.write_text(
        "".join(
            json.dumps(
                {
                    "id": r.id,
                    "original": f"originals/{r.group}.png",
                    "edited": f"edited/{r.id}.png",
                    "kind": r.kind,
                    "group": r.group,
                    "labels": r.labels,
                    "acceptable": r.acceptable,
                }
            )
            + "\n"
            for r in rows
        )
    )
    results.write_text(
        "".join(
            json.dumps(
                {
                    "id": r.id,
                    "kind": r.kind,
                    "verdict": "review",
                    "criteria": {
                        c: {"pass": None, "score": 0.5, "evidence": r.features[c]} for c in r.features
                    },
                }
            )
            + "\n"
            for r in rows
        )
    )
    return labels, results
