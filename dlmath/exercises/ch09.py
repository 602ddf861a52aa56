"""Autograded checks for the exercises of Chapter 9 (attention and transformers).

Each ``check_*`` runs the learner's function on cases drawn from a fresh
``rng(seed)`` (hidden cases: another ``seed``) and compares with a PyTorch
computation in float64 on ``dlmath.device()``. The "by hand" exercise (9.1)
refuses a function that calls torch or dlmath's attention routines.
"""
from __future__ import annotations

import numpy as np

from ..check import assert_close, to_torch
from . import as_result, call_learner, check_function, refuse_calls, rng

__all__ = ["check_attention_scale_grad", "check_sliding_window_mask",
           "check_grouped_query_attention", "check_pe_dot", "check_rotary_half",
           "check_encoder_layer_num_params"]


def _refuse(fn, title: str, forbidden: tuple[str, ...]) -> None:
    refuse_calls(fn, forbidden, title=title, why="this exercise is done in numpy")




# ---------------------------------------------------------------------- Exercise 9.1
def check_attention_scale_grad(fn, *, seed: int = 91) -> None:
    """Exercise 9.1: ∂L/∂s for y = softmax(s q kᵀ) v and L = Σ dy ⊙ y (a scalar s).

    The derivation: dA = P ⊙ (dP - rowsum(dP ⊙ P)) with dP = dy vᵀ, and
    A = s q kᵀ, so ∂L/∂s = Σ_ij dA_ij (q kᵀ)_ij. Compared with torch autograd
    through the scale; the cases include a batch of heads and a large s
    (saturated softmax).
    """
    import torch

    title = "Exercise 9.1 attention_scale_grad"
    _refuse(fn, title, ("torch", "dlmath.functional", "dlmath.nn", "dlmath.autodiff"))
    g = rng(seed)
    cases = []
    for shape_q, S, Ev, s in [((4, 3), 5, 2, 0.5), ((2, 3, 6, 4), 7, 3, 1 / np.sqrt(4)),
                              ((1, 1), 1, 1, 2.0), ((5, 8), 6, 4, 3.0)]:
        *lead, L, E = shape_q
        cases.append((g.standard_normal(shape_q), g.standard_normal((*lead, S, E)),
                      g.standard_normal((*lead, S, Ev)), s,
                      g.standard_normal((*lead, L, Ev))))

    def ref(q, k, v, s, dy):
        st = torch.tensor(float(s), dtype=torch.float64, device=to_torch(q).device,
                          requires_grad=True)
        A = st * (to_torch(q) @ to_torch(k).transpose(-1, -2))
        y = torch.softmax(A, dim=-1) @ to_torch(v)
        (y * to_torch(dy)).sum().backward()
        return st.grad

    check_function(fn, ref, cases, title=title, rtol=1e-9, atol=1e-11,
                   hint="backpropagate dy through y = P v and through the softmax "
                        "(its Jacobian has a diagonal and a rank-one part), then "
                        "through A = s·qkᵀ, which is linear in s; return a scalar")


# ---------------------------------------------------------------------- Exercise 9.2
def check_sliding_window_mask(fn, *, seed: int = 92) -> None:
    """Exercise 9.2: bool (L, L) mask, True where 0 <= i - j < window."""
    import torch

    title = "Exercise 9.2 sliding_window_mask"
    g = rng(seed)
    cases = [(6, 3), (5, 1), (4, 10), (9, 4), (1, 1)]
    cases += [(int(g.integers(1, 12)), int(g.integers(1, 14))) for _ in range(3)]
    for L, w in cases:
        got = call_learner(fn, title, L, w)
        got = np.asarray(got)
        if got.dtype != bool:
            raise AssertionError(f"{title}: for L={L}, window={w} your mask has "
                                 f"dtype {got.dtype}; it must be bool (True = may "
                                 f"attend). A float mask of 0s and 1s would be "
                                 f"*added* to the scores")
    dev = to_torch(np.zeros(1)).device

    def ref(L, w):
        ones = torch.ones(L, L, dtype=torch.bool, device=dev)
        return torch.tril(ones) & ~torch.tril(ones, diagonal=-w)

    check_function(lambda L, w: np.asarray(fn(L, w)).astype(np.float64),
                   lambda L, w: ref(L, w).double(), cases, title=title, rtol=0, atol=0,
                   hint="row i is a query; it may see itself and the window-1 keys "
                        "before it, never a later key")


# ---------------------------------------------------------------------- Exercise 9.3
def check_grouped_query_attention(fn, *, seed: int = 93) -> None:
    """Exercise 9.3: grouped-query attention, q (N, Hq, L, d), k, v (N, Hkv, S, d).

    Query head h uses key/value head h // (Hq / Hkv) (consecutive query heads
    share a key/value head, as torch's ``enable_gqa``); scale 1/√d, no mask.
    """
    import torch

    title = "Exercise 9.3 grouped_query_attention"
    g = rng(seed)
    cases = []
    for N, Hq, Hkv, L, S, d in [(2, 4, 2, 3, 5, 4), (1, 6, 3, 4, 4, 2),
                                (2, 4, 1, 2, 3, 3), (1, 2, 2, 3, 3, 5)]:
        cases.append((g.standard_normal((N, Hq, L, d)),
                      g.standard_normal((N, Hkv, S, d)),
                      g.standard_normal((N, Hkv, S, d))))

    def ref(q, k, v):
        rep = q.shape[1] // k.shape[1]
        kt = to_torch(k).repeat_interleave(rep, dim=1)
        vt = to_torch(v).repeat_interleave(rep, dim=1)
        return torch.nn.functional.scaled_dot_product_attention(to_torch(q), kt, vt)

    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="each key/value head serves a *block* of Hq/Hkv consecutive "
                        "query heads; the scale is 1/√d with d the head dimension")


