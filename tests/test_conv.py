"""Convolution and pooling (Chapter 7) against torch autograd in float64; errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dlmath import functional as F
from dlmath import nn
from dlmath.check import assert_close, check_layer, check_vjp, to_torch

TF = torch.nn.functional
TOL = dict(rtol=1e-10, atol=1e-10)
# max pooling copies values; gradients that several windows send to one input are
# summed in another order than torch's: last-bit differences only
EXACT = dict(rtol=1e-14, atol=1e-14)
values = st.floats(-10, 10, allow_nan=False, width=64)



@st.composite
def conv_problems(draw):
    """A valid conv2d problem: shapes, stride, padding, dilation, the arrays' values."""
    N, C, O = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    H = draw(st.integers(max(1, d[0] * (kh - 1) + 1 - 2 * p[0]), 9))
    W = draw(st.integers(max(1, d[1] * (kw - 1) + 1 - 2 * p[1]), 9))
    x = draw(arrays(np.float64, (N, C, H, W), elements=values))
    w = draw(arrays(np.float64, (O, C, kh, kw), elements=values))
    b = draw(st.none() | arrays(np.float64, (O,), elements=values))
    return x, w, b, s, p, d


@settings(max_examples=60, deadline=None)
@given(problem=conv_problems())
def test_conv2d_forward_and_vjp_match_torch(problem):
    x, w, b, s, p, d = problem
    inputs = [x, w] if b is None else [x, w, b]

    def mine(x, w, b=None):
        return F.conv2d_vjp(x, w, b, s, p, d)

    def ref(x, w, b=None):
        return TF.conv2d(x, w, b, s, p, d)

    check_vjp(mine, ref, inputs, **TOL, name="conv2d", against="torch", verbose=False)
    assert_close(F.conv2d(x, w, b, s, p, d), mine(*inputs)[0], rtol=0, atol=0,
                 verbose=False)


@settings(max_examples=30, deadline=None)
@given(problem=conv_problems())
def test_unfold_matches_torch_and_gives_the_convolution(problem):
    x, w, b, s, p, d = problem
    k = w.shape[2:]
    cols = F.unfold(x, k, d, p, s)
    ref = TF.unfold(to_torch(x), k, d, p, s)
    assert_close(cols, ref, rtol=0, atol=0, verbose=False)
    y = (w.reshape(len(w), -1) @ cols).reshape(F.conv2d(x, w, None, s, p, d).shape)
    assert_close(y, F.conv2d(x, w, None, s, p, d), **TOL, verbose=False)


@st.composite
def pool_problems(draw, relu: bool):
    N, C = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    s = draw(st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3)))
    p = (draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2)))
    H = draw(st.integers(max(1, kh - 2 * p[0]), 9))
    W = draw(st.integers(max(1, kw - 2 * p[1]), 9))
    x = draw(arrays(np.float64, (N, C, H, W), elements=values))
    # after a ReLU many windows hold ties (zeros): the gradient goes where torch's does
    return (np.maximum(x, 0) if relu else x), (kh, kw), s, p


@settings(max_examples=60, deadline=None)
@given(problem=pool_problems(relu=True))
def test_max_pool2d_matches_torch_with_ties(problem):
    x, k, s, p = problem
    check_vjp(lambda x: F.max_pool2d_vjp(x, k, s, p),
              lambda x: TF.max_pool2d(x, k, s, p),
              [x], **EXACT, name="max_pool2d", against="torch", verbose=False)


@settings(max_examples=60, deadline=None)
@given(problem=pool_problems(relu=False))
def test_pools_match_torch(problem):
    x, k, s, p = problem
    check_vjp(lambda x: F.max_pool2d_vjp(x, k, s, p),
              lambda x: TF.max_pool2d(x, k, s, p),
              [x], **EXACT, name="max_pool2d", against="torch", verbose=False)
    check_vjp(lambda x: F.avg_pool2d_vjp(x, k, s, p),
              lambda x: TF.avg_pool2d(x, k, s, p),
              [x], **TOL, name="avg_pool2d", against="torch", verbose=False)


