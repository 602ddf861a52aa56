"""dlmath.graph, functional.graph and nn.graph against PyTorch Geometric and torch
(float64), on graphs that hypothesis draws: self-loops, isolated nodes and
multi-edges included; and the errors that bad graphs get."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dlmath
from dlmath import functional as F
from dlmath import graph as G
from dlmath.check import assert_close, check_layer, check_vjp, to_torch

pyg = pytest.importorskip("torch_geometric")
from torch_geometric.nn import GATConv, GCNConv  # noqa: E402
from torch_geometric.nn.conv.gcn_conv import gcn_norm as pyg_gcn_norm  # noqa: E402
from torch_geometric.utils import get_laplacian, to_dense_adj  # noqa: E402

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def graphs(draw, max_nodes=7, max_edges=16, loops=True):
    """(num_nodes, edge_index): random directed multigraph; self-loops optional;
    nodes with no edge (isolated) come up whenever the edges miss them."""
    n = draw(st.integers(1, max_nodes))
    E = draw(st.integers(0, max_edges))
    src = draw(st.lists(st.integers(0, n - 1), min_size=E, max_size=E))
    dst = draw(st.lists(st.integers(0, n - 1), min_size=E, max_size=E))
    ei = np.array([src, dst], dtype=np.int64).reshape(2, E)
    if not loops:
        ei = ei[:, ei[0] != ei[1]]
    return n, ei


def _undirected(ei):
    return np.concatenate([ei, ei[::-1]], axis=1)


# ---------------------------------------------------------------------- matrices
@SETTINGS
@given(graphs(), st.integers(0, 2 ** 16))
def test_to_dense_adj_matches_pyg(graph, seed):
    n, ei = graph
    w = np.random.default_rng(seed).random(ei.shape[1])
    ref = to_dense_adj(torch.as_tensor(ei), edge_attr=torch.as_tensor(w),
                       max_num_nodes=n)[0]
    # PyG's dense matrix is row = source; ours is row = target (A @ X aggregates)
    assert_close(G.to_dense_adj(ei, n, w), ref.T, rtol=1e-12, atol=1e-14,
                 name="to_dense_adj", against="torch_geometric", verbose=False)


@SETTINGS
@given(graphs(loops=False), st.integers(0, 2 ** 16),
       st.sampled_from([None, "sym", "rw"]))
def test_laplacian_matches_pyg_and_is_psd(graph, seed, norm):
    n, ei = graph
    ei = _undirected(ei)
    w = np.random.default_rng(seed).random(ei.shape[1] // 2)
    w = np.concatenate([w, w])
    A = G.to_dense_adj(ei, n, w)
    L = G.laplacian(A, norm)
    lei, lw = get_laplacian(torch.as_tensor(ei), torch.as_tensor(w),
                            normalization=norm, num_nodes=n)
    # PyG's dense layout is row = source; D^-1 A divides row i by the degree of i in
    # both (A is symmetric), so no transpose here
    ref = to_dense_adj(lei, edge_attr=lw, max_num_nodes=n)[0]
    assert_close(L, ref, rtol=1e-10, atol=1e-12, name=f"laplacian({norm})",
                 against="torch_geometric.utils.get_laplacian", verbose=False)
    if norm != "rw":
        ev = torch.linalg.eigvalsh(to_torch(L))
        assert float(ev.min()) > -1e-10, "a Laplacian is positive semidefinite"


@SETTINGS
@given(graphs(loops=False))
def test_zero_eigenvalues_count_components(graph):
    n, ei = graph
    A = G.to_dense_adj(_undirected(ei), n)
    ev = torch.linalg.eigvalsh(to_torch(G.laplacian(A)))
    assert int((ev.abs() < 1e-9).sum()) == G.num_components(A)


def test_sbm_and_spectral_clustering_recover_blocks():
    A, labels = G.sbm([30, 30, 30], 0.3, 0.02, np.random.default_rng(0))
    assert np.array_equal(A, A.T) and np.all(np.diag(A) == 0)
    pred = G.spectral_clustering(A, 3, np.random.default_rng(1))
    assert G.cluster_accuracy(pred, labels) > 0.95


# ---------------------------------------------------------------------- GCN
@SETTINGS
@given(graphs(), st.integers(0, 2 ** 16), st.booleans(), st.booleans())
def test_gcn_norm_matches_pyg(graph, seed, weighted, add_loops):
    n, ei = graph
    if weighted:
        w = np.random.default_rng(seed).random(ei.shape[1]) + 0.05
        # duplicated weighted self-loops: PyG keeps "the last one" through a scatter
        # whose order torch does not promise; keep one loop per node
        loops = np.nonzero(ei[0] == ei[1])[0]
        _, first = np.unique(ei[0, loops], return_index=True)
        keep = np.ones(ei.shape[1], bool)
        keep[np.setdiff1d(loops, loops[first])] = False
        ei, w = ei[:, keep], w[keep]
    else:
        w = None
    A = F.gcn_adjacency(ei, n, w, add_self_loops=add_loops)
    mine = F.gcn_norm(A, add_self_loops=False)
    ref_ei, ref_w = pyg_gcn_norm(torch.as_tensor(ei),
                                 None if w is None else torch.as_tensor(w),
                                 num_nodes=n, add_self_loops=add_loops,
                                 dtype=torch.float64)
    ref = to_dense_adj(ref_ei, edge_attr=ref_w, max_num_nodes=n)[0].T
    assert_close(mine, ref, rtol=1e-12, atol=1e-14, name="gcn_norm",
                 against="torch_geometric gcn_norm", verbose=False)


@SETTINGS
@given(graphs(), st.integers(0, 2 ** 16), st.integers(1, 4), st.integers(1, 4),
       st.sampled_from([{}, {"add_self_loops": False}, {"bias": False},
                        {"normalize": False}, {"improved": True}]))
def test_gcnconv_forward_backward_match_pyg(graph, seed, cin, cout, kw):
    n, ei = graph
    x = np.random.default_rng(seed).standard_normal((n, cin))
    torch.manual_seed(seed)
    m = GCNConv(cin, cout, **kw).double()
    with torch.no_grad():
        if m.bias is not None:
            m.bias.normal_()
    check_layer(dlmath.nn.from_torch(m), m, x, ei, rtol=1e-10, atol=1e-12,
                verbose=False)


@SETTINGS
@given(graphs(), st.integers(0, 2 ** 16), st.booleans())
def test_gcnconv_with_edge_weights_matches_pyg(graph, seed, improved):
    n, ei = graph
    g = np.random.default_rng(seed)
    # one self-loop per node at most: PyG keeps "the last" of duplicated weighted
    # loops through a scatter whose order torch does not promise
    loops = np.nonzero(ei[0] == ei[1])[0]
    _, first = np.unique(ei[0, loops], return_index=True)
    keep = np.ones(ei.shape[1], bool)
    keep[np.setdiff1d(loops, loops[first])] = False
    ei = ei[:, keep]
    w, x = g.uniform(0.05, 3.0, ei.shape[1]), g.standard_normal((n, 3))
    torch.manual_seed(seed)
    m = GCNConv(3, 2, improved=improved).double()
    check_layer(dlmath.nn.from_torch(m), m, x, ei, w, rtol=1e-10, atol=1e-12,
                verbose=False)


@SETTINGS
@given(graphs(), st.integers(0, 2 ** 16))
def test_gcn_conv_vjp_matches_autograd(graph, seed):
    n, ei = graph
    g = np.random.default_rng(seed)
    A = G.to_dense_adj(ei, n, g.random(ei.shape[1]))
    x, W, b = g.standard_normal((n, 3)), g.standard_normal((2, 3)), g.standard_normal(2)
    Ahat = to_torch(F.gcn_norm(A))

    def mine(x, W, b):
        y, vjp = F.gcn_conv_vjp(x, A, W, b)

        def vjp3(dy):
            dx, dA, dW, db = vjp(dy)
            assert dA is None
            return dx, dW, db
        return y, vjp3

    check_vjp(mine, lambda x, W, b: Ahat @ x @ W.T + b, [x, W, b], rtol=1e-10,
              atol=1e-12, name="gcn_conv", against="torch", seed=seed, verbose=False)


@SETTINGS
@given(graphs(max_nodes=6), st.integers(0, 2 ** 16))
def test_gcn_is_permutation_equivariant(graph, seed):
    n, ei = graph
    g = np.random.default_rng(seed)
    A = G.to_dense_adj(ei, n)
    x, W = g.standard_normal((n, 3)), g.standard_normal((2, 3))
    P = np.eye(n)[g.permutation(n)]
    assert_close(F.gcn_conv(P @ x, P @ A @ P.T, W), P @ F.gcn_conv(x, A, W),
                 rtol=1e-10, atol=1e-12, verbose=False)


# ---------------------------------------------------------------------- GAT
@SETTINGS
@given(graphs(), st.integers(0, 2 ** 16), st.integers(1, 3),
       st.sampled_from([{}, {"concat": False}, {"add_self_loops": False},
                        {"bias": False, "negative_slope": 0.05}]))
def test_gatconv_forward_backward_match_pyg(graph, seed, heads, kw):
    n, ei = graph
    x = np.random.default_rng(seed).standard_normal((n, 3))
    torch.manual_seed(seed)
    m = GATConv(3, 2, heads=heads, **kw).double()
    check_layer(dlmath.nn.from_torch(m), m, x, ei, rtol=1e-10, atol=1e-12,
                verbose=False)


# ---------------------------------------------------------------------- bad input
GOOD_EI = np.array([[0, 1], [1, 2]])


@pytest.mark.parametrize("A, err, msg", [
    (np.ones((3, 4)), ValueError, "square"),
    (np.array([[0, 1.0], [0, 0]]), ValueError, "symmetric"),
    (np.array([[0, -1.0], [-1, 0]]), ValueError, "non-negative"),
    (np.ones((2, 2, 2)), ValueError, "2 dims"),
    (np.array([["a", "b"], ["c", "d"]]), TypeError, "real numbers"),
])
def test_laplacian_rejects_bad_adjacency(A, err, msg):
    with pytest.raises(err, match=msg):
        G.laplacian(A)


@pytest.mark.parametrize("ei, err, msg", [
    (np.array([[0, 3], [1, 2]]), ValueError, r"\[0, num_nodes=3\)"),
    (np.array([[0, -1], [1, 2]]), ValueError, r"\[0, num_nodes=3\)"),
    (np.array([[0.0, 1.0], [1.0, 2.0]]), TypeError, "integers"),
    (np.array([0, 1, 2]), ValueError, r"\(2, E\)"),
    (np.array([[0, 1], [1, 2], [2, 0]]), ValueError, r"\(2, E\)"),
    (torch.tensor([[0, 1], [1, 2]]), TypeError, "numpy"),
])
def test_edge_index_errors(ei, err, msg):
    with pytest.raises(err, match=msg):
        G.to_dense_adj(ei, 3)
    with pytest.raises(err, match=msg):
        dlmath.nn.GCNConv(2, 2)(np.ones((3, 2)), ei)


def test_gcn_bad_inputs():
    A = np.ones((3, 3))
    with pytest.raises(ValueError, match="one row per node: A is \\(3, 3\\) but x is "
                                         "\\(4, 2\\)"):
        F.gcn_conv(np.ones((4, 2)), A, np.ones((5, 2)))
    with pytest.raises(ValueError, match="non-negative"):
        F.gcn_conv(np.ones((3, 2)), -A, np.ones((5, 2)))
    with pytest.raises(ValueError, match="square"):
        F.gcn_norm(np.ones((3, 2)))
    with pytest.raises(ValueError, match="in_channels=2"):
        F.gcn_conv(np.ones((3, 2)), A, np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"edge_weight must be >= 0"):
        dlmath.nn.GCNConv(2, 2)(np.ones((3, 2)), GOOD_EI, np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match=r"one weight per edge"):
        dlmath.nn.GCNConv(2, 2)(np.ones((3, 2)), GOOD_EI, np.array([1.0]))
    with pytest.raises(ValueError, match="cached"):
        dlmath.nn.GCNConv(2, 2, cached=True)
    with pytest.raises(ValueError, match="dropout"):
        dlmath.nn.GATConv(2, 2, dropout=0.5)
    with pytest.raises(ValueError, match="one row per node"):
        F.gat_conv(np.ones((4, 2)), A, np.ones((2, 2)), np.ones((1, 1, 2)),
                   np.ones((1, 1, 2)))
    with pytest.raises(ValueError, match="att_src must have shape"):
        F.gat_conv(np.ones((3, 2)), A, np.ones((4, 2)), np.ones((1, 1, 2)),
                   np.ones((1, 2, 2)), heads=2)
    with pytest.raises(ValueError, match="probability"):
        G.sbm([3, 3], 1.5, 0.1, np.random.default_rng(0))
