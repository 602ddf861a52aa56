"""Autograded checks for the exercises of Chapter 2 (calculus and autodiff).

Each ``check_*`` takes the learner's function, runs it on inputs drawn from a
fresh ``rng(seed)`` (hidden cases: another seed) and compares with PyTorch
(``torch.autograd`` in float64 on ``dlmath.device()``).
The engine-extension checks (Exercises 2.5 and 2.6) run the learner's new op
forward *and* backward and compare values and gradients separately, so the
message says which half is wrong.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..autodiff import Tensor
from ..check import assert_close, to_torch
from . import as_result, check_function, normal_cases, refuse_calls, rng


def check_log_softmax_jacobian(fn, *, seed: int = 201) -> None:
    """Exercise 2.1: the Jacobian of log-softmax at z (n,), shape (n, n)."""
    import torch

    title = "Exercise 2.1 log_softmax_jacobian"
    refuse_calls(fn, {"torch", "dlmath.functional.softmax_jacobian",
                      "dlmath.check.numerical_grad"},
                 title=title, why="derive the Jacobian and code it with numpy")

    def ref(z):
        return torch.autograd.functional.jacobian(
            lambda v: torch.log_softmax(v, dim=0), to_torch(z))

    g = rng(seed)
    cases = normal_cases(g, [(3,)], [(5,)], [(1,)])
    cases.append((np.array([1000.0, 1001.0, 999.0]) + g.uniform(-1, 1, 3),))
    cases.append((np.array([-800.0, 0.0, 800.0, 799.0]),))
    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="differentiate log p_i = z_i - logsumexp(z) with respect to "
                        "z_j (row i, column j): which index does each term depend "
                        "on? Compute the probabilities stably")


def check_grad_least_squares(fn, *, seed: int = 202) -> None:
    """Exercise 2.2: ∇ₓ ‖A x - b‖²."""

    title = "Exercise 2.2 grad_least_squares"
    refuse_calls(fn, {"torch", "dlmath.check.numerical_grad"}, title=title,
                 why="derive the gradient and code it")

    def ref(A, x, b):
        xt = to_torch(x, requires_grad=True)
        ((to_torch(A) @ xt - to_torch(b)) ** 2).sum().backward()
        return xt.grad

    cases = normal_cases(rng(seed), [(5, 3), (3,), (5,)], [(2, 4), (4,), (2,)],
                         [(1, 1), (1,), (1,)])
    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="expand f(x + h) to first order in h and read off the vector "
                        "that multiplies h; there is no ½ this time; the result has "
                        "x's shape (n,)")


def check_grad_W_tanh_layer(fn, *, seed: int = 203) -> None:
    """Exercise 2.3: ∂L/∂W of L = Σ tanh(X Wᵀ + b); X (N, in), W (out, in), b (out,)."""
    import torch

    title = "Exercise 2.3 grad_W_tanh_layer"
    refuse_calls(fn, {"torch", "dlmath.check.numerical_grad"}, title=title,
                 why="apply reverse mode by hand")

    def ref(X, W, b):
        Wt = to_torch(W, requires_grad=True)
        torch.tanh(to_torch(X) @ Wt.T + to_torch(b)).sum().backward()
        return Wt.grad

    cases = normal_cases(rng(seed), [(6, 3), (4, 3), (4,)], [(1, 2), (5, 2), (5,)],
                         [(3, 1), (1, 1), (1,)])
    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="first the gradient with respect to Z (one number per entry of "
                        "Z), then the matrix rule for a product; the result has W's "
                        "shape (out, in)")


_FUNCS = [  # (name, numpy function, torch twin) for Exercise 2.4
    ("sin", np.sin, lambda x: x.sin()),
    ("exp(x/2)", lambda x: np.exp(x / 2), lambda x: (x / 2).exp()),
    ("tanh", np.tanh, lambda x: x.tanh()),
    ("x³ - 2x", lambda x: x ** 3 - 2 * x, lambda x: x ** 3 - 2 * x),
]


def check_five_point_derivative(fn, *, seed: int = 204) -> None:
    """Exercise 2.4: a derivative formula from f(x ± h), f(x ± 2h) with error O(h⁴).

    Two tests. Accuracy: with h = 1e-2 the values must match autograd to 1e-8,
    which a central difference (error ≈ 1e-5) cannot. Order: for the smooth
    non-polynomial functions the error must shrink by about 2⁴ = 16 when h is
    halved (h = 0.1 → 0.05), which a second-order formula (ratio 4) or one that
    ignores the h it is given (ratio ≈ 1) cannot fake.
    """

    title = "Exercise 2.4 five_point_derivative"
    refuse_calls(fn, {"torch", "numpy.gradient", "dlmath.check.numerical_grad"},
                 title=title,
                 why="combine the four evaluations of f yourself")
    g = rng(seed)
    for name, f, f_torch in _FUNCS:
        x = g.uniform(-2, 2, 7)
        xt = to_torch(x, requires_grad=True)
        f_torch(xt).sum().backward()  # elementwise f: the gradient of Σf is f'
        exact = xt.grad.cpu().numpy()
        errors = []
        for h in (1e-2, 0.1, 0.05):
            try:
                got = fn(f, x.copy(), h)
            except NotImplementedError:
                raise AssertionError(f"{title}: not attempted yet — replace the "
                                     f"`raise NotImplementedError` line with your "
                                     f"code") from None
            except Exception as exc:
                raise AssertionError(
                    f"{title}: {getattr(fn, '__name__', 'your function')} raised "
                    f"{type(exc).__name__}: {exc} for f = {name}, h = {h}") from None
            if got is None:
                raise AssertionError(f"{title}: your function returned None for "
                                     f"f = {name}")
            got = as_result(got, x.shape, title=title,
                            where=f"for f = {name}, h = {h} your function",
                            hint="f' is wanted at every entry of x").astype(np.float64)
            errors.append(np.abs(got - exact).max())
        if not errors[0] <= 1e-8 * (1 + np.abs(exact).max()):
            raise AssertionError(
                f"{title}: for f = {name} at h = 1e-2 the largest error is "
                f"{errors[0]:.1e}; a fourth-order formula is accurate to about 1e-9 "
                f"there. Hint: expand f(x ± h) and f(x ± 2h) in Taylor series and "
                f"choose the weights so that the f\'\'\' term cancels too")
        if name != "x³ - 2x":  # a polynomial of degree 3 is differentiated exactly
            ratio = errors[1] / max(errors[2], 1e-300)
            if not 13.0 <= ratio <= 19.0:
                raise AssertionError(
                    f"{title}: for f = {name}, halving h from 0.1 to 0.05 divides the "
                    f"error by {ratio:.1f}, but a fourth-order formula divides it by "
                    f"about 2⁴ = 16. Use the h you are given, and check which Taylor "
                    f"terms your weights cancel")
    print(f"✓ {title}: accurate to 1e-8 at h = 1e-2 and error ratio ≈ 16 at h, h/2 "
          f"on all {len(_FUNCS)} functions")


def _check_op(fn: Callable, torch_fn: Callable, cases, *, title: str, hint: str,
              g: np.random.Generator) -> None:
    """Run a learner's engine op forward and backward; compare both with torch."""
    name_fn = getattr(fn, "__name__", "your function")
    for i, arrays in enumerate(cases, 1):
        inputs = [Tensor(np.copy(a), requires_grad=True) for a in arrays]
        shapes = ", ".join(str(a.shape) for a in arrays)
        try:
            out = fn(*inputs)
        except NotImplementedError:
            raise AssertionError(f"{title}: not attempted yet — replace the `raise "
                                 f"NotImplementedError` line with your code") from None
        except Exception as exc:
            raise AssertionError(f"{title}: {name_fn} raised "
                                 f"{type(exc).__name__}: {exc} "
                                 f"on test case {i} (shapes {shapes})") from None
        if not isinstance(out, Tensor):
            raise AssertionError(f"{title}: {name_fn} must return a dlmath Tensor, "
                                 f"got {type(out).__name__}. Hint: {hint}")
        refs = [to_torch(a, requires_grad=True) for a in arrays]
        expected = torch_fn(*refs)
        if out.shape != tuple(expected.shape):
            raise AssertionError(f"{title}: for inputs of shapes {shapes} {name_fn} "
                                 f"returns shape {out.shape} but torch's has "
                                 f"{tuple(expected.shape)}")
        try:
            assert_close(out.data, expected, rtol=1e-10, atol=1e-12, name="forward",
                         against="torch", verbose=False)
        except AssertionError as exc:
            raise AssertionError(
                f"{title}: {name_fn} gives wrong forward values on test "
                f"case {i} (shapes {shapes}): {exc}. Hint: {hint}") from None
        if not out.requires_grad or out._backward is None:
            raise AssertionError(f"{title}: the output is not connected to the inputs' "
                                 f"graph; build it with Tensor.from_op(data, parents, "
                                 f"backward, op)")
        g_out = g.standard_normal(out.shape)
        try:
            out.backward(g_out)
        except ValueError as exc:  # the engine checks the shapes your backward returns
            raise AssertionError(f"{title}: backward failed on test case {i} "
                                 f"(shapes {shapes}): {exc}. Hint: {hint}") from None
        expected.backward(to_torch(g_out))
        for k, (mine, theirs) in enumerate(zip(inputs, refs)):
            name = "abcdefgh"[k]
            if mine.grad is None:
                raise AssertionError(f"{title}: no gradient reached input {name} "
                                     f"on test "
                                     f"case {i}")
            try:
                assert_close(mine.grad, theirs.grad, rtol=1e-10, atol=1e-12,
                             name=f"gradient w.r.t. {name}", against="torch",
                             verbose=False)
            except AssertionError as exc:
                raise AssertionError(f"{title}: {name_fn} has a wrong backward on test "
                                     f"case {i} (shapes {shapes}): {exc}. "
                                     f"Hint: {hint}") from None
    print(f"✓ {title}: forward and backward match torch on all {len(cases)} test cases")