def test_float32_stays_float32_and_matches_torch(g):
    x = g.standard_normal((4, 3, 10, 10)).astype(np.float32)
    w = g.standard_normal((5, 3, 3, 3)).astype(np.float32)
    y, vjp = F.conv2d_vjp(x, w, padding=1)
    dx, dw, _ = vjp(np.ones_like(y))
    assert y.dtype == dx.dtype == dw.dtype == np.float32
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    yt = TF.conv2d(xt, wt, padding=1)
    yt.sum().backward()
    for a, e in [(y, yt), (dx, xt.grad), (dw, wt.grad)]:
        assert_close(a, e, rtol=1e-4, atol=1e-4, verbose=False)
    for f in (F.max_pool2d, F.avg_pool2d):
        assert f(x, 2).dtype == np.float32


def test_output_size_formula():
    for n, k, s, p, d in [(28, 5, 1, 2, 1), (14, 5, 1, 0, 1), (7, 3, 2, 1, 2),
                          (5, 1, 3, 0, 1)]:
        x = np.zeros((1, 1, n, n))
        w = np.zeros((1, 1, k, k))
        assert F.conv2d(x, w, stride=s, padding=p, dilation=d).shape[-1] == \
            F.conv_output_size(n, k, s, p, d) == TF.conv2d(to_torch(x), to_torch(w),
                                                           None, s, p, d).shape[-1]


# --------------------------------------------------------------------------- layers
@pytest.mark.parametrize("kw", [dict(kernel_size=3), dict(kernel_size=(3, 2), stride=2,
                                                          padding=(1, 0)),
                                dict(kernel_size=2, dilation=2, bias=False)])
def test_conv2d_layer_matches_torch(g, kw):
    torch.manual_seed(0)
    tl = torch.nn.Conv2d(3, 4, **kw).double()
    layer = nn.Conv2d.from_torch(tl)
    check_layer(layer, tl, g.standard_normal((2, 3, 7, 6)), **TOL, verbose=False)
    assert nn.from_torch(tl).params.keys() == dict(tl.named_parameters()).keys()


def test_pool_and_flatten_layers_match_torch(g):
    x = g.standard_normal((2, 3, 7, 6))
    T = torch.nn
    for tl in [T.MaxPool2d(2), T.MaxPool2d(3, 2, 1), T.AvgPool2d(2),
               T.AvgPool2d((3, 2), (1, 2), (1, 0)), T.Flatten(), T.Flatten(2, 3)]:
        check_layer(nn.from_torch(tl), tl, x, **TOL, verbose=False)


def test_lenet_matches_torch_end_to_end(g):
    torch.manual_seed(0)
    tnet = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 3), torch.nn.ReLU(), torch.nn.AvgPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(16, 10)).double()
    net = nn.from_torch(tnet)
    x = g.standard_normal((5, 1, 8, 8))
    errors = check_layer(net, tnet, x, **TOL, verbose=False)
    assert len(errors) == 2 + 6              # output, input gradient, 6 parameters


def test_conv2d_init_matches_torch_bounds():
    layer = nn.Conv2d(6, 16, 5, rng=np.random.default_rng(0))
    bound = 1 / np.sqrt(6 * 25)              # kaiming_uniform(a=√5) gives 1/√fan_in
    W, b = layer.params["weight"], layer.params["bias"]
    assert W.shape == (16, 6, 5, 5) and b.shape == (16,)
    assert np.abs(W).max() <= bound and np.abs(W).max() > 0.95 * bound
    assert np.abs(b).max() <= bound
    assert abs(W.std() - bound / np.sqrt(3)) < 0.05 * bound   # U(-a, a) has std a/√3


