"""Distributions, Bayesian updates and evaluation statistics (Chapter 3), in numpy.

Log-densities match ``torch.distributions`` (``Normal``, ``Bernoulli``,
``Categorical``); the conjugate updates and Bayesian linear regression are
closed forms derived in Chapter 3, notebook 4, and checked there against
torch computations.
"""
from __future__ import annotations

from statistics import NormalDist
from typing import NamedTuple

import numpy as np

from ._validate import as_float_array, check_positive, check_probs

__all__ = ["normal_log_prob", "bernoulli_log_prob", "categorical_log_prob",
           "beta_bernoulli_update", "BLRPosterior", "bayesian_linear_regression",
           "blr_predict", "accuracy_confidence_interval"]

_LOG_2PI = float(np.log(2 * np.pi))


def normal_log_prob(x, loc=0.0, scale=1.0) -> np.ndarray:
    """log N(x | μ, σ²) = -(x - μ)² / (2σ²) - log σ - ½ log 2π, elementwise (broadcast).

    Same as ``torch.distributions.Normal(loc, scale).log_prob(x)``; ``scale`` > 0.
    """
    x = as_float_array(x, "normal_log_prob", "x")
    loc = as_float_array(loc, "normal_log_prob", "loc")
    scale = as_float_array(scale, "normal_log_prob", "scale")
    if np.any(~(scale > 0)):
        raise ValueError(
            f"normal_log_prob: scale must be > 0, got a minimum of {np.min(scale):.3g}"
        )
    z = (x - loc) / scale
    return -0.5 * z ** 2 - np.log(scale) - 0.5 * _LOG_2PI


def bernoulli_log_prob(x, probs) -> np.ndarray:
    """log Bernoulli(x | p) = x log p + (1 - x) log(1 - p), x in {0, 1}, broadcasting.

    Terms with a zero coefficient count 0 (so p = 0 or 1 is allowed).
    Same as ``torch.distributions.Bernoulli(probs=p).log_prob(x)`` for p in (0, 1).
    """
    x = as_float_array(x, "bernoulli_log_prob", "x")
    p = as_float_array(probs, "bernoulli_log_prob", "probs")
    if np.any(~np.isin(x, (0.0, 1.0))):
        raise ValueError("bernoulli_log_prob: x must hold outcomes 0 or 1")
    if np.any(~((p >= 0) & (p <= 1))):
        raise ValueError(f"bernoulli_log_prob: probs must lie in [0, 1], got values in "
                         f"[{np.nanmin(p):.3g}, {np.nanmax(p):.3g}]")
    with np.errstate(divide="ignore"):
        return np.where(x == 1, np.log(p), np.log1p(-p))


def categorical_log_prob(x, probs) -> np.ndarray:
    """log Categorical(x | p) = log p_x. x: (...) int class indices; probs: (..., C).

    ``probs`` must be non-negative and sum to 1 over its last axis (tolerance
    1e-6). Same as ``torch.distributions.Categorical(probs=p).log_prob(x)``.
    """
    p = check_probs(probs, "categorical_log_prob", "probs", -1)
    x = np.asarray(x)
    if x.dtype.kind not in "iu":
        raise ValueError(
            f"categorical_log_prob: x must be integer class indices, got {x.dtype}"
        )
    C = p.shape[-1]
    if x.size and (x.min() < 0 or x.max() >= C):
        raise ValueError(
            f"categorical_log_prob: x must hold class indices in [0, {C - 1}], "
            f"got values in [{x.min()}, {x.max()}]"
        )
    shape = np.broadcast_shapes(x.shape, p.shape[:-1])
    p = np.broadcast_to(p, (*shape, C))
    x = np.broadcast_to(x, shape).astype(np.int64)
    with np.errstate(divide="ignore"):
        return np.log(np.take_along_axis(p, x[..., None], axis=-1)[..., 0])


def beta_bernoulli_update(a: float, b: float, x) -> tuple[float, float]:
    """Posterior Beta(a + k, b + n - k) after n flips x with k ones; prior Beta(a, b).

    The Beta prior is conjugate to the Bernoulli likelihood: prior × likelihood
    ∝ θ^{a-1+k} (1-θ)^{b-1+n-k} is again a Beta density. x: (n,) of 0/1.
    """
    a = check_positive(a, "beta_bernoulli_update", "a")
    b = check_positive(b, "beta_bernoulli_update", "b")
    x = as_float_array(x, "beta_bernoulli_update", "x", ndim=1, layout="(n,)")
    if np.any(~np.isin(x, (0.0, 1.0))):
        raise ValueError("beta_bernoulli_update: x must hold outcomes 0 or 1")
    k = float(x.sum())
    return a + k, b + len(x) - k


