"""Linear algebra of Chapter 1, derived and implemented by hand.

Vectors are 1-D arrays; a batch of vectors is a 2-D array with one vector
per row (the layout of ``torch.nn.Linear``). Every function says which
equation of the chapter it implements.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import (
    as_float_array,
    check_axis,
    check_int,
    check_nonneg,
    check_positive,
)

__all__ = ["norm", "cosine_similarity", "matmul", "pinv", "matrix_rank", "lstsq",
           "power_iteration", "top_eigh", "align_signs", "PCA", "pca",
           "pca_transform", "pca_reconstruct"]
__all__ += ["solve_triangular", "cholesky", "gram_schmidt", "householder_qr", "qr"]


def norm(x, p: float = 2, axis: int = -1) -> np.ndarray:
    """The p-norm ``(Σ_i |x_i|^p)^(1/p)`` along ``axis``; ``p=inf``: ``max_i |x_i|``.

    Same as ``torch.linalg.vector_norm(x, ord=p, dim=axis)``.
    """
    x = as_float_array(x, "norm", "x")
    axis = check_axis(x, axis, "norm")
    a = np.abs(x)
    if p == np.inf:
        return a.max(axis=axis)
    if p == 1:
        return a.sum(axis=axis)
    p = check_positive(p, "norm", "p")
    if p == 2:  # scale by the largest entry so squares cannot overflow
        m = a.max(axis=axis, keepdims=True)
        m = np.where(m == 0, 1.0, m)
        return np.squeeze(m, axis) * np.sqrt(((a / m) ** 2).sum(axis=axis))
    return (a ** p).sum(axis=axis) ** (1.0 / p)


def cosine_similarity(u, v, axis: int = -1, eps: float = 1e-8) -> np.ndarray:
    """``cos θ = u·v / (‖u‖ ‖v‖)`` (Chapter 1.1, §4); norms clamped below at ``eps``.

    u, v broadcast against each other. Same as
    ``torch.nn.functional.cosine_similarity(u, v, dim=axis, eps=eps)``.
    """
    u = as_float_array(u, "cosine_similarity", "u")
    v = as_float_array(v, "cosine_similarity", "v")
    try:
        np.broadcast_shapes(u.shape, v.shape)
    except ValueError:
        raise ValueError(f"cosine_similarity: u and v must broadcast, got shapes "
                         f"{u.shape} and {v.shape}") from None
    shape = np.broadcast_shapes(u.shape, v.shape)
    check_axis(np.broadcast_to(np.empty(()), shape), axis, "cosine_similarity")
    nu = np.maximum(norm(u, axis=axis), eps)
    nv = np.maximum(norm(v, axis=axis), eps)
    return (u * v).sum(axis=axis) / (nu * nv)


def _check_matmul(A, B, fn):
    A = as_float_array(A, fn, "A", ndim=2, layout="(m, k)")
    B = as_float_array(B, fn, "B", ndim=2, layout="(k, n)")
    if A.shape[1] != B.shape[0]:
        raise ValueError(
            f"{fn}: inner dimensions differ: A is {A.shape}, B is {B.shape}"
        )
    return A, B


def matmul(A, B, view: str = "dot") -> np.ndarray:
    """``C = A B`` computed by one of the three views of Chapter 1.2, §2.

    - ``"dot"``: ``C_ij = a_i · b_j`` (row i of A with column j of B);
    - ``"column"``: column j of C is ``A b_j``, a combination of A's columns;
    - ``"outer"``: ``C = Σ_k a_{:,k} b_{k,:}``, a sum of rank-one matrices.
    A: (m, k), B: (k, n). All three give ``A @ B``; they differ in what they explain.
    """
    A, B = _check_matmul(A, B, "matmul")
    m, n = A.shape[0], B.shape[1]
    if view == "dot":
        return np.array([[A[i] @ B[:, j] for j in range(n)] for i in range(m)]).reshape(
            m, n
        )
    if view == "column":
        C = np.zeros((m, n), dtype=np.result_type(A, B))
        for j in range(n):
            C[:, j] = (A * B[:, j]).sum(axis=1)  # Σ_k A[:, k] B[k, j]
        return C
    if view == "outer":
        C = np.zeros((m, n), dtype=np.result_type(A, B))
        for k in range(A.shape[1]):
            C += np.outer(A[:, k], B[k])
        return C
    raise ValueError(f"matmul: view must be 'dot', 'column' or 'outer', got {view!r}")


def _svd(A, fn):
    A = as_float_array(A, fn, "A", ndim=2, layout="(m, n)")
    return A, np.linalg.svd(A, full_matrices=False)


def _cutoff(s, shape, rtol, fn):
    if rtol is None:  # torch.linalg.pinv / matrix_rank default
        rtol = max(shape) * np.finfo(s.dtype).eps
    rtol = check_nonneg(rtol, fn, "rtol")
    return rtol * (s[0] if s.size else 0.0)


def pinv(A, rtol: float | None = None) -> np.ndarray:
    """Moore-Penrose pseudo-inverse ``A⁺ = V Σ⁺ Uᵀ`` (Chapter 1.3, §3).

    Singular values below ``rtol * s_max`` count as zero (default
    ``max(m, n) * machine eps``, as in ``torch.linalg.pinv``). A: (m, n) -> (n, m).
    """
    A, (U, s, Vt) = _svd(A, "pinv")
    keep = s > _cutoff(s, A.shape, rtol, "pinv")
    s_inv = np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0)
    return (Vt.T * s_inv) @ U.T


def matrix_rank(A, rtol: float | None = None) -> int:
    """Number of singular values above ``rtol * s_max`` (as ``linalg.matrix_rank``)."""
    A, (_, s, _) = _svd(A, "matrix_rank")
    return int((s > _cutoff(s, A.shape, rtol, "matrix_rank")).sum())


def lstsq(A, b, rtol: float | None = None) -> np.ndarray:
    """Minimum-norm least squares ``x = A⁺ b`` of ``min ‖A x - b‖²`` (Ch. 1.3, §2-3).

    A: (m, n), b: (m,) or (m, k); returns (n,) or (n, k). Solving the normal
    equations ``AᵀA x = Aᵀb`` gives the same x when A has full column rank,
    but squares the condition number; the SVD route does not.
    """
    A = as_float_array(A, "lstsq", "A", ndim=2, layout="(m, n)")
    b = as_float_array(b, "lstsq", "b", ndim=(1, 2), layout="(m,) or (m, k)")
    if b.shape[0] != A.shape[0]:
        raise ValueError(
            f"lstsq: b must have m={A.shape[0]} rows to match A {A.shape}, "
            f"got shape {b.shape}"
        )
    return pinv(A, rtol) @ b


def _check_symmetric(A, fn):
    A = as_float_array(A, fn, "A", ndim=2, layout="(n, n)")
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"{fn}: A must be square (n, n), got shape {A.shape}")
    if not np.allclose(A, A.T, rtol=1e-10, atol=1e-12 * max(1.0, np.abs(A).max())):
        raise ValueError(f"{fn}: A must be symmetric (A == A.T); "
                         f"max |A - A.T| = {np.abs(A - A.T).max():.3g}")
    return A


def power_iteration(A, num_iters: int = 1000, tol: float = 1e-12, seed: int = 0):
    """Dominant eigenpair of a symmetric matrix by ``v ← A v / ‖A v‖`` (Ch. 1.4, §2).

    The component of v along eigenvector i shrinks like ``|λ_i/λ_1|^t``, so
    convergence is geometric with ratio ``|λ_2/λ_1|``. Stops when the Rayleigh
    quotient ``λ = vᵀ A v`` changes by less than ``tol * |λ|``. Returns
    ``(lam, v, history)`` with ``‖v‖ = 1`` and ``history`` the list of
    Rayleigh quotients, one per iteration.
    """
    A = _check_symmetric(A, "power_iteration")
    num_iters = check_int(num_iters, "power_iteration", "num_iters", minimum=1)
    v = np.random.default_rng(seed).standard_normal(A.shape[0])
    v /= np.linalg.norm(v)
    lam, history = v @ A @ v, []
    for _ in range(num_iters):
        w = A @ v
        nw = np.linalg.norm(w)
        if nw == 0:  # v lies in the null space: A is (numerically) zero along it
            break
        v = w / nw
        new = v @ A @ v
        history.append(new)
        done = abs(new - lam) <= tol * abs(new)
        lam = new
        if done:
            break
    return float(lam), v, history


def top_eigh(A, k: int, num_iters: int = 5000, tol: float = 1e-14, seed: int = 0):
    """The ``k`` eigenpairs of largest |λ| of a symmetric A: power iteration, deflation.

    After finding ``(λ, v)`` we remove it: ``A ← A - λ v vᵀ`` has the same
    eigenvectors with λ replaced by 0 (Chapter 1.4, §2).
    Returns ``(lams (k,), V (n, k))``.
    """
    A = _check_symmetric(A, "top_eigh").copy()
    k = check_int(k, "top_eigh", "k", minimum=1)
    if k > A.shape[0]:
        raise ValueError(f"top_eigh: k must be <= n={A.shape[0]}, got {k}")
    lams, vecs = [], []
    for i in range(k):
        lam, v, _ = power_iteration(A, num_iters, tol, seed + i)
        lams.append(lam)
        vecs.append(v)
        A -= lam * np.outer(v, v)
    return np.array(lams), np.stack(vecs, axis=1)


def align_signs(V, reference, axis: int = 0) -> np.ndarray:
    """Flip the sign of each vector of ``V`` to agree with ``reference``.

    Eigen- and singular vectors are defined only up to sign; compare them
    after aligning. With ``axis=0`` the vectors are the columns (as in
    ``eigh``'s V and ``svd``'s U), with ``axis=1`` the rows (as in Vᵀ).
    """
    V = as_float_array(V, "align_signs", "V", ndim=2)
    R = as_float_array(reference, "align_signs", "reference", ndim=2)
    if V.shape != R.shape:
        raise ValueError(f"align_signs: V and reference must have the same shape, "
                         f"got {V.shape} and {R.shape}")
    s = np.sign((V * R).sum(axis=axis, keepdims=True))
    return V * np.where(s == 0, 1.0, s)


class PCA(NamedTuple):
    """A fitted PCA: ``components`` (k, d) orthonormal rows, ``mean`` (d,),
    ``explained_variance`` (k,) and ``explained_variance_ratio`` (k,)."""
    components: np.ndarray
    mean: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray


def pca(X, k: int) -> PCA:
    """Principal component analysis by the SVD of the centred data (Chapter 1.4, §4).

    With ``X_c = X - mean = U Σ Vᵀ``, the principal directions are the rows
    of Vᵀ and the variance along direction i is ``s_i² / (N - 1)``. X: (N, d).
    """
    X = as_float_array(X, "pca", "X", ndim=2, layout="(N, d)")
    k = check_int(k, "pca", "k", minimum=1)
    N, d = X.shape
    if N < 2 or k > min(N, d):
        raise ValueError(f"pca: need N >= 2 and k <= min(N, d) = {min(N, d)}, "
                         f"got N={N}, k={k}")
    mean = X.mean(axis=0)
    _, s, Vt = np.linalg.svd(X - mean, full_matrices=False)
    var = s ** 2 / (N - 1)
    # the ratio from s / s_max, so that data of magnitude 1e-180 (whose squares
    # underflow
    # to 0) still gives ratios summing to 1, not 0 / 0
    r = (s / s[0]) ** 2 if s[0] > 0 else np.zeros_like(s)
    ratio = r / r.sum() if r.sum() > 0 else r
    return PCA(Vt[:k], mean, var[:k], ratio[:k])


def pca_transform(model: PCA, X) -> np.ndarray:
    """Coordinates ``Z = (X - mean) Vₖ`` in the principal directions: (N, d) -> (N,
    k)."""
    X = as_float_array(X, "pca_transform", "X", ndim=2, layout="(N, d)")
    if X.shape[1] != model.mean.shape[0]:
        raise ValueError(f"pca_transform: X must have d={model.mean.shape[0]} columns, "
                         f"got shape {X.shape}")
    return (X - model.mean) @ model.components.T


def pca_reconstruct(model: PCA, Z) -> np.ndarray:
    """Back to data space: ``X̂ = Z Vₖᵀ + mean``, best rank-k fit, (N, k) -> (N, d)."""
    Z = as_float_array(Z, "pca_reconstruct", "Z", ndim=2, layout="(N, k)")
    if Z.shape[1] != model.components.shape[0]:
        raise ValueError(f"pca_reconstruct: Z must have k={model.components.shape[0]} "
                         f"columns, got shape {Z.shape}")
    return Z @ model.components + model.mean


# ------------------------------------------------------ factorizations (Chapter 1.5)
def _check_triangular_system(T, b, fn):
    T = as_float_array(T, fn, "T", ndim=2, layout="(n, n)")
    b = as_float_array(b, fn, "b", ndim=(1, 2), layout="(n,) or (n, k)")
    if T.shape[0] != T.shape[1]:
        raise ValueError(f"{fn}: T must be square (n, n), got shape {T.shape}")
    if b.shape[0] != T.shape[0]:
        raise ValueError(f"{fn}: b must have n={T.shape[0]} rows to match T {T.shape}, "
                         f"got shape {b.shape}")
    return T, b


def solve_triangular(T, b, lower: bool = True) -> np.ndarray:
    """Solve ``T x = b`` for triangular T by substitution (Chapter 1.5, eq-subst).

    Forward substitution (``lower=True``): ``x_i = (b_i - Σ_{j<i} T_ij x_j) / T_ii``;
    back substitution (``lower=False``) runs the same from the last row up. Only
    the triangle named by ``lower`` is read. About n² flops. T: (n, n),
    b: (n,) or (n, k) -> x of b's shape. Same as
    ``torch.linalg.solve_triangular(T, b, upper=not lower)`` (with b as a column).
    Raises ``ValueError`` when a diagonal entry is 0 (T is singular).
    """
    T, b = _check_triangular_system(T, b, "solve_triangular")
    n = T.shape[0]
    d = np.diag(T)
    if np.any(d == 0):
        i = int(np.argmin(np.abs(d)))
        raise ValueError(f"solve_triangular: T is singular, T[{i}, {i}] = 0")
    x = np.zeros(b.shape, dtype=np.result_type(T, b))
    order = range(n) if lower else range(n - 1, -1, -1)
    for i in order:
        done = slice(0, i) if lower else slice(i + 1, n)
        x[i] = (b[i] - T[i, done] @ x[done]) / T[i, i]
    return x


def cholesky(A) -> np.ndarray:
    """Lower-triangular L, positive diagonal, ``A = L Lᵀ`` (Chapter 1.5, eq-chol).

    Matching entry (i, j), i >= j, of ``A = L Lᵀ`` gives, column by column,
    ``L_jj = sqrt(A_jj - Σ_{k<j} L_jk²)`` and
    ``L_ij = (A_ij - Σ_{k<j} L_ik L_jk) / L_jj`` for i > j: n³/3 flops.
    A: (n, n) symmetric positive definite -> L: (n, n). Same as
    ``torch.linalg.cholesky(A)``. Raises ``ValueError`` when A is not symmetric,
    or when a pivot ``A_jj - Σ L_jk²`` is <= 0 (A is not positive definite).
    """
    A = _check_symmetric(A, "cholesky")
    n = A.shape[0]
    L = np.zeros_like(A)
    for j in range(n):
        pivot = A[j, j] - L[j, :j] @ L[j, :j]
        if not pivot > 0:
            raise ValueError(f"cholesky: A is not positive definite (pivot {j} is "
                             f"{pivot:.3g} <= 0)")
        L[j, j] = np.sqrt(pivot)
        L[j + 1:, j] = (A[j + 1:, j] - L[j + 1:, :j] @ L[j, :j]) / L[j, j]
    return L


def _check_qr(A, fn):
    A = as_float_array(A, fn, "A", ndim=2, layout="(m, n)")
    if A.shape[0] < A.shape[1]:
        raise ValueError(f"{fn}: A must have m >= n (no more columns than rows), "
                         f"got shape {A.shape}")
    return A


def gram_schmidt(A, modified: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Reduced QR ``A = Q R`` by Gram-Schmidt (Chapter 1.5, eq-cgs, (eq-mgs)).

    Column j of Q is column j of A minus its components along q_1..q_{j-1},
    normalised; ``R_ij = q_iᵀ (·)`` records the components, ``R_jj`` the norm.
    Classical GS (``modified=False``) projects the *original* column
    ``a_j`` on every q_i at once; modified GS subtracts each component from
    the *updated* vector in turn, which is the same in exact arithmetic but
    loses orthogonality like κ(A)·eps instead of κ(A)²·eps. 2mn² flops.
    A: (m, n) with m >= n and independent columns -> Q: (m, n) with
    orthonormal columns, R: (n, n) upper triangular with positive diagonal.
    """
    A = _check_qr(A, "gram_schmidt")
    m, n = A.shape
    Q = np.zeros_like(A)
    R = np.zeros((n, n), dtype=A.dtype)
    scale = np.abs(A).max() if A.size else 0.0
    for j in range(n):
        v = A[:, j].copy()
        if modified:
            for i in range(j):
                R[i, j] = Q[:, i] @ v
                v -= R[i, j] * Q[:, i]
        else:
            R[:j, j] = Q[:, :j].T @ A[:, j]
            v -= Q[:, :j] @ R[:j, j]
        R[j, j] = np.linalg.norm(v)
        if not R[j, j] > np.finfo(A.dtype).eps * scale * m:
            raise ValueError(f"gram_schmidt: the columns of A are linearly dependent "
                             f"(column {j} lies in the span of the previous ones)")
        Q[:, j] = v / R[j, j]
    return Q, R


