"""dlmath.linalg and dlmath.functional.linear against torch in float64."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dlmath import functional as F
from dlmath import linalg as L
from dlmath.check import assert_close, to_torch

dims = st.integers(1, 6)
elems = st.floats(-10, 10, allow_nan=False)


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
@given(m=dims, k=dims, n=dims, seed=st.integers(0, 2**31))
def test_matmul_views_match_torch(view, m, k, n, seed):
    g = np.random.default_rng(seed)
    A, B = g.standard_normal((m, k)), g.standard_normal((k, n))
    close(L.matmul(A, B, view), to_torch(A) @ to_torch(B))


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
@given(m=dims, n=dims, seed=st.integers(0, 2**31))
def test_pinv_penrose_conditions(m, n, seed):
    """A A⁺ A = A, A⁺ A A⁺ = A⁺, and A A⁺, A⁺ A symmetric, for every A."""
    A = np.random.default_rng(seed).standard_normal((m, n))
    P = L.pinv(A)
    close(A @ P @ A, A, 1e-8, 1e-9)
    close(P @ A @ P, P, 1e-8, 1e-9)
    close(A @ P, (A @ P).T, 1e-8, 1e-9)
    close(P @ A, (P @ A).T, 1e-8, 1e-9)


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
@given(N=st.integers(3, 12), d=st.integers(2, 6), seed=st.integers(0, 2**31))
def test_pca_matches_torch_svd_and_reconstructs(N, d, seed):
    X = np.random.default_rng(seed).standard_normal((N, d)) * np.arange(1, d + 1)
    k = min(N - 1, d)  # the rank of the centred data
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


def test_svd_reconstruction_property_vs_torch(g):
    A = g.standard_normal((7, 4))
    U, S, Vh = torch.linalg.svd(to_torch(A), full_matrices=False)
    close((U * S) @ Vh, A, 1e-12, 1e-12)


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
