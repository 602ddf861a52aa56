"""Recurrent layers (Chapter 8): ``RNN``, ``LSTM``, ``GRU``, single layer, batch first.

Each mirrors its ``torch.nn`` twin built with ``num_layers=1, batch_first=True``:
the same parameter names (``weight_ih_l0`` (G·H, I), ``weight_hh_l0`` (G·H, H),
``bias_ih_l0``, ``bias_hh_l0`` (G·H,)), gate order (LSTM i, f, g, o; GRU r, z, n),
initialization (every parameter ~ U(-1/√H, 1/√H)) and call convention::

    out, h_n = rnn.forward(x, h0=None)              # x (N, T, I), h0 (1, N, H)
    out, (h_n, c_n) = lstm.forward(x, (h0, c0))     # out (N, T, H), h_n, c_n (1, N, H)
    dx = lstm.backward((dout, (dh_n, None)))        # cotangent shaped like the output

``backward`` takes a cotangent shaped like the output tuple (any part may be
None, meaning zero) and returns ``dx``; if ``forward`` was given an initial
state it returns ``(dx, dh0)`` (LSTM: ``(dx, (dh0, dc0))``), the gradient of
the initial state shaped like it, (1, N, H). Without one, the state starts at
zero and has no gradient, as in torch. The math, forward and BPTT backward,
is in ``dlmath.functional.recurrent``.
"""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .._validate import as_float_array, check_int
from . import init
from .module import Module

__all__ = ["RNN", "LSTM", "GRU"]

_SUFFIX = "_l0"


class _Recurrent(Module):
    """Shared parts: parameters, torch conversion, input and state checks."""

    _gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 batch_first: bool = True, rng=None):
        super().__init__()
        n = self._name
        self.input_size = check_int(input_size, n, "input_size", minimum=1)
        self.hidden_size = H = check_int(hidden_size, n, "hidden_size", minimum=1)
        if batch_first is not True:
            raise ValueError(f"{n}: only batch_first=True is supported "
                             f"(x is (N, T, I)), got batch_first={batch_first!r}")
        self.bias = bool(bias)
        G = self._gates * H
        k = 1 / math.sqrt(H)                   # like torch: all parameters U(-k, k)
        shapes = {"weight_ih_l0": (G, input_size), "weight_hh_l0": (G, H)}
        if bias:
            shapes.update(bias_ih_l0=(G,), bias_hh_l0=(G,))
        for name, shape in shapes.items():
            self._params[name] = init.uniform_(np.empty(shape), -k, k, rng)

    @classmethod
    def _check_torch(cls, module) -> None:
        problems = []
        if getattr(module, "num_layers", 1) != 1:
            problems.append(f"num_layers={module.num_layers}")
        if getattr(module, "bidirectional", False):
            problems.append("bidirectional=True")
        if not getattr(module, "batch_first", False):
            problems.append("batch_first=False")
        if getattr(module, "proj_size", 0):
            problems.append(f"proj_size={module.proj_size}")
        if problems:
            raise ValueError(f"{cls.__name__}.from_torch: dlmath mirrors single-layer, "
                             f"unidirectional, batch_first=True modules without "
                             f"projection; got {', '.join(problems)}")

    def _check_x(self, x) -> np.ndarray:
        x = self._input(x, ndim=3, layout="(N, T, input_size), batch first")
        if x.shape[2] != self.input_size or x.shape[1] < 1:
            raise ValueError(f"{self._name}: x must be (N, T >= 1, "
                             f"input_size={self.input_size}), got shape {x.shape}")
        return x

    def _check_state(self, s, name: str, N: int) -> np.ndarray:
        s = as_float_array(s, self._name, name)
        want = (1, N, self.hidden_size)
        if s.shape != want:
            raise ValueError(f"{self._name}: {name} must be (num_layers=1, N={N}, "
                             f"hidden_size={self.hidden_size}) = {want}, "
                             f"got shape {s.shape}")
        return s[0]

    def _weights(self) -> tuple:
        p = self._params
        return (p["weight_ih_l0"], p["weight_hh_l0"], p.get("bias_ih_l0"),
                p.get("bias_hh_l0"))

    @staticmethod
    def _grads_of(dW_ih, dW_hh, db_ih, db_hh) -> dict:
        g = {"weight_ih_l0": dW_ih, "weight_hh_l0": dW_hh}
        if db_ih is not None:
            g.update(bias_ih_l0=db_ih, bias_hh_l0=db_hh)
        return g

    def backward(self, dout):
        """``dout``: the output's gradient alone (the states' taken as zero, like
        torch's ``out.backward(g)``), or a tuple shaped like the output whose
        parts may be None."""
        if not isinstance(dout, tuple):
            dout = (dout, None)
        return super().backward(dout)

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, batch_first=True"
                + ("" if self.bias else ", bias=False"))


