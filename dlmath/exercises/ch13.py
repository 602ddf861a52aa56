"""Autograded checks for the exercises of Chapter 13 (scaling and efficiency).

Each ``check_*`` draws its cases from a fresh ``rng(seed)`` (hidden cases:
another ``seed``) and compares with a reference computed by PyTorch in float64
(gradients, attention, ``torch.finfo``) or by the simulated ring of
``dlmath.distributed``.
"""
from __future__ import annotations

import numpy as np

from ..check import assert_close, to_torch
from . import call_learner, rng

__all__ = ["check_ddp_loss_weights", "check_ring_allreduce_time",
           "check_float_format", "check_online_softmax_update",
           "check_merge_attention"]




def _array(out, title, what, shape, case):
    try:
        arr = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        raise AssertionError(f"{title}: on test case {case} {what} should be numbers "
                             f"of shape {shape}, got {type(out).__name__}") from None
    if arr.shape != tuple(shape):
        raise AssertionError(f"{title}: on test case {case} expected {what} of shape "
                             f"{tuple(shape)}, got shape {arr.shape}")
    return arr


# --------------------------------------------------------------------- Exercise 13.1
def check_ddp_loss_weights(fn, *, seed: int = 131) -> None:
    """Exercise 13.1: factors c_r with (1/p) Σ_r c_r ∇L_r = ∇L (unequal shards).

    The reference is torch's full-batch gradient of a least-squares loss; the
    learner's weights combine torch's per-shard gradients as DDP would.
    """

    title = "Exercise 13.1 ddp_loss_weights"
    g = rng(seed)
    cases = [[5, 11, 32], [8, 8], [1, 7], [3, 3, 3, 3], [13]]
    cases += [list(g.integers(1, 20, int(g.integers(2, 6)))) for _ in range(2)]
    for i, sizes in enumerate(cases, 1):
        n, d = int(sum(sizes)), 3
        X = to_torch(g.standard_normal((n, d)))
        y = to_torch(g.standard_normal(n))
        w = to_torch(g.standard_normal(d), requires_grad=True)

        def grad(a, b):
            w.grad = None
            ((X[a:b] @ w - y[a:b]) ** 2).mean().backward()
            return w.grad.detach().cpu().numpy().copy()

        full = grad(0, n)
        bounds = np.cumsum([0] + list(sizes))
        shard = [grad(a, b) for a, b in zip(bounds, bounds[1:])]
        c = _array(call_learner(fn, title, list(int(s) for s in sizes)), title,
                   "the weights", (len(sizes),), i)
        ddp = np.mean([cr * gr for cr, gr in zip(c, shard)], axis=0)
        try:
            assert_close(ddp, full, rtol=1e-10, atol=1e-12, name="DDP's gradient "
                         "with your weights", against="torch's full-batch gradient",
                         verbose=False)
        except AssertionError as exc:
            raise AssertionError(
                f"{title}: wrong weights on test case {i} (sizes {list(sizes)}): "
                f"{exc}. Hint: DDP divides the sum of the workers' gradients by p; "
                f"the full batch weights shard r by its share of the examples"
            ) from None
    print(f"✓ {title}: DDP with your weights matches torch's full-batch gradient "
          f"on all {len(cases)} test cases")


