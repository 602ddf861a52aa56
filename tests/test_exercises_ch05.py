"""Every Chapter 5 check accepts the notebook's solution and rejects stubs, wrong
answers and solutions that call torch or the dlmath layers they re-derive."""
import numpy as np
import pytest
import torch

from dlmath import functional as F
from dlmath import nn
from dlmath.exercises import ch05
from exercise_cases import Case, exercise_tests
from notebook_solutions import solutions

NB = "chapters/05_feedforward_networks/"
SOL = {**solutions(NB + "01_perceptron_to_hidden_layers.ipynb"),
       **solutions(NB + "02_activations_universal_approximation.ipynb"),
       **solutions(NB + "03_backpropagation.ipynb"),
       **solutions(NB + "04_training_mlps.ipynb")}


def _sig(z):
    return 1 / (1 + np.exp(-z))


def _silu_with(deriv):
    """A silu_vjp whose forward is right and whose derivative is ``deriv(z, s)``."""
    def silu_vjp(z):
        s = _sig(z)
        return z * s, lambda dy: (dy * deriv(z, s),)
    return silu_vjp


def _bound(aug_R=True, normalize=True, square=True, reduce=np.min):
    def perceptron_bound(X, y, w, b):
        Xa = np.hstack([X, np.ones((len(X), 1))])
        wa = np.append(w, b)
        R = np.linalg.norm(Xa if aug_R else X, axis=1).max()
        gamma = reduce(y * (Xa @ wa)) / (np.linalg.norm(wa) if normalize else 1.0)
        return (R / gamma) ** (2 if square else 1)
    return perceptron_bound


def _residual(skip=True, mask=True, mean_b2=False, transpose_dW1=False,
              at_zero=False):
    def residual_block_vjp(x, W1, b1, W2, b2):
        z = x @ W1.T + b1
        a = np.maximum(z, 0)
        y = x + a @ W2.T + b2

        def vjp(dy):
            on = (z >= 0) if at_zero else (z > 0)           # relu'(0): torch says 0
            dz = (dy @ W2) * (on if mask else 1.0)
            dW1 = x.T @ dz if transpose_dW1 else dz.T @ x
            db2 = dy.mean(axis=0) if mean_b2 else dy.sum(axis=0)
            dx = dz @ W1 + (dy if skip else 0.0)
            return dx, dW1, dz.sum(axis=0), dy.T @ a, db2
        return y, vjp
    return residual_block_vjp


def _tied(enc=True, dec=True, prime_of_z=False, sigma_prime=True):
    def tied_autoencoder_vjp(x, W, b, c):
        z = x @ W.T + b
        h = _sig(z)
        y = h @ W + c

        def vjp(dy):
            s = z if prime_of_z else h
            dz = (dy @ W.T) * (s * (1 - s) if sigma_prime else 1.0)
            dW = np.zeros_like(W)
            if dec:
                dW = dW + h.T @ dy
            if enc:
                dW = dW + dz.T @ x
            return dz @ W, dW, dz.sum(axis=0), dy.sum(axis=0)
        return y, vjp
    return tied_autoencoder_vjp


def _norm(x):
    return np.linalg.norm(x, axis=1)


WRONG = {
    "check_silu_vjp": [
        _silu_with(lambda z, s: s),                          # forgot the product rule
        _silu_with(lambda z, s: (z * s) * (1 - z * s)),      # σ's y(1-y) on silu's y
        _silu_with(lambda z, s: z * s * (1 - s)),            # forgot the σ(z) term
        _silu_with(lambda z, s: s + z * s),                  # forgot (1 - σ)
    ],
    "check_perceptron_bound": [
        _bound(normalize=False),                             # w not made a unit vector
        _bound(aug_R=False),                                 # R without the constant 1
        _bound(square=False),                                # R/γ, not (R/γ)²
        _bound(reduce=np.mean),                              # mean margin, not the min
    ],
    "check_residual_block_vjp": [
        _residual(skip=False),                               # lost the skip path in dx
        _residual(mask=False),                               # no ReLU mask
        _residual(mean_b2=True),                             # mean over batch, not sum
        _residual(transpose_dW1=True),                       # dW1 transposed
        _residual(at_zero=True),                             # relu'(0) taken as 1
    ],
    "check_tied_autoencoder_vjp": [
        _tied(enc=False),                                    # only the decoder's use
        _tied(dec=False),                                    # only the encoder's use
        _tied(prime_of_z=True),                              # σ(1-σ) taken at z
        _tied(sigma_prime=False),                            # skipped σ'
    ],
    "check_per_example_grad_norms": [
        lambda x, dy: _norm(dy) * _norm(x),                  # forgot the bias
        lambda x, dy: _norm(dy) ** 2 * (_norm(x) ** 2 + 1),  # squared norms
        lambda x, dy: _norm(dy) + _norm(x),                  # sum instead of product
        lambda x, dy: np.full(len(x), np.sqrt(np.sum((dy.T @ x) ** 2)     # the batch's
                                              + np.sum(dy.sum(0) ** 2))),  # gradient
    ],
}

