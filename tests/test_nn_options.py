"""The options of torch.nn that dlmath.nn implements beyond the chapters' defaults
(issue 24): each gives torch's answer, in float64, forward and backward; and the
regressions that once gave a silently different answer or a crash."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmath import functional as F
from dlmath import nn
from dlmath.check import check_layer, to_torch

RTOL, ATOL = 1e-9, 1e-10
TF = torch.nn.functional


# ------------------------------------------------------------- cross-entropy
X = np.array([[0.1, 0.2, 0.3], [1.0, -1.0, 0.5]])
Y = np.array([0, 1])


@pytest.mark.parametrize("kw, expected", [
    ({"weight": np.array([1.0, 2.0, 3.0])}, 2.103952),
    ({"ignore_index": 1}, 1.201943),
    ({"label_smoothing": 0.15}, 1.78345),
])
def test_cross_entropy_options_of_the_issue_give_torchs_numbers(kw, expected):
    """The example of issue 24: these once all gave 1.87845."""
    layer = nn.CrossEntropyLoss(**kw)
    tkw = {k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v
           for k, v in kw.items()}
    tm = torch.nn.CrossEntropyLoss(**tkw)
    ref = tm(torch.tensor(X), torch.tensor(Y)).item()
    assert ref == pytest.approx(expected, abs=1e-6)
    assert nn.from_torch(tm)(X, Y) == pytest.approx(ref, rel=1e-14)
    assert layer(X, Y) == pytest.approx(ref, rel=1e-14)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n=st.integers(1, 4), c=st.integers(2, 5),
       extra=st.lists(st.integers(1, 3), max_size=2),
       reduction=st.sampled_from(["mean", "sum", "none"]),
       weighted=st.booleans(), smoothing=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
       probs=st.booleans(), unbatched=st.booleans())
def test_cross_entropy_matches_torch_over_every_option(data, n, c, extra, reduction,
                                                       weighted, smoothing, probs,
                                                       unbatched):
    g = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    shape = (c,) if unbatched else (n, c, *extra)
    z = g.standard_normal(shape) * 3
    if probs:
        rows = () if unbatched else (n, *extra)
        t = np.moveaxis(g.dirichlet(np.ones(c), rows), -1, 0 if unbatched else 1)
        ignore = -100
    else:
        t = g.integers(0, c, () if unbatched else (n, *extra))
        ignore = data.draw(st.sampled_from([-100, 0, c - 1]))
        if not unbatched and np.all(t == ignore):
            t.flat[0] = (ignore + 1) % c
        if unbatched and t == ignore:
            t = np.array((ignore + 1) % c)
    w = g.uniform(0.5, 2.0, c) if weighted else None
    kw = dict(weight=w, ignore_index=ignore, label_smoothing=smoothing)
    loss, vjp = F.cross_entropy_vjp(z, t, reduction, **kw)
    tz = to_torch(z, requires_grad=True)
    ref = TF.cross_entropy(tz, to_torch(t), None if w is None else to_torch(w),
                           ignore_index=ignore, reduction=reduction,
                           label_smoothing=smoothing)
    dl = g.standard_normal(np.shape(loss))
    (dref,) = torch.autograd.grad(ref, tz, to_torch(dl))
    np.testing.assert_allclose(loss, ref.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(vjp(dl)[0], dref.numpy(), rtol=1e-12, atol=1e-13)


def test_cross_entropy_refuses_bad_options_by_name():
    with pytest.raises(ValueError, match="weight must be"):
        F.cross_entropy(X, Y, weight=np.ones(4))
    with pytest.raises(ValueError, match="label_smoothing must be"):
        F.cross_entropy(X, Y, label_smoothing=1.5)
    with pytest.raises(ValueError, match="size_average is deprecated"):
        F.cross_entropy(X, Y, size_average=True)
    with pytest.raises(ValueError, match="reduce is deprecated"):
        F.cross_entropy(X, Y, reduce=False)
    with pytest.raises(TypeError, match="ignore_index must be an int"):
        F.cross_entropy(X, Y, ignore_index=0.5)
    with pytest.raises(ValueError, match=r"got values in \[0, 3\] \(entries "
                                         r"equal to ignore_index=-100"):
        F.cross_entropy(X, np.array([0, 3]))


# ------------------------------------------------------------- batch norm
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("cls, shape", [("BatchNorm1d", (5, 3)),
                                        ("BatchNorm1d", (4, 3, 2)),
                                        ("BatchNorm2d", (3, 3, 2, 2))])
def test_batchnorm_with_and_without_bias_matches_torch_train_then_eval(cls, shape,
                                                                       bias):
    torch.manual_seed(0)
    tm = getattr(torch.nn, cls)(3, bias=bias).double()
    with torch.no_grad():
        tm.weight.normal_()
    layer = nn.from_torch(tm)
    g = np.random.default_rng(1)
    for mode in ("train", "eval"):
        getattr(tm, mode)()
        getattr(layer, mode)()
        check_layer(layer, tm, g.standard_normal(shape), rtol=RTOL, atol=ATOL,
                    verbose=False)
        for k, v in tm.state_dict().items():
            np.testing.assert_allclose(layer.state_dict()[k], v.numpy(), rtol=1e-12)
    assert ("bias" in layer.params) == bias


# ------------------------------------------------------------- recurrent backward
@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_recurrent_backward_takes_the_output_gradient_alone(name):
    torch.manual_seed(0)
    tm = getattr(torch.nn, name)(3, 4, batch_first=True).double()
    layer = nn.from_torch(tm)
    g = np.random.default_rng(0)
    x, dy = g.standard_normal((2, 5, 3)), g.standard_normal((2, 5, 4))
    tx = to_torch(x, requires_grad=True)
    tm(tx)[0].backward(to_torch(dy))
    for dout in (dy, (dy, None)):
        layer(x)
        np.testing.assert_allclose(layer.backward(dout), tx.grad.numpy(), rtol=1e-12,
                                   atol=1e-14)
    if name == "LSTM":
        layer(x)
        np.testing.assert_allclose(layer.backward((dy, (None, None))),
                                   tx.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_from_torch_turns_a_state_mismatch_into_a_value_error():
    layer = nn.Linear(2, 2)
    tm = torch.nn.Linear(2, 2, bias=False)
    with pytest.raises(ValueError, match="Linear.from_torch: the torch module's state"):
        layer._load_torch(tm)


# ------------------------------------------------------------- stacked dropout
@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_dropout_between_layers_with_a_given_mask_is_torchs_composition(name):
    """Training with dropout p: layer 1 reads layer 0's output times m/(1 - p).
    The reference is that composition written in torch with two 1-layer modules
    holding the same weights (torch's own draw cannot be reproduced)."""
    torch.manual_seed(0)
    p = 0.4
    layer = getattr(nn, name)(3, 4, num_layers=2, dropout=p, bidirectional=True,
                              rng=np.random.default_rng(0))
    g = np.random.default_rng(1)
    x, dy = g.standard_normal((2, 5, 3)), g.standard_normal((2, 5, 8))
    mask = g.random((2, 5, 8)) >= p
    out = layer(x, dropout_masks=[mask])[0]
    dx = layer.backward(dy)
    t0 = getattr(torch.nn, name)(3, 4, bidirectional=True, batch_first=True).double()
    t1 = getattr(torch.nn, name)(8, 4, bidirectional=True, batch_first=True).double()
    with torch.no_grad():
        for k, v in layer.params.items():
            mod, key = (t0, k) if "_l0" in k else (t1, k.replace("_l1", "_l0"))
            getattr(mod, key).copy_(torch.as_tensor(v))
    tx = to_torch(x, requires_grad=True)
    u = t0(tx)[0] * to_torch(mask.astype(float)) / (1 - p)
    ref = t1(u)[0]
    ref.backward(to_torch(dy))
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-12, atol=1e-13)
    for k in layer.params:
        mod, key = (t0, k) if "_l0" in k else (t1, k.replace("_l1", "_l0"))
        np.testing.assert_allclose(layer.grads[k], getattr(mod, key).grad.numpy(),
                                   rtol=1e-12, atol=1e-13)
    assert layer.dropout_masks[0] is not None


