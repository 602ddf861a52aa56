"""Recurrent networks (Chapter 8): a whole sequence forward, and its BPTT backward.

Each ``*_vjp`` function runs a single-layer recurrent network over a batch of
sequences, batch first like ``torch.nn.RNN/LSTM/GRU(..., batch_first=True)``,
and returns its outputs with the closure ``vjp`` of backpropagation through
time (BPTT)::

    (out, h_n), vjp = rnn_vjp(x, h0, W_ih, W_hh, b_ih, b_hh)
    dx, dh0, dW_ih, dW_hh, db_ih, db_hh = vjp((dout, dh_n))

Shapes: x (N, T, I); the states h0, h_n, c0, c_n (N, H); out (N, T, H), the
hidden state at every step; W_ih (G·H, I), W_hh (G·H, H), b_ih, b_hh (G·H,),
where G = 1 (RNN), 4 (LSTM, gates stacked in torch's order i, f, g, o) or
3 (GRU, gates r, z, n). Biases may be None (torch's ``bias=False``), and
h0/c0 None means zeros; an absent input gets the gradient None. A cotangent
part may be None (zero): ``vjp((dout, None))`` is the loss on the outputs only.

How the loops stay fast (a step at batch 32, hidden 64 is bound by call
overhead, not arithmetic): the input projection of all T steps is one matrix
product before the loop; arrays are time-major (T, N, ·) so that each step's
slice is contiguous, and are allocated once; a step does one (N, H) x (H, G·H)
product and a few in-place elementwise operations; every weight gradient is
one matrix product after the backward loop. The LSTM computes its three
sigmoids and its tanh with one ``tanh`` call, using σ(a) = (1 + tanh(a/2))/2
on rows scaled by 1/2 beforehand (exact: scaling by a power of two rounds
nothing).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .._validate import as_float_array
from .dense import check_dout

__all__ = ["rnn_vjp", "rnn", "lstm_vjp", "lstm", "gru_vjp", "gru"]

VJP = Callable[[tuple], tuple]


# --------------------------------------------------------------------------- checks
def _check(fn: str, x, states: dict, W_ih, W_hh, b_ih, b_hh, gates: int):
    """Validate shapes; return x, the states, the weights (all of one float dtype)."""
    x = as_float_array(x, fn, "x", ndim=3, layout="(N, T, input_size), batch first")
    W_ih = as_float_array(W_ih, fn, "W_ih", ndim=2,
                          layout=f"({gates}·hidden, input_size)")
    W_hh = as_float_array(W_hh, fn, "W_hh", ndim=2, layout=f"({gates}·hidden, hidden)")
    H = W_hh.shape[1]
    if W_hh.shape != (gates * H, H):
        raise ValueError(f"{fn}: W_hh must be ({gates}·hidden, hidden) = "
                         f"({gates * H}, {H}), got shape {W_hh.shape}")
    if W_ih.shape[0] != gates * H:
        raise ValueError(f"{fn}: W_ih must have {gates}·hidden = {gates * H} rows "
                         f"like W_hh, got shape {W_ih.shape}")
    N, T, I = x.shape
    if I != W_ih.shape[1]:
        raise ValueError(f"{fn}: x must be (N, T, input_size={W_ih.shape[1]}), "
                         f"got shape {x.shape}")
    if T < 1:
        raise ValueError(f"{fn}: x must hold at least one time step, "
                         f"got shape {x.shape}")
    dtype = np.result_type(x, W_ih, W_hh)
    bs = []
    for name, b in (("b_ih", b_ih), ("b_hh", b_hh)):
        if b is not None:
            b = as_float_array(b, fn, name)
            if b.shape != (gates * H,):
                raise ValueError(f"{fn}: {name} must be ({gates * H},), "
                                 f"got shape {b.shape}")
            dtype = np.result_type(dtype, b)
        bs.append(b)
    out = {}
    for name, s in states.items():
        if s is not None:
            s = as_float_array(s, fn, name)
            if s.shape != (N, H):
                raise ValueError(f"{fn}: {name} must be (N, hidden) = ({N}, {H}), "
                                 f"got shape {s.shape}")
            dtype = np.result_type(dtype, s)
        out[name] = s
    cast = lambda a: None if a is None else a.astype(dtype, copy=False)  # noqa: E731
    return (cast(x), {k: cast(v) for k, v in out.items()}, cast(W_ih), cast(W_hh),
            cast(bs[0]), cast(bs[1]), dtype)


def _cotangents(dy, shapes: list, names: list, fn: str, dtype) -> list:
    """The cotangent tuple, each part checked against its output's shape."""
    if not isinstance(dy, (tuple, list)) or len(dy) != len(shapes):
        raise ValueError(f"{fn}: vjp expects a tuple ({', '.join(names)}) like the "
                         f"outputs (parts may be None), got {type(dy).__name__}")
    return [None if d is None else check_dout(d, s, fn).astype(dtype, copy=False)
            for d, s in zip(dy, shapes)]


