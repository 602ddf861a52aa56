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
