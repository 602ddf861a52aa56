"""Instructors' workflow, end to end: nbgrader releases a chapter notebook, autogrades a
correct and a wrong submission (a student who comments out a check is caught), and
exports full and partial scores; ``tools/grade.py`` writes per-exercise rows; the
nbgrader metadata of every notebook is in sync with its solution and check cells."""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dlmath.student import nbgrader_metadata, student_notebook, sync_nbgrader

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "chapters/02_calculus_autodiff/04_autodiff_engine.ipynb"
NBGRADER = ROOT / ".venv-instructor/bin/nbgrader"
NOTEBOOKS = sorted(p for p in (ROOT / "chapters").rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)

WRONG_SOFTPLUS = (
    "def softplus(a):\n"
    "    e = np.exp(a.data)  # overflows for a = 800\n"
    "    return Tensor.from_op(np.log(1 + e), (a,), lambda g: (g * e / (1 + e),),"
    " 'softplus')\n"
)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_nbgrader_metadata_is_in_sync(path):
    assert not sync_nbgrader([path], check=True), \
        f"run `python -m dlmath.student --sync chapters` to update {path.name}"


def _course(tmp_path: Path, notebook: Path = NOTEBOOK) -> dict:
    """A course folder whose kernel is this interpreter (nbgrader has its own venv),
    with ``notebook`` as assignment ch02, configured as the course guide says."""
    kern = tmp_path / "jupyter" / "kernels" / "python3"
    kern.mkdir(parents=True)
    (kern / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (dlmath)", "language": "python"}))
    (tmp_path / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(tmp_path)!r}\n"
        "c.CourseDirectory.course_id = 'dlmath'\n"
        f"import sys\nsys.path.insert(0, {str(ROOT / 'tools')!r})\n"
        "from nbgrader_release import configure\nconfigure(c)\n")
    src = tmp_path / "source" / "ch02"
    src.mkdir(parents=True)
    shutil.copy(notebook, src / notebook.name)
    env = dict(os.environ, JUPYTER_PATH=str(tmp_path / "jupyter"),
               PATH=f"{NBGRADER.parent}{os.pathsep}{os.environ['PATH']}")
    return env


def _cells_by_id(nb: dict) -> dict:
    return {c["metadata"]["nbgrader"]["grade_id"]: c for c in nb["cells"]
            if "nbgrader" in c.get("metadata", {})}


def test_nbgrader_releases_autogrades_and_exports(tmp_path):
    assert NBGRADER.exists(), (
        "nbgrader is missing: `make test` installs requirements-"
        "instructor.txt into .venv-instructor"
    )
    env = _course(tmp_path)

    def nbgrader(*args):
        subprocess.run([str(NBGRADER), *args], cwd=tmp_path, env=env, check=True,
                       capture_output=True, text=True, timeout=600)

    nbgrader("generate_assignment", "ch02", "--force")
    release = json.loads((tmp_path / "release/ch02" / NOTEBOOK.name).read_text())
    text = json.dumps(release)
    assert "BEGIN SOLUTION" not in text and "np.maximum(a.data, b.data)" not in text
    source = json.loads(NOTEBOOK.read_text())
    # alice submits the reference solutions; bob solves one exercise, gets the other
    # wrong and comments out its check, which nbgrader restores from its checksum.
    good = dict(release, cells=[dict(c) for c in release["cells"]])
    sol = _cells_by_id(source)
    for c in good["cells"]:
        gid = c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if c["metadata"].get("nbgrader", {}).get("solution"):
            c["source"] = sol[gid]["source"]
    bad = json.loads(json.dumps(good))
    ids = _cells_by_id(bad)
    ids["check_softplus_solution"]["source"] = WRONG_SOFTPLUS
    ids["check_softplus"]["source"] = "# ch02.check_softplus(softplus)\n"
    for student, nb in [("alice", good), ("bob", bad)]:
        d = tmp_path / "submitted" / student / "ch02"
        d.mkdir(parents=True)
        (d / NOTEBOOK.name).write_text(json.dumps(nb))
    nbgrader("autograde", "ch02", "--create", "--force")
    nbgrader("export")
    rows = {
        r["student_id"]: r for r in csv.DictReader((tmp_path / "grades.csv").open())
    }
    assert float(rows["alice"]["score"]) == float(rows["alice"]["max_score"]) == 2.0
    assert float(rows["bob"]["score"]) == 1.0

    # the same submissions through the project's own grader: one row per exercise
    out = tmp_path / "grades_by_exercise.csv"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools/grade.py"),
            str(tmp_path / "submitted"),
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    got = {(r["student"], r["exercise"]): r for r in csv.DictReader(out.open())}
    assert got[("alice", "check_maximum")]["points"] == "1"
    assert got[("alice", "check_softplus")]["points"] == "1"
    assert got[("bob", "check_maximum")]["points"] == "1"
    assert got[("bob", "check_softplus")]["points"] == "0"
    assert "Exercise 2.6" in got[("bob", "check_softplus")]["message"]


