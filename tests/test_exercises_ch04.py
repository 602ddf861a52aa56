"""Every Chapter 4 check accepts the notebook's solution (visible and hidden cases)
and rejects stubs and plausible wrong answers; solutions come from the notebooks."""
import numpy as np
import pytest

from dlmath.exercises import ch04
from tests.notebook_solutions import check_calls, solutions

NB = {name: path for path, names in {
    "chapters/04_optimization/01_gradient_descent.ipynb":
        ["gd_quadratic", "optimal_step"],
    "chapters/04_optimization/02_sgd_and_schedules.ipynb":
        ["minibatch_grad_logistic", "cosine_restarts"],
    "chapters/04_optimization/03_momentum_and_adaptive_methods.ipynb":
        ["nesterov", "adam"],
    "chapters/04_optimization/04_loss_landscapes.ipynb": ["logreg_hessian"],
}.items() for name in names}
PART_I = sorted(set(NB.values())) + [
    "chapters/04_optimization/05_convergence_curvature_constraints.ipynb"]


def sol(name):
    return solutions(NB[name])[name]


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


# ----------------------------------------------------------------- wrong solutions
def gd_forgets_x0(A, b, x0, lr, steps):
    return sol("gd_quadratic")(A, b, x0, lr, steps)[1:]


def gd_gradient_sign(A, b, x0, lr, steps):  # climbs: x + lr (Ax - b)
    xs = [x0]
    for _ in range(steps):
        xs.append(xs[-1] + lr * (A @ xs[-1] - b))
    return np.stack(xs)


def gd_with_torch(A, b, x0, lr, steps):  # right iterates, but torch.optim does the work
    import torch
    x = torch.tensor(x0, requires_grad=True)
    opt, xs = torch.optim.SGD([x], lr=lr), [x0]
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * x @ torch.tensor(A) @ x - torch.tensor(b) @ x).backward()
        opt.step()
        xs.append(x.detach().numpy().copy())
    return np.stack(xs)


def step_half_rate(A):  # 1/L and a made-up rate
    return np.array([1 / np.linalg.eigvalsh(A)[-1], 0.5])


def step_inverse_kappa(A):  # rate 1/κ, not (κ - 1)/(κ + 1)
    lam = np.linalg.eigvalsh(A)
    return np.array([2 / (lam[0] + lam[-1]), lam[0] / lam[-1]])


def step_one_over_L(A):  # the safe step 1/L, not the best 2/(μ + L)
    lam = np.linalg.eigvalsh(A)
    return np.array([1 / lam[-1], (lam[-1] - lam[0]) / (lam[-1] + lam[0])])


def minibatch_squared_loss(w, X, y, idx):  # the squared-loss gradient of Section 1
    Xb, yb = X[idx], y[idx]
    return Xb.T @ (Xb @ w - yb) / len(idx)


def minibatch_full_batch(w, X, y, idx):  # ignores idx
    return X.T @ (_sigmoid(X @ w) - y) / len(X)


def minibatch_divides_by_N(w, X, y, idx):
    Xb, yb = X[idx], y[idx]
    return Xb.T @ (_sigmoid(Xb @ w) - yb) / len(X)


def minibatch_unique_rows(w, X, y, idx):  # drops repeated draws
    u = np.unique(idx)
    return X[u].T @ (_sigmoid(X[u] @ w) - y[u]) / len(u)


def restarts_none(base, T_0, T_mult, eta, n):  # plain cosine with T_max = T_0
    t = np.arange(n + 1)
    return eta + (base - eta) * (1 + np.cos(np.pi * t / T_0)) / 2


def restarts_fixed_period(base, T_0, T_mult, eta, n):  # ignores T_mult
    t = np.arange(n + 1) % T_0
    return eta + (base - eta) * (1 + np.cos(np.pi * t / T_0)) / 2


def restarts_off_by_one(base, T_0, T_mult, eta, n):  # restarts one step late
    rates, t_cur, T_i = [], 0, T_0
    for _ in range(n + 1):
        rates.append(eta + (base - eta) * (1 + np.cos(np.pi * t_cur / T_i)) / 2)
        t_cur += 1
        if t_cur > T_i:
            t_cur, T_i = 0, T_i * T_mult
    return np.array(rates)


def restarts_with_torch(base, T_0, T_mult, eta, n):  # not by hand
    import torch
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0, T_mult, eta)
    rates = [base]
    for _ in range(n):
        opt.step()
        sched.step()
        rates.append(opt.param_groups[0]["lr"])
    return np.array(rates)


def heavy_ball(grad_fn, x0, lr, momentum, steps):   # forgets the look-ahead term
    x, b, xs = x0.copy(), None, [x0.copy()]
    for _ in range(steps):
        g = grad_fn(x)
        b = g.copy() if b is None else momentum * b + g
        x = x - lr * b
        xs.append(x)
    return np.stack(xs)


def nesterov_stale_buffer(grad_fn, x0, lr, momentum, steps):  # looks ahead with b_(t-1)
    x, b, xs = x0.copy(), np.zeros_like(x0), [x0.copy()]
    for _ in range(steps):
        g = grad_fn(x)
        x = x - lr * (g + momentum * b)
        b = momentum * b + g
        xs.append(x)
    return np.stack(xs)


