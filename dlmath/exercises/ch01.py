"""Autograded checks for the exercises of Chapter 1 (linear algebra).

Each ``check_*`` takes the learner's function, runs it on inputs drawn from a
fresh ``rng(seed)`` (the default seed gives the visible cases; the instructor's
notebook adds hidden ones with another seed) and compares with a PyTorch
computation in float64 on ``dlmath.device()``.
"""
from __future__ import annotations

import numpy as np

from ..check import to_torch
from . import check_function, normal_cases, refuse_calls, rng


def check_normalize_rows(fn, *, seed: int = 101) -> None:
    """Exercise 1.1: scale every row of X (N, d) to unit Euclidean norm."""
    import torch

    title = "Exercise 1.1 normalize_rows"
    refuse_calls(fn, {"torch", "sklearn.preprocessing.normalize"}, title=title,
                 why="compute the row norms yourself with numpy")
    g = rng(seed)
    cases = normal_cases(g, [(5, 3)], [(1, 7)], [(4, 1)])
    cases.append((np.array([[3.0, 4.0], [1e-3, 0.0]]) * g.uniform(0.5, 2.0),))
    check_function(fn, lambda X: torch.nn.functional.normalize(to_torch(X), dim=1),
                   cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="each row is divided by its own length; broadcasting needs the "
                        "lengths as a column")


def check_pairwise_sq_dists(fn, *, seed: int = 102) -> None:
    """Exercise 1.2: D_ij = ‖x_i - y_j‖² for X (N, d), Y (M, d), without loops."""
    import torch

    title = "Exercise 1.2 pairwise_sq_dists"
    refuse_calls(fn, {"torch", "scipy.spatial.distance.cdist",
                      "scipy.spatial.distance.pdist", "scipy.spatial.distance_matrix"},
                 title=title,
                 why="build the matrix from the expansion of the square")
    cases = normal_cases(rng(seed), [(5, 3), (4, 3)], [(1, 6), (7, 6)],
                         [(3, 1), (3, 1)])
    check_function(fn, lambda X, Y: torch.cdist(to_torch(X), to_torch(Y)) ** 2, cases,
                   title=title, rtol=1e-9, atol=1e-10,
                   hint="expand the square into two squared norms and one inner "
                        "product; the result is (N, M)")


def check_bilinear(fn, *, seed: int = 103) -> None:
    """Exercise 1.3: y_k = x1ᵀ W_k x2 + b_k, batched, like torch's F.bilinear."""
    import torch

    title = "Exercise 1.3 bilinear"
    refuse_calls(fn, {"torch"}, title=title, why="write it with np.einsum")
    cases = normal_cases(rng(seed), [(4, 3), (4, 5), (2, 3, 5), (2,)],
                         [(1, 2), (1, 2), (6, 2, 2), (6,)])
    check_function(fn, lambda x1, x2, W, b: torch.nn.functional.bilinear(
        to_torch(x1), to_torch(x2), to_torch(W), to_torch(b)), cases,
        title=title, rtol=1e-10, atol=1e-12,
        hint="give every axis a letter: the example index is shared by x1, x2 and the "
             "output, the output index comes from W, and the two input indices are "
             "summed; the bias broadcasts over examples")


def check_causal_attention_weights(fn, *, seed: int = 104) -> None:
    """Exercise 1.4: causal attention weights softmax(mask(Q Kᵀ / √d)), (B, n, n)."""
    import torch

    title = "Exercise 1.4 causal_attention_weights"
    refuse_calls(fn, {"torch", "dlmath.functional.scaled_dot_product_attention"},
                 title=title,
                 why="build the scores, the mask and the softmax with numpy")

    def ref(Q, K):
        S = to_torch(Q) @ to_torch(K).transpose(-1, -2) / np.sqrt(Q.shape[-1])
        n = S.shape[-1]
        future = torch.triu(torch.ones(n, n, dtype=torch.bool, device=S.device), 1)
        return torch.softmax(S.masked_fill(future, float("-inf")), dim=-1)

    g = rng(seed)
    cases = normal_cases(g, [(2, 3, 4), (2, 3, 4)], [(1, 1, 8), (1, 1, 8)],
                         [(3, 5, 2), (3, 5, 2)])
    cases.append(tuple(40 * g.standard_normal((1, 4, 3)) for _ in range(2)))  # e^1000
    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="a future position must get weight exactly 0: give it a score "
                        "that exp sends to 0, and subtract each row's maximum before "
                        "exponentiating so large scores do not overflow")


