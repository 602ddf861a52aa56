"""Autograded checks for the exercises of Chapter 11 (graphs, geometric deep learning).

Each ``check_*`` draws its graphs from a fresh ``rng(seed)`` (hidden cases:
another ``seed``) and compares with PyTorch in float64 on ``dlmath.device()``
(and with PyTorch Geometric's ``gcn_norm`` for Exercise 11.3). The graphs are
chosen to separate right from plausibly wrong: degrees that differ (a
regular graph would hide D^-1 A vs D^-1/2 A D^-1/2), isolated nodes, weights.
Exercises done by hand refuse torch and the dlmath routine they re-derive.
"""
from __future__ import annotations

import numpy as np

from ..check import to_torch
from . import check_function, refuse_calls, rng

__all__ = ["check_incidence_matrix", "check_kpq_sym_spectrum", "check_gcn_propagation",
           "check_gcn_edge_grad", "check_rw_smoothing_limit", "check_group_average"]


def _undirected(g: np.random.Generator, n: int, p: float, weighted: bool,
                isolated: int = 0) -> np.ndarray:
    """A symmetric (n, n) adjacency, zero diagonal, the last ``isolated`` nodes bare."""
    upper = np.triu(g.random((n, n)) < p, k=1).astype(float)
    if weighted:
        upper *= g.uniform(0.2, 3.0, (n, n))
    A = upper + upper.T
    if isolated:
        A[-isolated:] = 0
        A[:, -isolated:] = 0
    return A


def _connected(g: np.random.Generator, n: int, p: float, weighted: bool
               ) -> np.ndarray:
    """A connected graph: a random spanning path plus random extra edges."""
    A = _undirected(g, n, p, weighted)
    order = g.permutation(n)
    w = g.uniform(0.2, 3.0, n - 1) if weighted else np.ones(n - 1)
    A[order[:-1], order[1:]] = A[order[1:], order[:-1]] = w
    return A


# ---------------------------------------------------------------------- Exercise 11.1
def check_incidence_matrix(fn, *, seed: int = 111) -> None:
    """Exercise 11.1: B (m, n) with rows √w_e (e_i - e_j), so that Bᵀ B = L.

    Tested by its properties (the orientation of each row is the learner's
    choice): Bᵀ B equals L = D - A computed in torch, every row has exactly
    two nonzeros, of opposite signs and magnitude √w_e, on the edge's nodes.
    """
    title = "Exercise 11.1 incidence_matrix"
    refuse_calls(fn, ("torch", "torch_geometric", "dlmath.graph"), title=title,
                 why="build B from the edge list with numpy")
    g = rng(seed)
    cases = []
    for n, p, weighted in [(5, 0.6, False), (8, 0.4, True), (2, 1.0, True),
                           (10, 0.3, True)]:
        A = _undirected(g, n, p, weighted)
        i, j = np.nonzero(np.triu(A))
        cases.append((np.stack([i, j], axis=1), A[i, j], n))

    def laplacian_ref(edges, w, n):
        import torch
        dev = to_torch(np.zeros(1)).device
        A = torch.zeros(n, n, dtype=torch.float64, device=dev)
        e = torch.as_tensor(edges, device=dev)
        A[e[:, 0], e[:, 1]] = to_torch(w)
        A = A + A.T
        return torch.diag(A.sum(1)) - A

    def gram(edges, w, n):
        B = fn(edges, w, n)
        if B is None:
            return None
        B = np.asarray(B, dtype=float)
        if B.shape != (len(edges), n):
            raise AssertionError(f"{title}: B must have shape (m, n) = "
                                 f"({len(edges)}, {n}), one row per edge, got "
                                 f"{B.shape}")
        for e, (i, j) in enumerate(edges):
            row = B[e]
            nz = np.nonzero(row)[0]
            r = np.sqrt(w[e])
            if sorted(nz) != sorted((i, j)) or not np.isclose(abs(row[i]), r) \
                    or not np.isclose(row[i], -row[j]):
                raise AssertionError(
                    f"{title}: row {e} (edge {i}-{j}, weight {w[e]:.3g}) must hold "
                    f"+√w and -√w = ±{r:.4g} at nodes {i} and {j} and zeros "
                    f"elsewhere, got nonzeros {dict(zip(nz.tolist(), row[nz]))}")
        return B.T @ B

    check_function(gram, laplacian_ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="one row per edge; BᵀB adds each row's outer product, "
                        "and it should add w_e, not w_e², to the degrees")


