"""dlmath.nn.RNN / LSTM / GRU and dlmath.functional.recurrent against torch in float64.

Same weights (``from_torch``), same input: same outputs, final states, input
and initial-state gradients and parameter gradients (``check_layer``), on
random shapes and values drawn by hypothesis, biases bounded away from zero.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dlmath import functional as F
from dlmath import nn
from dlmath.check import check_layer

RTOL, ATOL = 1e-9, 1e-11
KINDS = {"RNN": 1, "RNN-relu": 1, "LSTM": 4, "GRU": 3}


def _no_tiny(lo: float, hi: float):
    """Floats in [-hi, -lo] ∪ {0} ∪ [lo, hi]. Magnitudes far below lo would let relu's
    kink at 0 depend on the order of summation (torch adds b_ih before b_hh), where
    the derivative is a matter of rounding, not of the math."""
    return st.one_of(st.just(0.0), st.floats(lo, hi), st.floats(-hi, -lo))


values = _no_tiny(1e-3, 2.0)
weights = _no_tiny(1e-3, 0.8)
nonzero = st.one_of(st.floats(0.1, 1.0), st.floats(-1.0, -0.1))


def _torch_module(kind: str, I: int, H: int, bias: bool):
    if kind == "RNN-relu":
        return torch.nn.RNN(I, H, nonlinearity="relu", bias=bias,
                            batch_first=True).double()
    return getattr(torch.nn, kind)(I, H, bias=bias, batch_first=True).double()


class _TorchLSTMWithState(torch.nn.Module):
    """torch.nn.LSTM called as f(x, h0, c0), so check_layer can feed the state."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x, h0, c0):
        return self.m(x, (h0, c0))


class _LSTMWithState(nn.Module):
    """dlmath.nn.LSTM called as f(x, h0, c0); backward returns (dx, dh0, dc0)."""

    def __init__(self, layer):
        super().__init__()
        self.add_module("m", layer)

    def forward(self, x, h0, c0):
        return self._children["m"].forward(x, (h0, c0))

    def backward(self, dout):
        dx, (dh0, dc0) = self._children["m"].backward(dout)
        return dx, dh0, dc0


@st.composite
def problems(draw):
    kind = draw(st.sampled_from(sorted(KINDS)))
    N, T = draw(st.integers(1, 4)), draw(st.integers(1, 9))
    I, H = draw(st.integers(1, 5)), draw(st.integers(1, 6))
    bias, with_state = draw(st.booleans()), draw(st.booleans())
    G = KINDS[kind] * H
    params = {"weight_ih_l0": draw(arrays(np.float64, (G, I), elements=weights)),
              "weight_hh_l0": draw(arrays(np.float64, (G, H), elements=weights))}
    if bias:
        params["bias_ih_l0"] = draw(arrays(np.float64, (G,), elements=nonzero))
        params["bias_hh_l0"] = draw(arrays(np.float64, (G,), elements=nonzero))
    x = draw(arrays(np.float64, (N, T, I), elements=values))
    states = [draw(arrays(np.float64, (1, N, H), elements=values))
              for _ in range(2 if kind == "LSTM" else 1)] if with_state else []
    return kind, I, H, bias, params, x, states


