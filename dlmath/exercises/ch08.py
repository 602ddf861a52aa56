"""Autograded checks for the exercises of Chapter 8 (recurrent networks).

Each ``check_*`` draws its cases from a fresh ``rng(seed)`` (hidden cases:
another ``seed``), runs the learner's function and compares with PyTorch in
float64 on ``dlmath.device()``: ``torch.nn.RNN``, ``GRUCell`` and ``LSTMCell``
with the same weights, autograd Jacobians, ``clip_grad_norm_``,
``torch.linalg.lstsq``. The "by hand" exercises refuse a function that calls
torch or the dlmath routine it re-derives.
"""
from __future__ import annotations

import numpy as np

from ..check import to_numpy, to_torch
from . import check_function, refuse_calls, rng

__all__ = ["check_truncated_bptt", "check_clip_grad_norm", "check_gru_grad_z",
           "check_lstm_step_jacobian", "check_ar_forecast",
           "check_sample_with_temperature"]


_LAYERS = ("torch", "dlmath.functional", "dlmath.nn", "dlmath.autodiff")


def _refuse(fn, title: str, forbidden: tuple = _LAYERS) -> None:
    """A "by hand" exercise: the learner's code may not call torch or the routine."""
    refuse_calls(fn, forbidden, title=title, why="do it by hand, with numpy")


def _dev():
    from .._device import device
    return device()


# --------------------------------------------------------------------------- notebook 1
def check_truncated_bptt(fn, *, seed: int = 81) -> None:
    """Exercise 8.1: dL/dW_hh of a tanh RNN under truncated BPTT in chunks of k.

    ``fn(x, h0, W_ih, W_hh, b, dhs, k)``: L = Σ_t <dhs_t, h_t>; the sequence is
    read in consecutive chunks of k steps (the last may be shorter), the state
    is carried from chunk to chunk and detached at every chunk start, and the
    chunks' gradients add up. The reference is torch with ``h.detach()``.
    """
    import torch

    title = "Exercise 8.1 truncated_bptt"
    _refuse(fn, title)

    def ref(x, h0, W_ih, W_hh, b, dhs, k):
        H, I = W_ih.shape
        m = torch.nn.RNN(I, H, batch_first=True).to(_dev(), torch.float64)
        with torch.no_grad():
            m.weight_ih_l0.copy_(to_torch(W_ih))
            m.weight_hh_l0.copy_(to_torch(W_hh))
            m.bias_ih_l0.copy_(to_torch(b))
            m.bias_hh_l0.zero_()
        xt, dht, h = to_torch(x), to_torch(dhs), to_torch(h0)[None]
        for start in range(0, x.shape[1], k):
            out, h = m(xt[:, start:start + k], h.detach())   # carried, then cut
            (out * dht[:, start:start + k]).sum().backward()  # grads accumulate
        return m.weight_hh_l0.grad

    g = rng(seed)
    cases = []
    shapes = [(2, 6, 3, 4, 3), (3, 7, 2, 3, 3), (1, 12, 2, 5, 1), (4, 9, 1, 2, 9),
              (2, 10, 2, 3, 4)]
    for N, T, I, H, k in shapes:
        cases.append((g.standard_normal((N, T, I)), g.standard_normal((N, H)),
                      g.standard_normal((H, I)),
                      1.3 * g.standard_normal((H, H)) / np.sqrt(H),
                      0.5 * g.standard_normal(H), g.standard_normal((N, T, H)), k))
    hint = ("the forward pass runs over the whole sequence, carrying the state; "
            "the backward recursion of each chunk starts at the chunk's last step "
            "and stops at its first, as if the state entering the chunk were a "
            "constant")
    check_function(fn, ref, cases, title=title, rtol=1e-9, atol=1e-12,
                   hint=hint)


class _Grads(list):
    """A list of gradient arrays that describes itself in a check's message."""

    ndim = 1

    @property
    def shape(self):
        return (len(self),)

    def __repr__(self):
        return f"[{', '.join(f'array{a.shape}' for a in self)}]"


