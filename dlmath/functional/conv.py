"""Convolution and pooling (Chapter 7): forward and hand-derived backward, torch's way.

Layouts are torch's: x is (N, C, H, W), a convolution weight (C_out, C_in, kH, kW).
Each ``*_vjp`` function returns ``(y, vjp)`` like ``dlmath.functional.dense``::

    y, vjp = conv2d_vjp(x, weight, bias, stride=1, padding=1)
    dx, dweight, dbias = vjp(dy)                 # eq-conv-dx/dw/db

How the convolution is computed (Chapter 7, notebook 2): the padded input is copied,
one slice per kernel offset (i, j) into a contiguous column matrix
``cols[c, i, j, n, p, q] = x_pad[n, c, s·p + d·i, s·q + d·j]`` of shape
(C·kH·kW, N·H_out·W_out): *im2col*. The convolution is then one matrix
product ``y = W cols`` with W reshaped to (C_out, C·kH·kW). The backward
reuses the columns: ``dW = dy colsᵀ`` (a correlation of input and output
gradient), and ``dcols = Wᵀ dy`` is scattered back by the same kH·kW slices
with ``+=`` (*col2im*), which is the full convolution of dy with the flipped
kernel. No fancy indexing and no ``np.add.at``: every copy is a strided slice.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .._validate import as_float_array
from .dense import check_dout

__all__ = ["conv_output_size", "unfold", "conv2d", "conv2d_vjp", "max_pool2d",
           "max_pool2d_vjp", "avg_pool2d", "avg_pool2d_vjp"]

VJP = Callable[[np.ndarray], tuple]


# --------------------------------------------------------------------------- arguments
def _pair(v, fn: str, name: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints, each >= ``minimum``, as a pair."""
    vals = (v, v) if not isinstance(v, (tuple, list)) else tuple(v)
    if len(vals) != 2 or any(isinstance(a, bool) or not isinstance(a, (int, np.integer))
                             for a in vals):
        raise TypeError(f"{fn}: {name} must be an int or a pair of ints, got {v!r}")
    if any(a < minimum for a in vals):
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{fn}: {name} must be {what} (>= {minimum}), got {v!r}")
    return int(vals[0]), int(vals[1])


def conv_output_size(n: int, k: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1) -> int:
    """Output length along one axis, eq-outsize: ⌊(n + 2p - d(k - 1) - 1)/s⌋ + 1."""
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


def _x4(x, fn: str) -> np.ndarray:
    x = as_float_array(x, fn, "x")
    if x.ndim != 4:
        raise ValueError(f"{fn}: x must be (N, C, H, W), got shape {x.shape}")
    return x


def _geometry(x: np.ndarray, k: tuple, stride, padding, dilation, fn: str):
    """Checked (stride, padding, dilation) pairs and the output size (H_out, W_out)."""
    s = _pair(stride, fn, "stride", 1)
    p = _pair(padding, fn, "padding", 0)
    d = _pair(dilation, fn, "dilation", 1)
    H, W = x.shape[2:]
    extent = tuple(d[a] * (k[a] - 1) + 1 for a in range(2))
    padded = (H + 2 * p[0], W + 2 * p[1])
    if extent[0] > padded[0] or extent[1] > padded[1]:
        ext = f" (dilated extent {extent})" if d != (1, 1) else ""
        raise ValueError(f"{fn}: kernel {tuple(k)}{ext} is larger than the padded "
                         f"input {padded} (x of shape {x.shape}, padding {p})")
    out = tuple(conv_output_size(x.shape[2 + a], k[a], s[a], p[a], d[a])
                for a in range(2))
    return s, p, d, out


def _pad(x: np.ndarray, p: tuple, value: float = 0.0) -> np.ndarray:
    if p == (0, 0):
        return x
    width = ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1]))
    return np.pad(x, width, constant_values=value)


def _offsets(k, s, d, out):
    """For each kernel offset (i, j): the slices of the padded input it reads."""
    for i in range(k[0]):
        rows = slice(d[0] * i, d[0] * i + s[0] * (out[0] - 1) + 1, s[0])
        for j in range(k[1]):
            yield i, j, rows, slice(d[1] * j, d[1] * j + s[1] * (out[1] - 1) + 1, s[1])


