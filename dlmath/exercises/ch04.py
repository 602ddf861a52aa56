"""Autograded checks for the exercises of Chapter 4 (optimization).

Each ``check_*`` takes the learner's function, runs it on fixed inputs and
compares with PyTorch in float64 on ``dlmath.device()``: ``torch.optim``
optimizers and schedulers, autograd gradients and Hessians.
"""
from __future__ import annotations

import numpy as np

from ..check import to_torch
from ..landscapes import rosenbrock, torch_trajectory
from . import check_function

_G = np.random.default_rng(2024)  # fixed test inputs, independent of dlmath.seed


def _spd(d: int, cond: float) -> np.ndarray:
    Q, _ = np.linalg.qr(_G.standard_normal((d, d)))
    return (Q * np.geomspace(1.0, cond, d)) @ Q.T


def check_gd_quadratic(fn) -> None:
    """Exercise 4.1: gradient descent on f(x) = ½ xᵀAx - bᵀx; iterates (steps+1, d)."""
    import torch

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

    cases = [(_spd(2, 10.0), _G.standard_normal(2), _G.standard_normal(2), 0.15, 30),
             (_spd(5, 50.0), _G.standard_normal(5), _G.standard_normal(5), 0.03, 50),
             (_spd(3, 4.0), _G.standard_normal(3), _G.standard_normal(3), 0.6, 20)]
    check_function(
        fn,
        ref,
        cases,
        title="Exercise 4.1 gd_quadratic",
        rtol=1e-10,
        atol=1e-12,
        hint="the gradient of ½xᵀAx - bᵀx is Ax - b (A symmetric); return x_0 too, "
        "stacked: shape (steps + 1, d)",
    )


def check_optimal_step(fn) -> None:
    """Exercise 4.2: [lr*, rate] = [2 / (μ + L), (κ - 1) / (κ + 1)] for Hessian A."""
    import torch

    def ref(A):
        lam = torch.linalg.eigvalsh(to_torch(A))
        mu, L = lam[0], lam[-1]
        return torch.stack([2 / (mu + L), (L / mu - 1) / (L / mu + 1)])

    cases = [
        (_spd(2, 10.0),),
        (_spd(6, 1000.0),),
        (np.diag([3.0, 3.0]),),
        (_spd(4, 2.0) * 7,),
    ]
    check_function(
        fn,
        ref,
        cases,
        title="Exercise 4.2 optimal_step",
        rtol=1e-10,
        atol=1e-12,
        hint="balance the slowest and the fastest mode: |1 - lr μ| = |1 - lr L|; "
        "return np.array([lr, rate])",
    )


def check_minibatch_grad(fn) -> None:
    """Exercise 4.3: the gradient in w of 1/(2B) Σ_{i in idx} (x_iᵀw - y_i)²."""
    import torch

    def ref(w, X, y, idx):
        wt = to_torch(w).requires_grad_(True)
        Xb, yb = to_torch(X)[torch.as_tensor(idx)], to_torch(y)[torch.as_tensor(idx)]
        (0.5 * torch.nn.functional.mse_loss(Xb @ wt, yb)).backward()
        return wt.grad

    X, y = _G.standard_normal((40, 3)), _G.standard_normal(40)
    cases = [(_G.standard_normal(3), X, y, np.array([0, 5, 7, 39])),
             (_G.standard_normal(3), X, y, np.arange(40)),
             (_G.standard_normal(3), X, y, np.array([11]))]
    check_function(
        fn,
        ref,
        cases,
        title="Exercise 4.3 minibatch_grad",
        rtol=1e-10,
        atol=1e-12,
        hint="X_B = X[idx]; the gradient is X_Bᵀ (X_B w - y_B) / B with B = len(idx)",
    )


def check_cosine_schedule(fn) -> None:
    """Exercise 4.4: closed-form cosine annealing, the rates for t = 0..num_steps."""
    import torch

    def ref(base_lr, T_max, eta_min, num_steps):
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(
            opt, T_max=T_max, eta_min=eta_min
        )
        lrs = [opt.param_groups[0]["lr"]]
        for _ in range(num_steps):
            opt.step()
            sched.step()
            lrs.append(opt.param_groups[0]["lr"])
        return np.array(lrs)

    cases = [
        (0.1, 10, 0.0, 10),
        (1.0, 50, 0.01, 30),
        (0.3, 1, 0.1, 1),
        (0.05, 25, 0.001, 25),
    ]
    check_function(
        fn,
        ref,
        cases,
        title="Exercise 4.4 cosine_schedule",
        rtol=1e-10,
        atol=1e-14,
        hint="lr_t = eta_min + (base_lr - eta_min)(1 + cos(π t / T_max)) / 2 for "
        "t = 0, 1, ..., num_steps: num_steps + 1 values",
    )


def _grad_quadratic(x):
    return _A_Q @ x


