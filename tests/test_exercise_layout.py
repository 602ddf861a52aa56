"""Exercises as a book shows them (issue 18, BRIEF convention 7).

Five cells per exercise: ``{exercise}`` statement labelled ``ex-<chapter>-<n>``,
``{solution-start}`` (dropdown), the nbgrader solution cell, ``{solution-end}``,
the check cell. Numbers count a chapter's exercises in reading order and equal
what the checks print ("Exercise 7.3"); ``tools/convert_exercises.py`` turns the
old layout into this one and changes nothing the second time; the rendered code
loses nbgrader's markers and hidden tests; a passing hidden call prints nothing;
the student edition drops the written-out solutions.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "book" / "_ext"))

from convert_exercises import convert_notebook, layout  # noqa: E402

NOTEBOOKS = sorted(p for p in (ROOT / "chapters").rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)
CHAPTERS = sorted(p for p in (ROOT / "chapters").iterdir()
                  if p.is_dir() and re.fullmatch(r"\d\d_\w+", p.name))

# Notebooks other helpers were rewriting when the layout came (issue 18): after the
# merge the lead runs `python tools/convert_exercises.py chapters` and
# `python -m dlmath.student --sync chapters`, re-executes, and empties both lists
# (strict xfail: an entry that passes fails the run until it is removed).
PENDING = {
}
PENDING_CHAPTERS = {p.split("/")[1] for p in PENDING}


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _mark(key: str, pending: set[str]):
    return [pytest.mark.xfail(strict=True, reason="converter not yet run (issue 18)")] \
        if key in pending else []


def _nb_param(p: Path):
    rel = str(p.relative_to(ROOT))
    return pytest.param(p, id=rel, marks=_mark(rel, PENDING))


@pytest.mark.parametrize("path", [_nb_param(p) for p in NOTEBOOKS])
def test_exercises_have_the_five_cell_layout(path):
    labels, problems = layout(_load(path))
    assert not problems, "\n".join(problems)
    chapter = int(path.parent.name[:2])
    assert all(lab.startswith(f"ex-{chapter}-") for lab in labels), labels


@pytest.mark.parametrize("chapter", [
    pytest.param(c, id=c.name, marks=_mark(c.name, PENDING_CHAPTERS))
    for c in CHAPTERS])
def test_exercise_numbers_count_in_reading_order_and_match_the_checks(chapter):
    number = int(chapter.name[:2])
    labels = []
    for path in sorted(chapter.glob("*.ipynb")):
        nb = _load(path)
        found, problems = layout(nb)
        assert not problems, f"{path.name}: {problems}"
        labels += found
        cells = nb["cells"]
        for i, c in enumerate(cells):
            src = "".join(c["source"])
            if c["cell_type"] == "code" and "### BEGIN SOLUTION" in src:
                statement = "".join(cells[i - 2]["source"])
                label = re.search(r":label:\s*(\S+)", statement)[1]
                n = label.split("-")[-1]
                out = "".join("".join(o.get("text", ""))
                              for o in cells[i + 2].get("outputs", []))
                assert f"Exercise {number}.{n} " in out, (
                    f"{path.name}: {label}'s check does not print "
                    f"'Exercise {number}.{n}'")
    assert labels == [f"ex-{number}-{k}" for k in range(1, len(labels) + 1)], labels


OLD = {"cells": [
    {"cell_type": "markdown", "metadata": {}, "source":
        "## Exercises\n\nIntro.\n\n### Exercise 6.4 (derivation): what dropout does\n"
        "Derive it."},
    {"cell_type": "markdown", "metadata": {}, "source": "*Your derivation here.*"},
    {"cell_type": "code", "metadata": {"tags": ["hide-input"]}, "outputs": [],
     "execution_count": 1,
     "source": "def f(x):\n    ### BEGIN SOLUTION\n    return x\n"
               "    ### END SOLUTION\n"},
    {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 2,
     "source": "ch06.check_f(f)\n### BEGIN HIDDEN TESTS\nch06.check_f(f, seed=3)\n"
               "### END HIDDEN TESTS\n"},
    {"cell_type": "markdown", "metadata": {}, "source":
        "**Exercise 6.5 (derivation).** Show that $x$ is so."},
    {"cell_type": "code", "metadata": {"tags": ["hide-input"]}, "outputs": [],
     "execution_count": 3,
     "source": "def g(x):\n    ### BEGIN SOLUTION\n    return x\n"
               "    ### END SOLUTION\n"},
    {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 4,
     "source": "ch06.check_g(g)\n"},
], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_converter_makes_the_layout_and_is_idempotent():
    new, n = convert_notebook(OLD)
    assert n == 2
    src = ["".join(c["source"]) for c in new["cells"]]
    assert src[0] == "## Exercises\n\nIntro."
    assert src[1] == ("```{exercise} What dropout does (derivation)\n:label: ex-6-4\n\n"
                      "Derive it.\n```")
    assert src[2] == "```{solution-start} ex-6-4\n:class: dropdown\n```"
    assert "tags" not in new["cells"][3]["metadata"]
    assert src[4] == "```{solution-end}\n```" and src[5].startswith("ch06.check_f")
    assert src[6].startswith(":::{exercise} `g` (derivation)\n:label: ex-6-5\n")
    labels, problems = layout(new)
    assert labels == ["ex-6-4", "ex-6-5"] and not problems
    again, n2 = convert_notebook(new)
    assert n2 == 0 and again == new
    assert layout(OLD)[1], "the old layout is reported"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_converting_twice_changes_nothing(path):
    once, _ = convert_notebook(_load(path))
    twice, n = convert_notebook(once)
    assert n == 0 and twice == once


def test_rendered_code_loses_nbgrader_markers():
    from dlmath_book import strip_grading_markers

    assert strip_grading_markers(OLD["cells"][2]["source"]) == \
        "def f(x):\n    return x"
    assert strip_grading_markers(OLD["cells"][3]["source"]) == "ch06.check_f(f)"
    code = "a = 1\n### BEGIN HIDDEN TESTS\nb(seed=2)\n### END HIDDEN TESTS\nc = 3\n"
    assert strip_grading_markers(code) == "a = 1\nc = 3"


def test_a_passing_hidden_call_prints_nothing(capsys):
    import numpy as np

    from dlmath.exercises import ch01

    def normalize_rows(X):
        return X / np.linalg.norm(X, axis=1, keepdims=True)

    ch01.check_normalize_rows(normalize_rows)
    assert capsys.readouterr().out.startswith("✓ Exercise 1.1 ")
    ch01.check_normalize_rows(normalize_rows, seed=7310613)
    assert capsys.readouterr().out == ""
    with pytest.raises(AssertionError, match="Exercise 1.1"):
        ch01.check_normalize_rows(lambda X: X, seed=7310613)


def test_student_edition_drops_written_solutions():
    from dlmath.student import student_notebook

    new, _ = convert_notebook(OLD)
    new["cells"][2]["source"] = new["cells"][2]["source"] + ["\n", "$x = y$ because"]
    out = student_notebook(new)
    src = ["".join(c["source"]) for c in out["cells"]]
    assert not any("solution-start" in s or "solution-end" in s for s in src)
    assert "$x = y$ because" not in "\n".join(src)
    assert src.count("*Your derivation here.*") == 2      # both are derivations
    stub = src[src.index("*Your derivation here.*") + 1]
    assert "raise NotImplementedError()" in stub


def _written_solutions(nb: dict):
    """(label, statement, written text of its solution) for every exercise."""
    cells = nb["cells"]
    for i, c in enumerate(cells):
        s = "".join(c["source"])
        if c["cell_type"] != "markdown" or not s.startswith("```{exercise}"):
            continue
        label = re.search(r":label: (ex-[\w-]+)", s).group(1)
        start = "".join(cells[i + 1]["source"])
        written = re.sub(r"^```\{solution-start\}.*?```", "", start, flags=re.S).strip()
        yield label, s, written


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_derivations_and_questions_are_answered_in_the_solution(path):
    """A derivation exercise's solution carries the derivation in math, and a
    statement that asks a question has its answer written out (issue 18, 19):
    not code alone, not "see the comments"."""
    for label, statement, written in _written_solutions(_load(path)):
        title = statement.splitlines()[0]
        if "(derivation)" in title:
            assert len(written) >= 200 and "$" in written, \
                f"{label}: a derivation exercise's solution writes out the derivation"
        body = re.sub(r"\$[^$]*\$", "", statement.split("\n", 1)[1])  # not math
        if "?" in body:
            assert len(written) >= 80, \
                f"{label}: the statement asks a question; answer it in the solution"
        assert "Show code" not in statement, f"{label}: solutions are under *Solution*"
