"""The Chapter 1 checks of notebook 1.5 accept the notebook's solutions and reject
stubs and plausible wrong answers."""
import numpy as np
import pytest

from dlmath.exercises import ch01
from tests.notebook_solutions import check_calls, solutions

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


def test_logdet_refuses_an_aliased_eigenvalue_routine():
    from numpy.linalg import eigvalsh as spectrum

    def logdet_alias(A):  # the eigenvalue route of eq. (eq-logdet), renamed
        return np.sum(np.log(spectrum(A)))

    with pytest.raises(AssertionError, match="done by hand.*eigvalsh"):
        ch01.check_logdet_spd(logdet_alias)


def test_whiten_refuses_an_inverse_and_torch():
    def whiten_inv(X):  # the right value, through the inverse the text forbids
        Xc = X - X.mean(axis=0)
        L_ = np.linalg.cholesky(Xc.T @ Xc / (len(X) - 1))
        return Xc @ np.linalg.inv(L_).T

    def whiten_torch(X):
        import torch
        Xc = torch.as_tensor(X - X.mean(axis=0))
        L_ = torch.linalg.cholesky(Xc.T @ Xc / (len(X) - 1))
        return torch.linalg.solve_triangular(L_, Xc.T, upper=False).T.numpy()

    with pytest.raises(AssertionError, match="done by hand.*inv"):
        ch01.check_whiten(whiten_inv)
    with pytest.raises(AssertionError, match="done by hand.*torch"):
        ch01.check_whiten(whiten_torch)


# --- Exercises 1.1-1.8 (notebooks 1.1-1.4): notebook solutions, wrong answers ------
NB_EARLIER = {name: path for path, names in {
    "chapters/01_linear_algebra/01_vectors_and_tensors.ipynb":
        ["normalize_rows", "pairwise_sq_dists"],
    "chapters/01_linear_algebra/02_linear_maps_and_matmul.ipynb":
        ["bilinear", "causal_attention_weights"],
    "chapters/01_linear_algebra/03_linear_systems_least_squares.ipynb":
        ["ridge", "project"],
    "chapters/01_linear_algebra/04_eigen_svd_pca.ipynb":
        ["covariance", "smallest_rank"],
}.items() for name in names}
PART_I = sorted(set(NB_EARLIER.values())) + [NB]


def _sq(Z):
    return (Z ** 2).sum(axis=1)


def _ridge_augmented_with_lam(A, b, lam):  # stacks λI instead of √λ I under A
    n = A.shape[1]
    return np.linalg.lstsq(np.vstack([A, lam * np.eye(n)]),
                           np.concatenate([b, np.zeros(n)]), rcond=None)[0]


def normalize_rows_torch(X):  # right values, but not by hand
    import torch
    return torch.nn.functional.normalize(torch.as_tensor(X), dim=1).numpy()


def pairwise_sq_dists_torch(X, Y):  # right values, but not by hand
    import torch
    return (torch.cdist(torch.as_tensor(X), torch.as_tensor(Y)) ** 2).numpy()


def _scores(Q, K):
    return Q @ K.swapaxes(-1, -2) / np.sqrt(Q.shape[-1])