# ------------------------------------------------------------- new layers (hypothesis)
from dlmath.conformance import Case, compare  # noqa: E402


def _run(layer, option, build, inputs, modes=("train", "eval"), kwargs=None):
    case = Case(layer, option, build, inputs, kwargs or (lambda g: {}), modes)
    for mode in modes:
        compare(case, mode, rtol=1e-9, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3), cin=st.integers(1, 3), cout=st.integers(1, 3),
       groups=st.sampled_from([1, 2]), k=st.integers(1, 3), s=st.integers(1, 3),
       p=st.integers(0, 2), op=st.integers(0, 2), d=st.integers(1, 2),
       h=st.integers(1, 4), bias=st.booleans(), unbatched=st.booleans())
def test_conv_transpose2d_matches_torch(n, cin, cout, groups, k, s, p, op, d, h, bias,
                                        unbatched):
    op = min(op, max(s, d) - 1)
    cin, cout = cin * groups, cout * groups
    if (h - 1) * s - 2 * p + d * (k - 1) + op + 1 < 1:
        return
    shape = (cin, h, h + 1) if unbatched else (n, cin, h, h + 1)
    _run("ConvTranspose2d", "drawn",
         lambda: torch.nn.ConvTranspose2d(cin, cout, k, s, p, op, groups, bias, d),
         lambda g: (g.standard_normal(shape),))


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 3), h=st.integers(1, 7),
       w=st.integers(1, 7), oh=st.sampled_from([None, 1, 2, 3, 5]),
       ow=st.integers(1, 4))
