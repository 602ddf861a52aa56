"""Autograded checks for the exercises of Chapter 5 (feedforward networks).

Each ``check_*`` runs the learner's function on inputs drawn from a fresh
``rng(seed)`` (hidden cases: another ``seed``) and compares with PyTorch in float64 on
``dlmath.device()``. The ``*_vjp`` exercises return ``(y, vjp)`` like
``dlmath.functional.dense``: the forward value is compared with torch's, then
a random cotangent ``dy`` is pulled back by ``vjp`` and by torch autograd, and
each gradient is compared separately, so the message says which one is wrong.
These are "by hand" exercises: a function that calls ``torch`` or the layers
of ``dlmath`` (``dlmath.nn``, ``dlmath.functional``, ``dlmath.autodiff``) is
refused before it runs.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..check import assert_close, to_numpy, to_torch
from . import check_function, refuse_calls, rng

__all__ = ["check_perceptron_bound", "check_silu_vjp", "check_residual_block_vjp",
           "check_tied_autoencoder_vjp", "check_per_example_grad_norms"]

# torch is what the checks compare against; dlmath's layers are what the
# exercises re-derive. Refused by object (aliases, helpers, closures followed).
_FORBIDDEN = ("torch", "dlmath.nn", "dlmath.functional", "dlmath.autodiff")


def _refuse_library(fn: Callable, title: str, what: str) -> None:
    """Refuse ``fn`` if it (or a helper of it) uses torch or dlmath's layers."""
    refuse_calls(fn, _FORBIDDEN, title=title,
                 why=f"this exercise is {what} by hand with numpy (torch is what "
                     f"the check compares against)")


def _call(fn: Callable, args: Sequence[Any], title: str):
    try:
        out = fn(*[np.copy(a) if isinstance(a, np.ndarray) else a for a in args])
    except NotImplementedError:
        raise AssertionError(f"{title}: not attempted yet — replace the `raise "
                             f"NotImplementedError` line with your code") from None
    if out is None:
        raise AssertionError(f"{title}: your function returned None — "
                             f"did you forget `return`?")
    return out


def _shapes(args) -> str:
    return ", ".join(str(np.shape(a)) for a in args)


# ------------------------------------------------------------------- VJP exercises
def _check_vjp_exercise(fn: Callable, torch_fn: Callable, cases, *, title: str,
                        names: Sequence[str], hint: str,
                        g: np.random.Generator) -> None:
    """``(y, vjp) = fn(*args)``: y against ``torch_fn``, vjp(dy) against autograd."""
    if not callable(fn):
        raise TypeError(f"{title}: expected your function, got {type(fn).__name__}")
    _refuse_library(fn, title, "a derivation to implement")
    import torch

    for i, args in enumerate(cases, 1):
        out = _call(fn, args, title)
        if not (isinstance(out, tuple) and len(out) == 2 and callable(out[1])):
            raise AssertionError(f"{title}: return the pair (y, vjp), where vjp is a "
                                 f"function of dy; got {type(out).__name__}")
        y, vjp = out
        ts = [to_torch(a, requires_grad=True) for a in args]
        yt = torch_fn(*ts)
        where = f"test case {i} (input shapes {_shapes(args)})"
        if np.shape(y) != tuple(yt.shape):
            raise AssertionError(f"{title}: on {where} y has shape {np.shape(y)} but "
                                 f"torch's output has shape {tuple(yt.shape)}. "
                                 f"Hint: {hint}")
        try:
            assert_close(y, yt, rtol=1e-10, atol=1e-12, name="y", against="torch",
                         verbose=False)
        except AssertionError as exc:
            raise AssertionError(f"{title}: wrong values of y on {where}: {exc}. "
                                 f"Hint: {hint}") from None
        dy = g.standard_normal(np.shape(y))
        try:
            grads = vjp(dy.copy())
        except NotImplementedError:
            raise AssertionError(f"{title}: not attempted yet — the vjp raises "
                                 f"NotImplementedError") from None
        if isinstance(grads, np.ndarray) and len(names) == 1:
            grads = (grads,)                      # a bare dx for a one-input function
        if not isinstance(grads, (tuple, list)) or len(grads) != len(names):
            n = len(grads) if hasattr(grads, "__len__") else "?"
            raise AssertionError(f"{title}: vjp(dy) must return {len(names)} "
                                 f"gradient(s) ({', '.join(names)}), in that order; "
                                 f"got {type(grads).__name__} of length {n}")
        ref = torch.autograd.grad(yt, ts, to_torch(dy))
        for name, mine, theirs in zip(names, grads, ref):
            if mine is None:
                raise AssertionError(f"{title}: vjp returned None for {name} "
                                     f"on {where}")
            mine = to_numpy(mine)
            if mine.shape != tuple(theirs.shape):
                raise AssertionError(f"{title}: on {where} the gradient {name} has "
                                     f"shape {mine.shape} but must have {name[1:]}'s "
                                     f"shape {tuple(theirs.shape)}. Hint: {hint}")
            try:
                assert_close(mine, theirs, rtol=1e-10, atol=1e-12, name=name,
                             against="torch autograd", verbose=False)
            except AssertionError as exc:
                raise AssertionError(f"{title}: wrong values of {name} on {where}: "
                                     f"{exc}. Hint: {hint}") from None
    print(f"✓ {title}: y and {', '.join(names)} match torch autograd on all "
          f"{len(cases)} test cases")


