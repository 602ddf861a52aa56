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
