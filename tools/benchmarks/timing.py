"""Fair timing of a numpy kernel against torch on a small machine.

On 2 cores, a library's worker threads keep spinning for a while after a call
and steal the cores from whatever runs next. So each timed call is preceded by
a ~0.2 s pause and one untimed warm-up call, the two libraries are timed in
alternation, and the median of the repeats is reported.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Case:
    """One comparison: ``numpy()`` and ``torch()`` compute the same (no arguments)."""

    name: str
    dtype: str                      # "float64" or "float32"
    numpy: Callable[[], object]
    torch: Callable[[], object]
    target: float | None = None     # the ratio numpy/torch the book aims for, if any
    note: str = ""
    extra: dict = field(default_factory=dict)


def _time_once(fn: Callable[[], object], settle: float) -> float:
    time.sleep(settle)
    fn()                                            # warm-up: caches, thread pools
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(
    case: Case, repeats: int = 7, settle: float = 0.2, threads: int = 2
) -> dict:
    """Median seconds of ``case.numpy``, ``case.torch``, their ratio (numpy / torch).

    Both libraries get ``threads`` threads (torch.set_num_threads; numpy's BLAS
    through threadpoolctl), timed in alternation.
    """
    import torch
    from threadpoolctl import threadpool_limits

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    t_np, t_torch = [], []
    try:
        with threadpool_limits(limits=threads):
            for _ in range(repeats):
                t_np.append(_time_once(case.numpy, settle))
                with torch.no_grad() if case.extra.get("no_grad") else _null():
                    t_torch.append(_time_once(case.torch, settle))
    finally:
        torch.set_num_threads(old)
    a, b = statistics.median(t_np), statistics.median(t_torch)
    return {"name": case.name, "dtype": case.dtype, "numpy_s": a, "torch_s": b,
            "ratio": a / b, "target": case.target, "note": case.note}


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
