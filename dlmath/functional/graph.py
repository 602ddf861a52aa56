"""Graph convolutions (Chapter 11): GCN and GAT, dense, with hand-derived VJPs.

A graph enters as a dense matrix ``A`` (n, n) in PyTorch Geometric's orientation
(``A[i, j]`` = weight of the edge j -> i, row = target; see ``dlmath.graph``),
so a layer is a few matrix products and the check against
``torch_geometric.nn.GCNConv`` / ``GATConv`` is one line.

- ``gcn_norm(A, add_self_loops, improved)``: Â = D̃^-1/2 Ã D̃^-1/2, the
  renormalization trick, eq. (eq-gcn-renorm) of notebook 11.2;
- ``gcn_conv(x, A, weight, bias)`` / ``gcn_conv_vjp``: Y = Â X Wᵀ + b,
  eq. (eq-gcn-layer), and its backward, eq. (eq-gcn-backward);
- ``gcn_adjacency(edge_index, num_nodes, edge_weight, ...)``: the dense Ã that
  PyG's ``gcn_norm`` builds from an edge list (its "remaining self-loops" rule);
- ``gat_conv(x, A, weight, att_src, att_dst, bias, ...)`` / ``gat_conv_vjp``:
  graph attention, eq. (eq-gat) of notebook 11.3.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .._validate import as_float_array, check_int, check_number
from ..graph import _edge_weight, check_adjacency, check_edge_index

__all__ = ["gcn_norm", "gcn_adjacency", "gcn_conv", "gcn_conv_vjp", "gat_conv",
           "gat_conv_vjp"]


def _remaining_self_loops(A: np.ndarray, fill_value: float) -> np.ndarray:
    """Ã: A with ``fill_value`` on the diagonal where A has no self-loop (PyG's
    ``add_remaining_self_loops``: an existing self-loop keeps its weight)."""
    At = A.copy()
    diag = np.diag(At)
    idx = np.nonzero(diag == 0)[0]
    At[idx, idx] = fill_value
    return At


def gcn_norm(A: Any, add_self_loops: bool = True, improved: bool = False
             ) -> np.ndarray:
    """Â = D̃^-1/2 Ã D̃^-1/2 with Ã = A + I (remaining self-loops), eq. (eq-gcn-renorm).

    A: (n, n), weights >= 0, row = target. D̃ holds the row sums of Ã (in-degrees,
    PyG's ``source_to_target`` flow); a node of degree 0 gets D̃^-1/2 = 0, as PyG.
    ``improved=True`` puts 2 on the added self-loops (PyG's ``improved``).
    """
    A = check_adjacency(A, "gcn_norm", nonnegative=True)
    At = _remaining_self_loops(A, 2.0 if improved else 1.0) if add_self_loops else A
    d = At.sum(axis=1)
    s = np.zeros_like(d)
    s[d > 0] = d[d > 0] ** -0.5
    return s[:, None] * At * s[None, :]


def gcn_adjacency(edge_index: Any, num_nodes: int, edge_weight: Any = None, *,
                  add_self_loops: bool = True, fill_value: float = 1.0
                  ) -> np.ndarray:
    """The dense Ã that ``torch_geometric.nn.GCNConv`` propagates with.

    With ``add_self_loops``, PyG's ``add_remaining_self_loops``: every self-loop
    edge is dropped and one loop per node added, with weight ``fill_value`` -- or,
    for a node that had a self-loop and ``edge_weight`` given, that loop's weight
    (the last such edge's). Other multi-edges add up. Without it: all edges add up.
    """
    fn = "gcn_adjacency"
    ei = check_edge_index(edge_index, num_nodes, fn)
    w = _edge_weight(edge_weight, ei.shape[1], fn)
    A = np.zeros((num_nodes, num_nodes))
    if not add_self_loops:
        np.add.at(A, (ei[1], ei[0]), w)
        return A
    loop = ei[0] == ei[1]
    np.add.at(A, (ei[1][~loop], ei[0][~loop]), w[~loop])
    diag = np.full(num_nodes, float(fill_value))
    if edge_weight is not None:
        diag[ei[0][loop]] = w[loop]                  # the last one wins, as in PyG
    A[np.arange(num_nodes), np.arange(num_nodes)] = diag
    return A


def _gcn_inputs(x, A, weight, bias, fn):
    A = check_adjacency(A, fn, nonnegative=True)
    x = as_float_array(x, fn, "x", ndim=2, layout="(num_nodes, in_channels)")
    W = as_float_array(weight, fn, "weight", ndim=2,
                       layout="(out_channels, in_channels)")
    if x.shape[0] != A.shape[0]:
        raise ValueError(f"{fn}: x must have one row per node: A is {A.shape} but x "
                         f"is {x.shape}")
    if W.shape[1] != x.shape[1]:
        raise ValueError(f"{fn}: weight must be (out_channels, in_channels="
                         f"{x.shape[1]}), got shape {W.shape}")
    if bias is not None:
        bias = as_float_array(bias, fn, "bias", ndim=1, layout="(out_channels,)")
        if bias.shape != (W.shape[0],):
            raise ValueError(f"{fn}: bias must have shape ({W.shape[0]},), got "
                             f"{bias.shape}")
    return x, A, W, bias


def gcn_conv_vjp(x: Any, A: Any, weight: Any, bias: Any = None, *,
                 add_self_loops: bool = True, normalize: bool = True,
                 improved: bool = False) -> tuple[np.ndarray, Callable]:
    """GCN layer Y = Â X Wᵀ + b, eq. (eq-gcn-layer), and its VJP, eq. (eq-gcn-backward).

    x: (n, in), A: (n, n) (row = target, weights >= 0), weight: (out, in) (PyG's
    ``lin.weight``), bias: (out,) or None. Â = ``gcn_norm(A)`` if ``normalize``
    else A (+ remaining self-loops if ``add_self_loops``). Returns ``(y, vjp)``
    with ``vjp(dy) -> (dx, None, dW, db)``: no gradient for the graph.
    """
    x, A, W, b = _gcn_inputs(x, A, weight, bias, "gcn_conv")
    if normalize:
        Ahat = gcn_norm(A, add_self_loops, improved)
    else:
        Ahat = _remaining_self_loops(A, 2.0 if improved else 1.0) \
            if add_self_loops else A
    H = x @ W.T                                     # transform, then propagate (PyG)
    y = Ahat @ H
    if b is not None:
        y = y + b

    def vjp(dy):
        dH = Ahat.T @ dy                            # eq-gcn-backward: Âᵀ dY
        dW = dH.T @ x                               # dW = (Âᵀ dY)ᵀ X
        dx = dH @ W                                 # dX = Âᵀ dY W
        db = None if b is None else dy.sum(axis=0)
        return dx, None, dW, db
    return y, vjp


def gcn_conv(x: Any, A: Any, weight: Any, bias: Any = None, **kwargs) -> np.ndarray:
    """GCN layer Y = Â X Wᵀ + b, eq. (eq-gcn-layer); options as ``gcn_conv_vjp``."""
    return gcn_conv_vjp(x, A, weight, bias, **kwargs)[0]


# ---------------------------------------------------------------------- GAT
def gat_conv_vjp(x: Any, A: Any, weight: Any, att_src: Any, att_dst: Any,
                 bias: Any = None, *, heads: int = 1, concat: bool = True,
                 negative_slope: float = 0.2, add_self_loops: bool = True
                 ) -> tuple[np.ndarray, Callable]:
    """Graph attention (``torch_geometric.nn.GATConv``), eq. (eq-gat), and its VJP.

    x: (n, in); A: (n, n) edge *counts* (row = target; a multi-edge counts twice,
    as each copy is a separate term of PyG's softmax); weight: (heads·C, in);
    att_src, att_dst: (1, heads, C); bias: (heads·C,) if ``concat`` else (C,).
    Per head h, with H = x Wᵀ split into heads (n, heads, C)::

        e_ij = LeakyReLU(a_dst·H_i + a_src·H_j),  α_ij = softmax_j over edges j -> i
        y_i = Σ_j α_ij H_j          (concat over heads, or their mean)

    ``add_self_loops``: PyG removes every self-loop and adds one per node. A node
    with no incoming edge gets output 0 (+ bias). Dropout is not implemented.
    ``vjp(dy) -> (dx, None, dW, datt_src, datt_dst, db)``.
    """
    fn = "gat_conv"
    heads = check_int(heads, fn, "heads", minimum=1)
    slope = check_number(negative_slope, fn, "negative_slope")
    A = check_adjacency(A, fn, nonnegative=True)
    x = as_float_array(x, fn, "x", ndim=2, layout="(num_nodes, in_channels)")
    W = as_float_array(weight, fn, "weight", ndim=2,
                       layout="(heads * out_channels, in_channels)")
    n = A.shape[0]
    if x.shape[0] != n:
        raise ValueError(f"{fn}: x must have one row per node: A is {A.shape} but x "
                         f"is {x.shape}")
    if W.shape[1] != x.shape[1] or W.shape[0] % heads:
        raise ValueError(f"{fn}: weight must be (heads * out_channels, "
                         f"in_channels={x.shape[1]}), got shape {W.shape}")
    C = W.shape[0] // heads
    a_s = as_float_array(att_src, fn, "att_src", ndim=3)
    a_d = as_float_array(att_dst, fn, "att_dst", ndim=3)
    for name, a in (("att_src", a_s), ("att_dst", a_d)):
        if a.shape != (1, heads, C):
            raise ValueError(f"{fn}: {name} must have shape (1, {heads}, {C}), got "
                             f"{a.shape}")
    out_dim = heads * C if concat else C
    b = None
    if bias is not None:
        b = as_float_array(bias, fn, "bias", ndim=1)
        if b.shape != (out_dim,):
            raise ValueError(f"{fn}: bias must have shape ({out_dim},), got {b.shape}")
    if add_self_loops:
        A = A.copy()
        A[np.arange(n), np.arange(n)] = 1.0
    edge = A > 0

    H = (x @ W.T).reshape(n, heads, C)
    s_src = np.einsum("nhc,hc->hn", H, a_s[0])       # a_src · H_j   (heads, n)
    s_dst = np.einsum("nhc,hc->hn", H, a_d[0])       # a_dst · H_i
    S = s_dst[:, :, None] + s_src[:, None, :]       # (heads, i, j)
    E = np.where(S > 0, S, slope * S)
    Em = np.where(edge[None], E, -np.inf)
    m = Em.max(axis=2, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    w = A[None] * np.exp(np.where(edge[None], E - m, -np.inf))
    Z = w.sum(axis=2, keepdims=True)
    alpha = w / np.where(Z > 0, Z, 1.0)              # rows without edges stay 0
    Y = np.einsum("hij,jhc->ihc", alpha, H)          # (n, heads, C)
    y = Y.reshape(n, heads * C) if concat else Y.mean(axis=1)
    if b is not None:
        y = y + b

    def vjp(dy):
        dY = dy.reshape(n, heads, C) if concat else \
            np.repeat(dy[:, None, :] / heads, heads, axis=1)
        dH = np.einsum("hij,ihc->jhc", alpha, dY)                # through y = Σ α H
        dalpha = np.einsum("ihc,jhc->hij", dY, H)
        dE = alpha * (dalpha - (alpha * dalpha).sum(axis=2, keepdims=True))
        dS = dE * np.where(S > 0, 1.0, slope)                   # LeakyReLU'
        ds_dst, ds_src = dS.sum(axis=2), dS.sum(axis=1)          # (heads, n)
        dH = dH + ds_src.T[:, :, None] * a_s[0][None] \
            + ds_dst.T[:, :, None] * a_d[0][None]
        datt_src = np.einsum("hn,nhc->hc", ds_src, H)[None]
        datt_dst = np.einsum("hn,nhc->hc", ds_dst, H)[None]
        dHf = dH.reshape(n, heads * C)
        db = None if b is None else dy.sum(axis=0)
        return dHf @ W, None, dHf.T @ x, datt_src, datt_dst, db
    return y, vjp


def gat_conv(x: Any, A: Any, weight: Any, att_src: Any, att_dst: Any,
             bias: Any = None, **kwargs) -> np.ndarray:
    """Graph attention, eq. (eq-gat); arguments as ``gat_conv_vjp``."""
    return gat_conv_vjp(x, A, weight, att_src, att_dst, bias, **kwargs)[0]