def _time_major(x: np.ndarray) -> np.ndarray:
    """(N, T, F) -> contiguous (T, N, F): each step's slice is one contiguous block."""
    return np.ascontiguousarray(x.transpose(1, 0, 2))


def _batch_first(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a.transpose(1, 0, 2))


def _projection(xt: np.ndarray, W_ih: np.ndarray, b) -> np.ndarray:
    """x_t W_ihᵀ + b for all T steps at once: one (T·N, I) x (I, G·H) product."""
    T, N, I = xt.shape
    A = xt.reshape(T * N, I) @ W_ih.T
    if b is not None:
        A += b
    return A.reshape(T, N, W_ih.shape[0])


def _weight_grads(dA: np.ndarray, inputs: np.ndarray, W: np.ndarray):
    """dW = Σ_t Σ_n dA_tn u_tnᵀ, inputs u = x_t or h_(t-1): one matrix product."""
    G = dA.shape[-1]
    return dA.reshape(-1, G).T @ inputs.reshape(-1, W.shape[1])


def _sum_bias(dA: np.ndarray, b):
    return None if b is None else dA.reshape(-1, dA.shape[-1]).sum(axis=0)


# --------------------------------------------------------------------------- RNN
def rnn_vjp(x, h0, W_ih, W_hh, b_ih=None, b_hh=None,
            nonlinearity: str = "tanh") -> tuple[tuple, VJP]:
    """Elman RNN ``h_t = φ(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)``, φ = tanh or relu.

    Returns ``(out, h_n)`` and ``vjp((dout, dh_n)) -> (dx, dh0, dW_ih, dW_hh, db_ih,
    db_hh)``. BPTT: with a_t the pre-activation and g_t = dout_t + W_hhᵀ da_(t+1)
    the gradient reaching h_t (from its output and from step t + 1),
    da_t = g_t ⊙ φ'(a_t); then dW_hh = Σ_t da_t h_(t-1)ᵀ,
    dW_ih = Σ_t da_t x_tᵀ, db = Σ_t da_t, dx_t = W_ihᵀ da_t, dh0 = W_hhᵀ da_1.
    Same as ``torch.nn.RNN(I, H, nonlinearity=..., batch_first=True)``.
    """
    fn = "rnn"
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{fn}: nonlinearity must be 'tanh' or 'relu', "
                         f"got {nonlinearity!r}")
    x, st, W_ih, W_hh, b_ih, b_hh, dtype = _check(fn, x, {"h0": h0}, W_ih, W_hh, b_ih,
                                                  b_hh, 1)
    h0 = st["h0"]
    N, T, I = x.shape
    H = W_hh.shape[1]
    xt = _time_major(x)
    hs = np.empty((T + 1, N, H), dtype)            # hs[t] = h_t, hs[0] = h0
    hs[0] = 0 if h0 is None else h0
    b = None if b_ih is None and b_hh is None else \
        (0 if b_ih is None else b_ih) + (0 if b_hh is None else b_hh)
    hs[1:] = _projection(xt, W_ih, b)              # W_ih x_t + b for all t at once
    W_hhT = np.ascontiguousarray(W_hh.T)
    buf = np.empty((N, H), dtype)
    for t in range(T):
        a = hs[t + 1]
        a += np.matmul(hs[t], W_hhT, out=buf)      # + W_hh h_(t-1)
        if nonlinearity == "tanh":
            np.tanh(a, out=a)
        else:
            np.maximum(a, 0, out=a)
    out, h_n = _batch_first(hs[1:]), hs[T].copy()

    def vjp(dy):
        dout, dh_n = _cotangents(dy, [out.shape, h_n.shape], ["dout", "dh_n"], fn,
                                 dtype)
        # a copy: dA is written in place, and dout must stay the caller's
        dA = (np.zeros((T, N, H), dtype) if dout is None
              else dout.transpose(1, 0, 2).copy())
        dh = np.zeros((N, H), dtype) if dh_n is None else dh_n.copy()
        for t in range(T - 1, -1, -1):
            da = dA[t]
            da += dh                               # g_t = dout_t + W_hhᵀ da_(t+1)
            h = hs[t + 1]
            if nonlinearity == "tanh":
                da *= 1 - h * h                    # tanh'(a) = 1 - h²
            else:
                da *= h > 0                        # relu'(a) = [a > 0] = [h > 0]
            np.matmul(da, W_hh, out=dh)            # gradient reaching h_(t-1)
        dx = _batch_first((dA.reshape(T * N, H) @ W_ih).reshape(T, N, I))
        dW_ih = _weight_grads(dA, xt, W_ih)
        dW_hh = _weight_grads(dA, hs[:T], W_hh)
        return (dx, None if h0 is None else dh, dW_ih, dW_hh, _sum_bias(dA, b_ih),
                _sum_bias(dA, b_hh))
    return (out, h_n), vjp


