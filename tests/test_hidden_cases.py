"""Hidden cases of Part II: every visible and hidden check call of Chapters 5-9 (the
instructor's, with another seed) accepts the notebook's own solution.

(Part I's are in tests/test_exercises_ch01.py ... ch04.py; the structural test checks
that every check cell has a hidden call with a seed of its own.)"""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from tests.notebook_solutions import check_calls, solutions

ROOT = Path(__file__).resolve().parents[1]
PART_II = sorted(str(p.relative_to(ROOT))
                 for p in (ROOT / "chapters").glob("0[5-9]_*/*.ipynb"))


@pytest.mark.parametrize("path", [p for p in PART_II if check_calls(p)])
def test_every_visible_and_hidden_call_accepts_the_notebook_solution(path, capsys):
    calls = check_calls(path)
    assert any(seed is not None for *_, seed in calls), "no hidden cases"
    for module, check, fn, seed in calls:
        mod = importlib.import_module(f"dlmath.exercises.{module}")
        kw = {} if seed is None else {"seed": seed}
        getattr(mod, check)(solutions(path)[fn], **kw)
    # one ✓ line per visible call: a passing hidden call prints nothing
    assert capsys.readouterr().out.count("✓") == sum(seed is None for *_, seed in calls)
