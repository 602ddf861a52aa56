"""Tiled (FlashAttention-style) attention in numpy, ``dlmath.flash`` (Chapter 13).

Two comparisons at (1, 4, 512, 32), float64, no mask:

- the tiled forward against the *untiled numpy* kernel
  ``dlmath.functional.scaled_dot_product_attention`` (the issue's target: within
  2x; here the "torch" slot of the Case holds that numpy kernel, as its note
  says), at the block size chosen by the sweep below;
- the tiled forward + backward (recomputation) against torch's SDPA + autograd.

``python -m tools.benchmarks.flash --sweep`` times block sizes 16-512 and
prints the ratio of each to the untiled kernel; ``--cpu-time`` measures
process CPU time on one thread instead of wall time (for a busy machine).
"""
from __future__ import annotations

import numpy as np

from dlmath.check import assert_close
from tools.benchmarks.timing import Case, compare

SHAPE = (1, 4, 512, 32)                     # (batch, heads, n, d_head)
BLOCK = 128                                 # chosen by --sweep (fastest here)


def _inputs():
    g = np.random.default_rng(0)
    return [g.standard_normal(SHAPE) for _ in range(4)]


def _vs_untiled(block: int = BLOCK) -> Case:
    from dlmath import flash
    from dlmath.functional import scaled_dot_product_attention

    q, k, v, _ = _inputs()

    def check():
        assert_close(flash.tiled_attention(q, k, v, block)[0],
                     scaled_dot_product_attention(q, k, v), rtol=1e-12, atol=1e-12,
                     name="tiled attention", against="untiled numpy attention")

    return Case(name=f"tiled attention fwd vs untiled numpy (1, 4, 512, 32), "
                     f"block {block}", dtype="float64",
                numpy=lambda: flash.tiled_attention(q, k, v, block),
                torch=lambda: scaled_dot_product_attention(q, k, v), target=2.0,
                note="reference (torch slot): dlmath.functional's untiled numpy "
                     "kernel, not torch",
                extra={"check": check})


def _vs_torch() -> Case:
    import torch

    from dlmath import flash

    q, k, v, dy = _inputs()
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    tdy = torch.tensor(dy)

    def run_numpy():
        y, vjp = flash.tiled_attention_vjp(q, k, v, BLOCK)
        return vjp(dy)

    def run_torch():
        y = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv)
        return torch.autograd.grad(y, (tq, tk, tv), tdy)

    def check():
        for a, b in zip(run_numpy(), run_torch()):
            assert_close(a, b, rtol=1e-10, atol=1e-12, name="tiled attention grad",
                         against="torch SDPA autograd")

    return Case(name="tiled attention fwd+bwd (1, 4, 512, 32)", dtype="float64",
                numpy=run_numpy, torch=run_torch,
                note="numpy: tiles of 128 x 128 scores, backward by recomputation; "
                     "torch: SDPA + autograd", extra={"check": check})


BENCHMARKS: list[Case] = [_vs_untiled(), _vs_torch()]


if __name__ == "__main__":
    import sys

    from tools.benchmarks.timing import cpu_time_ratio

    cpu = "--cpu-time" in sys.argv                   # robust on a busy machine

    def measure(case):
        return cpu_time_ratio(case, repeats=15) if cpu else compare(case, repeats=5)

    if "--sweep" in sys.argv:
        for block in (16, 32, 64, 128, 256, 512):
            r = measure(_vs_untiled(block))
            print(f"block {block:4d}: tiled {r['numpy_s'] * 1e3:7.2f} ms, untiled "
                  f"{r['torch_s'] * 1e3:7.2f} ms, ratio {r['ratio']:.2f}")
    else:
        for case in BENCHMARKS:
            case.extra["check"]()
            r = measure(case)
            print(f"{r['name']}: {r['numpy_s'] * 1e3:.2f} ms vs "
                  f"{r['torch_s'] * 1e3:.2f} ms, ratio {r['ratio']:.2f}"
                  f" (target <= {r['target']})")
