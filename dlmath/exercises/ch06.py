"""Autograded checks for the exercises of Chapter 6 (training deep networks).

Each ``check_*`` takes the learner's function, runs it on fixed inputs drawn
from a fresh ``rng(seed)`` (hidden cases: another ``seed``) and compares with
a PyTorch reference in float64 on ``dlmath.device()``: autograd gradients,
``torch.nn.init.calculate_gain``, ``torch.distributions`` log-densities, an
exact enumeration of dropout masks, ``torch.nn.functional.rms_norm``.

These exercises are "by hand": a check refuses a function that calls
``torch`` or the ``dlmath`` routine the exercise re-derives.
"""
from __future__ import annotations

import itertools
from typing import Callable, Iterable

import numpy as np

from ..check import to_torch
from . import _what, as_result, check_function, refuse_calls, rng

__all__ = ["check_layer_grads", "check_leaky_relu_std", "check_ridge_map_towards",
           "check_dropout_linear_moments", "check_rms_norm_backward"]


_LAYERS = ("torch", "dlmath.nn", "dlmath.functional", "dlmath.autodiff")


def _refuse(fn: Callable, title: str, forbidden: Iterable[str] = _LAYERS) -> None:
    """Refuse ``fn`` if it (or a helper of it) uses torch or what it re-derives."""
    refuse_calls(fn, {"torch", *forbidden}, title=title,
                 why="do this one by hand, in numpy: that routine computes the "
                     "answer for you")


# --------------------------------------------------------------------------- 6.1
_ACTS = {"relu": (lambda z: np.maximum(z, 0.0)), "tanh": np.tanh,
         "sigmoid": (lambda z: 1 / (1 + np.exp(-z)))}


def check_layer_grads(fn, *, seed: int = 61) -> None:
    """Exercise 6.1: ∂L/∂W_l for every layer of a bias-free MLP with a CE loss.

    ``fn(Ws, X, y, activation)``: Ws a list of (n_l, n_{l-1}) weights, X (N, n_0),
    y (N,) class indices; z_l = a_{l-1} W_lᵀ, a_l = φ(z_l) except after the last
    layer, L = mean cross-entropy of z_L. Returns the list of the L gradients,
    first layer first, each shaped like its W_l. The cases include square
    layers, where a transposed gradient has the right shape and wrong values.
    """
    import torch

    title = "Exercise 6.1 layer_grads"
    _refuse(fn, title)
    acts = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}

    def ref(Ws, X, y, activation):
        Wt = [to_torch(W, requires_grad=True) for W in Ws]
        a = to_torch(X)
        for i, W in enumerate(Wt):
            a = a @ W.T
            if i < len(Wt) - 1:
                a = acts[activation](a)
        loss = torch.nn.functional.cross_entropy(a, to_torch(y))
        return torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, Wt)])

    def flat(Ws, X, y, activation):
        """The learner's list of gradients, validated one by one, then flattened."""
        out = fn(Ws, X, y, activation)
        if out is None:
            return None
        if not isinstance(out, (list, tuple)) or len(out) != len(Ws):
            raise AssertionError(f"expected a list of {len(Ws)} gradients (one per "
                                 f"weight matrix, first layer first), got "
                                 f"{_what(out)}")
        return np.concatenate([
            as_result(d, W.shape, title=title, where=f"gradient {l} of {len(Ws)}",
                      hint="∂L/∂W_l has the shape of W_l").ravel()
            for l, (d, W) in enumerate(zip(out, Ws), 1)])

    flat.__name__ = getattr(fn, "__name__", "your function")
    g = rng(seed)
    cases = []
    nets = [((5, 7, 4), "tanh", 0.8), ((6, 8, 8, 8, 8, 3), "relu", 0.6),
            ((4, 6, 6, 6, 6, 6, 6, 6, 5), "sigmoid", 1.5), ((3, 2), "relu", 1.0)]
    for widths, act, std in nets:
        Ws = [std * g.standard_normal((o, i)) for i, o in zip(widths[:-1], widths[1:])]
        N = 9
        X, y = g.standard_normal((N, widths[0])), g.integers(0, widths[-1], N)
        cases.append((Ws, X, y, act))
    check_function(flat, ref, cases, title=title, rtol=1e-9, atol=1e-13,
                   hint="start from the gradient of the mean cross-entropy w.r.t. the "
                        "logits and go back one layer at a time; a layer's weight "
                        "gradient needs its input activations, the step through φ "
                        "needs φ' at the pre-activations; mind the order of the "
                        "product that gives ∂L/∂W_l")


# --------------------------------------------------------------------------- 6.2
def check_leaky_relu_std(fn, *, seed: int = 62) -> None:
    """Exercise 6.2: the He std that preserves the variance through a leaky ReLU."""
    import torch

    title = "Exercise 6.2 leaky_relu_std"
    _refuse(fn, title, {"dlmath.nn"})

    def ref(a, fan_in):
        gain = torch.nn.init.calculate_gain("leaky_relu", a)
        return torch.tensor(gain / np.sqrt(fan_in), dtype=torch.float64)

    g = rng(seed)
    cases = [(0.0, 100), (0.01, 256), (0.2, 64), (0.5, 9), (1.0, 10), (3.0, 50)]
    cases += [(float(np.round(g.uniform(0, 2), 3)), int(g.integers(2, 500)))
              for _ in range(3)]
    check_function(fn, ref, cases, title=title, rtol=1e-12, atol=0,
                   hint="for symmetric z, E[f(z)²] splits into the halves z > 0 and "
                        "z < 0; ask n_in σ² E[f(z)²] = Var(z)")


