"""Recurrent layers (Chapter 8): ``RNN``, ``LSTM``, ``GRU``, with torch's options.

Each mirrors its ``torch.nn`` twin: the same parameter names (``weight_ih_l{k}``
(G·H, I_k), ``weight_hh_l{k}`` (G·H, H), ``bias_ih_l{k}``, ``bias_hh_l{k}``
(G·H,), with the suffix ``_reverse`` for the backward direction), gate order
(LSTM i, f, g, o; GRU r, z, n), initialization (every parameter ~ U(-1/√H, 1/√H))
and call convention::

    out, h_n = rnn.forward(x, h0=None)              # x (N, T, I), h0 (D·L, N, H)
    out, (h_n, c_n) = lstm.forward(x, (h0, c0))     # out (N, T, D·H)
    dx = lstm.backward(dout)                        # or (dout, (dh_n, dc_n))

with L = ``num_layers`` and D = 2 if ``bidirectional`` else 1. The layouts:
``batch_first=True`` (dlmath's default, the chapters' layout) reads x as
(N, T, I); ``batch_first=False`` (torch's default) as (T, N, I); a 2-d x
(T, I) is one unbatched sequence, with states (D·L, H).

The options are compositions of the single-layer BPTT of
``dlmath.functional.recurrent``, and so are their backward passes:

- *bidirectional*: a second network reads the sequence reversed,
  h⃖_t = cell(x_t, h⃖_(t+1)); the output is the concatenation [h⃗_t, h⃖_t]
  (N, T, 2H). Its backward splits dout into its two halves and runs each
  direction's BPTT (the reverse one on the reversed sequence); the input
  gradient is the sum of the two.
- *stacked layers*: layer k + 1 reads layer k's output sequence,
  u_(k+1) = f_k(u_k), so the backward is the chain rule of a composition: the
  input gradient of layer k + 1's BPTT is the output gradient of layer k's.
  h_n stacks the final states of every layer (and direction), index D·k + d.
- *dropout* between layers (not after the last, as torch): in training,
  u_(k+1) = f_k(u_k) ⊙ m_k/(1 - p); its VJP multiplies by the same factor.
  ``forward(..., dropout_masks=[m_0, ..., m_(L-2)])`` (True = keep) replaces the
  random draw (``dlmath.rng``), e.g. to reproduce a given mask; evaluation or
  p = 0 is the identity.

``backward`` takes the output's gradient alone (the states' taken as zero, like
torch's ``out.backward(g)``) or a cotangent shaped like the output tuple (any
part may be None, meaning zero), and returns ``dx``; if ``forward`` was given
an initial state it returns ``(dx, dh0)`` (LSTM: ``(dx, (dh0, dc0))``) shaped
like it. Without one, the state starts at zero and has no gradient, as in torch.
"""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .._validate import as_float_array, check_int
from . import init
from .module import Module

__all__ = ["RNN", "LSTM", "GRU"]


