"""Autograded checks for the exercises of Chapter 3 (probability, information).

Each ``check_*`` takes the learner's function, runs it on fixed inputs and
compares with a PyTorch computation in float64 on ``dlmath.device()``.
"""
from __future__ import annotations

import numpy as np

from ..check import to_torch
from . import check_function

_G = np.random.default_rng(2033)  # fixed test inputs, independent of dlmath.seed


def _spd(d: int) -> np.ndarray:
    A = _G.standard_normal((d, d))
    return A @ A.T + 0.5 * np.eye(d)


def _probs(*shape: int) -> np.ndarray:
    p = _G.random(shape)
    return p / p.sum(-1, keepdims=True)


def check_sample_mvn(fn) -> None:
    """Exercise 3.1: turn standard-normal draws z (n, d) into draws of N(mu, Sigma)."""
    import torch

    def ref(mu, Sigma, z):
        L = torch.distributions.MultivariateNormal(
            to_torch(mu), to_torch(Sigma)
        ).scale_tril
        return to_torch(mu) + to_torch(z) @ L.T

    cases = [(_G.standard_normal(d), _spd(d), _G.standard_normal((n, d)))
             for n, d in [(5, 2), (1, 3), (7, 1)]]
    check_function(
        fn,
        ref,
        cases,
        title="Exercise 3.1 sample_mvn",
        rtol=1e-10,
        atol=1e-12,
        hint="with Sigma = L Lᵀ (np.linalg.cholesky), x = mu + L z; for rows of z "
        "that is mu + z @ L.T, shape (n, d)",
    )


def check_mvn_log_prob(fn) -> None:
    """Exercise 3.2: log N(x | mu, Sigma) for rows x of X (n, d)."""
    import torch

    def ref(X, mu, Sigma):
        return torch.distributions.MultivariateNormal(
            to_torch(mu), to_torch(Sigma)
        ).log_prob(to_torch(X))

    cases = [(_G.standard_normal((n, d)), _G.standard_normal(d), _spd(d))
             for n, d in [(6, 2), (1, 4), (3, 1)]]
    check_function(
        fn,
        ref,
        cases,
        title="Exercise 3.2 mvn_log_prob",
        rtol=1e-10,
        atol=1e-10,
        hint="-½ (x-μ)ᵀ Σ⁻¹ (x-μ) - ½ log det Σ - (d/2) log 2π; use np.linalg.solve "
        "and np.linalg.slogdet, one value per row: shape (n,)",
    )


def check_gaussian_nll(fn) -> None:
    """Exercise 3.3: mean Gaussian negative log-likelihood, per-example variances."""
    import torch

    def ref(input, target, var):
        return torch.nn.functional.gaussian_nll_loss(to_torch(input), to_torch(target),
                                                     to_torch(var), full=True)

    cases = [(_G.standard_normal(n), _G.standard_normal(n), _G.random(n) + 0.05)
             for n in (5, 1, 40)]
    check_function(
        fn,
        ref,
        cases,
        title="Exercise 3.3 gaussian_nll",
        rtol=1e-10,
        atol=1e-12,
        hint="average ½ (log var + (input - target)² / var + log 2π) over the "
        "examples; the result is a scalar",
    )


def check_binary_cross_entropy(fn) -> None:
    """Exercise 3.4: BCE on probabilities, with torch's clamp of log at -100."""
    import torch

    def ref(input, target):
        return torch.nn.functional.binary_cross_entropy(
            to_torch(input), to_torch(target)
        )

    cases = [(_G.random(6), _G.integers(0, 2, 6).astype(float)),
             (_G.random((3, 4)), _G.random((3, 4))),
             (np.array([0.0, 1.0, 0.5, 1.0]), np.array([1.0, 0.0, 1.0, 1.0]))]
    check_function(
        fn,
        ref,
        cases,
        title="Exercise 3.4 binary_cross_entropy",
        rtol=1e-10,
        atol=1e-12,
        hint="mean of -(y log p + (1-y) log(1-p)); clamp each log below at -100 "
        "(np.maximum(np.log(p), -100)) so p = 0 or 1 gives a finite loss",
    )


def check_cross_entropy_label_smoothing(fn) -> None:
    """Exercise 3.5: cross-entropy against smoothed targets (1-ε) y + ε/C."""
    import torch

    def ref(logits, target, eps):
        return torch.nn.functional.cross_entropy(to_torch(logits), torch.as_tensor(
            target, device=to_torch(logits).device), label_smoothing=eps)

    cases = [(_G.standard_normal((5, 4)), _G.integers(0, 4, 5), 0.1),
             (1e4 * _G.standard_normal((3, 6)), _G.integers(0, 6, 3), 0.2),
             (_G.standard_normal((2, 3)), np.array([2, 0]), 0.0)]
    check_function(fn, ref, cases, title="Exercise 3.5 cross_entropy_label_smoothing",
                   rtol=1e-10, atol=1e-10,
                   hint="with log p = log_softmax(logits): mean over rows of "
                        "-(1-ε) log p[y] - (ε/C) Σ_c log p[c]; compute log p stably "
                        "(dlmath.functional.log_softmax) so logits of 1e4 work")


