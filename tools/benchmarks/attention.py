"""Attention forward + backward: ``dlmath.functional.scaled_dot_product_attention_vjp``
against ``torch.nn.functional.scaled_dot_product_attention`` + autograd (Chapter 9).

Batch 8, 4 heads, n = 128 positions, d_head = 32, causal mask off; float64 (the
same-algorithm comparison) and float32. The target is a ratio numpy/torch
<= 1.5, timed with ``timing.compare`` (2 threads each, wall clock).
``python -m tools.benchmarks.attention --cpu-time`` instead compares process
CPU time on one thread each, which stays meaningful on a shared, busy machine.
"""
from __future__ import annotations

import numpy as np

from tools.benchmarks.timing import Case, compare, cpu_time_ratio

SHAPE = (8, 4, 128, 32)                     # (batch, heads, n, d_head)


def _case(dtype: str) -> Case:
    import torch

    from dlmath.functional import scaled_dot_product_attention_vjp

    g = np.random.default_rng(0)
    q, k, v, dy = (g.standard_normal(SHAPE).astype(dtype) for _ in range(4))

    def run_numpy():
        y, vjp = scaled_dot_product_attention_vjp(q, k, v)
        return vjp(dy)

    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    tdy = torch.tensor(dy)

    def run_torch():
        y = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv)
        return torch.autograd.grad(y, (tq, tk, tv), tdy)

    return Case(name="attention fwd+bwd (8, 4, 128, 32)", dtype=dtype, numpy=run_numpy,
                torch=run_torch, target=1.5,
                note="numpy: batched GEMMs + softmax + its VJP; torch: SDPA + autograd")


BENCHMARKS: list[Case] = [_case("float64"), _case("float32")]


if __name__ == "__main__":
    import sys

    measure = cpu_time_ratio if "--cpu-time" in sys.argv else compare
    for case in BENCHMARKS:
        r = measure(case)
        print(f"{r['name']} {r['dtype']}: numpy {r['numpy_s'] * 1e3:.2f} ms, "
              f"torch {r['torch_s'] * 1e3:.2f} ms, ratio {r['ratio']:.2f} "
              f"(target <= {r['target']})")
