"""make bench: the benchmark cases compute what they claim, and the page renders.

Timing itself is not tested (it is `make bench`'s job and machine-dependent);
what is tested is that every case of ``tools/benchmarks/`` is well formed and,
where it has a ``check``, that dlmath and torch compute the same numbers, so a
ratio in the Performance appendix is never taken between different computations.
"""
from __future__ import annotations

import importlib

import pytest

from tools import bench
from tools.benchmarks.timing import Case

MODULES = bench.benchmark_modules()


def test_core_benchmarks_are_discovered():
    assert "core" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_benchmark_cases_are_well_formed_and_agree(name):
    module = importlib.import_module(f"tools.benchmarks.{name}")
    cases = module.BENCHMARKS
    assert cases, f"tools/benchmarks/{name}.py defines no BENCHMARKS"
    for case in cases:
        assert isinstance(case, Case)
        assert case.dtype in ("float64", "float32"), case.dtype
        assert callable(case.numpy) and callable(case.torch)
        if "check" in case.extra:
            case.extra["check"]()


def test_page_renders_every_section():
    data = {
        "machine": {"cpu": "Test CPU", "cores": 2, "os": "Linux", "python": "3.11",
                    "numpy": "2", "torch": "2.13", "blas_threads": "1",
                    "load_average": 0.5, "date": "2026-11-28 00:00 UTC"},
        "notebooks": [{"notebook": "chapters/a/01_x.ipynb", "seconds": 12.0,
                       "error": ""},
                      {"notebook": "chapters/a/02_y.ipynb", "seconds": 75.0,
                       "error": ""}],
        "kernels": [{"module": "core", "name": "MLP step", "dtype": "float64",
                     "numpy_s": 0.002, "torch_s": 0.001, "ratio": 2.0,
                     "target": None, "note": "Chapter 5"}],
        "build": {"cold_s": 300.0, "warm_s": 20.0, "ok": True},
    }
    page = bench.render_page(data)
    assert page.startswith("# Performance")
    assert "Test CPU, 2 cores" in page
    # the chart shows every notebook; the text names only those over budget
    assert "Over budget: `chapters/a/02_y.ipynb` (75.0 s)." in page
    assert "01_x" not in page
    assert "| cold | 300.0 |" in page and "| warm | 20.0 |" in page
    # no target of its own: float64's default (1.5); above it: flagged
    assert "| MLP step | float64 | 2.00 | 1.00 | **2.00 above target** | 1.5 |" in page
    assert "1 of the ratios are above their target" in page
    assert "$" not in page  # no TeX to leak