class _Recurrent(Module):
    """Shared parts: parameters, torch conversion, layouts, layers and directions."""

    _gates = 1
    _nstates = 1
    proj_size = 0

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 batch_first: bool = True, rng=None, *, num_layers: int = 1,
                 dropout: float = 0.0, bidirectional: bool = False):
        super().__init__()
        n = self._name
        self.input_size = check_int(input_size, n, "input_size", minimum=1)
        self.hidden_size = H = check_int(hidden_size, n, "hidden_size", minimum=1)
        self.num_layers = check_int(num_layers, n, "num_layers", minimum=1)
        if not isinstance(batch_first, (bool, np.bool_)):
            raise TypeError(f"{n}: batch_first must be a bool, got {batch_first!r}")
        if not isinstance(bidirectional, (bool, np.bool_)):
            raise TypeError(f"{n}: bidirectional must be a bool, "
                            f"got {bidirectional!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) \
                or not 0 <= dropout <= 1:
            raise ValueError(f"{n}: dropout must be a probability in [0, 1], "
                             f"got {dropout!r}")
        self.batch_first, self.bidirectional = bool(batch_first), bool(bidirectional)
        self.dropout, self.bias, self.rng = float(dropout), bool(bias), rng
        self.dropout_masks = None
        D = 2 if bidirectional else 1
        G = self._gates * H
        Ho = self._hout                        # proj_size if the LSTM projects, else H
        k = 1 / math.sqrt(H)                   # like torch: all parameters U(-k, k)
        for layer in range(self.num_layers):
            width = input_size if layer == 0 else D * Ho
            for sfx in self._suffixes()[layer * D:(layer + 1) * D]:
                shapes = {f"weight_ih{sfx}": (G, width), f"weight_hh{sfx}": (G, Ho)}
                if bias:
                    shapes.update({f"bias_ih{sfx}": (G,), f"bias_hh{sfx}": (G,)})
                if self.proj_size:
                    shapes[f"weight_hr{sfx}"] = (self.proj_size, H)
                for name, shape in shapes.items():
                    self._params[name] = init.uniform_(np.empty(shape), -k, k, rng)

    @property
    def _hout(self) -> int:
        return self.proj_size or self.hidden_size

    def _suffixes(self) -> list:
        """``_l{k}`` and ``_l{k}_reverse`` in torch's order: index D·k + d."""
        dirs = ("", "_reverse") if self.bidirectional else ("",)
        return [f"_l{k}{d}" for k in range(self.num_layers) for d in dirs]

    @classmethod
    def _torch_kwargs(cls, module) -> dict:
        return dict(bias=module.bias, batch_first=module.batch_first,
                    num_layers=module.num_layers, dropout=float(module.dropout),
                    bidirectional=module.bidirectional)

    # ------------------------------------------------------------ layouts
    def _check_x(self, x) -> tuple[np.ndarray, bool]:
        """x as (N, T, I) batch first, and whether it was unbatched."""
        lay = "(N, T, input_size)" if self.batch_first else "(T, N, input_size)"
        x = self._input(x, ndim=(2, 3), layout=f"{lay} or (T, input_size)")
        unbatched = x.ndim == 2
        xb = x[None] if unbatched else (x if self.batch_first else x.transpose(1, 0, 2))
        if xb.shape[2] != self.input_size or xb.shape[1] < 1:
            raise ValueError(f"{self._name}: x must be {lay} (or (T, input_size) "
                             f"unbatched) with T >= 1 and input_size="
                             f"{self.input_size}, got shape {x.shape}")
        return xb, unbatched

    def _out_layout(self, out: np.ndarray, unbatched: bool) -> np.ndarray:
        if unbatched:
            return out[0]
        return out if self.batch_first else np.ascontiguousarray(out.transpose(1, 0, 2))

    def _in_layout(self, dout: np.ndarray, unbatched: bool) -> np.ndarray:
        if unbatched:
            return dout[None]
        return dout if self.batch_first else dout.transpose(1, 0, 2)

    def _check_state(self, s, name: str, N: int, unbatched: bool) -> np.ndarray:
        """A state as (D·L, N, H) (h0 of a projecting LSTM: (D·L, N, proj_size))."""
        s = as_float_array(s, self._name, name)
        DL = len(self._suffixes())
        size, what = (self.proj_size, "proj_size") if name == "h0" and \
            self.proj_size else (self.hidden_size, "hidden_size")
        want = (DL, size) if unbatched else (DL, N, size)
        if s.shape != want:
            lay = f"(num_layers·D, {what})" if unbatched else \
                f"(num_layers·D, N, {what})"
            raise ValueError(f"{self._name}: {name} must be {lay} = {want}, "
                             f"got shape {s.shape}")
        return s[:, None] if unbatched else s

    def _weights(self, sfx: str) -> tuple:
        p = self._params
        w = (p[f"weight_ih{sfx}"], p[f"weight_hh{sfx}"], p.get(f"bias_ih{sfx}"),
             p.get(f"bias_hh{sfx}"))
        return w + ((p[f"weight_hr{sfx}"],) if self.proj_size else ())

    def _masks(self, masks, shape: tuple) -> list:
        """The dropout masks between layers (None: no dropout there)."""
        L, p = self.num_layers, self.dropout
        if not self.training or p == 0 or L == 1:
            if masks is not None and self.training and L > 1:
                raise ValueError(f"{self._name}: dropout_masks given but dropout=0")
            return [None] * (L - 1)
        if masks is None:
            from .._random import rng as default_rng
            g = self.rng or default_rng
            return [g.random(shape) >= p for _ in range(L - 1)]
        if not isinstance(masks, (list, tuple)) or len(masks) != L - 1:
            raise ValueError(f"{self._name}: dropout_masks must be a list of "
                             f"num_layers - 1 = {L - 1} masks, got {masks!r:.60}")
        out = []
        for m in masks:
            m = np.asarray(m)
            if m.shape != shape:
                raise ValueError(f"{self._name}: each dropout mask must have the "
                                 f"layer output's shape {shape} (N, T, D·H), got "
                                 f"{m.shape}")
            out.append(m.astype(bool))
        return out

    # ------------------------------------------------------------ the composition
    def _run(self, x, states, masks):
        """Every layer and direction; returns out (N, T, D·H), the final states
        (one (D·L, N, H) array per state) and the backward closure."""
        D = 2 if self.bidirectional else 1
        H = self._hout
        sfx = self._suffixes()
        vjps, finals, scales = [], [[] for _ in range(self._nstates)], []
        u = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                i = layer * D + d
                s0 = [None if s is None else s[i] for s in states]
                seq = u if d == 0 else u[:, ::-1]
                outs_i, vjp = self._cell(seq, s0, self._weights(sfx[i]))
                out = outs_i[0] if d == 0 else outs_i[0][:, ::-1]
                outs.append(out)
                for k, f in enumerate(outs_i[1:]):
                    finals[k].append(f)
                vjps.append(vjp)
            u = outs[0] if D == 1 else np.concatenate(outs, axis=2)
            if layer < self.num_layers - 1 and masks[layer] is not None:
                p = self.dropout
                scale = np.where(masks[layer], 1 / (1 - p) if p < 1 else 0.0, 0.0)
                u = u * scale
                scales.append(scale)
            else:
                scales.append(None)
        finals = [np.stack(f) for f in finals]

        def backward(dout, dfinals):
            grads, dstates = {}, [np.zeros(f.shape) for f in finals]
            g = dout
            for layer in range(self.num_layers - 1, -1, -1):
                if scales[layer] is not None:
                    g = g * scales[layer]               # dropout's VJP: the same factor
                dx = 0
                for d in range(D):
                    i = layer * D + d
                    gd = g[..., d * H:(d + 1) * H]
                    if d == 1:
                        gd = gd[:, ::-1]
                    df = [None if s is None else s[i] for s in dfinals]
                    dseq, ds0, dparams = vjps[i](gd, df)
                    dx = dx + (dseq if d == 0 else dseq[:, ::-1])
                    for k, s in enumerate(ds0):
                        if s is not None:
                            dstates[k][i] = s
                    grads.update(zip((f"weight_ih{sfx[i]}", f"weight_hh{sfx[i]}",
                                      f"bias_ih{sfx[i]}", f"bias_hh{sfx[i]}",
                                      f"weight_hr{sfx[i]}"), dparams))
                g = dx
            grads = {k: v for k, v in grads.items() if v is not None}
            return g, dstates, grads
        return u, finals, backward

    def _forward(self, x, states: list, dropout_masks):
        xb, unbatched = self._check_x(x)
        N = xb.shape[0]
        given = [s is not None for s in states]
        st = [None if s is None else
              self._check_state(s, name, N, unbatched)
              for s, name in zip(states, ("h0", "c0"))]
        D = 2 if self.bidirectional else 1
        masks = self._masks(dropout_masks, (N, xb.shape[1], D * self._hout))
        self.dropout_masks = masks if any(m is not None for m in masks) else None
        out, finals, backward = self._run(xb, st, masks)
        lay_out = self._out_layout(out, unbatched)
        lay_finals = [f[:, 0] if unbatched else f for f in finals]

        def vjp(dy):
            dout, dfin = dy
            dout = np.zeros(out.shape) if dout is None else \
                self._in_layout(dout, unbatched)
            dfin = [None if d is None else (d[:, None] if unbatched else d)
                    for d in dfin]
            dx, dstates, grads = backward(dout, dfin)
            dx = self._out_layout(dx, unbatched)
            ds = [d[:, 0] if unbatched else d for d in dstates]
            if not any(given):
                return (dx,), grads
            return (dx, self._pack_states(ds)), grads
        return lay_out, lay_finals, vjp

    def backward(self, dout):
        """``dout``: the output's gradient alone (the states' taken as zero, like
        torch's ``out.backward(g)``), or a tuple shaped like the output whose
        parts may be None."""
        if not isinstance(dout, tuple):
            dout = (dout, None)
        return super().backward(dout)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, batch_first={self.batch_first}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s + ("" if self.bias else ", bias=False")


class RNN(_Recurrent):
    """Elman RNN ``h_t = φ(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)``, φ = tanh or relu.

    ``forward(x, h0=None, *, dropout_masks=None) -> (out, h_n)``; BPTT in
    ``dlmath.functional.rnn_vjp``. ``RNN(input_size, hidden_size,
    nonlinearity="tanh", bias=True, batch_first=True, rng=None, *,
    num_layers=1, dropout=0.0, bidirectional=False)``.
    """

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = True, rng=None, *,
                 num_layers: int = 1, dropout: float = 0.0,
                 bidirectional: bool = False):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', "
                             f"got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, batch_first, rng,
                         num_layers=num_layers, dropout=dropout,
                         bidirectional=bidirectional)

    @classmethod
    def from_torch(cls, module) -> "RNN":
        layer = cls(module.input_size, module.hidden_size, module.nonlinearity,
                    **cls._torch_kwargs(module))
        return layer._load_torch(module)

    def _cell(self, x, s0, weights):
        (out, h_n), vjp = F.rnn_vjp(x, s0[0], *weights,
                                    nonlinearity=self.nonlinearity)

        def back(dout, df):
            dx, dh0, *dp = vjp((dout, df[0]))
            return dx, [dh0], dp
        return (out, h_n), back

    def _pack_states(self, ds):
        return ds[0]

    def forward(self, x, h0=None, *, dropout_masks=None):
        out, (h_n,), vjp = self._forward(x, [h0], dropout_masks)
        return self._save((out, h_n), lambda dy: vjp((dy[0], [dy[1]])))

    def extra_repr(self) -> str:
        return super().extra_repr() + (", nonlinearity='relu'"
                                       if self.nonlinearity == "relu" else "")