def check_maximum(fn, *, seed: int = 205) -> None:
    """Exercise 2.5: an engine op ``maximum(a, b)`` that broadcasts (torch.maximum)."""
    import torch

    title = "Exercise 2.5 maximum"
    refuse_calls(fn, {"torch"}, title=title, why="build the node with Tensor.from_op")
    g = rng(seed)
    cases = normal_cases(g, [(3, 4), (3, 4)], [(2, 3), (3,)], [(4, 1), (1, 5)],
                         [(), (3,)])
    _check_op(fn, torch.maximum, cases, title=title, g=g,
              hint="the gradient flows only to the input that is larger at each "
                   "position; where an input was broadcast, its gradient must be "
                   "summed back to its own shape (unbroadcast)")


def check_softplus(fn, *, seed: int = 206) -> None:
    """Exercise 2.6: an engine op ``softplus(a) = log(1 + eᵃ)``, stable for any a."""
    import torch

    title = "Exercise 2.6 softplus"
    refuse_calls(fn, {"torch"}, title=title, why="build the node with Tensor.from_op")
    g = rng(seed)
    cases = normal_cases(g, [(5,)], [(2, 3)])
    cases.append((np.array([-800.0, -30.0, 0.0, 30.0, 800.0]) + g.uniform(-1, 1, 5),))
    _check_op(fn, torch.nn.functional.softplus, cases, title=title, g=g,
              hint="rewrite log(1 + eˣ) so that exp only ever sees a number <= 0 "
                   "(treat x >= 0 and x < 0 alike with |x|); the derivative is a "
                   "function you met in Section 1, computed just as carefully")