@settings(max_examples=60, deadline=None)
@given(problem=problems())
def test_layers_match_torch(problem):
    kind, I, H, bias, params, x, states = problem
    tm = _torch_module(kind, I, H, bias)
    tm.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})
    layer = nn.from_torch(tm)
    assert sorted(layer.params) == sorted(dict(tm.named_parameters()))
    if kind == "LSTM" and states:
        check_layer(_LSTMWithState(layer), _TorchLSTMWithState(tm), x, *states,
                    rtol=RTOL, atol=ATOL, verbose=False)
    else:
        check_layer(layer, tm, x, *states, rtol=RTOL, atol=ATOL, verbose=False)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_long_sequence_with_states_matches_torch(kind):
    """T = 120: BPTT through many steps, gradients of outputs and final states."""
    torch.manual_seed(1)
    tm = _torch_module(kind, 3, 8, True)
    g = np.random.default_rng(2)
    x = g.standard_normal((5, 120, 3))
    states = [g.standard_normal((1, 5, 8)) for _ in range(2 if kind == "LSTM" else 1)]
    if kind == "LSTM":
        errs = check_layer(_LSTMWithState(nn.LSTM.from_torch(tm)),
                           _TorchLSTMWithState(tm), x, *states, rtol=RTOL, atol=ATOL,
                           verbose=False)
    else:
        errs = check_layer(nn.from_torch(tm), tm, x, *states, rtol=RTOL, atol=ATOL,
                           verbose=False)
    assert len(errs) == (3 if kind == "LSTM" else 2) + len(states) + 1 + 4


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_initialization_like_torch(cls):
    """Every parameter ~ U(-1/√H, 1/√H): the bound, and the variance 1/(3H)."""
    H, I = 50, 30
    layer = cls(I, H, rng=np.random.default_rng(0))
    tm = getattr(torch.nn, cls.__name__)(I, H, batch_first=True)
    assert {k: v.shape for k, v in layer.params.items()} == \
        {k: tuple(v.shape) for k, v in tm.named_parameters()}
    allw = np.concatenate([p.ravel() for p in layer.parameters()])
    k = 1 / math.sqrt(H)
    assert np.abs(allw).max() <= k
    assert abs(allw.var() / (k * k / 3) - 1) < 0.05
    assert abs(allw.mean()) < 0.05 * k


def test_no_bias_and_repr():
    layer = nn.GRU(3, 4, bias=False)
    assert sorted(layer.params) == ["weight_hh_l0", "weight_ih_l0"]
    assert "bias=False" in repr(layer)
    assert "relu" in repr(nn.RNN(2, 3, nonlinearity="relu"))


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_backward_none_parts_are_zeros_and_state_gradient_shapes(cls):
    g = np.random.default_rng(3)
    layer = cls(3, 4, rng=g)
    x = g.standard_normal((2, 5, 3))
    dout = g.standard_normal((2, 5, 4))
    layer.forward(x)
    dx_none = layer.backward((dout, None))
    zeros = np.zeros((1, 2, 4))
    layer.forward(x)
    dx_zero = layer.backward((dout, (zeros, zeros) if cls is nn.LSTM else zeros))
    np.testing.assert_array_equal(dx_none, dx_zero)
    state = (zeros, zeros) if cls is nn.LSTM else zeros
    layer.forward(x, state)
    dx, dstate = layer.backward((dout, None))
    assert dx.shape == x.shape
    for d in (dstate if cls is nn.LSTM else (dstate,)):
        assert d.shape == (1, 2, 4)


def test_functional_forms_agree_with_layers():
    g = np.random.default_rng(4)
    layer = nn.LSTM(3, 4, rng=g)
    x = g.standard_normal((2, 6, 3))
    out, (h_n, c_n) = layer.forward(x)
    p = layer.params
    out2, h2, c2 = F.lstm(x, None, None, p["weight_ih_l0"], p["weight_hh_l0"],
                          p["bias_ih_l0"], p["bias_hh_l0"])
    np.testing.assert_array_equal(out, out2)
    np.testing.assert_array_equal(h_n[0], h2)
    np.testing.assert_array_equal(c_n[0], c2)
    assert {"rnn_vjp", "lstm_vjp", "gru_vjp"} <= set(F.__all__)
    (o, h), vjp = F.gru_vjp(x, None, g.standard_normal((12, 3)),
                            g.standard_normal((12, 4)))
    dx, dh0, dW_ih, dW_hh, db_ih, db_hh = vjp((np.ones_like(o), None))
    assert dh0 is None and db_ih is None and db_hh is None and dx.shape == x.shape


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_bad_input_shapes(cls):
    name = cls.__name__
    layer = cls(3, 4)
    with pytest.raises(ValueError,
                       match=rf"{name}: x must have 2 or 3 dims .*got shape \(5,\)"):
        layer.forward(np.zeros(5))
    with pytest.raises(ValueError, match=rf"{name}: x must be \(N, T, input_size\) "
                                         rf".*input_size=3, got shape \(2, 5, 7\)"):
        layer.forward(np.zeros((2, 5, 7)))
    with pytest.raises(ValueError, match=r"got shape \(2, 0, 3\)"):
        layer.forward(np.zeros((2, 0, 3)))
    with pytest.raises(TypeError, match="torch.Tensor"):
        layer.forward(torch.zeros(2, 5, 3))
    bad = np.zeros((2, 4))                          # (N, H): torch's state is (1, N, H)
    state = (bad, np.zeros((1, 2, 4))) if cls is nn.LSTM else bad
    with pytest.raises(ValueError, match=rf"{name}: h0 must be \(num_layers·D, N, "
                                         rf"hidden_size\) = \(1, 2, 4\), "
                                         rf"got shape \(2, 4\)"):
        layer.forward(np.zeros((2, 5, 3)), state)
    wrong_n = np.zeros((1, 3, 4))
    state = (np.zeros((1, 2, 4)), wrong_n) if cls is nn.LSTM else wrong_n
    which = "c0" if cls is nn.LSTM else "h0"
    with pytest.raises(ValueError, match=rf"{which} must be .* got shape \(1, 3, 4\)"):
        layer.forward(np.zeros((2, 5, 3)), state)


