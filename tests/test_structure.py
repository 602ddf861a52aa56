"""Keeps the book honest: every notebook is in the book, set up for Colab,
imports dlmath, checks against torch, was executed top to bottom, and every
chapter has autograded exercises."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
NOTEBOOKS = sorted(p for p in (ROOT / "chapters").rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)
CHAPTERS = sorted(p for p in (ROOT / "chapters").iterdir() if p.is_dir()
                  and re.fullmatch(r"\d\d_\w+", p.name))


def _toc_files(node) -> list[str]:
    files = []
    if isinstance(node, dict):
        for key, val in node.items():
            if key in ("file", "root"):
                files.append(val)
            else:
                files += _toc_files(val)
    elif isinstance(node, list):
        for item in node:
            files += _toc_files(item)
    return files


TOC_FILES = _toc_files(TOC)


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _code(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def _src(cell: dict) -> str:
    return "".join(cell["source"])


def _id(p: Path) -> str:
    return str(p.relative_to(ROOT))


def test_there_are_chapters_and_notebooks():
    assert CHAPTERS and NOTEBOOKS


def test_toc_entries_exist():
    for f in TOC_FILES:
        assert any((ROOT / (f + ext)).exists() for ext in ("", ".md", ".ipynb")), \
            f"_toc.yml names {f}, which does not exist"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_notebook_is_in_toc(path):
    rel = str(path.relative_to(ROOT).with_suffix(""))
    assert rel in TOC_FILES, f"{rel} is not in _toc.yml"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_notebook_anatomy(path):
    nb = _load(path)
    code = _code(nb)
    setup = _src(code[0])
    repo = CONFIG["repository"]["url"].rstrip("/")
    branch = CONFIG["repository"].get("branch", "main")
    assert '"google.colab" in sys.modules' in setup, (
        "first code cell must be the Colab setup cell"
    )
    assert f"git+{repo}@{branch}" in setup, (
        "the Colab cell must install dlmath from _config.yml's repository "
        f"({repo}@{branch})"
    )
    assert re.search(r"^\s*dlmath\.seed\(", setup, re.M), (
        "setup cell must call dlmath.seed(...)"
    )
    src = "\n".join(_src(c) for c in code)
    assert re.search(r"^\s*(import dlmath|from dlmath)", src, re.M), (
        "must import dlmath"
    )
    assert re.search(r"^\s*import torch", src, re.M), "must import torch"
    assert "assert_close(" in src, (
        "must check something against torch with assert_close"
    )
    assert "dlmath.device()" in src or "device=dev" in src, \
        "torch references must run on dlmath.device()"
    first_md = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    assert _src(first_md).lstrip().startswith("# "), (
        "must open with a '# Title' markdown cell"
    )
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_notebook_was_executed_in_order_without_errors(path):
    code = _code(_load(path))
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), (
        "re-execute top to bottom in a fresh kernel (tools/execute_notebooks.py); "
        f"counts {counts}"
    )
    for c in code:
        tags = c.get("metadata", {}).get("tags", [])
        for o in c.get("outputs", []):
            if o["output_type"] == "error":
                assert "raises-exception" in tags, (
                    f"stored error {o['ename']} in:\n{_src(c)[:200]}"
                )
            text = json.dumps(o.get("text", "")) + json.dumps(
                o.get("data", {}).get("text/plain", "")
            )
            assert not re.search(r"/(root|tmp|work|home)/", text), (
                "an output shows a machine path"
            )


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_index_notebooks_and_exercises(chapter):
    assert (chapter / "index.md").exists(), "each chapter needs an index.md"
    nbs = sorted(chapter.glob("*.ipynb"))
    assert 2 <= len(nbs) <= 5, f"a chapter has 2-5 notebooks, found {len(nbs)}"
    exercises = 0
    for path in nbs:
        code = _code(_load(path))
        for i, c in enumerate(code):
            src = _src(c)
            if "### BEGIN SOLUTION" not in src:
                continue
            exercises += 1
            assert "### END SOLUTION" in src
            # the layout around it (statement, collapsed solution): see
            # tests/test_exercise_layout.py
            nxt = _src(code[i + 1]) if i + 1 < len(code) else ""
            assert re.search(r"\bcheck_\w+\(", nxt), \
                f"{path.name}: the cell after a solution must run its autograded check"
    assert exercises >= 5, f"{chapter.name} has {exercises} exercises, needs >= 5"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_student_version_strips_every_solution(path):
    from dlmath.student import student_notebook

    nb = _load(path)
    n_solutions = sum("### BEGIN SOLUTION" in _src(c) for c in _code(nb))
    text = "\n".join(_src(c) for c in _code(student_notebook(nb)))
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    assert text.count("raise NotImplementedError()") == n_solutions


def _has(cell: dict, mime: str) -> bool:
    return any(mime in o.get("data", {}) for o in cell.get("outputs", []))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_every_widget_has_a_static_figure_beside_it(path):
    """The rendered book has no kernel: a static figure must sit next to each widget."""
    code = _code(_load(path))
    for i, c in enumerate(code):
        if _has(c, "application/vnd.jupyter.widget-view+json"):
            near = code[max(0, i - 2): i + 3]
            assert any(_has(n, "image/png") for n in near), \
                f"widget in code cell {i + 1} has no static figure within two cells"


# Chapters whose check cells must carry hidden cases (the lead extends this list as
# Part II chapters adopt them): a visible call, then a call with another seed between
# ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` that the student release
# removes; every check takes a keyword ``seed``.
# Every chapter: a new chapter is covered as soon as it exists.
HIDDEN_CASES_CHAPTERS = [c.name for c in CHAPTERS]


@pytest.mark.parametrize("chapter", HIDDEN_CASES_CHAPTERS)
def test_check_cells_have_hidden_cases_and_checks_take_seed(chapter):
    import importlib
    import inspect

    call = re.compile(r"^(ch\d\d)\.(check_\w+)\((\w+)(?:, seed=(\d+))?\)\s*$", re.M)
    hidden = re.compile(r"^### BEGIN HIDDEN TESTS\n(.*?)^### END HIDDEN TESTS[ \t]*$",
                        re.M | re.S)
    seeds: dict[int, str] = {}
    nbs = sorted((ROOT / "chapters" / chapter).glob("*.ipynb"))
    assert nbs, f"no notebooks in {chapter}"
    for path in nbs:
        code = _code(_load(path))
        for i, c in enumerate(code[:-1]):
            if "### BEGIN SOLUTION" not in _src(c):
                continue
            src = _src(code[i + 1])
            where = f"{path.name}, check cell after code cell {i + 1}"
            block = hidden.search(src)
            assert block, f"{where}: no hidden-tests block in the check cell"
            visible = [m for m in call.finditer(src[:block.start()])]
            secret = [m for m in call.finditer(block.group(1))]
            assert len(visible) == 1 and visible[0][4] is None, \
                f"{where}: one visible call with the default seed before the block"
            assert secret and all(m[4] for m in secret), \
                f"{where}: the hidden block calls the check with seed=..."
            for m in secret:
                assert (m[1], m[2], m[3]) == tuple(visible[0].groups()[:3]), \
                    f"{where}: the hidden call runs the same check on the same function"
                fn = getattr(importlib.import_module(f"dlmath.exercises.{m[1]}"), m[2])
                param = inspect.signature(fn).parameters.get("seed")
                assert param is not None and param.kind is param.KEYWORD_ONLY \
                    and isinstance(param.default, int), f"{m[2]} must take seed: int"
                assert int(m[4]) != param.default, \
                    f"{where}: the hidden seed repeats the visible one"
                assert int(m[4]) not in seeds, \
                    f"{where}: hidden seed {m[4]} is also used by {seeds[int(m[4])]}"
                seeds[int(m[4])] = m[2]


def test_equation_labels_are_unique_across_the_book():
    """MyST equation labels are global: a label used twice breaks the -W build."""
    seen: dict[str, str] = {}
    for path in NOTEBOOKS:
        for c in _load(path)["cells"]:
            if c["cell_type"] != "markdown":
                continue
            for label in re.findall(r"\$\$\s*\((eq-[\w-]+)\)", _src(c)):
                assert label not in seen, \
                    f"{label} is defined in {path.name} and in {seen[label]}"
                seen[label] = path.name


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_chapter_titles_leave_numbering_to_the_book(chapter):
    """_toc.yml numbers chapters (`numbered: 2`): a hand-written "# 7. Title" would
    read "7. 7. Title"."""
    title = (chapter / "index.md").read_text(encoding="utf-8").lstrip().splitlines()[0]
    assert not re.match(r"#\s*\d+\.?\s", title), \
        f"{chapter.name}/index.md: drop the number from {title!r}"
    part = next(p for p in TOC["parts"] if any(
        c["file"] == f"chapters/{chapter.name}/index" for c in p["chapters"]))
    assert part.get("numbered"), f"the part {part['caption']!r} must be numbered: 2"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_chapter_index_has_no_numbered_subsections(chapter):
    """A ``##`` heading in a chapter's index.md is numbered C.1 by the book's section
    numbering and shifts every notebook's number by one (10.1 became 10.2): asides
    there use a ``{rubric}``."""
    text = (chapter / "index.md").read_text(encoding="utf-8")
    heads = [line for line in text.splitlines() if re.match(r"##+\s", line)]
    assert not heads, f"{chapter.name}/index.md: use a rubric, not {heads}"