def householder_qr(A) -> tuple[np.ndarray, np.ndarray]:
    """Reduced QR ``A = Q R`` by Householder reflections (Chapter 1.5, eq-householder).

    Step j reflects ``x = R[j:, j]`` onto ``α e_1`` with
    ``H = I - 2 v vᵀ``, ``v ∝ x - α e_1``, ``α = -sign(x_1) ‖x‖`` (the sign
    avoids cancellation); H is orthogonal, so Q = H_1 ⋯ H_k is orthogonal to
    machine precision whatever the conditioning of A. 2mn² - 2n³/3 flops.
    A: (m, n) with k = min(m, n) -> Q: (m, k), R: (k, n) upper triangular.
    Same signs as LAPACK's geqrf, hence as ``torch.linalg.qr(A)``.
    """
    A = as_float_array(A, "householder_qr", "A", ndim=2, layout="(m, n)")
    m, n = A.shape
    k = min(m, n)
    R = A.astype(np.result_type(A, np.float32), copy=True)
    vs = []
    for j in range(k):
        x = R[j:, j]
        if not np.any(x[1:]):  # already zero below the diagonal: H = I (as LAPACK)
            vs.append(None)
            continue
        alpha = -np.copysign(np.linalg.norm(x), x[0])
        v = x.copy()
        v[0] -= alpha
        v /= np.linalg.norm(v)
        R[j:, j:] -= 2.0 * np.outer(v, v @ R[j:, j:])
        R[j + 1:, j] = 0.0
        vs.append(v)
    Q = np.eye(m, k, dtype=R.dtype)
    for j in range(k - 1, -1, -1):  # Q = H_1 ⋯ H_k applied to the first k columns of I
        if vs[j] is not None:
            Q[j:] -= 2.0 * np.outer(vs[j], vs[j] @ Q[j:])
    return Q, np.triu(R[:k])


def qr(A, method: str = "householder") -> tuple[np.ndarray, np.ndarray]:
    """Reduced QR by ``"householder"``, ``"mgs"`` or ``"cgs"`` (modified/classical GS).

    See :func:`householder_qr` and :func:`gram_schmidt` for shapes and signs.
    """
    if method == "householder":
        return householder_qr(A)
    if method in ("mgs", "cgs"):
        return gram_schmidt(A, modified=method == "mgs")
    raise ValueError(f"qr: method must be 'householder', 'mgs' or 'cgs', "
                     f"got {method!r}")
