"""L2-regularised logistic regression: small, dependency-free, deterministic.

The criterion scorers have a handful of features each and a few hundred labels, where a
well-regularised linear model generalises better than anything with more capacity.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0) -> dict:
    """Fit P(y=1|x); returns {"mean","std","coef","intercept"} with features standardised."""
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std < 1e-9] = 1.0
    z = (x - mean) / std
    n, d = z.shape
    pos = max(y.mean(), 1e-3)
    # balance the classes: failures are the rare, costly class in one criterion and common in another
    w = np.where(y == 1, 0.5 / pos, 0.5 / max(1 - pos, 1e-3))

    def loss(p):
        coef, b = p[:d], p[d]
        t = z @ coef + b
        ll = np.logaddexp(0, -t) * y + np.logaddexp(0, t) * (1 - y)
        sig = 1 / (1 + np.exp(-t))
        g = (sig - y) * w
        return (w * ll).sum() / n + 0.5 * l2 * (coef @ coef) / n, np.concatenate([z.T @ g / n + l2 * coef / n, [g.sum() / n]])

    res = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B")
    return {"mean": mean.tolist(), "std": std.tolist(), "coef": res.x[:d].tolist(), "intercept": float(res.x[d])}


def predict(model: dict, x: np.ndarray) -> np.ndarray:
    z = (x - np.asarray(model["mean"])) / np.asarray(model["std"])
    t = z @ np.asarray(model["coef"]) + model["intercept"]
    return 1 / (1 + np.exp(-np.clip(t, -40, 40)))
