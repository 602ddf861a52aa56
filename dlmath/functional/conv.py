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

__all__ = ["conv_output_size", "unfold", "unfold_vjp", "conv2d", "conv2d_vjp",
           "max_pool2d",
           "max_pool2d_vjp", "avg_pool2d", "avg_pool2d_vjp", "conv_transpose2d",
           "conv_transpose2d_vjp", "adaptive_avg_pool2d", "adaptive_avg_pool2d_vjp",
           "mode_pad_vjp"]

VJP = Callable[[np.ndarray], tuple]


# --------------------------------------------------------------------------- arguments
def _pair(v, fn: str, name: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints, each >= ``minimum``, as a pair."""
    vals = (v, v) if not isinstance(v, (tuple, list)) else tuple(v)
    if len(vals) == 1:                           # torch reads (p,) as (p, p)
        vals = vals * 2
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


def _batched(x, fn: str) -> tuple[np.ndarray, bool]:
    """(N, C, H, W), or one unbatched (C, H, W) image as N = 1; and which it was."""
    x = as_float_array(x, fn, "x")
    if x.ndim not in (3, 4):
        raise ValueError(f"{fn}: x must be (N, C, H, W) or (C, H, W), "
                         f"got shape {x.shape}")
    return (x[None], True) if x.ndim == 3 else (x, False)


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

    x: (N, C, H, W) or one (C, H, W) image (then (C·kH·kW, H_out·W_out)).
    Same as ``torch.nn.functional.unfold``; the convolution is then
    ``W.reshape(C_out, -1) @ unfold(x)``.
    """
    return unfold_vjp(x, kernel_size, dilation, padding, stride)[0]


def unfold_vjp(x, kernel_size, dilation=1, padding=0, stride=1):
    """``unfold`` and its VJP. unfold only copies entries of the padded input
    into columns, so its adjoint adds each column entry back where it was read
    (col2im) and drops the padding: ``vjp(dcols)`` returns ``(dx,)``."""
    fn = "unfold"
    x, unbatched = _batched(x, fn)
    k = _pair(kernel_size, fn, "kernel_size", 1)
    s, p, d, out = _geometry(x, k, stride, padding, dilation, fn)
    xp_t = _pad_t(x, p)
    cols = _im2col(xp_t, k, s, d, out)
    N, C, H, W = x.shape
    CK, L = C * k[0] * k[1], out[0] * out[1]
    y = cols.reshape(CK, N, L).transpose(1, 0, 2).copy()

    def vjp(dy):
        dy = check_dout(dy, y.shape[1:] if unbatched else y.shape, fn)
        dy = dy[None] if unbatched else dy
        dcols = dy.transpose(1, 0, 2).reshape((C, k[0], k[1], N) + out)
        dxp_t = _col2im(dcols, xp_t.shape, k, s, d, out)
        dx = dxp_t[:, :, p[0]:p[0] + H, p[1]:p[1] + W].transpose(1, 0, 2, 3)
        dx = np.ascontiguousarray(dx)
        return (dx[0] if unbatched else dx,)
    return (y[0] if unbatched else y), vjp


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


def _conv2d_vjp(x, weight, bias, stride, padding, dilation,
                fn: str = "conv2d") -> tuple[np.ndarray, VJP]:
    """The convolution of one group, symmetric integer padding (the Chapter 7 core)."""
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


def _same_padding(k, d, s, fn: str):
    """padding="same": total d(k - 1) per axis, the odd one extra on the right/bottom
    (torch's rule); only for stride 1, where the output then has the input's size."""
    if s != (1, 1):
        raise ValueError(f"{fn}: padding='same' needs stride 1 (torch refuses it for "
                         f"strided convolutions), got stride={s}")
    tot = tuple(d[a] * (k[a] - 1) for a in range(2))
    return tuple((t // 2, t - t // 2) for t in tot)


def conv2d_vjp(x, weight, bias=None, stride=1, padding=0, dilation=1,
               groups: int = 1) -> tuple[np.ndarray, VJP]:
    """2-D cross-correlation, eq-conv2d, and its VJP, eq-conv-dx/dw/db.

    x: (N, C_in, H, W) or one (C_in, H, W) image, weight:
    (C_out, C_in/groups, kH, kW), bias: (C_out,) or None; stride, padding,
    dilation: an int or a pair, padding also "valid" (= 0) or "same" (stride 1;
    total d(k - 1), the odd one on the right, as torch). Returns y
    (N, C_out, H_out, W_out) with H_out = ⌊(H + 2p - d(kH - 1) - 1)/s⌋ + 1, and
    ``vjp(dy)`` returning ``(dx, dweight, dbias)``. Same as
    ``torch.nn.functional.conv2d``.

    ``groups`` = G splits the channels into G independent convolutions: input
    channels g·C_in/G ... and output channels g·C_out/G ... of group g see only
    each other. As one convolution, its weight is block diagonal over the
    groups (zero between different groups), so the forward, dx and dweight are
    those of the G small convolutions, concatenated along the channels.
    ``groups = C_in`` is a depthwise convolution.
    """
    fn = "conv2d"
    x, unbatched = _batched(x, fn)
    G = groups
    if isinstance(G, bool) or not isinstance(G, (int, np.integer)) or G < 1:
        raise ValueError(f"{fn}: groups must be a positive int, got {groups!r}")
    w = as_float_array(weight, fn, "weight")
    if w.ndim != 4:
        raise ValueError(f"{fn}: weight must be (C_out, C_in/groups, kH, kW), "
                         f"got shape {w.shape}")
    C, O = x.shape[1], w.shape[0]
    if C % G or O % G:
        raise ValueError(f"{fn}: groups={G} must divide C_in={C} and C_out={O}")
    if w.shape[1] * G != C:
        raise ValueError(f"{fn}: weight {w.shape} expects C_in={w.shape[1] * G} input "
                         f"channels, but x {x.shape} has {C}")
    k = w.shape[2:]
    crop = None
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        elif padding == "same":
            s, d = _pair(stride, fn, "stride", 1), _pair(dilation, fn, "dilation", 1)
            pads = _same_padding(k, d, s, fn)
            if any(a != b for a, b in pads):     # asymmetric: pad explicitly
                x = np.pad(x, ((0, 0), (0, 0)) + pads)
                crop = pads
                padding = 0
            else:
                padding = (pads[0][0], pads[1][0])
        else:
            raise ValueError(f"{fn}: padding must be an int, a pair, 'same' or "
                             f"'valid', got {padding!r}")
    cg, og = C // G, O // G
    b = None if bias is None else as_float_array(bias, fn, "bias")
    if b is not None and b.shape != (O,):
        raise ValueError(f"{fn}: bias must be (C_out={O},), got shape {b.shape}")
    parts = [_conv2d_vjp(x[:, g * cg:(g + 1) * cg], w[g * og:(g + 1) * og],
                         None if b is None else b[g * og:(g + 1) * og], stride,
                         padding, dilation, fn) for g in range(G)]
    y = parts[0][0] if G == 1 else np.concatenate([p[0] for p in parts], axis=1)

    def vjp(dy):
        dy = check_dout(dy, y.shape[1:] if unbatched else y.shape, fn)
        dy = dy[None] if unbatched else dy
        outs = [p[1](dy[:, g * og:(g + 1) * og]) for g, p in enumerate(parts)]
        dx = outs[0][0] if G == 1 else np.concatenate([o[0] for o in outs], axis=1)
        dw = outs[0][1] if G == 1 else np.concatenate([o[1] for o in outs], axis=0)
        db = None if b is None else (outs[0][2] if G == 1 else
                                     np.concatenate([o[2] for o in outs]))
        if crop is not None:                     # the adjoint of the explicit pad
            (t, bt), (lft, r) = crop
            dx = np.ascontiguousarray(dx[:, :, t:dx.shape[2] - bt,
                                         lft:dx.shape[3] - r])
        return (dx[0] if unbatched else dx), dw, db
    return (y[0] if unbatched else y), vjp


_NP_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def mode_pad_vjp(x, pads, mode: str) -> tuple[np.ndarray, VJP]:
    """Pad the last two axes of x (N, C, H, W) by ``pads`` = ((top, bottom), (left,
    right)) with torch's ``padding_mode`` "reflect", "replicate" or "circular".

    Each padded position copies one input position: padded = x[..., i_h, :][..., i_w]
    with i the index map of the mode (reflect: ... 2 1 | 0 1 2 ... n-1 | n-2 ...,
    replicate: 0 0 | 0 .. n-1 | n-1 n-1, circular: n-1 | 0 .. n-1 | 0). A gather's
    adjoint is the scatter-add through the same map: dx[i] = Σ of dpadded over
    the positions that copied i (``np.add.at``), one axis after the other.
    """
    if mode not in _NP_MODES:
        raise ValueError(f"padding_mode must be 'zeros', 'reflect', 'replicate' or "
                         f"'circular', got {mode!r}")
    H, W = x.shape[-2:]
    for (lo, hi), n in zip(pads, (H, W)):
        if mode == "reflect" and max(lo, hi) >= n:
            raise ValueError(f"padding_mode='reflect' needs padding < the input size "
                             f"{n}, got {(lo, hi)}")
        if mode == "circular" and max(lo, hi) > n:
            raise ValueError(f"padding_mode='circular' needs padding <= the input "
                             f"size {n}, got {(lo, hi)}")
    ih = np.pad(np.arange(H), pads[0], mode=_NP_MODES[mode])
    iw = np.pad(np.arange(W), pads[1], mode=_NP_MODES[mode])
    y = x[..., ih, :][..., iw]

    def vjp(dy):
        d1 = np.zeros(dy.shape[:-1] + (W,), dtype=dy.dtype)
        np.add.at(d1, (Ellipsis, iw), dy)
        dx = np.zeros(dy.shape[:-2] + (H, W), dtype=dy.dtype)
        np.add.at(dx, (Ellipsis, ih, slice(None)), d1)
        return (dx,)
    return y, vjp


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> np.ndarray:
    """2-D convolution (cross-correlation) of NCHW ``x``; see ``conv2d_vjp``.

    Same as ``torch.nn.functional.conv2d(x, weight, bias, stride, padding, dilation,
    groups)``.
    """
    return conv2d_vjp(x, weight, bias, stride, padding, dilation, groups)[0]


def conv_transpose2d_vjp(x, weight, bias=None, stride=1, padding=0, output_padding=0,
                         groups: int = 1, dilation=1) -> tuple[np.ndarray, VJP]:
    """Transposed convolution: its forward *is* conv2d's input gradient.

    A convolution z ↦ c = conv2d(z, W) is linear in z, c = J_W z. Its input
    gradient maps an output cotangent back: dz = J_Wᵀ dc (eq-conv-dx, the col2im
    of Wᵀ dc). The transposed convolution is that map applied to an input:
    y = J_Wᵀ x + b. So it scatters every input pixel, scaled by the kernel,
    into a stride-spaced output: it upsamples. Sizes follow from inverting the
    convolution's: H_out = (H - 1)s - 2p + d(k - 1) + output_padding + 1, where
    ``output_padding`` < s picks which of the s sizes that a strided conv maps to
    H one means. x: (N, C_in, H, W) or (C_in, H, W); weight
    (C_in, C_out/groups, kH, kW) (torch's layout: the conv's (C_out, C_in) swapped);
    bias (C_out,).

    The backward: since y = J_Wᵀ x is linear in x, dx = J_W dy = conv2d(dy, W)
    (same stride, padding, dilation, groups); ⟨dy, J_Wᵀ x⟩ = ⟨conv2d(dy, W), x⟩
    makes dW the conv's weight gradient at input dy and cotangent x, and
    db = Σ dy over N, H, W. Same as ``torch.nn.functional.conv_transpose2d``.
    """
    fn = "conv_transpose2d"
    x, unbatched = _batched(x, fn)
    w = as_float_array(weight, fn, "weight")
    if w.ndim != 4:
        raise ValueError(f"{fn}: weight must be (C_in, C_out/groups, kH, kW), "
                         f"got shape {w.shape}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) \
            or groups < 1 or w.shape[0] % groups:
        raise ValueError(f"{fn}: groups must be a positive int dividing C_in="
                         f"{w.shape[0]}, got {groups!r}")
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"{fn}: weight {w.shape} expects C_in={w.shape[0]} input "
                         f"channels, but x {x.shape} has {x.shape[1]}")
    s, p = _pair(stride, fn, "stride", 1), _pair(padding, fn, "padding", 0)
    d, op = _pair(dilation, fn, "dilation", 1), _pair(output_padding, fn,
                                                       "output_padding", 0)
    if any(op[a] >= max(s[a], d[a]) for a in range(2)):
        raise ValueError(f"{fn}: output_padding {op} must be smaller than the stride "
                         f"{s} or the dilation {d}")
    k = w.shape[2:]
    out = tuple((x.shape[2 + a] - 1) * s[a] - 2 * p[a] + d[a] * (k[a] - 1) + op[a] + 1
                for a in range(2))
    if min(out) < 1:
        raise ValueError(f"{fn}: the output size {out} is not positive "
                         f"(x of shape {x.shape}, padding {p})")
    N, O = x.shape[0], w.shape[1] * groups
    z = np.zeros((N, O) + out, dtype=np.result_type(x, w))
    c, conv_vjp = conv2d_vjp(z, w, None, s, p, d, groups)
    # with output_padding >= stride (possible when dilation > stride) the conv of z
    # has more outputs than x: those get a zero cotangent (torch's rule)
    grow = ((0, 0), (0, 0)) + tuple((0, c.shape[2 + a] - x.shape[2 + a])
                                    for a in range(2))
    xz = np.pad(x, grow) if c.shape[2:] != x.shape[2:] else x
    y = conv_vjp(xz)[0]                              # J_Wᵀ x: conv2d's input gradient
    b = None if bias is None else as_float_array(bias, fn, "bias")
    if b is not None:
        if b.shape != (O,):
            raise ValueError(f"{fn}: bias must be (C_out={O},), got shape {b.shape}")
        y = y + b[:, None, None]

    def vjp(dy):
        dy = check_dout(dy, y.shape[1:] if unbatched else y.shape, fn)
        dy = dy[None] if unbatched else dy
        dx, back = conv2d_vjp(dy, w, None, s, p, d, groups)  # dx = J_W dy
        dw = back(xz)[1]                             # ⟨dy, J_Wᵀ x⟩ = ⟨conv(dy), x⟩
        dx = np.ascontiguousarray(dx[:, :, :x.shape[2], :x.shape[3]])
        db = None if b is None else dy.sum(axis=(0, 2, 3))
        return (dx[0] if unbatched else dx), dw, db
    return (y[0] if unbatched else y), vjp


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups: int = 1, dilation=1) -> np.ndarray:
    """Transposed convolution (see ``conv_transpose2d_vjp``), torch's signature."""
    return conv_transpose2d_vjp(x, weight, bias, stride, padding, output_padding,
                                groups, dilation)[0]


# --------------------------------------------------------------------------- pooling
def _pool_out(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """Windows along one axis: ⌊(n + 2p - d(k - 1) - 1)/s⌋ + 1, or with ``ceil_mode``
    ⌈·⌉ + 1 minus the last window if it would start in the right padding
    (torch's rule: every window starts inside the input or the left padding)."""
    span = n + 2 * p - d * (k - 1) - 1
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    if (out - 1) * s >= n + p:
        out -= 1
    return out


def _pool_args(x, kernel_size, stride, padding, fn: str, dilation=1,
               ceil_mode: bool = False):
    """Checked (x batched, unbatched?, k, s, p, d, out, extra right padding)."""
    x, unbatched = _batched(x, fn)
    k = _pair(kernel_size, fn, "kernel_size", 1)
    stride = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) \
        else stride
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise TypeError(f"{fn}: ceil_mode must be a bool, got {ceil_mode!r}")
    s, p, d, _ = _geometry(x, k, stride, padding, dilation, fn)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"{fn}: padding {p} must be at most half the kernel {k}")
    out = tuple(_pool_out(x.shape[2 + a], k[a], s[a], p[a], d[a], ceil_mode)
                for a in range(2))
    # ceil_mode's last window may run past the padded input: pad it (never counted)
    extra = tuple(max(0, (out[a] - 1) * s[a] + d[a] * (k[a] - 1) + 1
                      - (x.shape[2 + a] + 2 * p[a])) for a in range(2))
    return x, unbatched, k, s, p, d, out, extra


def _pad2(x: np.ndarray, p: tuple, extra: tuple, value: float) -> np.ndarray:
    if p == (0, 0) and extra == (0, 0):
        return x
    width = ((0, 0), (0, 0), (p[0], p[0] + extra[0]), (p[1], p[1] + extra[1]))
    return np.pad(x, width, constant_values=value)


def _unpad(dxp: np.ndarray, x_shape: tuple, p: tuple) -> np.ndarray:
    H, W = x_shape[2:]
    return np.ascontiguousarray(dxp[:, :, p[0]:p[0] + H, p[1]:p[1] + W])


def max_pool2d_vjp(x, kernel_size, stride=None, padding=0, dilation=1,
                   ceil_mode: bool = False,
                   return_indices: bool = False) -> tuple[np.ndarray, VJP]:
    """Max pooling, eq-maxpool-dx, and its VJP: dy goes to the arg max of each window.

    x: (N, C, H, W) or (C, H, W); kernel_size, stride (default: kernel_size),
    padding, dilation: an int or a pair (padding pads with -inf, at most half the
    kernel). ``ceil_mode`` rounds the number of windows up (see ``_pool_out``).
    Ties go to the first maximum in row-major window order, as in torch (so after
    a ReLU, a window of zeros sends its gradient to its first element).
    ``return_indices``: the output is ``(y, indices)``, indices the flat position
    h·W + w in the input plane of each window's arg max (int64, torch's
    convention, what ``max_unpool2d`` reads); ``vjp`` then takes dy for y (or a
    pair whose second part is ignored). ``vjp(dy)`` returns ``(dx,)``. Same as
    ``torch.nn.functional.max_pool2d``.
    """
    fn = "max_pool2d"
    x, unbatched, k, s, p, d, out, extra = _pool_args(x, kernel_size, stride, padding,
                                                      fn, dilation, ceil_mode)
    if s == k and p == (0, 0) and d == (1, 1) and extra == (0, 0) \
            and not return_indices:
        y, vjp = _max_pool_tiles(x, k, out, fn)
        if not unbatched:
            return y, vjp
        return y[0], lambda dy: (vjp(check_dout(dy, y.shape[1:], fn)[None])[0][0],)
    xp = _pad2(x, p, extra, -np.inf)
    y, idx = _first_max(xp[:, :, rows, columns] for _, _, rows, columns
                        in _offsets(k, s, d, out))
    result = y[0] if unbatched else y
    if return_indices:                               # flat h·W + w of the arg max
        i, j = np.divmod(idx.astype(np.int64), k[1])
        oh = np.arange(out[0])[:, None] * s[0] - p[0]
        ow = np.arange(out[1])[None, :] * s[1] - p[1]
        indices = (oh + d[0] * i) * x.shape[3] + (ow + d[1] * j)
        result = (result, indices[0] if unbatched else indices)

    def vjp(dy):
        if return_indices and isinstance(dy, tuple):
            dy = dy[0]
        dy = check_dout(dy, y.shape[1:] if unbatched else y.shape, fn)
        dy = dy[None] if unbatched else dy
        dxp = np.zeros(xp.shape, dtype=y.dtype)
        disjoint = s[0] >= d[0] * (k[0] - 1) + 1 and s[1] >= d[1] * (k[1] - 1) + 1
        for n, (i, j, rows, columns) in enumerate(_offsets(k, s, d, out)):
            routed = np.where(idx == n, dy, 0)          # route dy to the arg max
            if disjoint:
                dxp[:, :, rows, columns] = routed
            else:
                dxp[:, :, rows, columns] += routed
        dx = _unpad(dxp, x.shape, p)
        return (dx[0] if unbatched else dx,)
    return result, vjp


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


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Max pooling (see ``max_pool2d_vjp``); same as torch's ``max_pool2d``."""
    return max_pool2d_vjp(x, kernel_size, stride, padding, dilation, ceil_mode,
                          return_indices)[0]


def _avg_divisor(x_shape, k, s, p, out, count_include_pad, divisor_override):
    """The divisor of each window (H_out, W_out), torch's rule per axis.

    A window starts at a = o·s - p. With ``count_include_pad`` it counts the
    elements inside [-p, n + p) (padding included, the ceil_mode overhang not),
    else only those inside the input [0, n). ``divisor_override`` replaces it.
    """
    if divisor_override is not None:
        return np.asarray(float(divisor_override))
    sizes = []
    for a in range(2):
        n = x_shape[2 + a]
        start = np.arange(out[a]) * s[a] - p[a]
        end = np.minimum(start + k[a], n + p[a])
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        sizes.append((end - start).astype(float))
    return sizes[0][:, None] * sizes[1][None, :]


def avg_pool2d_vjp(x, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                   count_include_pad: bool = True,
                   divisor_override: int | None = None) -> tuple[np.ndarray, VJP]:
    """Average pooling and its VJP (Exercise 7.3): a window spreads dy / m evenly.

    y = (sum of the window) / m, with m the window's divisor: kH·kW by default
    (zero padding counts, torch's ``count_include_pad=True``); only the
    elements inside the input with ``count_include_pad=False``; a fixed
    ``divisor_override``. ``ceil_mode`` rounds the number of windows up; its
    extra windows overhang the input, and the overhang never counts. The VJP
    is the adjoint of the window sums: each input element receives Σ dy / m
    over the windows that contain it. x: (N, C, H, W) or (C, H, W).
    ``vjp(dy)`` returns ``(dx,)``. Same as ``torch.nn.functional.avg_pool2d``.
    """
    fn = "avg_pool2d"
    x, unbatched, k, s, p, d, out, extra = _pool_args(x, kernel_size, stride, padding,
                                                      fn, 1, ceil_mode)
    if divisor_override is not None and (
            isinstance(divisor_override, bool)
            or not isinstance(divisor_override, (int, np.integer))
            or divisor_override == 0):            # torch divides by any nonzero int
        raise ValueError(f"{fn}: divisor_override must be a nonzero int or None, "
                         f"got {divisor_override!r}")
    div = _avg_divisor(x.shape, k, s, p, out, count_include_pad, divisor_override)
    if s == k and p == (0, 0) and extra == (0, 0) and divisor_override is None:
        scale = 1.0 / (k[0] * k[1])
        # non-overlapping windows: sum the kW column phases, then the kH row phases
        Hc, Wc = out[0] * k[0], out[1] * k[1]
        rows = sum(x[:, :, :Hc, j:Wc:k[1]] for j in range(k[1]))   # (N, C, Hc, W_out)
        y = sum(rows[:, :, i::k[0]] for i in range(k[0])) * scale

        def vjp(dy):
            dy = check_dout(dy, y.shape[1:] if unbatched else y.shape, fn)
            dy = (dy[None] if unbatched else dy) * scale   # each input gets dy/(kH·kW)
            wide = np.repeat(dy.astype(y.dtype, copy=False), k[1], axis=3)
            dx = np.zeros(x.shape, dtype=y.dtype)
            for i in range(k[0]):
                dx[:, :, i:Hc:k[0], :Wc] = wide
            return (dx[0] if unbatched else dx,)
        return (y[0] if unbatched else y), vjp
    xp = _pad2(x, p, extra, 0.0)
    y = np.zeros(x.shape[:2] + out, dtype=x.dtype)
    for i, j, rows, columns in _offsets(k, s, d, out):
        y += xp[:, :, rows, columns]
    y /= div

    def vjp(dy):                                        # the adjoint of the window sums
        dy = check_dout(dy, y.shape[1:] if unbatched else y.shape, fn)
        dy = (dy[None] if unbatched else dy) / div
        dxp = np.zeros(xp.shape, dtype=y.dtype)
        for i, j, rows, columns in _offsets(k, s, d, out):
            dxp[:, :, rows, columns] += dy
        dx = _unpad(dxp, x.shape, p)
        return (dx[0] if unbatched else dx,)
    return (y[0] if unbatched else y), vjp


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True,
               divisor_override: int | None = None) -> np.ndarray:
    """Average pooling (see ``avg_pool2d_vjp``); same as torch's ``avg_pool2d``."""
    return avg_pool2d_vjp(x, kernel_size, stride, padding, ceil_mode,
                          count_include_pad, divisor_override)[0]