# --------------------------------------------------------------------- Exercise 13.2
def check_ring_allreduce_time(fn, *, seed: int = 132) -> None:
    """Exercise 13.2: α-β time of a ring all-reduce of N values over p workers.

    The reference counts the messages and values of the simulated ring
    (``dlmath.distributed.ring_allreduce``): every worker sends in every step,
    so T = steps · α + β · (values sent by one worker).
    """
    from ..distributed import ring_allreduce

    title = "Exercise 13.2 ring_allreduce_time"
    g = rng(seed)
    cases = [(24, 4, 1e-5, 1e-9), (10, 2, 3e-6, 2e-9), (7, 1, 1e-5, 1e-9),
             (96, 8, 2e-5, 5e-10), (1000, 5, 0.0, 1e-9), (12, 3, 1e-4, 0.0)]
    for _ in range(2):
        p = int(g.integers(2, 9))
        cases.append((p * int(g.integers(1, 50)), p, float(g.uniform(1e-6, 1e-4)),
                      float(g.uniform(1e-10, 1e-8))))

    def ref(N, p, alpha, beta):
        _, sent = ring_allreduce([np.zeros(N) for _ in range(p)])
        steps = 2 * (p - 1)
        return np.float64(steps * alpha + beta * sent[0])

    for i, (N, p, alpha, beta) in enumerate(cases, 1):
        got = _array(call_learner(fn, title, N, p, alpha, beta), title, "the time", (),
                     i)
        try:
            assert_close(got, ref(N, p, alpha, beta), rtol=1e-12, atol=1e-18,
                         name="your time", against="the simulated ring",
                         verbose=False)
        except AssertionError as exc:
            raise AssertionError(
                f"{title}: wrong time on test case {i} (N={N}, p={p}, alpha={alpha:g}"
                f", beta={beta:g}): {exc}. Hint: count the steps of both phases and "
                f"what one step costs when all workers send a chunk at once") from None
    print(f"✓ {title}: matches the message count of the simulated ring on all "
          f"{len(cases)} test cases")


# --------------------------------------------------------------------- Exercise 13.3
# name: (exponent bits, fraction bits); all IEEE-like (with inf and subnormals)
_FORMATS = {
    "float16": (5, 10), "bfloat16": (8, 7), "float32": (8, 23), "float64": (11, 52),
    "float8_e5m2": (5, 2)}


def check_float_format(fn, *, seed: int = 133) -> None:
    """Exercise 13.3: (unit roundoff, largest finite, smallest normal) from the bits.

    Compared with ``torch.finfo`` (u = eps / 2) for float16, bfloat16, float32,
    float64 and float8_e5m2, in an order drawn from ``seed``.
    """
    import torch

    from . import refuse_calls

    title = "Exercise 13.3 float_format"
    refuse_calls(fn, ("torch", "numpy.finfo", "dlmath.precision.decode_float"),
                 title=title,
                 why="derive the three numbers from the bit layout")
    names = list(_FORMATS)
    order = rng(seed).permutation(len(names))
    for i, j in enumerate(order, 1):
        name = names[j]
        e, t = _FORMATS[name]
        fi = torch.finfo(getattr(torch, name))
        ref = np.array([fi.eps / 2, fi.max, fi.tiny], dtype=np.float64)
        got = _array(call_learner(fn, title, e, t), title,
                     "(unit roundoff, largest finite, smallest normal)", (3,), i)
        try:
            assert_close(got, ref, rtol=1e-12, atol=0, name="your (u, max, tiny)",
                         against=f"torch.finfo({name})", verbose=False)
        except AssertionError as exc:
            raise AssertionError(
                f"{title}: wrong values for {name} ({e} exponent bits, {t} fraction "
                f"bits), test case {i}: {exc}. Hint: round to nearest loses at most "
                f"half a unit in the last place; the largest exponent pattern is "
                f"reserved for inf and NaN") from None
    print(f"✓ {title}: matches torch.finfo on all {len(order)} formats")


