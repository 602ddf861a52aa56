"""Every Chapter 14 check accepts the notebook's solution (visible and hidden
cases) and rejects a stub and at least three plausible wrong answers."""
from __future__ import annotations

import importlib
import math

import numpy as np
import pytest

from dlmath.exercises import ch14
from tests.notebook_solutions import check_calls, solutions

NB = "chapters/14_architectures_search_quantum/"
NOTEBOOKS = [NB + "01_inductive_bias_measured.ipynb",
             NB + "02_architecture_search.ipynb",
             NB + "03_quantum_neural_networks.ipynb"]


def stub(*args):
    raise NotImplementedError()


def fails(check, fn, match):
    with pytest.raises(AssertionError, match=match):
        check(fn)


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_every_visible_and_hidden_call_accepts_the_notebook_solution(path, capsys):
    calls = check_calls(path)
    assert calls and any(seed is not None for *_, seed in calls)
    for module, check, fn, seed in calls:
        mod = importlib.import_module(f"dlmath.exercises.{module}")
        getattr(mod, check)(solutions(path)[fn], **({} if seed is None else
                                                   {"seed": seed}))
    assert capsys.readouterr().out.count("✓") == sum(seed is None for *_, seed in calls)


@pytest.mark.parametrize("check", [ch14.check_conv2d_flops, ch14.check_patchify,
                                   ch14.check_sh_budget, ch14.check_mixed_op_tau_grad,
                                   ch14.check_parameter_shift, ch14.check_apply_cz])
def test_stub_is_not_attempted(check):
    fails(check, stub, "not attempted")


def test_returning_none_or_junk_is_said_clearly():
    fails(ch14.check_conv2d_flops, lambda *a: None, "returned None")
    fails(ch14.check_conv2d_flops, lambda *a: np.zeros(3), "expected a number")
    fails(ch14.check_patchify, lambda x, p: x, "expected shape")
    fails(ch14.check_apply_cz, lambda s, a, b: s[:2], "expected shape")
    fails(ch14.check_parameter_shift, lambda f, t: np.zeros(len(t) + 1),
          "expected shape")
    with pytest.raises(TypeError, match="expected your function"):
        ch14.check_sh_budget(42)


# ------------------------------------------------------------- 14.1 conv FLOPs
def _out(H, k, s, p, d=1):
    return (H + 2 * p - d * (k - 1) - 1) // s + 1


def _outputs(N, H, W, Co, k, s, p, d):
    return N * Co * _out(H, k, s, p, d) * _out(W, k, s, p, d)


