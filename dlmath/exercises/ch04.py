"""Autograded checks for the exercises of Chapter 4 (optimization).

Each ``check_*`` takes the learner's function, runs it on inputs drawn from a
fresh ``rng(seed)`` (hidden cases: another seed) and compares with PyTorch in
float64 on ``dlmath.device()``: ``torch.optim``
optimizers and schedulers, autograd gradients and Hessians.
"""
from __future__ import annotations

import numpy as np

from ..check import to_torch
from ..landscapes import rosenbrock, torch_trajectory
from . import check_function, refuse_calls, rng


def _spd(g: np.random.Generator, d: int, cond: float) -> np.ndarray:
    Q, _ = np.linalg.qr(g.standard_normal((d, d)))
    return (Q * np.geomspace(1.0, cond, d)) @ Q.T


_OPTIM = {"torch", "dlmath.optim", "dlmath.landscapes.trajectory"}


def check_gd_quadratic(fn, *, seed: int = 401) -> None:
    """Exercise 4.1: gradient descent on f(x) = ½ xᵀAx - bᵀx; iterates (steps+1, d)."""
    import torch

    title = "Exercise 4.1 gd_quadratic"
    refuse_calls(fn, _OPTIM, title=title, why="write the update rule yourself")

    def ref(A, b, x0, lr, steps):
        At, bt = to_torch(A), to_torch(b)
        x = to_torch(x0).requires_grad_(True)
        opt = torch.optim.SGD([x], lr=lr)
        path = [x.detach().clone()]
        for _ in range(steps):
            opt.zero_grad()
            (0.5 * x @ At @ x - bt @ x).backward()   # autograd, not our formula
            opt.step()
            path.append(x.detach().clone())
        return torch.stack(path)

    g = rng(seed)
    cases = [(_spd(g, d, cond), g.standard_normal(d), g.standard_normal(d), lr, steps)
             for d, cond, lr, steps in ((2, 10.0, 0.15, 30), (5, 50.0, 0.03, 50),
                                        (3, 4.0, 0.6, 20))]
    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="differentiate f using the symmetry of A; return the starting "
                        "point too, stacked: shape (steps + 1, d)")


def check_optimal_step(fn, *, seed: int = 402) -> None:
    """Exercise 4.2: [lr*, rate] = [2 / (μ + L), (κ - 1) / (κ + 1)], Hessian A."""
    import torch

    title = "Exercise 4.2 optimal_step"
    refuse_calls(fn, {"torch"}, title=title, why="use numpy's eigenvalues")

    def ref(A):
        lam = torch.linalg.eigvalsh(to_torch(A))
        mu, L = lam[0], lam[-1]
        return torch.stack([2 / (mu + L), (L / mu - 1) / (L / mu + 1)])

    g = rng(seed)
    cases = [(_spd(g, 2, 10.0),), (_spd(g, 6, 1000.0),), (np.diag([3.0, 3.0]),),
             (_spd(g, 4, 2.0) * 7,)]
    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="only the smallest and the largest eigenvalue matter: balance "
                        "the contraction of the slowest mode against the fastest; "
                        "return np.array([lr, rate])")


def check_minibatch_grad_logistic(fn, *, seed: int = 403) -> None:
    """Exercise 4.3: ∇_w of the mean binary cross-entropy of logistic regression over
    the rows ``idx`` of (X, y): labels y in {0, 1}, logits X w."""
    import torch

    title = "Exercise 4.3 minibatch_grad_logistic"
    refuse_calls(fn, {"torch",
                      "dlmath.functional.binary_cross_entropy_with_logits_grad",
                      "dlmath.check.numerical_grad"}, title=title,
                 why="derive the gradient and code it with numpy")

    def ref(w, X, y, idx):
        wt = to_torch(w).requires_grad_(True)
        ix = torch.as_tensor(idx, device=wt.device)
        torch.nn.functional.binary_cross_entropy_with_logits(
            to_torch(X)[ix] @ wt, to_torch(y)[ix]).backward()
        return wt.grad

    g = rng(seed)
    X = 2 * g.standard_normal((40, 3))
    y = (g.random(40) < 0.5).astype(np.float64)
    cases = [(g.standard_normal(3), X, y, g.choice(40, 4, replace=False)),
             (g.standard_normal(3), X, y, np.arange(40)),
             (g.standard_normal(3), X, y, g.integers(0, 40, 1)),
             (g.standard_normal(3), X, y, g.integers(0, 40, 12))]  # with repeats
    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="differentiate one example's loss through the sigmoid (its "
                        "derivative cancels against the log's), then average over "
                        "the B selected rows only, repeats included")