# --------------------------------------------------------------------------- 6.3
def check_ridge_map_towards(fn, *, seed: int = 63) -> None:
    """Exercise 6.3: MAP weights of linear regression, Gaussian prior centred at w0.

    ``fn(X, y, w0, noise_var, prior_var)``: y = X w + ε, ε ~ N(0, noise_var),
    w ~ N(w0, prior_var I). The reference minimises the negative log posterior
    written with ``torch.distributions.Normal`` by one Newton step (exact, since
    it is quadratic in w) with autograd's gradient and Hessian.
    """
    import torch

    title = "Exercise 6.3 ridge_map_towards"
    _refuse(fn, title, {"dlmath.probability.bayesian_linear_regression"})

    def ref(X, y, w0, noise_var, prior_var):
        Xt, yt, w0t = to_torch(X), to_torch(y), to_torch(w0)
        Normal = torch.distributions.Normal
        sn, sp = to_torch(np.sqrt(noise_var)), to_torch(np.sqrt(prior_var))  # float64

        def neg_log_post(w):
            return -(Normal(Xt @ w, sn).log_prob(yt).sum()
                     + Normal(w0t, sp).log_prob(w).sum())

        start = torch.zeros_like(w0t)
        grad = torch.autograd.functional.jacobian(neg_log_post, start)
        H = torch.autograd.functional.hessian(neg_log_post, start)
        return start - torch.linalg.solve(H, grad)

    g = rng(seed)
    cases = []
    for N, d, nv, pv in [(30, 3, 0.5, 2.0), (8, 5, 1.0, 0.1), (50, 2, 0.01, 10.0),
                         (4, 6, 2.0, 0.5)]:
        X = g.standard_normal((N, d))
        y = X @ g.standard_normal(d) + np.sqrt(nv) * g.standard_normal(N)
        cases.append((X, y, 2.0 * g.standard_normal(d), nv, pv))
    check_function(fn, ref, cases, title=title, rtol=1e-9, atol=1e-12,
                   hint="write -log p(w | X, y) up to constants and set its gradient "
                        "to zero; the prior's term pulls w towards w0, with a strength "
                        "that is a ratio of the two variances (which one on top?)")


# --------------------------------------------------------------------------- 6.4
def check_dropout_linear_moments(fn, *, seed: int = 64) -> None:
    """Exercise 6.4: mean and variance of y = W (m ⊙ x) / (1 - p) over the mask m.

    ``fn(x, W, p)`` returns an array (2, out): row 0 E[y], row 1 Var[y]. The
    reference enumerates all 2^n masks with their probabilities, in torch.
    """
    import torch

    title = "Exercise 6.4 dropout_linear_moments"
    _refuse(fn, title)

    def ref(x, W, p):
        n = len(x)
        masks = torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)),
                             dtype=torch.float64, device=to_torch(x).device)
        prob = ((1 - p) ** masks.sum(1)) * (p ** (n - masks.sum(1)))
        ys = (masks * to_torch(x) / (1 - p)) @ to_torch(W).T        # (2^n, out)
        mean = prob @ ys
        var = prob @ (ys - mean) ** 2
        return torch.stack([mean, var])

    g = rng(seed)
    cases = [(g.standard_normal(n), g.standard_normal((o, n)), p)
             for n, o, p in [(6, 3, 0.5), (8, 2, 0.1), (4, 5, 0.8), (1, 1, 0.3)]]
    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="the m_j are independent Bernoulli(1 - p): y_i is a sum of "
                        "independent terms W_ij x_j m_j / (1 - p), so means and "
                        "variances add")


# --------------------------------------------------------------------------- 6.5
def check_rms_norm_backward(fn, *, seed: int = 65) -> None:
    """Exercise 6.5: dx of RMSNorm y = γ ⊙ x / √(mean(x²) + ε) over the last axis.

    ``fn(x, weight, dy, eps)`` returns dx (x's shape); the reference is torch
    autograd through ``torch.nn.functional.rms_norm``.
    """
    import torch

    title = "Exercise 6.5 rms_norm_backward"
    _refuse(fn, title)

    def ref(x, weight, dy, eps):
        xt = to_torch(x, requires_grad=True)
        y = torch.nn.functional.rms_norm(xt, (x.shape[-1],), to_torch(weight), eps)
        return torch.autograd.grad(y, xt, to_torch(dy))[0]

    g = rng(seed)
    cases = []
    for shape, eps in [((4, 6), 1e-5), ((2, 3, 5), 1e-6), ((7, 1), 1e-3),
                       ((3, 16), 0.5)]:
        cases.append((g.standard_normal(shape) + 0.5, g.standard_normal(shape[-1]),
                      g.standard_normal(shape), eps))
    check_function(fn, ref, cases, title=title, rtol=1e-9, atol=1e-12,
                   hint="r depends on every x_j of its row, so x_i reaches the loss "
                        "directly through x̂_i and again through r; unlike layer norm, "
                        "there is no mean to subtract")
