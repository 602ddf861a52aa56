"""Graphs as matrices (Chapter 11): adjacency, degree, Laplacians, spectral clustering.

Conventions are PyTorch Geometric's. A graph on ``n`` nodes is either a dense
adjacency matrix ``A`` (n, n) or an ``edge_index`` (2, E) of integers whose
column ``(j, i)`` is an edge from source ``j`` to target ``i``. Messages flow
from source to target, so the dense matrix of an edge list has
``A[i, j]`` = the summed weight of the edges ``j -> i`` (row = target): then
``A @ X`` sums, at each node, the features of its in-neighbours, which is what
``torch_geometric`` aggregates. An undirected graph stores both directions and
has a symmetric ``A``.

- ``to_dense_adj(edge_index, num_nodes, edge_weight)``: the dense ``A``.
- ``degree(A)``, ``laplacian(A, normalization)``: eqs. (eq-graph-laplacian)
  and (eq-graph-laplacian-sym) of notebook 11.1.
- ``sbm(sizes, p_in, p_out, rng)``: a stochastic block model.
- ``spectral_clustering(A, k, rng)``, ``kmeans``, ``cluster_accuracy``.
"""
from __future__ import annotations

from itertools import permutations
from typing import Any, Sequence

import numpy as np

from ._validate import as_float_array, check_int

__all__ = ["check_edge_index", "check_adjacency", "to_dense_adj", "edge_index_from_adj",
           "degree", "laplacian", "sbm", "kmeans", "spectral_clustering",
           "cluster_accuracy", "num_components"]


# ---------------------------------------------------------------------- validation
def check_edge_index(edge_index: Any, num_nodes: int, fn: str) -> np.ndarray:
    """``edge_index`` as an int64 (2, E) array with entries in [0, num_nodes)."""
    num_nodes = check_int(num_nodes, fn, "num_nodes", minimum=0)
    if type(edge_index).__module__.startswith("torch"):
        raise TypeError(f"{fn}: edge_index must be a numpy array, got a torch.Tensor; "
                        f"use edge_index.cpu().numpy()")
    ei = np.asarray(edge_index)
    if ei.dtype.kind not in "iu":
        raise TypeError(f"{fn}: edge_index must hold integers (node ids), got dtype "
                        f"{ei.dtype}")
    if ei.ndim != 2 or ei.shape[0] != 2:
        raise ValueError(f"{fn}: edge_index must have shape (2, E) (sources; "
                         f"targets), got shape {ei.shape}")
    if ei.size and (ei.min() < 0 or ei.max() >= num_nodes):
        raise ValueError(f"{fn}: edge_index entries must lie in [0, num_nodes="
                         f"{num_nodes}), got values in [{ei.min()}, {ei.max()}]")
    return ei.astype(np.int64)


def check_adjacency(A: Any, fn: str, *, symmetric: bool = False,
                    nonnegative: bool = False, name: str = "A") -> np.ndarray:
    """A dense adjacency: a square float matrix; optionally symmetric, >= 0."""
    A = as_float_array(A, fn, name, ndim=2, layout="(n, n)")
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"{fn}: {name} must be square (n, n), got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{fn}: {name} must be finite")
    if nonnegative and A.size and A.min() < 0:
        raise ValueError(f"{fn}: {name} must have non-negative edge weights (the "
                         f"degree normalization takes square roots), got min "
                         f"{A.min():.3g}")
    if symmetric and not np.allclose(A, A.T, rtol=1e-12, atol=1e-12):
        i, j = np.unravel_index(np.argmax(np.abs(A - A.T)), A.shape)
        raise ValueError(f"{fn}: {name} must be symmetric (an undirected graph), but "
                         f"{name}[{i}, {j}] = {A[i, j]:.3g} != {name}[{j}, {i}] = "
                         f"{A[j, i]:.3g}")
    return A


def _edge_weight(edge_weight: Any, E: int, fn: str) -> np.ndarray:
    if edge_weight is None:
        return np.ones(E)
    w = as_float_array(edge_weight, fn, "edge_weight", ndim=1, layout="(E,)")
    if w.shape[0] != E:
        raise ValueError(f"{fn}: edge_weight must have one weight per edge, shape "
                         f"({E},), got shape {w.shape}")
    return w.astype(np.float64)


# ---------------------------------------------------------------------- matrices
def to_dense_adj(edge_index: Any, num_nodes: int, edge_weight: Any = None
                 ) -> np.ndarray:
    """Dense ``A`` (n, n) of an edge list: ``A[i, j]`` = Σ weights of edges j -> i.

    edge_index: (2, E) ints (row 0 sources, row 1 targets, PyG's
    ``source_to_target`` flow); edge_weight: (E,) or None (all ones). Multi-edges
    add up, as PyG's sum aggregation adds their messages.
    """
    fn = "to_dense_adj"
    ei = check_edge_index(edge_index, num_nodes, fn)
    w = _edge_weight(edge_weight, ei.shape[1], fn)
    A = np.zeros((num_nodes, num_nodes))
    np.add.at(A, (ei[1], ei[0]), w)
    return A


def edge_index_from_adj(A: Any) -> tuple[np.ndarray, np.ndarray]:
    """The edge list of a dense ``A`` (row = target): ``(edge_index, edge_weight)``."""
    A = check_adjacency(A, "edge_index_from_adj")
    tgt, src = np.nonzero(A)
    return np.stack([src, tgt]).astype(np.int64), A[tgt, src]


def degree(A: Any) -> np.ndarray:
    """Degrees d_i = Σ_j A_ij (n,): the in-degree in PyG's orientation."""
    return check_adjacency(A, "degree").sum(axis=1)


