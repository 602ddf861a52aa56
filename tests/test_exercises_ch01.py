"""The Chapter 1 checks of notebook 1.5 accept the notebook's solutions and reject
stubs and plausible wrong answers."""
import numpy as np
import pytest

from dlmath.exercises import ch01
from tests.notebook_solutions import solutions

NB = "chapters/01_linear_algebra/05_norms_factorizations_costs.ipynb"


def stub(*args):
    raise NotImplementedError()


def _centred(X):
    return X - X.mean(axis=0)


# --- wrong answers: each a plausible mistake ------------------------------------------
def logdet_no_two(A):  # forgets that det A = (det L)²
    return np.sum(np.log(np.diag(np.linalg.cholesky(A))))


def logdet_diag_of_A(A):  # uses A's diagonal as if A were diagonal
    return np.sum(np.log(np.diag(A)))


def logdet_product_first(A):  # multiplies before taking the log: over/underflows
    with np.errstate(over="ignore", divide="ignore"):
        return np.log(np.prod(np.diag(np.linalg.cholesky(A))) ** 2)


def logdet_slogdet(A):  # correct value, but not by hand
    return np.linalg.slogdet(A)[1]


def whiten_wrong_side(X):  # Xc L⁻¹ instead of Xc L⁻ᵀ
    Xc = _centred(X)
    return Xc @ np.linalg.inv(np.linalg.cholesky(Xc.T @ Xc / (len(X) - 1)))


def whiten_not_centred(X):
    Xc = _centred(X)
    L_ = np.linalg.cholesky(Xc.T @ Xc / (len(X) - 1))
    return np.linalg.solve(L_, X.T).T


def whiten_biased(X):  # divides by N
    Xc = _centred(X)
    L_ = np.linalg.cholesky(Xc.T @ Xc / len(X))
    return np.linalg.solve(L_, Xc.T).T


def whiten_zca(X):  # a valid whitening, but the symmetric S^(-1/2), not Cholesky's
    Xc = _centred(X)
    lam, V = np.linalg.eigh(Xc.T @ Xc / (len(X) - 1))
    return Xc @ (V / np.sqrt(lam)) @ V.T


CHECKS = [
    ("check_logdet_spd", "logdet_spd",
     [logdet_no_two, logdet_diag_of_A, logdet_product_first, logdet_slogdet]),
    ("check_whiten", "whiten",
     [whiten_wrong_side, whiten_not_centred, whiten_biased, whiten_zca]),
]


@pytest.mark.parametrize("check, name", [(c, n) for c, n, _ in CHECKS])
def test_notebook_solution_passes(check, name, capsys):
    getattr(ch01, check)(solutions(NB)[name])
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("check, wrong", [(c, w) for c, _, ws in CHECKS for w in ws],
                         ids=lambda x: getattr(x, "__name__", x))
def test_wrong_answer_fails(check, wrong):
    with np.errstate(all="ignore"), \
            pytest.raises(AssertionError, match=r"Exercise 1\.\d+"):
        getattr(ch01, check)(wrong)


@pytest.mark.parametrize("check", [c for c, _, _ in CHECKS])
def test_stub_is_not_attempted(check):
    with pytest.raises(AssertionError, match="not attempted"):
        getattr(ch01, check)(stub)


def test_by_hand_refuses_determinant_routines_and_torch():
    with pytest.raises(AssertionError, match="done by hand.*slogdet"):
        ch01.check_logdet_spd(logdet_slogdet)

    def logdet_torch(A):
        import torch
        return torch.logdet(torch.as_tensor(A)).item()

    with pytest.raises(AssertionError, match="done by hand.*torch"):
        ch01.check_logdet_spd(logdet_torch)
    with pytest.raises(AssertionError, match="wrong values on test case 3"):
        ch01.check_logdet_spd(logdet_product_first)


# --- Exercises 1.1-1.8 (notebooks 1.1-1.4): notebook solutions, wrong answers ------
NB_EARLIER = {name: path for path, names in {
    "chapters/01_linear_algebra/01_vectors_and_tensors.ipynb":
        ["normalize_rows", "pairwise_sq_dists"],
    "chapters/01_linear_algebra/02_linear_maps_and_matmul.ipynb":
        ["bilinear", "attention_scores"],
    "chapters/01_linear_algebra/03_linear_systems_least_squares.ipynb":
        ["ridge", "project"],
    "chapters/01_linear_algebra/04_eigen_svd_pca.ipynb":
        ["covariance", "rank_k_approx"],
}.items() for name in names}


