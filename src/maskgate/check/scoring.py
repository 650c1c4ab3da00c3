"""Turn a criterion's measurements into a pass probability.

Every measurement is first turned into a one-sided *badness* (0 where the measurement looks like a
clean edit, growing as it departs in the direction that means failure), with a reference level
that states what "normal" looks like. A logistic model per criterion, fitted on human labels by
``maskgate calibrate``, then weighs the badnesses, with weights constrained to the sign the
domain says (more badness never makes a pass likelier). That keeps one defect's signal (say, a
noisy background's high gradient) from excusing another's (a smeared background's low one), and
keeps the fitted model sane on products the labels never showed.
"""

from __future__ import annotations

import math

import numpy as np

# (feature, transform, reference, sign): transform in
#   high: max(0, log(v / ref))     low: max(0, log(ref / v))     lin: max(0, v - ref)
#   high1p: max(0, log1p(v) - log1p(ref))
# sign -1: badness (lowers P(pass)); +1: exonerating (explains the change as another criterion's)
Feature = tuple[str, str, float, int]

FEATURES: dict[str, list[Feature]] = {
    "residue": [
        ("text_count", "lin", 0.0, -1),
        ("text_score", "lin", 0.3, -1),
        ("text_area", "high", 0.0005, -1),
        ("overlay_carried", "lin", 0.3, -1),
        ("stray_share", "high", 0.0002, -1),
        ("stray_blobs", "high1p", 0.0, -1),
        ("collar_share", "high", 0.01, -1),
        ("collar_off_edge", "lin", 0.0, -1),
    ],
    # An erasure's residue is its own question (did the original's overlay text go?), weighed on
    # its own measurements and fitted on erasure labels when a calibration has them.
    "residue@text_removed": [
        ("overlay_left", "lin", 0.0, -1),
        ("overlay_carried", "lin", 0.3, -1),
        ("text_area", "high", 0.0005, -1),
    ],
    "segmentation": [
        ("missing_share", "high", 0.02, -1),
        ("missing_biggest", "high", 0.01, -1),
        ("missing_open", "high", 0.01, -1),
        ("outline_lost", "high", 0.05, -1),
        ("hue_shift", "lin", 0.1, 1),
        ("lp_ncc_med", "low", 0.95, 1),
    ],
    "quality": [
        ("sharp_ratio", "low", 0.85, -1),
        ("flat_delta", "lin", 0.02, -1),
        ("block_delta", "high1p", 0.2, -1),
        ("tint_slope", "low", 0.95, -1),
        ("tint_signal", "lin", 0.0, -1),
        ("halo_signal", "lin", 0.0, -1),
        ("de_outer", "high1p", 8.0, -1),
        ("lp_ncc_med", "low", 0.9, 1),
        ("hue_rot", "lin", 0.3, 1),
        ("warp_gain", "lin", 0.05, 1),
    ],
    "comprehensibility": [
        ("area_share", "low", 0.05, -1),
        ("bbox_share", "low", 0.08, -1),
        ("min_side", "low", 0.2, -1),
    ],
    "consistency": [
        ("mirrored", "lin", 0.0, -1),
        ("ncc_med", "low", 0.9, -1),
        ("lp_ncc_med", "low", 0.95, -1),
        ("lp_low_share", "high", 0.02, -1),
        ("low_ncc_share", "high", 0.02, -1),
        ("inner_blob", "high", 0.005, -1),
        ("changed_blob", "high", 0.01, -1),
        ("tint_resid", "high1p", 6.0, -1),
        ("outline_lost", "high", 0.05, 1),
        ("hue_rot", "lin", 0.08, -1),
        ("flow_med", "high", 0.3, -1),
        ("warp_gain", "lin", 0.01, -1),
        ("patch_blob", "high", 0.01, -1),
        ("patch_inner", "high", 0.005, -1),
    ],
    "background": [
        ("chroma_hf", "high", 2.0, -1),
        ("luma_hf", "high", 14.0, -1),
        ("luma_hf_low", "low", 2.0, -1),
        ("grad_p99", "low", 135.0, -1),
        ("edge_density", "low", 0.04, -1),
        ("ghost_inliers", "high1p", 3.5, -1),
        ("ghost_match", "lin", 0.7, -1),
    ],
}


def scorer(criterion: str, kind: str | None) -> str:
    """The scorer key of ``criterion`` for an edit of ``kind``: its own one where FEATURES has one."""
    key = f"{criterion}@{kind}"
    return key if key in FEATURES else criterion


def criterion_of(key: str) -> str:
    return key.split("@", 1)[0]


def derived(criterion: str, feats: dict) -> dict:
    """Measurements that only mean something together (a tint is a colour shift that a blend explains)."""
    f = dict(feats)
    if criterion == "residue":
        f["collar_off_edge"] = f.get("collar_share", 0.0) * max(
            0.0, math.log(1.6 / max(f.get("outline_on_edge", 2.0), 1e-3))
        )
    if criterion in ("quality", "consistency"):
        f["tint_signal"] = max(
            0.0, math.log1p(f.get("mean_shift", 0.0)) - math.log1p(f.get("tint_resid", 0.0))
        )
    if criterion == "background":
        f["luma_hf_low"] = f.get("luma_hf", 10.0)  # a smeared scene has no fine detail left
    if criterion == "quality":
        f["halo_signal"] = max(
            0.0, math.log1p(f.get("de_band", 0.0)) - math.log1p(f.get("de_inner", 0.0)) - 0.5
        )
    return f


def _t(v: float, how: str, ref: float) -> float:
    v = float(v)
    if how == "lin":
        return max(0.0, v - ref)
    if how == "high":
        return max(0.0, math.log(max(v, 1e-6) / ref))
    if how == "low":
        return max(0.0, math.log(ref / max(v, 1e-6)))
    if how == "high1p":
        return max(0.0, math.log1p(max(v, 0.0)) - math.log1p(ref))
    raise ValueError(how)


def vector(criterion: str, feats: dict) -> np.ndarray:
    f = derived(criterion, feats)
    return np.array([_t(f.get(name, 0.0), how, ref) for name, how, ref, _ in FEATURES[criterion]], np.float64)


def signs(criterion: str) -> np.ndarray:
    return np.array([s for *_, s in FEATURES[criterion]], np.float64)


def probability(criterion: str, feats: dict, model: dict | None) -> float:
    """P(pass) from a fitted model {"scale","coef","intercept"}; without one, 1 - squashed badness."""
    x = vector(criterion, feats)
    if not model:
        return float(math.exp(-float(x.sum())))
    z = float((x / np.asarray(model["scale"])) @ np.asarray(model["coef"]) + model["intercept"])
    return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))
