"""Break long display equations into ``gathered``/``aligned`` lines (a first pass).

    python tools/break_equations.py chapters/07_*/0*.ipynb          # in place
    python tools/break_equations.py --limit 22 path.ipynb

For each display equation (``$$ ... $$``) of a notebook's markdown that has no
``\\begin`` and no ``\\\\`` yet and is long (more than ``--limit`` visible
symbols, 22 by default: about what a 420 px column holds), statements separated
by ``\\qquad`` (or by ``\\quad`` when each has a relation) go on lines of their
own (``gathered``), and a chain ``a = b = c`` is aligned at its relations, one per
line. Only breaks at depth 0 (outside braces, brackets and ``\\left...\\right``).
Idempotent (a broken equation has a ``\\begin``). It is a first pass: build, run
``tools/browse.py`` (which measures every equation at 1400 and 420 px) and break
what still overflows by hand; it fixed 75 of chapters 1-4's 92 overflowing
equations (issue 18).
"""

from __future__ import annotations

import json
import re
import sys

SEPS = re.compile(r"\\qquad(?![a-z])")
REL = re.compile(
    r"(?<![<>!\\])=(?!=)|\\approx(?![a-z])|\\le(?![a-z])|\\leq(?![a-z])|\\ge(?![a-z])|\\geq(?![a-z])|\\propto(?![a-z])"
)


def visible_len(tex):
    t = re.sub(
        r"\\(mathbf|mathrm|operatorname|boldsymbol|text|mathcal|mathbb|hat|tilde|bar|left|right|big|Big|bigg|Bigg|tfrac|dfrac|frac|sqrt|lVert|rVert|top|,|;|!|quad|qquad)",
        "",
        tex,
    )
    t = re.sub(r"\\[A-Za-z]+", "x", t)
    t = re.sub(r"[{}\s^_]", "", t)
    return len(t)


def top_level(tex):
    """(index, at depth 0?) per char: braces, \\left..\\right, begin/end count."""
    depth, i, out = 0, 0, []
    while i < len(tex):
        if tex.startswith("\\left", i) and not tex[i + 5 : i + 6].isalpha():
            depth += 1
            out.append((i, False))
            i += 5
            continue
        if tex.startswith("\\right", i) and not tex[i + 6 : i + 7].isalpha():
            depth -= 1
            out.append((i, False))
            i += 6
            continue
        if tex.startswith("\\begin", i):
            depth += 1
        if tex.startswith("\\end", i):
            depth -= 1
        c = tex[i]
        if c == "\\" and i + 1 < len(tex) and tex[i + 1] in "{}":
            out.append((i, False))
            i += 2
            continue
        if c in "{([":
            depth += 1
        if c in "})]":
            depth -= 1
        out.append((i, depth == 0 and c not in "{}()[]"))
        i += 1
    return out


def split_at(tex, regex):
    zero = {i for i, z in top_level(tex) if z}
    parts, last = [], 0
    for m in regex.finditer(tex):
        if m.start() in zero:
            parts.append((tex[last : m.start()], m.group(0)))
            last = m.end()
    parts.append((tex[last:], None))
    return parts


def break_line(line, limit):
    """One line -> aligned rows (list of strings with &)."""
    parts = split_at(line, REL)
    if len(parts) >= 2 and visible_len(line) > limit:
        lhs = parts[0][0].strip()
        rows, cur = [], lhs + " &" + parts[0][1] + " "
        for k, (p, sep) in enumerate(parts[1:]):
            cur += p.strip()
            rows.append(cur)
            cur = "&" + sep + " " if sep else ""
        return rows if len(rows) > 1 else None
    return None


def transform(body, limit):
    b = body.strip()
    if "\\begin" in b or "\\\\" in b or visible_len(b) <= limit:
        return None
    pieces = split_at(b, SEPS)
    lines = [p.strip().rstrip() for p, _ in pieces if p.strip()]
    # glue connectors like \Longrightarrow / \iff that sat between \quads to next line
    merged = []
    for ln in lines:
        if merged and re.fullmatch(
            r"\\(Longrightarrow|Rightarrow|iff|implies|text\{[^}]*\}|Longleftrightarrow)",
            ln,
        ):
            merged[-1] = merged[-1] + " \\quad " + ln
            continue
        if merged and re.fullmatch(r"\\text\{[^}]*\}|\\text\{\s*\}", ln):
            merged[-1] = merged[-1] + " \\;" + ln
            continue
        merged.append(ln)
    lines = []
    for ln in merged:  # "a = b, \quad c = d": two statements, two lines
        qs = split_at(ln, re.compile(r"\\quad(?![a-z])"))
        if len(qs) > 1 and all(len(split_at(p, REL)) > 1 for p, _ in qs):
            lines += [p.strip() for p, _ in qs]
        else:
            lines.append(ln)
    rows_per_line = [break_line(ln, limit) for ln in lines]
    if len(lines) == 1:
        rows = rows_per_line[0]
        if not rows:
            return None
        return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"
    blocks = []
    for ln, rows in zip(lines, rows_per_line):
        if rows:
            blocks.append(
                "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"
            )
        else:
            blocks.append(ln)
    return "\\begin{gathered}\n" + " \\\\\n".join(blocks) + "\n\\end{gathered}"


DISPLAY = re.compile(
    r"(^[ \t]*\$\$)(.*?)(\$\$[ \t]*(?:\(eq-[\w-]+\))?[ \t]*$)", re.S | re.M
)


def fix_markdown(src, limit):
    n = 0

    def rep(m):
        nonlocal n
        body = m.group(2)
        new = transform(body, limit)
        if new is None:
            return m.group(0)
        n += 1
        indent = re.match(r"[ \t]*", m.group(1)).group(0)
        return (
            m.group(1)
            + "\n"
            + "\n".join(indent + l for l in new.splitlines())
            + "\n"
            + indent
            + m.group(3)
        )

    return DISPLAY.sub(rep, src), n


def main(argv: list[str]) -> int:
    limit = 22
    if argv[:1] == ["--limit"]:
        limit, argv = int(argv[1]), argv[2:]
    for p in argv:
        nb = json.load(open(p, encoding="utf-8"))
        tot = 0
        for c in nb["cells"]:
            if c["cell_type"] != "markdown":
                continue
            s = "".join(c["source"])
            new, n = fix_markdown(s, limit)
            if n:
                c["source"] = new.splitlines(keepends=True)
                tot += n
        if tot:
            with open(p, "w", encoding="utf-8") as f:
                f.write(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        print(f"{tot:3d} equations broken in {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
