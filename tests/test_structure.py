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
            tags = c.get("metadata", {}).get("tags", [])
            assert "hide-input" in tags, (
                f"{path.name}: solution cells are tagged hide-input"
            )
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