def test_metadata_marks_solution_and_graded_cells():
    nb = nbgrader_metadata(json.loads(NOTEBOOK.read_text()))
    meta = [
        c["metadata"]["nbgrader"] for c in nb["cells"] if "nbgrader" in c["metadata"]
    ]
    assert [m["grade_id"] for m in meta] == [
        "check_maximum_solution", "check_maximum", "check_softplus_solution",
        "check_softplus"
    ]
    assert [m["solution"] for m in meta] == [True, False, True, False]
    assert [m.get("points") for m in meta if m["grade"]] == [1, 1]
    assert all(m["locked"] for m in meta if m["grade"])


def _solution_lines(path: Path | dict) -> set[str]:
    """Distinctive lines (>= 25 characters) between a notebook's solution markers."""
    nb = path if isinstance(path, dict) else json.loads(path.read_text())
    lines, inside = set(), False
    for c in nb["cells"]:
        if c["cell_type"] != "code":
            continue
        for line in "".join(c["source"]).splitlines():
            s = line.strip()
            if s in ("### BEGIN SOLUTION", "### END SOLUTION"):
                inside = s.startswith("### BEGIN")
            elif inside and len(s) >= 25 and not s.startswith("#"):
                lines.add(s)
    return lines


LITERALINCLUDE = re.compile(
    r"^[ \t]*(`{3,}|:{3,})\{literalinclude\}[ \t]+(?P<path>\S+)[ \t]*\n"
    r"(?P<options>(?:[ \t]*:[\w-]+:.*\n?)*)", re.M)


def _included_source(folder: Path, cells: list[dict]) -> str:
    """The dlmath source that markdown cells show with ```{literalinclude}```.

    The path is resolved from the notebook's folder, as Sphinx does, and only a
    file inside ``dlmath/`` counts; ``:pyobject:`` selects the object's lines with
    Sphinx's own ``ModuleAnalyzer`` (what the page renders). Any other option
    (``:lines:``, ``:start-after:``...) is refused: this helper would not know
    which lines the page shows.
    """
    from sphinx.pycode import ModuleAnalyzer

    package, shown = (ROOT / "dlmath").resolve(), []
    for c in cells:
        if c["cell_type"] != "markdown":
            continue
        for m in LITERALINCLUDE.finditer("".join(c["source"])):
            path = (folder / m["path"]).resolve()
            if package not in path.parents:
                continue
            options = dict(re.findall(r":([\w-]+):[ \t]*(.*)", m["options"]))
            unknown = set(options) - {"pyobject", "language", "caption", "name",
                                      "linenos", "emphasize-lines", "dedent"}
            assert not unknown, f"literalinclude of {m['path']}: options {unknown}"
            lines = path.read_text(encoding="utf-8").splitlines()
            if "pyobject" in options:
                tags = ModuleAnalyzer.for_file(str(path), "").find_tags()
                _, start, end = tags[options["pyobject"].strip()]
                lines = lines[start - 1:end]
            shown.append("\n".join(lines))
    return "\n".join(shown)


def _lesson_text(folder: Path, cells: list[dict]) -> str:
    """What a student page shows as the lesson: code cells, their outputs, and the
    dlmath source that markdown includes. Markdown prose is not lesson text, so a
    solution line pasted into it is a leak."""
    code = "\n".join("".join(c["source"]) + "".join(
        "".join(o.get("text", "")) for o in c.get("outputs", []))
        for c in cells if c["cell_type"] == "code")
    return code + "\n" + _included_source(folder, cells)


def _leaked(nb: dict, folder: Path, cells: list[dict], text: str) -> list[str]:
    """Solution lines of ``nb`` on a page (``text``) that the lesson does not show."""
    lesson = _lesson_text(folder, cells)
    return sorted(s for s in _solution_lines(nb) if s in text and s not in lesson)


def _toy_notebook(include: str, solution: list[str]) -> dict:
    def cell(kind, text):
        return {"cell_type": kind, "metadata": {}, "source": text,
                **({"outputs": [], "execution_count": None} if kind == "code" else {})}

    return {"cells": [
        cell("markdown",
             f"```{{literalinclude}} {include}\n:pyobject: _attention\n```"),
        cell("code", "def f():\n    ### BEGIN SOLUTION\n"
             + "".join(f"    {s}\n" for s in solution) + "    ### END SOLUTION\n"),
        cell("code", "ch09.check_f(f)\n")]}