def test_adaptive_avg_pool2d_matches_torch(n, c, h, w, oh, ow):
    _run("AdaptiveAvgPool2d", "drawn", lambda: torch.nn.AdaptiveAvgPool2d((oh, ow)),
         lambda g: (g.standard_normal((n, c, h, w)),))


@settings(max_examples=15, deadline=None)
@given(n=st.integers(2, 3), c=st.integers(1, 3), h=st.integers(1, 3),
       w=st.integers(1, 3), affine=st.booleans(), bias=st.booleans(),
       momentum=st.sampled_from([None, 0.1, 0.9]), track=st.booleans())
def test_batchnorm2d_matches_torch(n, c, h, w, affine, bias, momentum, track):
    _run("BatchNorm2d", "drawn",
         lambda: torch.nn.BatchNorm2d(c, momentum=momentum, affine=affine, bias=bias,
                                      track_running_stats=track),
         lambda g: (g.standard_normal((n, c, h, w)),))


@settings(max_examples=15, deadline=None)
@given(num=st.integers(1, 6), dim=st.integers(1, 4),
       shape=st.lists(st.integers(1, 4), max_size=2),
       pad=st.one_of(st.none(), st.integers(-1, 0)), freq=st.booleans())
def test_embedding_matches_torch(num, dim, shape, pad, freq):
    _run("Embedding", "drawn",
         lambda: torch.nn.Embedding(num, dim, padding_idx=pad, scale_grad_by_freq=freq),
         lambda g: (g.integers(0, num, tuple(shape)),))


@settings(max_examples=20, deadline=None)
@given(name=st.sampled_from(["LeakyReLU", "SiLU", "Softmax", "LogSoftmax"]),
       shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), data=st.data())
def test_new_activations_match_torch(name, shape, data):
    args = ()
    if name == "LeakyReLU":
        args = (data.draw(st.floats(-2, 2)),)
    elif name in ("Softmax", "LogSoftmax"):
        args = (data.draw(st.integers(-len(shape), len(shape) - 1)),)
    x = data.draw(st.lists(st.floats(-30, 30), min_size=int(np.prod(shape)),
                           max_size=int(np.prod(shape))))
    _run(name, "drawn", lambda: getattr(torch.nn, name)(*args),
         lambda g: (np.reshape(x, shape),))


@settings(max_examples=8, deadline=None)
@given(norm_first=st.booleans(), act=st.sampled_from(["relu", "gelu"]),
       L=st.integers(1, 4), S=st.integers(1, 4), n=st.integers(1, 2),
       batch_first=st.booleans(), causal=st.booleans())
def test_transformer_decoder_layer_matches_torch(norm_first, act, L, S, n,
                                                 batch_first, causal):
    shape = (lambda T: (n, T, 8)) if batch_first else (lambda T: (T, n, 8))
    kw = (lambda g: {"tgt_mask": ~np.tril(np.ones((L, L), bool))}) if causal else None
    _run("TransformerDecoderLayer", "drawn",
         lambda: torch.nn.TransformerDecoderLayer(8, 2, 12, 0.0, act,
                                                  batch_first=batch_first,
                                                  norm_first=norm_first),
         lambda g: (g.standard_normal(shape(L)), g.standard_normal(shape(S))),
         kwargs=kw)


