"""Attention (Chapter 9) against torch in float64: SDPA and its VJP, positional
encodings, MultiheadAttention and TransformerEncoderLayer; their bad-input errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import dlmath
from dlmath import functional as F
from dlmath import nn
from dlmath.check import assert_close, check_layer, check_vjp, to_torch

TOL = dict(rtol=1e-10, atol=1e-12)
finite = st.floats(-3, 3, allow_nan=False, allow_infinity=False, width=64)


def _sdpa_torch(mask=None, **kw):
    m = None if mask is None else to_torch(mask)
    return lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=m, **kw)


@st.composite
def attention_inputs(draw):
    """q (..., L, E), k (..., S, E), v (..., S, Ev) with 0-2 broadcasting lead dims,
    values drawn by hypothesis, and a mask: none, bool, float, or causal."""
    nb = draw(st.integers(0, 2))
    batch = tuple(draw(st.lists(st.integers(1, 3), min_size=nb, max_size=nb)))
    L, S, E, Ev = (draw(st.integers(1, 6)) for _ in range(4))

    def lead():                                   # each input may broadcast a batch dim
        return tuple(1 if draw(st.booleans()) else n for n in batch)
    q = draw(arrays(np.float64, lead() + (L, E), elements=finite))
    k = draw(arrays(np.float64, lead() + (S, E), elements=finite))
    v = draw(arrays(np.float64, lead() + (S, Ev), elements=finite))
    kind = draw(st.sampled_from(["none", "bool", "float", "causal"]))
    out = np.broadcast_shapes(q.shape[:-2], k.shape[:-2])      # the scores q kᵀ
    mshape = draw(st.sampled_from([(L, S), out + (L, S), (1, S)]))
    mask = None
    if kind == "bool":                            # may leave whole rows masked
        mask = draw(arrays(np.bool_, mshape))
    elif kind == "float":
        mask = draw(arrays(np.float64, mshape, elements=st.one_of(
            finite, st.just(-np.inf))))
    scale = draw(st.one_of(st.none(), st.floats(0.05, 2.0)))
    return q, k, v, mask, kind == "causal", scale


@settings(max_examples=60, deadline=None)
@given(attention_inputs())
def test_sdpa_and_vjp_match_torch(args):
    q, k, v, mask, causal, scale = args
    check_vjp(lambda q, k, v: F.scaled_dot_product_attention_vjp(q, k, v, mask,
                                                                 causal, scale),
              _sdpa_torch(mask, is_causal=causal, scale=scale), [q, k, v], **TOL,
              name="sdpa", against="torch", verbose=False)
    y = F.scaled_dot_product_attention(q, k, v, mask, causal, scale)
    assert y.shape == np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2]) + \
        (q.shape[-2], v.shape[-1])


def test_sdpa_vjp_returns_none_for_the_mask(g):
    q, k, v = g.standard_normal((3, 4, 2)), g.standard_normal((3, 5, 2)), \
        g.standard_normal((3, 5, 3))
    y, vjp = F.scaled_dot_product_attention_vjp(q, k, v, g.random((4, 5)) > 0.5)
    grads = vjp(np.ones_like(y))
    assert len(grads) == 4 and grads[3] is None


def test_fully_masked_rows_give_zeros_like_torch(g, t):
    """Decision: a query with no key to attend gets weights 0, output 0, zero gradients,
    and never NaN, as torch's scaled_dot_product_attention (>= 2.5) does."""
    q, k, v = g.standard_normal((2, 4, 3)), g.standard_normal((2, 5, 3)), \
        g.standard_normal((2, 5, 2))
    for mask in (np.ones((4, 5), bool), np.zeros((4, 5))):
        if mask.dtype == bool:
            mask[1] = False
        else:
            mask[1] = -np.inf
        y, vjp = F.scaled_dot_product_attention_vjp(q, k, v, mask)
        assert np.all(y[:, 1] == 0) and np.isfinite(y).all()
        dq, dk, dv, _ = vjp(np.ones_like(y))
        assert np.all(dq[:, 1] == 0)
        qt, kt, vt = (t(a, requires_grad=True) for a in (q, k, v))
        yt = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt,
                                                              to_torch(mask))
        assert_close(y, yt, **TOL, verbose=False)
        ref = torch.autograd.grad(yt, (qt, kt, vt), torch.ones_like(yt))
        for mine, r in zip((dq, dk, dv), ref):
            assert_close(mine, r, **TOL, verbose=False)


def test_float32_stays_float32(g):
    q = g.standard_normal((2, 3, 4)).astype(np.float32)
    y, vjp = F.scaled_dot_product_attention_vjp(q, q, q)
    assert y.dtype == np.float32 and all(d.dtype == np.float32 for d in vjp(y)[:3])


