"""Every Chapter 4 check passes a correct solution, rejects wrong ones and a stub."""

import numpy as np
import pytest

from dlmath.exercises import ch04


# ----------------------------------------------------------------- correct solutions
def gd_quadratic(A, b, x0, lr, steps):
    xs = [x0]
    for _ in range(steps):
        xs.append(xs[-1] - lr * (A @ xs[-1] - b))
    return np.stack(xs)


def optimal_step(A):
    lam = np.linalg.eigvalsh(A)
    mu, L = lam[0], lam[-1]
    return np.array([2 / (mu + L), (L - mu) / (L + mu)])


def minibatch_grad(w, X, y, idx):
    Xb, yb = X[idx], y[idx]
    return Xb.T @ (Xb @ w - yb) / len(idx)


def cosine_schedule(base_lr, T_max, eta_min, num_steps):
    t = np.arange(num_steps + 1)
    return eta_min + (base_lr - eta_min) * (1 + np.cos(np.pi * t / T_max)) / 2


def nesterov(grad_fn, x0, lr, momentum, steps):
    x, b, xs = x0.copy(), None, [x0.copy()]
    for _ in range(steps):
        g = grad_fn(x)
        b = g.copy() if b is None else momentum * b + g
        x = x - lr * (g + momentum * b)
        xs.append(x)
    return np.stack(xs)


def adam(grad_fn, x0, lr, betas, eps, steps):
    (b1, b2), x = betas, x0.copy()
    m, v, xs = np.zeros_like(x), np.zeros_like(x), [x0.copy()]
    for t in range(1, steps + 1):
        g = grad_fn(x)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x = x - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        xs.append(x)
    return np.stack(xs)


def logreg_hessian(w, X, y):
    p = 1 / (1 + np.exp(-(X @ w)))
    return (X.T * (p * (1 - p))) @ X / len(X)


# ----------------------------------------------------------------- wrong solutions
def heavy_ball(grad_fn, x0, lr, momentum, steps):   # forgets the look-ahead term
    x, b, xs = x0.copy(), None, [x0.copy()]
    for _ in range(steps):
        g = grad_fn(x)
        b = g.copy() if b is None else momentum * b + g
        x = x - lr * b
        xs.append(x)
    return np.stack(xs)


def adam_no_bias_correction(grad_fn, x0, lr, betas, eps, steps):
    (b1, b2), x = betas, x0.copy()
    m, v, xs = np.zeros_like(x), np.zeros_like(x), [x0.copy()]
    for _ in range(steps):
        g = grad_fn(x)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x = x - lr * m / (np.sqrt(v) + eps)
        xs.append(x)
    return np.stack(xs)


CASES = [
    (ch04.check_gd_quadratic, gd_quadratic,
     lambda A, b, x0, lr, steps: gd_quadratic(A, b, x0, lr, steps)[1:]),   # forgets x0
    (ch04.check_optimal_step, optimal_step,
     lambda A: np.array([1 / np.linalg.eigvalsh(A)[-1], 0.5])),
    (ch04.check_minibatch_grad, minibatch_grad,
     # full batch
     lambda w, X, y, idx: X.T @ (X @ w - y) / len(X)),
    (ch04.check_cosine_schedule, cosine_schedule,
     # no eta_min
     lambda base, T, eta, n: base * (1 + np.cos(np.pi * np.arange(n + 1) / T)) / 2),
    (ch04.check_nesterov, nesterov, heavy_ball),
    (ch04.check_adam, adam, adam_no_bias_correction),
    (ch04.check_logreg_hessian, logreg_hessian,
     lambda w, X, y: X.T @ X / len(X)),
]


@pytest.mark.parametrize(
    "check, good, bad", CASES, ids=lambda c: getattr(c, "__name__", "")
)
def test_check_accepts_correct_and_rejects_wrong(check, good, bad, capsys):
    check(good)
    assert "✓" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="wrong values|shape"):
        check(bad)


@pytest.mark.parametrize("check", [c[0] for c in CASES], ids=lambda c: c.__name__)
def test_check_rejects_stub_and_none(check):
    def stub(*args):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="not attempted"):
        check(stub)
    with pytest.raises(AssertionError, match="returned None"):
        check(lambda *args: None)


# --- notebook 4.5: solutions from the notebook, plausible wrong answers ------------
from tests.notebook_solutions import solutions  # noqa: E402

NB45 = "chapters/04_optimization/05_convergence_curvature_constraints.ipynb"


def _top(M):
    return np.linalg.eigvalsh(M)[-1]


NB45_CHECKS = [
    ("check_logreg_smoothness", "logreg_smoothness", [
        lambda X, lam: _top(X.T @ X) / len(X) + lam,  # forgets σ(1 - σ) <= 1/4
        lambda X, lam: _top(X.T @ X) / (4 * len(X)),  # forgets the regulariser
        lambda X, lam: np.trace(X.T @ X) / (4 * len(X)) + lam,  # valid but not smallest
        lambda X, lam: np.max(np.sum(X ** 2, 1)) / 4 + lam,       # per-example bound
        lambda X, lam: np.linalg.norm(X, 2) / (4 * len(X)) + lam,  # σ_max, not squared
    ]),
    ("check_project_affine", "project_affine", [
        lambda y, A, b: y - A.T @ (A @ y - b),                         # no (AAᵀ)⁻¹
        lambda y, A, b: y - A.T @ np.linalg.solve(A @ A.T, A @ y),     # forgets b
        lambda y, A, b: np.linalg.pinv(A) @ b,                        # ignores y
        lambda y, A, b: y - A.T @ np.linalg.solve(A @ A.T, A @ y + b),  # sign of b
    ]),
]


@pytest.mark.parametrize("check, name", [(c, n) for c, n, _ in NB45_CHECKS])
def test_nb45_notebook_solution_passes(check, name, capsys):
    getattr(ch04, check)(solutions(NB45)[name])
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("check, k", [(c, k) for c, _, ws in NB45_CHECKS
                                      for k in range(len(ws))])
def test_nb45_wrong_answer_fails(check, k):
    wrong = dict((c, ws) for c, _, ws in NB45_CHECKS)[check][k]
    with pytest.raises(AssertionError, match=r"Exercise 4\.[89]"):
        getattr(ch04, check)(wrong)


@pytest.mark.parametrize("check", [c for c, _, _ in NB45_CHECKS])
def test_nb45_stub_is_not_attempted(check):
    def stub(*args):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="not attempted"):
        getattr(ch04, check)(stub)


def test_nb45_smoothness_refuses_torch():
    def smoothness_autograd(X, lam):
        import torch
        H = torch.autograd.functional.hessian(
            lambda w: torch.nn.functional.softplus(torch.tensor(X) @ w).mean()
            + lam / 2 * (w ** 2).sum(), torch.zeros(X.shape[1], dtype=torch.float64))
        return torch.linalg.eigvalsh(H)[-1].item()

    with pytest.raises(AssertionError, match="done by hand.*torch"):
        ch04.check_logreg_smoothness(smoothness_autograd)
