"""Autograded checks for the exercises of Chapter 7 (convolutional networks).

Each ``check_*`` takes the learner's function, runs it on cases drawn from a
fresh ``rng(seed)`` (the same seed, the same cases; hidden cases: another
``seed``) and compares with PyTorch in float64 on ``dlmath.device()``. The
exercises are "by hand": a function that calls torch, or the ``dlmath``
routine it re-derives, is refused with a message saying so.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..check import to_numpy, to_torch
from . import as_int, check_function, refuse_calls, rng

# torch, dlmath's conv layers and the library convolutions: refused by object.
_CONV = ("torch", "dlmath.functional", "dlmath.nn", "numpy.convolve", "numpy.correlate",
         "scipy.signal", "scipy.ndimage.convolve", "scipy.ndimage.correlate")


def _refuse(fn: Callable, title: str, forbidden: tuple = _CONV) -> None:
    """Refuse a "by hand" solution that calls torch or the routine it re-derives."""
    refuse_calls(fn, forbidden, title=title, why="write it with numpy arithmetic")


def _attempt(fn: Callable, args, title: str):
    try:
        out = fn(*args)
    except NotImplementedError:
        raise AssertionError(f"{title}: not attempted yet — replace the `raise "
                             f"NotImplementedError` line with your code") from None
    if out is None:
        raise AssertionError(f"{title}: your function returned None — did you forget "
                             f"`return`?")
    return out


# --------------------------------------------------------------------------- 7.1
def check_transposed_output_size(fn, *, seed: int = 71) -> None:
    """Exercise 7.1: output length of a transposed convolution, against torch.

    ``fn(n, k, stride, padding, dilation, output_padding)``: the length of
    ``conv_transpose1d`` applied to n positions, which is
    (n - 1)s - 2p + d(k - 1) + output_padding + 1, the input size of the
    convolution whose backward pass the transposed convolution is.
    """
    import torch

    title = "Exercise 7.1 transposed_output_size"
    _refuse(fn, title)
    g = rng(seed)
    cases = [(4, 3, 1, 0, 1, 0), (4, 3, 2, 1, 1, 1), (5, 5, 2, 2, 1, 0),
             (3, 3, 1, 0, 2, 1), (7, 2, 3, 1, 1, 2), (1, 1, 1, 0, 1, 0)]
    while len(cases) < 40:
        n, k, st = int(g.integers(1, 20)), int(g.integers(1, 6)), int(g.integers(1, 4))
        p, d = int(g.integers(0, 3)), int(g.integers(1, 4))
        op = int(g.integers(0, max(st, d)))    # torch: op < stride or op < dilation
        if (n - 1) * st - 2 * p + d * (k - 1) + op + 1 >= 1:
            cases.append((n, k, st, p, d, op))
    dev = to_torch(np.zeros(1)).device
    for n, k, st, p, d, op in cases:
        x = torch.zeros(1, 1, n, dtype=torch.float64, device=dev)
        w = torch.zeros(1, 1, k, dtype=torch.float64, device=dev)
        expected = torch.nn.functional.conv_transpose1d(
            x, w, None, st, p, op, 1, d).shape[2]
        where = (f"for n={n}, k={k}, stride={st}, padding={p}, dilation={d}, "
                 f"output_padding={op} your function")
        got = as_int(_attempt(fn, (n, k, st, p, d, op), title), title=title,
                     where=where)
        if got != expected:
            raise AssertionError(
                f"{title}: {where} says {got}, torch's output has length "
                f"{expected}. Hint: the transposed convolution is the backward "
                f"pass of a convolution with these parameters; which input "
                f"lengths does that convolution map to n outputs, and which one "
                f"does output_padding pick?")
    print(f"✓ {title}: matches torch's output length on all {len(cases)} cases")


# --------------------------------------------------------------------------- 7.2
def check_circular_conv2d(fn, *, seed: int = 72) -> None:
    """Exercise 7.2: single-channel cross-correlation with wrap-around padding.

    ``fn(x, w)``, x (H, W), w (kH, kW) with odd sides, output (H, W):
    y[i, j] = Σ_ab w[a, b] x[(i + a - kH//2) mod H, (j + b - kW//2) mod W],
    torch's ``padding_mode="circular"``.
    """
    import torch

    title = "Exercise 7.2 circular_conv2d"
    refuse_calls(fn, (*_CONV, "numpy.pad"), title=title,
                 why="build the wrap-around from shifted copies of x (np.roll), not "
                     "from a padded copy and a convolution loop")
    g = rng(seed)
    shapes = [((6, 7), (3, 3)), ((5, 5), (1, 3)), ((8, 6), (5, 3)), ((4, 9), (3, 1))]
    cases = [(g.standard_normal(xs), g.standard_normal(ws)) for xs, ws in shapes]

    def ref(x, w):
        kh, kw = w.shape
        conv = torch.nn.Conv2d(1, 1, (kh, kw), padding=(kh // 2, kw // 2), bias=False,
                               padding_mode="circular").double().to(to_torch(x).device)
        with torch.no_grad():
            conv.weight.copy_(to_torch(w)[None, None])
            return conv(to_torch(x)[None, None])[0, 0]

    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="deep learning's 'convolution' does not flip the kernel; "
                        "the wrap-around is an index taken modulo H (np.roll moves "
                        "an array the other way from what you may expect)")


# --------------------------------------------------------------------------- 7.3
def check_avg_pool2d_backward(fn, *, seed: int = 73) -> None:
    """Exercise 7.3: dx of average pooling, ``fn(dy, input_shape, kernel, stride)``."""
    import torch

    title = "Exercise 7.3 avg_pool2d_backward"
    _refuse(fn, title)
    g = rng(seed)
    specs = [((2, 3, 8, 8), 2, 2), ((1, 2, 7, 9), 3, 2), ((2, 1, 6, 6), 3, 1),
             ((1, 1, 5, 8), 2, 3)]
    cases = []
    for shape, k, s in specs:
        H = (shape[2] - k) // s + 1
        W = (shape[3] - k) // s + 1
        cases.append((g.standard_normal(shape[:2] + (H, W)), shape, k, s))

    def ref(dy, shape, k, s):
        x = torch.zeros(shape, dtype=torch.float64, device=to_torch(dy).device,
                        requires_grad=True)
        torch.nn.functional.avg_pool2d(x, k, s).backward(to_torch(dy))
        return x.grad

    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="each output averages k·k inputs, so each of those inputs "
                        "receives its share of dy; where windows overlap the shares "
                        "add up, and inputs no window covers get 0")


# --------------------------------------------------------------------------- 7.4
def check_strided_input_grad(fn, *, seed: int = 74) -> None:
    """Exercise 7.4: dx of a strided convolution (no padding) from dy, w, input size.

    ``fn(dy, w, stride, input_hw)``: dy (N, C_out, H_out, W_out), w (C_out, C_in, k, k).
    """
    import torch

    title = "Exercise 7.4 strided_input_grad"
    _refuse(fn, title)
    g = rng(seed)
    specs = [(2, 1, 2, 3, 7, 7), (1, 3, 2, 3, 8, 9), (2, 2, 3, 2, 10, 8),
             (1, 2, 1, 3, 6, 5)]
    cases = []
    for N, C, s, k, H, W in specs:
        w = g.standard_normal((3, C, k, k))
        Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
        cases.append((g.standard_normal((N, 3, Ho, Wo)), w, s, (H, W)))

    def ref(dy, w, s, hw):
        x = torch.zeros((dy.shape[0], w.shape[1]) + tuple(hw), dtype=torch.float64,
                        device=to_torch(dy).device, requires_grad=True)
        torch.nn.functional.conv2d(x, to_torch(w), stride=s).backward(to_torch(dy))
        return x.grad

    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="put s - 1 zeros between neighbouring entries of dy, then "
                        "do the stride-1 input gradient (a full correlation with the "
                        "flipped kernel, channels swapped); rows and columns the "
                        "stride skipped at the end of x get 0")


# --------------------------------------------------------------------------- 7.5
def check_receptive_field(fn, *, seed: int = 75) -> None:
    """Exercise 7.5: receptive field of a stack of (kernel, stride, dilation) layers.

    ``fn(layers)`` with layers a list of (k, s, d) tuples; the answer is compared with
    the support of ∂y_center/∂x measured by torch autograd on a stack of convolutions.
    """
    import torch

    title = "Exercise 7.5 receptive_field"
    _refuse(fn, title)
    g = rng(seed)
    stacks = [[(3, 1, 1)] * 3, [(5, 1, 1), (3, 1, 1)],
              [(3, 2, 1), (3, 2, 1), (3, 1, 1)], [(3, 1, 1), (3, 1, 2), (3, 1, 4)],
              [(7, 2, 1), (3, 2, 1), (3, 1, 1)]]
    while len(stacks) < 10:
        L = int(g.integers(1, 5))
        stacks.append([(int(g.choice([1, 2, 3, 5])), int(g.integers(1, 3)),
                        int(g.integers(1, 3))) for _ in range(L)])
    for i, layers in enumerate(stacks, 1):
        expected = _measured_receptive_field(layers, torch)
        got = as_int(_attempt(fn, ([tuple(t) for t in layers],), title), title=title,
                     where=f"for layers (k, s, d) = {layers} your function")
        if got != expected:
            raise AssertionError(
                f"{title}: for layers (k, s, d) = {layers} the output sees {expected} "
                f"input pixels along each axis (measured with autograd), yours says "
                f"{got}. "
                f"Hint: track, layer by layer, how many input pixels lie between two "
                f"neighbouring outputs, and what one more kernel tap adds")
    print(f"✓ {title}: matches the receptive field measured by autograd on all "
          f"{len(stacks)} stacks")


def _measured_receptive_field(layers, torch) -> int:
    """Width of the nonzero support of ∂y/∂x for one output near the middle (1-D)."""
    need = 1
    for k, s, d in reversed(layers):
        need = (need - 1) * s + d * (k - 1) + 1
    n = need + 8
    dev = to_torch(np.zeros(1)).device
    x = torch.zeros(1, 1, n, dtype=torch.float64, device=dev, requires_grad=True)
    h = x
    for k, s, d in layers:
        w = torch.ones(1, 1, k, dtype=torch.float64, device=dev)
        h = torch.nn.functional.conv1d(h, w, stride=s, dilation=d)
    h[0, 0, 0].backward()
    support = np.flatnonzero(to_numpy(x.grad)[0, 0] != 0)
    return int(support[-1] - support[0] + 1)