class RNN(_Recurrent):
    """Elman RNN ``h_t = φ(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)``, φ = tanh or relu.

    ``forward(x, h0=None) -> (out, h_n)``; BPTT in ``dlmath.functional.rnn_vjp``.
    """

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = True, rng=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', "
                             f"got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, batch_first, rng)

    @classmethod
    def from_torch(cls, module) -> "RNN":
        cls._check_torch(module)
        layer = cls(module.input_size, module.hidden_size, module.nonlinearity,
                    module.bias)
        return layer._load_torch(module)

    def forward(self, x, h0=None):
        x = self._check_x(x)
        h = None if h0 is None else self._check_state(h0, "h0", x.shape[0])
        (out, h_n), vjp = F.rnn_vjp(x, h, *self._weights(),
                                    nonlinearity=self.nonlinearity)

        def backward(dy):                          # BPTT, dlmath.functional.rnn_vjp
            dout, dh_n = dy
            dx, dh0, *dp = vjp((dout, None if dh_n is None else dh_n[0]))
            return ((dx,) if h0 is None else (dx, dh0[None])), self._grads_of(*dp)
        return self._save((out, h_n[None]), backward)

    def extra_repr(self) -> str:
        return super().extra_repr() + (", nonlinearity='relu'"
                                       if self.nonlinearity == "relu" else "")


class LSTM(_Recurrent):
    """LSTM, gates i, f, g, o: c_t = f c_(t-1) + i g, h_t = o tanh(c_t).

    ``forward(x, hc0=None) -> (out, (h_n, c_n))`` with ``hc0 = (h0, c0)``, each
    (1, N, H); ``backward((dout, (dh_n, dc_n)))`` -> ``dx``, or ``(dx, (dh0, dc0))``
    if hc0 was given.
    """

    _gates = 4

    @classmethod
    def from_torch(cls, module) -> "LSTM":
        cls._check_torch(module)
        layer = cls(module.input_size, module.hidden_size, module.bias)
        return layer._load_torch(module)

    def forward(self, x, hc0=None):
        x = self._check_x(x)
        if hc0 is None:
            h, c = None, None
        else:
            if not isinstance(hc0, (tuple, list)) or len(hc0) != 2:
                raise ValueError(f"LSTM: the initial state must be a tuple (h0, c0), "
                                 f"got {type(hc0).__name__}")
            h = self._check_state(hc0[0], "h0", x.shape[0])
            c = self._check_state(hc0[1], "c0", x.shape[0])
        (out, h_n, c_n), vjp = F.lstm_vjp(x, h, c, *self._weights())

        def backward(dy):                          # BPTT, dlmath.functional.lstm_vjp
            dout, dstate = dy
            dh_n, dc_n = (None, None) if dstate is None else dstate
            dx, dh0, dc0, *dp = vjp((dout, None if dh_n is None else dh_n[0],
                                     None if dc_n is None else dc_n[0]))
            dinputs = (dx,) if hc0 is None else (dx, (dh0[None], dc0[None]))
            return dinputs, self._grads_of(*dp)
        return self._save((out, (h_n[None], c_n[None])), backward)


class GRU(_Recurrent):
    """Gated recurrent unit, gates r, z, n: h_t = (1 - z) n + z h_(t-1),
    n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_(t-1) + b_hn)).

    ``forward(x, h0=None) -> (out, h_n)``; BPTT in ``dlmath.functional.gru_vjp``.
    """

    _gates = 3

    @classmethod
    def from_torch(cls, module) -> "GRU":
        cls._check_torch(module)
        layer = cls(module.input_size, module.hidden_size, module.bias)
        return layer._load_torch(module)

    def forward(self, x, h0=None):
        x = self._check_x(x)
        h = None if h0 is None else self._check_state(h0, "h0", x.shape[0])
        (out, h_n), vjp = F.gru_vjp(x, h, *self._weights())

        def backward(dy):                          # BPTT, dlmath.functional.gru_vjp
            dout, dh_n = dy
            dx, dh0, *dp = vjp((dout, None if dh_n is None else dh_n[0]))
            return ((dx,) if h0 is None else (dx, dh0[None])), self._grads_of(*dp)
        return self._save((out, h_n[None]), backward)