def rnn(x, h0, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity: str = "tanh") -> tuple:
    """The Elman RNN's ``(out, h_n)`` (see ``rnn_vjp``)."""
    return rnn_vjp(x, h0, W_ih, W_hh, b_ih, b_hh, nonlinearity)[0]


# --------------------------------------------------------------------------- LSTM
def _lstm_consts(H: int, dtype):
    """Per-column constants of the (N, 4H) gate block, order i, f, g, o."""
    rep = lambda v: np.repeat(np.asarray(v, dtype), H)  # noqa: E731
    scale = rep([0.5, 0.5, 1.0, 0.5])   # σ(a) = ½ tanh(a/2) + ½: halve sigmoid rows
    shift = rep([0.5, 0.5, 0.0, 0.5])
    slope = rep([1.0, 1.0, 0.0, 1.0])   # derivative = act (slope - act) + const:
    const = rep([0.0, 0.0, 1.0, 0.0])   # σ' = σ(1 - σ), tanh' = 1 - tanh²
    return scale, shift, slope, const


def lstm_vjp(x, h0, c0, W_ih, W_hh, b_ih=None, b_hh=None) -> tuple[tuple, VJP]:
    """LSTM over a sequence, torch's gate order i, f, g, o. Returns ``(out, h_n, c_n)``.

    Per step, with a_t = W_ih x_t + b_ih + W_hh h_(t-1) + b_hh split in four:
    i, f, o = σ(a_i), σ(a_f), σ(a_o); g = tanh(a_g);
    c_t = f ⊙ c_(t-1) + i ⊙ g;  h_t = o ⊙ tanh(c_t).
    ``vjp((dout, dh_n, dc_n)) -> (dx, dh0, dc0, dW_ih, dW_hh, db_ih, db_hh)``. BPTT,
    backwards in t, with dh the gradient reaching h_t (dout_t plus W_hhᵀ da_(t+1))
    and dc the one reaching c_t from step t + 1:
    dc += dh ⊙ o ⊙ (1 - tanh² c_t);  do = dh ⊙ tanh c_t;  di = dc ⊙ g;
    dg = dc ⊙ i;  df = dc ⊙ c_(t-1);  dc_(t-1) = dc ⊙ f (the additive path);
    da = [di, df, dg, do] ⊙ [σ', σ', tanh', σ'];  dh_(t-1) = W_hhᵀ da.
    Same as ``torch.nn.LSTM(I, H, batch_first=True)`` with ``(h0, c0)`` each (1, N, H).
    """
    fn = "lstm"
    x, st, W_ih, W_hh, b_ih, b_hh, dtype = _check(fn, x, {"h0": h0, "c0": c0}, W_ih,
                                                  W_hh, b_ih, b_hh, 4)
    h0, c0 = st["h0"], st["c0"]
    N, T, I = x.shape
    H = W_hh.shape[1]
    scale, shift, slope, const = _lstm_consts(H, dtype)
    xt = _time_major(x)
    b = None if b_ih is None and b_hh is None else \
        (0 if b_ih is None else b_ih) + (0 if b_hh is None else b_hh)
    # input part of all steps' pre-activations, sigmoid rows halved: (W_ih x_t + b)/2
    A = _projection(xt, W_ih * scale[:, None], None if b is None else b * scale)
    W_hhT = np.ascontiguousarray((W_hh * scale[:, None]).T)      # (H, 4H)
    hs = np.empty((T + 1, N, H), dtype)
    cs = np.empty((T + 1, N, H), dtype)
    hs[0] = 0 if h0 is None else h0
    cs[0] = 0 if c0 is None else c0
    tc = np.empty((T, N, H), dtype)                # tanh(c_t)
    buf = np.empty((N, 4 * H), dtype)
    ig = np.empty((N, H), dtype)
    for t in range(T):
        a = A[t]
        a += np.matmul(hs[t], W_hhT, out=buf)      # (a_t)/2 on the sigmoid rows
        np.tanh(a, out=a)
        a *= scale
        a += shift                                 # A[t] = [i, f, g, o], activated
        i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        c = cs[t + 1]
        np.multiply(f, cs[t], out=c)
        c += np.multiply(i, g, out=ig)             # c_t = f c_(t-1) + i g
        np.tanh(c, out=tc[t])
        np.multiply(o, tc[t], out=hs[t + 1])       # h_t = o tanh(c_t)
    out, h_n, c_n = _batch_first(hs[1:]), hs[T].copy(), cs[T].copy()

    def vjp(dy):
        dout, dh_n, dc_n = _cotangents(dy, [out.shape, h_n.shape, c_n.shape],
                                       ["dout", "dh_n", "dc_n"], fn, dtype)
        dout_t = None if dout is None else _time_major(dout)
        dA = np.empty((T, N, 4 * H), dtype)
        dh = np.zeros((N, H), dtype) if dh_n is None else dh_n.copy()
        dc = np.zeros((N, H), dtype) if dc_n is None else dc_n.copy()
        tmp = np.empty((N, H), dtype)
        deriv = np.empty((N, 4 * H), dtype)
        for t in range(T - 1, -1, -1):
            if dout_t is not None:
                dh += dout_t[t]
            a = A[t]
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            da = dA[t]
            di, df = da[:, :H], da[:, H:2 * H]
            dg, do = da[:, 2 * H:3 * H], da[:, 3 * H:]
            np.multiply(dh, tc[t], out=do)         # ∂h/∂o = tanh c
            np.multiply(tc[t], tc[t], out=tmp)
            np.subtract(1, tmp, out=tmp)
            tmp *= o
            tmp *= dh
            dc += tmp                              # ∂h/∂c = o (1 - tanh² c)
            np.multiply(dc, g, out=di)
            np.multiply(dc, cs[t], out=df)
            np.multiply(dc, i, out=dg)
            dc *= f                                # dc_(t-1): the additive path
            np.subtract(slope, a, out=deriv)
            deriv *= a
            deriv += const                     # [σ', σ', tanh', σ'] from the gates
            da *= deriv
            np.matmul(da, W_hh, out=dh)            # gradient reaching h_(t-1)
        dx = _batch_first((dA.reshape(T * N, 4 * H) @ W_ih).reshape(T, N, I))
        dW_ih = _weight_grads(dA, xt, W_ih)
        dW_hh = _weight_grads(dA, hs[:T], W_hh)
        return (dx, None if h0 is None else dh, None if c0 is None else dc, dW_ih,
                dW_hh, _sum_bias(dA, b_ih), _sum_bias(dA, b_hh))
    return (out, h_n, c_n), vjp


