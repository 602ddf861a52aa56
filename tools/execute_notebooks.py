"""Execute notebooks in place, top to bottom in a fresh kernel, storing outputs.

    python tools/execute_notebooks.py chapters            # every notebook
    python tools/execute_notebooks.py chapters/01_*/02_*.ipynb

Notebooks are committed executed (nbval compares against the stored outputs,
and GitHub and Colab show them). Run this after editing a notebook.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path


# Same thread settings as the Makefile, so stored outputs match `make test`.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def notebook_paths(args: list[str]) -> list[Path]:
    """The notebooks named by ``args``: files as given, folders searched recursively."""
    paths: list[Path] = []
    for a in args or ["chapters"]:
        p = Path(a)
        paths += (
            sorted(q for q in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in q.parts)
            if p.is_dir()
            else [p]
        )
    return paths


def book_timeout() -> int:
    """The book build's per-cell timeout (``execute.timeout`` in _config.yml)."""
    import yaml

    config = Path(__file__).resolve().parents[1] / "_config.yml"
    return int(yaml.safe_load(config.read_text(encoding="utf-8"))["execute"]["timeout"])


def execute(path: Path, timeout: int | None = None) -> float:
    """Run ``path`` top to bottom in a fresh kernel, store the outputs; returns seconds.

    Each cell gets the book build's timeout unless ``timeout`` is given, so a
    notebook that executes here also executes in ``jupyter-book build``.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    start = time.perf_counter()
    timeout = book_timeout() if timeout is None else timeout
    NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    elapsed = time.perf_counter() - start
    for cell in nb.cells:  # keep diffs small: no per-cell timing metadata
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    return elapsed


def main(args: list[str]) -> int:
    for p in notebook_paths(args):
        print(f"{execute(p):6.1f} s  {p}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
