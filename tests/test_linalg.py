"""dlmath.linalg and dlmath.functional.linear against torch in float64."""
import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dlmath import functional as F
from dlmath import linalg as L
from dlmath.check import assert_close, to_torch
from strategies import finite, matrices

dims = st.integers(1, 6)
elems = finite(-10, 10)


def close(a, e, rtol=1e-10, atol=1e-10):
    assert_close(a, e, rtol=rtol, atol=atol, verbose=False)


@pytest.mark.parametrize("batch", [(), (5,), (2, 3)])
def test_linear_matches_torch(t, g, batch):
    x, W, b = (
        g.standard_normal((*batch, 4)),
        g.standard_normal((3, 4)),
        g.standard_normal(3),
    )
    close(F.linear(x, W, b), torch.nn.functional.linear(t(x), t(W), t(b)))
    close(F.linear(x, W), torch.nn.functional.linear(t(x), t(W)))


def test_linear_bad_input():
    with pytest.raises(
        ValueError, match=r"linear: x must be \(\.\.\., in_features=4\)"
    ):
        F.linear(np.ones((2, 3)), np.ones((5, 4)))
    with pytest.raises(ValueError, match="W must have 2 dims"):
        F.linear(np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match=r"b must be \(out_features=5,\)"):
        F.linear(np.ones(4), np.ones((5, 4)), np.ones(4))
    with pytest.raises(TypeError, match="must hold real numbers"):
        F.linear(np.array(["a"]), np.ones((1, 1)))
    with pytest.raises(TypeError, match="got a torch.Tensor"):
        F.linear(torch.ones(4), np.ones((5, 4)))


@pytest.mark.parametrize("p", [1, 2, 3, 0.5, np.inf])
def test_norm_matches_torch(t, g, p):
    x = g.standard_normal((4, 7))
    close(L.norm(x, p), torch.linalg.vector_norm(t(x), ord=p, dim=-1))
    close(L.norm(x, p, axis=0), torch.linalg.vector_norm(t(x), ord=p, dim=0))


def test_norm_does_not_overflow():
    x = np.array([3e200, 4e200])
    assert L.norm(x) == pytest.approx(5e200, rel=1e-15)
    assert L.norm(np.zeros(3)) == 0.0


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_cosine_similarity_matches_torch(data):
    n, d = data.draw(dims), data.draw(dims)
    u = data.draw(arrays(np.float64, (n, d), elements=elems))
    v = data.draw(arrays(np.float64, (n, d), elements=elems))
    ref = torch.nn.functional.cosine_similarity(to_torch(u), to_torch(v), dim=-1)
    close(L.cosine_similarity(u, v), ref, rtol=1e-9, atol=1e-9)


def test_cosine_similarity_bad_shapes():
    with pytest.raises(
        ValueError, match=r"must broadcast, got shapes \(3,\) and \(4,\)"
    ):
        L.cosine_similarity(np.ones(3), np.ones(4))


@pytest.mark.parametrize("view", ["dot", "column", "outer"])
@settings(max_examples=25, deadline=None)
@given(m=dims, k=dims, n=dims, data=st.data())
def test_matmul_views_match_torch(view, m, k, n, data):
    A, B = data.draw(matrices(m, k)), data.draw(matrices(k, n))
    # sums of k products of numbers <= 10 in magnitude: rounding is relative to k * 100
    close(
        L.matmul(A, B, view),
        to_torch(A) @ to_torch(B),
        rtol=1e-12,
        atol=1e-13 * k * 100,
    )