def test_decoder_tgt_is_causal_is_the_causal_mask():
    layer = nn.TransformerDecoderLayer(8, 2, 12, dropout=0.0)
    g = np.random.default_rng(0)
    x, m = g.standard_normal((2, 4, 8)), g.standard_normal((2, 3, 8))
    a = layer(x, m, tgt_is_causal=True)
    b = layer(x, m, tgt_mask=~F.causal_mask(4))
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------- new layers: bad input
def test_new_layers_refuse_bad_input_by_name():
    g = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"embedding: indices must be in \[0, 4\]"):
        nn.Embedding(5, 2)(np.array([0, 5]))
    with pytest.raises(TypeError, match="embedding: input must hold integer indices"):
        nn.Embedding(5, 2)(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="max_norm=1.0 is not supported"):
        nn.Embedding(5, 2, max_norm=1.0)
    with pytest.raises(ValueError, match="padding_idx must be in"):
        nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(ValueError, match=r"BatchNorm2d: x must have 4 dims"):
        nn.BatchNorm2d(3)(g.standard_normal((2, 3, 4)))
    with pytest.raises(ValueError, match="BatchNorm2d: x must have C=3 channels"):
        nn.BatchNorm2d(3)(g.standard_normal((2, 2, 4, 4)))
    with pytest.raises(TypeError, match="negative_slope must be a number"):
        nn.LeakyReLU("a")
    with pytest.raises(ValueError, match="softmax: axis 2 is out of range"):
        nn.Softmax(2)(g.standard_normal((2, 2)))
    with pytest.raises(ValueError, match="output_size must be an int or a pair"):
        nn.AdaptiveAvgPool2d((1, 2, 3))
    with pytest.raises(ValueError, match=r"ConvTranspose2d: x must have C=2 channels"):
        nn.ConvTranspose2d(2, 3, 2)(g.standard_normal((1, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"output_size \(9, 9\) is not reachable"):
        nn.ConvTranspose2d(2, 3, 2)(g.standard_normal((1, 2, 4, 4)), output_size=(9, 9))
    with pytest.raises(ValueError, match="tgt and memory must both be batched"):
        nn.TransformerDecoderLayer(8, 2, 12)(g.standard_normal((3, 8)),
                                             g.standard_normal((1, 3, 8)))
    with pytest.raises(RuntimeError, match="backward called before forward"):
        nn.SiLU().backward(np.zeros(3))
    with pytest.raises(ValueError, match="dout must have the output's shape"):
        layer = nn.Embedding(5, 2)
        layer(np.array([1, 2]))
        layer.backward(np.zeros((2, 3)))


# ------------------------------------------------------------- SDPA options
@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 2), hk=st.integers(1, 3), group=st.integers(1, 3),
       L=st.integers(1, 4), S=st.integers(1, 4), E=st.integers(1, 4),
       causal=st.booleans(), seed=st.integers(0, 2**16))
def test_sdpa_grouped_query_attention_matches_torch(n, hk, group, L, S, E, causal,
                                                    seed):
    g = np.random.default_rng(seed)
    q = g.standard_normal((n, hk * group, L, E))
    k, v = g.standard_normal((n, hk, S, E)), g.standard_normal((n, hk, S, E + 1))
    y, vjp = F.scaled_dot_product_attention_vjp(q, k, v, is_causal=causal,
                                                enable_gqa=True)
    tq, tk, tv = (to_torch(a, requires_grad=True) for a in (q, k, v))
    yt = TF.scaled_dot_product_attention(tq, tk, tv, is_causal=causal,
                                         enable_gqa=True)
    dy = g.standard_normal(y.shape)
    ref = torch.autograd.grad(yt, (tq, tk, tv), to_torch(dy))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(vjp(dy)[:3], ref):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-10, atol=1e-12)


def test_sdpa_dropout_with_a_given_mask_is_the_masked_composition():
    """dropout_p with a mask: y = (softmax(A) ⊙ m/(1 - p)) v, written in torch;
    dropout_p=0 is exactly the plain attention."""
    g = np.random.default_rng(3)
    q, k, v = (g.standard_normal((2, 3, 4)), g.standard_normal((2, 5, 4)),
               g.standard_normal((2, 5, 2)))
    p, m = 0.3, g.random((2, 3, 5)) >= 0.3
    y, vjp = F.scaled_dot_product_attention_vjp(q, k, v, dropout_p=p,
                                                dropout_mask=m)
    tq, tk, tv = (to_torch(a, requires_grad=True) for a in (q, k, v))
    P = torch.softmax(tq @ tk.transpose(-1, -2) / 2.0, dim=-1)
    yt = (P * to_torch(m.astype(float)) / (1 - p)) @ tv
    dy = g.standard_normal(y.shape)
    ref = torch.autograd.grad(yt, (tq, tk, tv), to_torch(dy))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-13)
    for a, b in zip(vjp(dy)[:3], ref):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-12, atol=1e-13)
    plain = F.scaled_dot_product_attention(q, k, v)
    zero = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0)
    np.testing.assert_array_equal(zero, plain)
    with pytest.raises(ValueError, match="dropout_mask must have the weights' shape"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=p, dropout_mask=m[0])
    with pytest.raises(ValueError, match="enable_gqa needs the query heads"):
        F.scaled_dot_product_attention(g.standard_normal((3, 2, 4)),
                                       g.standard_normal((2, 2, 4)),
                                       g.standard_normal((2, 2, 4)), enable_gqa=True)