def test_included_source_is_lesson_text_and_pasted_solutions_are_leaks():
    """9.1 shows `_attention` with literalinclude: its lines are lesson text (one of
    them may equal a solution line), but a solution line in prose is a leak."""
    import ast

    folder = ROOT / "chapters/09_attention_transformers"
    nb = json.loads((folder / "01_scaled_dot_product_attention.ipynb").read_text())
    shown = _included_source(folder, student_notebook(nb)["cells"])
    source = (ROOT / "dlmath/functional/attention.py").read_text(encoding="utf-8")
    node = next(n for n in ast.parse(source).body
                if isinstance(n, ast.FunctionDef) and n.name == "_attention")
    assert shown == "\n".join(source.splitlines()[node.lineno - 1:node.end_lineno])

    # a solution with one line that the included source shows and one of its own
    shared = max((s.strip() for s in shown.splitlines()
                  if not s.strip().startswith("#")), key=len)
    secret = "return np.einsum('ij,jk->ik', secret_left, secret_right)"
    toy = _toy_notebook("../../dlmath/functional/attention.py", [shared, secret])
    cells = student_notebook(toy)["cells"]
    page = shown + "\nraise NotImplementedError()\nch09.check_f(f)"
    assert _leaked(toy, folder, cells, page) == []
    # the same solution line pasted into a markdown cell of the student edition
    pasted = [dict(cells[0], source="A hint: `" + secret + "`")] + cells
    assert _leaked(toy, folder, pasted, page + "\nA hint: " + secret) == [secret]
    # source included from outside dlmath/ is not lesson text
    other = _toy_notebook("../../tests/test_instructor.py", [shared])
    assert _included_source(folder, student_notebook(other)["cells"]) == ""
    assert _leaked(other, folder, student_notebook(other)["cells"], page) == [shared]


def test_student_edition_builds_without_solution_text(tmp_path):
    """`make student`'s book: built with -W, and no solution line on any page."""
    import html

    out = tmp_path / "student"
    subprocess.run(
        [sys.executable, str(ROOT / "tools/student_edition.py"), "--out", str(out)],
        check=True,
        capture_output=True,
        timeout=1200,
    )
    # highlighted code is split into <span>s: compare the text a reader sees
    pages = {p: html.unescape(re.sub(r"<[^>]+>", "", p.read_text(encoding="utf-8")))
             for p in (out / "_build/html/chapters").rglob("*.html")}
    assert len(pages) >= len(NOTEBOOKS)
    for nb in NOTEBOOKS:
        page = out / "_build/html" / nb.relative_to(ROOT).with_suffix(".html")
        text = pages[page]
        # the check calls the student version keeps (hidden ones are removed)
        cells = student_notebook(json.loads(nb.read_text()))["cells"]
        checks = [line.strip() for c in cells if c["cell_type"] == "code"
                  for line in "".join(c["source"]).splitlines()
                  if re.fullmatch(r"\s*\w+\.check_\w+\(.*\)\s*", line)]
        assert all(c in text for c in checks), \
            "the search must find the code that is on the page (its check calls)"
        assert "NotImplementedError" in text or not _solution_lines(nb)
        # a line the lesson itself shows outside any solution is no leak
        leaked = _leaked(json.loads(nb.read_text()), nb.parent, cells, text)
        assert not leaked, f"{page.name} shows solution lines: {leaked[:3]}"
        raw = page.read_text(encoding="utf-8")
        assert f"blob/main/student/{nb.relative_to(ROOT)}" in raw, \
            "the Colab link must open the student notebook"


DERIVATION = ROOT / "chapters/02_calculus_autodiff/05_matrix_calculus.ipynb"


def _written_solutions(nb: dict) -> list[str]:
    """Lines (>= 20 characters) written in the {solution-start} cells, after the
    directive: a derivation's written-out math and any answer in words."""
    lines = []
    for c in nb["cells"]:
        src = "".join(c["source"])
        if c["cell_type"] == "markdown" and "{solution-start}" in src:
            body = src.split("```", 2)[2] if src.count("```") >= 2 else ""
            lines += [s.strip() for s in body.splitlines() if len(s.strip()) >= 20]
    return lines


def test_nbgrader_release_has_no_written_solutions(tmp_path):
    """nbgrader's release of a notebook with a written-out derivation: no solution
    code (nbgrader's stub), no solution markdown (the derivation, the
    {solution-start}/{solution-end} cells), and the exercises and checks kept."""
    assert NBGRADER.exists(), "nbgrader is missing: `make test` makes .venv-instructor"
    env = _course(tmp_path, DERIVATION)
    subprocess.run([str(NBGRADER), "generate_assignment", "ch02", "--force"],
                   cwd=tmp_path, env=env, check=True, capture_output=True, text=True,
                   timeout=600)
    source = json.loads(DERIVATION.read_text())
    release = json.loads((tmp_path / "release/ch02" / DERIVATION.name).read_text())
    written = _written_solutions(source)
    assert len(written) >= 5, "the notebook must have a written-out derivation"
    text = "\n".join("".join(c["source"]) for c in release["cells"])
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert "{solution-start}" not in text and "{solution-end}" not in text
    leaked = [s for s in written if s in text]
    assert not leaked, f"the release shows the written solution: {leaked[:3]}"
    assert text.count("{exercise}") == "".join(
        "".join(c["source"]) for c in source["cells"]).count("{exercise}")
    assert text.count("raise NotImplementedError()") >= 2
    assert "*Your derivation here.*" in text          # where ex-2-7's derivation was
    graded = [c for c in release["cells"]
              if c["metadata"].get("nbgrader", {}).get("grade")]
    assert len(graded) == 2