def check_silu_vjp(fn, *, seed: int = 52) -> None:
    """Exercise 5.2: y = x σ(x) and its VJP dx = dy ⊙ σ(x)(1 + x(1 - σ(x)))."""
    import torch

    g = rng(seed)
    cases = [(g.standard_normal(7),), (3 * g.standard_normal((4, 5)),),
             (g.standard_normal((2, 3, 4)),),
             (np.array([-30.0, -6.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 6.0, 30.0]),)]
    _check_vjp_exercise(fn, torch.nn.functional.silu, cases,
                        title="Exercise 5.2 silu_vjp", names=["dx"], g=g,
                        hint="y is a product of x and σ(x): use the product rule, "
                             "and σ'(x) = σ(x)(1 - σ(x))")


def check_residual_block_vjp(fn, *, seed: int = 53) -> None:
    """Exercise 5.3: y = x + relu(x W1ᵀ + b1) W2ᵀ + b2 and its VJP
    (dx, dW1, db1, dW2, db2)."""
    import torch

    def ref(x, W1, b1, W2, b2):
        return x + torch.relu(x @ W1.T + b1) @ W2.T + b2

    g = rng(seed)
    cases = []
    for n, d, h in [(5, 3, 4), (1, 2, 6), (8, 4, 4), (3, 5, 2)]:
        cases.append((g.standard_normal((n, d)), g.standard_normal((h, d)),
                      g.standard_normal(h), g.standard_normal((d, h)),
                      g.standard_normal(d)))
    # pre-activations exactly 0 (zero rows of x, zero b1): relu'(0) = 0, as in torch
    x0 = g.standard_normal((4, 3))
    x0[[0, 2]] = 0.0
    cases.append((x0, g.standard_normal((5, 3)), np.zeros(5), g.standard_normal((3, 5)),
                  g.standard_normal(3)))
    _check_vjp_exercise(fn, ref, cases, title="Exercise 5.3 residual_block_vjp",
                        names=["dx", "dW1", "db1", "dW2", "db2"], g=g,
                        hint="x reaches y along two paths (the skip and the branch): "
                             "their gradients add; inside the branch apply the rules "
                             "of a Linear layer and of ReLU from the last step to "
                             "the first")