def check_cosine_restarts(fn, *, seed: int = 404) -> None:
    """Exercise 4.4: cosine annealing with warm restarts (SGDR), rates for
    t = 0..num_steps, as torch's ``CosineAnnealingWarmRestarts`` sets them."""
    import torch

    title = "Exercise 4.4 cosine_restarts"
    refuse_calls(fn, _OPTIM, title=title, why="compute the rates yourself")

    def ref(base_lr, T_0, T_mult, eta_min, num_steps):
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            opt, T_0=T_0, T_mult=T_mult, eta_min=eta_min)
        lrs = [opt.param_groups[0]["lr"]]
        for _ in range(num_steps):
            opt.step()
            sched.step()
            lrs.append(opt.param_groups[0]["lr"])
        return np.array(lrs)

    g = rng(seed)
    cases = [(0.1, 10, 1, 0.0, 35), (1.0, 5, 2, 0.01, 80), (0.3, 1, 1, 0.1, 4),
             (g.uniform(0.01, 1.0), int(g.integers(2, 7)), 3, 1e-3, 100),
             (0.05, 25, 2, 0.001, 24)]
    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-14,
                   hint="track where step t falls: which cycle, its length, and the "
                        "position inside it; within a cycle the rate follows the "
                        "cosine curve of (4.10) with the cycle's length as its period")


def check_nesterov(fn, *, seed: int = 405) -> None:
    """Exercise 4.5: Nesterov momentum (torch's form); iterates (steps+1, d)."""
    title = "Exercise 4.5 nesterov"
    refuse_calls(fn, _OPTIM, title=title, why="write the update rule yourself")
    g = rng(seed)
    A = _spd(g, 3, 20.0)

    def quadratic_grad(x):
        return A @ x

    def rosenbrock_grad(x):
        return rosenbrock(x)[1]

    cases = [(quadratic_grad, g.standard_normal(3), 0.02, 0.9, 60),
             (rosenbrock_grad, np.array([-1.0, 1.5]) + 0.1 * g.standard_normal(2),
              1e-3, 0.8, 80),
             (quadratic_grad, g.standard_normal(3), 0.05, 0.5, 30)]
    check_function(fn, lambda gr, x0, lr, mu, steps: torch_trajectory(
        "SGD", lambda x: (None, gr(x)), x0, steps, lr=lr, momentum=mu,
        nesterov=True), cases,
        title=title, rtol=1e-10, atol=1e-12,
        hint="the first step initialises the buffer with the gradient itself; the "
             "step then looks ahead: it is not along the buffer alone")


def check_adam(fn, *, seed: int = 406) -> None:
    """Exercise 4.6: Adam with bias correction; returns iterates (steps+1, d)."""
    title = "Exercise 4.6 adam"
    refuse_calls(fn, _OPTIM, title=title, why="write the update rule yourself")
    g = rng(seed)
    A = _spd(g, 3, 20.0)

    def quadratic_grad(x):
        return A @ x

    def rosenbrock_grad(x):
        return rosenbrock(x)[1]

    cases = [(quadratic_grad, g.standard_normal(3), 0.05, (0.9, 0.999), 1e-8, 50),
             (rosenbrock_grad, np.array([-1.0, 1.5]) + 0.1 * g.standard_normal(2), 0.02,
              (0.8, 0.99), 1e-6, 80),
             (quadratic_grad, g.standard_normal(3), 0.1, (0.0, 0.5), 1e-3, 20)]
    check_function(fn, lambda gr, x0, lr, betas, eps, steps: torch_trajectory(
        "Adam", lambda x: (None, gr(x)), x0, steps, lr=lr, betas=betas, eps=eps), cases,
        title=title, rtol=1e-9, atol=1e-12,
        hint="both moment estimates start at zero and are biased toward it; the "
             "correction uses the step count starting at 1; eps is added after the "
             "square root")