def _adaptive_matrix(n: int, m: int) -> np.ndarray:
    """(m, n) averaging matrix: row i averages x[⌊i n/m⌋ : ⌈(i + 1) n/m⌉]."""
    A = np.zeros((m, n))
    for i in range(m):
        a, b = (i * n) // m, -(-((i + 1) * n) // m)
        A[i, a:b] = 1.0 / (b - a)
    return A


def adaptive_avg_pool2d_vjp(x, output_size) -> tuple[np.ndarray, VJP]:
    """Adaptive average pooling to ``output_size`` (an int, a pair; None keeps a side).

    Output row i averages the input rows ⌊iH/H_out⌋ to ⌈(i + 1)H/H_out⌉ - 1
    (torch's windows, which may overlap when H_out does not divide H), and the
    same for the columns. So the map is linear and separable, y = A_H x A_Wᵀ
    per plane with A the (H_out, H) averaging matrix, and the VJP is its
    transpose: dx = A_Hᵀ dy A_W. x: (N, C, H, W) or (C, H, W). Same as
    ``torch.nn.functional.adaptive_avg_pool2d``.
    """
    fn = "adaptive_avg_pool2d"
    x, unbatched = _batched(x, fn)
    size = (output_size, output_size) if not isinstance(output_size, (tuple, list)) \
        else tuple(output_size)
    if len(size) != 2:
        raise ValueError(f"{fn}: output_size must be an int or a pair, "
                         f"got {output_size!r}")
    size = tuple(x.shape[2 + a] if v is None else v for a, v in enumerate(size))
    size = _pair(size, fn, "output_size", 1)
    Ah = _adaptive_matrix(x.shape[2], size[0]).astype(x.dtype)
    Aw = _adaptive_matrix(x.shape[3], size[1]).astype(x.dtype)
    y = np.einsum("ih,nchw,jw->ncij", Ah, x, Aw, optimize=True)

    def vjp(dy):
        dy = check_dout(dy, y.shape[1:] if unbatched else y.shape, fn)
        dy = dy[None] if unbatched else dy
        dx = np.einsum("ih,ncij,jw->nchw", Ah, dy, Aw, optimize=True)
        return (dx[0] if unbatched else dx,)
    return (y[0] if unbatched else y), vjp


def adaptive_avg_pool2d(x, output_size) -> np.ndarray:
    """Adaptive average pooling (see ``adaptive_avg_pool2d_vjp``)."""
    return adaptive_avg_pool2d_vjp(x, output_size)[0]