# --------------------------------------------------------------------- Exercise 13.4
def check_online_softmax_update(fn, *, seed: int = 134) -> None:
    """Exercise 13.4: one online-softmax update (m, l, x_block) -> (m', l').

    The learner's update is folded over the blocks of each case, from
    m = -inf, l = 0; the result is compared with torch's row maximum and
    log-sum-exp (m + log l). Cases include a maximum that arrives late (the
    rescaling matters) and scores too large for exp.
    """
    import torch

    from . import refuse_calls

    title = "Exercise 13.4 online_update"
    refuse_calls(fn, ("torch", "dlmath.flash.online_softmax_stats",
                      "dlmath.functional.logsumexp", "dlmath.functional.softmax",
                      "scipy.special"),
                 title=title, why="the update is written by hand in numpy")
    g = rng(seed)
    cases = []
    for r, n, b, scale in [(3, 12, 4, 1.0), (4, 50, 7, 30.0), (2, 9, 1, 5.0),
                           (5, 33, 33, 2.0), (3, 40, 8, 400.0)]:
        x = g.standard_normal((r, n)) * scale
        x[:, -b:] += 3 * scale                          # the maximum arrives late
        cases.append((x, b))
    for i, (x, b) in enumerate(cases, 1):
        m = np.full(x.shape[0], -np.inf)
        l = np.zeros(x.shape[0])
        for j in range(0, x.shape[1], b):
            out = call_learner(fn, title, m.copy(), l.copy(), x[:, j:j + b].copy())
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                raise AssertionError(f"{title}: expected a pair (m, l), got "
                                     f"{type(out).__name__} on test case {i}")
            m = _array(out[0], title, "m", (x.shape[0],), i)
            l = _array(out[1], title, "l", (x.shape[0],), i)
        tx = to_torch(x)
        try:
            assert_close(m, tx.max(dim=1).values, rtol=0, atol=0, name="your m",
                         against="torch max", verbose=False)
            with np.errstate(divide="ignore", invalid="ignore"):
                lse = m + np.log(l)
            assert_close(lse, torch.logsumexp(tx, dim=1), rtol=1e-12, atol=1e-12,
                         name="your m + log l", against="torch.logsumexp",
                         verbose=False)
        except AssertionError as exc:
            raise AssertionError(
                f"{title}: wrong running statistics after all blocks of test case {i}"
                f" (rows {x.shape[0]}, length {x.shape[1]}, blocks of {b}): {exc}. "
                f"Hint: when the maximum grows, every term already in l was "
                f"measured from the old maximum") from None
    print(f"✓ {title}: folded over the blocks, matches torch's max and logsumexp "
          f"on all {len(cases)} test cases")


# --------------------------------------------------------------------- Exercise 13.5
def check_merge_attention(fn, *, seed: int = 135) -> None:
    """Exercise 13.5: attention over K1 ∪ K2 from the two partial results.

    Partial results come from torch (SDPA and logsumexp of the scaled scores);
    the reference is SDPA over the concatenated keys and values.
    """
    import torch

    from . import refuse_calls

    title = "Exercise 13.5 merge_attention"
    refuse_calls(fn, ("torch", "dlmath.flash",
                      "dlmath.functional.scaled_dot_product_attention"),
                 title=title, why="the merge is written by hand in numpy")
    g = rng(seed)
    sdpa = torch.nn.functional.scaled_dot_product_attention
    for i, (lead, L, S1, S2, d, amp) in enumerate(
            [((), 3, 4, 5, 2, 1.0), ((2, 3), 5, 7, 2, 4, 1.0), ((1,), 4, 1, 6, 3, 40.0),
             ((2,), 6, 8, 8, 4, 3.0), ((), 2, 3, 3, 8, 2000.0)], 1):
        q = g.standard_normal((*lead, L, d)) * amp
        ks = [g.standard_normal((*lead, S, d)) for S in (S1, S2)]
        vs = [g.standard_normal((*lead, S, d + 1)) for S in (S1, S2)]
        tq = to_torch(q)
        parts = []
        for k, v in zip(ks, vs):
            s = tq @ to_torch(k).transpose(-1, -2) / np.sqrt(d)
            parts += [sdpa(tq, to_torch(k), to_torch(v)).cpu().numpy(),
                      torch.logsumexp(s, dim=-1).cpu().numpy()]
        ref = sdpa(tq, to_torch(np.concatenate(ks, -2)),
                   to_torch(np.concatenate(vs, -2)))
        got = _array(call_learner(fn, title, *parts), title, "the merged output",
                     tuple(ref.shape), i)
        try:
            assert_close(got, ref, rtol=1e-10, atol=1e-12, name="your merged output",
                         against="torch SDPA over all keys", verbose=False)
        except AssertionError as exc:
            raise AssertionError(
                f"{title}: wrong output on test case {i} (L={L}, key sets of {S1} and "
                f"{S2}, query scale {amp}): {exc}. Hint: each partial output is "
                f"normalized by its own sum; the log-sum-exps say how large each "
                f"sum was") from None
    print(f"✓ {title}: matches torch SDPA over the concatenated keys on all 5 test "
          f"cases")
