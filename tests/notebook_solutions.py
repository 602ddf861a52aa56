"""Reference solutions from the notebooks' own solution cells, never retyped in tests.

``solutions(path)`` runs a notebook's setup cell (the Colab install line
becomes ``pass``) and then every cell holding ``### BEGIN SOLUTION``, and
returns the namespace, so a test can hand ``ns["my_function"]`` to its check.
Solution cells must therefore be self-contained given the setup cell's imports.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python(src: str) -> str:
    """IPython magics (``%pip ...``, ``!cmd``) become ``pass``, keeping the indent."""
    return re.sub(r"^(\s*)[%!].*$", r"\1pass", src, flags=re.M)


@lru_cache(maxsize=None)
def _namespace(path: str) -> dict:
    nb = json.loads((ROOT / path).read_text(encoding="utf-8"))
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    ns: dict = {"__name__": "solutions"}
    exec(compile(_python(code[0]), f"{path}[setup]", "exec"), ns)
    for i, src in enumerate(code):
        if "### BEGIN SOLUTION" in src:
            exec(compile(_python(src), f"{path}[code cell {i + 1}]", "exec"), ns)
    return ns


def solutions(path: str) -> dict:
    """The names that the setup and solution cells of ``path`` (from the root)
    define."""
    return dict(_namespace(path))


CALL = re.compile(r"^(ch\d\d)\.(check_\w+)\((\w+)(?:, seed=(\d+))?\)\s*$", re.M)


def check_calls(path: str) -> list[tuple[str, str, str, int | None]]:
    """Every check call in the check cells of ``path``, visible and hidden:
    ``(module, check, function name, seed or None)``."""
    nb = json.loads((ROOT / path).read_text(encoding="utf-8"))
    calls = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            for m in CALL.finditer("".join(cell["source"])):
                calls.append((m[1], m[2], m[3], int(m[4]) if m[4] else None))
    return calls
