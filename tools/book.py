"""Build the book (``jupyter-book build . -W -n --keep-going``) and time it.

    python tools/book.py                 # build into _build/, print the wall time

``tests/conftest.py`` builds through ``build_book`` once per test session, and
``tools/bench.py --build-times`` times a cold and a warm build with it.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def jupyter_book() -> str:
    jb = Path(sys.executable).with_name("jupyter-book")
    found = str(jb) if jb.exists() else shutil.which("jupyter-book")
    if found is None:
        raise FileNotFoundError("jupyter-book is not installed (make book installs it)")
    return found


def build_book(root: Path = ROOT, output: Path | None = None,
               timeout: int = 1500) -> dict:
    """Build the book; ``output`` is a folder that gets ``_build/`` (default: ``root``).

    Returns ``{"returncode", "log", "seconds"}``.
    """
    cmd = [jupyter_book(), "build", str(root), "-W", "-n", "--keep-going"]
    if output is not None:
        cmd += ["--path-output", str(output)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True,
                          timeout=timeout)
    return {"returncode": proc.returncode, "log": proc.stdout + proc.stderr,
            "seconds": time.perf_counter() - start}


if __name__ == "__main__":
    out = build_book()
    print(out["log"][-3000:])
    print(f"build {'succeeded' if out['returncode'] == 0 else 'FAILED'} "
          f"in {out['seconds']:.1f} s")
    raise SystemExit(out["returncode"])