def laplacian(A: Any, normalization: str | None = None) -> np.ndarray:
    """Graph Laplacian of an undirected graph with weights ``A`` >= 0 (symmetric).

    - ``None``: L = D - A, eq. (eq-graph-laplacian);
    - ``"sym"``: L_sym = I - D^-1/2 A D^-1/2, eq. (eq-graph-laplacian-sym);
    - ``"rw"``: L_rw = I - D^-1 A.

    An isolated node (d_i = 0) gets D^-1/2 = 0, as in PyG's ``get_laplacian``, so
    its row of L_sym is the identity's.
    """
    fn = "laplacian"
    A = check_adjacency(A, fn, symmetric=True, nonnegative=True)
    if normalization not in (None, "sym", "rw"):
        raise ValueError(f"{fn}: normalization must be None, 'sym' or 'rw', got "
                         f"{normalization!r}")
    d = A.sum(axis=1)
    if normalization is None:
        return np.diag(d) - A
    n = A.shape[0]
    with np.errstate(divide="ignore"):
        if normalization == "sym":
            s = np.where(d > 0, 1 / np.sqrt(d), 0.0)
            return np.eye(n) - s[:, None] * A * s[None, :]
        inv = np.where(d > 0, 1 / d, 0.0)
    return np.eye(n) - inv[:, None] * A


def num_components(A: Any) -> int:
    """Number of connected components of an undirected graph (breadth-first search)."""
    A = check_adjacency(A, "num_components", symmetric=True)
    n, seen, count = A.shape[0], np.zeros(A.shape[0], bool), 0
    nbrs = [np.nonzero(row)[0] for row in A]
    for s in range(n):
        if seen[s]:
            continue
        count += 1
        stack, seen[s] = [s], True
        while stack:
            u = stack.pop()
            for v in nbrs[u]:
                if not seen[v]:
                    seen[v] = True
                    stack.append(v)
    return count


# ---------------------------------------------------------------------- data
def sbm(sizes: Sequence[int], p_in: float, p_out: float,
        rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A stochastic block model: ``(A, labels)``, A symmetric 0/1 without self-loops.

    Nodes of block b (``sizes[b]`` of them) are joined with probability ``p_in``,
    nodes of different blocks with ``p_out``, independently per pair.
    """
    fn = "sbm"
    sizes = [check_int(s, fn, "sizes[...]", minimum=1) for s in sizes]
    for name, p in (("p_in", p_in), ("p_out", p_out)):
        if not 0 <= p <= 1:
            raise ValueError(f"{fn}: {name} must be a probability in [0, 1], got {p}")
    labels = np.repeat(np.arange(len(sizes)), sizes)
    n = labels.size
    P = np.where(labels[:, None] == labels[None, :], p_in, p_out)
    upper = np.triu(rng.random((n, n)) < P, k=1)
    A = (upper | upper.T).astype(np.float64)
    return A, labels


# ---------------------------------------------------------------------- clustering
def kmeans(X: Any, k: int, rng: np.random.Generator, n_init: int = 10,
           iters: int = 100) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding, best of ``n_init`` runs: labels (n,)."""
    X = as_float_array(X, "kmeans", "X", ndim=2, layout="(n, d)")
    k = check_int(k, "kmeans", "k", minimum=1)
    if k > X.shape[0]:
        raise ValueError(f"kmeans: k={k} exceeds the number of points {X.shape[0]}")
    best, best_cost = None, np.inf
    for _ in range(n_init):
        C = X[[rng.integers(X.shape[0])]]
        while len(C) < k:                              # k-means++: far points first
            d2 = ((X[:, None] - C[None]) ** 2).sum(-1).min(1)
            p = d2 / d2.sum() if d2.sum() > 0 else None
            C = np.vstack([C, X[rng.choice(X.shape[0], p=p)]])
        for _ in range(iters):
            lab = ((X[:, None] - C[None]) ** 2).sum(-1).argmin(1)
            newC = np.array([X[lab == c].mean(0) if np.any(lab == c) else C[c]
                             for c in range(k)])
            if np.allclose(newC, C):
                break
            C = newC
        cost = ((X - C[lab]) ** 2).sum()
        if cost < best_cost:
            best, best_cost = lab, cost
    return best


def spectral_clustering(A: Any, k: int, rng: np.random.Generator) -> np.ndarray:
    """Spectral clustering: k-means on the rows of the k lowest eigenvectors of L_sym,
    each row normalized to unit length (Ng, Jordan and Weiss). Labels (n,)."""
    L = laplacian(A, "sym")
    _, U = np.linalg.eigh(L)
    Uk = U[:, :check_int(k, "spectral_clustering", "k", minimum=1)]
    norms = np.linalg.norm(Uk, axis=1, keepdims=True)
    return kmeans(Uk / np.where(norms > 0, norms, 1.0), k, rng)


def cluster_accuracy(pred: Any, labels: Any) -> float:
    """Accuracy of cluster ids against labels under the best matching of ids (k <= 8).
    """
    pred, labels = np.asarray(pred), np.asarray(labels)
    if pred.shape != labels.shape or pred.ndim != 1:
        raise ValueError(f"cluster_accuracy: pred and labels must be (n,) of one "
                         f"shape, got {pred.shape} and {labels.shape}")
    k = int(max(pred.max(), labels.max())) + 1
    if k > 8:
        raise ValueError(f"cluster_accuracy: at most 8 clusters, got {k}")
    return max(float(np.mean(np.asarray(perm)[pred] == labels))
               for perm in permutations(range(k)))
