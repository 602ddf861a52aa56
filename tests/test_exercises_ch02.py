"""Every Chapter 2 check accepts the notebook's solution (visible and hidden cases)
and rejects stubs and plausible wrong answers; solutions come from the notebooks."""
import numpy as np
import pytest

from dlmath.autodiff import Tensor, unbroadcast
from dlmath.exercises import ch02
from tests.notebook_solutions import check_calls, solutions

NB = {name: path for path, names in {
    "chapters/02_calculus_autodiff/01_derivatives_gradients_jacobians.ipynb":
        ["log_softmax_jacobian", "grad_least_squares"],
    "chapters/02_calculus_autodiff/02_chain_rule_and_modes.ipynb":
        ["grad_W_tanh_layer"],
    "chapters/02_calculus_autodiff/03_gradient_checking.ipynb":
        ["five_point_derivative"],
    "chapters/02_calculus_autodiff/04_autodiff_engine.ipynb": ["maximum", "softplus"],
}.items() for name in names}
PART_I = sorted(set(NB.values())) + [
    "chapters/02_calculus_autodiff/05_matrix_calculus.ipynb"]


def stub(*args):
    raise NotImplementedError()


def sol(name):
    return solutions(NB[name])[name]


# --- wrong solutions: each a plausible mistake -----------------------------------
def _softmax(z):
    p = np.exp(z - z.max())
    return p / p.sum()


def log_softmax_jacobian_naive(z):  # overflows for large z
    with np.errstate(over="ignore", invalid="ignore"):
        p = np.exp(z) / np.exp(z).sum()
    return np.eye(len(z)) - p[None, :]


def log_softmax_jacobian_transposed(z):  # δ_ij - p_i: rows and columns swapped
    return np.eye(len(z)) - _softmax(z)[:, None]


def log_softmax_jacobian_is_softmax_jacobian(z):  # the Jacobian of softmax instead
    p = _softmax(z)
    return np.diag(p) - np.outer(p, p)


def log_softmax_jacobian_imported(z):  # softmax's Jacobian divided by p: not by hand
    from dlmath.functional import softmax_jacobian
    return softmax_jacobian(z) / _softmax(z)[:, None]


def grad_least_squares_no_two(A, x, b):
    return A.T @ (A @ x - b)


def grad_least_squares_expanded_wrong(A, x, b):  # expands, but forgets Aᵀ on b
    return 2 * A.T @ A @ x - 2 * b


def grad_least_squares_residual_sign(A, x, b):
    return 2 * A.T @ (b - A @ x)


def grad_W_tanh_layer_transposed(X, W, b):
    return X.T @ (1 - np.tanh(X @ W.T + b) ** 2)


def grad_W_tanh_layer_forgets_tanh(X, W, b):
    return np.ones((X.shape[0], W.shape[0])).T @ X


def grad_W_tanh_layer_sech_wrong(X, W, b):  # uses 1 - tanh instead of 1 - tanh²
    return (1 - np.tanh(X @ W.T + b)).T @ X


def central_difference(f, x, h):  # second order only
    return (f(x + h) - f(x - h)) / (2 * h)


def central_difference_own_h(f, x, h):  # ignores h: accurate, but not fourth order
    return (f(x + 1e-5) - f(x - 1e-5)) / 2e-5


def five_point_own_h(f, x, h):  # the right stencil with its own tiny h
    h = 1e-3
    return (8 * (f(x + h) - f(x - h)) - (f(x + 2 * h) - f(x - 2 * h))) / (12 * h)


def five_point_wrong_weights(f, x, h):  # weights that cancel the wrong term
    return (4 * (f(x + h) - f(x - h)) - (f(x + 2 * h) - f(x - 2 * h))) / (4 * h)


def maximum_no_unbroadcast(a, b):
    def backward(g):
        return g * (a.data > b.data), g * (a.data < b.data)
    return Tensor.from_op(np.maximum(a.data, b.data), (a, b), backward, "maximum")


def maximum_swapped_backward(a, b):
    def backward(g):
        return (unbroadcast(g * (a.data < b.data), a.shape),
                unbroadcast(g * (a.data > b.data), b.shape))
    return Tensor.from_op(np.maximum(a.data, b.data), (a, b), backward, "maximum")


def maximum_numpy_only(a, b):
    return np.maximum(a.data, b.data)


def maximum_detached(a, b):
    return Tensor(np.maximum(a.data, b.data))


def softplus_naive(a):
    with np.errstate(over="ignore"):
        out = np.log(1 + np.exp(a.data))
    return Tensor.from_op(out, (a,), lambda g: (g / (1 + np.exp(-a.data)),), "softplus")


def softplus_wrong_backward(a):
    x = a.data
    out = np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))
    return Tensor.from_op(out, (a,), lambda g: (g * out,), "softplus")