# --------------------------------------------------------------------------- im2col
def _pad_t(x: np.ndarray, p: tuple) -> np.ndarray:
    """The zero-padded input transposed to (C, N, Hp, Wp), contiguous, in one pass."""
    N, C, H, W = x.shape
    xp_t = np.zeros((C, N, H + 2 * p[0], W + 2 * p[1]), dtype=x.dtype)
    xp_t[:, :, p[0]:p[0] + H, p[1]:p[1] + W] = x.transpose(1, 0, 2, 3)
    return xp_t


def _im2col(xp_t: np.ndarray, k, s, d, out) -> np.ndarray:
    """cols (C, kH, kW, N, H_out, W_out) from the padded input as (C, N, Hp, Wp)."""
    C, N = xp_t.shape[:2]
    cols = np.empty((C, k[0], k[1], N) + out, dtype=xp_t.dtype)
    for i, j, rows, columns in _offsets(k, s, d, out):
        cols[:, i, j] = xp_t[:, :, rows, columns]          # one slice copy per offset
    return cols


def _col2im(dcols: np.ndarray, padded_shape, k, s, d, out) -> np.ndarray:
    """The adjoint of ``_im2col``: add each offset's slice back, (C, N, Hp, Wp)."""
    dxp_t = np.zeros(padded_shape, dtype=dcols.dtype)
    for i, j, rows, columns in _offsets(k, s, d, out):
        dxp_t[:, :, rows, columns] += dcols[:, i, j]
    return dxp_t


def unfold(x, kernel_size, dilation=1, padding=0, stride=1) -> np.ndarray:
    """im2col in torch's layout (N, C·kH·kW, H_out·W_out), rows ordered (c, i, j).

    Same as ``torch.nn.functional.unfold``; the convolution is then
    ``W.reshape(C_out, -1) @ unfold(x)``.
    """
    fn = "unfold"
    x = _x4(x, fn)
    k = _pair(kernel_size, fn, "kernel_size", 1)
    s, p, d, out = _geometry(x, k, stride, padding, dilation, fn)
    cols = _im2col(_pad_t(x, p), k, s, d, out)
    N, CK = x.shape[0], x.shape[1] * k[0] * k[1]
    return cols.reshape(CK, N, -1).transpose(1, 0, 2).copy()


# --------------------------------------------------------------------------- conv2d
def _check_conv(x, weight, bias, fn: str):
    x = _x4(x, fn)
    weight = as_float_array(weight, fn, "weight")
    if weight.ndim != 4:
        raise ValueError(f"{fn}: weight must be (C_out, C_in, kH, kW), "
                         f"got shape {weight.shape}")
    if weight.shape[1] != x.shape[1]:
        raise ValueError(f"{fn}: weight {weight.shape} expects C_in={weight.shape[1]} "
                         f"input channels, but x {x.shape} has {x.shape[1]}")
    if bias is not None:
        bias = as_float_array(bias, fn, "bias")
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"{fn}: bias must be (C_out={weight.shape[0]},), "
                             f"got shape {bias.shape}")
    dtype = np.result_type(x, weight, *(() if bias is None else (bias,)))
    return x.astype(dtype, copy=False), weight.astype(dtype, copy=False), \
        None if bias is None else bias.astype(dtype, copy=False)


