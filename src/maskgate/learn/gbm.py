"""Small monotone gradient-boosted trees for one scorer (LightGBM).

Trees catch what an additive logistic model cannot (a defect that shows only when two
measurements are both off), but with a few hundred labels they also memorise. They are kept
small (at most 15 leaves, at most 300 rounds, leaves of several pairs) and monotone in every input
whose meaning is known: more badness never raises P(pass), an exonerating feature never lowers
it. That is what keeps them sane on products the labels never showed, and it is the same promise
the sign-constrained logistic model makes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Configurations tried per scorer: leaves per tree, and the rounds read off one fit per leaves.
LEAVES = (4, 15)
ROUNDS = (50, 100, 200, 300)
# Under this many labelled pairs trees are not tried (``auto``): a few dozen labels cannot tell a
# real interaction from noise, and the logistic model is the safer guess.
MIN_ROWS = 60


def params(n_rows: int, leaves: int, constraints: list[int], threads: int = 1) -> dict[str, Any]:
    """LightGBM parameters for ``n_rows`` labelled pairs: deterministic, one thread by default
    (the check and the training share small machines), leaves sized for small sets."""
    return {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": leaves,
        "min_data_in_leaf": max(3, min(20, n_rows // 25)),
        "min_sum_hessian_in_leaf": 1e-3,
        "lambda_l2": 1.0,
        "max_bin": 63,
        "min_data_in_bin": 1,
        "feature_pre_filter": False,
        "monotone_constraints": constraints,
        # "intermediate" keeps the guarantee with fewer needlessly flat splits than "basic"
        "monotone_constraints_method": "intermediate",
        "verbose": -1,
        "num_threads": threads,
        "deterministic": True,
        "force_row_wise": True,
        "seed": 0,
    }


def fit(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    constraints: list[int],
    leaves: int,
    rounds: int,
    names: list[str] | None = None,
    threads: int = 1,
) -> Any:
    import lightgbm as lgb

    data = lgb.Dataset(x, y, weight=w, feature_name=names or "auto", free_raw_data=True)
    return lgb.train(params(len(y), leaves, constraints, threads), data, num_boost_round=rounds)


def predict(booster: Any, x: np.ndarray, rounds: int | None = None) -> np.ndarray:
    if len(x) == 0:
        return np.zeros(0)
    return np.asarray(booster.predict(x, num_iteration=rounds, num_threads=1), np.float64)
