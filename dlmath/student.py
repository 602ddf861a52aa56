"""Student notebooks (solutions stripped, checks kept) and nbgrader metadata.

``python -m dlmath.student chapters student`` copies every notebook under
``chapters/`` to ``student/``, replacing each block between the nbgrader
markers ``### BEGIN SOLUTION`` and ``### END SOLUTION`` by
``raise NotImplementedError()`` (indented like the block), clearing the
outputs of the cells it changed and of the checks after them, and un-hiding
the solution cells so that students see where to write. Hidden tests in a
check cell (between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``,
nbgrader's markers) are removed too: only the instructor's source runs them.
The markdown that opens and closes a solution (sphinx-exercise's
``{solution-start}`` cell, with a derivation exercise's written-out derivation,
and ``{solution-end}``) goes too; a derivation exercise gets a
``*Your derivation here.*`` cell in its place (``strip_written_solutions``,
which nbgrader's release runs too: ``tools/nbgrader_release.py``).

``python -m dlmath.student --sync chapters`` writes nbgrader's cell metadata
(solution cells; locked, graded check cells with points) into every notebook,
so ``nbgrader generate_assignment`` releases them and ``autograde`` scores them.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
HIDDEN = re.compile(
    r"^[ \t]*### BEGIN HIDDEN TESTS[ \t]*\n.*?^[ \t]*### END HIDDEN TESTS[ \t]*\n?",
    re.M | re.S,
)
STUB = "raise NotImplementedError()  # your code here"
SOLUTION_START = re.compile(r"^\s*(`{3,})\{solution-start\}\s*(\S+)")
SOLUTION_END = re.compile(r"^\s*`{3,}\{solution-end\}")
EXERCISE = re.compile(
    r"^\s*(?:`{3,}|:{3,})\{exercise\}(?P<title>.*)\n:label:\s*(?P<label>\S+)")
DERIVATION_STUB = "*Your derivation here.*"


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


def strip_written_solutions(cells: list[dict]) -> list[dict]:
    """The cells without the markdown of the written solutions.

    Each ``{solution-start}`` cell (the dropdown's opening, with a derivation
    exercise's written-out derivation or an answer in words) and each
    ``{solution-end}`` cell goes; a derivation exercise gets a
    ``*Your derivation here.*`` cell in its place. Every other cell is kept
    as it is (the same objects). Used by the student edition and by nbgrader's
    release (``tools/nbgrader_release.py``), so this module needs only the
    standard library.
    """
    derivation = {}                       # exercise label -> is it a derivation?
    for cell in cells:
        m = EXERCISE.match("".join(cell["source"])) \
            if cell["cell_type"] == "markdown" else None
        if m:
            derivation[m["label"]] = m["title"].strip().endswith("(derivation)")
    kept = []
    for cell in cells:
        src = "".join(cell["source"])
        start = SOLUTION_START.match(src) if cell["cell_type"] == "markdown" else None
        if start:
            if derivation.get(start.group(2)):
                stub = {k: v for k, v in cell.items() if k != "attachments"}
                kept.append(dict(stub, source=DERIVATION_STUB,
                                 metadata=dict(cell.get("metadata", {}))))
        elif not (cell["cell_type"] == "markdown" and SOLUTION_END.match(src)):
            kept.append(cell)
    return kept


def student_notebook(nb: dict) -> dict:
    """A copy of a notebook (nbformat 4 JSON) with solutions stripped."""
    nb = json.loads(json.dumps(nb))
    nb["cells"] = strip_written_solutions(nb["cells"])
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
        else:                                   # a check cell: its hidden tests go
            cell["source"] = HIDDEN.sub("", src)
        cell["outputs"], cell["execution_count"] = [], None
    return nb


CHECK = re.compile(r"\b(?:\w+\.)?(check_\w+)\(")
POINTS = re.compile(r"^#\s*points:\s*(\d+)\s*$", re.M)


def _nbgrader(**fields) -> dict:
    meta = {"solution": False, "grade": False, "locked": False, "task": False,
            "schema_version": 3}
    meta.update(fields)
    return meta


def nbgrader_metadata(nb: dict) -> dict:
    """A copy of ``nb`` whose exercise cells carry nbgrader's cell metadata.

    Each cell holding ``### BEGIN SOLUTION`` becomes an nbgrader solution cell
    (``grade_id`` ``<check name>_solution``); the check cell after it becomes a
    locked, graded cell (``grade_id`` ``<check name>``) worth 1 point, or N for
    a line ``# points: N`` in the cell. Every other cell loses any nbgrader
    metadata. Idempotent: ``tools``/the structural test compare the stored
    notebook with this function's output.
    """
    nb = json.loads(json.dumps(nb))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for cell in nb["cells"]:
        cell.setdefault("metadata", {}).pop("nbgrader", None)
    for i, cell in enumerate(code):
        src = "".join(cell["source"])
        if BEGIN not in src:
            continue
        nxt = code[i + 1] if i + 1 < len(code) else None
        found = CHECK.search("".join(nxt["source"])) if nxt else None
        if not found:
            raise ValueError(f"nbgrader_metadata: the cell after solution cell {i + 1} "
                             f"must run its check_...() function")
        name = found.group(1)
        pts = POINTS.search("".join(nxt["source"]))
        cell["metadata"]["nbgrader"] = _nbgrader(
            solution=True, grade_id=f"{name}_solution"
        )
        nxt["metadata"]["nbgrader"] = _nbgrader(grade=True, locked=True, grade_id=name,
                                                points=int(pts.group(1)) if pts else 1)
    return nb


def sync_nbgrader(paths: list[Path], check: bool = False) -> list[Path]:
    """Write nbgrader metadata into each notebook; ``check``: only list stale ones."""
    stale = []
    for path in paths:
        nb = json.loads(path.read_text(encoding="utf-8"))
        new = nbgrader_metadata(nb)
        if new != nb:
            stale.append(path)
            if not check:
                path.write_text(json.dumps(new, indent=1, ensure_ascii=False) + "\n",
                                encoding="utf-8")
    return stale


def _notebooks(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path, help="folder with the notebooks (e.g. chapters)")
    ap.add_argument("dst", type=Path, nargs="?", help="output folder (e.g. student)")
    ap.add_argument(
        "--sync",
        action="store_true",
        help="write nbgrader cell metadata into the notebooks of src instead",
    )
    args = ap.parse_args(argv)
    if args.sync:
        stale = sync_nbgrader(_notebooks(args.src))
        print(f"updated nbgrader metadata in {len(stale)} notebooks")
        return 0
    if args.dst is None:
        ap.error("dst is required unless --sync is given")
    n = 0
    for path in _notebooks(args.src):
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
