"""Autograded checks for the exercises of Chapter 3 (probability, information theory).

Each ``check_*`` takes the learner's function, runs it on inputs drawn from a
fresh ``rng(seed)`` (hidden cases: another seed) and compares with a PyTorch
computation in float64 on ``dlmath.device()``.
"""
from __future__ import annotations

import numpy as np

from ..check import to_torch
from . import check_function, refuse_calls, rng

def _spd(g: np.random.Generator, d: int) -> np.ndarray:
    A = g.standard_normal((d, d))
    return A @ A.T + 0.5 * np.eye(d)


def _spd_spectrum(g: np.random.Generator, d: int, lo: float, hi: float) -> np.ndarray:
    Q, _ = np.linalg.qr(g.standard_normal((d, d)))
    A = (Q * g.uniform(lo, hi, d)) @ Q.T
    return (A + A.T) / 2


def _probs(g: np.random.Generator, *shape: int) -> np.ndarray:
    p = g.random(shape)
    return p / p.sum(-1, keepdims=True)


def check_sample_mvn_precision(fn, *, seed: int = 301) -> None:
    """Exercise 3.1: draws of N(mu, Λ⁻¹) from z (n, d) given the precision Λ.

    The map is x = mu + M z with M upper triangular and M Mᵀ = Λ⁻¹, i.e.
    M = L⁻ᵀ for Λ = L Lᵀ; the reference applies it with torch's triangular
    solve.
    """
    import torch

    title = "Exercise 3.1 sample_mvn_precision"
    refuse_calls(fn, {"torch", "numpy.linalg.inv", "numpy.linalg.pinv",
                      "scipy.linalg.inv", "scipy.linalg.pinv", "dlmath.linalg.pinv",
                      "scipy.stats.multivariate_normal"}, title=title,
                 why="use the Cholesky factor of the precision and a solve, not an "
                     "inverse")

    def ref(mu, Lam, z):
        L = torch.linalg.cholesky(to_torch(Lam))
        return to_torch(mu) + torch.linalg.solve_triangular(L.T, to_torch(z).T,
                                                            upper=True).T

    g = rng(seed)
    cases = [(g.standard_normal(d), _spd(g, d), g.standard_normal((n, d)))
             for n, d in [(5, 2), (1, 3), (7, 1), (4, 6)]]
    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="factor the precision, not the covariance; which triangular "
                        "matrix built from that factor has M Mᵀ equal to its inverse? "
                        "Apply it with a solve; the result is (n, d)")


def check_mvn_log_prob(fn, *, seed: int = 302) -> None:
    """Exercise 3.2: log N(x | mu, Sigma) for rows x of X (n, d).

    One case is 150-dimensional with every eigenvalue of Σ in [1e-3, 1e-2]:
    det Σ ≈ 10^-340 underflows to 0, so only a log-determinant passes.
    """
    import torch

    title = "Exercise 3.2 mvn_log_prob"
    refuse_calls(fn, {"torch", "numpy.linalg.inv", "numpy.linalg.pinv",
                      "numpy.linalg.det", "scipy.linalg.inv", "scipy.linalg.pinv",
                      "scipy.linalg.det", "dlmath.linalg.pinv", "scipy.stats"},
                 title=title, why="never form Σ⁻¹ or det Σ: use a solve and a "
                                  "log-determinant (slogdet or a Cholesky factor)")

    def ref(X, mu, Sigma):
        return torch.distributions.MultivariateNormal(
            to_torch(mu), to_torch(Sigma)).log_prob(to_torch(X))

    g = rng(seed)
    cases = [(g.standard_normal((n, d)), g.standard_normal(d), _spd(g, d))
             for n, d in [(6, 2), (1, 4), (3, 1)]]
    cases.append((0.05 * g.standard_normal((4, 150)), np.zeros(150),
                  _spd_spectrum(g, 150, 1e-3, 1e-2)))
    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-8,
                   hint="the log-density is a Mahalanobis term, a log-determinant and "
                        "a constant; the first needs a linear solve, the second a "
                        "routine that never forms the determinant; one value per row")


