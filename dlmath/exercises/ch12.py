"""Autograded checks for the exercises of Chapter 12 (explainability).

Each ``check_*`` draws its cases from a fresh ``rng(seed)`` (hidden cases: another
``seed``) and compares the learner's answer with PyTorch or Captum in float64 on
``dlmath.device()``. Where Captum is the reference, the tolerance says why it is
what it is: captum 0.9 rounds its quadrature weights to float32 and returns
Shapley values in float32 (Chapter 12, notebooks 2 and 3).
"""
from __future__ import annotations

import math

import numpy as np

from ..check import assert_close, to_torch
from . import call_learner, check_function, refuse_calls, rng

__all__ = ["check_smoothgrad_relu", "check_ig_quadratic", "check_ig_midpoint",
           "check_trapezoid_error", "check_shapley_3", "check_spearman"]




def _shape_ok(out, shape, title, case) -> np.ndarray:
    try:
        arr = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        raise AssertionError(f"{title}: on test case {case} expected an array of "
                             f"numbers of shape {shape}, got {type(out).__name__}"
                             ) from None
    if arr.shape != shape:
        raise AssertionError(f"{title}: on test case {case} expected shape {shape}, "
                             f"got shape {arr.shape}")
    return arr


# ---------------------------------------------------------------------- Exercise 12.1
def check_smoothgrad_relu(fn, *, seed: int = 121) -> None:
    """Exercise 12.1: E_ε[∇ ReLU(wᵀ(x + ε) + b)], ε ~ N(0, σ² I), in closed form:
    w Φ((wᵀx + b) / (σ ||w||)). fn(w, b, x, sigma): w (d,), x (N, d) -> (N, d)."""
    import torch

    title = "Exercise 12.1 smoothgrad_relu"
    g = rng(seed)
    cases = []
    for N, d, sigma in [(5, 3, 0.5), (4, 7, 2.0), (1, 1, 0.1), (6, 4, 1.0)]:
        w = g.standard_normal(d) * g.uniform(0.3, 3.0)
        cases.append((w, float(g.standard_normal()), g.standard_normal((N, d)), sigma))

    def ref(w, b, x, sigma):
        wt, xt = to_torch(w), to_torch(x)
        z = (xt @ wt + b) / (sigma * torch.linalg.vector_norm(wt))
        return wt[None, :] * torch.special.ndtr(z)[:, None]

    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="the gradient of ReLU(u) is w times a step function of u; "
                        "its expectation is a probability. Which normal variable is "
                        "wᵀε, and what is its standard deviation?")


# ---------------------------------------------------------------------- Exercise 12.2
def check_ig_quadratic(fn, *, seed: int = 122) -> None:
    """Exercise 12.2: integrated gradients of f(x) = ½ xᵀAx + bᵀx in closed form.

    fn(A, b, x, x0) -> (d,). The reference is captum's IntegratedGradients with
    the 1-point Gauss-Legendre rule (node ½, weight 1): along a straight path the
    gradient of a quadratic is linear in α, so that rule is exact, and its
    weight 1.0 is exact in float32 too.
    """
    import torch
    from captum.attr import IntegratedGradients

    title = "Exercise 12.2 ig_quadratic"
    refuse_calls(fn, ("torch", "captum", "dlmath.explain"), title=title,
                 why="derive IG of a quadratic in closed form; no quadrature needed")
    g = rng(seed)
    cases = []
    for d in (3, 5, 1, 8):
        cases.append((g.standard_normal((d, d)), g.standard_normal(d),
                      g.standard_normal(d), g.standard_normal(d)))
    cases.append((np.diag([1.0, -2.0]), np.zeros(2), np.array([2.0, 1.0]),
                  np.zeros(2)))

    def ref(A, b, x, x0):
        At, bt = to_torch(A), to_torch(b)

        def f(X):
            return 0.5 * torch.einsum("ni,ij,nj->n", X, At, X) + X @ bt

        ig = IntegratedGradients(f).attribute(to_torch(x)[None], to_torch(x0)[None],
                                              n_steps=1, method="gausslegendre")
        return ig[0]

    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="integrate ∇f(x0 + α(x - x0)) over α by hand; A need not be "
                        "symmetric, and IG multiplies by something before the "
                        "integral is done")