def softplus_unstable_backward(a):  # stable forward, but e^x / (1 + e^x) overflows
    x = a.data
    out = np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))
    with np.errstate(over="ignore", invalid="ignore"):
        sig = np.exp(x) / (1 + np.exp(x))
    return Tensor.from_op(out, (a,), lambda g: (g * sig,), "softplus")


CHECKS = [
    (ch02.check_log_softmax_jacobian, "log_softmax_jacobian",
     [log_softmax_jacobian_naive, log_softmax_jacobian_transposed,
      log_softmax_jacobian_is_softmax_jacobian, log_softmax_jacobian_imported]),
    (ch02.check_grad_least_squares, "grad_least_squares",
     [grad_least_squares_no_two, grad_least_squares_expanded_wrong,
      grad_least_squares_residual_sign]),
    (ch02.check_grad_W_tanh_layer, "grad_W_tanh_layer",
     [grad_W_tanh_layer_transposed, grad_W_tanh_layer_forgets_tanh,
      grad_W_tanh_layer_sech_wrong]),
    (ch02.check_five_point_derivative, "five_point_derivative",
     [central_difference, central_difference_own_h, five_point_own_h,
      five_point_wrong_weights]),
    (ch02.check_maximum, "maximum", [maximum_no_unbroadcast, maximum_swapped_backward,
                                     maximum_numpy_only, maximum_detached]),
    (ch02.check_softplus, "softplus", [softplus_naive, softplus_wrong_backward,
                                       softplus_unstable_backward]),
]


@pytest.mark.parametrize("check,name", [(c, n) for c, n, _ in CHECKS],
                         ids=lambda x: getattr(x, "__name__", x))
def test_notebook_solution_passes(check, name, capsys):
    check(sol(name))
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("check,wrong", [(c, w) for c, _, ws in CHECKS for w in ws],
                         ids=lambda x: getattr(x, "__name__", ""))
def test_wrong_solution_fails(check, wrong):
    with np.errstate(all="ignore"), \
            pytest.raises(AssertionError, match=r"Exercise 2\.\d"):
        check(wrong)


@pytest.mark.parametrize("check", [c for c, _, _ in CHECKS], ids=lambda x: x.__name__)
def test_stub_is_not_attempted(check):
    with pytest.raises(AssertionError, match="not attempted"):
        check(stub)


def test_wrong_messages_say_what_is_wrong():
    with pytest.raises(AssertionError, match="must return a dlmath Tensor"):
        ch02.check_maximum(maximum_numpy_only)
    with pytest.raises(AssertionError, match="not connected"):
        ch02.check_maximum(maximum_detached)
    with pytest.raises(AssertionError, match="wrong backward"):
        ch02.check_maximum(maximum_swapped_backward)
    with pytest.raises(AssertionError, match=r"backward failed .* shape \(2, 3\) "
                                             r"for an input of shape \(3,\)"):
        ch02.check_maximum(maximum_no_unbroadcast)
    with pytest.raises(AssertionError, match="wrong forward"):
        ch02.check_softplus(softplus_naive)
    with pytest.raises(AssertionError, match="done by hand.*softmax_jacobian"):
        ch02.check_log_softmax_jacobian(log_softmax_jacobian_imported)
    with pytest.raises(AssertionError, match=r"divides the error by 1\.0.*about 2⁴"):
        ch02.check_five_point_derivative(central_difference_own_h)
    with pytest.raises(AssertionError, match=r"f = sin at h = 1e-2"):
        ch02.check_five_point_derivative(central_difference)


@pytest.mark.parametrize("path", PART_I)
def test_every_visible_and_hidden_call_accepts_the_notebook_solution(path, capsys):
    calls = check_calls(path)
    assert any(seed is not None for *_, seed in calls), "no hidden cases"
    for _, check, fn, seed in calls:
        kw = {} if seed is None else {"seed": seed}
        getattr(ch02, check)(solutions(path)[fn], **kw)
    # one ✓ line per visible call: a passing hidden call prints nothing
    assert capsys.readouterr().out.count("✓") == sum(seed is None for *_, seed in calls)


# --- notebook 2.5: solutions from the notebook, plausible wrong answers ------------
NB25 = "chapters/02_calculus_autodiff/05_matrix_calculus.ipynb"


def _softmax_rows(Z):
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    return P / P.sum(axis=1, keepdims=True)


def _sigma_grad(L, S):
    Si = np.linalg.inv(L @ L.T)
    return Si - Si @ S @ Si


def chol_grad_forgets_chain(L, S):  # the gradient in Σ, as if L were Σ
    return _sigma_grad(L, S)


def chol_grad_forgets_two(L, S):  # one of the two terms of d(L Lᵀ)
    return _sigma_grad(L, S) @ L


def chol_grad_wrong_side(L, S):  # L on the left of the Σ-gradient
    return 2 * L @ _sigma_grad(L, S)


