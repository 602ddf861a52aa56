"""Benchmarks of Chapter 7: ``dlmath.functional`` convolution and pooling vs torch.

Forward + backward (every input gradient) on the shapes of the issue: LeNet's
two convolutions and a ResNet-like 3x3 layer, in float64 (torch falls back to
im2col + GEMM, the same algorithm) and float32 (torch uses oneDNN).

    PYTHONPATH=$PWD python tools/benchmarks/conv.py             # wall clock, 2 threads
    PYTHONPATH=$PWD python tools/benchmarks/conv.py --cpu-time  # CPU time, 1 thread

On a shared, busy machine wall-clock ratios mostly measure who got the cores;
``--cpu-time`` (``timing.cpu_time_ratio``) counts only the work done.
"""
from __future__ import annotations

import numpy as np

from tools.benchmarks.timing import Case, compare

# (name, x shape, weight shape, padding) of the convolutions; pooling runs on the
# LeNet feature maps, 2x2 windows with stride 2.
CONV_SHAPES = [
    ("LeNet conv1 64x1x28x28, 6 5x5 pad 2", (64, 1, 28, 28), (6, 1, 5, 5), 2),
    ("LeNet conv2 64x6x14x14, 16 5x5", (64, 6, 14, 14), (16, 6, 5, 5), 0),
    ("3x3 conv 32x64x32x32, 64 3x3 pad 1", (32, 64, 32, 32), (64, 64, 3, 3), 1),
]
POOL_SHAPES = [("max_pool2d 2x2 on 64x6x28x28", "max", (64, 6, 28, 28)),
               ("avg_pool2d 2x2 on 64x6x28x28", "avg", (64, 6, 28, 28))]
TARGETS = {"float64": 1.5, "float32": 3.0}


def _conv_case(name, xs, ws, pad, dtype) -> Case:
    import torch

    from dlmath import functional as F

    g = np.random.default_rng(0)
    x, w = g.standard_normal(xs).astype(dtype), g.standard_normal(ws).astype(dtype)
    b = g.standard_normal(ws[0]).astype(dtype)
    dy = g.standard_normal(F.conv2d(x[:1], w, b, padding=pad).shape[1:]).astype(dtype)
    dy = np.broadcast_to(dy, (xs[0],) + dy.shape).copy()
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    dyt = torch.tensor(dy)

    def run_numpy():
        y, vjp = F.conv2d_vjp(x, w, b, padding=pad)
        return vjp(dy)

    def run_torch():
        y = torch.nn.functional.conv2d(xt, wt, bt, padding=pad)
        return torch.autograd.grad(y, (xt, wt, bt), dyt)

    return Case(f"conv2d {name}", dtype, run_numpy, run_torch, TARGETS[dtype])


def _pool_case(name, kind, xs, dtype) -> Case:
    import torch

    from dlmath import functional as F

    g = np.random.default_rng(0)
    x = g.standard_normal(xs).astype(dtype)
    dy = g.standard_normal(xs[:2] + (xs[2] // 2, xs[3] // 2)).astype(dtype)
    xt, dyt = torch.tensor(x, requires_grad=True), torch.tensor(dy)
    f_np = F.max_pool2d_vjp if kind == "max" else F.avg_pool2d_vjp
    TF = torch.nn.functional
    f_t = TF.max_pool2d if kind == "max" else TF.avg_pool2d

    def run_numpy():
        return f_np(x, 2)[1](dy)

    def run_torch():
        return torch.autograd.grad(f_t(xt, 2), (xt,), dyt)

    return Case(name, dtype, run_numpy, run_torch, TARGETS[dtype])


def _build() -> list[Case]:
    cases = []
    for dtype in ("float64", "float32"):
        cases += [_conv_case(n, xs, ws, p, dtype) for n, xs, ws, p in CONV_SHAPES]
        cases += [_pool_case(n, kind, xs, dtype) for n, kind, xs in POOL_SHAPES]
    return cases


BENCHMARKS: list[Case] = _build()



def main(cpu_time: bool = False) -> list[dict]:
    from tools.benchmarks.timing import cpu_time_ratio

    rows = []
    for case in BENCHMARKS:
        r = cpu_time_ratio(case, repeats=9) if cpu_time else compare(case)
        ok = "ok" if r["ratio"] <= case.target else "MISSED"
        print(f"{r['name']:<52} {r['dtype']:<8} numpy {1e3 * r['numpy_s']:8.2f} ms  "
              f"torch {1e3 * r['torch_s']:8.2f} ms  ratio {r['ratio']:5.2f} "
              f"(target <= {case.target}) {ok}", flush=True)
        rows.append(r)
    return rows


if __name__ == "__main__":
    import sys

    main(cpu_time="--cpu-time" in sys.argv)
