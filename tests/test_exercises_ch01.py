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
    with np.errstate(all="ignore"), pytest.raises(AssertionError, match=r"Exercise 1\.\d+"):
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
