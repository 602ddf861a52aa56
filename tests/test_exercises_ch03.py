"""Every Chapter 3 check accepts the notebook's solution (visible and hidden cases)
and rejects stubs and plausible wrong answers; solutions come from the notebooks."""
import numpy as np
import pytest

from dlmath import functional as F
from dlmath.exercises import ch03
from tests.notebook_solutions import check_calls, solutions

NB = {name: path for path, names in {
    "chapters/03_probability_information/01_random_variables_and_distributions.ipynb":
        ["sample_mvn_precision", "mvn_log_prob"],
    "chapters/03_probability_information/02_maximum_likelihood.ipynb":
        ["gaussian_nll", "binary_cross_entropy"],
    "chapters/03_probability_information/03_information_theory_softmax.ipynb":
        ["cross_entropy_label_smoothing", "mutual_information"],
    "chapters/03_probability_information/04_bayes_and_evaluation.ipynb":
        ["gaussian_mean_posterior"],
}.items() for name in names}
PART_I = sorted(set(NB.values())) + [
    "chapters/03_probability_information/05_latent_variables.ipynb"]


def stub(*args):
    raise NotImplementedError()


def sol(name):
    return solutions(NB[name])[name]


# --- wrong-but-plausible solutions: each makes a typical mistake ----------------------
def mvn_precision_as_covariance(mu, Lam, z):  # treats Λ as the covariance
    return mu + z @ np.linalg.cholesky(Lam).T


def mvn_precision_lower(mu, Lam, z):  # L⁻¹ z: lower triangular, covariance L⁻ᵀL⁻¹ ≠ Λ⁻¹
    return mu + np.linalg.solve(np.linalg.cholesky(Lam), z.T).T


def mvn_precision_inverted(mu, Lam, z):  # a valid sampler, but inverts Λ
    return mu + z @ np.linalg.cholesky(np.linalg.inv(Lam)).T


def mvn_precision_via_solve_then_cholesky(mu, Lam, z):  # Σ = solve(Λ, I): lower factor
    return mu + z @ np.linalg.cholesky(np.linalg.solve(Lam, np.eye(len(mu)))).T


def mvn_log_prob_inv_det(X, mu, Sigma):  # forms Σ⁻¹ and det Σ: underflows in 150-d
    d = len(mu)
    diff = X - mu
    maha = np.sum(diff @ np.linalg.inv(Sigma) * diff, axis=1)
    with np.errstate(divide="ignore"):
        return -0.5 * (maha + np.log(np.linalg.det(Sigma)) + d * np.log(2 * np.pi))


def mvn_log_prob_no_half_logdet(X, mu, Sigma):
    d = len(mu)
    diff = X - mu
    maha = np.sum(diff * np.linalg.solve(Sigma, diff.T).T, axis=1)
    return -0.5 * maha - np.linalg.slogdet(Sigma)[1] - 0.5 * d * np.log(2 * np.pi)


def mvn_log_prob_extra_constant(X, mu, Sigma):
    return sol("mvn_log_prob")(X, mu, Sigma) + 0.5 * np.log(2 * np.pi)


def bce_epsilon(input, target):  # an epsilon inside the log is not torch's clamp
    return np.mean(-(target * np.log(input + 1e-12)
                     + (1 - target) * np.log(1 - input + 1e-12)))


def bce_clip_probabilities(input, target):  # clips p, not the logs
    p = np.clip(input, 1e-7, 1 - 1e-7)
    return np.mean(-(target * np.log(p) + (1 - target) * np.log(1 - p)))


def bce_clamp_sum(input, target):  # clamps the weighted sum, not each log
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = target * np.log(input) + (1 - target) * np.log1p(-input)
    return np.mean(-np.maximum(np.nan_to_num(terms, nan=-100.0), -100.0))


def posterior_mean_noise(x, m0, v0, noise_var):  # one averaged noise variance
    s = np.mean(noise_var)
    prec = 1 / v0 + len(x) / s
    return np.array([(m0 / v0 + np.sum(x) / s) / prec, 1 / prec])


def posterior_unweighted_mean(x, m0, v0, noise_var):  # right variance, plain mean of x
    prec = 1 / v0 + np.sum(1 / noise_var)
    return np.array([(m0 / v0 + np.mean(x) * np.sum(1 / noise_var)) / prec, 1 / prec])