CHECKS = {  # check name: name of the notebook's solution
    "check_perceptron_bound": "perceptron_bound",
    "check_silu_vjp": "silu_vjp",
    "check_residual_block_vjp": "residual_block_vjp",
    "check_tied_autoencoder_vjp": "tied_autoencoder_vjp",
    "check_per_example_grad_norms": "per_example_grad_norms",
}


TABLE = [Case(getattr(ch05, check), SOL[name], wrong=WRONG[check])
         for check, name in CHECKS.items()]
(test_solution_passes, test_stub_fails, test_enough_wrong_answers,
 test_wrong_answer_fails, test_cheat_is_refused) = exercise_tests(TABLE)


def test_vjp_checks_reject_a_stubbed_vjp_and_a_bare_output():
    def half_done(z):
        def vjp(dy):
            raise NotImplementedError()
        return z * _sig(z), vjp

    with pytest.raises(AssertionError, match="not attempted"):
        ch05.check_silu_vjp(half_done)
    with pytest.raises(AssertionError, match="pair"):
        ch05.check_silu_vjp(lambda z: z * _sig(z))
    with pytest.raises(AssertionError, match="gradient"):
        ch05.check_residual_block_vjp(lambda x, *p: (x, lambda dy: (dy,)))


# ------------------------------------------------------------ "by hand" is enforced
def silu_with_torch(z):
    zt = torch.tensor(z, requires_grad=True)
    y = torch.nn.functional.silu(zt)
    def vjp(dy):
        return (torch.autograd.grad(y, zt, torch.tensor(dy))[0].numpy(),)
    return y.detach().numpy(), vjp


def silu_with_dlmath(z):
    y, vjp = F.sigmoid_vjp(z)
    return z * y, lambda dy: (dy * (y + z * y * (1 - y)),)


def _torch_norms(x, dy):
    return torch.linalg.vector_norm(torch.tensor(dy), dim=1).numpy() * np.sqrt(
        np.sum(x * x, axis=1) + 1)


def norms_via_helper(x, dy):          # torch hidden in a helper function
    return _torch_norms(x, dy)


def residual_with_layers(x, W1, b1, W2, b2):
    lin1 = nn.Linear(W1.shape[1], W1.shape[0])
    lin2 = nn.Linear(W2.shape[1], W2.shape[0])
    lin1.load_state_dict({"weight": W1, "bias": b1})
    lin2.load_state_dict({"weight": W2, "bias": b2})
    relu = nn.ReLU()
    y = x + lin2(relu(lin1(x)))

    def vjp(dy):
        dx = lin1.backward(relu.backward(lin2.backward(dy)))
        return (dx + dy, lin1.grads["weight"], lin1.grads["bias"], lin2.grads["weight"],
                lin2.grads["bias"])
    return y, vjp


def residual_with_linear_vjp(x, W1, b1, W2, b2):
    z, v1 = F.linear_vjp(x, W1, b1)
    a = np.maximum(z, 0)
    out, v2 = F.linear_vjp(a, W2, b2)

    def vjp(dy):
        da, dW2, db2 = v2(dy)
        dx, dW1, db1 = v1(da * (z > 0))
        return dx + dy, dW1, db1, dW2, db2
    return x + out, vjp


def norms_importing_torch(x, dy):     # torch imported inside the function
    import torch as th
    return th.linalg.vector_norm(th.tensor(dy), dim=1).numpy() * np.sqrt(
        np.sum(x * x, axis=1) + 1)


@pytest.mark.parametrize("check, fn, what", [
    ("check_per_example_grad_norms", norms_importing_torch, "torch"),
    ("check_silu_vjp", silu_with_torch, "torch"),
    ("check_silu_vjp", silu_with_dlmath, "dlmath.functional"),
    ("check_per_example_grad_norms", norms_via_helper, "torch"),
    ("check_residual_block_vjp", residual_with_layers, "dlmath.nn"),
    ("check_residual_block_vjp", residual_with_linear_vjp, "dlmath.functional"),
])
def test_by_hand_checks_refuse_the_library(check, fn, what):
    with pytest.raises(AssertionError, match=f"done by hand.*{what}"):
        getattr(ch05, check)(fn)


def test_library_solutions_would_otherwise_be_right():
    """The refused solutions are correct: the refusal, not a wrong value, stops them."""
    from dlmath.exercises.ch05 import _refuse_library

    _refuse_library(SOL["residual_block_vjp"], "t", "x")       # the solution passes
    for fn in (residual_with_layers, residual_with_linear_vjp):
        x, W1, b1 = np.ones((2, 3)), np.eye(3), np.zeros(3)
        y, vjp = fn(x, W1, b1, np.eye(3), np.zeros(3))
        ref, ref_vjp = SOL["residual_block_vjp"](x, W1, b1, np.eye(3), np.zeros(3))
        np.testing.assert_allclose(y, ref)
        for a, b in zip(vjp(np.ones((2, 3))), ref_vjp(np.ones((2, 3)))):
            np.testing.assert_allclose(a, b)