def conv2d_vjp(x, weight, bias=None, stride=1, padding=0,
               dilation=1) -> tuple[np.ndarray, VJP]:
    """2-D cross-correlation, eq-conv2d, and its VJP, eq-conv-dx/dw/db.

    x: (N, C_in, H, W), weight: (C_out, C_in, kH, kW), bias: (C_out,) or None;
    stride, padding, dilation: an int or a pair. Returns y (N, C_out, H_out, W_out)
    with H_out = ⌊(H + 2p - d(kH - 1) - 1)/s⌋ + 1, and ``vjp(dy)`` returning
    ``(dx, dweight, dbias)``. Same as ``torch.nn.functional.conv2d``.
    """
    fn = "conv2d"
    x, weight, bias = _check_conv(x, weight, bias, fn)
    k = weight.shape[2:]
    s, p, d, out = _geometry(x, k, stride, padding, dilation, fn)
    N, C, O = x.shape[0], x.shape[1], weight.shape[0]
    xp_t = _pad_t(x, p)                                               # (C, N, Hp, Wp)
    cols = _im2col(xp_t, k, s, d, out).reshape(C * k[0] * k[1], -1)   # (C·kH·kW, N·L)
    W2 = weight.reshape(O, -1)
    y = W2 @ cols                                            # one GEMM, (O, N·L)
    if bias is not None:
        y += bias[:, None]
    y = y.reshape((O, N) + out).transpose(1, 0, 2, 3)
    y = np.ascontiguousarray(y)
    padded_shape = xp_t.shape

    def vjp(dy):
        dy = check_dout(dy, y.shape, fn)
        dy2 = np.ascontiguousarray(dy.transpose(1, 0, 2, 3), dtype=y.dtype)
        dy2 = dy2.reshape(O, -1)
        # eq-conv-dw, dW = dy colsᵀ, computed as (cols dyᵀ)ᵀ: OpenBLAS splits the long
        # reduction N·L far better across threads with the taller left operand
        dweight = (cols @ dy2.T).T.reshape(weight.shape)
        dbias = dy2.sum(axis=1) if bias is not None else None         # eq-conv-db
        dcols = (W2.T @ dy2).reshape((C,) + tuple(k) + (N,) + out)  # eq-conv-dx: Wᵀ dy,
        dxp = _col2im(dcols, padded_shape, k, s, d, out)              # then col2im
        dx = dxp[:, :, p[0]:padded_shape[2] - p[0], p[1]:padded_shape[3] - p[1]]
        return np.ascontiguousarray(dx.transpose(1, 0, 2, 3)), dweight, dbias
    return y, vjp


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1) -> np.ndarray:
    """2-D convolution (cross-correlation) of NCHW ``x``; see ``conv2d_vjp``.

    Same as ``torch.nn.functional.conv2d(x, weight, bias, stride, padding, dilation)``.
    """
    return conv2d_vjp(x, weight, bias, stride, padding, dilation)[0]


# --------------------------------------------------------------------------- pooling
def _pool_args(x, kernel_size, stride, padding, fn: str):
    x = _x4(x, fn)
    k = _pair(kernel_size, fn, "kernel_size", 1)
    stride = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) \
        else stride
    s, p, d, out = _geometry(x, k, stride, padding, 1, fn)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"{fn}: padding {p} must be at most half the kernel {k}")
    return x, k, s, p, d, out


def max_pool2d_vjp(x, kernel_size, stride=None, padding=0) -> tuple[np.ndarray, VJP]:
    """Max pooling, eq-maxpool-dx, and its VJP: dy goes to the arg max of each window.

    x: (N, C, H, W); kernel_size, stride (default: kernel_size), padding: an int
    or a pair. Ties go to the first maximum in row-major window order, as in
    torch (so after a ReLU, a window of zeros sends its gradient to its first
    element). ``vjp(dy)`` returns ``(dx,)``. Same as ``torch.nn.functional.max_pool2d``.
    """
    fn = "max_pool2d"
    x, k, s, p, d, out = _pool_args(x, kernel_size, stride, padding, fn)
    if s == k and p == (0, 0):
        return _max_pool_tiles(x, k, out, fn)
    xp = _pad(x, p, -np.inf)
    y, idx = _first_max(xp[:, :, rows, columns] for _, _, rows, columns
                        in _offsets(k, s, d, out))

    def vjp(dy):
        dy = check_dout(dy, y.shape, fn)
        dxp = np.zeros(xp.shape, dtype=y.dtype)
        disjoint = s[0] >= k[0] and s[1] >= k[1]        # windows do not overlap: assign
        for n, (i, j, rows, columns) in enumerate(_offsets(k, s, d, out)):
            routed = np.where(idx == n, dy, 0)          # route dy to the arg max
            if disjoint:
                dxp[:, :, rows, columns] = routed
            else:
                dxp[:, :, rows, columns] += routed
        return (np.ascontiguousarray(dxp[:, :, p[0]:xp.shape[2] - p[0],
                                         p[1]:xp.shape[3] - p[1]]),)
    return y, vjp