def check_clip_grad_norm(fn, *, seed: int = 82) -> None:
    """Exercise 8.2: clip a list of gradients by their global 2-norm, as torch does."""
    import torch

    title = "Exercise 8.2 clip_grad_norm"
    _refuse(fn, title)

    def ref(grads, max_norm):
        ps = [torch.zeros(a.shape, dtype=torch.float64, device=_dev(),
                          requires_grad=True) for a in grads]
        for p, a in zip(ps, grads):
            p.grad = to_torch(a)
        torch.nn.utils.clip_grad_norm_(ps, max_norm)
        return torch.cat([p.grad.reshape(-1) for p in ps])

    def flat(grads, max_norm):
        out = fn([a.copy() for a in grads], max_norm)
        if out is None:
            return None
        if len(out) != len(grads):
            raise AssertionError(f"{title}: returned {len(out)} arrays for "
                                 f"{len(grads)} gradients")
        for o, a in zip(out, grads):
            if np.shape(o) != a.shape:
                raise AssertionError(f"{title}: a clipped gradient has shape "
                                     f"{np.shape(o)}, its gradient {a.shape}")
        return np.concatenate([np.ravel(o) for o in out])

    g = rng(seed)
    cases = [(_Grads([10 * g.standard_normal((3, 4)), g.standard_normal(4)]), 1.0),
             (_Grads([g.standard_normal((2, 2)), 0.01 * g.standard_normal(5)]), 100.0),
             (_Grads([3 * g.standard_normal(6), 5 * g.standard_normal((2, 3)),
                      g.standard_normal(1)]), 2.5),
             (_Grads([np.zeros(3), g.standard_normal((4, 2))]), 0.5)]
    hint = ("one norm for all the gradients together; scale only when it exceeds "
            "max_norm, by max_norm / (norm + 1e-6)")
    check_function(flat, ref, cases, title=title, rtol=1e-10, atol=1e-14,
                   hint=hint)


# --------------------------------------------------------------------------- notebook 2
def _cell(kind: str, W_ih, W_hh, b_ih, b_hh):
    import torch

    H, I = W_hh.shape[1], W_ih.shape[1]
    m = getattr(torch.nn, kind)(I, H).to(_dev(), torch.float64)
    with torch.no_grad():
        for name, v in [("weight_ih", W_ih), ("weight_hh", W_hh), ("bias_ih", b_ih),
                        ("bias_hh", b_hh)]:
            getattr(m, name).copy_(to_torch(v))
    return m


def check_gru_grad_z(fn, *, seed: int = 83) -> None:
    """Exercise 8.3: ∂L/∂a_z (N, H) for one GRU step, L = Σ dh ⊙ h_new."""
    title = "Exercise 8.3 gru_grad_z"
    _refuse(fn, title)

    def ref(x, h, W_ih, W_hh, b_ih, b_hh, dh):
        # ∂L/∂a_z of sample n: the gradient of b_hz (rows H..2H of b_hh) on sample n
        H = h.shape[1]
        m = _cell("GRUCell", W_ih, W_hh, b_ih, b_hh)
        rows = []
        for n in range(len(x)):
            m.zero_grad()
            hn = m(to_torch(x[n:n + 1]), to_torch(h[n:n + 1]))
            (hn * to_torch(dh[n:n + 1])).sum().backward()
            rows.append(to_numpy(m.bias_hh.grad[H:2 * H]))
        return np.stack(rows)

    g = rng(seed)
    cases = []
    for N, I, H in [(2, 3, 4), (5, 2, 3), (1, 4, 6)]:
        cases.append((g.standard_normal((N, I)), g.standard_normal((N, H)),
                      g.standard_normal((3 * H, I)), g.standard_normal((3 * H, H)),
                      g.standard_normal(3 * H), g.standard_normal(3 * H),
                      g.standard_normal((N, H))))
    hint = ("differentiate h_t with respect to z first, then go through the sigmoid; "
            "rows in torch's order r, z, n, and r multiplies W_hn h + b_hn")
    check_function(fn, ref, cases, title=title, rtol=1e-9, atol=1e-12,
                   hint=hint)


def check_lstm_step_jacobian(fn, *, seed: int = 84) -> None:
    """Exercise 8.4: the (2H, 2H) Jacobian of (h_t, c_t) w.r.t. (h_(t-1), c_(t-1))."""
    import torch

    title = "Exercise 8.4 lstm_step_jacobian"
    _refuse(fn, title)

    def ref(x, h, c, W_ih, W_hh, b_ih, b_hh):
        m = _cell("LSTMCell", W_ih, W_hh, b_ih, b_hh)
        H = len(h)
        xt = to_torch(x)[None]

        def step(hc):
            h1, c1 = m(xt, (hc[None, :H], hc[None, H:]))
            return torch.cat([h1[0], c1[0]])
        hc = to_torch(np.concatenate([h, c]))
        return torch.autograd.functional.jacobian(step, hc)

    g = rng(seed)
    cases = []
    for I, H in [(3, 2), (2, 4), (1, 1)]:
        cases.append((g.standard_normal(I), g.standard_normal(H), g.standard_normal(H),
                      g.standard_normal((4 * H, I)), g.standard_normal((4 * H, H)),
                      g.standard_normal(4 * H), g.standard_normal(4 * H)))
    hint = ("order the blocks [[∂h'/∂h, ∂h'/∂c], [∂c'/∂h, ∂c'/∂c]]; "
            "c_(t-1) reaches c_t only through f ⊙ c_(t-1), but h_(t-1) reaches it "
            "through all four gates")
    check_function(fn, ref, cases, title=title, rtol=1e-9, atol=1e-12,
                   hint=hint)


