"""Autograded checks for the exercises of Chapter 1 (linear algebra).

Each ``check_*`` takes the learner's function, runs it on fixed random inputs
and compares with a PyTorch computation in float64 on ``dlmath.device()``.
"""
from __future__ import annotations

import numpy as np

from ..check import to_torch
from . import check_function

_G = np.random.default_rng(2024)  # fixed test inputs, independent of dlmath.seed


def _cases(*shapes_list):
    return [tuple(_G.standard_normal(s) for s in shapes) for shapes in shapes_list]


def check_normalize_rows(fn) -> None:
    """Exercise 1.1: scale every row of X (N, d) to unit Euclidean norm."""
    import torch

    cases = _cases([(5, 3)], [(1, 7)], [(4, 1)])
    cases.append((np.array([[3.0, 4.0], [1e-3, 0.0]]),))
    check_function(
        fn,
        lambda X: torch.nn.functional.normalize(to_torch(X), dim=1),
        cases,
        title="Exercise 1.1 normalize_rows",
        rtol=1e-10,
        atol=1e-12,
        hint="divide each row by its own norm: keepdims=True keeps the shape (N, 1)",
    )


def check_pairwise_sq_dists(fn) -> None:
    """Exercise 1.2: D_ij = ‖x_i - y_j‖² for X (N, d), Y (M, d), without loops."""
    import torch

    cases = _cases([(5, 3), (4, 3)], [(1, 6), (7, 6)], [(3, 1), (3, 1)])
    check_function(fn, lambda X, Y: torch.cdist(to_torch(X), to_torch(Y)) ** 2, cases,
                   title="Exercise 1.2 pairwise_sq_dists", rtol=1e-9, atol=1e-10,
                   hint="‖x - y‖² = ‖x‖² + ‖y‖² - 2 x·y; the result is (N, M)")


def check_bilinear(fn) -> None:
    """Exercise 1.3: y_k = x1ᵀ W_k x2 + b_k, batched, like F.bilinear."""
    import torch

    cases = _cases([(4, 3), (4, 5), (2, 3, 5), (2,)], [(1, 2), (1, 2), (6, 2, 2), (6,)])
    check_function(fn, lambda x1, x2, W, b: torch.nn.functional.bilinear(
        to_torch(x1), to_torch(x2), to_torch(W), to_torch(b)), cases,
        title="Exercise 1.3 bilinear", rtol=1e-10, atol=1e-12,
        hint="np.einsum('ni,kij,nj->nk', x1, W, x2) + b")


def check_attention_scores(fn) -> None:
    """Exercise 1.4: S = Q Kᵀ / sqrt(d) for batches Q (B, n, d), K (B, m, d)."""

    cases = _cases(
        [(2, 3, 4), (2, 5, 4)], [(1, 1, 8), (1, 6, 8)], [(3, 4, 2), (3, 4, 2)]
    )
    check_function(fn, lambda Q, K: to_torch(Q) @ to_torch(K).transpose(-1, -2)
                   / np.sqrt(Q.shape[-1]), cases,
                   title="Exercise 1.4 attention_scores", rtol=1e-10, atol=1e-12,
                   hint="transpose only the last two axes of K: (B, m, d) -> (B, d, m)")


def check_ridge(fn) -> None:
    """Exercise 1.5: ridge regression x = (AᵀA + λI)⁻¹ Aᵀ b."""
    import torch

    def ref(A, b, lam):
        At = to_torch(A)
        return torch.linalg.solve(
            At.T @ At + lam * torch.eye(A.shape[1], dtype=At.dtype, device=At.device),
            At.T @ to_torch(b),
        )

    cases = [(*c, lam) for c, lam in zip(_cases([(10, 3), (10,)], [(4, 6), (4,)],
                                                [(8, 2), (8,)]), (0.1, 1.0, 0.0))]
    check_function(
        fn,
        ref,
        cases,
        title="Exercise 1.5 ridge",
        rtol=1e-8,
        atol=1e-10,
        hint="solve (AᵀA + λI) x = Aᵀb with np.linalg.solve; the identity is (n, n)",
    )


