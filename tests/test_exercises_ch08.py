"""Every Chapter 8 check accepts the notebook's solution, rejects stubs and mistakes.

Reference solutions come from the notebooks' solution cells
(tests/notebook_solutions.py); each check is tried against at least three
plausible mistakes.
"""
import numpy as np
import pytest

from dlmath.exercises import ch08
from tests.exercise_cases import Case, exercise_tests
from tests.notebook_solutions import solutions

NB = "chapters/08_recurrent_networks/"
SOL = {**solutions(NB + "01_rnn_and_bptt.ipynb"),
       **solutions(NB + "02_lstm_and_gru.ipynb"),
       **solutions(NB + "03_memory_and_forecasting.ipynb"),
       **solutions(NB + "04_char_language_model.ipynb")}


def sig(a):
    return 1 / (1 + np.exp(-a))


# ----------------------------------------------------------------- 8.1 truncated BPTT
def _states(x, h0, W_ih, W_hh, b):
    hs = [h0]
    for t in range(x.shape[1]):
        hs.append(np.tanh(x[:, t] @ W_ih.T + hs[-1] @ W_hh.T + b))
    return hs


def _chunked(x, h0, W_ih, W_hh, b, dhs, k, *, carry=True, cut=True, tanh=True):
    """Chunked truncated BPTT with switchable mistakes (wrong answers of 8.1)."""
    hs, T = _states(x, h0, W_ih, W_hh, b), x.shape[1]
    if not carry:                         # every chunk restarts from h0: new states
        hs = [h0]
        for start in range(0, T, k):
            h = h0
            for t in range(start, min(start + k, T)):
                h = np.tanh(x[:, t] @ W_ih.T + h @ W_hh.T + b)
                hs.append(h)
    starts = list(range(0, T, k))
    dW = np.zeros_like(W_hh)
    for start in (starts if cut else [0]):
        end = min(start + k, T) if cut else T
        g_next = np.zeros_like(h0)
        for t in range(end, start, -1):               # h_t for t = end..start+1
            g_t = dhs[:, t - 1] + g_next
            d = g_t * (1 - hs[t] ** 2) if tanh else g_t
            prev = hs[t - 1] if (carry or t - 1 != start) else h0
            dW += d.T @ prev
            g_next = d @ W_hh
    return dW


def tbptt_full(x, h0, W_ih, W_hh, b, dhs, k):           # never cuts: full BPTT
    return _chunked(x, h0, W_ih, W_hh, b, dhs, k, cut=False)


def tbptt_reset_state(x, h0, W_ih, W_hh, b, dhs, k):    # independent windows
    return _chunked(x, h0, W_ih, W_hh, b, dhs, k, carry=False)


def tbptt_no_tanh(x, h0, W_ih, W_hh, b, dhs, k):        # forgets tanh'
    return _chunked(x, h0, W_ih, W_hh, b, dhs, k, tanh=False)