# --------------------------------------------------------------------------- notebook 3
def check_ar_forecast(fn, *, seed: int = 85) -> None:
    """Exercise 8.5: least-squares AR(p) with intercept, rolled forward ``steps``."""
    import torch

    title = "Exercise 8.5 ar_forecast"
    _refuse(fn, title, ("torch",))

    def ref(series, p, steps):
        y = to_torch(series)
        L = len(series)
        X = torch.stack([y[p - k - 1:L - k - 1] for k in range(p)], dim=1)   # lags 1..p
        X = torch.cat([X, torch.ones(L - p, 1, dtype=y.dtype, device=y.device)], dim=1)
        sol = torch.linalg.lstsq(X.cpu(), y[p:, None].cpu(), driver="gelsd")
        w = sol.solution[:, 0]
        w = w.to(y.device)
        hist = list(y[-p:].flip(0))                       # y_(L-1), ..., y_(L-p)
        out = []
        for _ in range(steps):
            nxt = torch.dot(torch.stack(hist[:p]), w[:p]) + w[p]
            out.append(nxt)
            hist.insert(0, nxt)
        return torch.stack(out)

    g = rng(seed)
    t = np.arange(120)
    cases = [(np.sin(0.3 * t) + 0.1 * g.standard_normal(120) + 2.0, 3, 10),
             (np.cumsum(g.standard_normal(80)) * 0.1 + np.cos(0.7 * t[:80]), 5, 7),
             (0.5 + 0.9 ** t[:40] * g.standard_normal(40), 1, 4)]
    hint = ("regress y_t on [y_(t-1), ..., y_(t-p), 1] for t = p, ..., L-1; then "
            "feed each forecast back in as the newest lag")
    check_function(fn, ref, cases, title=title, rtol=1e-7, atol=1e-9,
                   hint=hint)


# --------------------------------------------------------------------------- notebook 4
def _rounding_case(g):
    """Rows whose float64 cdf ends just below 1 and u = the largest float < 1:
    the count of cdf entries <= u is then V, one past the last index."""
    u = np.nextafter(1.0, 0.0)
    rows = []
    while len(rows) < 16:
        z = g.standard_normal((256, 7))
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        rows.extend(z[np.cumsum(p, axis=1)[:, -1] < u])
    return np.array(rows[:16]), 1.0, np.full(16, u)


def check_sample_with_temperature(fn, *, seed: int = 86) -> None:
    """Exercise 8.6: inverse-CDF sampling from softmax(logits / temperature)."""
    import torch

    title = "Exercise 8.6 sample_with_temperature"
    _refuse(fn, title, ("torch", "numpy.random"))

    def ref(logits, temperature, u):
        p = torch.softmax(to_torch(logits) / temperature, dim=-1)
        cdf = torch.cumsum(p, dim=-1)
        k = torch.searchsorted(cdf, to_torch(u)[:, None], right=True)[:, 0]
        return torch.clamp(k, max=logits.shape[1] - 1).double()

    def as_float(logits, temperature, u):
        out = fn(logits, temperature, u)
        if out is None:
            return None
        out = np.asarray(out)
        if out.dtype.kind not in "iu":
            raise AssertionError(f"{title}: return integer indices, "
                                 f"got dtype {out.dtype}")
        return out.astype(np.float64)

    g = rng(seed)
    cases = [(g.standard_normal((200, 5)), 1.0, g.random(200)),
             (2 * g.standard_normal((200, 8)), 0.3, g.random(200)),
             (g.standard_normal((200, 4)), 4.0, g.random(200)),
             (np.array([[0.0, 0.0, 0.0]]), 1.0, np.array([0.5])),
             _rounding_case(g)]
    hint = ("p = softmax(logits / temperature) (subtract the max first); the sample "
            "is the number of cumulative probabilities <= u")
    check_function(as_float, ref, cases, title=title, rtol=0, atol=0.5,
                   hint=hint)