def check_tied_autoencoder_vjp(fn, *, seed: int = 54) -> None:
    """Exercise 5.4: y = σ(x Wᵀ + b) W + c (W used twice) and its VJP
    (dx, dW, db, dc)."""
    import torch

    def ref(x, W, b, c):
        return torch.sigmoid(x @ W.T + b) @ W + c

    g = rng(seed)
    cases = []
    for n, d, h in [(6, 4, 3), (2, 3, 3), (1, 5, 7), (4, 2, 2)]:
        cases.append((g.standard_normal((n, d)), g.standard_normal((h, d)),
                      g.standard_normal(h), g.standard_normal(d)))
    _check_vjp_exercise(fn, ref, cases, title="Exercise 5.4 tied_autoencoder_vjp",
                        names=["dx", "dW", "db", "dc"], g=g,
                        hint="W is used twice (encoder and decoder): its gradient is "
                             "the sum of the two uses' gradients, each shaped like "
                             "W (h, d)")


# ----------------------------------------------------------------- other exercises
def check_perceptron_bound(fn, *, seed: int = 51) -> None:
    """Exercise 5.1: Novikoff's mistake bound (R/γ)² for data separated by (w, b)."""
    import torch

    title = "Exercise 5.1 perceptron_bound"
    _refuse_library(fn, title, "a formula to compute")

    def ref(X, y, w, b):
        Xt, wt = to_torch(X), to_torch(w)
        ones = torch.ones(len(X), 1, dtype=torch.float64, device=Xt.device)
        Xa = torch.cat([Xt, ones], dim=1)                # augmented inputs (N, d + 1)
        wa = torch.cat([wt, to_torch(np.atleast_1d(b))])
        R = torch.linalg.vector_norm(Xa, dim=1).max()
        gamma = (to_torch(y) * (Xa @ wa)).min() / torch.linalg.vector_norm(wa)
        return (R / gamma) ** 2

    g = rng(seed)
    cases = []
    for n, d, scale, offset in [(40, 2, 1.0, 0.5), (25, 5, 0.2, -1.0),
                                (60, 3, 7.0, 2.0), (10, 1, 1.0, 0.0)]:
        w = g.standard_normal(d) * scale
        b = offset * scale
        X = 3 * g.standard_normal((n, d)) + 0.5
        s = X @ w + b
        keep = np.abs(s) > 0.3 * np.abs(s).std()   # a margin: drop points near the line
        X, s = X[keep], s[keep]
        cases.append((X, np.where(s > 0, 1.0, -1.0), w, float(b)))
    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="append a constant 1 to every x and b to w; R is the largest "
                        "norm of an augmented x, γ the smallest margin y (w·x) "
                        "measured with a unit (augmented) w")


def check_per_example_grad_norms(fn, *, seed: int = 55) -> None:
    """Exercise 5.5: ‖(∂ℓ_n/∂W, ∂ℓ_n/∂b)‖ for each example of a Linear layer."""
    import torch

    title = "Exercise 5.5 per_example_grad_norms"
    _refuse_library(fn, title, "a formula to derive and compute")

    def ref(x, dy):
        xt, dyt = to_torch(x), to_torch(dy)
        kw = dict(dtype=torch.float64, device=xt.device, requires_grad=True)
        W = torch.zeros(dy.shape[1], x.shape[1], **kw)
        b = torch.zeros(dy.shape[1], **kw)
        norms = []
        for n in range(len(x)):                     # one backward per example
            out = (dyt[n] * (W @ xt[n] + b)).sum()
            dW, db = torch.autograd.grad(out, [W, b])
            norms.append(torch.sqrt((dW ** 2).sum() + (db ** 2).sum()))
        return torch.stack(norms)

    g = rng(seed)
    cases = [(g.standard_normal((6, 4)), g.standard_normal((6, 3))),
             (g.standard_normal((1, 7)), g.standard_normal((1, 2))),
             (5 * g.standard_normal((9, 2)), 0.1 * g.standard_normal((9, 5))),
             (np.zeros((2, 3)), g.standard_normal((2, 4)))]
    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="the per-example gradient of W is the outer product "
                        "dy_n x_nᵀ, and the Frobenius norm of an outer product "
                        "factorizes; do not forget the bias")
