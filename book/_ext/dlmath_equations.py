"""The book's equations and checks, read from its sources (no Sphinx needed).

Shared by the build (book/_ext/dlmath_book.py: check lines, the *Verified
equations* appendix) and the structural test (tests/test_equations.py).

- A labelled display equation is ``$$ ... $$ (eq-label)`` in a markdown cell.
  The line right before its opening ``$$`` may carry a MyST comment
  ``% eq: definition`` or ``% eq: step`` (BRIEF convention 2).
- A check line is what ``dlmath.check.check_line`` prints:
  ``✓ [eq-label] {name} matches {against}: max abs err 4.4e-16, max rel err
  1.3e-16 (rtol 1e-12, atol 1e-12)`` (``[eq-label]`` and the relative error
  optional).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

MARKER = re.compile(r"^\s*%\s*eq:\s*(definition|step)\s*$")
CLOSE = re.compile(r"\$\$\s*(?:\((eq-[\w-]+)\))?\s*$")
CHECK = re.compile(
    r"✓ (?:\[(?P<eq>eq-[\w-]+)\] )?(?P<name>.+?) matches (?P<against>.+?): "
    r"max abs err (?P<abs>[-+\w.]+)(?:, max rel err (?P<rel>[-+\w.]+))? "
    r"\(rtol (?P<rtol>[-+\w.]+), atol (?P<atol>[-+\w.]+)\)")
CITE = re.compile(r"""\beq\s*=\s*["'](eq-[\w-]+)["']""")
CHECK_LABEL = re.compile(r"\[(eq-[\w-]+)\]")


@dataclass
class Equation:
    label: str
    marker: str | None      # "definition", "step" or None


def display_equations(markdown: str) -> list[Equation]:
    """The labelled display equations of a markdown text, in order."""
    out, lines, i = [], markdown.splitlines(), 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("$$"):
            prev = lines[i - 1] if i else ""
            marker = MARKER.match(prev)
            rest = line[2:]
            j = i
            # a one-line equation `$$ x $$ (eq-a)` or a block up to its closing `$$`
            m = CLOSE.search(rest) if "$$" in rest else None
            while m is None and j + 1 < len(lines):
                j += 1
                m = CLOSE.search(lines[j].strip())
            if m and m.group(1):
                out.append(Equation(m.group(1), marker.group(1) if marker else None))
            i = j + 1
        else:
            i += 1
    return out


def notebook_equations(nb: dict) -> list[Equation]:
    return [e for c in nb["cells"] if c["cell_type"] == "markdown"
            for e in display_equations("".join(c["source"]))]


def cited_labels(nb: dict) -> set[str]:
    """Labels that a check of the notebook names: ``eq="..."`` in code, or
    ``[eq-...]`` in a stored ✓ line."""
    found: set[str] = set()
    for c in nb["cells"]:
        if c["cell_type"] != "code":
            continue
        found |= set(CITE.findall("".join(c["source"])))
        for o in c.get("outputs", []):
            text = "".join(o.get("text", ""))
            for line in text.splitlines():
                if line.lstrip().startswith("✓"):
                    found |= set(CHECK_LABEL.findall(line))
    return found


def unverified(path: Path) -> list[str]:
    """Labelled equations of a notebook that no check cites and no marker tags."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cited = cited_labels(nb)
    return [e.label for e in notebook_equations(nb)
            if e.marker is None and e.label not in cited]