def lstm(x, h0, c0, W_ih, W_hh, b_ih=None, b_hh=None) -> tuple:
    """The LSTM's ``(out, h_n, c_n)`` (see ``lstm_vjp``)."""
    return lstm_vjp(x, h0, c0, W_ih, W_hh, b_ih, b_hh)[0]


# --------------------------------------------------------------------------- GRU
def gru_vjp(x, h0, W_ih, W_hh, b_ih=None, b_hh=None) -> tuple[tuple, VJP]:
    """GRU over a sequence, torch's gate order r, z, n. Returns ``(out, h_n)``.

    Per step, with u = W_ih x_t + b_ih and v = W_hh h_(t-1) + b_hh split in three:
    r = σ(u_r + v_r);  z = σ(u_z + v_z);  n = tanh(u_n + r ⊙ v_n)  (r gates
    W_hn h + b_hn, as torch does);  h_t = (1 - z) ⊙ n + z ⊙ h_(t-1).
    ``vjp((dout, dh_n)) -> (dx, dh0, dW_ih, dW_hh, db_ih, db_hh)``. BPTT with dh the
    gradient reaching h_t: dn = dh ⊙ (1 - z); dz = dh ⊙ (h_(t-1) - n);
    da_n = dn ⊙ (1 - n²); dv_n = da_n ⊙ r; dr = da_n ⊙ v_n;
    da_r = dr ⊙ r(1 - r); da_z = dz ⊙ z(1 - z);
    du = [da_r, da_z, da_n], dv = [da_r, da_z, dv_n];
    dh_(t-1) = dh ⊙ z + W_hhᵀ dv.
    Same as ``torch.nn.GRU(I, H, batch_first=True)``.
    """
    fn = "gru"
    x, st, W_ih, W_hh, b_ih, b_hh, dtype = _check(fn, x, {"h0": h0}, W_ih, W_hh, b_ih,
                                                  b_hh, 3)
    h0 = st["h0"]
    N, T, I = x.shape
    H = W_hh.shape[1]
    H2 = 2 * H
    # halve the r and z rows: σ(a) = ½ tanh(a/2) + ½ (the n rows keep their scale)
    scale = np.repeat(np.asarray([0.5, 0.5, 1.0], dtype), H)
    xt = _time_major(x)
    U = _projection(xt, W_ih * scale[:, None], None if b_ih is None else b_ih * scale)
    W_hhT = np.ascontiguousarray((W_hh * scale[:, None]).T)      # (H, 3H)
    bh = None if b_hh is None else b_hh * scale
    V = np.empty((T, N, 3 * H), dtype)        # W_hh h_(t-1) + b_hh (r, z rows halved)
    hs = np.empty((T + 1, N, H), dtype)
    hs[0] = 0 if h0 is None else h0
    tmp = np.empty((N, H), dtype)
    for t in range(T):
        v = np.matmul(hs[t], W_hhT, out=V[t])
        if bh is not None:
            v += bh
        u = U[t]
        rz = u[:, :H2]
        rz += v[:, :H2]
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5                                  # U[t][:, :2H] = [r, z]
        r, z, n = u[:, :H], u[:, H:H2], u[:, H2:]
        n += np.multiply(r, v[:, H2:], out=tmp)
        np.tanh(n, out=n)                          # U[t][:, 2H:] = n
        np.subtract(hs[t], n, out=tmp)
        tmp *= z
        np.add(n, tmp, out=hs[t + 1])              # h_t = n + z (h_(t-1) - n)
    out, h_n = _batch_first(hs[1:]), hs[T].copy()

    def vjp(dy):
        dout, dh_n = _cotangents(dy, [out.shape, h_n.shape], ["dout", "dh_n"], fn,
                                 dtype)
        dout_t = None if dout is None else _time_major(dout)
        dU = np.empty((T, N, 3 * H), dtype)        # gradient of u (input part)
        dV = np.empty((T, N, 3 * H), dtype)        # gradient of v (recurrent part)
        dh = np.zeros((N, H), dtype) if dh_n is None else dh_n.copy()
        tmp = np.empty((N, H), dtype)
        for t in range(T - 1, -1, -1):
            if dout_t is not None:
                dh += dout_t[t]
            u, dv, du = U[t], dV[t], dU[t]
            r, z, n = u[:, :H], u[:, H:H2], u[:, H2:]
            dar, daz, dvn, dan = dv[:, :H], dv[:, H:H2], dv[:, H2:], du[:, H2:]
            # dz = dh (h_(t-1) - n), then through σ'
            np.subtract(hs[t], n, out=daz)
            daz *= dh
            np.subtract(1, z, out=tmp)
            tmp *= z
            daz *= tmp
            # dn = dh (1 - z), then through tanh'
            np.subtract(1, z, out=dan)
            dan *= dh
            np.multiply(n, n, out=tmp)
            np.subtract(1, tmp, out=tmp)
            dan *= tmp
            np.multiply(dan, r, out=dvn)           # v_n enters as r ⊙ v_n
            np.multiply(dan, V[t][:, H2:], out=dar)
            np.subtract(1, r, out=tmp)
            tmp *= r
            dar *= tmp
            dh *= z                                # the direct path z ⊙ h_(t-1)
            dh += dv @ W_hh
        dU[:, :, :H2] = dV[:, :, :H2]
        dx = _batch_first((dU.reshape(T * N, 3 * H) @ W_ih).reshape(T, N, I))
        dW_ih = _weight_grads(dU, xt, W_ih)
        dW_hh = _weight_grads(dV, hs[:T], W_hh)
        return (dx, None if h0 is None else dh, dW_ih, dW_hh, _sum_bias(dU, b_ih),
                _sum_bias(dV, b_hh))
    return (out, h_n), vjp