# ---------------------------------------------------------------------- Exercise 11.2
def check_kpq_sym_spectrum(fn, *, seed: int = 112) -> None:
    """Exercise 11.2: eigenvalues of L_sym of K_{p,q}, sorted, against eigvalsh."""
    import torch

    title = "Exercise 11.2 kpq_sym_spectrum"
    refuse_calls(fn, ("torch", "numpy.linalg", "scipy.linalg", "dlmath.linalg"),
                 title=title, why="reason from the rank of A and bipartiteness")
    g = rng(seed)
    cases = [(1, 1), (2, 3), (4, 4), (1, 6)]
    cases += [(int(g.integers(1, 8)), int(g.integers(1, 8))) for _ in range(3)]

    def ref(p, q):
        n = p + q
        A = torch.zeros(n, n, dtype=torch.float64, device=to_torch(np.zeros(1)).device)
        A[:p, p:] = 1
        A[p:, :p] = 1
        s = A.sum(1) ** -0.5
        return torch.linalg.eigvalsh(torch.eye(n, dtype=A.dtype, device=A.device)
                                     - s[:, None] * A * s[None, :])

    check_function(lambda p, q: np.asarray(fn(p, q), dtype=float), ref, cases,
                   title=title, rtol=1e-9, atol=1e-9,
                   hint="D^-1/2 A D^-1/2 has the rank of A; a connected bipartite "
                        "graph's normalized spectrum is symmetric about 1")


# ---------------------------------------------------------------------- Exercise 11.3
def check_gcn_propagation(fn, *, seed: int = 113) -> None:
    """Exercise 11.3: Â = D̃^-1/2 (A + I) D̃^-1/2, against PyG's ``gcn_norm``.

    Graphs with unequal degrees, weights and isolated nodes, so that
    forgetting the self-loops, D̃^-1 Ã, or I + D^-1/2 A D^-1/2 all fail.
    """
    import torch
    from torch_geometric.nn.conv.gcn_conv import gcn_norm
    from torch_geometric.utils import to_dense_adj

    title = "Exercise 11.3 gcn_propagation"
    refuse_calls(fn, ("torch", "torch_geometric", "dlmath.functional.graph",
                      "dlmath.graph"), title=title,
                 why="build the matrix from A with numpy")
    g = rng(seed)
    cases = [(_undirected(g, n, p, w, iso),) for n, p, w, iso in
             [(6, 0.5, False, 1), (9, 0.35, True, 0), (12, 0.25, True, 2),
              (3, 1.0, False, 0)]]

    def ref(A):
        n = A.shape[0]
        tgt, src = np.nonzero(A)
        ei = torch.as_tensor(np.stack([src, tgt]))
        ei2, w2 = gcn_norm(ei, to_torch(A[tgt, src]).cpu(), num_nodes=n,
                           dtype=torch.float64)
        return to_dense_adj(ei2, edge_attr=w2, max_num_nodes=n)[0].T  # row = target

    check_function(fn, ref, cases, title=title, rtol=1e-12, atol=1e-14,
                   hint="add the self-loops before you count degrees, then scale "
                        "both sides of every edge")


