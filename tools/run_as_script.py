"""Run notebooks' code cells as plain Python, without Jupyter.

    python tools/run_as_script.py chapters            # every notebook
    python tools/run_as_script.py chapters/01_*/*.ipynb

For machines that have PyTorch but no Jupyter kernel, such as a GPU server:
every `assert_close` against torch then runs on `dlmath.device()`, i.e. on
CUDA when present. IPython magics (`%pip`, `!cmd`) are skipped, figures are
drawn off-screen and closed, and a cell tagged `raises-exception` may raise.
Outputs are not compared (that is nbval's job); any failing cell fails the run.

    python tools/run_as_script.py --skip-widget-cells chapters

On a server without ipywidgets: a cell that fails only because ipywidgets is
missing (it builds a widget; the book shows a static figure beside it) is
reported as skipped instead of ending the notebook, so every torch check after
it still runs. The count of skipped cells is printed.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
import traceback
from pathlib import Path

# One BLAS/OpenMP thread, as in the Makefile, set before anything imports
# numpy (matplotlib does): OpenBLAS reads these variables once, when it loads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import matplotlib  # noqa: E402
from execute_notebooks import notebook_paths  # noqa: E402  (tools/ is on sys.path)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MAGIC = re.compile(r"^(\s*)[%!].*$", re.M)


SKIPPED_WIDGET_CELLS: list[str] = []


def _missing_widgets(exc: BaseException) -> bool:
    return isinstance(exc, ModuleNotFoundError) and exc.name in ("ipywidgets",
                                                                  "IPython")


def run(path: Path, skip_widget_cells: bool = False) -> tuple[int, int]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    ns: dict = {"__name__": "__main__"}
    cwd = os.getcwd()
    os.chdir(path.parent)
    failures = cells = 0
    plt.show = lambda *a, **k: plt.close("all")
    try:
        for i, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
            src = MAGIC.sub(r"\1pass", "".join(cell["source"]))
            cells += 1
            try:
                exec(compile(src, f"{path.name}[cell {i + 1}]", "exec"), ns)
            except Exception as exc:
                if "raises-exception" in cell.get("metadata", {}).get("tags", []):
                    continue
                if skip_widget_cells and _missing_widgets(exc):
                    SKIPPED_WIDGET_CELLS.append(f"{path.name} cell {i + 1}")
                    print(f"skipped {path.name} cell {i + 1}: ipywidgets is not "
                          "installed (a widget cell)", flush=True)
                    continue
                failures += 1
                print(
                    f"FAILED {path} cell {i + 1}:\n{traceback.format_exc()}", flush=True
                )
                break
            finally:
                plt.close("all")
    finally:
        os.chdir(cwd)
    return cells, failures


def main(args: list[str]) -> int:
    skip = "--skip-widget-cells" in args
    paths = notebook_paths([a for a in args if a != "--skip-widget-cells"])
    failed_notebooks = 0
    for p in paths:
        start = time.perf_counter()
        cells, failures = run(p.resolve(), skip)
        failed_notebooks += bool(failures)
        print(
            f"{'ok ' if not failures else 'FAIL'} "
            f"{time.perf_counter() - start:6.1f} s  "
            f"{cells:3d} cells  {p}",
            flush=True,
        )
    print(
        f"{len(paths) - failed_notebooks} notebooks passed, {failed_notebooks} failed"
        + (f", {len(SKIPPED_WIDGET_CELLS)} widget cells skipped (no ipywidgets)"
           if SKIPPED_WIDGET_CELLS else "")
    )
    return 1 if failed_notebooks else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
