"""Autograded checks for the exercises of Chapter 13 (scaling and efficiency).

Each ``check_*`` draws its cases from a fresh ``rng(seed)`` (hidden cases:
another ``seed``) and compares with a reference computed by PyTorch in float64
(gradients, attention, ``torch.finfo``) or by the simulated ring of
``dlmath.distributed``.
"""
from __future__ import annotations

import numpy as np

from ..check import assert_close, to_torch
from . import rng

__all__ = ["check_ddp_loss_weights", "check_ring_allreduce_time",
           "check_float_format", "check_online_softmax_update",
           "check_merge_attention"]


def _call(fn, title, *args):
    if not callable(fn):
        raise TypeError(f"{title}: expected your function, got {type(fn).__name__}")
    try:
        out = fn(*[np.copy(a) if isinstance(a, np.ndarray) else a for a in args])
    except NotImplementedError:
        raise AssertionError(f"{title}: not attempted yet — replace the "
                             f"`raise NotImplementedError` line with your code"
                             ) from None
    if out is None:
        raise AssertionError(f"{title}: your function returned None — "
                             f"did you forget `return`?")
    return out


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
        c = _array(_call(fn, title, list(int(s) for s in sizes)), title,
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
        got = _array(_call(fn, title, N, p, alpha, beta), title, "the time", (), i)
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