# ---------------------------------------------------------------------- Exercise 9.4
def check_pe_dot(fn, *, seed: int = 94) -> None:
    """Exercise 9.4: PE_p · PE_(p+k) for sinusoidal encodings, a function of k and d.

    The reference is the dot product of encodings built in torch, at several
    positions p; the learner's answer must not depend on p (it is not given p).
    """
    import torch

    title = "Exercise 9.4 pe_dot"
    dev = to_torch(np.zeros(1)).device

    def pe(n, d):
        p = torch.arange(n, dtype=torch.float64, device=dev)[:, None]
        i = torch.arange(0, d, 2, dtype=torch.float64, device=dev)
        ang = p / 10000.0 ** (i / d)
        return torch.stack([ang.sin(), ang.cos()], dim=-1).reshape(n, d)

    g = rng(seed)
    cases = [(1, 4), (5, 8), (-3, 6), (17, 16), (0, 2), (40, 32)]
    cases += [(int(g.integers(-40, 41)), 2 * int(g.integers(1, 20))) for _ in range(2)]
    for i, (k, d) in enumerate(cases, 1):
        got = call_learner(fn, title, k, d)
        P = pe(200, d)
        p = torch.arange(50, 150, 7, device=dev)
        ref = (P[p] * P[p + k]).sum(dim=1)          # one dot product per position p
        if not isinstance(got, str) and np.size(got) == 1:
            got = np.asarray(got).reshape(())            # 3.2, [3.2], array(3.2)
        got = as_result(got, (), title=title,
                        where=f"on test case {i} (k={k}, d={d}) your function")
        try:
            mine = np.full(len(p), float(got.reshape(())))
            assert_close(mine, ref, rtol=1e-9, atol=1e-9, name="your PE_p · PE_(p+k)",
                         against="torch's encodings", verbose=False)
        except AssertionError as exc:
            raise AssertionError(f"{title}: wrong value on test case {i} "
                                 f"(k={k}, d={d}): {exc}. Hint: each (sin, cos) pair "
                                 f"contributes sin a sin b + cos a cos b; use an "
                                 f"addition theorem") from None
    print(f"✓ {title}: matches torch's encodings at every p on all {len(cases)} "
          f"test cases")


# ---------------------------------------------------------------------- Exercise 9.5
def check_rotary_half(fn, *, seed: int = 95) -> None:
    """Exercise 9.5: RoPE, "rotate-half" pairing: (x_i, x_{i + d/2}) turned by p θ_i."""
    import torch

    title = "Exercise 9.5 rotary_half"
    g = rng(seed)
    cases = []
    for shape in [(5, 4), (2, 3, 7, 8), (1, 2), (6, 16)]:
        n = shape[-2]
        positions = g.integers(0, 50, n).astype(np.float64)
        cases.append((g.standard_normal(shape), positions))

    def ref(x, positions):
        xt = to_torch(x)
        d = x.shape[-1]
        theta = 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float64,
                                          device=xt.device) / d)
        ang = to_torch(positions)[:, None] * theta
        cos, sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)
        x1, x2 = xt[..., :d // 2], xt[..., d // 2:]
        return xt * cos + torch.cat([-x2, x1], dim=-1) * sin

    check_function(fn, ref, cases, title=title, rtol=1e-10, atol=1e-12,
                   hint="pair coordinate i with coordinate i + d/2 (not 2i with 2i+1); "
                        "θ_i = 10000^(-2i/d); a rotation by +angle sends (a, b) to "
                        "(a cos - b sin, a sin + b cos)")


# ---------------------------------------------------------------------- Exercise 9.6
def check_encoder_layer_num_params(fn, *, seed: int = 96) -> None:
    """Exercise 9.6: the parameter count of a TransformerEncoderLayer (with biases)."""
    import torch

    title = "Exercise 9.6 encoder_layer_num_params"
    g = rng(seed)
    cases = [(64, 4, 256), (12, 3, 20), (512, 8, 2048), (1, 1, 1), (30, 5, 7)]
    for _ in range(2):
        h = int(g.integers(1, 6))
        cases.append((h * int(g.integers(1, 20)), h, int(g.integers(1, 100))))
    for i, (d, h, f) in enumerate(cases, 1):
        got = call_learner(fn, title, d, h, f)
        want = sum(p.numel() for p in torch.nn.TransformerEncoderLayer(
            d, h, f, batch_first=True).parameters())
        if not isinstance(got, (int, np.integer)) or int(got) != want:
            raise AssertionError(f"{title}: wrong count on test case {i} "
                                 f"(d_model={d}, nhead={h}, dim_feedforward={f}): "
                                 f"got {got!r}, torch's module has {want}. Hint: "
                                 f"count the attention's input and output "
                                 f"projections, both linear layers of the MLP and "
                                 f"both layer norms, each with its bias")
    print(f"✓ {title}: matches torch's parameter count on all {len(cases)} test cases")