# ---------------------------------------------------------------------- Exercise 12.3
def check_ig_midpoint(fn, *, seed: int = 123) -> None:
    """Exercise 12.3: IG with the n-cell midpoint rule, fn(gradient, x, baseline, n).

    Compared with captum's ``riemann_middle`` (rtol 1e-5: captum's nodes and
    weights are float32, a relative error ~1e-7 on these cases, while a left or
    right Riemann sum is off by ~1e-2), and its completeness error must fall
    like 1/n²: the ratio of the errors at n and 2n lies in [3, 5.5].
    """
    import torch
    from captum.attr import IntegratedGradients

    title = "Exercise 12.3 ig_midpoint"
    refuse_calls(fn, ("captum", "dlmath.explain"), title=title,
                 why="write the midpoint rule yourself")
    g = rng(seed)
    dev = to_torch(np.zeros(1)).device
    for case, (N, d, n) in enumerate([(3, 4, 8), (2, 6, 16), (1, 3, 5), (4, 2, 11)], 1):
        W = torch.tensor(g.standard_normal((d, 5)), dtype=torch.float64, device=dev)
        v = torch.tensor(g.standard_normal(5), dtype=torch.float64, device=dev)

        def f(X, W=W, v=v):
            return torch.tanh(X @ W) @ v

        def gradient(X, f=f):
            Xt = torch.tensor(np.asarray(X), dtype=torch.float64,
                              device=dev).requires_grad_()
            (gr,) = torch.autograd.grad(f(Xt).sum(), Xt)
            return gr.detach().cpu().numpy()

        x = g.standard_normal((N, d))
        base = g.standard_normal((N, d)) * 0.5
        got = _shape_ok(call_learner(fn, title, gradient, x, base, n), (N, d), title,
                        case)
        ref = IntegratedGradients(f).attribute(to_torch(x), to_torch(base), n_steps=n,
                                               method="riemann_middle")
        try:
            assert_close(got, ref, rtol=1e-5, atol=1e-7, name="your IG",
                         against="captum riemann_middle", verbose=False)
        except AssertionError as exc:
            raise AssertionError(f"{title}: wrong values on test case {case} "
                                 f"(N={N}, d={d}, n={n}): {exc}. Hint: where in each "
                                 f"cell is the gradient evaluated?") from None
        with torch.no_grad():
            delta = (f(to_torch(x)) - f(to_torch(base))).cpu().numpy()
        gaps = []
        for m in (n, 2 * n):
            a = _shape_ok(call_learner(fn, title, gradient, x, base, m), (N, d), title,
                          case)
            gaps.append(np.abs(a.sum(axis=1) - delta).max())
        ratio = gaps[0] / gaps[1] if gaps[1] > 0 else math.inf
        if not 3.0 <= ratio <= 5.5:
            raise AssertionError(f"{title}: on test case {case} the completeness "
                                 f"error falls by {ratio:.2f}x from n={n} to "
                                 f"n={2 * n}; "
                                 f"the midpoint rule's falls by about 4x (O(1/n²))")
    print(f"✓ {title}: matches captum's riemann_middle on all 4 test cases, and "
          f"its completeness error falls about 4x when n doubles")


# ---------------------------------------------------------------------- Exercise 12.4
def check_trapezoid_error(fn, *, seed: int = 124) -> None:
    """Exercise 12.4: leading error of the composite trapezoid rule with n cells on
    [0, 1]: T_n - I ≈ (g'(1) - g'(0)) / (12 n²). fn(dg0, dg1, n) -> a number.

    The reference is the actual error of ``torch.trapezoid`` on smooth functions
    with known integrals; the next term is O(1/n⁴), a relative 1e-3 at most here.
    """
    import torch

    title = "Exercise 12.4 trapezoid_error"
    refuse_calls(fn, ("torch", "numpy.trapezoid", "scipy.integrate",
                      "dlmath.explain"), title=title,
                 why="predict the error from g'(0) and g'(1) alone")
    g = rng(seed)
    dev = to_torch(np.zeros(1)).device
    a, b = float(g.uniform(0.5, 2.0)), float(g.uniform(1.0, 3.0))
    funcs = [  # (g, g', ∫₀¹ g)
        (lambda t: torch.exp(a * t), lambda t: a * math.exp(a * t),
         (math.exp(a) - 1) / a),
        (lambda t: torch.cos(b * t), lambda t: -b * math.sin(b * t), math.sin(b) / b),
        (lambda t: t ** 4, lambda t: 4 * t ** 3, 0.2),
        (lambda t: 1 / (1 + t), lambda t: -1 / (1 + t) ** 2, math.log(2.0)),
    ]
    for case, ((gf, dg, integral), n) in enumerate(zip(funcs, (64, 100, 80, 128)), 1):
        t = torch.linspace(0, 1, n + 1, dtype=torch.float64, device=dev)
        actual = float(torch.trapezoid(gf(t), t)) - integral
        got = call_learner(fn, title, dg(0.0), dg(1.0), n)
        if np.size(got) != 1:
            raise AssertionError(f"{title}: return one number, got shape "
                                 f"{np.shape(got)} on test case {case}")
        got = float(np.asarray(got, dtype=np.float64).reshape(()))
        if not abs(got - actual) <= 2e-3 * abs(actual):
            raise AssertionError(f"{title}: on test case {case} (n={n} cells) the "
                                 f"trapezoid rule's error is {actual:.6e} but you "
                                 f"predict {got:.6e} (ratio {got / actual:.3f}). "
                                 f"Hint: expand g around each cell's midpoint")
    print(f"✓ {title}: predicts torch.trapezoid's error to 0.2% on all "
          f"{len(funcs)} test cases")