def check_ridge(fn, *, seed: int = 105) -> None:
    """Exercise 1.5: ridge regression x = (AᵀA + λI)⁻¹ Aᵀ b."""
    import torch

    title = "Exercise 1.5 ridge"
    refuse_calls(fn, {"torch", "sklearn.linear_model.Ridge",
                         "sklearn.linear_model.ridge_regression"}, title=title,
                 why="solve the regularised normal equations yourself")

    def ref(A, b, lam):
        At = to_torch(A)
        I = torch.eye(A.shape[1], dtype=At.dtype, device=At.device)
        return torch.linalg.solve(At.T @ At + lam * I, At.T @ to_torch(b))

    g = rng(seed)
    systems = normal_cases(g, [(10, 3), (10,)], [(4, 6), (4,)], [(8, 2), (8,)])
    lams = (g.uniform(0.05, 0.5), g.uniform(0.5, 2.0), 0.0)
    cases = [(*c, lam) for c, lam in zip(systems, lams)]
    check_function(fn, ref, cases, title=title, rtol=1e-8, atol=1e-10,
                   hint="set the gradient of the regularised objective to zero; the "
                        "identity has the size of x, not of b")


def check_project(fn, *, seed: int = 106) -> None:
    """Exercise 1.6: orthogonal projection of y onto the column space of A.

    Two rank-deficient cases: a product of thin factors, and a matrix with an
    exactly repeated (scaled) column, whose AᵀA is exactly singular, so the
    normal equations fail there and only a pseudo-inverse (or lstsq) works.
    """
    import torch

    def ref(A, y):
        At = to_torch(A)
        return At @ (torch.linalg.pinv(At) @ to_torch(y))

    g = rng(seed)
    thin = g.standard_normal((6, 2)) @ g.standard_normal((2, 3))
    B = g.standard_normal((7, 3))
    repeated = np.column_stack([B[:, 0], 2.0 * B[:, 0], B[:, 1:]])
    cases = normal_cases(g, [(6, 2), (6,)], [(5, 5), (5,)])
    cases += [(thin, g.standard_normal(6)), (repeated, g.standard_normal(7))]
    check_function(fn, ref, cases, title="Exercise 1.6 project", rtol=1e-8, atol=1e-10,
                   hint="the projection is A times a least-squares solution; when A "
                        "has dependent columns AᵀA is singular, so do not invert it")


def check_covariance(fn, *, seed: int = 107) -> None:
    """Exercise 1.7: unbiased covariance matrix of data X (N, d), rows are examples."""
    import torch

    title = "Exercise 1.7 covariance"
    refuse_calls(fn, {"torch", "numpy.cov"}, title=title,
                 why="centre the data and form the matrix product yourself")
    g = rng(seed)
    cases = [(g.standard_normal((N, d)) + g.standard_normal(d),)
             for N, d in ((10, 3), (4, 6), (50, 1))]
    check_function(fn, lambda X: torch.cov(to_torch(X).T).reshape(X.shape[1],
                                                                   X.shape[1]),
                   cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="centre each column first; unbiased means dividing by N - 1; "
                        "the result is (d, d)")


