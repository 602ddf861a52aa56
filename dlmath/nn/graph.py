"""Graph layers (Chapter 11): ``GCNConv`` and ``GATConv``, twins of PyTorch Geometric's.

Same parameter names as ``torch_geometric.nn.GCNConv`` (``lin.weight`` (out, in),
``bias``) and ``GATConv`` (``lin.weight``, ``att_src``, ``att_dst``, ``bias``),
same forward signature ``forward(x, edge_index)`` (``GCNConv`` also takes
``edge_weight``), same output; the math is dense (``dlmath.functional.graph``).
Options PyG has and these layers do not implement (``cached``, GAT's dropout and
``edge_dim``, ``residual``, bipartite inputs) are refused by name.
"""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .._validate import check_int
from ..functional.graph import gcn_adjacency
from ..graph import check_edge_index, to_dense_adj
from . import init
from .module import Module

__all__ = ["GCNConv", "GATConv"]


def _glorot(shape, fan_in, fan_out, rng):
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return init.uniform_(np.empty(shape), -bound, bound, rng)


class GCNConv(Module):
    """Y = D̃^-1/2 Ã D̃^-1/2 X Wᵀ + b (eq-gcn-layer), like ``torch_geometric.nn.GCNConv``.

    ``forward(x, edge_index, edge_weight=None)``: x (n, in_channels), edge_index
    (2, E) ints (sources; targets), edge_weight (E,) >= 0 or None. Self-loops
    follow PyG's ``add_remaining_self_loops`` (``functional.gcn_adjacency``).
    ``backward(dy)`` returns dx and fills ``grads["lin.weight"]``, ``grads["bias"]``
    (no gradient for ``edge_weight``). Glorot-uniform init of ``lin.weight``, zero
    bias, as PyG. Two behaviours of PyG 2.8.1 are mirrored, not fixed: with
    ``edge_weight=None`` the ``improved`` self-loop weight 2 is never used (the
    loops get weight 1), and ``normalize=False`` adds no self-loops at all.
    """

    def __init__(self, in_channels: int, out_channels: int, improved: bool = False,
                 cached: bool = False, add_self_loops: bool = True,
                 normalize: bool = True, bias: bool = True, rng=None):
        super().__init__()
        fn = "GCNConv"
        self.in_channels = check_int(in_channels, fn, "in_channels", minimum=1)
        self.out_channels = check_int(out_channels, fn, "out_channels", minimum=1)
        if cached:
            raise ValueError("GCNConv: cached=True is not implemented (the dense "
                             "normalization is recomputed every call)")
        self.improved, self.add_self_loops = bool(improved), bool(add_self_loops)
        self.normalize = bool(normalize)
        if bias:
            self._params["bias"] = np.zeros(out_channels)
        self._params["lin.weight"] = _glorot((out_channels, in_channels),
                                             in_channels, out_channels, rng)

    @classmethod
    def from_torch(cls, module) -> "GCNConv":
        """The twin of a ``torch_geometric.nn.GCNConv`` (parameters copied as float64).
        """
        if getattr(module, "cached", False):
            raise ValueError("GCNConv.from_torch: cached=True is not implemented")
        layer = cls(module.in_channels, module.out_channels, improved=module.improved,
                    add_self_loops=module.add_self_loops, normalize=module.normalize,
                    bias=module.bias is not None)
        return layer._load_torch(module)

    def forward(self, x, edge_index, edge_weight=None):
        x = self._input(x, ndim=2, layout="(num_nodes, in_channels)")
        n = x.shape[0]
        ei = check_edge_index(edge_index, n, "GCNConv")
        if edge_weight is not None and np.any(np.asarray(edge_weight) < 0):
            raise ValueError("GCNConv: edge_weight must be >= 0 (the normalization "
                             "takes square roots of degrees)")
        # PyG 2.8.1 quirks, mirrored: the improved fill value 2 reaches the graph only
        # with edge weights given, and normalize=False skips the self-loops too.
        fill = 2.0 if self.improved and edge_weight is not None else 1.0
        A = gcn_adjacency(ei, n, edge_weight, fill_value=fill,
                          add_self_loops=self.add_self_loops and self.normalize)
        y, vjp = F.gcn_conv_vjp(x, A, self._params["lin.weight"],
                                self._params.get("bias"), add_self_loops=False,
                                normalize=self.normalize)

        def backward(dy):                              # eq-gcn-backward
            dx, _, dW, db = vjp(dy)
            grads = {"lin.weight": dW}
            if db is not None:
                grads["bias"] = db
            return (dx,), grads
        return self._save(y, backward)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}"