class LSTM(_Recurrent):
    """LSTM, gates i, f, g, o: c_t = f c_(t-1) + i g, h_t = o tanh(c_t).

    ``forward(x, hc0=None, *, dropout_masks=None) -> (out, (h_n, c_n))`` with
    ``hc0 = (h0, c0)``, each (D·L, N, H); ``backward(dout)`` or
    ``backward((dout, (dh_n, dc_n)))`` -> ``dx``, or ``(dx, (dh0, dc0))`` if hc0
    was given. ``proj_size`` = P > 0: an LSTM with projections,
    h_t = W_hr (o ⊙ tanh c_t) of size P (``weight_hr_l{k}`` (P, H); W_hh is
    (4H, P); h0 (D·L, N, P), c0 (D·L, N, H)), BPTT in
    ``dlmath.functional.lstm_proj_vjp``.
    """

    _gates = 4
    _nstates = 2

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 batch_first: bool = True, rng=None, *, num_layers: int = 1,
                 dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0):
        self.proj_size = check_int(proj_size, "LSTM", "proj_size", minimum=0)
        if proj_size and proj_size >= check_int(hidden_size, "LSTM", "hidden_size",
                                                minimum=1):
            raise ValueError(f"LSTM: proj_size must be smaller than hidden_size="
                             f"{hidden_size}, got {proj_size}")
        super().__init__(input_size, hidden_size, bias, batch_first, rng,
                         num_layers=num_layers, dropout=dropout,
                         bidirectional=bidirectional)

    @classmethod
    def from_torch(cls, module) -> "LSTM":
        layer = cls(module.input_size, module.hidden_size, **cls._torch_kwargs(module),
                    proj_size=module.proj_size)
        return layer._load_torch(module)

    def _cell(self, x, s0, weights):
        if self.proj_size:
            (out, h_n, c_n), vjp = F.lstm_proj_vjp(x, s0[0], s0[1], *weights)
        else:
            (out, h_n, c_n), vjp = F.lstm_vjp(x, s0[0], s0[1], *weights)

        def back(dout, df):
            dx, dh0, dc0, *dp = vjp((dout, df[0], df[1]))
            return dx, [dh0, dc0], dp
        return (out, h_n, c_n), back

    def _pack_states(self, ds):
        return (ds[0], ds[1])

    def forward(self, x, hc0=None, *, dropout_masks=None):
        if hc0 is None:
            h, c = None, None
        else:
            if not isinstance(hc0, (tuple, list)) or len(hc0) != 2:
                raise ValueError(f"LSTM: the initial state must be a tuple (h0, c0), "
                                 f"got {type(hc0).__name__}")
            h, c = hc0
            if h is None or c is None:
                raise ValueError("LSTM: give both h0 and c0 (or neither)")
        out, (h_n, c_n), vjp = self._forward(x, [h, c], dropout_masks)

        def backward(dy):
            dout, dstate = dy
            dh_n, dc_n = (None, None) if dstate is None else dstate
            return vjp((dout, [dh_n, dc_n]))
        return self._save((out, (h_n, c_n)), backward)


class GRU(_Recurrent):
    """Gated recurrent unit, gates r, z, n: h_t = (1 - z) n + z h_(t-1),
    n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_(t-1) + b_hn)).

    ``forward(x, h0=None, *, dropout_masks=None) -> (out, h_n)``; BPTT in
    ``dlmath.functional.gru_vjp``.
    """

    _gates = 3

    @classmethod
    def from_torch(cls, module) -> "GRU":
        layer = cls(module.input_size, module.hidden_size, **cls._torch_kwargs(module))
        return layer._load_torch(module)

    def _cell(self, x, s0, weights):
        (out, h_n), vjp = F.gru_vjp(x, s0[0], *weights)

        def back(dout, df):
            dx, dh0, *dp = vjp((dout, df[0]))
            return dx, [dh0], dp
        return (out, h_n), back

    def _pack_states(self, ds):
        return ds[0]

    def forward(self, x, h0=None, *, dropout_masks=None):
        out, (h_n,), vjp = self._forward(x, [h0], dropout_masks)
        return self._save((out, h_n), lambda dy: vjp((dy[0], [dy[1]])))
