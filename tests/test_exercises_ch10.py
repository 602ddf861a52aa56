"""Every Chapter 10 check accepts the notebook's solution (visible and hidden calls)
and rejects a stub, stubs returning None / zeros / their argument, and at least
three plausible wrong answers."""
import importlib

import numpy as np
import pytest

from dlmath.exercises import ch10
from tests.notebook_solutions import check_calls, solutions

NB = "chapters/10_generative_models/"
NOTEBOOKS = [NB + n for n in ("01_autoencoders_pca.ipynb",
                              "02_variational_autoencoders.ipynb",
                              "03_generative_adversarial_networks.ipynb",
                              "04_diffusion_and_flows.ipynb")]
AE, VAE, GAN, DIFF = (solutions(p) for p in NOTEBOOKS)


def stub(*args):
    raise NotImplementedError()


def returns_none(*args):
    return None


def returns_first(*args):
    return args[0]


def returns_zeros(*args):
    return np.zeros_like(np.asarray(args[0], dtype=float))


# ------------------------------------------------------------ 10.1 PCA error
def _lam(X):
    N = len(X)
    Xc = X - X.mean(0)
    return N, np.linalg.eigvalsh(Xc.T @ Xc / (N - 1))[::-1]


def pca_kept_variance(X, k):                     # the variance PCA keeps
    N, lam = _lam(X)
    return float((N - 1) / N * lam[:k].sum())


def pca_no_factor(X, k):                         # sum of λ, forgetting (N - 1) / N
    return float(_lam(X)[1][k:].sum())


def pca_not_centred(X, k):                       # eigenvalues of XᵀX / N
    lam = np.linalg.eigvalsh(X.T @ X / len(X))[::-1]
    return float(lam[k:].sum())


def pca_via_dlmath(X, k):                        # right, but not by hand
    from dlmath import linalg
    p = linalg.pca(X, k)
    R = linalg.pca_reconstruct(p, linalg.pca_transform(p, X)) - X
    return float((R ** 2).sum(1).mean())


# ------------------------------------------------------------ 10.2 KL
def kl_no_half(mq, lq, mp, lp):
    return np.sum(lp - lq + (np.exp(lq) + (mq - mp) ** 2) * np.exp(-lp) - 1, -1)


def kl_sigma_for_logvar(mq, lq, mp, lp):         # treats logvar as log σ
    return 0.5 * np.sum(2 * lp - 2 * lq + (np.exp(2 * lq) + (mq - mp) ** 2)
                        * np.exp(-2 * lp) - 1, -1)


def kl_reversed(mq, lq, mp, lp):                 # KL(p ‖ q)
    return VAE["kl_diag_gaussians"](mp, lp, mq, lq)


def kl_no_minus_one(mq, lq, mp, lp):
    return 0.5 * np.sum(lp - lq + (np.exp(lq) + (mq - mp) ** 2) * np.exp(-lp), -1)


def kl_dlmath(mq, lq, mp, lp):                   # right, but not by hand
    from dlmath import generative
    return generative.gaussian_kl(mq, np.exp(lq), mp, np.exp(lp))


# ------------------------------------------------------------ 10.3 IWAE
def iwae_mean_of_logs(lw):                       # the ELBO estimate
    return lw.mean(1)


def iwae_naive(lw):                              # underflows at -800
    with np.errstate(divide="ignore"):
        return np.log(np.exp(lw).mean(1))


def iwae_no_log_k(lw):
    m = lw.max(1, keepdims=True)
    return m[:, 0] + np.log(np.exp(lw - m).sum(1))


# ------------------------------------------------------------ 10.4 D*
def dstar_ignores_pi(p, q, pi):
    return p / (p + q)


def dstar_fake(p, q, pi):
    return (1 - pi) * q / (pi * p + (1 - pi) * q)


def dstar_pi_on_top_only(p, q, pi):
    return pi * p / (p + q)


# ------------------------------------------------------------ 10.5 logit grads
def _sig(a):
    return 1 / (1 + np.exp(-a))


def grads_swapped(a):                            # sat and ns exchanged
    return -(1 - _sig(a)), -_sig(a)


def grads_sign(a):                               # sign errors
    return _sig(a), 1 - _sig(a)


def grads_no_chain(a):                           # ∂/∂D instead of ∂/∂a
    return -1 / (1 - _sig(a)), -1 / _sig(a)


