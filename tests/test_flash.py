"""dlmath.flash (online softmax, tiled attention forward/backward, merging) and
dlmath.kvcache against torch in float64, for all shapes and block sizes; bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmath import flash, kvcache
from dlmath.check import assert_close
from tests.strategies import float_arrays

sdpa = torch.nn.functional.scaled_dot_product_attention


@settings(max_examples=40, deadline=None)
@given(x=float_arrays(st.tuples(st.integers(1, 4), st.integers(1, 40)), -300, 300),
       block=st.integers(1, 50))
def test_online_softmax_stats_give_the_logsumexp_for_any_block(x, block):
    m, l = flash.online_softmax_stats(x, block)
    assert_close(m, x.max(-1), rtol=0, atol=0, verbose=False)
    assert_close(m + np.log(l), torch.logsumexp(torch.tensor(x), -1), rtol=1e-12,
                 atol=1e-12, verbose=False)


@settings(max_examples=30, deadline=None)
@given(L=st.integers(1, 20), S=st.integers(1, 20), d=st.integers(1, 6),
       bk=st.integers(1, 25), bq=st.integers(1, 25), causal=st.booleans(),
       seed=st.integers(0, 2**16))
def test_tiled_attention_and_its_vjp_equal_torch_sdpa(L, S, d, bk, bq, causal, seed):
    g = np.random.default_rng(seed)
    q, dy = g.standard_normal((2, L, d)) * 3, g.standard_normal((2, L, d))
    k, v = g.standard_normal((2, S, d)) * 3, g.standard_normal((2, S, d))
    y, vjp = flash.tiled_attention_vjp(q, k, v, bk, block_q=bq, is_causal=causal)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    ty = sdpa(tq, tk, tv, is_causal=causal)
    ty.backward(torch.tensor(dy))
    # torch gives NaN for a query row that sees no key (causal, L > S); we give 0
    ok = ~torch.isnan(ty).any(-1).numpy()
    assert_close(y[ok], ty.detach().numpy()[ok], rtol=1e-12, atol=1e-12,
                 verbose=False)
    if ok.all():
        for a, t in zip(vjp(dy), (tq, tk, tv)):
            assert_close(a, t.grad, rtol=1e-10, atol=1e-12, verbose=False)
    assert_close(flash.tiled_attention(q, k, v, bk, block_q=bq, is_causal=causal)[0],
                 y, rtol=0, atol=0, verbose=False)


@settings(max_examples=20, deadline=None)
@given(S1=st.integers(1, 8), S2=st.integers(1, 8), seed=st.integers(0, 2**16))
def test_merge_attention_equals_attention_over_all_keys(S1, S2, seed):
    g = np.random.default_rng(seed)
    q = g.standard_normal((3, 4)) * 10
    k, v = g.standard_normal((S1 + S2, 4)), g.standard_normal((S1 + S2, 2))
    y1, l1 = flash.tiled_attention(q, k[:S1], v[:S1], 3)
    y2, l2 = flash.tiled_attention(q, k[S1:], v[S1:], 3)
    y, lse = flash.merge_attention(y1, l1, y2, l2)
    tq, tk = torch.tensor(q), torch.tensor(k)
    assert_close(y, sdpa(tq, tk, torch.tensor(v)), rtol=1e-12, atol=1e-12,
                 verbose=False)
    assert_close(lse, torch.logsumexp(tq @ tk.T / 2.0, -1), rtol=1e-12, atol=1e-12,
                 verbose=False)


def test_flash_refuses_bad_input():
    q = np.zeros((2, 3, 4))
    for bad in (0, -1):
        with pytest.raises(ValueError, match="block_size must be a positive int"):
            flash.tiled_attention(q, q, q, bad)
        with pytest.raises(ValueError, match="block_size must be a positive int"):
            flash.online_softmax_stats(q, bad)
    with pytest.raises(ValueError, match="block_q must be a positive int"):
        flash.tiled_attention(q, q, q, 2, block_q=0)
    with pytest.raises(TypeError, match="block_size must be an int"):
        flash.tiled_attention(q, q, q, 2.0)
    with pytest.raises(ValueError, match="same head dimension"):
        flash.tiled_attention(q, np.zeros((2, 3, 5)), q)
    with pytest.raises(ValueError, match="same length"):
        flash.tiled_attention(q, q, np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="leading"):
        flash.tiled_attention(q, np.zeros((1, 3, 4)), np.zeros((1, 3, 4)))
    with pytest.raises(TypeError, match="torch.Tensor"):
        flash.tiled_attention(torch.zeros(2, 3, 4), q, q)
    y, vjp = flash.tiled_attention_vjp(q, q, q)
    with pytest.raises(ValueError, match="dy must have the output's shape"):
        vjp(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="y1, y2"):
        flash.merge_attention(q, np.zeros((2, 3)), q, np.zeros((2, 4)))


def test_kv_cache_decoding_equals_recomputation_and_the_torch_model():
    torch.manual_seed(0)
    gpt = kvcache.TinyGPT(vocab=11, context=20, width=8, heads=2, layers=2).double()
    gpt.eval()
    dec = kvcache.GPTDecoder(gpt)
    idx = np.random.default_rng(0).integers(0, 11, 20)
    with torch.no_grad():
        ref = gpt(torch.tensor(idx)[None])[0]
    assert_close(dec.logits(idx), ref, rtol=1e-10, atol=1e-12, verbose=False)
    assert_close(np.stack([dec.step(t) for t in idx]), ref, rtol=1e-10, atol=1e-12,
                 verbose=False)
    assert dec.cache_bytes() == kvcache.kv_cache_bytes(20, 2, 2, 4, 8)
    with pytest.raises(ValueError, match="context of 20 positions is full"):
        dec.step(0)
    with pytest.raises(ValueError, match="token ids must be in"):
        dec.logits(np.array([0, 11]))
    with pytest.raises(ValueError, match="kv_heads must be >= 1"):
        kvcache.kv_cache_bytes(8, 2, 0, 4)