def _softmax_rows(S):
    E = np.exp(S - S.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


def causal_no_mask(Q, K):  # plain attention: looks at the future
    return _softmax_rows(_scores(Q, K))


def causal_zeroed_after_softmax(Q, K):  # masks after normalising: rows sum to < 1
    n = Q.shape[1]
    return _softmax_rows(_scores(Q, K)) * np.tril(np.ones((n, n)))


def causal_unstable(Q, K):  # exp of raw scores: overflows to nan for large scores
    n = Q.shape[1]
    E = np.exp(_scores(Q, K)) * np.tril(np.ones((n, n)))
    return E / E.sum(axis=-1, keepdims=True)


def causal_unscaled(Q, K):  # forgets 1/√d
    n = Q.shape[1]
    S = np.where(np.triu(np.ones((n, n), bool), 1), -np.inf, Q @ K.swapaxes(-1, -2))
    return _softmax_rows(S)


def project_normal_equations(A, y):  # (AᵀA)⁻¹: fails when AᵀA is singular
    return A @ np.linalg.solve(A.T @ A, A.T @ y)


def _svals(A):
    return np.linalg.svd(A, compute_uv=False)


def rank_off_by_one(A, tol):  # counts the first singular value that is dropped
    s2 = _svals(A) ** 2
    err2 = np.append(np.cumsum(s2[::-1])[::-1], 0.0)
    return int(np.argmax(err2 <= tol ** 2 * err2[0])) + 1


def rank_not_squared(A, tol):  # sums singular values instead of their squares
    s = _svals(A)
    err = np.append(np.cumsum(s[::-1])[::-1], 0.0)
    return int(np.argmax(err <= tol * err[0]))


def rank_spectral(A, tol):  # the spectral-norm error s_(k+1) instead of Frobenius
    s = np.append(_svals(A), 0.0)
    return int(np.argmax(s <= tol * np.sqrt(np.sum(s ** 2))))


def rank_energy_kept(A, tol):  # compares the kept energy, not the error, with tol
    s2 = _svals(A) ** 2
    kept = np.append(0.0, np.cumsum(s2))
    return int(np.argmax(kept >= tol ** 2 * kept[-1]))


EARLIER = [
    ("check_normalize_rows", "normalize_rows", [
        lambda X: X / np.linalg.norm(X),                              # one global norm
        lambda X: X / np.linalg.norm(X, axis=0, keepdims=True),  # columns, not rows
        lambda X: X / np.abs(X).sum(axis=1, keepdims=True),           # L1 norm
        normalize_rows_torch]),
    ("check_pairwise_sq_dists", "pairwise_sq_dists", [
        lambda X, Y: _sq(X)[:, None] + _sq(Y)[None, :] - X @ Y.T,     # forgets the 2
        lambda X, Y: np.sqrt(np.maximum(_sq(X)[:, None] + _sq(Y)[None, :]
                                        - 2 * X @ Y.T, 0)),  # distances, not squared
        lambda X, Y: _sq(X)[:, None] + _sq(Y)[None, :],  # drops the cross term
        pairwise_sq_dists_torch]),
    ("check_bilinear", "bilinear", [
        lambda x1, x2, W, b: np.einsum("ni,kij,nj->nk", x1, W, x2),   # forgets the bias
        # mixes examples: sums over every pair (n, m)
        lambda x1, x2, W, b: np.einsum("ni,kij,mj->nk", x1, W, x2) + b,
        lambda x1, x2, W, b: np.einsum("ni,kji,nj->nk", x1, W.swapaxes(1, 2)
                                       .swapaxes(1, 2), x2) - b]),
    ("check_causal_attention_weights", "causal_attention_weights", [
        causal_no_mask, causal_zeroed_after_softmax, causal_unstable, causal_unscaled]),
    ("check_ridge", "ridge", [
        lambda A, b, lam: np.linalg.solve(A.T @ A + lam, A.T @ b),    # λ on every entry
        lambda A, b, lam: np.linalg.lstsq(A, b, rcond=None)[0],       # ignores λ
        _ridge_augmented_with_lam]),
    ("check_project", "project", [
        lambda A, y: A @ A.T @ y,  # forgets the inverse
        lambda A, y: np.linalg.pinv(A) @ y,  # coefficients, (n,)
        lambda A, y: y - A @ np.linalg.pinv(A) @ y,                   # the residual
        project_normal_equations]),
    ("check_covariance", "covariance", [
        lambda X: (X - X.mean(0)).T @ (X - X.mean(0)) / len(X),       # biased, 1/N
        lambda X: X.T @ X / (len(X) - 1),                             # not centred
        lambda X: (X - X.mean(0)) @ (X - X.mean(0)).T / (len(X) - 1),  # (N, N)
        lambda X: np.cov(X, rowvar=False)]),                          # not by hand
    ("check_smallest_rank", "smallest_rank", [
        rank_off_by_one, rank_not_squared, rank_spectral, rank_energy_kept]),
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


def test_messages_name_the_exercise_function_and_case():
    with pytest.raises(AssertionError, match=r"Exercise 1\.6 project: "
                       r"project_normal_equations raised LinAlgError.*test case 4"):
        ch01.check_project(project_normal_equations)
    with pytest.raises(AssertionError, match="done by hand.*torch"):
        ch01.check_normalize_rows(normalize_rows_torch)
    with pytest.raises(AssertionError, match="done by hand.*cov"):
        ch01.check_covariance(lambda X: np.cov(X, rowvar=False))
    with pytest.raises(AssertionError) as info:
        ch01.check_smallest_rank(rank_off_by_one)
    assert "rank_off_by_one gives wrong values on test case" in str(info.value)
    assert "0x" not in str(info.value)


@pytest.mark.parametrize("path", PART_I)
def test_every_visible_and_hidden_call_accepts_the_notebook_solution(path, capsys):
    calls = check_calls(path)
    assert any(seed is not None for *_, seed in calls), "no hidden cases"
    for _, check, fn, seed in calls:
        kw = {} if seed is None else {"seed": seed}
        getattr(ch01, check)(solutions(path)[fn], **kw)
    # one ✓ line per visible call: a passing hidden call prints nothing
    assert capsys.readouterr().out.count("✓") == sum(seed is None for *_, seed in calls)


def test_the_same_seed_tests_the_same_cases():
    seen = []

    def spy(X):
        seen.append(X.copy())
        return solutions(NB_EARLIER["covariance"])["covariance"](X)

    for seed in (107, 107, 7310001):
        ch01.check_covariance(spy, seed=seed)
    n = len(seen) // 3
    assert all(np.array_equal(a, b) for a, b in zip(seen[:n], seen[n:2 * n]))
    assert not np.array_equal(seen[0], seen[2 * n])