def test_lstm_state_must_be_a_pair_and_backward_checks():
    layer = nn.LSTM(3, 4)
    with pytest.raises(ValueError,
                       match=r"LSTM: the initial state must be a tuple \(h0, c0\)"):
        layer.forward(np.zeros((2, 5, 3)), np.zeros((1, 2, 4)))
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward((np.zeros((2, 5, 4)), None))
    layer.forward(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match=r"dout must have the output's shape "
                                         r"\(2, 5, 4\), got \(2, 4, 4\)"):
        layer.backward((np.zeros((2, 4, 4)), None))
    layer.forward(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match="dout must be a tuple like the output"):
        layer.backward((np.zeros((2, 5, 4)), None, None))


def test_bad_constructor_and_torch_modules():
    with pytest.raises(ValueError, match="hidden_size must be >= 1"):
        nn.LSTM(3, 0)
    with pytest.raises(TypeError, match="batch_first must be a bool"):
        nn.GRU(3, 4, batch_first=None)
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="num_layers must be >= 1"):
        nn.LSTM(3, 4, num_layers=0)
    with pytest.raises(ValueError, match="dropout must be a probability"):
        nn.RNN(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="proj_size must be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match=r"h0 must be \(num_layers·D, N, hidden_size\)"
                                         r" = \(4, 2, 4\)"):
        nn.GRU(3, 4, num_layers=2, bidirectional=True)(np.zeros((2, 5, 3)),
                                                       np.zeros((1, 2, 4)))


def test_functional_bad_weights():
    x = np.zeros((2, 5, 3))
    with pytest.raises(ValueError, match=r"lstm: W_hh must be \(4·hidden, hidden\) = "
                                         r"\(16, 4\), got shape \(12, 4\)"):
        F.lstm(x, None, None, np.zeros((16, 3)), np.zeros((12, 4)))
    with pytest.raises(ValueError, match=r"gru: W_ih must have 3·hidden = 12 rows"):
        F.gru(x, None, np.zeros((8, 3)), np.zeros((12, 4)))
    with pytest.raises(ValueError, match=r"rnn: x must be \(N, T, input_size=2\)"):
        F.rnn(x, None, np.zeros((4, 2)), np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"rnn: b_hh must be \(4,\), got shape \(3,\)"):
        F.rnn(x, None, np.zeros((4, 3)), np.zeros((4, 4)), np.zeros(4), np.zeros(3))
    with pytest.raises(ValueError, match=r"gru: h0 must be \(N, hidden\) = \(2, 4\)"):
        F.gru(x, np.zeros((1, 2, 4)), np.zeros((12, 3)), np.zeros((12, 4)))
    (out, h), vjp = F.rnn_vjp(x, None, np.zeros((4, 3)), np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"rnn: vjp expects a tuple \(dout, dh_n\)"):
        vjp(np.zeros((2, 5, 4)))


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
@pytest.mark.parametrize("shape", [(1, 4, 3), (3, 1, 3), (2, 4, 3)])
def test_backward_leaves_inputs_and_cotangents_alone(cls, shape):
    """N = 1 or T = 1 makes the time-major copy a view: it must not be written."""
    g = np.random.default_rng(5)
    layer = cls(3, 4, rng=g)
    x = g.standard_normal(shape)
    dout = g.standard_normal(shape[:2] + (4,))
    x0, d0 = x.copy(), dout.copy()
    layer.forward(x)
    layer.backward((dout, None))
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(dout, d0)
