"""Turn a criterion's measurements into a pass probability.

Each criterion names the measurements that speak to it and how to transform them (shares on a log
scale, ratios as logs), so that one logistic model per criterion, fitted on human labels by
``maskgate calibrate``, can weigh them. The transforms carry the domain knowledge; the weights
carry the labels.
"""

from __future__ import annotations

import math

import numpy as np

# criterion -> [(feature name, transform)], transform in {"lin", "log", "log1p100"}
FEATURES: dict[str, list[tuple[str, str]]] = {
    "residue": [
        ("text_count", "lin"),
        ("text_score", "lin"),
        ("text_area", "log1p100"),
        ("overlay_carried", "lin"),
        ("stray_share", "log1p100"),
        ("stray_blobs", "log1p"),
        ("collar_share", "log1p100"),
        ("outline_on_edge", "log"),
    ],
    "segmentation": [("missing_share", "log1p100"), ("missing_biggest", "log1p100"), ("missing_open", "log1p100")],
    "quality": [
        ("sharp_ratio", "log"),
        ("flat_delta", "lin"),
        ("block_delta", "log1p_abs"),
        ("tint_slope", "lin"),
        ("tint_resid", "log1p"),
        ("mean_shift", "log1p"),
        ("de_inner", "log1p"),
        ("de_band", "log1p"),
        ("de_outer", "log1p"),
    ],
    "comprehensibility": [("area_share", "log"), ("bbox_share", "log"), ("min_side", "log")],
    "consistency": [
        ("mirrored", "lin"),
        ("scale", "log"),
        ("ncc_med", "lin"),
        ("low_ncc_share", "lin"),
        ("de_med", "log1p"),
        ("de_p90", "log1p"),
        ("changed_blob", "log1p100"),
        ("hue_shift", "lin"),
    ],
    "background": [
        ("chroma_hf", "log1p"),
        ("luma_hf", "log1p"),
        ("edge_density", "log1p100"),
        ("grad_p99", "log1p"),
        ("ghost_inliers", "log1p"),
    ],
}


def _t(v: float, how: str) -> float:
    v = float(v)
    if how == "lin":
        return v
    if how == "log":
        return math.log(max(v, 1e-4))
    if how == "log1p":
        return math.log1p(max(v, 0.0))
    if how == "log1p100":
        return math.log1p(100.0 * max(v, 0.0))
    if how == "log1p_abs":
        return math.copysign(math.log1p(abs(v)), v)
    raise ValueError(how)


def vector(criterion: str, feats: dict) -> np.ndarray:
    return np.array([_t(feats.get(name, 0.0), how) for name, how in FEATURES[criterion]], np.float64)


def probability(criterion: str, feats: dict, model: dict | None) -> float:
    """P(pass) from a fitted model {"mean", "std", "coef", "intercept"}; 0.5-centred prior without one."""
    if not model:
        return 0.5
    x = (vector(criterion, feats) - np.asarray(model["mean"])) / np.asarray(model["std"])
    z = float(x @ np.asarray(model["coef"]) + model["intercept"])
    return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))