def posterior_variances_add(x, m0, v0, noise_var):  # adds variances, not precisions
    prec = 1 / v0 + np.sum(1 / noise_var)
    return np.array([(m0 / v0 + np.sum(x / noise_var)) / prec,
                     1 / (1 / v0 + len(x) / np.sum(noise_var))])


def posterior_mle(x, m0, v0, noise_var):  # ignores the prior
    w = 1 / noise_var
    return np.array([np.sum(w * x) / np.sum(w), 1 / np.sum(w)])


WRONG = {
    "sample_mvn_precision": [mvn_precision_as_covariance, mvn_precision_lower,
                             mvn_precision_inverted,
                             mvn_precision_via_solve_then_cholesky],
    "mvn_log_prob": [mvn_log_prob_inv_det, mvn_log_prob_no_half_logdet,
                     mvn_log_prob_extra_constant],
    "gaussian_nll": [
        lambda i, t, v: np.mean((i - t) ** 2 / v),                   # only the MSE part
        lambda i, t, v: np.mean(0.5 * (np.log(v) + (i - t) ** 2 / v)),  # no constant
        lambda i, t, v: np.sum(0.5 * (np.log(v) + (i - t) ** 2 / v
                                      + np.log(2 * np.pi)))],          # sum, not mean
    "binary_cross_entropy": [bce_epsilon, bce_clip_probabilities, bce_clamp_sum],
    "cross_entropy_label_smoothing": [
        lambda z, y, eps: F.cross_entropy(z, y),                        # ignores eps
        lambda z, y, eps: (1 - eps) * F.cross_entropy(z, y),            # drops ε/C term
        lambda z, y, eps: np.mean(-np.log(F.softmax(z, axis=1)[np.arange(len(y)), y]
                                          * (1 - eps) + eps / z.shape[1]))],  # mixes p
    "mutual_information": [
        lambda P: F.entropy(P.sum(1)),                             # H(X), not I(X;Y)
        lambda P: np.sum(P * np.log(P / (P.sum(1, keepdims=True)
                                         * P.sum(0, keepdims=True)))),  # nan at P = 0
        lambda P: np.sum(P[P > 0] * np.log2((P / (P.sum(1, keepdims=True)
                                                 * P.sum(0, keepdims=True)))[P > 0]))],
    "gaussian_mean_posterior": [posterior_mean_noise, posterior_unweighted_mean,
                                posterior_variances_add, posterior_mle],
}
CHECKS = [(f"check_{name}", name) for name in WRONG]


@pytest.mark.parametrize("check, name", CHECKS)
def test_check_accepts_notebook_solution(check, name, capsys):
    getattr(ch03, check)(sol(name))
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("check, name, k", [(c, n, k) for c, n in CHECKS
                                            for k in range(len(WRONG[n]))])
def test_check_rejects_wrong_solution(check, name, k):
    with np.errstate(all="ignore"), \
            pytest.raises(AssertionError, match=r"Exercise 3\.\d"):
        getattr(ch03, check)(WRONG[name][k])


@pytest.mark.parametrize("check, name", CHECKS)
def test_check_rejects_stub(check, name):
    with pytest.raises(AssertionError, match="not attempted"):
        getattr(ch03, check)(stub)


def test_check_rejects_missing_return_and_names_the_reason():
    with pytest.raises(AssertionError, match="returned None"):
        ch03.check_gaussian_nll(lambda i, t, v: None)
    with pytest.raises(AssertionError, match="done by hand.*inv"):
        ch03.check_mvn_log_prob(mvn_log_prob_inv_det)
    with pytest.raises(AssertionError, match="done by hand.*inv"):
        ch03.check_sample_mvn_precision(mvn_precision_inverted)


@pytest.mark.parametrize("path", PART_I)
def test_every_visible_and_hidden_call_accepts_the_notebook_solution(path, capsys):
    calls = check_calls(path)
    assert any(seed is not None for *_, seed in calls), "no hidden cases"
    for _, check, fn, seed in calls:
        kw = {} if seed is None else {"seed": seed}
        getattr(ch03, check)(solutions(path)[fn], **kw)
    # one ✓ line per visible call: a passing hidden call prints nothing
    assert capsys.readouterr().out.count("✓") == sum(seed is None for *_, seed in calls)