def flops_macs_only(N, C, H, W, Co, k, s, p, d, g):       # multiply-adds, not FLOPs
    return _outputs(N, H, W, Co, k, s, p, d) * (C // g) * k * k


def flops_counted_twice(N, C, H, W, Co, k, s, p, d, g):   # 2 FLOPs counted twice
    return 4 * flops_macs_only(N, C, H, W, Co, k, s, p, d, g)


def flops_no_floor(N, C, H, W, Co, k, s, p, d, g):        # (H + 2p - span) / s + 1
    o = lambda n: (n + 2 * p - d * (k - 1) - 1) / s + 1    # noqa: E731
    return 2 * N * Co * o(H) * o(W) * (C // g) * k * k


def flops_ignore_groups(N, C, H, W, Co, k, s, p, d, g):   # every channel, every group
    return 2 * _outputs(N, H, W, Co, k, s, p, d) * C * k * k


def flops_ignore_dilation(N, C, H, W, Co, k, s, p, d, g): # the undilated output size
    return 2 * _outputs(N, H, W, Co, k, s, p, 1) * (C // g) * k * k


def flops_input_size(N, C, H, W, Co, k, s, p, d, g):      # input, not output pixels
    return 2 * N * Co * H * W * (C // g) * k * k


@pytest.mark.parametrize("wrong", [flops_macs_only, flops_counted_twice,
                                   flops_no_floor, flops_ignore_groups,
                                   flops_ignore_dilation, flops_input_size])
def test_conv2d_flops_rejects(wrong):
    fails(ch14.check_conv2d_flops, wrong, "FLOPs")


def test_conv2d_flops_accepts_the_formula():
    ch14.check_conv2d_flops(lambda N, C, H, W, Co, k, s, p, d, g:
                            2 * flops_macs_only(N, C, H, W, Co, k, s, p, d, g))


# ------------------------------------------------------------- 14.2 patchify
def patch_channels_last(x, p):                 # features ordered (p, p, C)
    N, C, H, W = x.shape
    t = x.reshape(N, C, H // p, p, W // p, p).transpose(0, 2, 4, 3, 5, 1)
    return t.reshape(N, (H // p) * (W // p), C * p * p)


def patch_column_major(x, p):                  # patch grid read column by column
    N, C, H, W = x.shape
    t = x.reshape(N, C, H // p, p, W // p, p).transpose(0, 4, 2, 1, 3, 5)
    return t.reshape(N, (H // p) * (W // p), C * p * p)


def patch_plain_reshape(x, p):                 # a reshape without the transpose
    N, C, H, W = x.shape
    return x.reshape(N, (H // p) * (W // p), C * p * p)


def patch_torch(x, p):                         # right, but not by hand
    import torch
    t = torch.nn.functional.unfold(torch.tensor(x), p, stride=p)
    return t.transpose(1, 2).numpy()


@pytest.mark.parametrize("wrong, match", [
    (patch_channels_last, "wrong values"), (patch_column_major, "wrong values"),
    (patch_plain_reshape, "wrong values"), (patch_torch, "by hand")])
def test_patchify_rejects(wrong, match):
    fails(ch14.check_patchify, wrong, match)


# ------------------------------------------------------------- 14.3 SH budget
def sh_no_floors(n, r, eta):                   # n r (log_eta n + 1)
    return n * r * (math.log(n, eta) + 1)


def sh_missing_last_rung(n, r, eta):
    total, i = 0, 0
    while n // eta ** (i + 1) >= 1:
        total += (n // eta ** i) * r * eta ** i
        i += 1
    return total


def sh_ceil(n, r, eta):                        # keeps ceil(n / eta^i)
    total, i = 0, 0
    while True:
        m = -(-n // eta ** i)
        total += m * r * eta ** i
        if m == 1:
            return total
        i += 1


def sh_with_library(n, r, eta):
    from dlmath import nas
    return nas.rungs_budget(nas.successive_halving_rungs(n, r, eta))


@pytest.mark.parametrize("wrong, match", [
    (sh_no_floors, "budget units"), (sh_missing_last_rung, "budget units"),
    (sh_ceil, "budget units"), (sh_with_library, "by hand")])
def test_sh_budget_rejects(wrong, match):
    fails(ch14.check_sh_budget, wrong, match)


# ------------------------------------------------------------- 14.4 DARTS with tau
def _p(alpha, tau):
    b = np.asarray(alpha) / tau
    e = np.exp(b - b.max())
    return e / e.sum()


def _g(outputs, dy):
    return np.asarray(outputs).reshape(len(outputs), -1) @ np.asarray(dy).reshape(-1)


def tau_forgotten(outputs, alpha, dy, tau):
    p, g = _p(alpha, tau), _g(outputs, dy)
    return p * (g - p @ g)


def tau_multiplied(outputs, alpha, dy, tau):
    p, g = _p(alpha, tau), _g(outputs, dy)
    return p * (g - p @ g) * tau


def tau_no_jacobian(outputs, alpha, dy, tau):   # diag(p) only, no -p p^T
    p, g = _p(alpha, tau), _g(outputs, dy)
    return p * g / tau


def tau_with_torch(outputs, alpha, dy, tau):
    import torch
    a = torch.tensor(alpha, requires_grad=True)
    y = torch.tensordot(torch.softmax(a / tau, 0), torch.tensor(outputs), 1)
    (y * torch.tensor(dy)).sum().backward()
    return a.grad.numpy()


@pytest.mark.parametrize("wrong, match", [
    (tau_forgotten, "wrong values"), (tau_multiplied, "wrong values"),
    (tau_no_jacobian, "wrong values"), (tau_with_torch, "by hand")])
def test_mixed_op_tau_grad_rejects(wrong, match):
    fails(ch14.check_mixed_op_tau_grad, wrong, match)


# ------------------------------------------------------------- 14.5 parameter shift
def _shift(f, theta, s, denom):
    theta = np.asarray(theta, dtype=float)
    out = np.zeros_like(theta)
    for j in range(len(theta)):
        e = np.zeros_like(theta)
        e[j] = s
        out[j] = (f(theta + e) - f(theta - e)) / denom
    return out


def shift_by_pi(f, theta):
    return _shift(f, theta, np.pi, 2)


def shift_no_half(f, theta):
    return _shift(f, theta, np.pi / 2, 1)


def shift_quarter_pi(f, theta):                # pi/4 needs 2 sin(pi/4), not 2
    return _shift(f, theta, np.pi / 4, 2)


def finite_difference(f, theta):               # the best step: still ~1e-10 off
    return _shift(f, theta, 1e-5, 2e-5)


def shift_with_torch(f, theta):
    import torch  # noqa: F401
    return _shift(f, theta, np.pi / 2, 2)


@pytest.mark.parametrize("wrong, match", [
    (shift_by_pi, "wrong values"), (shift_no_half, "wrong values"),
    (shift_quarter_pi, "wrong values"), (finite_difference, "wrong values"),
    (shift_with_torch, "by hand")])
def test_parameter_shift_rejects(wrong, match):
    fails(ch14.check_parameter_shift, wrong, match)


# ------------------------------------------------------------- 14.6 CZ
def _bits(state, q):
    n = len(state).bit_length() - 1
    return (np.arange(len(state)) >> (n - 1 - q)) & 1


def cz_either(state, a, b):                    # -1 if either bit is 1
    return state * (1 - 2 * (_bits(state, a) | _bits(state, b)))


def cz_little_endian(state, a, b):             # qubit 0 as the least significant bit
    i = np.arange(len(state))
    return state * (1 - 2 * (((i >> a) & 1) & ((i >> b) & 1)))


def cz_as_cnot(state, a, b):                   # flips the target instead
    from dlmath import quantum as Q
    return Q.apply_cnot(state, a, b)


def cz_identity(state, a, b):
    return state


@pytest.mark.parametrize("wrong", [cz_either, cz_little_endian, cz_as_cnot,
                                   cz_identity])
def test_apply_cz_rejects(wrong):
    fails(ch14.check_apply_cz, wrong, "wrong values")