class GATConv(Module):
    """Graph attention (eq-gat), like ``torch_geometric.nn.GATConv`` with dropout 0.

    ``forward(x, edge_index)``: x (n, in_channels), edge_index (2, E) ints.
    Params ``lin.weight`` (heads·out, in), ``att_src``, ``att_dst`` (1, heads, out),
    ``bias`` (heads·out if concat else out). ``backward(dy)`` returns dx.
    """

    def __init__(self, in_channels: int, out_channels: int, heads: int = 1,
                 concat: bool = True, negative_slope: float = 0.2,
                 dropout: float = 0.0, add_self_loops: bool = True,
                 bias: bool = True, rng=None):
        super().__init__()
        fn = "GATConv"
        self.in_channels = check_int(in_channels, fn, "in_channels", minimum=1)
        self.out_channels = check_int(out_channels, fn, "out_channels", minimum=1)
        self.heads = check_int(heads, fn, "heads", minimum=1)
        if dropout != 0:
            raise ValueError(f"GATConv: dropout={dropout} is not implemented (only 0)")
        self.concat, self.negative_slope = bool(concat), float(negative_slope)
        self.add_self_loops = bool(add_self_loops)
        H, C = self.heads, self.out_channels
        self._params["att_src"] = _glorot((1, H, C), H, C, rng)
        self._params["att_dst"] = _glorot((1, H, C), H, C, rng)
        if bias:
            self._params["bias"] = np.zeros(H * C if concat else C)
        self._params["lin.weight"] = _glorot((H * C, in_channels), in_channels, H * C,
                                             rng)

    @classmethod
    def from_torch(cls, module) -> "GATConv":
        """The twin of a ``torch_geometric.nn.GATConv`` (parameters copied as float64).
        """
        if not isinstance(module.in_channels, int):
            raise ValueError("GATConv.from_torch: bipartite (tuple) in_channels are "
                             "not implemented")
        for opt in ("lin_edge", "res"):
            if getattr(module, opt, None) is not None:
                raise ValueError(f"GATConv.from_torch: {opt} (edge_dim / residual) is "
                                 f"not implemented")
        layer = cls(module.in_channels, module.out_channels, heads=module.heads,
                    concat=module.concat, negative_slope=module.negative_slope,
                    dropout=module.dropout, add_self_loops=module.add_self_loops,
                    bias=module.bias is not None)
        return layer._load_torch(module)

    def forward(self, x, edge_index):
        x = self._input(x, ndim=2, layout="(num_nodes, in_channels)")
        n = x.shape[0]
        ei = check_edge_index(edge_index, n, "GATConv")
        A = to_dense_adj(ei, n)                         # edge counts, row = target
        p = self._params
        y, vjp = F.gat_conv_vjp(x, A, p["lin.weight"], p["att_src"], p["att_dst"],
                                p.get("bias"), heads=self.heads, concat=self.concat,
                                negative_slope=self.negative_slope,
                                add_self_loops=self.add_self_loops)

        def backward(dy):
            dx, _, dW, das, dad, db = vjp(dy)
            grads = {"lin.weight": dW, "att_src": das, "att_dst": dad}
            if db is not None:
                grads["bias"] = db
            return (dx,), grads
        return self._save(y, backward)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, heads={self.heads}"