# --------------------------------------------------------------------------- errors
def test_conv2d_bad_input_errors():
    x, w = np.zeros((2, 3, 8, 8)), np.zeros((4, 3, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: x must be \(N, C, H, W\) or "
                                         r"\(C, H, W\), got shape \(28, 28\)"):
        F.conv2d(np.zeros((28, 28)), w)
    with pytest.raises(ValueError, match=r"weight must be \(C_out, C_in/groups, kH, "
                                         r"kW\), got shape \(4, 3, 3\)"):
        F.conv2d(x, np.zeros((4, 3, 3)))
    with pytest.raises(ValueError, match=r"weight \(4, 2, 3, 3\) expects C_in=2 input "
                                         r"channels, but x \(2, 3, 8, 8\) has 3"):
        F.conv2d(x, np.zeros((4, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"bias must be \(C_out=4,\), got shape "
                                         r"\(3,\)"):
        F.conv2d(x, w, np.zeros(3))
    with pytest.raises(ValueError, match=r"kernel \(9, 9\) is larger than the padded "
                                         r"input \(8, 8\)"):
        F.conv2d(x, np.zeros((4, 3, 9, 9)))
    with pytest.raises(ValueError, match=r"dilated extent \(5, 5\)\) is larger than "
                                         r"the padded input \(4, 4\)"):
        F.conv2d(np.zeros((1, 3, 4, 4)), w, dilation=2)
    with pytest.raises(ValueError, match=r"stride must be positive \(>= 1\), got 0"):
        F.conv2d(x, w, stride=0)
    with pytest.raises(ValueError, match=r"padding must be non-negative \(>= 0\), "
                                         r"got \(1, -1\)"):
        F.conv2d(x, w, padding=(1, -1))
    with pytest.raises(TypeError, match=r"stride must be an int or a pair of ints, "
                                        r"got 1.5"):
        F.conv2d(x, w, stride=1.5)
    with pytest.raises(TypeError, match="x must be a numpy array, got a torch.Tensor"):
        F.conv2d(torch.zeros(2, 3, 8, 8), w)
    with pytest.raises(ValueError, match=r"dout must have the output's shape"):
        F.conv2d_vjp(x, w)[1](np.zeros((2, 4, 8, 8)))


def test_pool_and_layer_bad_input_errors():
    x = np.zeros((2, 3, 8, 8))
    with pytest.raises(ValueError, match=r"max_pool2d: x must be \(N, C, H, W\) or "
                                         r"\(C, H, W\), got shape \(8, 8\)"):
        F.max_pool2d(np.zeros((8, 8)), 2)
    with pytest.raises(ValueError, match=r"avg_pool2d: kernel \(9, 9\) is larger than "
                                         r"the padded input \(8, 8\)"):
        F.avg_pool2d(x, 9)
    with pytest.raises(ValueError, match=r"kernel_size must be positive"):
        F.max_pool2d(x, 0)
    with pytest.raises(ValueError, match=r"padding \(2, 2\) must be at most half the "
                                         r"kernel"):
        F.max_pool2d(x, 3, padding=2)
    with pytest.raises(ValueError, match=r"Conv2d: x must have C=1 channels "
                                         r"\(axis 1\), got shape \(2, 3, 8, 8\)"):
        nn.Conv2d(1, 4, 3)(x)
    with pytest.raises(ValueError, match=r"Conv2d: x must be \(N, C, H, W\) or "):
        nn.Conv2d(1, 4, 3)(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="padding_mode must be 'zeros', 'reflect'"):
        nn.Conv2d(4, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="padding_mode='reflect' needs padding <"):
        nn.Conv2d(3, 4, 3, padding=8, padding_mode="reflect")(x)
    with pytest.raises(ValueError, match="groups=3 must divide in_channels=4"):
        nn.Conv2d(4, 6, 3, groups=3)
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        nn.Conv2d(4, 6, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="output_padding .* must be smaller"):
        nn.ConvTranspose2d(2, 2, 3, output_padding=1)(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="divisor_override must be a nonzero int"):
        nn.AvgPool2d(2, divisor_override=0)(x)
    with pytest.raises(ValueError, match=r"Flatten: start_dim=2, end_dim=1 do not fit"):
        nn.Flatten(2, 1)(x)
    with pytest.raises(RuntimeError, match="backward called before forward"):
        nn.MaxPool2d(2).backward(np.zeros((2, 3, 4, 4)))



@pytest.mark.parametrize("k, s", [(2, None), (3, 1), (3, 2)])
def test_max_pool2d_propagates_nan_like_torch(g, k, s):
    x = g.standard_normal((2, 3, 6, 6))
    x[0, 0, 0, 0] = x[0, 0, 1, 1] = x[1, 2, 3, 3] = np.nan   # two NaNs share a window
    check_vjp(lambda x: F.max_pool2d_vjp(x, k, s), lambda x: TF.max_pool2d(x, k, s),
              [x], **EXACT, name="max_pool2d with NaN", against="torch", verbose=False)