def _sq(Z):
    return (Z ** 2).sum(axis=1)


def _ridge_augmented_with_lam(A, b, lam):  # stacks λI instead of √λ I under A
    n = A.shape[1]
    return np.linalg.lstsq(np.vstack([A, lam * np.eye(n)]),
                           np.concatenate([b, np.zeros(n)]), rcond=None)[0]


EARLIER = [
    ("check_normalize_rows", "normalize_rows", [
        lambda X: X / np.linalg.norm(X),                              # one global norm
        lambda X: X / np.linalg.norm(X, axis=0, keepdims=True),  # columns, not rows
        lambda X: X / np.abs(X).sum(axis=1, keepdims=True)]),         # L1 norm
    ("check_pairwise_sq_dists", "pairwise_sq_dists", [
        lambda X, Y: _sq(X)[:, None] + _sq(Y)[None, :] - X @ Y.T,     # forgets the 2
        lambda X, Y: np.sqrt(np.maximum(_sq(X)[:, None] + _sq(Y)[None, :]
                                        - 2 * X @ Y.T, 0)),  # distances, not squared
        lambda X, Y: _sq(X)[:, None] + _sq(Y)[None, :]]),  # drops the cross term
    ("check_bilinear", "bilinear", [
        lambda x1, x2, W, b: np.einsum("ni,kij,nj->nk", x1, W, x2),   # forgets the bias
        # mixes examples: sums over every pair (n, m)
        lambda x1, x2, W, b: np.einsum("ni,kij,mj->nk", x1, W, x2) + b,
        lambda x1, x2, W, b: np.einsum("ni,kij,nj->nk", x1, W, x2) - b]),
    ("check_attention_scores", "attention_scores", [
        lambda Q, K: Q @ K.swapaxes(-1, -2),                          # no scaling
        lambda Q, K: Q @ K.swapaxes(-1, -2) / Q.shape[-1],            # d, not √d
        lambda Q, K: Q @ K.swapaxes(-1, -2) / np.sqrt(K.shape[1])]),  # √m, not √d
    ("check_ridge", "ridge", [
        lambda A, b, lam: np.linalg.solve(A.T @ A + lam, A.T @ b),    # λ on every entry
        lambda A, b, lam: np.linalg.lstsq(A, b, rcond=None)[0],       # ignores λ
        _ridge_augmented_with_lam]),
    ("check_project", "project", [
        lambda A, y: A @ A.T @ y,  # forgets the inverse
        lambda A, y: np.linalg.pinv(A) @ y,  # coefficients, (n,)
        lambda A, y: y - A @ np.linalg.pinv(A) @ y]),                 # the residual
    ("check_covariance", "covariance", [
        lambda X: (X - X.mean(0)).T @ (X - X.mean(0)) / len(X),       # biased, 1/N
        lambda X: X.T @ X / (len(X) - 1),                             # not centred
        lambda X: (X - X.mean(0)) @ (X - X.mean(0)).T / (len(X) - 1)]),  # (N, N)
    ("check_rank_k_approx", "rank_k_approx", [
        lambda A, k: (lambda U, s, Vt: U[:, :k] @ Vt[:k])(
            *np.linalg.svd(A, full_matrices=False)),                  # drops σ
        lambda A, k: (lambda U, s, Vt: (U[:, -k:] * s[-k:]) @ Vt[-k:])(
            *np.linalg.svd(A, full_matrices=False)),                  # smallest σ's
        lambda A, k: (lambda U, s, Vt: (U[:, :k + 1] * s[:k + 1]) @ Vt[:k + 1])(
            *np.linalg.svd(A, full_matrices=False))]),                # off by one
]


@pytest.mark.parametrize("check, name", [(c, n) for c, n, _ in EARLIER])
def test_earlier_notebook_solution_passes(check, name, capsys):
    getattr(ch01, check)(solutions(NB_EARLIER[name])[name])
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("check, k", [(c, k) for c, _, ws in EARLIER
                                      for k in range(len(ws))])
def test_earlier_wrong_answer_fails(check, k):
    wrong = dict((c, ws) for c, _, ws in EARLIER)[check][k]
    with np.errstate(all="ignore"), \
            pytest.raises(AssertionError, match=r"Exercise 1\.\d"):
        getattr(ch01, check)(wrong)


@pytest.mark.parametrize("check", [c for c, _, _ in EARLIER])
def test_earlier_stub_is_not_attempted(check):
    with pytest.raises(AssertionError, match="not attempted"):
        getattr(ch01, check)(stub)