def check_mutual_information(fn) -> None:
    """Exercise 3.6: I(X; Y) = KL(p(x, y) ‖ p(x) p(y)) from a joint table (m, k)."""
    import torch

    def ref(P):
        Pt = to_torch(P)
        prod = Pt.sum(1, keepdim=True) * Pt.sum(0, keepdim=True)
        return torch.distributions.kl_divergence(
            torch.distributions.Categorical(probs=Pt.reshape(-1)),
            torch.distributions.Categorical(probs=prod.reshape(-1)))

    independent = np.outer(_probs(3), _probs(4))
    cases = [(_probs(3, 4).reshape(3, 4) / 3,), (np.array([[0.5, 0.0], [0.0, 0.5]]),),
             (independent,), (_probs(1, 10).reshape(2, 5),)]
    check_function(
        fn,
        ref,
        cases,
        title="Exercise 3.6 mutual_information",
        rtol=1e-10,
        atol=1e-12,
        hint="marginals are row and column sums; sum P log(P / (p_x p_y)) over "
        "the cells with P > 0 only (0 log 0 = 0)",
    )


def check_gaussian_mean_posterior(fn) -> None:
    """Exercise 3.7: posterior [mean, variance] of μ; x_i ~ N(μ, σ²), μ ~ N(m0, v0)."""
    import torch

    def ref(x, m0, v0, noise_var):
        # the same posterior as Bayesian linear regression with a column of ones,
        # with the prior mean handled by regressing on x - m0
        ones = torch.ones(len(x), 1, dtype=torch.float64, device=to_torch(x).device)
        prec = ones.T @ ones / noise_var + 1.0 / v0
        var = torch.linalg.inv(prec)
        mean = m0 + var @ (ones.T @ (to_torch(x) - m0)) / noise_var
        return torch.stack([mean.reshape(()), var.reshape(())])

    cases = [
        (_G.normal(2.0, 1.0, 5), 0.0, 1.0, 1.0),
        (_G.normal(-1.0, 0.5, 50), 3.0, 0.1, 0.25),
        (np.array([4.0]), 1.0, 2.0, 2.0),
    ]
    check_function(
        fn,
        ref,
        cases,
        title="Exercise 3.7 gaussian_mean_posterior",
        rtol=1e-10,
        atol=1e-12,
        hint="precisions add: 1/v_n = 1/v0 + n/σ², and "
        "m_n = v_n (m0/v0 + Σ x_i / σ²); return np.array([m_n, v_n])",
    )


# ----------------------------------------------------- Notebook 3.5: latent variables
def check_kl_diag_gaussians(fn) -> None:
    """Exercise 3.8: KL(N(μ₀, diag e^{lv₀}) ‖ N(μ₁, diag e^{lv₁})) per row of (N, d)."""
    from torch.distributions import Independent, Normal, kl_divergence

    from . import refuse_calls

    title = "Exercise 3.8 kl_diag_gaussians"
    refuse_calls(fn, {"torch", "kl_divergence"}, title=title,
                 why="derive the diagonal case of the closed form and code it in numpy")

    def ref(mu0, lv0, mu1, lv1):
        q0 = Independent(Normal(to_torch(mu0), to_torch(lv0).mul(0.5).exp()), 1)
        q1 = Independent(Normal(to_torch(mu1), to_torch(lv1).mul(0.5).exp()), 1)
        return kl_divergence(q0, q1)

    g = np.random.default_rng(38)
    cases = [tuple(g.standard_normal((N, d)) for _ in range(4))
             for N, d in ((5, 3), (1, 8), (10, 1))]
    z = np.zeros((4, 2))
    mu, lv = g.standard_normal((4, 2)), g.standard_normal((4, 2))
    cases.append((mu, lv, z, z))  # the VAE prior N(0, I)
    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="per dimension ½[σ₀²/σ₁² + (μ₁ - μ₀)²/σ₁² - 1 + log σ₁² "
                        "- log σ₀²], summed over the last axis; σ² = exp(logvar)")


def check_expected_calibration_error(fn) -> None:
    """Exercise 3.9: ECE = Σ_b (n_b / N) |acc_b - conf_b| over n_bins equal-width bins.

    conf: (N,) in [0, 1], correct: (N,) of 0/1; a confidence c goes to bin
    ``min(floor(c * n_bins), n_bins - 1)``, so 1.0 lands in the last bin.
    """
    import torch

    def ref(conf, correct, n_bins):
        c, ok = to_torch(conf), to_torch(correct.astype(np.float64))
        b = torch.clamp((c * n_bins).floor().long(), max=n_bins - 1)
        zeros = torch.zeros(n_bins, dtype=c.dtype, device=c.device)
        s_conf = zeros.clone().index_add_(0, b, c)
        s_acc = zeros.clone().index_add_(0, b, ok)
        # Σ_b n_b/N |s_acc/n_b - s_conf/n_b| = Σ_b |s_acc - s_conf| / N (empty: 0)
        return (s_acc - s_conf).abs().sum() / len(c)

    g = np.random.default_rng(39)
    cases = []
    for N, B in ((500, 10), (40, 15), (200, 1), (300, 5)):
        conf = g.uniform(0.2, 1.0, N) ** 0.5
        cases.append((conf, (g.random(N) < conf ** 3).astype(np.int64), B))
    conf = np.array([0.0, 0.1, 0.35, 0.5, 0.9, 1.0, 1.0, 0.99])
    cases.append((conf, np.array([0, 1, 0, 1, 1, 1, 0, 1]), 4))
    check_function(fn, ref, cases, title="Exercise 3.9 expected_calibration_error",
                   rtol=1e-10, atol=1e-12,
                   hint="weight each bin's |accuracy - mean confidence| by its share "
                        "of the samples; skip empty bins; confidence 1.0 belongs to "
                        "the last bin")