def check_gaussian_nll(fn, *, seed: int = 303) -> None:
    """Exercise 3.3: mean Gaussian negative log-likelihood, per-example variances."""
    import torch

    title = "Exercise 3.3 gaussian_nll"
    refuse_calls(fn, {"torch", "scipy.stats", "dlmath.probability.normal_log_prob"},
                 title=title,
                 why="write the negative log-density yourself")

    def ref(input, target, var):
        return torch.nn.functional.gaussian_nll_loss(to_torch(input), to_torch(target),
                                                     to_torch(var), full=True)

    g = rng(seed)
    cases = [(g.standard_normal(n), g.standard_normal(n), g.random(n) + 0.05)
             for n in (5, 1, 40)]
    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="take minus the log of the Gaussian density of each target, "
                        "including its constant, and average over the examples; the "
                        "result is a scalar")


def check_binary_cross_entropy(fn, *, seed: int = 304) -> None:
    """Exercise 3.4: BCE on probabilities, with torch's clamp of log at -100."""
    import torch

    title = "Exercise 3.4 binary_cross_entropy"
    refuse_calls(fn, {"torch"}, title=title, why="write it with numpy")

    def ref(input, target):
        return torch.nn.functional.binary_cross_entropy(to_torch(input),
                                                        to_torch(target))

    g = rng(seed)
    cases = [(g.random(6), g.integers(0, 2, 6).astype(float)),
             (g.random((3, 4)), g.random((3, 4))),
             (np.array([0.0, 1.0, 0.5, 1.0]), np.array([1.0, 0.0, 1.0, 1.0])),
             (np.array([1e-50, 1 - 1e-17, 1e-300]), g.random(3))]
    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="each of the two logarithms is bounded below separately before "
                        "it is weighted; p = 0 and p = 1 must give finite values, and "
                        "adding a small epsilon inside the log is not the same clamp")


def check_cross_entropy_label_smoothing(fn, *, seed: int = 305) -> None:
    """Exercise 3.5: cross-entropy against smoothed targets (1-ε) y + ε/C."""
    import torch

    title = "Exercise 3.5 cross_entropy_label_smoothing"
    refuse_calls(fn, {"torch"}, title=title, why="write it with numpy")

    def ref(logits, target, eps):
        return torch.nn.functional.cross_entropy(to_torch(logits), torch.as_tensor(
            target, device=to_torch(logits).device), label_smoothing=eps)

    g = rng(seed)
    cases = [(g.standard_normal((5, 4)), g.integers(0, 4, 5), 0.1),
             (1e4 * g.standard_normal((3, 6)), g.integers(0, 6, 3), 0.2),
             (g.standard_normal((2, 3)), g.integers(0, 3, 2), 0.0)]
    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-10,
                   hint="the cross-entropy is linear in the target distribution, so "
                        "the smoothed target splits it into two terms you already know "
                        "how to compute; work with log-probabilities computed stably")


def check_mutual_information(fn, *, seed: int = 306) -> None:
    """Exercise 3.6: I(X; Y) = KL(p(x, y) ‖ p(x) p(y)) from a joint table (m, k)."""
    import torch

    title = "Exercise 3.6 mutual_information"
    refuse_calls(fn, {"torch", "sklearn.metrics.mutual_info_score"}, title=title,
                 why="write it with numpy")

    def ref(P):
        Pt = to_torch(P)
        prod = Pt.sum(1, keepdim=True) * Pt.sum(0, keepdim=True)
        return torch.distributions.kl_divergence(
            torch.distributions.Categorical(probs=Pt.reshape(-1)),
            torch.distributions.Categorical(probs=prod.reshape(-1)))

    g = rng(seed)
    independent = np.outer(_probs(g, 3), _probs(g, 4))
    cases = [(_probs(g, 12).reshape(3, 4),), (np.array([[0.5, 0.0], [0.0, 0.5]]),),
             (independent,), (_probs(g, 10).reshape(2, 5),)]
    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="the marginals are sums of the table along each axis; cells "
                        "with probability 0 contribute 0 and must not make nan")