def check_logreg_hessian(fn, *, seed: int = 407) -> None:
    """Exercise 4.7: Hessian of the mean binary cross-entropy of logistic regression."""
    import torch

    title = "Exercise 4.7 logreg_hessian"
    refuse_calls(fn, {"torch", "dlmath.check.numerical_grad"}, title=title,
                 why="differentiate the gradient by hand")

    def ref(w, X, y):
        Xt, yt = to_torch(X), to_torch(y)

        def loss(v):
            return torch.nn.functional.binary_cross_entropy_with_logits(Xt @ v, yt)
        return torch.autograd.functional.hessian(loss, to_torch(w))

    g = rng(seed)
    cases = [(g.standard_normal(d), g.standard_normal((n, d)),
              (g.random(n) < 0.5).astype(np.float64))
             for n, d in [(30, 3), (5, 4), (50, 1)]]
    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="differentiate each term of the gradient once more with the "
                        "chain rule through the sigmoid; the result is a weighted sum "
                        "of outer products xᵢxᵢᵀ, vectorized as one matrix product")


# ------------------------------------ Notebook 4.5: convergence, curvature, constraints
def check_logreg_smoothness(fn, *, seed: int = 48) -> None:
    """Exercise 4.8: the smallest L with ∇f L-Lipschitz, for L2-regularised logistic
    regression f(w) = mean BCE(X w, y) + lam/2 ‖w‖²: λ_max(XᵀX) / (4N) + lam.

    The Hessian is largest at w = 0 (where every p(1 - p) = 1/4), so the
    reference is the top eigenvalue of torch's Hessian there.
    """
    import torch

    title = "Exercise 4.8 logreg_smoothness"
    refuse_calls(fn, {"torch"}, title=title,
                 why="bound the Hessian by hand and compute the bound with numpy")

    def ref(X, lam):
        Xt = to_torch(X)
        y = to_torch((np.arange(len(X)) % 2).astype(np.float64))

        def f(w):
            return (torch.nn.functional.binary_cross_entropy_with_logits(Xt @ w, y)
                    + lam / 2 * (w ** 2).sum())
        H = torch.autograd.functional.hessian(f, torch.zeros(X.shape[1], dtype=Xt.dtype,
                                                             device=Xt.device))
        return torch.linalg.eigvalsh(H)[-1]

    g = rng(seed)
    cases = [(g.standard_normal((N, d)) * g.uniform(0.5, 3, d), lam)
             for (N, d), lam in (((50, 3), 0.1), ((20, 6), 0.0), ((200, 2), 1.0))]
    cases.append((np.ones((10, 1)), 0.5))
    check_function(fn, ref, cases, title=title, rtol=1e-9, atol=1e-12,
                   hint="bound each example's curvature weight by its largest "
                        "value (where is it reached?), then take the largest "
                        "curvature of the bound; do not forget the regulariser")


def check_project_affine(fn, *, seed: int = 49) -> None:
    """Exercise 4.9: the closest point to y (n,) on {x : A x = b}, A (m, n) of rank m.

    The reference uses the null-space method (a different route from the
    Lagrange multipliers): x = x_p + N Nᵀ (y - x_p), x_p = A⁺ b, N a basis of null(A).
    """
    import torch

    def ref(y, A, b):
        At = to_torch(A)
        x_p = torch.linalg.pinv(At) @ to_torch(b)
        N = torch.linalg.svd(At)[2][A.shape[0]:].T            # (n, n - m), orthonormal
        return x_p + N @ (N.T @ (to_torch(y) - x_p))

    g = rng(seed)
    cases = [(g.standard_normal(n), g.standard_normal((m, n)), g.standard_normal(m))
             for m, n in ((1, 3), (2, 5), (3, 4), (4, 10))]
    check_function(fn, ref, cases, title="Exercise 4.9 project_affine", rtol=1e-9,
                   atol=1e-11, hint="stationarity gives x = y - Aᵀν; put it into "
                                    "A x = b to find ν (an m x m system)")
