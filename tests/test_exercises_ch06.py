"""Every Chapter 6 check accepts the notebook's solution and rejects stubs, plausible
wrong answers, and solutions that call torch or the dlmath routine being re-derived."""
import numpy as np
import pytest

from dlmath.exercises import ch06
from exercise_cases import Case, exercise_tests
from notebook_solutions import solutions

CH = "chapters/06_training_deep_networks/"
NB = {"layer_grads": CH + "01_vanishing_exploding_gradients.ipynb",
      "leaky_relu_std": CH + "02_initialization.ipynb",
      "ridge_map_towards": CH + "03_regularization.ipynb",
      "dropout_linear_moments": CH + "03_regularization.ipynb",
      "rms_norm_backward": CH + "04_normalization_and_clipping.ipynb"}


def solution(name):
    return solutions(NB[name])[name]


def stub(*args):
    raise NotImplementedError()


# ----------------------------------------------------------------- wrong answers
def _mlp_grads(Ws, X, y, activation, *, deriv=True, reverse=False, of_acts=False,
               mean=True, transpose=False):
    """Hand backprop with switchable mistakes (for the wrong answers of 6.1)."""
    phi = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
           "sigmoid": lambda z: 1 / (1 + np.exp(-z))}[activation]
    dphi = {"relu": lambda z: (z > 0) * 1.0, "tanh": lambda z: 1 - np.tanh(z) ** 2,
            "sigmoid": lambda z: phi(z) * (1 - phi(z))}[activation]
    Zs, As = [], [X]
    for i, W in enumerate(Ws):
        Zs.append(As[-1] @ W.T)
        if i < len(Ws) - 1:
            As.append(phi(Zs[-1]))
    P = np.exp(Zs[-1] - Zs[-1].max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    P[np.arange(len(y)), y] -= 1
    delta = P / len(y) if mean else P
    grads = []
    for l in range(len(Ws) - 1, -1, -1):
        dW = delta.T @ As[l]
        if of_acts:                                     # ∂L/∂A_(l-1), not ∂L/∂W
            dW = delta @ Ws[l]
        grads.append(dW.T if transpose and dW.shape[0] == dW.shape[1] else dW)
        if l > 0:
            delta = delta @ Ws[l] * (dphi(Zs[l - 1]) if deriv else 1.0)
    return grads if reverse else grads[::-1]


WRONG = {
    "layer_grads": [
        lambda Ws, X, y, a: _mlp_grads(Ws, X, y, a, deriv=False),     # forgets φ'
        lambda Ws, X, y, a: _mlp_grads(Ws, X, y, a, reverse=True),    # last layer first
        lambda Ws, X, y, a: _mlp_grads(Ws, X, y, a, of_acts=True),    # ∂L/∂A, not ∂L/∂W
        lambda Ws, X, y, a: _mlp_grads(Ws, X, y, a, mean=False),      # summed loss
        # A_(l-1)ᵀ Δ_l: right shape (and norm) on square layers, wrong values
        lambda Ws, X, y, a: _mlp_grads(Ws, X, y, a, transpose=True),
        # the old exercise's answer: the norms, not the gradients
        lambda Ws, X, y, a: np.array([np.linalg.norm(d)
                                      for d in _mlp_grads(Ws, X, y, a)]),
    ],
    "leaky_relu_std": [
        # ignores the slope
        lambda a, n: np.sqrt(2.0 / n),
        # slope not squared
        lambda a, n: np.sqrt(2.0 / ((1 + a) * n)),
        lambda a, n: np.sqrt(1.0 / ((1 + a * a) * n)),                # forgets the ½
        lambda a, n: np.sqrt((1 + a * a) / (2.0 * n)),                # inverted
    ],
    "ridge_map_towards": [
        # maximum likelihood
        lambda X, y, w0, s2, t2: np.linalg.lstsq(X, y, rcond=None)[0],
        lambda X, y, w0, s2, t2: _ridge(X, y, s2 / t2),                # ignores w0
        # shifts afterwards
        lambda X, y, w0, s2, t2: _ridge(X, y, s2 / t2) + w0,
        # ratio upside down
        lambda X, y, w0, s2, t2: _ridge(X, y, t2 / s2, w0),
        # forgets the noise
        lambda X, y, w0, s2, t2: _ridge(X, y, 1 / t2, w0),
    ],
    "dropout_linear_moments": [
        # non-inverted mean
        lambda x, W, p: np.stack([(1 - p) * W @ x,
                                  p / (1 - p) * (W * W) @ (x * x)]),
        # no 1/(1-p)²
        lambda x, W, p: np.stack([W @ x, p * (1 - p) * (W * W) @ (x * x)]),
        # one shared mask
        lambda x, W, p: np.stack([W @ x, p / (1 - p) * (W @ x) ** 2]),
        # |W| instead of W²
        lambda x, W, p: np.stack([W @ x, p / (1 - p) * np.abs(W) @ (x * x)]),
    ],
    "rms_norm_backward": [
        # treats r as a constant
        lambda x, w, dy, eps: w * dy / np.sqrt(np.mean(x * x, -1, keepdims=True) + eps),
        # layer norm's formula
        lambda x, w, dy, eps: _ln_like(x, w, dy, eps),
        lambda x, w, dy, eps: _rms_no_gamma(x, dy, eps),               # forgets γ
    ],
}


def _ridge(X, y, lam, w0=None):
    d = X.shape[1]
    rhs = X.T @ y + (0 if w0 is None else lam * w0)
    return np.linalg.solve(X.T @ X + lam * np.eye(d), rhs)


def _ln_like(x, w, dy, eps):
    r = np.sqrt(np.mean(x * x, -1, keepdims=True) + eps)
    xh, h = x / r, w * dy
    return (h - h.mean(-1, keepdims=True) - xh * np.mean(h * xh, -1, keepdims=True)) / r


def _rms_no_gamma(x, dy, eps):
    r = np.sqrt(np.mean(x * x, -1, keepdims=True) + eps)
    xh = x / r
    return (dy - xh * np.mean(dy * xh, -1, keepdims=True)) / r


def _torch_cheat(name):
    """A 'solution' that lets torch do the work."""
    import torch

    if name == "leaky_relu_std":
        return lambda a, n: torch.nn.init.calculate_gain("leaky_relu", a) / np.sqrt(n)
    if name == "rms_norm_backward":
        def f(x, w, dy, eps):
            xt = torch.tensor(x, requires_grad=True)
            y = torch.nn.functional.rms_norm(xt, (x.shape[-1],), torch.tensor(w), eps)
            return torch.autograd.grad(y, xt, torch.tensor(dy))[0].numpy()
        return f
    if name == "ridge_map_towards":
        return lambda X, y, w0, s2, t2: torch.linalg.solve(
            torch.tensor(X.T @ X + s2 / t2 * np.eye(X.shape[1])),
            torch.tensor(X.T @ y + s2 / t2 * w0)).numpy()
    return None


def _dlmath_cheat(name):
    """A 'solution' that calls the dlmath routine the exercise re-derives."""
    from dlmath import nn
    from dlmath.nn import init

    if name == "leaky_relu_std":
        return lambda a, n: init.calculate_gain("leaky_relu", a) / np.sqrt(n)
    if name == "ridge_map_towards":
        from dlmath.probability import bayesian_linear_regression

        return lambda X, y, w0, s2, t2: w0 + bayesian_linear_regression(
            # shift, then Ch. 3
            X, y - X @ w0, t2, s2).mean
    if name == "layer_grads":
        def f(Ws, X, y, activation):
            act = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[activation]
            layers = []
            for i, W in enumerate(Ws):
                lin = nn.Linear(W.shape[1], W.shape[0], bias=False)
                lin.params["weight"][...] = W
                layers += [lin, act()] if i < len(Ws) - 1 else [lin]
            model, loss = nn.Sequential(*layers), nn.CrossEntropyLoss()
            loss(model(X), y)
            model.backward(loss.backward())
            return [model.grads[f"{2 * i}.weight"] for i in range(len(Ws))]
        return f
    return None


NAMES = list(NB)


TABLE = [Case(getattr(ch06, f"check_{name}"), solution(name), wrong=WRONG[name])
         for name in NAMES]
(test_solution_passes, test_stub_fails, test_enough_wrong_answers,
 test_wrong_answer_fails, test_cheat_is_refused) = exercise_tests(TABLE)


@pytest.mark.parametrize("name", ["leaky_relu_std", "rms_norm_backward",
                                  "ridge_map_towards"])
def test_check_refuses_torch(name):
    with pytest.raises(AssertionError, match="by hand"):
        getattr(ch06, f"check_{name}")(_torch_cheat(name))


@pytest.mark.parametrize("name", ["leaky_relu_std", "layer_grads",
                                  "ridge_map_towards"])
def test_check_refuses_the_dlmath_routine(name):
    cheat = _dlmath_cheat(name)
    with pytest.raises(AssertionError, match="by hand"):
        getattr(ch06, f"check_{name}")(cheat)


def test_dlmath_cheat_would_otherwise_pass():
    """The refusal is what stops the dlmath cheat: its values are right."""
    import dlmath.exercises.ch06 as mod

    saved = mod._refuse
    mod._refuse = lambda *a, **k: None
    try:
        ch06.check_layer_grads(_dlmath_cheat("layer_grads"))
        ch06.check_leaky_relu_std(_torch_cheat("leaky_relu_std"))
        ch06.check_ridge_map_towards(_dlmath_cheat("ridge_map_towards"))
    finally:
        mod._refuse = saved


def test_failure_message_names_the_case_and_the_list_of_weights():
    with pytest.raises(AssertionError) as err:
        ch06.check_layer_grads(WRONG["layer_grads"][0])
    msg = str(err.value)
    assert "Exercise 6.1" in msg and "test case 1" in msg
    assert "[shape (7, 5), shape (4, 7)]" in msg  # the weights, described one by one