def grads_one_array(a):                          # one (2, n) array, rows swapped
    return np.stack(GAN["generator_logit_grads"](a))[::-1]


# ------------------------------------------------------------ 10.6 DDPM posterior
def _parts(t, betas):
    alphas = 1 - betas
    ab = np.cumprod(alphas)
    return ab[t - 1], ab[t - 2], alphas[t - 1], betas[t - 1]


def post_alpha_for_alphabar(x0, xt, t, betas):   # α_t where ᾱ_{t-1} belongs
    ab_t, ab_prev, a_t, b_t = _parts(t, betas)
    mean = (np.sqrt(a_t) * b_t * x0 + np.sqrt(a_t) * (1 - a_t) * xt) / (1 - ab_t)
    return mean, float((1 - a_t) / (1 - ab_t) * b_t)


def post_var_beta(x0, xt, t, betas):             # σ² = β_t, not β̃_t
    mean, _ = DIFF["ddpm_posterior"](x0, xt, t, betas)
    return mean, float(betas[t - 1])


def post_alphabar_t(x0, xt, t, betas):           # ᾱ_t where ᾱ_{t-1} belongs
    ab_t, ab_prev, a_t, b_t = _parts(t, betas)
    mean = (np.sqrt(ab_t) * b_t * x0 + np.sqrt(a_t) * (1 - ab_t) * xt) / (1 - ab_t)
    return mean, float(b_t)


def post_mean_only(x0, xt, t, betas):
    return DIFF["ddpm_posterior"](x0, xt, t, betas)[0]


CASES = [
    ("check_pca_error_from_spectrum", AE["pca_error_from_spectrum"],
     [pca_kept_variance, pca_no_factor, pca_not_centred, pca_via_dlmath]),
    ("check_kl_diag_gaussians", VAE["kl_diag_gaussians"],
     [kl_no_half, kl_sigma_for_logvar, kl_reversed, kl_no_minus_one, kl_dlmath]),
    ("check_iwae_bound", VAE["iwae_bound"],
     [iwae_mean_of_logs, iwae_naive, iwae_no_log_k]),
    ("check_weighted_optimal_discriminator", GAN["weighted_optimal_discriminator"],
     [dstar_ignores_pi, dstar_fake, dstar_pi_on_top_only]),
    ("check_generator_logit_grads", GAN["generator_logit_grads"],
     [grads_swapped, grads_sign, grads_no_chain, grads_one_array]),
    ("check_ddpm_posterior", DIFF["ddpm_posterior"],
     [post_alpha_for_alphabar, post_var_beta, post_alphabar_t, post_mean_only]),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("check, solution, wrong", CASES, ids=IDS)
def test_check_accepts_the_notebook_solution(check, solution, wrong, capsys):
    getattr(ch10, check)(solution)
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("check, solution, wrong", CASES, ids=IDS)
def test_check_rejects_a_stub(check, solution, wrong):
    with pytest.raises(AssertionError, match="not attempted"):
        getattr(ch10, check)(stub)


@pytest.mark.parametrize("check, solution, wrong", CASES, ids=IDS)
@pytest.mark.parametrize("lazy", [returns_none, returns_first, returns_zeros])
def test_check_rejects_lazy_stubs_with_a_clear_message(check, solution, wrong, lazy):
    with pytest.raises(AssertionError, match="Exercise 10") as info:
        getattr(ch10, check)(lazy)
    assert "Traceback" not in str(info.value)


@pytest.mark.parametrize("check, solution, wrong", CASES, ids=IDS)
def test_check_rejects_wrong_answers(check, solution, wrong):
    assert len(wrong) >= 3
    for fn in wrong:
        with pytest.raises(AssertionError, match="Exercise 10"):
            getattr(ch10, check)(fn)


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_every_visible_and_hidden_call_accepts_the_notebook_solution(path, capsys):
    calls = check_calls(path)
    assert calls and any(seed is not None for *_, seed in calls), "no hidden cases"
    for module, check, fn, seed in calls:
        mod = importlib.import_module(f"dlmath.exercises.{module}")
        kw = {} if seed is None else {"seed": seed}
        getattr(mod, check)(solutions(path)[fn], **kw)
    assert capsys.readouterr().out.count("✓") == sum(seed is None for *_, seed in calls)