def test_matmul_bad_input():
    with pytest.raises(
        ValueError, match=r"inner dimensions differ: A is \(2, 3\), B is \(4, 2\)"
    ):
        L.matmul(np.ones((2, 3)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="view must be"):
        L.matmul(np.ones((2, 2)), np.ones((2, 2)), "rows")


@pytest.mark.parametrize(
    "shape, rank", [((6, 4), 4), ((4, 6), 4), ((6, 4), 2), ((5, 5), 3)]
)
def test_pinv_rank_lstsq_match_torch(t, g, shape, rank):
    m, n = shape
    A = g.standard_normal((m, rank)) @ g.standard_normal((rank, n))
    b = g.standard_normal(m)
    close(L.pinv(A), torch.linalg.pinv(t(A)), rtol=1e-9, atol=1e-10)
    assert L.matrix_rank(A) == int(torch.linalg.matrix_rank(t(A))) == rank
    # torch's gelsd driver (CPU only) returns the same minimum-norm solution
    ref = torch.linalg.lstsq(t(A).cpu(), t(b).cpu()[:, None], driver="gelsd").solution[
        :, 0
    ]
    close(L.lstsq(A, b), ref, rtol=1e-8, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(m=dims, n=dims, data=st.data())
def test_pinv_penrose_conditions(m, n, data):
    """A A⁺ A = A, A⁺ A A⁺ = A⁺, and A A⁺, A⁺ A symmetric, for every A:
    drawn values reach
    zero matrices, repeated rows and columns (rank deficiency) by themselves.
    No subnormal entries: the pseudo-inverse of [[5e-324]] is 2e323, beyond
    float64 (numpy's and torch's pinv overflow to inf there too)."""
    A = data.draw(arrays(np.float64, (m, n), elements=st.floats(
        -10, 10, allow_nan=False, allow_infinity=False, allow_subnormal=False)))
    P = L.pinv(A)
    s = np.linalg.svd(A, compute_uv=False)
    kept = s[s > max(m, n) * np.finfo(float).eps * (s[0] if s.size else 0)]
    cond = kept[0] / kept[-1] if kept.size else 1.0
    a_scale, p_scale = (s[0] if s.size else 0.0), (1 / kept[-1] if kept.size else 0.0)
    # rounding of an SVD grows with the condition number
    tol = 1e-13 * max(m, n) * cond
    close(A @ P @ A, A, 0, tol * a_scale + 1e-300)
    close(P @ A @ P, P, 0, tol * p_scale + 1e-300)
    close(A @ P, (A @ P).T, 0, tol + 1e-300)
    close(P @ A, (P @ A).T, 0, tol + 1e-300)


def test_lstsq_bad_input():
    with pytest.raises(ValueError, match=r"b must have m=3 rows to match A \(3, 2\)"):
        L.lstsq(np.ones((3, 2)), np.ones(4))


def test_power_iteration_and_deflation_match_eigh(t, g):
    Q, _ = np.linalg.qr(g.standard_normal((6, 6)))
    lam = np.array([10.0, -7.0, 4.0, 2.0, 1.0, 0.5])
    A = (Q * lam) @ Q.T
    w, V = torch.linalg.eigh(t(A))
    order = torch.argsort(w.abs(), descending=True)
    lam1, v1, hist = L.power_iteration(A, num_iters=5000, tol=1e-15)
    close(lam1, w[order[0]], rtol=1e-10, atol=0)
    Vref = V[:, order].cpu().numpy()
    close(L.align_signs(v1[:, None], Vref[:, :1]), Vref[:, :1], rtol=1e-6, atol=1e-6)
    assert len(hist) > 5
    lams, Vk = L.top_eigh(A, 3)
    close(lams, w[order[:3]], rtol=1e-9, atol=1e-9)
    close(L.align_signs(Vk, Vref[:, :3]), Vref[:, :3], rtol=1e-6, atol=1e-6)


def test_power_iteration_bad_input():
    with pytest.raises(ValueError, match="must be symmetric"):
        L.power_iteration(np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(
        ValueError, match=r"must be square \(n, n\), got shape \(2, 3\)"
    ):
        L.power_iteration(np.ones((2, 3)))
    with pytest.raises(ValueError, match="k must be <= n=2"):
        L.top_eigh(np.eye(2), 3)


@settings(max_examples=30, deadline=None)
@given(N=st.integers(3, 12), d=st.integers(2, 6), data=st.data())
def test_pca_matches_torch_svd_and_reconstructs(N, d, data):
    X = data.draw(matrices(N, d, -5, 5)) * np.arange(1, d + 1)
    s = np.linalg.svd(X - X.mean(0), compute_uv=False)
    # k = the rank of the centred data, with a gap: the top-k subspace must be well
    # defined
    k = int(np.sum(s > 1e-6 * max(s[0], 1e-300)))
    assume(k >= 1 and (k == len(s) or s[k - 1] > 1e-3 * s[0]))
    model = L.pca(X, k)
    Xc = to_torch(X - X.mean(0))
    U, S, Vh = torch.linalg.svd(Xc, full_matrices=False)
    close(model.explained_variance, S[:k] ** 2 / (N - 1), 1e-9, 1e-10)
    close(model.explained_variance_ratio.sum(), 1.0, 1e-12, 1e-12)
    # the top-k subspace is unique (its projector), and with k = rank X is rebuilt
    # exactly
    Vk = Vh[:k].cpu().numpy()
    close(model.components.T @ model.components, Vk.T @ Vk, 1e-8, 1e-9)
    close(L.pca_reconstruct(model, L.pca_transform(model, X)), X, 1e-9, 1e-9)


def test_pca_components_match_torch_up_to_sign(g):
    X = g.standard_normal((200, 5)) * np.array([5.0, 3.0, 2.0, 1.0, 0.5])
    model = L.pca(X, 3)
    _, _, Vh = torch.linalg.svd(to_torch(X - X.mean(0)), full_matrices=False)
    ref = Vh[:3].cpu().numpy()
    close(L.align_signs(model.components, ref, axis=1), ref, 1e-10, 1e-10)


def test_pca_reconstruction_error_is_the_eckart_young_minimum(g):
    """Our rank-k PCA reconstruction of the centred data loses exactly Σ_{i>k} s_i², the
    smallest error any rank-k matrix can reach
    (singular values from torch, not from us);
    a random rank-k projection does worse."""
    X = g.standard_normal((40, 6)) * np.array([4.0, 3.0, 2.0, 1.0, 0.5, 0.2])
    s = torch.linalg.svdvals(to_torch(X - X.mean(0))).cpu().numpy()
    for k in range(1, 6):
        model = L.pca(X, k)
        err = np.sum((L.pca_reconstruct(model, L.pca_transform(model, X)) - X) ** 2)
        close(err, np.sum(s[k:] ** 2), 1e-10, 1e-10)
        Q, _ = np.linalg.qr(g.standard_normal((6, k)))
        Xc = X - X.mean(0)
        assert np.sum((Xc @ Q @ Q.T - Xc) ** 2) > err


def test_pca_bad_input():
    with pytest.raises(ValueError, match="k <= min"):
        L.pca(np.ones((3, 2)), 3)
    model = L.pca(np.random.default_rng(0).standard_normal((5, 3)), 2)
    with pytest.raises(ValueError, match="must have d=3 columns"):
        L.pca_transform(model, np.ones((2, 4)))
    with pytest.raises(ValueError, match="must have k=2 columns"):
        L.pca_reconstruct(model, np.ones((2, 3)))
    with pytest.raises(ValueError, match="same shape"):
        L.align_signs(np.ones((2, 2)), np.ones((2, 3)))


# ------------------------------------- Chapter 1.5: triangular solves, Cholesky, QR
def spd(g, n, cond=10.0):
    """A symmetric positive definite (n, n) matrix with condition number ``cond``."""
    Q, _ = np.linalg.qr(g.standard_normal((n, n)))
    return (Q * np.geomspace(1.0, 1.0 / cond, n)) @ Q.T


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_cholesky_matches_torch(data):
    n = data.draw(dims)
    B = data.draw(arrays(np.float64, (n, n), elements=elems))
    A = B @ B.T + n * np.eye(n)  # symmetric positive definite, eigenvalues >= n
    L_ = L.cholesky(A)
    close(L_, torch.linalg.cholesky(to_torch(A)), rtol=1e-10, atol=1e-10)
    assert np.all(np.triu(L_, 1) == 0) and np.all(np.diag(L_) > 0)


def test_cholesky_rejects_bad_input():
    with pytest.raises(ValueError, match=r"not positive definite \(pivot 1"):
        L.cholesky(np.array([[1.0, 2.0], [2.0, 1.0]]))  # eigenvalues 3 and -1
    with pytest.raises(ValueError, match="not positive definite"):
        L.cholesky(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="must be symmetric"):
        L.cholesky(np.array([[2.0, 1.0], [0.0, 2.0]]))
    with pytest.raises(ValueError, match=r"A must be square \(n, n\), got shape \(2, "):
        L.cholesky(np.ones((2, 3)))
    with pytest.raises(TypeError, match="got a torch.Tensor"):
        L.cholesky(torch.eye(2))


@pytest.mark.parametrize("lower", [True, False])
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_solve_triangular_matches_torch(lower, data):
    n, k = data.draw(dims), data.draw(dims)
    M = data.draw(arrays(np.float64, (n, n), elements=elems))
    b = data.draw(arrays(np.float64, (n, k), elements=elems))
    T = (np.tril(M) if lower else np.triu(M)) + np.diag(np.sign(np.diag(M)) * 10 + 20 *
                                                          (np.diag(M) == 0))
    ref = torch.linalg.solve_triangular(to_torch(T), to_torch(b), upper=not lower)
    close(L.solve_triangular(T, b, lower=lower), ref, rtol=1e-9, atol=1e-10)
    close(L.solve_triangular(T, b[:, 0], lower=lower), ref[:, 0], rtol=1e-9, atol=1e-10)


def test_solve_triangular_reads_only_its_triangle(g):
    T = np.tril(g.standard_normal((4, 4))) + 4 * np.eye(4)
    b = g.standard_normal(4)
    junk = T + np.triu(g.standard_normal((4, 4)), 1)  # garbage above the diagonal
    close(L.solve_triangular(junk, b), L.solve_triangular(T, b), 0, 0)


def test_solve_triangular_bad_input():
    with pytest.raises(ValueError, match=r"T is singular, T\[1, 1\] = 0"):
        L.solve_triangular(np.array([[1.0, 0.0], [1.0, 0.0]]), np.ones(2))
    with pytest.raises(ValueError, match=r"b must have n=2 rows to match T \(2, 2\)"):
        L.solve_triangular(np.eye(2), np.ones(3))
    with pytest.raises(ValueError, match=r"T must be square \(n, n\), got shape \(2, "):
        L.solve_triangular(np.ones((2, 3)), np.ones(2))


def positive_diag(Q, R):
    """Flip signs so that diag(R) >= 0: the QR factorization is then unique."""
    s = np.sign(np.diag(to_np(R)))
    s[s == 0] = 1.0
    return to_np(Q) * s, to_np(R) * s[:, None]


def to_np(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


@pytest.mark.parametrize("method", ["householder", "mgs", "cgs"])
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_qr_matches_torch(method, data):
    n = data.draw(dims)
    m = data.draw(st.integers(n, 8))
    A = data.draw(arrays(np.float64, (m, n), elements=elems))
    A = A + 12 * np.eye(m, n)  # keeps the columns well independent for Gram-Schmidt
    Q, R = L.qr(A, method)
    assert Q.shape == (m, n) and R.shape == (n, n)
    close(np.tril(R, -1), np.zeros((n, n)), 0, 0)
    close(Q @ R, A, rtol=1e-10, atol=1e-10)
    close(Q.T @ Q, np.eye(n), rtol=0, atol=1e-10)
    Qt, Rt = positive_diag(*torch.linalg.qr(to_torch(A)))
    Qm, Rm = positive_diag(Q, R)
    close(Qm, Qt, rtol=1e-9, atol=1e-9)
    close(Rm, Rt, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("shape", [(6, 4), (4, 4), (3, 5), (5, 1)])
def test_householder_has_torch_signs_and_wide_shapes(t, g, shape):
    A = g.standard_normal(shape)
    Q, R = L.householder_qr(A)
    Qt, Rt = torch.linalg.qr(t(A))
    close(Q, Qt, rtol=1e-10, atol=1e-12)
    close(R, Rt, rtol=1e-10, atol=1e-12)


def test_householder_on_rank_deficient_input(t, g):
    A = g.standard_normal((6, 2)) @ g.standard_normal((2, 4))
    Q, R = L.householder_qr(A)
    close(Q @ R, A, 1e-10, 1e-12)
    close(Q.T @ Q, np.eye(4), 0, 1e-12)
    with pytest.raises(ValueError, match="linearly dependent .column 2"):
        L.gram_schmidt(A)


def test_orthogonality_loss_ordering_cgs_mgs_householder(g):
    """‖QᵀQ - I‖ grows like κ² eps (CGS), κ eps (MGS), eps (Householder)."""
    U, _ = np.linalg.qr(g.standard_normal((60, 12)))
    V, _ = np.linalg.qr(g.standard_normal((12, 12)))
    A = (U * np.geomspace(1, 1e-7, 12)) @ V.T  # κ(A) = 1e7
    loss = {m: np.abs(L.qr(A, m)[0].T @ L.qr(A, m)[0] - np.eye(12)).max()
            for m in ("cgs", "mgs", "householder")}
    assert loss["householder"] < 1e-14
    assert 1e-14 < loss["mgs"] < 1e-6
    assert loss["cgs"] > 1e-4


def test_qr_bad_input():
    with pytest.raises(ValueError, match=r"gram_schmidt: A must have m >= n .*\(2, 3"):
        L.gram_schmidt(np.ones((2, 3)))
    with pytest.raises(ValueError, match="method must be"):
        L.qr(np.eye(2), "givens")
    with pytest.raises(ValueError, match="A must have 2 dims"):
        L.householder_qr(np.ones(3))
def test_axis_and_tolerance_errors_are_clear():
    with pytest.raises(
        ValueError, match=r"norm: axis 2 is out of range for shape \(2, 3\)"
    ):
        L.norm(np.ones((2, 3)), axis=2)
    with pytest.raises(TypeError, match="norm: axis must be an int, got float"):
        L.norm(np.ones((2, 3)), axis=1.5)
    with pytest.raises(ValueError, match="matrix_rank: rtol must be >= 0, got -1"):
        L.matrix_rank(np.eye(3), rtol=-1)
    with pytest.raises(ValueError, match="pinv: rtol must be finite, got nan"):
        L.pinv(np.eye(3), rtol=float("nan"))
    with pytest.raises(ValueError, match="cosine_similarity: axis 1 is out of range"):
        L.cosine_similarity(np.ones(3), np.ones(3), axis=1)