class BLRPosterior(NamedTuple):
    """Gaussian posterior N(mean, cov) over the weights of a linear model."""
    mean: np.ndarray   # (d,)
    cov: np.ndarray    # (d, d)
    noise_var: float


def bayesian_linear_regression(
    X, y, prior_var: float, noise_var: float
) -> BLRPosterior:
    """Posterior over w for y = X w + ε, ε ~ N(0, σ²), prior w ~ N(0, τ² I).

    Σ_N = (XᵀX / σ² + I / τ²)⁻¹ and μ_N = Σ_N Xᵀ y / σ² (Chapter 3,
    notebook 4). μ_N equals the ridge solution with λ = σ² / τ².
    X: (n, d), y: (n,); prior_var = τ², noise_var = σ².
    """
    X = as_float_array(X, "bayesian_linear_regression", "X", ndim=2, layout="(n, d)")
    y = as_float_array(y, "bayesian_linear_regression", "y", ndim=1, layout="(n,)")
    if len(y) != len(X):
        raise ValueError(
            f"bayesian_linear_regression: y must be ({len(X)},) to match X "
            f"of shape {X.shape}, got {y.shape}"
        )
    tau2 = check_positive(prior_var, "bayesian_linear_regression", "prior_var")
    sigma2 = check_positive(noise_var, "bayesian_linear_regression", "noise_var")
    precision = X.T @ X / sigma2 + np.eye(X.shape[1]) / tau2
    cov = np.linalg.inv(precision)
    cov = 0.5 * (cov + cov.T)                     # symmetric up to rounding
    mean = np.linalg.solve(precision, X.T @ y / sigma2)
    return BLRPosterior(mean, cov, sigma2)


def blr_predict(posterior: BLRPosterior, X_new) -> tuple[np.ndarray, np.ndarray]:
    """Posterior predictive mean x*ᵀ μ_N, variance σ² + x*ᵀ Σ_N x*; rows x* of X_new.

    The variance adds the noise σ² (irreducible) to the uncertainty about w
    (which shrinks as data arrive). Returns two (m,) arrays.
    """
    X_new = as_float_array(X_new, "blr_predict", "X_new", ndim=2, layout="(m, d)")
    d = len(posterior.mean)
    if X_new.shape[1] != d:
        raise ValueError(
            f"blr_predict: X_new must be (m, {d}), got shape {X_new.shape}"
        )
    mean = X_new @ posterior.mean
    var = posterior.noise_var + np.einsum("md,de,me->m", X_new, posterior.cov, X_new)
    return mean, var


def accuracy_confidence_interval(correct: int, n: int, level: float = 0.95,
                                 method: str = "wilson") -> tuple[float, float]:
    """Confidence interval for an accuracy of ``correct`` out of ``n`` test examples.

    "normal" (Wald): â ± z sqrt(â(1-â)/n), the central limit theorem applied
    to the mean of n Bernoulli variables; it collapses to a point at â = 0 or 1.
    "wilson": the set of a with |â - a| <= z sqrt(a(1-a)/n), solved for a;
    better coverage for small n or extreme accuracy. z = Φ⁻¹((1 + level)/2).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(
            f"accuracy_confidence_interval: n must be an int >= 1, got {n!r}"
        )
    if isinstance(correct, bool) or not isinstance(correct, (int, np.integer)) \
            or not 0 <= correct <= n:
        raise ValueError(
            f"accuracy_confidence_interval: correct must be an int in [0, {n}], "
            f"got {correct!r}"
        )
    if not 0 < level < 1:
        raise ValueError(
            f"accuracy_confidence_interval: level must be in (0, 1), got {level}"
        )
    z = NormalDist().inv_cdf(0.5 + level / 2)
    a = correct / n
    if method == "normal":
        half = z * np.sqrt(a * (1 - a) / n)
        return max(0.0, a - half), min(1.0, a + half)
    if method == "wilson":
        denom = 1 + z ** 2 / n
        centre = (a + z ** 2 / (2 * n)) / denom
        half = z / denom * np.sqrt(a * (1 - a) / n + z ** 2 / (4 * n ** 2))
        return max(0.0, centre - half), min(1.0, centre + half)
    raise ValueError(
        f"accuracy_confidence_interval: method must be 'wilson' or 'normal', "
        f"got {method!r}"
    )
