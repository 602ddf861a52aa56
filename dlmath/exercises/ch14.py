"""Autograded checks for the exercises of Chapter 14 (choosing and searching
architectures; quantum neural networks).

Each ``check_*`` draws its cases from a fresh ``rng(seed)`` (hidden cases: another
``seed``) and compares the learner's function with a reference: torch's own FLOP
counter, ``torch.nn.functional.conv2d``, an exact enumeration of successive
halving's evaluations, torch autograd in float64 / complex128. The "by hand"
exercises refuse torch and the ``dlmath`` routine they re-derive.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..check import assert_close, to_numpy
from . import call_learner, refuse_calls, rng

__all__ = ["check_conv2d_flops", "check_patchify", "check_sh_budget",
           "check_mixed_op_tau_grad", "check_parameter_shift", "check_apply_cz"]


def _call(fn: Callable, title: str, *args: Any) -> Any:
    """``call_learner``, with any other exception of the learner's function said
    as a failed check ("your function raised ...") instead of a traceback."""
    if not callable(fn):
        return call_learner(fn, title)             # its TypeError, unchanged
    try:
        return call_learner(fn, title, *args)
    except AssertionError:
        raise
    except Exception as exc:
        raise AssertionError(f"{title}: your function raised {type(exc).__name__}: "
                             f"{exc}") from None


def _number(out: Any, title: str, case: str) -> float:
    arr = np.asarray(out)
    if arr.shape != () or arr.dtype.kind not in "biuf":
        raise AssertionError(f"{title}: on {case} expected a number, got "
                             f"{type(out).__name__} of shape {arr.shape}")
    return float(arr)


def _array(out: Any, shape: tuple, title: str, case: str, complex_ok: bool = False):
    arr = to_numpy(out) if hasattr(out, "detach") else np.asarray(out)
    kinds = "biufc" if complex_ok else "biuf"
    if arr.dtype.kind not in kinds:
        raise AssertionError(f"{title}: on {case} expected an array of numbers, got "
                             f"dtype {arr.dtype}")
    if arr.shape != shape:
        raise AssertionError(f"{title}: on {case} expected shape {shape}, got "
                             f"{arr.shape}")
    return arr


def _compare(got, expected, title: str, case: str, rtol: float, atol: float,
             hint: str = "") -> None:
    try:
        assert_close(got, expected, rtol=rtol, atol=atol, name="your result",
                     against="the reference", verbose=False)
    except AssertionError as exc:
        raise AssertionError(f"{title}: wrong values on {case}: {exc}."
                             + (f" Hint: {hint}" if hint else "")) from None


# ---------------------------------------------------------------------- Exercise 14.1
def check_conv2d_flops(fn, *, seed: int = 141) -> None:
    """Exercise 14.1: FLOPs of one conv2d as ``torch.utils.flop_counter`` counts them.

    ``fn(N, C_in, H, W, C_out, k, stride, padding, dilation, groups)``: 2 FLOPs
    per multiply-add, N C_out H_out W_out output values with
    H_out = floor((H + 2 padding - dilation (k - 1) - 1) / stride) + 1, and
    (C_in / groups) k^2 multiply-adds each; the bias is not counted. Cases
    include strides that do not divide the input, dilations and groups.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    title = "Exercise 14.1 conv2d_flops"
    g = rng(seed)
    cases = [(1, 1, 8, 8, 4, 3, 1, 0, 1, 1), (2, 3, 9, 7, 5, 3, 2, 1, 1, 1),
             (4, 8, 8, 8, 16, 2, 2, 0, 1, 1), (2, 4, 10, 9, 6, 3, 1, 2, 2, 1),
             (3, 6, 7, 7, 6, 3, 1, 1, 1, 6), (1, 4, 11, 8, 8, 3, 2, 1, 1, 2)]
    for _ in range(4):
        k, d, grp = int(g.integers(1, 4)), int(g.integers(1, 3)), int(g.integers(1, 4))
        s, p = int(g.integers(1, 4)), int(g.integers(0, 3))
        span = d * (k - 1) + 1
        cases.append((int(g.integers(1, 4)), grp * int(g.integers(1, 4)),
                      int(g.integers(span + 1, 13)), int(g.integers(span + 1, 13)),
                      grp * int(g.integers(1, 4)), k, s, p, d, grp))
    for i, (N, C, H, W, Co, k, s, p, d, grp) in enumerate(cases, 1):
        x = torch.zeros(N, C, H, W)
        w = torch.zeros(Co, C // grp, k, k)
        with FlopCounterMode(display=False) as counter:
            torch.nn.functional.conv2d(x, w, torch.zeros(Co), stride=s, padding=p,
                                       dilation=d, groups=grp)
        expected = counter.get_total_flops()
        case = (f"case {i} (N={N}, C_in={C}, H={H}, W={W}, C_out={Co}, k={k}, "
                f"stride={s}, padding={p}, dilation={d}, groups={grp})")
        got = _number(_call(fn, title, N, C, H, W, Co, k, s, p, d, grp), title, case)
        if got != expected:
            ratio = got / expected if expected else float("nan")
            raise AssertionError(
                f"{title}: on {case} expected {expected} FLOPs (torch's counter), "
                f"got {got:g} ({ratio:.3g} times as many). Hint: count output "
                f"values first (with the floor and the dilated kernel's span), then "
                f"multiply-adds per value (which input channels does a group "
                f"see?), then FLOPs per multiply-add.")
    print(f"✓ {title}: matches torch's FlopCounterMode on all {len(cases)} test cases")


# ---------------------------------------------------------------------- Exercise 14.2
def check_patchify(fn, *, seed: int = 142) -> None:
    """Exercise 14.2: patch tokens whose product with the flattened kernel is the
    strided convolution. ``fn(x, p)``: x (N, C, H, W) -> (N, (H/p)(W/p), C p p)
    with ``fn(x, p) @ W.reshape(d, -1).T + b == conv2d(x, W, b, stride=p)``
    flattened to (N, tokens, d) in row-major patch order. By hand: no torch.
    """
    import torch

    title = "Exercise 14.2 patchify"
    refuse_calls(fn, ("torch", "dlmath.functional.conv2d", "dlmath.functional.unfold",
                      "numpy.lib.stride_tricks"), title=title,
                 why="cut the image into patches with numpy reshapes")
    g = rng(seed)
    for i, (N, C, H, W, p, d) in enumerate([(2, 1, 8, 8, 2, 5), (3, 3, 6, 9, 3, 4),
                                            (1, 2, 8, 4, 4, 3), (2, 2, 4, 6, 1, 2)],
                                           1):
        x = g.standard_normal((N, C, H, W))
        Wt, b = g.standard_normal((d, C, p, p)), g.standard_normal(d)
        y = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(Wt),
                                       torch.tensor(b), stride=p)
        ref = y.flatten(2).transpose(1, 2).numpy()
        case = f"case {i} (x {x.shape}, p={p})"
        T = (H // p) * (W // p)
        tokens = _array(_call(fn, title, x, p), (N, T, C * p * p), title, case)
        _compare(tokens @ Wt.reshape(d, -1).T + b, ref, title, case, 1e-12, 1e-12,
                 hint="a token's features must be ordered like W.reshape(d, -1): "
                      "channel, then kernel row, then kernel column; tokens go "
                      "row by row over the patch grid")
    print(f"✓ {title}: tokens @ W.reshape(d, -1).T + b matches torch's strided "
          f"conv2d on all 4 test cases")


# ---------------------------------------------------------------------- Exercise 14.3
def check_sh_budget(fn, *, seed: int = 143) -> None:
    """Exercise 14.3: the total budget of successive halving, ``fn(n, r, eta)``,
    run until one configuration is left, against an exact count of the
    evaluations of ``dlmath.nas.successive_halving``. By hand: no dlmath.nas.
    """
    from .. import nas

    title = "Exercise 14.3 sh_budget"
    refuse_calls(fn, ("dlmath.nas",), title=title,
                 why="sum the rungs yourself")
    g = rng(seed)
    cases = [(27, 1, 3), (81, 2, 3), (16, 1, 2), (10, 1, 3), (50, 3, 2)]
    cases += [(int(g.integers(2, 300)), int(g.integers(1, 6)), int(g.integers(2, 5)))
              for _ in range(4)]
    for i, (n, r, eta) in enumerate(cases, 1):
        spent = []
        nas.successive_halving(range(n), lambda c, b: spent.append(b) or c, r, eta)
        expected = float(sum(spent))
        case = f"case {i} (n={n}, r={r}, eta={eta})"
        got = _number(_call(fn, title, n, r, eta), title, case)
        if abs(got - expected) > 1e-9 * expected:
            raise AssertionError(
                f"{title}: on {case} successive halving spends {expected:g} "
                f"budget units, your formula gives {got:g}. Hint: a rung keeps "
                f"floor(n / eta^i) configurations, and the last rung (one "
                f"configuration) is run too.")
    print(f"✓ {title}: matches an exact count of evaluations on all {len(cases)} "
          f"test cases")


# ---------------------------------------------------------------------- Exercise 14.4
def check_mixed_op_tau_grad(fn, *, seed: int = 144) -> None:
    """Exercise 14.4: dL/dalpha for y = sum_k softmax(alpha / tau)_k o_k, given
    dL/dy. ``fn(outputs (K, ...), alpha (K,), dy (...), tau)`` -> (K,), against
    torch autograd. By hand: no torch, no dlmath.nas.
    """
    import torch

    title = "Exercise 14.4 mixed_op_tau_grad"
    refuse_calls(fn, ("torch", "dlmath.nas", "dlmath.autodiff"), title=title,
                 why="derive the gradient through the softmax with temperature")
    g = rng(seed)
    for i, (K, shape, tau) in enumerate([(3, (4,), 1.0), (4, (2, 5), 0.5),
                                         (2, (3, 3), 2.0), (5, (6,), 0.1),
                                         (1, (2,), 0.7)], 1):
        O = g.standard_normal((K, *shape))
        a, dy = g.standard_normal(K), g.standard_normal(shape)
        at = torch.tensor(a, requires_grad=True)
        y = torch.tensordot(torch.softmax(at / tau, 0), torch.tensor(O), dims=1)
        (y * torch.tensor(dy)).sum().backward()
        case = f"case {i} (K={K}, outputs {O.shape}, tau={tau})"
        got = _array(_call(fn, title, O, a, dy, tau), (K,), title, case)
        _compare(got, at.grad.numpy(), title, case, 1e-10, 1e-12,
                 hint="the softmax Jacobian is diag(p) - p p^T, and the chain rule "
                      "through alpha / tau brings one more factor")
    print(f"✓ {title}: matches torch autograd on all 5 test cases")


# ---------------------------------------------------------------------- Exercise 14.5
def _torch_expval(circuit, w, O):
    """f(w) = <psi|O|psi> with a complex128 torch simulation (Kronecker matrices)."""
    import torch

    from .. import quantum as Q

    c128, n = torch.complex128, circuit.n_qubits

    def full(U, q):
        M = torch.ones(1, 1, dtype=c128)
        for j in range(n):
            M = torch.kron(M, U if j == q else torch.eye(2, dtype=c128))
        return M

    psi = torch.zeros(2 ** n, dtype=c128)
    psi[0] = 1
    for op in circuit.ops:
        if op[0] == "CNOT":
            psi = torch.tensor(np.real(_cnot_matrix(op[1], op[2], n)), dtype=c128) @ psi
        elif op[0] in ("H", "X"):
            psi = full(torch.tensor(Q.H if op[0] == "H" else Q.PAULI["X"]), op[1]) @ psi
        else:
            t = w[op[2][1]]
            P = torch.tensor(Q.PAULI[op[0][1]])
            U = (torch.cos(t / 2).to(c128) * torch.eye(2, dtype=c128)
                 - 1j * torch.sin(t / 2).to(c128) * P)
            psi = full(U, op[1]) @ psi
    return (psi.conj() @ torch.tensor(O, dtype=c128) @ psi).real


def _cnot_matrix(c: int, t: int, n: int) -> np.ndarray:
    M = np.zeros((2 ** n, 2 ** n))
    for i in range(2 ** n):
        j = i ^ (1 << (n - 1 - t)) if (i >> (n - 1 - c)) & 1 else i
        M[j, i] = 1
    return M


def check_parameter_shift(fn, *, seed: int = 145) -> None:
    """Exercise 14.5: ``fn(f, theta)`` -> the gradient (P,) of a circuit's
    expectation f(theta) by the parameter-shift rule, against torch autograd
    through a complex128 simulation, to 1e-12 (a finite difference cannot
    reach it; a shift of pi gives 0). By hand: no torch.
    """
    import torch

    from .. import quantum as Q

    title = "Exercise 14.5 parameter_shift_grad"
    refuse_calls(fn, ("torch", "dlmath.quantum.Circuit.parameter_shift",
                      "dlmath.autodiff"), title=title,
                 why="evaluate f at shifted angles")
    g = rng(seed)
    for i, (n, layers) in enumerate([(1, 1), (2, 2), (3, 2), (2, 3)], 1):
        ops, k = [], 0
        for _ in range(layers):
            for q in range(n):
                ops.append((str(g.choice(["RX", "RY", "RZ"])), q, ("w", k)))
                k += 1
            ops += [("CNOT", q, q + 1) for q in range(n - 1)]
        circ = Q.Circuit(n, ops)
        A = g.standard_normal((2 ** n, 2 ** n)) + 1j * g.standard_normal((2 ** n,) * 2)
        O = A + A.conj().T
        theta = g.uniform(-np.pi, np.pi, k)
        wt = torch.tensor(theta, requires_grad=True)
        _torch_expval(circ, wt, O).backward()

        def f(th, circ=circ, O=O):
            th = np.asarray(th, dtype=np.float64)
            if th.shape != (circ.n_params,):
                raise ValueError(f"f takes the angles ({circ.n_params},), got "
                                 f"shape {th.shape}")
            return float(circ.expval(th, O))

        f.__name__ = f"f_circuit{i}"
        case = f"case {i} ({n} qubits, {k} angles)"
        got = _array(_call(fn, title, f, theta), (k,), title, case)
        _compare(got, wt.grad.numpy(), title, case, 1e-12, 1e-12,
                 hint="f is a + b cos(theta_i) + c sin(theta_i) in each angle: "
                      "which two evaluations give its derivative exactly?")
    print(f"✓ {title}: matches torch autograd through a complex128 simulation on "
          f"all 4 test cases (rtol 1e-12, atol 1e-12)")


# ---------------------------------------------------------------------- Exercise 14.6
def check_apply_cz(fn, *, seed: int = 146) -> None:
    """Exercise 14.6: ``fn(state (2**n,), a, b)`` applies the controlled-Z gate
    on qubits a and b (qubit 0 = most significant bit), against the diagonal
    matrix in torch (complex128)."""
    import torch

    title = "Exercise 14.6 apply_cz"
    g = rng(seed)
    for i, (n, a, b) in enumerate([(2, 0, 1), (3, 0, 1), (3, 2, 0), (4, 1, 3),
                                   (4, 3, 2)], 1):
        psi = g.standard_normal(2 ** n) + 1j * g.standard_normal(2 ** n)
        psi /= np.linalg.norm(psi)
        idx = np.arange(2 ** n)
        both = ((idx >> (n - 1 - a)) & 1) & ((idx >> (n - 1 - b)) & 1)
        D = torch.diag(torch.tensor(1.0 - 2.0 * both, dtype=torch.complex128))
        ref = (D @ torch.tensor(psi)).numpy()
        case = f"case {i} ({n} qubits, a={a}, b={b})"
        got = _array(_call(fn, title, psi, a, b), (2 ** n,), title, case,
                     complex_ok=True)
        _compare(np.real(got), ref.real, title, case, 1e-12, 1e-12,
                 hint="CZ multiplies by -1 exactly the amplitudes whose basis index "
                      "has a 1 in both bits")
        _compare(np.imag(got), ref.imag, title, case, 1e-12, 1e-12)
    print(f"✓ {title}: matches the CZ matrix in torch on all 5 test cases")
