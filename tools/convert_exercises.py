"""Convert exercises to the book's five-cell layout (BRIEF convention 7, issue 18).

    python tools/convert_exercises.py chapters              # every notebook
    python tools/convert_exercises.py chapters/07_*/0*.ipynb --check   # list only

The old layouts -- a markdown statement headed ``### Exercise 2.1: title``,
``### Exercise 6.4 (derivation): title`` or ``**Exercise 7.4 (derivation).**``,
an optional ``*Your derivation here.*`` cell, the ``hide-input`` solution cell
(nbgrader's ``### BEGIN SOLUTION`` ... ``### END SOLUTION``) and the check cell --
become, per exercise:

1. the statement as a sphinx-exercise directive, labelled ``ex-<chapter>-<n>``
   from the heading's number, titled ``<title>`` or ``<title> (derivation)``;
   text of the cell before the heading (``## Exercises`` and an introduction)
   stays in a cell of its own;
2. ``{solution-start} ex-<chapter>-<n>`` with ``:class: dropdown`` (the cell where
   a derivation exercise's written-out derivation goes);
3. the solution cell, no longer ``hide-input`` (the dropdown collapses it);
4. ``{solution-end}``;
5. the check cell, unchanged.

Idempotent: an exercise already in this layout is left alone, so running it
twice gives the same notebook (tests/test_convert_exercises.py). Outputs,
metadata and the nbgrader markers are kept; run ``python -m dlmath.student
--sync chapters`` afterwards (nbgrader metadata).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HEADING = re.compile(
    r"^(?:#{2,4}[ \t]*Exercise[ \t]+(?P<c1>\d+)\.(?P<n1>\d+)(?P<rest1>.*)$"
    r"|\*\*Exercise[ \t]+(?P<c2>\d+)\.(?P<n2>\d+)(?P<rest2>[^*\n]*)\*\*[ \t]*)",
    re.M)
PLACEHOLDER = re.compile(r"^\s*\*Your derivation here\.?\*\s*$")
SOLUTION_START = re.compile(r"^\s*```+\{solution-start\}", re.M)
DERIVATION = re.compile(r"\(\s*(?:a\s+)?derivation\s*\)", re.I)


def _src(cell: dict) -> str:
    return "".join(cell["source"])


def _markdown(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {},
            "source": text.splitlines(keepends=True)}


def parse_title(rest: str, function: str | None) -> tuple[str, bool]:
    """``(title, is_derivation)`` from what follows "Exercise C.N" in a heading."""
    derivation = bool(DERIVATION.search(rest))
    title = DERIVATION.sub("", rest)
    title = re.sub(r"\s+", " ", title).strip(" \t:.-")
    if not title:
        title = f"`{function}`" if function else "Exercise"
    elif title[0].islower():
        title = title[0].upper() + title[1:]
    return title, derivation


def _fence(title: str, body: str) -> str:
    """```` ``` ```` (longer if the body holds a fence); ``:::`` (MyST's colon
    fence) for a title with a backtick, which a backtick fence's info string
    cannot hold."""
    char = ":" if "`" in title else "`"
    longest = max((len(m) for m in re.findall(re.escape(char) + "{3,}", body)),
                  default=0)
    return char * max(3, longest + 1)


def exercise_cell(label: str, title: str, derivation: bool, body: str) -> str:
    full = f"{title} (derivation)" if derivation else title
    fence = _fence(full, body)
    return f"{fence}{{exercise}} {full}\n:label: {label}\n\n{body.strip()}\n{fence}"


def solution_start(label: str) -> str:
    return f"```{{solution-start}} {label}\n:class: dropdown\n```"


SOLUTION_END = "```{solution-end}\n```"


def _function_name(code: str) -> str | None:
    m = re.search(r"^def (\w+)\(", code, re.M)
    return m.group(1) if m else None


def convert_notebook(nb: dict) -> tuple[dict, int]:
    """A copy of ``nb`` with its old-layout exercises converted; and how many."""
    nb = json.loads(json.dumps(nb))
    cells = nb["cells"]
    converted = 0
    i = 0
    while i < len(cells):
        cell = cells[i]
        if cell["cell_type"] != "code" or "### BEGIN SOLUTION" not in _src(cell):
            i += 1
            continue
        prev = cells[i - 1] if i else None
        if prev is not None and prev["cell_type"] == "markdown" \
                and SOLUTION_START.search(_src(prev)):
            i += 1                                    # already in the new layout
            continue
        # the markdown cells between the previous code cell and this solution
        j = i - 1
        while j >= 0 and cells[j]["cell_type"] == "markdown":
            if HEADING.search(_src(cells[j])):
                break
            j -= 1
        if j < 0 or cells[j]["cell_type"] != "markdown":
            raise ValueError(f"solution cell {i}: no 'Exercise C.N' heading before it")
        head = _src(cells[j])
        m = list(HEADING.finditer(head))[-1]
        chapter, number = (m["c1"], m["n1"]) if m["c1"] else (m["c2"], m["n2"])
        rest = m["rest1"] if m["c1"] else m["rest2"]
        label = f"ex-{int(chapter)}-{int(number)}"
        title, derivation = parse_title(rest or "", _function_name(_src(cell)))
        before = head[:m.start()].rstrip()
        body_parts = [head[m.end():].strip()]
        for k in range(j + 1, i):                     # statement continued, placeholder
            text = _src(cells[k])
            if not PLACEHOLDER.match(text):
                body_parts.append(text.strip())
        body = "\n\n".join(p for p in body_parts if p)
        tags = [t for t in cell.get("metadata", {}).get("tags", [])
                if t not in ("hide-input", "hide-cell")]
        if tags:
            cell["metadata"]["tags"] = tags
        else:
            cell.get("metadata", {}).pop("tags", None)
        statement = dict(cells[j], source=_markdown(
            exercise_cell(label, title, derivation, body))["source"])
        new = ([_markdown(before)] if before else []) + [
            statement,
            _markdown(solution_start(label)),
            cell,
            _markdown(SOLUTION_END),
        ]
        cells[j:i + 1] = new
        i = j + len(new)
        converted += 1
    for c in cells:  # nbformat 4.5 wants an id on every cell; keep the others'
        if "id" not in c and any("id" in o for o in cells):
            c["id"] = _new_id(cells)
    return nb, converted


def _new_id(cells: list[dict]) -> str:
    import hashlib

    taken = {c.get("id") for c in cells}
    k = 0
    while True:
        cid = hashlib.sha1(f"dlmath-exercise-{k}".encode()).hexdigest()[:8]
        if cid not in taken:
            return cid
        k += 1


EXERCISE = re.compile(
    r"^(`{3,}|:{3,})\{exercise\}[ \t]*(?P<title>.*)\n:label:[ \t]*(?P<label>\S+)")