# ------------------------------------------------------ Notebook 2.5: matrix calculus
def _spd(g, n: int) -> np.ndarray:
    B = g.standard_normal((n, n))
    return B @ B.T / n + 0.5 * np.eye(n)


def check_grad_gaussian_chol(fn, *, seed: int = 27) -> None:
    """Exercise 2.7: the Gaussian objective in a factor L of Σ = L Lᵀ.

    f(L) = log det(L Lᵀ) + tr((L Lᵀ)⁻¹ S) for invertible L (n, n), all n²
    entries free; the gradient is 2 (Σ⁻¹ - Σ⁻¹ S Σ⁻¹) L. Checked against torch
    autograd through Σ = L Lᵀ, including a case where L Lᵀ = S (gradient zero).
    """
    import torch

    title = "Exercise 2.7 grad_gaussian_chol"
    refuse_calls(fn, {"torch", "dlmath.check.numerical_grad"}, title=title,
                 why="derive the gradient with the differential rules and code it")

    def ref(L, S):
        Lt = to_torch(L, requires_grad=True)
        Sig = Lt @ Lt.T
        f = torch.logdet(Sig) + torch.trace(torch.linalg.solve(Sig, to_torch(S)))
        f.backward()
        return Lt.grad

    g = rng(seed)
    cases = []
    for n in (3, 5, 1):
        L = np.linalg.cholesky(_spd(g, n)) + 0.3 * g.standard_normal((n, n))
        cases.append((L, _spd(g, n)))
    S = _spd(g, 4)
    cases.append((np.linalg.cholesky(S), S))              # a stationary point
    check_function(fn, ref, cases, title=title, rtol=1e-9, atol=1e-11,
                   hint="first the gradient in Σ (the rules of §2), then the "
                        "differential of Σ = L Lᵀ: it has two terms, and the trace "
                        "of a transpose is the same trace")


