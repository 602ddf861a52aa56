"""Every Chapter 2 check passes a correct solution and rejects wrong ones and stubs."""
import numpy as np
import pytest

from dlmath.autodiff import Tensor, unbroadcast
from dlmath.exercises import ch02


def stub(*args):
    raise NotImplementedError()


# --- correct solutions (the same as in the notebooks) ------------------------------
def softmax_jacobian(z):
    p = np.exp(z - z.max())
    p /= p.sum()
    return np.diag(p) - np.outer(p, p)


def grad_least_squares(A, x, b):
    return 2 * A.T @ (A @ x - b)


def grad_W_tanh_layer(X, W, b):
    G = 1 - np.tanh(X @ W.T + b) ** 2
    return G.T @ X


def five_point_derivative(f, x, h):
    return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h)


def maximum(a, b):
    def backward(g):
        return unbroadcast(g * (a.data > b.data), a.shape), unbroadcast(
            g * (a.data < b.data), b.shape
        )

    return Tensor.from_op(np.maximum(a.data, b.data), (a, b), backward, "maximum")


def softplus(a):
    x = a.data
    e = np.exp(-np.abs(x))
    sig = np.where(x >= 0, 1 / (1 + e), e / (1 + e))

    def backward(g):
        return (g * sig,)
    return Tensor.from_op(np.maximum(x, 0) + np.log1p(e), (a,), backward, "softplus")


# --- wrong solutions: each a plausible mistake ----------------------------------------
def softmax_jacobian_naive(z):  # overflows for large z
    with np.errstate(over="ignore", invalid="ignore"):
        p = np.exp(z) / np.exp(z).sum()
    return np.diag(p) - np.outer(p, p)


def softmax_jacobian_no_diag(z):
    p = np.exp(z - z.max())
    p /= p.sum()
    return -np.outer(p, p)


def grad_least_squares_no_two(A, x, b):
    return A.T @ (A @ x - b)


def grad_W_tanh_layer_transposed(X, W, b):
    return X.T @ (1 - np.tanh(X @ W.T + b) ** 2)


def grad_W_tanh_layer_forgets_tanh(X, W, b):
    return np.ones((X.shape[0], W.shape[0])).T @ X


def central_difference(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


def maximum_no_unbroadcast(a, b):
    def backward(g):
        return g * (a.data > b.data), g * (a.data < b.data)
    return Tensor.from_op(np.maximum(a.data, b.data), (a, b), backward, "maximum")


def maximum_swapped_backward(a, b):
    def backward(g):
        return unbroadcast(g * (a.data < b.data), a.shape), unbroadcast(
            g * (a.data > b.data), b.shape
        )

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


CHECKS = [
    (
        ch02.check_softmax_jacobian,
        softmax_jacobian,
        [softmax_jacobian_naive, softmax_jacobian_no_diag],
    ),
    (ch02.check_grad_least_squares, grad_least_squares, [grad_least_squares_no_two]),
    (
        ch02.check_grad_W_tanh_layer,
        grad_W_tanh_layer,
        [grad_W_tanh_layer_transposed, grad_W_tanh_layer_forgets_tanh],
    ),
    (ch02.check_five_point_derivative, five_point_derivative, [central_difference]),
    (
        ch02.check_maximum,
        maximum,
        [
            maximum_no_unbroadcast,
            maximum_swapped_backward,
            maximum_numpy_only,
            maximum_detached,
        ],
    ),
    (ch02.check_softplus, softplus, [softplus_naive, softplus_wrong_backward]),
]


@pytest.mark.parametrize("check,solution", [(c, s) for c, s, _ in CHECKS],
                         ids=lambda x: getattr(x, "__name__", ""))
def test_correct_solution_passes(check, solution, capsys):
    check(solution)
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("check,wrong", [(c, w) for c, _, ws in CHECKS for w in ws],
                         ids=lambda x: getattr(x, "__name__", ""))
def test_wrong_solution_fails(check, wrong):
    with (
        np.errstate(all="ignore"),
        pytest.raises(AssertionError, match="Exercise 2\\.\\d"),
    ):
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
    with pytest.raises(
        AssertionError,
        match=r"backward failed .* shape \(2, 3\) for an input of shape \(3,\)",
    ):
        ch02.check_maximum(maximum_no_unbroadcast)
    with pytest.raises(AssertionError, match="wrong forward"):
        ch02.check_softplus(softplus_naive)