@pytest.mark.parametrize("call, match", [
    (lambda g: F.scaled_dot_product_attention(g((2, 3, 4)), g((2, 5, 3)), g((2, 5, 4))),
     "same head dimension"),
    (lambda g: F.scaled_dot_product_attention(g((2, 3, 4)), g((2, 5, 4)), g((2, 6, 4))),
     "same length S"),
    (lambda g: F.scaled_dot_product_attention(g((3,)), g((2, 3)), g((2, 3))),
     "at least 2 dims"),
    (lambda g: F.scaled_dot_product_attention(g((2, 3, 4)), g((3, 5, 4)), g((3, 5, 4))),
     "do not broadcast"),
    (lambda g: F.scaled_dot_product_attention(g((3, 4)), g((5, 4)), g((5, 4)),
                                              attn_mask=np.ones((5, 3), bool)),
     r"attn_mask must broadcast to the scores' shape"),
    (lambda g: F.scaled_dot_product_attention(g((3, 4)), g((5, 4)), g((5, 4)),
                                              attn_mask=np.ones((2, 3, 5), bool)),
     r"attn_mask must broadcast"),
    (lambda g: F.scaled_dot_product_attention(g((3, 4)), g((3, 4)), g((3, 4)),
                                              attn_mask=np.ones((3, 3), bool),
                                              is_causal=True), "not both"),
    (lambda g: F.sinusoidal_positional_encoding(4, 5), "must be even"),
    (lambda g: F.rotary_embedding(g((4, 5))), "must be even"),
    (lambda g: F.rotary_embedding(g((4, 6)), positions=np.arange(3)),
     "positions must be"),
])
def test_sdpa_bad_input_value_errors(g, call, match):
    with pytest.raises(ValueError, match=match):
        call(g.standard_normal)


def test_mask_must_broadcast_to_the_scores_not_beyond(g):
    """Like torch, the mask may not add batch dims that only the values have."""
    x = g.standard_normal((1, 3, 2))
    with pytest.raises(ValueError, match=r"scores' shape .* = \(1, 3, 3\)"):
        F.scaled_dot_product_attention(x, x, g.standard_normal((4, 3, 2)),
                                       attn_mask=np.ones((4, 3, 3), bool))


def test_sdpa_bad_input_type_errors(g):
    x = g.standard_normal((3, 4))
    with pytest.raises(TypeError, match="attn_mask must be bool .* or float"):
        F.scaled_dot_product_attention(x, x, x, attn_mask=np.ones((3, 3), np.int64))
    with pytest.raises(TypeError, match="query must hold real numbers"):
        F.scaled_dot_product_attention(x.astype(complex), x, x)
    with pytest.raises(TypeError, match="numpy array, got a torch.Tensor"):
        F.scaled_dot_product_attention(torch.zeros(3, 4), x, x)


# --------------------------------------------------------------------------- positions
def test_sinusoidal_encoding_matches_its_formula_in_torch():
    n, d = 50, 16
    p = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(0, d, 2, dtype=torch.float64)
    ang = p / 10000.0 ** (i / d)
    ref = torch.stack([ang.sin(), ang.cos()], dim=-1).reshape(n, d)   # interleaved
    assert_close(F.sinusoidal_positional_encoding(n, d), ref, **TOL, verbose=False)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), half=st.integers(1, 8), k=st.integers(-20, 20))
def test_a_shift_of_positions_is_a_rotation(n, half, k):
    """PE[p + k] = R_k PE[p], R_k block-diagonal with 2x2 rotations by k θ_i."""
    d = 2 * half
    pe = F.sinusoidal_positional_encoding(n + 40, d)
    theta = 10000.0 ** (-np.arange(0, d, 2) / d)
    R = np.zeros((d, d))
    for i, th in enumerate(theta):
        c, s = np.cos(k * th), np.sin(k * th)
        R[2 * i:2 * i + 2, 2 * i:2 * i + 2] = [[c, s], [-s, c]]
    p = np.arange(20, 20 + n)
    assert_close(pe[p] @ R.T, pe[p + k], rtol=1e-9, atol=1e-9, verbose=False)


@settings(max_examples=25, deadline=None)
@given(x=arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 7),
                                       st.sampled_from([2, 4, 8])), elements=finite))
