"""Write constraints.txt: the exact version of every package in this environment.

    .venv/bin/python tools/freeze_constraints.py     # or: make constraints

CI installs with ``pip install -c constraints.txt``, so the stored notebook outputs
are compared under the versions they were produced with. Run this after an
intentional upgrade, re-execute the notebooks, and commit both. Reads installed
metadata only (no pip call); local version labels are dropped, so the torch pin
matches its CPU and CUDA builds alike.
"""
from __future__ import annotations

import importlib.metadata as md
import platform
import sys
from datetime import date
from pathlib import Path

SKIP = {"dlmath", "pip", "setuptools", "wheel"}


def main() -> int:
    pins = {}
    for dist in md.distributions():
        name = dist.metadata["Name"]
        if name and name.lower() not in SKIP:
            pins[name.lower()] = f"{name}=={dist.version.split('+')[0]}"
    header = (
        f"# Exact versions CI installs (pip install -c constraints.txt ...), "
        f"so stored\n"
        f"# notebook outputs are compared under known versions. Written by\n"
        f"# tools/freeze_constraints.py on {date.today()} from Python "
        f"{platform.python_version()} ({sys.platform}).\n"
    )
    out = Path(__file__).resolve().parents[1] / "constraints.txt"
    out.write_text(
        header + "".join(pins[k] + "\n" for k in sorted(pins)), encoding="utf-8"
    )
    print(f"{len(pins)} pins written to {out.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
