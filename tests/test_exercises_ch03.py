"""Every Chapter 3 check accepts a correct solution and rejects wrong ones and stubs."""
import numpy as np
import pytest

from dlmath import functional as F
from dlmath.exercises import ch03


def sample_mvn(mu, Sigma, z):
    return mu + z @ np.linalg.cholesky(Sigma).T


def mvn_log_prob(X, mu, Sigma):
    d = len(mu)
    diff = X - mu
    maha = np.sum(diff * np.linalg.solve(Sigma, diff.T).T, axis=1)
    return -0.5 * (maha + np.linalg.slogdet(Sigma)[1] + d * np.log(2 * np.pi))


def gaussian_nll(input, target, var):
    return np.mean(
        0.5 * (np.log(var) + (input - target) ** 2 / var + np.log(2 * np.pi))
    )


def binary_cross_entropy(input, target):
    with np.errstate(divide="ignore"):
        lp, lq = np.maximum(np.log(input), -100), np.maximum(np.log1p(-input), -100)
    return np.mean(-(target * lp + (1 - target) * lq))


def cross_entropy_label_smoothing(logits, target, eps):
    logp = F.log_softmax(logits, axis=1)
    nll = -logp[np.arange(len(target)), target]
    return np.mean((1 - eps) * nll - eps * logp.mean(axis=1))


def mutual_information(P):
    prod = P.sum(1, keepdims=True) * P.sum(0, keepdims=True)
    m = P > 0
    return np.sum(P[m] * np.log(P[m] / prod[m]))


def gaussian_mean_posterior(x, m0, v0, noise_var):
    vn = 1.0 / (1.0 / v0 + len(x) / noise_var)
    return np.array([vn * (m0 / v0 + x.sum() / noise_var), vn])


def stub(*args):
    raise NotImplementedError()


# wrong-but-plausible solutions: each makes a typical mistake
WRONG = {
    # L instead of Lᵀ
    "sample_mvn": lambda mu, S, z: mu + z @ np.linalg.cholesky(S),
    "mvn_log_prob": lambda X, mu, S: mvn_log_prob(X, mu, S) + 0.5 * np.log(2 * np.pi),
    # only the MSE part
    "gaussian_nll": lambda i, t, v: np.mean((i - t) ** 2 / v),
    "binary_cross_entropy": lambda i, t: np.mean(-(t * np.log(i + 1e-12)
                                                   + (1 - t) * np.log(1 - i + 1e-12))),
    # ignores eps
    "cross_entropy_label_smoothing": lambda z, y, eps: F.cross_entropy(z, y),
    # H(X), not I(X;Y)
    "mutual_information": lambda P: F.entropy(P.sum(1)),
    # MLE
    "gaussian_mean_posterior": lambda x, m0, v0, s: np.array([x.mean(), s / len(x)]),
}

CASES = [
    ("check_sample_mvn", sample_mvn, "sample_mvn"),
    ("check_mvn_log_prob", mvn_log_prob, "mvn_log_prob"),
    ("check_gaussian_nll", gaussian_nll, "gaussian_nll"),
    ("check_binary_cross_entropy", binary_cross_entropy, "binary_cross_entropy"),
    (
        "check_cross_entropy_label_smoothing",
        cross_entropy_label_smoothing,
        "cross_entropy_label_smoothing",
    ),
    ("check_mutual_information", mutual_information, "mutual_information"),
    (
        "check_gaussian_mean_posterior",
        gaussian_mean_posterior,
        "gaussian_mean_posterior",
    ),
]


@pytest.mark.parametrize("check, solution, name", CASES, ids=[c[0] for c in CASES])
def test_check_accepts_solution(check, solution, name, capsys):
    getattr(ch03, check)(solution)
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("check, solution, name", CASES, ids=[c[0] for c in CASES])
def test_check_rejects_wrong_solution(check, solution, name):
    with pytest.raises(AssertionError, match="wrong values|shape"):
        getattr(ch03, check)(WRONG[name])


@pytest.mark.parametrize("check, solution, name", CASES, ids=[c[0] for c in CASES])
def test_check_rejects_stub(check, solution, name):
    with pytest.raises(AssertionError, match="not attempted"):
        getattr(ch03, check)(stub)


def test_check_rejects_missing_return():
    with pytest.raises(AssertionError, match="returned None"):
        ch03.check_gaussian_nll(lambda i, t, v: None)


# --- notebook 3.5: solutions from the notebook, plausible wrong answers ------------
from tests.notebook_solutions import solutions  # noqa: E402

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


def ece_unweighted(conf, correct, n_bins):  # mean over non-empty bins, unweighted
    b = _bins(conf, n_bins)
    n = np.bincount(b, minlength=n_bins)
    gap = np.bincount(b, correct - conf, minlength=n_bins)
    return np.mean(np.abs(gap[n > 0]) / n[n > 0])


def ece_signed(conf, correct, n_bins):  # no |.|: over- and under-confidence cancel
    return abs(np.sum(correct - conf)) / len(conf)


def ece_max(conf, correct, n_bins):  # the maximum calibration error instead
    b = _bins(conf, n_bins)
    n = np.bincount(b, minlength=n_bins)
    gap = np.bincount(b, correct - conf, minlength=n_bins)
    return np.max(np.abs(gap[n > 0]) / n[n > 0])


def ece_drops_top_bin(conf, correct, n_bins):  # no clamp of floor(c B): 1.0 is lost
    b = (conf * n_bins).astype(int)
    keep = b < n_bins
    gap = np.bincount(b[keep], (correct - conf)[keep], minlength=n_bins)
    return np.sum(np.abs(gap)) / len(conf)


NB35_CHECKS = [
    ("check_kl_diag_gaussians", "kl_diag_gaussians",
     [kl_swapped, kl_no_minus_one, kl_logvar_as_logstd, kl_standard_prior_only]),
    ("check_expected_calibration_error", "expected_calibration_error",
     [ece_unweighted, ece_signed, ece_max, ece_drops_top_bin]),
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