def tbptt_last_chunk_only(x, h0, W_ih, W_hh, b, dhs, k):  # drops earlier chunks
    T = x.shape[1]
    last = ((T - 1) // k) * k
    masked = dhs.copy()
    masked[:, :last] = 0
    return _chunked(x, h0, W_ih, W_hh, b, masked, k)


# ----------------------------------------------------------------- 8.2 clipping
def clip_per_tensor(grads, max_norm):
    return [a * min(1.0, max_norm / (np.linalg.norm(a) + 1e-6)) for a in grads]


def clip_always(grads, max_norm):
    total = np.sqrt(sum((a ** 2).sum() for a in grads))
    return [a * max_norm / (total + 1e-6) for a in grads]


def clip_max_abs(grads, max_norm):
    total = max(np.abs(a).max() for a in grads)
    return [a * min(1.0, max_norm / (total + 1e-6)) for a in grads]


# ----------------------------------------------------------------- 8.3 GRU through z
def _gru_parts(x, h, W_ih, W_hh, b_ih, b_hh):
    H = h.shape[1]
    u, v = x @ W_ih.T + b_ih, h @ W_hh.T + b_hh
    r = sig(u[:, :H] + v[:, :H])
    z = sig(u[:, H:2 * H] + v[:, H:2 * H])
    n = np.tanh(u[:, 2 * H:] + r * v[:, 2 * H:])
    return r, z, n


def gru_z_no_sigmoid(x, h, W_ih, W_hh, b_ih, b_hh, dh):
    r, z, n = _gru_parts(x, h, W_ih, W_hh, b_ih, b_hh)
    return dh * (h - n)


def gru_z_sign(x, h, W_ih, W_hh, b_ih, b_hh, dh):   # h_t = z n + (1 - z) h convention
    r, z, n = _gru_parts(x, h, W_ih, W_hh, b_ih, b_hh)
    return dh * (n - h) * z * (1 - z)


def gru_z_reset_outside(x, h, W_ih, W_hh, b_ih, b_hh, dh):  # r before adding b_hn
    H = h.shape[1]
    u, v = x @ W_ih.T + b_ih, h @ W_hh.T + b_hh
    r = sig(u[:, :H] + v[:, :H])
    z = sig(u[:, H:2 * H] + v[:, H:2 * H])
    n = np.tanh(u[:, 2 * H:] + r * (h @ W_hh[2 * H:].T) + b_hh[2 * H:])
    return dh * (h - n) * z * (1 - z)


def gru_z_wrong_order(x, h, W_ih, W_hh, b_ih, b_hh, dh):   # gates read as z, r, n
    H = h.shape[1]
    u, v = x @ W_ih.T + b_ih, h @ W_hh.T + b_hh
    z = sig(u[:, :H] + v[:, :H])
    r = sig(u[:, H:2 * H] + v[:, H:2 * H])
    n = np.tanh(u[:, 2 * H:] + r * v[:, 2 * H:])
    return dh * (h - n) * z * (1 - z)


# ----------------------------------------------------------------- 8.4 LSTM Jacobian
def lstm_jac_cell_only(x, h, c, W_ih, W_hh, b_ih, b_hh):   # ignores the paths through h
    J = SOL["lstm_step_jacobian"](x, h, c, W_ih, W_hh, b_ih, b_hh)
    H = len(h)
    J[:, :H] = 0
    return J


def lstm_jac_transposed(x, h, c, W_ih, W_hh, b_ih, b_hh):
    return SOL["lstm_step_jacobian"](x, h, c, W_ih, W_hh, b_ih, b_hh).T


def lstm_jac_wrong_order(x, h, c, W_ih, W_hh, b_ih, b_hh):  # gates read as i, f, o, g
    H = len(h)
    perm = np.r_[0:2 * H, 3 * H:4 * H, 2 * H:3 * H]
    return SOL["lstm_step_jacobian"](x, h, c, W_ih[perm], W_hh[perm], b_ih[perm],
                                     b_hh[perm])


def lstm_jac_no_dc_of_tanh(x, h, c, W_ih, W_hh, b_ih, b_hh):  # dh/dc = dc/dc
    J = SOL["lstm_step_jacobian"](x, h, c, W_ih, W_hh, b_ih, b_hh)
    H = len(h)
    J[:H, H:] = J[H:, H:]
    return J


# ----------------------------------------------------------------- 8.5 AR forecast
def ar_no_intercept(series, p, steps):
    L = len(series)
    X = np.stack([series[p - k - 1:L - k - 1] for k in range(p)], axis=1)
    w = np.linalg.lstsq(X, series[p:], rcond=None)[0]
    lags, out = list(series[::-1][:p]), []
    for _ in range(steps):
        out.append(float(np.dot(w, lags[:p])))
        lags.insert(0, out[-1])
    return np.array(out)


def ar_not_recursive(series, p, steps):                 # repeats the one-step forecast
    one = SOL["ar_forecast"](series, p, 1)
    return np.repeat(one, steps)


def ar_lags_reversed_in_forecast(series, p, steps):     # fit lags 1..p, feed p..1
    L = len(series)
    X = np.stack([series[p - k - 1:L - k - 1] for k in range(p)] + [np.ones(L - p)],
                 axis=1)
    coef = np.linalg.lstsq(X, series[p:], rcond=None)[0]
    hist, out = list(series[-p:]), []                   # oldest first: the wrong order
    for _ in range(steps):
        out.append(float(np.dot(coef[:p], hist[-p:]) + coef[p]))
        hist.append(out[-1])
    return np.array(out)


# ----------------------------------------------------------------- 8.6 sampling
def sample_times_t(logits, temperature, u):
    return SOL["sample_with_temperature"](logits * temperature, 1.0, u)


def sample_no_temperature(logits, temperature, u):
    return SOL["sample_with_temperature"](logits, 1.0, u)


def sample_argmax(logits, temperature, u):
    return logits.argmax(axis=1)


def sample_no_clamp(logits, temperature, u):     # index V when u > cdf[-1]
    z = logits / temperature
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return (np.cumsum(p, axis=1) <= u[:, None]).sum(axis=1)


def sample_off_by_one(logits, temperature, u):
    return np.maximum(SOL["sample_with_temperature"](logits, temperature, u) - 1, 0)


CASES = [
    (ch08.check_truncated_bptt, "truncated_bptt",
     [tbptt_full, tbptt_reset_state, tbptt_no_tanh, tbptt_last_chunk_only]),
    (ch08.check_clip_grad_norm, "clip_grad_norm",
     [clip_per_tensor, clip_always, clip_max_abs]),
    (ch08.check_gru_grad_z, "gru_grad_z",
     [gru_z_no_sigmoid, gru_z_sign, gru_z_reset_outside, gru_z_wrong_order]),
    (ch08.check_lstm_step_jacobian, "lstm_step_jacobian",
     [lstm_jac_cell_only, lstm_jac_transposed, lstm_jac_wrong_order,
      lstm_jac_no_dc_of_tanh]),
    (ch08.check_ar_forecast, "ar_forecast",
     [ar_no_intercept, ar_not_recursive, ar_lags_reversed_in_forecast]),
    (ch08.check_sample_with_temperature, "sample_with_temperature",
     [sample_times_t, sample_no_temperature, sample_argmax, sample_off_by_one,
      sample_no_clamp]),
]


TABLE = [Case(check, SOL[name], wrong=wrong) for check, name, wrong in CASES]
(test_solution_passes, test_stub_fails, test_enough_wrong_answers,
 test_wrong_answer_fails, test_cheat_is_refused) = exercise_tests(TABLE)


def test_by_hand_checks_refuse_torch_and_the_library():
    import torch  # noqa: F401  (the learner's function below names it)

    import dlmath

    def uses_torch(grads, max_norm):
        return [torch.as_tensor(a).numpy() for a in grads]

    def uses_library(grads, max_norm):
        dlmath.nn.clip_grad_norm_(grads, max_norm)
        return grads

    for fn in (uses_torch, uses_library):
        with pytest.raises(AssertionError, match="by hand"):
            ch08.check_clip_grad_norm(fn)

    def uses_rng_choice(logits, temperature, u):
        return np.random.default_rng(0).choice(logits.shape[1], size=len(u))

    with pytest.raises(AssertionError, match="by hand"):
        ch08.check_sample_with_temperature(uses_rng_choice)


def test_sampling_check_requires_integer_indices():
    def floats(logits, temperature, u):
        return SOL["sample_with_temperature"](logits, temperature, u).astype(float)

    with pytest.raises(AssertionError, match="integer indices"):
        ch08.check_sample_with_temperature(floats)