# ------------------------------------------------------- drawn option combinations
@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(["RNN", "LSTM", "GRU"]), L=st.integers(1, 3),
       bi=st.booleans(), layout=st.sampled_from(["bf", "sf", "unbatched"]),
       h0=st.booleans(), bias=st.booleans(), T=st.integers(1, 4), n=st.integers(1, 3),
       relu=st.booleans(), proj=st.sampled_from([0, 0, 2]))
def test_recurrent_option_combinations_match_torch(name, L, bi, layout, h0, bias, T,
                                                   n, relu, proj):
    D = 2 if bi else 1
    kw = dict(num_layers=L, bidirectional=bi, batch_first=layout == "bf", bias=bias)
    if name == "RNN" and relu:
        kw["nonlinearity"] = "relu"
    if name == "LSTM" and proj:
        kw["proj_size"] = proj
    shape = {"bf": (n, T, 3), "sf": (T, n, 3), "unbatched": (T, 3)}[layout]
    sshape = (D * L, 4) if layout == "unbatched" else (D * L, n, 4)

    def inputs(g):
        x = g.standard_normal(shape)
        if not h0:
            return (x,)
        if name == "LSTM":
            hshape = sshape[:-1] + (proj or 4,)
            return (x, (g.standard_normal(hshape), g.standard_normal(sshape)))
        return (x, g.standard_normal(sshape))
    _run(name, "drawn", lambda: getattr(torch.nn, name)(3, 4, **kw), inputs)


@settings(max_examples=30, deadline=None)
@given(layout=st.sampled_from(["bf", "sf", "unbatched"]), bias=st.booleans(),
       bkv=st.booleans(), zero=st.booleans(), kdim=st.sampled_from([None, 3]),
       vdim=st.sampled_from([None, 5]), heads=st.sampled_from([1, 2, 4]),
       L=st.integers(1, 4), S=st.integers(1, 4), n=st.integers(1, 2),
       kpm=st.booleans(), am=st.sampled_from([None, "2d", "3d"]),
       average=st.booleans(), need=st.booleans())
def test_multihead_attention_option_combinations_match_torch(
        layout, bias, bkv, zero, kdim, vdim, heads, L, S, n, kpm, am, average, need):
    E = 8
    kd, vd = kdim or E, vdim or E
    unb = layout == "unbatched"

    def shape(T, d):
        return {"bf": (n, T, d), "sf": (T, n, d), "unbatched": (T, d)}[layout]

    def kwargs(g):
        kw = {"need_weights": need, "average_attn_weights": average}
        if kpm:
            m = np.zeros((S,) if unb else (n, S))
            m[..., 0] = -np.inf if S > 1 else 0.0
            kw["key_padding_mask"] = m
        if am == "2d":
            kw["attn_mask"] = g.standard_normal((L, S))
        elif am == "3d":
            kw["attn_mask"] = g.standard_normal(((1 if unb else n) * heads, L, S))
        return kw
    _run("MultiheadAttention", "drawn",
         lambda: torch.nn.MultiheadAttention(E, heads, bias=bias, add_bias_kv=bkv,
                                             add_zero_attn=zero, kdim=kdim, vdim=vdim,
                                             batch_first=layout == "bf"),
         lambda g: (g.standard_normal(shape(L, E)), g.standard_normal(shape(S, kd)),
                    g.standard_normal(shape(S, vd))),
         modes=("train",), kwargs=kwargs)


@settings(max_examples=25, deadline=None)
@given(mode=st.sampled_from(["reflect", "replicate", "circular"]),
       h=st.integers(2, 5), w=st.integers(2, 5), data=st.data())
def test_mode_pad_matches_torchs_pad(mode, h, w, data):
    top, bottom = (data.draw(st.integers(0, h - 1)) for _ in range(2))
    left, right = (data.draw(st.integers(0, w - 1)) for _ in range(2))
    g = np.random.default_rng(0)
    x = g.standard_normal((2, 3, h, w))
    y, vjp = F.mode_pad_vjp(x, ((top, bottom), (left, right)), mode)
    tx = to_torch(x, requires_grad=True)
    yt = TF.pad(tx, (left, right, top, bottom), mode=mode)
    dy = g.standard_normal(y.shape)
    (ref,) = torch.autograd.grad(yt, tx, to_torch(dy))
    np.testing.assert_array_equal(y, yt.detach().numpy())
    np.testing.assert_allclose(vjp(dy)[0], ref.numpy(), rtol=1e-13, atol=1e-13)
