"""Autograded checks for the exercises of Chapter 10 (generative models).

Each ``check_*`` runs the learner's function on cases drawn from a fresh
``rng(seed)`` (hidden cases: another ``seed``) and compares with a PyTorch
computation in float64 on ``dlmath.device()``: ``torch.linalg`` for PCA,
``torch.distributions`` for the KL, ``torch.logsumexp`` for the importance-weighted
bound, ``torch.autograd`` for the GAN gradients, and Gaussian conditioning of the
joint of (x_{t-1}, x_t) for the DDPM posterior. The "by hand" exercises refuse
torch and the dlmath routines they re-derive.
"""
from __future__ import annotations

import numpy as np

from ..check import assert_close, to_numpy, to_torch
from . import check_function, refuse_calls, rng

__all__ = ["check_pca_error_from_spectrum", "check_kl_diag_gaussians",
           "check_iwae_bound", "check_weighted_optimal_discriminator",
           "check_generator_logit_grads", "check_ddpm_posterior"]


def _dev():
    return to_torch(np.zeros(1)).device


# --------------------------------------------------------------------- Exercise 10.1
def check_pca_error_from_spectrum(fn, *, seed: int = 101) -> None:
    """Exercise 10.1: mean squared reconstruction error of rank-k PCA, a scalar.

    Reference: reconstruct with the top-k right singular vectors of the centred
    data (``torch.linalg.svd``) and average ``‖x - x̂‖²`` over the rows. The cases
    have few rows (so N vs N - 1 shows) and an offset mean (so centring shows).
    """
    import torch

    title = "Exercise 10.1 pca_error_from_spectrum"
    refuse_calls(fn, ("torch", "dlmath.linalg.pca", "dlmath.linalg.pca_transform",
                      "dlmath.linalg.pca_reconstruct", "sklearn.decomposition"),
                 title=title, why="use the eigenvalues of the covariance in numpy")
    g = rng(seed)
    cases = []
    for N, d, k in [(8, 4, 1), (12, 5, 2), (40, 6, 3), (6, 3, 2)]:
        A = g.standard_normal((d, d)) * np.linspace(2.0, 0.3, d)
        X = g.standard_normal((N, d)) @ A + 3.0 + g.standard_normal(d)
        cases.append((X, k))

    def ref(X, k):
        Xt = to_torch(X)
        Xc = Xt - Xt.mean(0)
        V = torch.linalg.svd(Xc, full_matrices=False).Vh[:k].T
        return ((Xc - Xc @ V @ V.T) ** 2).sum(1).mean()

    check_function(fn, ref, cases, title=title, rtol=1e-9, atol=1e-12,
                   hint="which eigenvalues does PCA discard, and does the covariance "
                        "divide by the same count as a mean over the rows?")


# --------------------------------------------------------------------- Exercise 10.2
def check_kl_diag_gaussians(fn, *, seed: int = 102) -> None:
    """Exercise 10.2: KL(N(mu_q, e^{logvar_q}) ‖ N(mu_p, e^{logvar_p})), summed over
    the last axis: (..., d) inputs -> (...,). Reference: torch.distributions."""
    import torch

    title = "Exercise 10.2 kl_diag_gaussians"
    refuse_calls(fn, ("torch", "dlmath.generative.gaussian_kl",
                      "dlmath.generative.gaussian_kl_vjp"),
                 title=title, why="write the closed form in numpy")
    g = rng(seed)
    cases = []
    for shape in [(5, 3), (2, 4, 2), (1, 6), (7, 1)]:
        mq, mp = g.standard_normal(shape), g.standard_normal(shape)
        lq, lp = 1.5 * g.standard_normal(shape), 1.5 * g.standard_normal(shape)
        cases.append((mq, lq, mp, lp))
    D = torch.distributions

    def ref(mq, lq, mp, lp):
        q = D.Normal(to_torch(mq), torch.exp(0.5 * to_torch(lq)))
        p = D.Normal(to_torch(mp), torch.exp(0.5 * to_torch(lp)))
        return D.kl_divergence(q, p).sum(-1)

    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="logvar is log σ², not log σ; mind the factor in front of "
                        "the sum and which distribution the expectation is under")