_A_Q = _spd(3, 20.0)


def _grad_rosenbrock(x):
    return rosenbrock(x)[1]


def _as_landscape(grad_fn):
    """The (value, gradient) form torch_trajectory takes; only the gradient is used."""
    return lambda x: (None, grad_fn(x))


def check_nesterov(fn) -> None:
    """Exercise 4.5: SGD with Nesterov momentum (torch's form); iterates (steps+1,
    d)."""
    cases = [(_grad_quadratic, _G.standard_normal(3), 0.02, 0.9, 60),
             (_grad_rosenbrock, np.array([-1.0, 1.5]), 1e-3, 0.8, 80),
             (_grad_quadratic, _G.standard_normal(3), 0.05, 0.5, 30)]
    check_function(
        fn,
        lambda g, x0, lr, mu, steps: torch_trajectory(
            "SGD", _as_landscape(g), x0, steps, lr=lr, momentum=mu, nesterov=True
        ),
        cases,
        title="Exercise 4.5 nesterov",
        rtol=1e-10,
        atol=1e-12,
        hint="b_1 = g_1, then b_t = μ b_(t-1) + g_t; "
        "step along g_t + μ b_t (not along b_t)",
    )


def check_adam(fn) -> None:
    """Exercise 4.6: Adam with bias correction; returns iterates (steps+1, d)."""
    cases = [(_grad_quadratic, _G.standard_normal(3), 0.05, (0.9, 0.999), 1e-8, 50),
             (_grad_rosenbrock, np.array([-1.0, 1.5]), 0.02, (0.8, 0.99), 1e-6, 80),
             (_grad_quadratic, _G.standard_normal(3), 0.1, (0.0, 0.5), 1e-3, 20)]
    check_function(fn, lambda g, x0, lr, betas, eps, steps: torch_trajectory(
        "Adam", _as_landscape(g), x0, steps, lr=lr, betas=betas, eps=eps), cases,
        title="Exercise 4.6 adam", rtol=1e-9, atol=1e-12,
        hint="m̂ = m / (1 - β1^t), v̂ = v / (1 - β2^t) with t starting at 1; "
             "x -= lr m̂ / (sqrt(v̂) + eps)")


def check_logreg_hessian(fn) -> None:
    """Exercise 4.7: Hessian of the mean binary cross-entropy of logistic regression."""
    import torch

    def ref(w, X, y):
        Xt, yt = to_torch(X), to_torch(y)

        def loss(v):
            return torch.nn.functional.binary_cross_entropy_with_logits(Xt @ v, yt)

        return torch.autograd.functional.hessian(loss, to_torch(w))

    cases = []
    for n, d in [(30, 3), (5, 4), (50, 1)]:
        cases.append((_G.standard_normal(d), _G.standard_normal((n, d)),
                      (_G.random(n) < 0.5).astype(np.float64)))
    check_function(
        fn,
        ref,
        cases,
        title="Exercise 4.7 logreg_hessian",
        rtol=1e-10,
        atol=1e-12,
        hint="H = Xᵀ diag(p (1 - p)) X / N with p = sigmoid(X w); the labels drop out",
    )


# ------------------------------------ Notebook 4.5: convergence, curvature, constraints
def check_logreg_smoothness(fn) -> None:
    """Exercise 4.8: the smallest L with ∇f L-Lipschitz, for L2-regularised logistic
    regression f(w) = mean BCE(X w, y) + lam/2 ‖w‖²: λ_max(XᵀX) / (4N) + lam.

    The Hessian is largest at w = 0 (where every p(1 - p) = 1/4), so the
    reference is the top eigenvalue of torch's Hessian there.
    """
    import torch

    from . import refuse_calls

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

    g = np.random.default_rng(48)
    cases = [(g.standard_normal((N, d)) * g.uniform(0.5, 3, d), lam)
             for (N, d), lam in (((50, 3), 0.1), ((20, 6), 0.0), ((200, 2), 1.0))]
    cases.append((np.ones((10, 1)), 0.5))
    check_function(fn, ref, cases, title=title, rtol=1e-9, atol=1e-12,
                   hint="the Hessian is Xᵀ diag(p(1 - p)) X / N + lam I, and p(1 - p) "
                        "<= 1/4 with equality at w = 0; the answer is an eigenvalue")


def check_project_affine(fn) -> None:
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

    g = np.random.default_rng(49)
    cases = [(g.standard_normal(n), g.standard_normal((m, n)), g.standard_normal(m))
             for m, n in ((1, 3), (2, 5), (3, 4), (4, 10))]
    check_function(fn, ref, cases, title="Exercise 4.9 project_affine", rtol=1e-9,
                   atol=1e-11, hint="stationarity gives x = y - Aᵀν; put it into "
                                    "A x = b to find ν (an m x m system)")