START = re.compile(
    r"^(`{3,})\{solution-start\}[ \t]+(?P<label>\S+)\n:class: dropdown\n")
END = re.compile(r"^(`{3,})\{solution-end\}\n?`{3,}\s*$")


def layout(nb: dict) -> tuple[list[str], list[str]]:
    """``(labels in reading order, problems)`` of a notebook's exercises against the
    five-cell layout (statement, solution-start, solution, solution-end, check)."""
    cells, labels, problems = nb["cells"], [], []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code" or "### BEGIN SOLUTION" not in _src(cell):
            continue
        where = f"solution cell {i}"
        five = cells[i - 2:i + 3] if i >= 2 else []
        kinds = [c["cell_type"] for c in five]
        if kinds != ["markdown", "markdown", "code", "markdown", "code"]:
            problems.append(f"{where}: not in the five-cell exercise layout "
                            "(run tools/convert_exercises.py)")
            continue
        ex, start = EXERCISE.match(_src(five[0])), START.match(_src(five[1]))
        if not ex or not start or not END.match(_src(five[3])):
            problems.append(f"{where}: expected {{exercise}}, {{solution-start}} "
                            "with :class: dropdown, the solution, {solution-end}")
            continue
        if ex[1][0] == "`" and "`" in ex["title"]:
            problems.append(f"{where}: a backtick fence cannot hold a title with "
                            "backticks: use ':::{exercise}'")
        if ex["label"] != start["label"]:
            problems.append(f"{where}: solution-start {start['label']} does not name "
                            f"the exercise above it ({ex['label']})")
        if not re.fullmatch(r"ex-\d+-\d+", ex["label"]):
            problems.append(f"{where}: label {ex['label']} is not ex-<chapter>-<n>")
        title = ex["title"].strip()
        if not title or DERIVATION.search(title.removesuffix(" (derivation)")):
            problems.append(f"{where}: title {title!r}: a name, then ' (derivation)' "
                            "last for a derivation exercise")
        if "hide-input" in cell.get("metadata", {}).get("tags", []):
            problems.append(f"{where}: hide-input inside the solution dropdown")
        if not re.search(r"\bcheck_\w+\(", _src(five[4])):
            problems.append(f"{where}: the cell after the solution runs no check")
        labels.append(ex["label"])
    return labels, problems


def _notebooks(paths: list[Path]) -> list[Path]:
    out = []
    for p in paths:
        out += sorted(p.rglob("*.ipynb")) if p.is_dir() else [p]
    return [p for p in out if ".ipynb_checkpoints" not in p.parts]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+", type=Path)
    ap.add_argument("--check", action="store_true",
                    help="only list notebooks that still have old-layout exercises")
    args = ap.parse_args(argv)
    stale = 0
    for path in _notebooks(args.paths):
        nb = json.loads(path.read_text(encoding="utf-8"))
        new, n = convert_notebook(nb)
        if n:
            stale += 1
            done = "to convert" if args.check else "converted"
            print(f"{path}: {n} exercise(s) {done}")
            if not args.check:
                path.write_text(json.dumps(new, indent=1, ensure_ascii=False) + "\n",
                                encoding="utf-8")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