def check_project(fn) -> None:
    """Exercise 1.6: orthogonal projection of y onto the column space of A."""
    import torch

    def ref(A, y):
        At = to_torch(A)
        return At @ (torch.linalg.pinv(At) @ to_torch(y))

    rank_deficient = _G.standard_normal((6, 2)) @ _G.standard_normal((2, 3))
    cases = _cases([(6, 2), (6,)], [(5, 5), (5,)]) + [
        (rank_deficient, _G.standard_normal(6))
    ]
    check_function(
        fn,
        ref,
        cases,
        title="Exercise 1.6 project",
        rtol=1e-8,
        atol=1e-10,
        hint="the projection is A x* where x* is the least-squares solution; "
        "use the pseudo-inverse so rank-deficient A works too",
    )


def check_covariance(fn) -> None:
    """Exercise 1.7: unbiased covariance matrix of data X (N, d), rows are examples."""
    import torch

    cases = _cases([(10, 3)], [(4, 6)], [(50, 1)])
    check_function(
        fn,
        lambda X: torch.cov(to_torch(X).T).reshape(X.shape[1], X.shape[1]),
        cases,
        title="Exercise 1.7 covariance",
        rtol=1e-10,
        atol=1e-12,
        hint="centre the columns, then Xcᵀ Xc / (N - 1); the result is (d, d)",
    )


def check_rank_k_approx(fn) -> None:
    """Exercise 1.8: best rank-k approximation of A (Eckart-Young) via the SVD."""
    import torch

    def ref(A, k):
        U, S, Vh = torch.linalg.svd(to_torch(A), full_matrices=False)
        return (U[:, :k] * S[:k]) @ Vh[:k]

    cases = [(a, k) for (a,), k in zip(_cases([(6, 4)], [(3, 7)], [(5, 5)]), (1, 2, 5))]
    check_function(
        fn,
        ref,
        cases,
        title="Exercise 1.8 rank_k_approx",
        rtol=1e-8,
        atol=1e-10,
        hint="keep the k largest singular values: U[:, :k] * s[:k] @ Vt[:k]",
    )


# -------------------------------------------- Notebook 1.5: factorizations and costs
def _spd(g, n: int, lo: float, hi: float) -> np.ndarray:
    """A random SPD (n, n) matrix with eigenvalues uniform in [lo, hi]."""
    Q, _ = np.linalg.qr(g.standard_normal((n, n)))
    A = (Q * g.uniform(lo, hi, n)) @ Q.T
    return (A + A.T) / 2


def check_logdet_spd(fn) -> None:
    """Exercise 1.9: log det A = 2 Σ log L_jj for A = L Lᵀ, without forming det A.

    The large cases have det A ≈ 10^260 ... 10^300 overflowing and ≈ 10^-500
    underflowing float64, so only a sum of logs passes.
    """
    import torch

    from . import refuse_calls

    title = "Exercise 1.9 logdet_spd"
    refuse_calls(fn, {"torch", "det", "slogdet", "logdet", "eig", "eigh", "eigvals",
                      "eigvalsh", "svd", "svdvals"}, title=title,
                 why="use the Cholesky factor (np.linalg.cholesky or "
                     "dlmath.linalg.cholesky)")
    g = np.random.default_rng(19)
    cases = [(_spd(g, 4, 0.5, 3.0),), (_spd(g, 1, 2.0, 3.0),),
             (_spd(g, 300, 5.0, 20.0),), (_spd(g, 200, 1e-4, 1e-2),)]
    check_function(fn, lambda A: torch.logdet(to_torch(A)), cases, title=title,
                   rtol=1e-10, atol=1e-9,
                   hint="det L Lᵀ = (det L)², and the determinant of a triangular "
                        "matrix is the product of its diagonal; take logs before "
                        "multiplying")


def check_whiten(fn) -> None:
    """Exercise 1.10: Cholesky whitening Z = (X - mean) L⁻ᵀ, unbiased cov(X) = L Lᵀ."""
    import torch

    def ref(X):
        Xc = to_torch(X) - to_torch(X).mean(0)
        Lt = torch.linalg.cholesky(Xc.T @ Xc / (X.shape[0] - 1))
        return torch.linalg.solve_triangular(Lt, Xc.T, upper=False).T

    g = np.random.default_rng(110)
    cases = [(g.standard_normal((n, d)) @ g.standard_normal((d, d))
              + g.standard_normal(d),) for n, d in ((50, 3), (200, 5), (6, 2), (40, 1))]
    check_function(fn, ref, cases, title="Exercise 1.10 whiten", rtol=1e-9, atol=1e-10,
                   hint="centre X, form the unbiased covariance, factor it, and solve "
                        "L Zᵀ = Xcᵀ (a triangular solve, not an inverse); Z is (N, d)")
