"""Make student versions of the notebooks: solutions stripped, checks kept.

``python -m dlmath.student chapters student`` copies every notebook under
``chapters/`` to ``student/``, replacing each block between the nbgrader
markers ``### BEGIN SOLUTION`` and ``### END SOLUTION`` by
``raise NotImplementedError()`` (indented like the block), clearing the
outputs of the cells it changed and of the checks after them, and un-hiding
the solution cells so that students see where to write.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = "raise NotImplementedError()  # your code here"


def strip_solution(source: str) -> str:
    """Replace each BEGIN/END SOLUTION block of a cell's source by a stub."""
    out, inside, indent = [], False, ""
    for line in source.splitlines(keepends=True):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError("strip_solution: nested '### BEGIN SOLUTION'")
            inside, indent = True, line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}{STUB}\n")
        elif stripped == END:
            if not inside:
                raise ValueError("strip_solution: '### END SOLUTION' without BEGIN")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError("strip_solution: '### BEGIN SOLUTION' without END")
    return "".join(out)


def student_notebook(nb: dict) -> dict:
    """A copy of a notebook (nbformat 4 JSON) with solutions stripped."""
    nb = json.loads(json.dumps(nb))
    after_solution = False
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        if BEGIN in src:
            cell["source"] = strip_solution(src)
            tags = cell.get("metadata", {}).get("tags", [])
            cell.setdefault("metadata", {})["tags"] = [
                t for t in tags if t not in ("hide-input", "hide-cell", "solution")
            ]
            after_solution = True
        elif not (after_solution and re.search(r"\bcheck_\w+\(", src)):
            after_solution = False
            continue
        cell["outputs"], cell["execution_count"] = [], None
    return nb


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path, help="folder with the notebooks (e.g. chapters)")
    ap.add_argument("dst", type=Path, help="output folder (e.g. student)")
    args = ap.parse_args(argv)
    n = 0
    for path in sorted(args.src.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        target = args.dst / path.relative_to(args.src)
        target.parent.mkdir(parents=True, exist_ok=True)
        nb = json.loads(path.read_text(encoding="utf-8"))
        target.write_text(
            json.dumps(student_notebook(nb), indent=1, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
        n += 1
    print(f"wrote {n} student notebooks to {args.dst}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