def test_rotary_matches_complex_rotation_in_torch(x):
    """RoPE as complex multiplication (LLaMA's form): (x_2i + i x_2i+1) e^{i p θ_i}."""
    n, d = x.shape[-2:]
    theta = 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    rot = torch.polar(torch.ones(n, d // 2, dtype=torch.float64),
                      torch.arange(n, dtype=torch.float64)[:, None] * theta)
    xt = to_torch(x, requires_grad=True)
    yt = torch.view_as_real(torch.view_as_complex(xt.reshape(*x.shape[:-1], d // 2, 2))
                            * rot.to(xt.device)).reshape(x.shape)
    check_vjp(F.rotary_embedding_vjp, lambda a: torch.view_as_real(
        torch.view_as_complex(a.reshape(*x.shape[:-1], d // 2, 2)) * rot.to(a.device)
    ).reshape(x.shape), [x], **TOL, name="rope", against="torch", verbose=False)
    assert_close(F.rotary_embedding(x), yt, **TOL, verbose=False)


def test_rotary_scores_depend_only_on_the_offset(g):
    q, k = g.standard_normal(8), g.standard_normal(8)
    s = [F.rotary_embedding(q[None], [m])[0] @ F.rotary_embedding(k[None], [m - 3])[0]
         for m in (3, 10, 57)]
    assert np.allclose(s, s[0], rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- layers
def _randomize(module, seed=0):
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.5)
    return module.double()


@settings(max_examples=25, deadline=None)
@given(N=st.integers(1, 3), L=st.integers(1, 5), S=st.integers(1, 5),
       H=st.integers(1, 3), dh=st.integers(1, 3),
       kpm=st.sampled_from(["none", "bool", "float"]),
       am=st.sampled_from(["none", "bool2", "bool3", "float2", "float3"]),
       average=st.booleans(), bias=st.booleans(), seed=st.integers(0, 2**31))
def test_multihead_attention_matches_torch(N, L, S, H, dh, kpm, am, average, bias,
                                           seed):
    g = np.random.default_rng(seed)
    E = H * dh
    tm = _randomize(torch.nn.MultiheadAttention(E, H, bias=bias, batch_first=True),
                    seed % 97)
    layer = nn.MultiheadAttention.from_torch(tm)
    q, k, v = g.standard_normal((N, L, E)), g.standard_normal((N, S, E)), \
        g.standard_normal((N, S, E))
    kw = {"average_attn_weights": average}
    # keep one key visible per row (torch's need_weights path: NaN on fully masked rows)
    keep = np.zeros((N, S), bool)
    keep[:, 0] = True
    if kpm == "bool":
        kw["key_padding_mask"] = (g.random((N, S)) < 0.4) & ~keep
    elif kpm == "float":
        kw["key_padding_mask"] = g.standard_normal((N, S))
    if am.startswith("bool"):
        m = g.random((L, S) if am == "bool2" else (N * H, L, S)) < 0.4
        m[..., 0] = False
        kw["attn_mask"] = m
    elif am.startswith("float"):
        kw["attn_mask"] = g.standard_normal((L, S) if am == "float2" else (N * H, L, S))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # mixed bool/float masks
        check_layer(layer, tm, q, k, v, **TOL, seed=seed % 1000, forward_kwargs=kw,
                    verbose=False)
    assert list(layer.params) == [n for n, _ in tm.named_parameters()]


def test_multihead_attention_weights_cotangent_may_be_none(g):
    tm = _randomize(torch.nn.MultiheadAttention(6, 2, batch_first=True))
    layer = nn.from_torch(tm)
    x = g.standard_normal((2, 4, 6))
    out, w = layer(x, x, x)
    assert w.shape == (2, 4, 4)
    dout = g.standard_normal(out.shape)
    dq, dk, dv = layer.backward((dout, None))
    xt = [to_torch(x, requires_grad=True) for _ in range(3)]
    yt = tm.to(dlmath.device())(*xt)[0]
    ref = torch.autograd.grad(yt, xt, to_torch(dout))
    for mine, r in zip((dq, dk, dv), ref):
        assert_close(mine, r, **TOL, verbose=False)


def test_multihead_fully_masked_rows(g):
    """A query with every key masked gets torch's answer in each path: NaN with
    need_weights=True (torch's explicit softmax), weights 0 and output =
    out_proj.bias with need_weights=False (torch's sdpa path)."""
    tm = _randomize(torch.nn.MultiheadAttention(4, 2, batch_first=True))
    layer = nn.from_torch(tm)
    x = g.standard_normal((2, 3, 4))
    kpm = np.zeros((2, 3), bool)
    kpm[1] = True
    out, w = layer(x, x, x, key_padding_mask=kpm)
    assert np.isnan(w[1]).all() and np.isnan(out[1]).all()
    assert np.isfinite(w[0]).all() and np.isfinite(out[0]).all()
    tm = tm.to(dlmath.device())
    ref, ref_w = tm(to_torch(x), to_torch(x), to_torch(x),
                    key_padding_mask=to_torch(kpm))
    assert torch.isnan(ref_w[1]).all() and torch.isnan(ref[1]).all()
    assert_close(out[0], ref[0], **TOL, verbose=False)
    assert_close(w[0], ref_w[0], **TOL, verbose=False)
    out, w = layer(x, x, x, key_padding_mask=kpm, need_weights=False)
    assert w is None and np.isfinite(out).all()
    assert_close(out[1], np.broadcast_to(layer.params["out_proj.bias"], (3, 4)), **TOL,
                 verbose=False)
    ref = tm(to_torch(x), to_torch(x), to_torch(x), key_padding_mask=to_torch(kpm),
             need_weights=False)[0]
    assert_close(out, ref, **TOL, verbose=False)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("masks", ["none", "causal", "causal+padding", "float"])
def test_transformer_encoder_layer_matches_torch(g, norm_first, activation, masks):
    torch.manual_seed(1)
    tl = torch.nn.TransformerEncoderLayer(12, 3, 20, dropout=0.0, activation=activation,
                                          batch_first=True, norm_first=norm_first)
    tl = tl.double()
    with torch.no_grad():
        for name, p in tl.named_parameters():
            if "norm" in name:
                p.normal_(1.0 if name.endswith("weight") else 0.0, 0.3)
    layer = nn.from_torch(tl)
    assert isinstance(layer, nn.TransformerEncoderLayer) and layer.training
    assert list(layer.params) == [n for n, _ in tl.named_parameters()]
    x = g.standard_normal((3, 5, 12))
    kw = {}
    if "causal" in masks:
        kw["src_mask"] = ~F.causal_mask(5)          # torch's bool: True = masked out
    if "padding" in masks:
        kw["src_key_padding_mask"] = np.array([[0, 0, 0, 1, 1]] * 3, bool)
    if masks == "float":
        kw["src_mask"] = g.standard_normal((5, 5))
        kw["src_key_padding_mask"] = g.standard_normal((3, 5))
    check_layer(layer, tl, x, **TOL, forward_kwargs=kw, verbose=False)


def test_transformer_encoder_layer_is_causal_flag(g):
    tl = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    tl = tl.double()
    layer = nn.from_torch(tl)
    x = g.standard_normal((2, 4, 8))
    a = layer(x, is_causal=True)
    b = nn.from_torch(tl)(x, src_mask=~F.causal_mask(4))
    assert_close(a, b, rtol=0, atol=0, verbose=False)


@pytest.mark.parametrize("make, match", [
    (lambda: nn.MultiheadAttention(10, 3), "embed_dim must be divisible by num_heads"),
    (lambda: nn.TransformerEncoderLayer(10, 4),
     "embed_dim must be divisible by num_heads"),
    (lambda: nn.TransformerEncoderLayer(8, 2, activation="tanh"), "activation must be"),
    (lambda: nn.MultiheadAttention(4, 2, dropout=1.0), "dropout must be a probability"),
    (lambda: nn.MultiheadAttention(4, 2)(np.zeros((2, 4)), np.zeros((3, 4)),
                                         np.zeros((3, 4)), is_causal=True),
     "is_causal=True is a hint"),
])
def test_layer_construction_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_multihead_attention_bad_inputs(g):
    layer = nn.MultiheadAttention(6, 2)
    x, kv = g.standard_normal((2, 3, 6)), g.standard_normal((2, 4, 6))
    with pytest.raises(ValueError, match=r"key must have 2 dims like query: "
                                         r"\(S, kdim\)"):
        layer(x[0], kv, kv)
    with pytest.raises(ValueError, match="key must have embed_dim=6"):
        layer(x, kv[..., :4], kv)
    with pytest.raises(ValueError, match="must agree"):
        layer(x, kv, kv[:, :3])
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(2, 4\)"):
        layer(x, kv, kv, key_padding_mask=np.zeros((2, 3), bool))
    with pytest.raises(ValueError,
                       match=r"attn_mask must have shape \(3, 4\) or \(4, 3, 4\)"):
        layer(x, kv, kv, attn_mask=np.zeros((4, 3), bool))
    with pytest.raises(TypeError, match="attn_mask must be bool"):
        layer(x, kv, kv, attn_mask=np.zeros((3, 4), np.int64))
    layer(x, kv, kv)
    with pytest.raises(ValueError, match="dout must have the output's shape"):
        layer.backward((np.zeros((2, 3, 5)), None))