# ---------------------------------------------------------------------- Exercise 11.4
def check_gcn_edge_grad(fn, *, seed: int = 114) -> None:
    """Exercise 11.4: ∂L/∂A for L = Σ dY ⊙ (Â H), Â = D̃^-1/2 (A + I) D̃^-1/2.

    Every entry of A is a separate variable (no symmetry tied), D̃ holds the row
    sums of A + I. Compared with torch autograd.
    """
    import torch

    title = "Exercise 11.4 gcn_edge_grad"
    refuse_calls(fn, ("torch", "torch_geometric", "dlmath.functional.graph",
                      "dlmath.autodiff", "dlmath.check.numerical_grad"), title=title,
                 why="derive the gradient and write it in numpy")
    g = rng(seed)
    cases = []
    for n, c, p in [(5, 2, 0.6), (8, 3, 0.4), (1, 1, 0.0), (10, 4, 0.3)]:
        A = _undirected(g, n, p, True)
        A = A + np.triu(g.random((n, n)) < 0.1, 1) * 0.5   # a few one-way edges
        cases.append((A, g.standard_normal((n, c)), g.standard_normal((n, c))))

    def ref(A, H, dY):
        At = to_torch(A, requires_grad=True)
        Ad = At + torch.eye(A.shape[0], dtype=At.dtype, device=At.device)
        s = Ad.sum(1) ** -0.5
        Y = (s[:, None] * Ad * s[None, :]) @ to_torch(H)
        (Y * to_torch(dY)).sum().backward()
        return At.grad

    check_function(fn, ref, cases, title=title, rtol=1e-9, atol=1e-11,
                   hint="A enters Â twice: directly, and through the degrees d̃_i, "
                        "which are sums over the rows of A + I")


# ---------------------------------------------------------------------- Exercise 11.5
def check_rw_smoothing_limit(fn, *, seed: int = 115) -> None:
    """Exercise 11.5: lim_k (D̃^-1 Ã)^k X = 1 πᵀ X, π = d̃ / Σ d̃ (connected graphs).

    The reference is torch's matrix_power at k = 4000: the graphs are connected
    and have self-loops, and at 15 nodes or fewer that is far past convergence.
    """
    import torch

    title = "Exercise 11.5 rw_smoothing_limit"
    refuse_calls(fn, ("torch", "numpy.linalg", "scipy.linalg",
                      "dlmath.functional.graph"),
                 title=title, why="write the limit in closed form")
    g = rng(seed)
    cases = []
    for n, p, weighted, c in [(6, 0.3, False, 2), (10, 0.3, True, 3),
                              (2, 1.0, False, 1), (15, 0.15, True, 2)]:
        cases.append((_connected(g, n, p, weighted), g.standard_normal((n, c))))

    def ref(A, X):
        At = to_torch(A) + torch.eye(A.shape[0], dtype=torch.float64,
                                     device=to_torch(A).device)
        P = At / At.sum(1, keepdim=True)
        return torch.linalg.matrix_power(P, 4000) @ to_torch(X)

    check_function(fn, ref, cases, title=title, rtol=1e-8, atol=1e-10,
                   hint="D̃^-1 Ã is similar to the symmetric D̃^-1/2 Ã D̃^-1/2; "
                        "its top left and right eigenvectors differ")


# ---------------------------------------------------------------------- Exercise 11.6
def check_group_average(fn, *, seed: int = 116) -> None:
    """Exercise 11.6: the average of P M Pᵀ over all n! permutation matrices P.

    The reference averages over every permutation explicitly in torch (n <= 5);
    the learner's closed form may not enumerate permutations.
    """
    import itertools

    import torch

    title = "Exercise 11.6 group_average"
    refuse_calls(fn, ("torch", "itertools.permutations"),
                 title=title, why="find the closed form instead of averaging n! terms")
    g = rng(seed)
    cases = [(g.standard_normal((n, n)),) for n in (1, 2, 3, 4, 5)]
    cases.append((np.triu(g.standard_normal((4, 4))),))    # far from symmetric

    def ref(M):
        n = M.shape[0]
        Mt, eye = to_torch(M), torch.eye(n, dtype=torch.float64,
                                         device=to_torch(M).device)
        Ps = torch.stack([eye[list(p)] for p in itertools.permutations(range(n))])
        return (Ps @ Mt @ Ps.transpose(1, 2)).mean(0)

    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="a relabelling moves diagonal entries to diagonal entries "
                        "and off-diagonal ones to off-diagonal ones, uniformly")
