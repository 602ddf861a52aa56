"""Autograded checks for the exercises of Chapter 2 (calculus and autodiff).

Each ``check_*`` takes the learner's function, runs it on fixed inputs and
compares with PyTorch (``torch.autograd`` in float64 on ``dlmath.device()``).
The engine-extension checks (Exercises 2.5 and 2.6) run the learner's new op
forward *and* backward and compare values and gradients separately, so the
message says which half is wrong.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..autodiff import Tensor
from ..check import assert_close, to_torch
from . import check_function

_G = np.random.default_rng(2025)  # fixed test inputs, independent of dlmath.seed


def _cases(*shapes_list):
    return [tuple(_G.standard_normal(s) for s in shapes) for shapes in shapes_list]


def check_softmax_jacobian(fn) -> None:
    """Exercise 2.1: the Jacobian of softmax at z (n,), J = diag(p) - p pᵀ, (n, n)."""
    import torch

    def ref(z):
        return torch.autograd.functional.jacobian(
            lambda v: torch.softmax(v, dim=0), to_torch(z)
        )

    cases = _cases([(3,)], [(5,)], [(1,)]) + [(np.array([1000.0, 1001.0, 999.0]),)]
    check_function(
        fn,
        ref,
        cases,
        title="Exercise 2.1 softmax_jacobian",
        rtol=1e-10,
        atol=1e-12,
        hint="J = diag(p) - outer(p, p) with p = softmax(z); compute p from "
        "z - z.max() so that large z does not overflow",
    )


def check_grad_least_squares(fn) -> None:
    """Exercise 2.2: ∇ₓ ‖A x - b‖² = 2 Aᵀ (A x - b)."""

    def ref(A, x, b):
        xt = to_torch(x, requires_grad=True)
        ((to_torch(A) @ xt - to_torch(b)) ** 2).sum().backward()
        return xt.grad

    cases = _cases([(5, 3), (3,), (5,)], [(2, 4), (4,), (2,)], [(1, 1), (1,), (1,)])
    check_function(
        fn,
        ref,
        cases,
        title="Exercise 2.2 grad_least_squares",
        rtol=1e-10,
        atol=1e-12,
        hint="chain rule: r = A x - b, f = rᵀr, so ∇f = Jᵀ (2r) with "
        "J = A; the result has x's shape (n,)",
    )


def check_grad_W_tanh_layer(fn) -> None:
    """Exercise 2.3: ∂/∂W of L = Σ tanh(X Wᵀ + b); X (N, in), W (out, in), b (out,)."""
    import torch

    def ref(X, W, b):
        Wt = to_torch(W, requires_grad=True)
        torch.tanh(to_torch(X) @ Wt.T + to_torch(b)).sum().backward()
        return Wt.grad

    cases = _cases(
        [(6, 3), (4, 3), (4,)], [(1, 2), (5, 2), (5,)], [(3, 1), (1, 1), (1,)]
    )
    check_function(
        fn,
        ref,
        cases,
        title="Exercise 2.3 grad_W_tanh_layer",
        rtol=1e-10,
        atol=1e-12,
        hint="backward through tanh gives G = 1 - tanh(Z)² (N, out); "
        "backward through Z = X Wᵀ gives dW = Gᵀ X (out, in)",
    )


_FUNCS = [  # (numpy function, torch twin) for Exercise 2.4
    (np.sin, lambda x: x.sin()),
    (lambda x: np.exp(x / 2), lambda x: (x / 2).exp()),
    (np.tanh, lambda x: x.tanh()),
    (lambda x: x ** 3 - 2 * x, lambda x: x ** 3 - 2 * x),
]


def check_five_point_derivative(fn) -> None:
    """Exercise 2.4: f'(x) ≈ (-f(x+2h) + 8f(x+h) - 8f(x-h) + f(x-2h)) / (12h).

    The error is O(h⁴).

    With h = 1e-2 a fourth-order formula is accurate to ~1e-9, while the
    central difference (error h²f'''/6 ≈ 1e-5) fails the tolerance.
    """

    def ref(k, x, h):
        xt = to_torch(x, requires_grad=True)
        _FUNCS[k][1](xt).sum().backward()  # elementwise f: the gradient of Σf is f'
        return xt.grad

    xs = [_G.uniform(-2, 2, 7) for _ in _FUNCS]
    cases = [(k, x, 1e-2) for k, x in enumerate(xs)]
    check_function(
        lambda k, x, h: fn(_FUNCS[k][0], x, h),
        ref,
        cases,
        title="Exercise 2.4 five_point_derivative",
        rtol=1e-8,
        atol=1e-8,
        hint="four evaluations of f, weights (1, -8, 8, -1) / (12h) at x - 2h, "
        "x - h, x + h, x + 2h; a central difference is only O(h²)",
    )


def _check_op(
    fn: Callable, torch_fn: Callable, cases, *, title: str, hint: str
) -> None:
    """Run a learner's engine op forward and backward; compare both with torch."""
    for i, arrays in enumerate(cases, 1):
        inputs = [Tensor(np.copy(a), requires_grad=True) for a in arrays]
        try:
            out = fn(*inputs)
        except NotImplementedError:
            raise AssertionError(
                f"{title}: not attempted yet — replace the "
                f"`raise NotImplementedError` line with your code"
            ) from None
        if not isinstance(out, Tensor):
            raise AssertionError(f"{title}: your function must return a dlmath Tensor, "
                                 f"got {type(out).__name__}. Hint: {hint}")
        shapes = ", ".join(str(a.shape) for a in arrays)
        refs = [to_torch(a, requires_grad=True) for a in arrays]
        expected = torch_fn(*refs)
        if out.shape != tuple(expected.shape):
            raise AssertionError(
                f"{title}: for inputs of shapes {shapes} your output has shape "
                f"{out.shape} but torch's has {tuple(expected.shape)}"
            )
        try:
            assert_close(out.data, expected, rtol=1e-10, atol=1e-12, name="forward",
                         against="torch", verbose=False)
        except AssertionError as exc:
            raise AssertionError(f"{title}: wrong forward values on test case {i} "
                                 f"(shapes {shapes}): {exc}. Hint: {hint}") from None
        if not out.requires_grad or out._backward is None:
            raise AssertionError(
                f"{title}: the output is not connected to the inputs' graph; "
                f"build it with Tensor.from_op(data, parents, backward, op)"
            )
        g = _G.standard_normal(out.shape)
        try:
            out.backward(g)
        except ValueError as exc:  # the engine checks the shapes your backward returns
            raise AssertionError(f"{title}: backward failed on test case {i} "
                                 f"(shapes {shapes}): {exc}. Hint: {hint}") from None
        expected.backward(to_torch(g))
        for k, (mine, theirs) in enumerate(zip(inputs, refs)):
            name = "abcdefgh"[k]
            if mine.grad is None:
                raise AssertionError(
                    f"{title}: no gradient reached input {name} on test case {i}"
                )
            try:
                assert_close(
                    mine.grad,
                    theirs.grad,
                    rtol=1e-10,
                    atol=1e-12,
                    name=f"gradient w.r.t. {name}",
                    against="torch",
                    verbose=False,
                )
            except AssertionError as exc:
                raise AssertionError(
                    f"{title}: wrong backward on test case {i} "
                    f"(shapes {shapes}): {exc}. Hint: {hint}"
                ) from None
    print(f"✓ {title}: forward and backward match torch on all {len(cases)} test cases")


def check_maximum(fn) -> None:
    """Exercise 2.5: a new engine op ``maximum(a, b)``, broadcasting like torch's."""
    import torch

    cases = _cases([(3, 4), (3, 4)], [(2, 3), (3,)], [(4, 1), (1, 5)], [(), (3,)])
    _check_op(
        fn,
        torch.maximum,
        cases,
        title="Exercise 2.5 maximum",
        hint="the gradient flows to whichever input is larger: g * (a > b) for a, "
        "g * (a < b) for b; then unbroadcast(…, a.shape) / (…, b.shape)",
    )


def check_softplus(fn) -> None:
    """Exercise 2.6: a new engine op ``softplus(a) = log(1 + eᵃ)``, stable at large
    |a|."""
    import torch

    cases = _cases([(5,)], [(2, 3)]) + [(np.array([-800.0, -30.0, 0.0, 30.0, 800.0]),)]
    _check_op(fn, torch.nn.functional.softplus, cases, title="Exercise 2.6 softplus",
              hint="softplus(x) = max(x, 0) + log1p(exp(-|x|)) never overflows; its "
                   "derivative is the sigmoid σ(x) = 1 / (1 + e⁻ˣ)")


# ------------------------------------------------------ Notebook 2.5: matrix calculus
def _spd(g, n: int) -> np.ndarray:
    B = g.standard_normal((n, n))
    return B @ B.T / n + 0.5 * np.eye(n)


def check_grad_gaussian_cov(fn) -> None:
    """Exercise 2.7: ∇_Σ [log det Σ + tr(Σ⁻¹ S)] = Σ⁻¹ - Σ⁻¹ S Σ⁻¹, for SPD Σ and S."""
    import torch

    from . import refuse_calls

    title = "Exercise 2.7 grad_gaussian_cov"
    refuse_calls(fn, {"torch", "numerical_grad"}, title=title,
                 why="derive the gradient with the differential rules and code it")

    def ref(Sigma, S):
        St = to_torch(Sigma, requires_grad=True)
        (torch.logdet(St) + torch.trace(torch.linalg.solve(St, to_torch(S)))).backward()
        return St.grad

    g = np.random.default_rng(27)
    cases = [(_spd(g, n), _spd(g, n)) for n in (3, 5, 1)]
    cases.append((np.eye(4), 2.0 * np.eye(4)))
    check_function(fn, ref, cases, title=title, rtol=1e-9, atol=1e-11,
                   hint="d log det Σ = tr(Σ⁻¹ dΣ) and d(Σ⁻¹) = -Σ⁻¹ dΣ Σ⁻¹; "
                        "then move dΣ to the end of each trace with the cyclic rule")


def check_hvp_softmax_regression(fn) -> None:
    """Exercise 2.8: Hessian-vector product of the mean cross-entropy of Z = X Wᵀ in W.

    W, V: (K, d), X: (N, d), y: (N,) ints. Checked against
    ``torch.autograd.functional.hvp``; a finite difference of the gradient is
    too inaccurate for the tolerance, and the Hessian may not be formed.
    """
    import torch

    from . import refuse_calls

    title = "Exercise 2.8 hvp_softmax_regression"
    refuse_calls(fn, {"torch", "kron", "hessian"}, title=title,
                 why="differentiate the gradient (P - Y)ᵀX / N in the direction V")

    def ref(W, X, y, V):
        yt = torch.as_tensor(y, device=to_torch(X).device)

        def loss(Wt):
            return torch.nn.functional.cross_entropy(to_torch(X) @ Wt.T, yt)
        return torch.autograd.functional.hvp(loss, to_torch(W), to_torch(V))[1]

    g = np.random.default_rng(28)
    cases = []
    for N, d, K in ((20, 3, 4), (7, 5, 2), (1, 2, 3), (50, 4, 6)):
        cases.append((g.standard_normal((K, d)), g.standard_normal((N, d)),
                      g.integers(0, K, N), g.standard_normal((K, d))))
    check_function(fn, ref, cases, title=title, rtol=1e-9, atol=1e-11,
                   hint="dZ = X Vᵀ; the softmax's differential is dP = P ⊙ dZ minus "
                        "P times the row sums of P ⊙ dZ; the result is dPᵀ X / N")
