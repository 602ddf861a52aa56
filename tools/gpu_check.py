"""Every torch comparison of the book, with torch on CUDA (``make gpu-check``).

    python tools/gpu_check.py              # unit parity tests + every notebook's checks
    python tools/gpu_check.py --json out.json

Every torch reference in the tests and notebooks runs on ``dlmath.device()``,
which is CUDA when PyTorch sees a GPU. This runs (1) the unit tests of
``dlmath`` against torch (pytest, without the book build, the browser and the
linter) and (2) every notebook's code cells as a script
(``tools/run_as_script.py``: each ``assert_close`` against torch, on the GPU),
and prints pass/fail counts and timings. Outputs are not compared with the
stored ones: that is nbval's job on the CPU, where they were stored.

On a machine without a GPU it says so and exits 0 having checked nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Not torch comparisons: the book build, the browser, the linter, and tests of the
# Jupyter/instructor tooling (which a GPU server with only PyTorch lacks).
NOT_UNIT = ["tests/test_book.py", "tests/test_browser.py", "tests/test_lint.py",
            "tests/test_instructor.py", "tests/test_packaging.py"]


def gpu() -> str | None:
    """The CUDA device's name, or None when torch sees no GPU."""
    import torch

    if not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_name(0)


def run_unit_tests() -> dict:
    cmd = [sys.executable, "-m", "pytest", "-o", "addopts=", "-p", "no:cacheprovider",
           "-q", "tests"] + [f"--ignore={p}" for p in NOT_UNIT]
    try:  # a GPU server has cores to spare: spread the tests over a few
        import xdist  # noqa: F401

        cmd += ["-n", "4"]
    except ImportError:
        pass
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    counts = {k: int(v) for v, k in re.findall(
        r"(\d+) (passed|failed|errors?|skipped)", tail)}
    print(proc.stdout[-4000:] if proc.returncode else tail, flush=True)
    if proc.returncode and proc.stderr:
        print(proc.stderr[-2000:], flush=True)
    return {"returncode": proc.returncode, "seconds": seconds, "summary": tail,
            "passed": counts.get("passed", 0),
            "failed": counts.get("failed", 0) + counts.get("error", 0)
            + counts.get("errors", 0), "skipped": counts.get("skipped", 0)}


def run_notebooks() -> dict:
    cmd = [sys.executable, str(ROOT / "tools" / "run_as_script.py"),
           "--skip-widget-cells", str(ROOT / "chapters")]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    print(proc.stdout[-8000:], flush=True)
    if proc.returncode and proc.stderr:
        print(proc.stderr[-2000:], flush=True)
    ok = len(re.findall(r"^ok ", proc.stdout, re.M))
    bad = len(re.findall(r"^FAIL ", proc.stdout, re.M))
    skipped = len(re.findall(r"^skipped .* ipywidgets", proc.stdout, re.M))
    return {"returncode": proc.returncode, "seconds": seconds, "passed": ok,
            "failed": bad, "widget_cells_skipped": skipped}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    name = gpu()
    if name is None:
        print("gpu-check: no GPU found (torch.cuda.is_available() is False); "
              "nothing was checked on a GPU.")
        return 0
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.path.insert(0, str(ROOT))
    import dlmath
    import torch

    dev = dlmath.device()
    print(f"gpu-check on {name}: torch {torch.__version__}, "
          f"dlmath.device() = {dev}", flush=True)
    if dev.type != "cuda":
        print("gpu-check: torch sees a GPU but dlmath.device() is not CUDA")
        return 1
    print("== unit tests: dlmath against torch on CUDA", flush=True)
    unit = run_unit_tests()
    print("== every notebook's checks, as a script, torch on CUDA", flush=True)
    nbs = run_notebooks()
    result = {"gpu": name, "torch": torch.__version__, "unit_tests": unit,
              "notebooks": nbs}
    print(f"\ngpu-check on {name}:\n"
          f"  unit tests: {unit['passed']} passed, {unit['failed']} failed, "
          f"{unit['skipped']} skipped in {unit['seconds']:.0f} s\n"
          f"  notebooks:  {nbs['passed']} passed, {nbs['failed']} failed "
          f"in {nbs['seconds']:.0f} s"
          + (f" ({nbs['widget_cells_skipped']} widget cells skipped: no ipywidgets)"
             if nbs["widget_cells_skipped"] else ""))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 1 if unit["returncode"] or nbs["returncode"] else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
