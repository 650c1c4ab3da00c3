"""Sign-constrained, L2-regularised logistic regression: small, deterministic, no new dependency.

The criterion scorers have a handful of badness features each and a few hundred labels; a linear
model whose weights may only point the way the domain says generalises better than anything with
more capacity.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize


def fit(x: np.ndarray, y: np.ndarray, signs: np.ndarray | None = None, l2: float = 1.0) -> dict:
    """Fit P(y=1|x); features are scaled (not centred: zero badness must stay zero)."""
    scale = np.sqrt((x * x).mean(axis=0))
    scale[scale < 1e-9] = 1.0
    z = x / scale
    n, d = z.shape
    pos = min(max(y.mean(), 1e-3), 1 - 1e-3)
    # balance the classes: failures are rare in one criterion and common in another
    w = np.where(y == 1, 0.5 / pos, 0.5 / (1 - pos))

    def loss(p):
        coef, b = p[:d], p[d]
        t = z @ coef + b
        ll = np.logaddexp(0, -t) * y + np.logaddexp(0, t) * (1 - y)
        g = (1 / (1 + np.exp(-t)) - y) * w
        val = (w * ll).sum() / n + 0.5 * l2 * (coef @ coef) / n
        return val, np.concatenate([z.T @ g / n + l2 * coef / n, [g.sum() / n]])

    if signs is None:
        signs = np.zeros(d)
    bounds = [(None, 0.0) if s < 0 else ((0.0, None) if s > 0 else (None, None)) for s in signs] + [
        (None, None)
    ]
    res = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    return {"scale": scale.tolist(), "coef": res.x[:d].tolist(), "intercept": float(res.x[d])}


def predict(model: dict, x: np.ndarray) -> np.ndarray:
    t = (x / np.asarray(model["scale"])) @ np.asarray(model["coef"]) + model["intercept"]
    return 1 / (1 + np.exp(-np.clip(t, -40, 40)))