# --------------------------------------------------------------------- Exercise 10.3
def check_iwae_bound(fn, *, seed: int = 103) -> None:
    """Exercise 10.3: log (1/K) Σ_k exp(log_w_k) per row: (N, K) -> (N,).

    Reference: ``torch.logsumexp(log_w, 1) - log K``. One case has log-weights
    near -800 (a 64-pixel image's log-likelihood can be that small), where the
    naive exp underflows to 0 and the log to -inf.
    """
    import torch

    title = "Exercise 10.3 iwae_bound"
    g = rng(seed)
    cases = [(g.standard_normal((4, 10)),), (3.0 * g.standard_normal((3, 1)),),
             (-800.0 + 5.0 * g.standard_normal((2, 50)),),
             (20.0 * g.standard_normal((5, 7)),)]

    def ref(lw):
        t = to_torch(lw)
        return torch.logsumexp(t, 1) - np.log(t.shape[1])

    check_function(fn, ref, cases, title=title, rtol=1e-12, atol=1e-10,
                   hint="the bound averages the weights, not their logs; subtract "
                        "the largest log-weight before exponentiating")


# --------------------------------------------------------------------- Exercise 10.4
def check_weighted_optimal_discriminator(fn, *, seed: int = 104) -> None:
    """Exercise 10.4: D*(x) when a fraction pi of the discriminator's examples is
    real: maximizes pi p log D + (1 - pi) q log(1 - D) pointwise.

    Reference: the maximizer found by torch, as the zero of the pointwise
    objective's derivative (Newton on the logit, checked to have converged).
    """
    import torch

    title = "Exercise 10.4 weighted_optimal_discriminator"
    g = rng(seed)
    cases = []
    for n, pi in [(6, 0.5), (5, 0.2), (8, 0.9), (4, 0.7)]:
        p, q = np.exp(g.standard_normal(n)), np.exp(g.standard_normal(n))
        cases.append((p, q, pi))

    def ref(p, q, pi):
        pt, qt = to_torch(p), to_torch(q)
        a = torch.zeros_like(pt, requires_grad=True)
        for _ in range(50):                 # Newton's method on the logit of D
            D = torch.sigmoid(a)
            v = (pi * pt * torch.log(D) + (1 - pi) * qt * torch.log(1 - D)).sum()
            (grad,) = torch.autograd.grad(v, a, create_graph=True)
            (hess,) = torch.autograd.grad(grad.sum(), a)
            a = (a - grad / hess).detach().requires_grad_(True)
        assert float(grad.detach().abs().max()) < 1e-10, \
            "reference Newton did not converge"
        return torch.sigmoid(a).detach()

    check_function(fn, ref, cases, title=title, rtol=1e-9, atol=1e-12,
                   hint="maximize a log D + b log(1 - D) over D in (0, 1) for "
                        "a, b > 0: which a and b does each x contribute?")


# --------------------------------------------------------------------- Exercise 10.5
def check_generator_logit_grads(fn, *, seed: int = 105) -> None:
    """Exercise 10.5: (d/da log(1 - σ(a)), d/da -log σ(a)) for the discriminator's
    logit a on generated samples: the saturating and non-saturating generator
    losses. (n,) -> (2, n). Reference: torch.autograd. The cases include a = -15
    (a confident discriminator), where only the non-saturating loss has a gradient.
    """
    import torch

    title = "Exercise 10.5 generator_logit_grads"
    refuse_calls(fn, ("torch", "dlmath.autodiff"), title=title,
                 why="differentiate by hand")
    g = rng(seed)
    cases = [(np.array([-15.0, -5.0, 0.0, 5.0]),), (3.0 * g.standard_normal(6),),
             (g.standard_normal(1),)]

    def ref(a):
        at = to_torch(a, requires_grad=True)
        sat = torch.autograd.grad(torch.log1p(-torch.sigmoid(at)).sum(), at)[0]
        ns = torch.autograd.grad(-torch.nn.functional.logsigmoid(at).sum(), at)[0]
        return torch.stack([sat, ns])

    def wrapped(a):
        out = fn(a)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            got = type(out).__name__ if not hasattr(out, "shape") else \
                f"an array of shape {np.shape(out)}"
            raise ValueError(f"expected a pair (g_sat, g_ns), got {got}")
        return np.stack([np.asarray(out[0], dtype=float),
                         np.asarray(out[1], dtype=float)])

    wrapped.__name__ = getattr(fn, "__name__", "your function")
    check_function(wrapped, ref, cases, title=title, rtol=1e-10, atol=1e-13,
                   hint="σ'(a) = σ(a)(1 - σ(a)); simplify each derivative until "
                        "only one factor of σ remains")