def nesterov_dlmath(grad_fn, x0, lr, momentum, steps):  # the library does the work
    from dlmath import optim
    x, xs = x0.copy(), [x0.copy()]
    opt = optim.SGD([x], lr=lr, momentum=momentum, nesterov=True)
    for _ in range(steps):
        opt.step([grad_fn(x)])
        xs.append(x.copy())
    return np.stack(xs)


def _adam(grad_fn, x0, lr, betas, eps, steps, *, correct=True, eps_inside=False, t0=1):
    (b1, b2), x = betas, x0.copy()
    m, v, xs = np.zeros_like(x), np.zeros_like(x), [x0.copy()]
    for t in range(t0, steps + t0):
        g = grad_fn(x)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mh, vh = (m / (1 - b1 ** t), v / (1 - b2 ** t)) if correct else (m, v)
        x = x - lr * mh / (np.sqrt(vh + eps) if eps_inside else np.sqrt(vh) + eps)
        xs.append(x)
    return np.stack(xs)


def adam_no_bias_correction(grad_fn, x0, lr, betas, eps, steps):
    return _adam(grad_fn, x0, lr, betas, eps, steps, correct=False)


def adam_eps_inside_sqrt(grad_fn, x0, lr, betas, eps, steps):
    return _adam(grad_fn, x0, lr, betas, eps, steps, eps_inside=True)


def adam_t_from_two(grad_fn, x0, lr, betas, eps, steps):  # step counter off by one
    return _adam(grad_fn, x0, lr, betas, eps, steps, t0=2)


def adam_dlmath(grad_fn, x0, lr, betas, eps, steps):  # the library does the work
    from dlmath.optim import Adam
    x, xs = x0.copy(), [x0.copy()]
    opt = Adam([x], lr=lr, betas=betas, eps=eps)
    for _ in range(steps):
        opt.step([grad_fn(x)])
        xs.append(x.copy())
    return np.stack(xs)


def hessian_no_weights(w, X, y):
    return X.T @ X / len(X)


def hessian_p_not_p1mp(w, X, y):  # σ instead of σ(1 - σ)
    return (X.T * _sigmoid(X @ w)) @ X / len(X)


def hessian_sum_not_mean(w, X, y):
    p = _sigmoid(X @ w)
    return (X.T * (p * (1 - p))) @ X


WRONG = {
    "gd_quadratic": [gd_forgets_x0, gd_gradient_sign, gd_with_torch],
    "optimal_step": [step_half_rate, step_inverse_kappa, step_one_over_L],
    "minibatch_grad_logistic": [minibatch_squared_loss, minibatch_full_batch,
                                minibatch_divides_by_N, minibatch_unique_rows],
    "cosine_restarts": [restarts_none, restarts_fixed_period, restarts_off_by_one,
                        restarts_with_torch],
    "nesterov": [heavy_ball, nesterov_stale_buffer, nesterov_dlmath],
    "adam": [adam_no_bias_correction, adam_eps_inside_sqrt, adam_t_from_two,
             adam_dlmath],
    "logreg_hessian": [hessian_no_weights, hessian_p_not_p1mp, hessian_sum_not_mean],
}
CHECKS = [(f"check_{name}", name) for name in WRONG]


@pytest.mark.parametrize("check, name", CHECKS)
def test_check_accepts_notebook_solution(check, name, capsys):
    getattr(ch04, check)(sol(name))
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("check, name, k", [(c, n, k) for c, n in CHECKS
                                            for k in range(len(WRONG[n]))])
def test_check_rejects_wrong_solution(check, name, k):
    with np.errstate(all="ignore"), \
            pytest.raises(AssertionError, match=r"Exercise 4\.\d"):
        getattr(ch04, check)(WRONG[name][k])


@pytest.mark.parametrize("check", [c for c, _ in CHECKS])
def test_check_rejects_stub_and_none(check):
    def stub(*args):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="not attempted"):
        getattr(ch04, check)(stub)
    with pytest.raises(AssertionError, match="returned None"):
        getattr(ch04, check)(lambda *args: None)


def test_messages_name_functions_not_addresses():
    with pytest.raises(AssertionError) as info:
        ch04.check_nesterov(nesterov_stale_buffer)
    msg = str(info.value)
    assert "nesterov_stale_buffer gives wrong values" in msg
    assert "function quadratic_grad" in msg and "0x" not in msg
    with pytest.raises(AssertionError, match="done by hand.*Adam"):
        ch04.check_adam(adam_dlmath)
    with pytest.raises(AssertionError, match="done by hand.*torch"):
        ch04.check_cosine_restarts(restarts_with_torch)


@pytest.mark.parametrize("path", PART_I)
def test_every_visible_and_hidden_call_accepts_the_notebook_solution(path, capsys):
    calls = check_calls(path)
    assert any(seed is not None for *_, seed in calls), "no hidden cases"
    for _, check, fn, seed in calls:
        kw = {} if seed is None else {"seed": seed}
        getattr(ch04, check)(solutions(path)[fn], **kw)
    # one ✓ line per visible call: a passing hidden call prints nothing
    assert capsys.readouterr().out.count("✓") == sum(seed is None for *_, seed in calls)


# --- notebook 4.5: solutions from the notebook, plausible wrong answers ------------

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