def check_hvp_softmax_regression(fn, *, seed: int = 28) -> None:
    """Exercise 2.8: Hessian-vector product of the mean cross-entropy of Z = X Wᵀ in W.

    W, V: (K, d), X: (N, d), y: (N,) ints. Checked against
    ``torch.autograd.functional.hvp`` to near float64 rounding (rtol 1e-12,
    atol 1e-14): the exact product is accurate to ~1e-15, while the best
    finite differences of the gradient (central, h = 3e-6; 5-point, h = 1e-4
    or 1e-3) are off by 1e-13 to 1e-11, and one case has large logits, where
    they do worse. The Hessian may not be formed.
    """
    import torch

    title = "Exercise 2.8 hvp_softmax_regression"
    refuse_calls(fn, {"torch", "numpy.kron"}, title=title,
                 why="differentiate the gradient (P - Y)ᵀX / N in the direction V")

    def ref(W, X, y, V):
        yt = torch.as_tensor(y, device=to_torch(X).device)

        def loss(Wt):
            return torch.nn.functional.cross_entropy(to_torch(X) @ Wt.T, yt)
        return torch.autograd.functional.hvp(loss, to_torch(W), to_torch(V))[1]

    g = rng(seed)
    cases = []
    for N, d, K, scale in ((20, 3, 4, 1.0), (7, 5, 2, 1.0), (1, 2, 3, 1.0),
                           (50, 4, 6, 1.0), (30, 4, 5, 8.0)):     # large logits last
        cases.append((scale * g.standard_normal((K, d)), g.standard_normal((N, d)),
                      g.integers(0, K, N), g.standard_normal((K, d))))
    check_function(fn, ref, cases, title=title, rtol=1e-12, atol=1e-14,
                   hint="differentiate the gradient in the direction V, one factor at "
                        "a time: the logits, then the softmax (its differential "
                        "couples the classes of a row), then the product with X")
