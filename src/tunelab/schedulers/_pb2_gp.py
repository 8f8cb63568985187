"""The GP-bandit behind PB2: a time-varying Gaussian process and a batch UCB selection.

Observations are ``(t, x, y)``: the time ``t`` at which a trial's interval ended, its
hyperparameters ``x`` scaled to ``[0, 1]^d`` and ``y``, the improvement of its score per unit
of time over the interval. The kernel multiplies a squared exponential over ``x`` by a
forgetting factor over time, ``(1 - eps) ** (|t - t'| / 2)`` (Bogunovic et al., 2016), so old
observations count less. Kernel parameters (variance, length scale, eps, noise) maximise the
marginal likelihood. A new ``x`` maximises the upper confidence bound at the current time;
the configs other trials are running now enter as pseudo-observations at their predicted
mean ("kriging believer"), which shrinks the uncertainty around them and spreads a batch.
The kernel parameters are chosen on a small grid (the variance in closed form), and the
bound is maximised by random candidates refined by shrinking local steps: deterministic for
a seed, and a few milliseconds for the at most 100 observations PB2 keeps.

numpy and scipy are imported by the caller through ``require(..., extra="pb2")`` and passed
in; this module never imports them at import time.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["select_next"]

#: grids searched for the kernel parameters (the variance has a closed form given the rest)
_LENGTHS = (0.05, 0.1, 0.2, 0.35, 0.6, 1.0, 2.0)
_EPSILONS = (1e-4, 0.01, 0.05, 0.15, 0.35)
_NOISE_RATIOS = (1e-4, 1e-2, 0.1, 0.5)


def _kernel(np: Any, a: Any, b: Any, params: Any) -> Any:
    """Covariance between rows ``a`` and ``b`` (column 0: time, the rest: x)."""
    variance, length, eps, _ = params
    sq = ((a[:, None, 1:] - b[None, :, 1:]) ** 2).sum(axis=2)
    spatial = np.exp(-0.5 * sq / length**2)
    dt = np.abs(a[:, None, 0] - b[None, :, 0])
    temporal = (1.0 - eps) ** (dt / 2.0)
    return variance * spatial * temporal


def _fit(np: Any, X: Any, y: Any) -> tuple[float, float, float, float]:
    """(variance, length scale, eps, noise) maximising the marginal likelihood over a grid;
    for each shape the best variance is ``y' C^-1 y / n`` (C: the unit-variance covariance).
    All grid points are factorised in one batched Cholesky."""
    n = len(y)
    sq = ((X[:, None, 1:] - X[None, :, 1:]) ** 2).sum(axis=2)
    dt = np.abs(X[:, None, 0] - X[None, :, 0])
    grid = [
        (length, eps, ratio) for length in _LENGTHS for eps in _EPSILONS for ratio in _NOISE_RATIOS
    ]
    eye = np.eye(n)
    C = np.stack(
        [
            np.exp(-0.5 * sq / length**2) * (1.0 - eps) ** (dt / 2.0) + (ratio + 1e-8) * eye
            for length, eps, ratio in grid
        ]
    )
    try:
        L = np.linalg.cholesky(C)
    except np.linalg.LinAlgError:  # some grid point is numerically singular: add jitter
        L = np.linalg.cholesky(C + 1e-6 * eye)
    z = np.linalg.solve(L, np.broadcast_to(y, (len(grid), n))[..., None])[..., 0]
    quad = (z**2).sum(axis=1)
    variance = np.maximum(quad / n, 1e-6)
    log_det = 2.0 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1) + n * np.log(variance)
    value = 0.5 * (quad / variance + log_det)
    best = int(np.argmin(value))
    length, eps, ratio = grid[best]
    return float(variance[best]), length, eps, ratio * float(variance[best])


class _Posterior:
    """Posterior of the fitted GP, conditioned on the data and the pending points."""

    def __init__(self, np: Any, linalg: Any, X: Any, y: Any, pending: Any, params: Any) -> None:
        self.np, self.params, self.X, self.y = np, params, X, y
        noise = params[3] + 1e-8
        K = _kernel(np, X, X, params) + noise * np.eye(len(X))
        self._factor = linalg.cho_factor(K, lower=True)
        self._alpha = linalg.cho_solve(self._factor, y)
        self._linalg = linalg
        # variance uses data + pending (pending points at their predicted mean)
        full = X if pending is None or not len(pending) else np.vstack([X, pending])
        K_full = _kernel(np, full, full, params) + noise * np.eye(len(full))
        self._full = full
        self._full_factor = linalg.cho_factor(K_full, lower=True)

    def mean_std(self, Z: Any) -> tuple[Any, Any]:
        np = self.np
        mean = _kernel(np, Z, self.X, self.params) @ self._alpha
        k_full = _kernel(np, Z, self._full, self.params)
        v = self._linalg.cho_solve(self._full_factor, k_full.T)
        prior = self.params[0]
        var = np.maximum(prior - (k_full * v.T).sum(axis=1), 1e-12)
        return mean, np.sqrt(var)


def select_next(
    np: Any,
    scipy: Any,
    times: list[float],
    xs: list[list[float]],
    ys: list[float],
    pending: list[list[float]],
    now: float,
    seed: int,
) -> list[float]:
    """The next point in ``[0, 1]^d`` by GP-UCB at time ``now`` (see the module docstring).

    ``times``/``xs``/``ys``: the observations (at least two); ``pending``: the points other
    trials are running. Deterministic for a given ``seed``.
    """
    import scipy.linalg as linalg

    del scipy  # scipy.linalg above is what is used; the argument proves scipy is installed
    rng = np.random.default_rng(seed)
    d = len(xs[0])
    t = np.asarray(times, dtype=float)
    t_lo, t_span = float(t.min()), float(t.max() - t.min()) or 1.0
    X = np.column_stack([(t - t_lo) / t_span, np.asarray(xs, dtype=float)])
    y = np.asarray(ys, dtype=float)
    y_std = float(y.std()) or 1.0
    y = (y - float(y.mean())) / y_std
    t_now = (now - t_lo) / t_span
    params = _fit(np, X, y)
    P = None
    if pending:
        P = np.column_stack([np.full(len(pending), t_now), np.asarray(pending, dtype=float)])
    posterior = _Posterior(np, linalg, X, y, P, params)
    n = len(ys)
    # the GP-UCB schedule beta_t ~ d log t, scaled down (x0.2) as is usual in practice
    kappa = math.sqrt(0.2 * d * math.log(2.0 * n + 2.0))

    def ucb(points: Any) -> Any:
        Z = np.column_stack([np.full(len(points), t_now), points])
        mean, std = posterior.mean_std(Z)
        return mean + kappa * std

    # global: random candidates; local: shrinking Gaussian steps around the best one
    candidates = rng.random((max(256, 64 * d), d))
    scores = ucb(candidates)
    best = int(np.argmax(scores))
    best_x, best_score = candidates[best], float(scores[best])
    for radius in (0.1, 0.03, 0.01):
        local = np.clip(best_x + radius * rng.standard_normal((64, d)), 0.0, 1.0)
        local_scores = ucb(local)
        index = int(np.argmax(local_scores))
        if float(local_scores[index]) > best_score:
            best_x, best_score = local[index], float(local_scores[index])
    return [min(max(float(v), 0.0), 1.0) for v in best_x]
