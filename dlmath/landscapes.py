"""Small 2-D test landscapes for the optimizers of Chapter 4, and runs on them.

Each landscape maps points ``xy`` of shape ``(..., 2)`` to the value and its
hand-derived gradient, ``(f, grad)`` of shapes ``(...)`` and ``(..., 2)``
(checked against autograd in ``tests/test_landscapes.py``):
``quadratic``, ``rosenbrock``, ``saddle``, ``three_wells``.
``trajectory`` runs a ``dlmath.optim`` optimizer on one; ``torch_trajectory``
runs its ``torch.optim`` twin on the same gradients, so a check is one line::

    path = trajectory(optim.Adam, rosenbrock, x0, 100, lr=1e-2)
    assert_close(path, torch_trajectory("Adam", rosenbrock, x0, 100, lr=1e-2), ...)
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._validate import as_float_array, check_int
from .optim import Optimizer

__all__ = ["quadratic", "rosenbrock", "saddle", "three_wells", "trajectory",
           "torch_trajectory"]


def _points(xy: Any, fn: str) -> np.ndarray:
    xy = as_float_array(xy, fn, "xy")
    if xy.ndim == 0 or xy.shape[-1] != 2:
        raise ValueError(f"{fn}: xy must have shape (..., 2), got {xy.shape}")
    return xy


def quadratic(xy, A=((1.0, 0.0), (0.0, 10.0)), b=(0.0, 0.0)):
    """``f(x) = ½ xᵀ A x - bᵀ x`` and ``∇f = A x - b`` at points xy (..., 2)."""
    x = _points(xy, "quadratic")
    A, b = np.asarray(A, dtype=float), np.asarray(b, dtype=float)
    Ax = x @ A.T
    return 0.5 * (x * Ax).sum(-1) - x @ b, Ax - b


def rosenbrock(xy, a: float = 1.0, b: float = 100.0):
    """``f = (a - x)² + b (y - x²)²``; minimum 0 at (a, a²) in a narrow curved
    valley."""
    p = _points(xy, "rosenbrock")
    x, y = p[..., 0], p[..., 1]
    r = y - x ** 2
    f = (a - x) ** 2 + b * r ** 2
    grad = np.stack([-2 * (a - x) - 4 * b * x * r, 2 * b * r], axis=-1)
    return f, grad


def saddle(xy):
    """``f = x² - y²``: a saddle at 0 (Hessian eigenvalues 2 and -2)."""
    p = _points(xy, "saddle")
    x, y = p[..., 0], p[..., 1]
    return x ** 2 - y ** 2, np.stack([2 * x, -2 * y], axis=-1)


def three_wells(xy):
    """Three Gaussian wells of different depths and widths on a bowl.

    ``f = 0.05 |p|² - Σ_k h_k exp(-|p - c_k|² / (2 s_k²))``; its minima sit
    near the centres ``c_k``, saddles between them, so where gradient descent
    ends depends on where it starts.
    """
    p = _points(xy, "three_wells")
    C = np.array([[-1.5, -0.5], [1.5, -0.8], [0.2, 1.6]])
    h = np.array([1.0, 1.4, 0.8])
    s = np.array([0.7, 0.55, 0.8])
    diff = p[..., None, :] - C                              # (..., 3, 2)
    e = h * np.exp(-(diff ** 2).sum(-1) / (2 * s ** 2))     # (..., 3)
    f = 0.05 * (p ** 2).sum(-1) - e.sum(-1)
    grad = 0.1 * p + (e[..., None] * diff / s[:, None] ** 2).sum(-2)
    return f, grad


def trajectory(optimizer: Callable[..., Optimizer], landscape: Callable, x0: Any,
               steps: int, **hyper) -> np.ndarray:
    """Run ``optimizer([x], **hyper)`` for ``steps`` steps on ``landscape`` from ``x0``.

    ``landscape(x)`` returns ``(f, grad)``. Returns the iterates, shape
    ``(steps + 1, *x0.shape)``, starting with ``x0``. Stops early (padding
    with NaN) if an iterate leaves the floats.
    """
    steps = check_int(steps, "trajectory", "steps", minimum=0)
    x = as_float_array(x0, "trajectory", "x0").astype(np.float64, copy=True)
    opt = optimizer([x], **hyper)
    path = np.full((steps + 1, *x.shape), np.nan)
    path[0] = x
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, steps + 1):
            opt.step([landscape(x)[1]])
            if not np.all(np.isfinite(x)):
                break
            path[k] = x
    return path


def torch_trajectory(name: str, landscape: Callable, x0, steps: int, **hyper):
    """The torch twin of ``trajectory``: ``torch.optim.<name>`` fed the same gradients.

    The gradient comes from ``landscape`` (numpy) at torch's current iterate, so
    the two runs differ only in the optimizer's arithmetic. Returns a float64
    tensor of shape ``(steps + 1, *x0.shape)`` on ``dlmath.device()``.
    """
    import torch

    from .check import to_torch

    steps = check_int(steps, "torch_trajectory", "steps", minimum=0)
    if not hasattr(torch.optim, name):
        raise ValueError(f"torch_trajectory: torch.optim has no optimizer {name!r}")
    x = to_torch(as_float_array(x0, "torch_trajectory", "x0"), requires_grad=True)
    opt = getattr(torch.optim, name)([x], **hyper)
    path = [x.detach().clone()]
    for _ in range(steps):
        x.grad = to_torch(landscape(x.detach().cpu().numpy())[1], device=x.device)
        opt.step()
        path.append(x.detach().clone())
    return torch.stack(path)