def check_gaussian_mean_posterior(fn, *, seed: int = 307) -> None:
    """Exercise 3.7: posterior [mean, variance] of μ from x_i ~ N(μ, σ_i²), each x_i
    with its own noise variance σ_i² (noise_var, shape (n,)), prior μ ~ N(m0, v0)."""
    import torch

    title = "Exercise 3.7 gaussian_mean_posterior"
    refuse_calls(fn, {"torch", "dlmath.probability.bayesian_linear_regression"},
                 title=title,
                 why="derive the update and code it")

    def ref(x, m0, v0, noise_var):
        # weighted Bayesian linear regression on a column of ones (prior mean m0)
        xt, w = to_torch(x), 1.0 / to_torch(noise_var)
        ones = torch.ones(len(x), 1, dtype=torch.float64, device=xt.device)
        prec = ones.T @ (w[:, None] * ones) + 1.0 / v0
        var = torch.linalg.inv(prec)
        mean = m0 + var @ (ones.T @ (w * (xt - m0)))
        return torch.stack([mean.reshape(()), var.reshape(())])

    g = rng(seed)
    cases = [(g.normal(2.0, 1.0, 5), 0.0, 1.0, g.uniform(0.2, 3.0, 5)),
             (g.normal(-1.0, 0.5, 50), 3.0, 0.1, g.uniform(0.01, 1.0, 50)),
             (np.array([4.0]), 1.0, 2.0, np.array([2.0])),
             (g.normal(0.0, 1.0, 4), 0.5, 10.0, np.array([1e-4, 1.0, 1.0, 100.0]))]
    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="in a Gaussian update precisions add, and every observation "
                        "brings its own; the posterior mean is a precision-weighted "
                        "average; return np.array([mean, variance])")


# ----------------------------------------------------- Notebook 3.5: latent variables
def check_kl_diag_gaussians(fn, *, seed: int = 38) -> None:
    """Exercise 3.8: KL(N(μ₀, diag e^{lv₀}) ‖ N(μ₁, diag e^{lv₁})) per row of (N, d)."""
    from torch.distributions import Independent, Normal, kl_divergence

    title = "Exercise 3.8 kl_diag_gaussians"
    refuse_calls(fn, {"torch", "dlmath.functional.kl_divergence"}, title=title,
                 why="derive the diagonal case of the closed form and code it in numpy")

    def ref(mu0, lv0, mu1, lv1):
        q0 = Independent(Normal(to_torch(mu0), to_torch(lv0).mul(0.5).exp()), 1)
        q1 = Independent(Normal(to_torch(mu1), to_torch(lv1).mul(0.5).exp()), 1)
        return kl_divergence(q0, q1)

    g = rng(seed)
    cases = [tuple(g.standard_normal((N, d)) for _ in range(4))
             for N, d in ((5, 3), (1, 8), (10, 1))]
    z = np.zeros((4, 2))
    mu, lv = g.standard_normal((4, 2)), g.standard_normal((4, 2))
    cases.append((mu, lv, z, z))  # the VAE prior N(0, I)
    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="with diagonal covariances the dimensions are independent, so "
                        "the KL is a sum of 1-D Gaussian KLs over the last axis; "
                        "σ² = exp(logvar), not σ")


def check_adaptive_calibration_error(fn, *, seed: int = 39) -> None:
    """Exercise 3.9: calibration error over equal-mass bins.

    conf: (N,) in [0, 1], correct: (N,) of 0/1. Sort by confidence (stable),
    split the sorted order into ``n_bins`` contiguous groups whose sizes
    differ by at most one (the first ``N % n_bins`` one larger, as
    ``np.array_split``), and return Σ_b (n_b / N) |acc_b - conf_b|. The cases
    have confidences bunched near 1, where equal-width bins differ.
    """
    import torch

    title = "Exercise 3.9 adaptive_calibration_error"
    refuse_calls(fn, {"torch"}, title=title, why="sort and split with numpy")

    def ref(conf, correct, n_bins):
        c, ok = to_torch(conf), to_torch(correct.astype(np.float64))
        order = torch.sort(c, stable=True).indices
        groups = torch.tensor_split(order, n_bins)
        return sum((ok[b] - c[b]).sum().abs() for b in groups) / len(c)

    g = rng(seed)
    cases = []
    for N, B in ((500, 10), (43, 15), (200, 1), (301, 7)):
        conf = 1 - 0.5 * g.random(N) ** 3                 # most of the mass near 1
        cases.append((conf, (g.random(N) < conf ** 4).astype(np.int64), B))
    conf = np.array([0.9, 0.1, 0.9, 0.5, 0.9, 1.0, 1.0, 0.99, 0.3])   # ties
    cases.append((conf, np.array([0, 1, 1, 1, 1, 1, 0, 1, 0]), 4))
    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="sort the confidences (stable), split the sorted indices into "
                        "n_bins runs of nearly equal size, and weight each run's "
                        "|accuracy - mean confidence| by its share of the samples")