# --- notebook 3.5: solutions from the notebook, plausible wrong answers ------------

NB35 = "chapters/03_probability_information/05_latent_variables.ipynb"


def kl_swapped(mu0, lv0, mu1, lv1):  # KL(q1 ‖ q0): the arguments in the wrong order
    return solutions(NB35)["kl_diag_gaussians"](mu1, lv1, mu0, lv0)


def kl_no_minus_one(mu0, lv0, mu1, lv1):  # forgets the -k term
    return 0.5 * np.sum(np.exp(lv0 - lv1) + (mu1 - mu0) ** 2 / np.exp(lv1)
                        + lv1 - lv0, axis=-1)


def kl_logvar_as_logstd(mu0, lv0, mu1, lv1):  # σ = exp(logvar), not exp(logvar / 2)
    s0, s1 = np.exp(lv0), np.exp(lv1)
    return np.sum(np.log(s1 / s0) + (s0 ** 2 + (mu0 - mu1) ** 2) / (2 * s1 ** 2) - 0.5,
                  axis=-1)


def kl_standard_prior_only(mu0, lv0, mu1, lv1):  # the VAE formula, ignoring μ₁ and σ₁
    return 0.5 * np.sum(np.exp(lv0) + mu0 ** 2 - 1 - lv0, axis=-1)


def _bins(conf, n_bins):
    return np.minimum((conf * n_bins).astype(int), n_bins - 1)


def ace_equal_width(conf, correct, n_bins):  # §5's equal-width ECE instead
    gap = np.bincount(_bins(conf, n_bins), correct - conf, minlength=n_bins)
    return np.sum(np.abs(gap)) / len(conf)


def _groups(conf, n_bins):
    return np.array_split(np.argsort(conf, kind="stable"), n_bins)


def ace_unweighted(conf, correct, n_bins):  # mean over groups, not weighted by size
    return np.mean([abs(np.mean(correct[b] - conf[b])) for b in _groups(conf, n_bins)])


def ace_signed(conf, correct, n_bins):  # no |.| per group: gaps cancel
    return abs(sum(np.sum(correct[b] - conf[b]) for b in _groups(conf, n_bins))) \
        / len(conf)


def ace_unsorted(conf, correct, n_bins):  # splits in data order, never sorts
    return sum(abs(np.sum(correct[b] - conf[b]))
               for b in np.array_split(np.arange(len(conf)), n_bins)) / len(conf)


NB35_CHECKS = [
    ("check_kl_diag_gaussians", "kl_diag_gaussians",
     [kl_swapped, kl_no_minus_one, kl_logvar_as_logstd, kl_standard_prior_only]),
    ("check_adaptive_calibration_error", "adaptive_calibration_error",
     [ace_equal_width, ace_unweighted, ace_signed, ace_unsorted]),
]


@pytest.mark.parametrize("check, name", [(c, n) for c, n, _ in NB35_CHECKS])
def test_nb35_notebook_solution_passes(check, name, capsys):
    getattr(ch03, check)(solutions(NB35)[name])
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("check, wrong", [(c, w) for c, _, ws in NB35_CHECKS
                                          for w in ws],
                         ids=lambda x: getattr(x, "__name__", x))
def test_nb35_wrong_answer_fails(check, wrong):
    with np.errstate(all="ignore"), \
            pytest.raises(AssertionError, match=r"Exercise 3\.[89]"):
        getattr(ch03, check)(wrong)


@pytest.mark.parametrize("check", [c for c, _, _ in NB35_CHECKS])
def test_nb35_stub_is_not_attempted(check):
    with pytest.raises(AssertionError, match="not attempted"):
        getattr(ch03, check)(stub)


def test_nb35_kl_refuses_torch():
    def kl_torch(mu0, lv0, mu1, lv1):
        import torch
        from torch.distributions import Independent, Normal, kl_divergence
        q = [Independent(Normal(torch.tensor(m), torch.tensor(v).mul(0.5).exp()), 1)
             for m, v in ((mu0, lv0), (mu1, lv1))]
        return kl_divergence(*q).numpy()

    with pytest.raises(AssertionError, match="done by hand.*kl_divergence, torch"):
        ch03.check_kl_diag_gaussians(kl_torch)