def check_smallest_rank(fn, *, seed: int = 108) -> None:
    """Exercise 1.8: the smallest k with ‖A - A_k‖_F <= tol ‖A‖_F (A_k: best rank k).

    The reference forms every A_k from torch's SVD and measures the error
    directly; the learner is expected to use Eckart-Young instead.
    """
    import torch

    title = "Exercise 1.8 smallest_rank"
    refuse_calls(fn, {"torch", "numpy.linalg.matrix_rank", "dlmath.linalg.matrix_rank"},
                 title=title,
                 why="use the singular values (np.linalg.svd or svdvals)")

    def ref(A, tol):
        U, S, Vh = torch.linalg.svd(to_torch(A), full_matrices=False)
        total = torch.linalg.matrix_norm(to_torch(A))
        for k in range(len(S) + 1):
            err = torch.linalg.matrix_norm(to_torch(A) - (U[:, :k] * S[:k]) @ Vh[:k])
            if err <= tol * total:
                return torch.tensor(k)
        raise AssertionError("unreachable: k = rank gives error 0")

    g = rng(seed)
    cases = []
    spectra = [((8, 6), np.geomspace(1.0, 1e-2, 6), 0.5),       # fast decay
               ((7, 7), g.uniform(0.9, 1.1, 7), g.uniform(0.4, 0.6)),  # nearly flat
               ((6, 9), np.linspace(1.0, 0.1, 6), 0.2),           # slow decay
               ((5, 4), np.geomspace(1.0, 1e-2, 4), 1e-9)]         # every s_i needed
    for (m, n), s, tol in spectra:
        Q1, _ = np.linalg.qr(g.standard_normal((m, m)))
        Q2, _ = np.linalg.qr(g.standard_normal((n, n)))
        cases.append(((Q1[:, :len(s)] * s) @ Q2[:, :len(s)].T, tol))
    cases.append((np.outer(g.standard_normal(5), g.standard_normal(3)), 1e-6))  # rank 1
    check_function(fn, ref, cases, title=title, rtol=0, atol=0,
                   hint="Eckart-Young tells you the error of the best rank-k "
                        "approximation from the singular values you drop, so no "
                        "A_k needs to be formed; mind squares and square roots")


# -------------------------------------------- Notebook 1.5: factorizations and costs
def _spd(g, n: int, lo: float, hi: float) -> np.ndarray:
    """A random SPD (n, n) matrix with eigenvalues uniform in [lo, hi]."""
    Q, _ = np.linalg.qr(g.standard_normal((n, n)))
    A = (Q * g.uniform(lo, hi, n)) @ Q.T
    return (A + A.T) / 2


def check_logdet_spd(fn, *, seed: int = 19) -> None:
    """Exercise 1.9: log det A = 2 Σ log L_jj for A = L Lᵀ, without forming det A.

    The large cases have det A ≈ 10^260 ... 10^300 overflowing and ≈ 10^-500
    underflowing float64, so only a sum of logs passes.
    """
    import torch

    title = "Exercise 1.9 logdet_spd"
    spectral = ("det", "slogdet", "eig", "eigh", "eigvals", "eigvalsh", "svd",
                "svdvals")
    refuse_calls(fn, {"torch", *(f"{lib}.{r}" for r in spectral
                                 for lib in ("numpy.linalg", "scipy.linalg"))},
                 title=title,
                 why="use the Cholesky factor (np.linalg.cholesky or "
                     "dlmath.linalg.cholesky)")
    g = rng(seed)
    cases = [(_spd(g, 4, 0.5, 3.0),), (_spd(g, 1, 2.0, 3.0),),
             (_spd(g, 300, 5.0, 20.0),), (_spd(g, 200, 1e-4, 1e-2),)]
    check_function(fn, lambda A: torch.logdet(to_torch(A)), cases, title=title,
                   rtol=1e-10, atol=1e-9,
                   hint="det L Lᵀ = (det L)², and the determinant of a triangular "
                        "matrix is the product of its diagonal; take logs before "
                        "multiplying")


def check_whiten(fn, *, seed: int = 110) -> None:
    """Exercise 1.10: Cholesky whitening Z = (X - mean) L⁻ᵀ, unbiased cov(X) = L Lᵀ."""
    import torch

    def ref(X):
        Xc = to_torch(X) - to_torch(X).mean(0)
        Lt = torch.linalg.cholesky(Xc.T @ Xc / (X.shape[0] - 1))
        return torch.linalg.solve_triangular(Lt, Xc.T, upper=False).T

    title = "Exercise 1.10 whiten"
    inverses = ("inv", "pinv")
    refuse_calls(fn, {"torch", "dlmath.linalg.pinv",
                      *(f"{lib}.{r}" for r in inverses
                        for lib in ("numpy.linalg", "scipy.linalg"))}, title=title,
                 why="solve the triangular system L Zᵀ = Xcᵀ instead of forming L⁻¹ "
                     "(dlmath.linalg.solve_triangular)")
    g = rng(seed)
    cases = [(g.standard_normal((n, d)) @ g.standard_normal((d, d))
              + g.standard_normal(d),) for n, d in ((50, 3), (200, 5), (6, 2), (40, 1))]
    check_function(fn, ref, cases, title=title, rtol=1e-9, atol=1e-10,
                   hint="centre X, form the unbiased covariance, factor it, and solve "
                        "L Zᵀ = Xcᵀ (a triangular solve, not an inverse); Z is (N, d)")