# --------------------------------------------------------------------- Exercise 10.6
def check_ddpm_posterior(fn, *, seed: int = 106) -> None:
    """Exercise 10.6: mean (N, d) and variance (a float) of q(x_{t-1} | x_t, x_0).

    Reference: condition the Gaussian joint of (x_{t-1}, x_t) given x_0 in torch:
    mean ``m1 + C12 / C22 (x_t - m2)``, variance ``C11 - C12² / C22``. Cases at
    t = 2, a middle t and t = T, with t 1-based and betas (T,).
    """
    import torch

    title = "Exercise 10.6 ddpm_posterior"
    refuse_calls(fn, ("torch", "dlmath.generative.ddpm_step"), title=title,
                 why="complete the square in numpy")
    g = rng(seed)
    cases = []
    for T, t, N, d in [(10, 2, 3, 2), (50, 23, 4, 1), (20, 20, 2, 3)]:
        betas = np.sort(g.uniform(0.01, 0.3, T))
        cases.append((g.standard_normal((N, d)), g.standard_normal((N, d)), t, betas))

    def ref(x0, xt, t, betas):
        b = to_torch(betas)
        ab = torch.cumprod(1 - b, 0)
        ab_prev, a_t = ab[t - 2], 1 - b[t - 1]
        m1, C11 = ab_prev.sqrt() * to_torch(x0), 1 - ab_prev
        m2, C12 = a_t.sqrt() * m1, a_t.sqrt() * (1 - ab_prev)
        C22 = a_t * C11 + b[t - 1]
        return m1 + C12 / C22 * (to_torch(xt) - m2), C11 - C12 ** 2 / C22

    for i, (x0, xt, t, betas) in enumerate(cases, 1):
        where = f"on test case {i} (T={len(betas)}, t={t}, x0 shape {x0.shape})"
        try:
            out = fn(x0.copy(), xt.copy(), t, betas.copy())
        except NotImplementedError:
            raise AssertionError(f"{title}: not attempted yet — replace the "
                                 f"`raise NotImplementedError` line with your code"
                                 ) from None
        except Exception as exc:
            raise AssertionError(f"{title}: your function raised "
                                 f"{type(exc).__name__}: {exc} {where}") from None
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            got = "None" if out is None else (
                f"an array of shape {np.shape(out)}" if hasattr(out, "shape")
                else type(out).__name__)
            raise AssertionError(f"{title}: expected a pair (mean, var), got {got} "
                                 f"{where}")
        mean, var = to_numpy(out[0]), to_numpy(out[1])
        m_ref, v_ref = ref(x0, xt, t, betas)
        if mean.shape != x0.shape:
            raise AssertionError(f"{title}: expected a mean of shape {x0.shape}, got "
                                 f"{mean.shape} {where}")
        if var.size != 1:
            raise AssertionError(f"{title}: expected one variance (a float), got "
                                 f"shape {var.shape} {where}")
        for name, a, e in (("mean", mean, m_ref), ("variance", var.reshape(()),
                                                   v_ref)):
            try:
                assert_close(a, e, rtol=1e-10, atol=1e-12, name=f"your {name}",
                             against="Gaussian conditioning in torch", verbose=False)
            except AssertionError as exc:
                raise AssertionError(
                    f"{title}: wrong {name} {where}: {exc}. Hint: which factors "
                    f"carry ᾱ (products up to t or t - 1) and which a single "
                    f"α_t or β_t?") from None
    print(f"✓ {title}: matches the torch reference on all {len(cases)} test cases")
