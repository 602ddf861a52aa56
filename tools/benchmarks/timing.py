"""Fair timing of a numpy kernel against torch on a small machine.

On 2 cores, a library's worker threads keep spinning for a while after a call
and steal the cores from whatever runs next. So each timed call is preceded by
a ~0.2 s pause and one untimed warm-up call, the two libraries are timed in
alternation, and the median of the repeats is reported (the fastest is kept too,
as ``fastest_ratio``). The median is the typical call: torch's two threads
sometimes both get a core and sometimes not (on this machine its attention
fwd+bwd takes 7.3 ms at best and 12.8 ms typically), so a minimum would compare
torch's luckiest call with numpy's single-threaded one.
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
    case: Case, repeats: int = 11, settle: float = 0.2, threads: int = 2
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
            "ratio": a / b, "target": case.target, "note": case.note,
            "fastest_ratio": min(t_np) / min(t_torch)}


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def cpu_time_ratio(case: Case, repeats: int = 40) -> dict:
    """Median *process CPU time* of each side, one thread each, calls interleaved.

    A proxy for a busy machine, where wall-clock ratios mostly measure who got
    the cores (see ``compare``): CPU time counts only the work done. torch runs
    under ``no_grad`` where the case asks for it (the forward-only cases).
    """
    import contextlib
    import statistics
    import time

    import torch
    from threadpoolctl import threadpool_limits

    ctx = torch.no_grad if case.extra.get("no_grad") else contextlib.nullcontext
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    times: dict[str, list[float]] = {"numpy": [], "torch": []}
    try:
        with threadpool_limits(limits=1), ctx():
            case.numpy(), case.torch()
            for _ in range(repeats):
                for name, fn in (("numpy", case.numpy), ("torch", case.torch)):
                    t0 = time.process_time()
                    fn()
                    times[name].append(time.process_time() - t0)
    finally:
        torch.set_num_threads(old)
    a, b = (statistics.median(times[k]) for k in ("numpy", "torch"))
    return {"name": case.name, "dtype": case.dtype, "numpy_s": a, "torch_s": b,
            "ratio": a / b, "target": case.target}