def gru(x, h0, W_ih, W_hh, b_ih=None, b_hh=None) -> tuple:
    """The GRU's ``(out, h_n)`` (see ``gru_vjp``)."""
    return gru_vjp(x, h0, W_ih, W_hh, b_ih, b_hh)[0]


# --------------------------------------------------------------------------- LSTMP
def lstm_proj_vjp(x, h0, c0, W_ih, W_hh, b_ih=None, b_hh=None,
                  W_hr=None) -> tuple[tuple, VJP]:
    """LSTM with a projection (torch's ``proj_size``): the cell of ``lstm_vjp``, then
    h_t = W_hr m_t with m_t = o ⊙ tanh(c_t), so the recurrent state h (and the
    output) has P < H entries while the cell c keeps H.

    Shapes: x (N, T, I), h0 (N, P), c0 (N, H), W_ih (4H, I), W_hh (4H, P),
    W_hr (P, H), biases (4H,). Returns ``(out, h_n, c_n)``, out (N, T, P);
    ``vjp((dout, dh_n, dc_n)) -> (dx, dh0, dc0, dW_ih, dW_hh, db_ih, db_hh, dW_hr)``.
    BPTT as in ``lstm_vjp`` with one step more: the gradient dh reaching h_t
    (dout_t + W_hhᵀ da_(t+1)) first goes through the projection,
    dm = W_hrᵀ dh and dW_hr += dh m_tᵀ, and dm then plays the part that dh plays
    without a projection. Same as ``torch.nn.LSTM(I, H, proj_size=P,
    batch_first=True)``. Written plainly (one loop, no fused kernels): the
    projection is rare in the book, clarity first.
    """
    fn = "lstm"
    x = as_float_array(x, fn, "x", ndim=3, layout="(N, T, input_size)")
    W_ih = as_float_array(W_ih, fn, "W_ih", ndim=2)
    W_hh = as_float_array(W_hh, fn, "W_hh", ndim=2)
    W_hr = as_float_array(W_hr, fn, "W_hr", ndim=2, layout="(proj_size, hidden)")
    P, H = W_hr.shape
    N, T, I = x.shape
    if W_ih.shape != (4 * H, I) or W_hh.shape != (4 * H, P):
        raise ValueError(f"{fn}: with W_hr {W_hr.shape}, W_ih must be {(4 * H, I)} "
                         f"and W_hh {(4 * H, P)}, got {W_ih.shape} and {W_hh.shape}")
    dtype = np.result_type(x, W_ih, W_hh, W_hr)
    b = np.zeros(4 * H, dtype)
    for v in (b_ih, b_hh):
        if v is not None:
            b = b + as_float_array(v, fn, "bias")
    h = np.zeros((N, P), dtype) if h0 is None else as_float_array(h0, fn, "h0")
    c = np.zeros((N, H), dtype) if c0 is None else as_float_array(c0, fn, "c0")
    if h.shape != (N, P) or c.shape != (N, H):
        raise ValueError(f"{fn}: h0 must be (N, proj_size) = {(N, P)} and c0 (N, "
                         f"hidden) = {(N, H)}, got {h.shape} and {c.shape}")
    sig = lambda a: 0.5 * (1 + np.tanh(0.5 * a))  # noqa: E731
    hs, cs, gates, ms = [h], [c], [], []
    for t in range(T):
        a = x[:, t] @ W_ih.T + hs[-1] @ W_hh.T + b
        i, f = sig(a[:, :H]), sig(a[:, H:2 * H])
        g, o = np.tanh(a[:, 2 * H:3 * H]), sig(a[:, 3 * H:])
        c = f * cs[-1] + i * g
        m = o * np.tanh(c)
        gates.append((i, f, g, o))
        cs.append(c)
        ms.append(m)
        hs.append(m @ W_hr.T)                        # the projection
    out = np.stack(hs[1:], axis=1)
    h_n, c_n = hs[-1].copy(), cs[-1].copy()

    def vjp(dy):
        dout, dh_n, dc_n = _cotangents(dy, [out.shape, h_n.shape, c_n.shape],
                                       ["dout", "dh_n", "dc_n"], fn, dtype)
        dh = np.zeros((N, P), dtype) if dh_n is None else dh_n.copy()
        dc = np.zeros((N, H), dtype) if dc_n is None else dc_n.copy()
        dx = np.zeros(x.shape, dtype)
        dW_ih, dW_hh = np.zeros_like(W_ih), np.zeros_like(W_hh)
        dW_hr, db = np.zeros_like(W_hr), np.zeros(4 * H, dtype)
        for t in range(T - 1, -1, -1):
            if dout is not None:
                dh = dh + dout[:, t]
            dW_hr += dh.T @ ms[t]                    # through h_t = W_hr m_t
            dm = dh @ W_hr
            i, f, g, o = gates[t]
            tc = np.tanh(cs[t + 1])
            dc = dc + dm * o * (1 - tc * tc)
            da = np.concatenate([dc * g * i * (1 - i), dc * cs[t] * f * (1 - f),
                                 dc * i * (1 - g * g), dm * tc * o * (1 - o)], axis=1)
            dc = dc * f
            dx[:, t] = da @ W_ih
            dW_ih += da.T @ x[:, t]
            dW_hh += da.T @ hs[t]
            db += da.sum(axis=0)
            dh = da @ W_hh
        return (dx, None if h0 is None else dh, None if c0 is None else dc, dW_ih,
                dW_hh, None if b_ih is None else db.copy(),
                None if b_hh is None else db.copy(), dW_hr)
    return (out, h_n, c_n), vjp


__all__ += ["lstm_proj_vjp"]