# ---------------------------------------------------------------------- Exercise 12.5
def check_shapley_3(fn, *, seed: int = 125) -> None:
    """Exercise 12.5: Shapley values of a 3-player game, by hand. fn(v) -> (3,), v of
    length 8 with v[S] the worth of the coalition whose bit i says player i is in.

    The reference is captum's ``ShapleyValues`` (all 6 orders) on the game's
    multilinear extension, with x = (1, 1, 1) and baseline 0. Captum returns
    float32 values: atol 1e-5.
    """
    import torch
    from captum.attr import ShapleyValues

    title = "Exercise 12.5 shapley_3"
    refuse_calls(fn, ("torch", "captum", "dlmath.explain"), title=title,
                 why="use the Shapley formula yourself")
    g = rng(seed)
    games = [np.array([0, 1, 2, 3, 1, 2, 3, 6], dtype=float),        # additive
             np.array([0, 0, 0, 1, 0, 1, 1, 1], dtype=float),        # majority vote
             np.array([0, 0, 0, 0, 0, 0, 0, 1], dtype=float)]        # unanimity
    games += [np.concatenate([[0.0], g.standard_normal(7)]) for _ in range(3)]
    dev = to_torch(np.zeros(1)).device
    bits = torch.tensor([[(s >> i) & 1 for i in range(3)] for s in range(8)],
                        dtype=torch.float64, device=dev)          # (8, 3)

    def ref(v):
        vt = to_torch(v)

        def game(X):                       # multilinear extension: = v on {0,1}³
            P = X[:, None, :] * bits[None] + (1 - X[:, None, :]) * (1 - bits[None])
            return P.prod(dim=2) @ vt

        x = torch.ones(1, 3, dtype=torch.float64, device=dev)
        return ShapleyValues(game).attribute(x, baselines=0.0)[0].double()

    check_function(fn, ref, [(v,) for v in games], title=title, rtol=0, atol=1e-5,
                   hint="a player's value weights its marginal contribution to a "
                        "coalition S by the share of orders in which exactly S "
                        "comes before it")


# ---------------------------------------------------------------------- Exercise 12.6
def check_spearman(fn, *, seed: int = 126) -> None:
    """Exercise 12.6: Spearman's rank correlation of two maps with ties (mean ranks).

    fn(a, b) -> a number, for arrays of any (equal) shape. The reference is
    ``scipy.stats.spearmanr`` on the flattened arrays; the cases hold many ties
    (blank pixels, zero attributions), where ordinal ranks give another answer.
    """
    from scipy.stats import spearmanr

    title = "Exercise 12.6 spearman"
    refuse_calls(fn, ("scipy", "torch", "dlmath.explain"), title=title,
                 why="rank the values yourself")
    g = rng(seed)
    cases = [(g.standard_normal(20), g.standard_normal(20)),
             (g.integers(0, 3, (4, 4)).astype(float), g.standard_normal((4, 4))),
             (np.maximum(g.standard_normal((8, 8)), 0), np.maximum(
                 g.standard_normal((8, 8)), 0)),
             (np.array([1.0, 2.0, 2.0, 3.0]), np.array([1.0, 3.0, 2.0, 4.0])),
             (g.integers(0, 2, 30).astype(float), g.integers(0, 4, 30).astype(float))]
    for case, (a, b) in enumerate(cases, 1):
        ref = float(spearmanr(a.ravel(), b.ravel()).statistic)
        got = call_learner(fn, title, a, b)
        if np.size(got) != 1:
            raise AssertionError(f"{title}: return one number, got shape "
                                 f"{np.shape(got)} on test case {case}")
        got = float(np.asarray(got, dtype=np.float64).reshape(()))
        if not abs(got - ref) <= 1e-12:
            raise AssertionError(f"{title}: on test case {case} (shapes {a.shape}, "
                                 f"{int(a.size - np.unique(a).size)} tied values in "
                                 f"a) the rank correlation is {ref:.6f}, you give "
                                 f"{got:.6f}. Hint: tied values share the mean of the "
                                 f"ranks they occupy")
    print(f"✓ {title}: matches scipy.stats.spearmanr on all {len(cases)} test cases")
