"""dlmath.nn.LSTM and GRU against torch.nn.LSTM and GRU (Chapter 8).

Batch 32, 50 steps, input 16, hidden 64, batch first; forward alone (torch
under ``no_grad``) and forward + backward (the gradient of ``sum(out ⊙ dout)``
w.r.t. the input and every parameter), in float64 and float32.
Targets (float64, 2 threads): forward within 1.2x of torch, forward + backward
within 1.5x. Run: ``python -m tools.benchmarks.recurrent`` (wall clock, 2 threads
each, ``timing.compare``), or with ``--cpu-time`` for process CPU time on one
thread each, which stays meaningful on a shared, busy machine.
"""
from __future__ import annotations

import numpy as np

try:
    from .timing import Case, compare, cpu_time_ratio
except ImportError:                                # run as a script
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tools.benchmarks.timing import Case, compare, cpu_time_ratio

N, T, I, H = 32, 50, 16, 64
TARGETS = {("forward", "float64"): 1.2, ("forward+backward", "float64"): 1.5}


def _cases(kind: str, dtype: str) -> list[Case]:
    import torch

    import dlmath

    torch.manual_seed(0)
    tdt = getattr(torch, dtype)
    tm = getattr(torch.nn, kind)(I, H, batch_first=True).to(tdt)
    layer = dlmath.nn.from_torch(tm)
    layer.params.update({k: v.astype(dtype) for k, v in layer.params.items()})
    g = np.random.default_rng(0)
    x = g.standard_normal((N, T, I)).astype(dtype)
    dout = g.standard_normal((N, T, H)).astype(dtype)
    xt = torch.from_numpy(x)
    xg = xt.clone().requires_grad_(True)
    dt = torch.from_numpy(dout)

    def np_fwd():
        return layer.forward(x)

    def np_fwd_bwd():
        layer.forward(x)
        return layer.backward((dout, None))

    def torch_fwd():
        return tm(xt)

    def torch_fwd_bwd():
        out = tm(xg)[0]
        return torch.autograd.grad(out, [xg, *tm.parameters()], dt)

    return [Case(f"{kind} forward N={N} T={T} I={I} H={H}", dtype, np_fwd, torch_fwd,
                 target=TARGETS.get(("forward", dtype)), extra={"no_grad": True}),
            Case(f"{kind} forward+backward N={N} T={T} I={I} H={H}", dtype, np_fwd_bwd,
                 torch_fwd_bwd, target=TARGETS.get(("forward+backward", dtype)))]


BENCHMARKS: list[Case] = [c for kind in ("LSTM", "GRU")
                          for dtype in ("float64", "float32")
                          for c in _cases(kind, dtype)]


def main(argv: list[str]) -> None:
    measure = cpu_time_ratio if "--cpu-time" in argv else compare
    for case in BENCHMARKS:
        r = measure(case)
        goal = f"  (target <= {r['target']}x)" if r["target"] else ""
        print(f"{r['name']:<46} {r['dtype']:<8} numpy {1e3 * r['numpy_s']:7.2f} ms  "
              f"torch {1e3 * r['torch_s']:7.2f} ms  ratio {r['ratio']:.2f}{goal}",
              flush=True)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