def _first_max(windows) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise max over a sequence of arrays and the index of the first maximum.

    torch's rule: a later value replaces the maximum only if strictly larger, and
    a NaN always propagates (its index: the last NaN of the window).
    """
    windows = list(windows)
    y = windows[0].copy()
    idx = np.zeros(y.shape, dtype=np.int8 if len(windows) < 128 else np.int32)
    for n, v in enumerate(windows[1:], 1):
        idx = np.where(v > y, idx.dtype.type(n), idx)   # strict: the first max wins
        np.maximum(y, v, out=y)                          # NaN propagates
    if np.isnan(y).any():
        for n, v in enumerate(windows):
            idx[np.isnan(v)] = n
    return y, idx


def _max_pool_tiles(x: np.ndarray, k, out, fn: str) -> tuple[np.ndarray, VJP]:
    """Non-overlapping windows: one copy to (kH, kW, N, C, H_out, W_out), then
    elementwise work on contiguous planes (strided slices of a 2x2 grid are slow)."""
    N, C = x.shape[:2]
    Hc, Wc = out[0] * k[0], out[1] * k[1]
    tiles = x[:, :, :Hc, :Wc].reshape(N, C, out[0], k[0], out[1], k[1])
    planes = np.ascontiguousarray(tiles.transpose(3, 5, 0, 1, 2, 4))
    y, idx = _first_max(planes.reshape((-1, N, C) + out))

    def vjp(dy):
        dy = check_dout(dy, y.shape, fn)
        zero = np.zeros((), dtype=y.dtype)
        dplanes = np.stack([np.where(idx == n, dy, zero)    # dy to the arg max
                            for n in range(k[0] * k[1])])
        dx = np.zeros(x.shape, dtype=y.dtype)
        dtiles = dplanes.reshape(k + (N, C) + out).transpose(2, 3, 4, 0, 5, 1)
        dx[:, :, :Hc, :Wc] = dtiles.reshape(N, C, Hc, Wc)
        return (dx,)
    return y, vjp


def max_pool2d(x, kernel_size, stride=None, padding=0) -> np.ndarray:
    """Max pooling (see ``max_pool2d_vjp``); same as torch's ``max_pool2d``."""
    return max_pool2d_vjp(x, kernel_size, stride, padding)[0]


def avg_pool2d_vjp(x, kernel_size, stride=None, padding=0) -> tuple[np.ndarray, VJP]:
    """Average pooling and its VJP (Exercise 7.3): a window spreads dy / (kH·kW) evenly.

    Zero padding counts in the average (torch's ``count_include_pad=True``).
    ``vjp(dy)`` returns ``(dx,)``. Same as ``torch.nn.functional.avg_pool2d``.
    """
    fn = "avg_pool2d"
    x, k, s, p, d, out = _pool_args(x, kernel_size, stride, padding, fn)
    scale = 1.0 / (k[0] * k[1])
    if s == k and p == (0, 0):
        # non-overlapping windows: sum the kW column phases, then the kH row phases
        Hc, Wc = out[0] * k[0], out[1] * k[1]
        rows = sum(x[:, :, :Hc, j:Wc:k[1]] for j in range(k[1]))   # (N, C, Hc, W_out)
        y = sum(rows[:, :, i::k[0]] for i in range(k[0])) * scale

        def vjp(dy):
            dy = check_dout(dy, y.shape, fn) * scale     # each input gets dy / (kH·kW)
            wide = np.repeat(dy.astype(y.dtype, copy=False), k[1], axis=3)
            dx = np.zeros(x.shape, dtype=y.dtype)
            for i in range(k[0]):
                dx[:, :, i:Hc:k[0], :Wc] = wide
            return (dx,)
        return y, vjp
    xp = _pad(x, p)
    y = np.zeros(x.shape[:2] + out, dtype=x.dtype)
    for i, j, rows, columns in _offsets(k, s, d, out):
        y += xp[:, :, rows, columns]
    y *= scale

    def vjp(dy):                                        # the adjoint of the window sums
        dy = check_dout(dy, y.shape, fn) * scale
        dxp = np.zeros(xp.shape, dtype=y.dtype)
        for i, j, rows, columns in _offsets(k, s, d, out):
            dxp[:, :, rows, columns] += dy
        return (np.ascontiguousarray(dxp[:, :, p[0]:xp.shape[2] - p[0],
                                         p[1]:xp.shape[3] - p[1]]),)
    return y, vjp


def avg_pool2d(x, kernel_size, stride=None, padding=0) -> np.ndarray:
    """Average pooling (see ``avg_pool2d_vjp``); same as torch's ``avg_pool2d``."""
    return avg_pool2d_vjp(x, kernel_size, stride, padding)[0]
