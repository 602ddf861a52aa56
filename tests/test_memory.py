"""dlmath.memory's formulas against what torch allocates and saves; bad input."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.checkpoint import checkpoint_sequential

from dlmath import memory as M


def _saved(run, params):
    skip = {p.data_ptr() for p in params}
    seen = {}

    def pack(t):
        if t.data_ptr() not in skip:
            seen[(t.data_ptr(), t.numel(), t.dtype)] = t.numel()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        run()
    return sum(seen.values())


@settings(max_examples=15, deadline=None)
@given(widths=st.lists(st.integers(1, 20), min_size=2, max_size=5),
       N=st.integers(1, 6))
def test_mlp_params_and_saved_activations(widths, N):
    mlp = torch.nn.Sequential(*[m for a, b in zip(widths, widths[1:])
                                for m in (torch.nn.Linear(a, b), torch.nn.Tanh())])
    assert M.mlp_num_params(widths) == sum(p.numel() for p in mlp.parameters())
    x = torch.randn(N, widths[0], requires_grad=True)
    assert _saved(lambda: mlp(x), mlp.parameters()) == M.mlp_activation_values(N,
                                                                             widths)


@settings(max_examples=8, deadline=None)
@given(d=st.sampled_from([8, 12, 16]), H=st.sampled_from([1, 2, 4]),
       N=st.integers(1, 3), n=st.integers(2, 9),
       act=st.sampled_from(["gelu", "relu"]))
def test_block_params_and_saved_activations_on_cpu(d, H, N, n, act):
    block = torch.nn.TransformerEncoderLayer(d, H, 4 * d, dropout=0.0, activation=act,
                                             batch_first=True, norm_first=True)
    block = block.double()
    assert M.block_num_params(d, 4 * d) == sum(p.numel() for p in block.parameters())
    x = torch.randn(N, n, d, dtype=torch.float64, requires_grad=True)
    mask = torch.triu(torch.ones(n, n, dtype=torch.bool), 1)
    assert _saved(lambda: block(x, src_mask=mask), block.parameters()) == \
        M.block_activation_values(N, n, d, H, activation=act)


@pytest.mark.parametrize("k", [1, 2, 3, 6])
def test_checkpoint_sequential_keeps_k_plus_L_over_k(k):
    L, d, N = 6, 5, 4
    deep = torch.nn.Sequential(*[m for _ in range(L)
                                 for m in (torch.nn.Linear(d, d), torch.nn.Tanh())])
    x = torch.randn(N, d, requires_grad=True)
    got = _saved(lambda: checkpoint_sequential(deep, k, x, use_reentrant=False),
                 deep.parameters())
    assert got == M.checkpoint_activation_values(N, d, L, k)


def test_zero_arithmetic():
    P = 1000
    full = sum(M.zero_bytes_per_worker(P, 4, 0).values())
    assert full == 16 * P
    assert sum(M.zero_bytes_per_worker(P, 4, 3).values()) == full / 4
    assert M.zero_bytes_per_worker(P, 4, 1)["optimizer"] == 12 * P / 4
    assert M.comm_values_per_step(P, 1, 0) == 0
    assert M.comm_values_per_step(P, 4, 3) == 1.5 * M.comm_values_per_step(P, 4, 2)
    r = M.memory_report(8, 64, 2, 16, "float32", 2, 0)
    assert r["parameters"] == 2 * M.block_num_params(64, 256)


def test_memory_refuses_bad_input():
    with pytest.raises(ValueError, match="p \\(world size\\) must be >= 1"):
        M.zero_bytes_per_worker(10, 0, 0)
    with pytest.raises(ValueError, match="stage must be 0, 1, 2 or 3"):
        M.zero_bytes_per_worker(10, 2, 4)
    with pytest.raises(ValueError, match="fmt must be one of"):
        M.zero_bytes_per_worker(10, 2, 0, "int4")
    with pytest.raises(ValueError, match="must divide"):
        M.checkpoint_activation_values(1, 1, 5, 2)
    with pytest.raises(ValueError, match="does not split"):
        M.memory_report(7, 64, 2, 16, "float32", 2, 0)
    with pytest.raises(ValueError, match="need >= 2 widths"):
        M.mlp_num_params([3])