def chol_grad_old_answer_through_l(L, S):  # the Σ-gradient evaluated at L itself
    Li = np.linalg.inv(L)
    return 2 * (Li - Li @ S @ Li) @ L


def hvp_no_softmax_coupling(W, X, y, V):  # forgets -p pᵀ in the softmax Jacobian
    P = _softmax_rows(X @ W.T)
    return (P * (X @ V.T)).T @ X / len(X)


def hvp_forgets_mean(W, X, y, V):
    P = _softmax_rows(X @ W.T)
    dZ = X @ V.T
    return (P * (dZ - np.sum(P * dZ, axis=1, keepdims=True))).T @ X


def hvp_finite_difference(W, X, y, V, h=1e-4):  # forward difference of the gradient
    Y = np.eye(W.shape[0])[y]

    def grad(W_):
        return (_softmax_rows(X @ W_.T) - Y).T @ X / len(X)
    return (grad(W + h * V) - grad(W)) / h


def _fd_hvp(W, X, y, V, h, stencil):
    Y = np.eye(W.shape[0])[y]

    def grad(W_):
        return (_softmax_rows(X @ W_.T) - Y).T @ X / len(X)
    if stencil == 2:
        return (grad(W + h * V) - grad(W - h * V)) / (2 * h)
    return (-grad(W + 2 * h * V) + 8 * grad(W + h * V) - 8 * grad(W - h * V)
            + grad(W - 2 * h * V)) / (12 * h)


def hvp_central_difference(W, X, y, V):  # the best central step (notebook 2.5 §4)
    return _fd_hvp(W, X, y, V, 3e-6, 2)


def hvp_five_point_1e4(W, X, y, V):  # a 4th-order stencil (Exercise 2.2's)
    return _fd_hvp(W, X, y, V, 1e-4, 5)


def hvp_five_point_1e3(W, X, y, V):
    return _fd_hvp(W, X, y, V, 1e-3, 5)


def hvp_transposed(W, X, y, V):  # dZ = V Xᵀ read as X V, then a wrong transpose
    P = _softmax_rows(X @ W.T)
    dZ = X @ V.T
    dP = P * (dZ - np.sum(P * dZ, axis=1, keepdims=True))
    return (X.T @ dP).T[::-1] / len(X)


NB25_CHECKS = [
    (ch02.check_grad_gaussian_chol, "grad_gaussian_chol",
     [chol_grad_forgets_chain, chol_grad_forgets_two, chol_grad_wrong_side,
      chol_grad_old_answer_through_l]),
    (ch02.check_hvp_softmax_regression, "hvp_softmax_regression",
     [hvp_no_softmax_coupling, hvp_forgets_mean, hvp_finite_difference,
      hvp_transposed, hvp_central_difference, hvp_five_point_1e4, hvp_five_point_1e3]),
]


@pytest.mark.parametrize("check,name", [(c, n) for c, n, _ in NB25_CHECKS],
                         ids=lambda x: getattr(x, "__name__", x))
def test_nb25_notebook_solution_passes(check, name, capsys):
    check(solutions(NB25)[name])
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("check,wrong", [(c, w) for c, _, ws in NB25_CHECKS
                                         for w in ws],
                         ids=lambda x: getattr(x, "__name__", ""))
def test_nb25_wrong_answer_fails(check, wrong):
    with np.errstate(all="ignore"), \
            pytest.raises(AssertionError, match=r"Exercise 2\.[78]"):
        check(wrong)


@pytest.mark.parametrize("check", [c for c, _, _ in NB25_CHECKS],
                         ids=lambda x: x.__name__)
def test_nb25_stub_is_not_attempted(check):
    with pytest.raises(AssertionError, match="not attempted"):
        check(stub)


def test_nb25_refuses_torch():
    def chol_grad_autograd(L, S):
        import torch
        Lt = torch.tensor(L, requires_grad=True)
        Sig = Lt @ Lt.T
        f = torch.logdet(Sig) + torch.trace(torch.linalg.solve(Sig, torch.tensor(S)))
        f.backward()
        return Lt.grad.numpy()

    with pytest.raises(AssertionError, match="done by hand.*torch"):
        ch02.check_grad_gaussian_chol(chol_grad_autograd)


@pytest.mark.parametrize("stub_result", [
    lambda f, x, h: f, lambda f, x, h: "f'", lambda f, x, h: np.zeros(3),
    lambda f, x, h: [[1, 2], [3]]], ids=["first-argument", "string", "shape", "ragged"])
def test_five_point_check_says_what_it_expected(stub_result):
    # these crashed with a numpy TypeError/ValueError before (issue 19)
    with pytest.raises(AssertionError, match="Exercise 2.4.*expected"):
        ch02.check_five_point_derivative(stub_result)
