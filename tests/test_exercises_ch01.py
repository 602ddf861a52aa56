"""Every Chapter 1 check accepts the notebook's solution and rejects a stub and three
plausible wrong answers (each one a typical mistake)."""
import numpy as np
import pytest

from dlmath.exercises import ch01
from notebook_solutions import solutions

NB = "chapters/01_linear_algebra/"
SOL = {**solutions(NB + "01_vectors_and_tensors.ipynb"),
       **solutions(NB + "02_linear_maps_and_matmul.ipynb"),
       **solutions(NB + "03_linear_systems_least_squares.ipynb"),
       **solutions(NB + "04_eigen_svd_pca.ipynb")}


def stub(*args):
    raise NotImplementedError()


def _svd_k(A, k):
    return np.linalg.svd(A, full_matrices=False)


WRONG = {
    "normalize_rows": [
        lambda X: X / np.linalg.norm(X),                                  # one norm for all
        lambda X: X / np.linalg.norm(X, axis=0, keepdims=True),           # columns, not rows
        lambda X: X / (X ** 2).sum(axis=1, keepdims=True),                # squared norm
    ],
    "pairwise_sq_dists": [
        lambda X, Y: np.sqrt(np.maximum(((X[:, None] - Y[None]) ** 2).sum(-1), 0)),  # not squared
        lambda X, Y: (X ** 2).sum(1)[:, None] + (Y ** 2).sum(1)[None] - X @ Y.T,      # 2 missing
        lambda X, Y: ((X[:, None] - Y[None]) ** 2).sum(-1).T,                         # (M, N)
    ],
    "bilinear": [
        lambda x1, x2, W, b: np.einsum("ni,kij,nj->nk", x1, W, x2),                   # no bias
        lambda x1, x2, W, b: np.einsum("ni,kij,nj->n", x1, W, x2)[:, None] + b,   # sums k
        lambda x1, x2, W, b: np.einsum("ni,kij,nj->nk", x1, W, x2) + b.sum(),         # bias sum
    ],
    "attention_scores": [
        lambda Q, K: Q @ np.swapaxes(K, -1, -2),                          # no 1/sqrt(d)
        lambda Q, K: Q @ np.swapaxes(K, -1, -2) / Q.shape[-1],            # 1/d
        lambda Q, K: np.einsum("bnd,bmd->bnm", Q, K) / np.sqrt(K.shape[1]),  # sqrt(m)
    ],
    "ridge": [
        lambda A, b, lam: np.linalg.lstsq(A, b, rcond=None)[0],           # ignores λ
        lambda A, b, lam: np.linalg.solve(A.T @ A + lam, A.T @ b),        # λ added everywhere
        lambda A, b, lam: np.linalg.solve(A.T @ A + 2 * lam * np.eye(A.shape[1]), A.T @ b),
    ],
    "project": [
        lambda A, y: A @ np.linalg.solve(A.T @ A + 1e-3 * np.eye(A.shape[1]), A.T @ y),
        lambda A, y: A @ (A.T @ y),                                       # forgets (AᵀA)⁻¹
        lambda A, y: y - A @ np.linalg.pinv(A) @ y,                       # the residual
    ],
    "covariance": [
        lambda X: (X - X.mean(0)).T @ (X - X.mean(0)) / len(X),           # biased 1/N
        lambda X: X.T @ X / (len(X) - 1),                                 # not centred
        lambda X: (X - X.mean(1, keepdims=True)).T @ (X - X.mean(1, keepdims=True))
        / (len(X) - 1),                                                   # centred by rows
    ],
    "rank_k_approx": [
        lambda A, k: (lambda U, s, Vt: (U[:, -k:] * s[-k:]) @ Vt[-k:])(*_svd_k(A, k)),  # smallest
        lambda A, k: (lambda U, s, Vt: U[:, :k] @ Vt[:k])(*_svd_k(A, k)),               # no Σ
        lambda A, k: (lambda U, s, Vt: (U[:, :k] * s[:k] ** 2) @ Vt[:k])(*_svd_k(A, k)),  # s²
    ],
}

NAMES = list(WRONG)


@pytest.mark.parametrize("name", NAMES)
def test_check_accepts_the_notebook_solution(name, capsys):
    getattr(ch01, f"check_{name}")(SOL[name])
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("name, k", [(n, k) for n in NAMES for k in range(3)])
def test_check_rejects_plausible_wrong_answers(name, k):
    with np.errstate(all="ignore"), pytest.raises(AssertionError, match=r"Exercise 1\.\d"):
        getattr(ch01, f"check_{name}")(WRONG[name][k])


@pytest.mark.parametrize("name", NAMES)
def test_check_rejects_a_stub(name):
    with pytest.raises(AssertionError, match="not attempted"):
        getattr(ch01, f"check_{name}")(stub)
