"""Every labelled display equation is verified by a check or says why not.

A labelled equation (``$$ ... $$ (eq-label)``) is *verified* when a check of its
notebook names it (``eq="eq-label"`` in the code, hence ``✓ [eq-label] ...`` in
the stored output, which the book turns into "eq. (N)" and lists on the
*Verified equations* page); otherwise the line right before its opening ``$$``
says ``% eq: definition`` (nothing to check) or ``% eq: step`` (a step of a
derivation). BRIEF convention 2; the parser is book/_ext/dlmath_equations.py.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import dlmath_equations as eqs  # noqa: E402

NOTEBOOKS = sorted(p for p in (ROOT / "chapters").rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)

# Notebooks that other helpers were rewriting when this rule came (issue 18): each
# labelled equation there still needs eq= on its check or a marker. Strict xfail:
# once a notebook passes, remove its entry (the lead empties this after the merge).
PENDING: set[str] = set()


def _param(p: Path):
    rel = str(p.relative_to(ROOT))
    marks = [pytest.mark.xfail(strict=True, reason="eq= or % eq: markers pending")] \
        if rel in PENDING else []
    return pytest.param(p, id=rel, marks=marks)


@pytest.mark.parametrize("path", [_param(p) for p in NOTEBOOKS])
def test_every_labelled_equation_is_verified_or_marked(path):
    missing = eqs.unverified(path)
    assert not missing, (
        f"labelled equations {missing} are cited by no check: pass eq=\"...\" to the "
        "check that verifies each, or put '% eq: definition' / '% eq: step' on the "
        "line right before its opening $$")


def test_a_check_names_only_equations_of_its_own_notebook():
    """eq= must name an equation the reader finds on the same page."""
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text(encoding="utf-8"))
        labels = {e.label for e in eqs.notebook_equations(nb)}
        stray = eqs.cited_labels(nb) - labels
        assert not stray, f"{path.name}: checks cite {stray}, not labelled there"


def test_parser_reads_labels_markers_and_check_lines():
    md = ("Text\n\n% eq: step\n$$\na = b\n$$ (eq-t-one)\n\n$$\nc\n$$ (eq-t-two)\n\n"
          "$$ d $$ (eq-t-three)\n\n$$\nno label\n$$\n\n% eq: definition\n$$\ne\n"
          "$$ (eq-t-four)\n")
    got = [(e.label, e.marker) for e in eqs.display_equations(md)]
    assert got == [("eq-t-one", "step"), ("eq-t-two", None), ("eq-t-three", None),
                   ("eq-t-four", "definition")]
    line = ("✓ [eq-adam] Adam matches torch.optim.Adam: max abs err 4.4e-16, "
            "max rel err 1.3e-16 (rtol 1e-12, atol 1e-12)")
    m = eqs.CHECK.match(line)
    assert m and (m["eq"], m["name"], m["against"], m["abs"], m["rel"], m["rtol"]) \
        == ("eq-adam", "Adam", "torch.optim.Adam", "4.4e-16", "1.3e-16", "1e-12")
    from dlmath.check import check_line

    printed = check_line("x", "torch.y", max_abs=1e-3, rtol=0, atol=1e-2, eq="eq-z")
    m = eqs.CHECK.match(printed)
    assert m and m["eq"] == "eq-z" and m["rel"] is None and m["atol"] == "1e-02"
    nb = {"cells": [{"cell_type": "code", "source": 'f(eq="eq-a")', "outputs": [
        {"output_type": "stream", "text": printed + "\n"}]}]}
    assert eqs.cited_labels(nb) == {"eq-a", "eq-z"}


def test_break_equations_splits_long_ones_once():
    sys.path.insert(0, str(ROOT / "tools"))
    from break_equations import fix_markdown

    md = (r"Text" "\n\n$$\n"
          r"\lVert \mathbf{u} - \mathbf{v} \rVert^2 = (\mathbf{u}-\mathbf{v})"
          r"\cdot(\mathbf{u}-\mathbf{v})" "\n"
          r"= \lVert\mathbf{u}\rVert^2 + \lVert\mathbf{v}\rVert^2"
          r" - 2\,\mathbf{u}\cdot\mathbf{v}." "\n$$ (eq-t-a)\n\n$$\na = b\n$$\n")
    once, n = fix_markdown(md, 22)
    assert n == 1 and "\\begin{aligned}" in once and "&= \\lVert\\mathbf{u}" in once
    assert once.rstrip().endswith("$$\na = b\n$$") and "$$ (eq-t-a)" in once
    assert fix_markdown(once, 22) == (once, 0)
