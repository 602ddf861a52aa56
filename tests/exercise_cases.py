"""One table of cases per chapter: the exercise checks' tests, written once.

A chapter's test module lists its exercises as ``Case`` rows and asks for the
tests::

    from exercise_cases import Case, exercise_tests

    CASES = [Case(ch06.check_leaky_relu_std, SOL["leaky_relu_std"],
                  wrong=[lambda a, n: np.sqrt(2.0 / n), ...]), ...]
    (test_solution_passes, test_stub_fails, test_wrong_answer_fails,
     test_cheat_is_refused) = exercise_tests(CASES)

which check, for every row: the notebook's own solution passes (and prints a
``✓`` line); every stub in ``STUBS`` (not attempted, returns None, its first
argument, zeros, ones, a wrong shape, a string) fails with a clean
``AssertionError`` that names the exercise — never a numpy ``TypeError`` or
``IndexError`` from inside the check; each of at least three plausible wrong
answers fails; each cheat (a correct answer through torch or the dlmath
routine being re-derived) is refused as "done by hand".
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pytest


@dataclass(frozen=True)
class Case:
    check: Callable                     # e.g. ch06.check_leaky_relu_std
    solution: Callable                  # the notebook's own solution
    wrong: Sequence[Callable] = ()      # plausible wrong answers, >= 3
    cheats: Sequence[Callable] = ()     # right values, but by torch / dlmath
    min_wrong: int = 3
    id: str = field(default="")

    @property
    def name(self) -> str:
        return self.id or self.check.__name__.removeprefix("check_")

    @property
    def exercise(self) -> str:
        """``Exercise 6.2``, read from the check's docstring."""
        m = re.search(r"Exercise (\d+\.\d+)", self.check.__doc__ or "")
        return f"Exercise {m[1]}" if m else "Exercise"


def _like(a, value):
    """An array of ``value`` shaped like the first argument (or a scalar)."""
    try:
        arr = np.asarray(a, dtype=float)
    except (TypeError, ValueError):
        return float(value)
    return np.full(arr.shape, float(value))


def _not_attempted(*args, **kwargs):
    raise NotImplementedError()


STUBS = {
    "not attempted": _not_attempted,
    "returns None": lambda *a, **k: None,
    "returns its first argument": lambda *a, **k: a[0],
    "returns zeros": lambda *a, **k: _like(a[0], 0.0),
    "returns ones": lambda *a, **k: _like(a[0], 1.0),
    "returns a wrong shape": lambda *a, **k: np.zeros((3, 1, 5)),
    "returns a string": lambda *a, **k: "answer",
}


def exercise_tests(cases: Sequence[Case]):
    """The parametrized tests over ``cases`` (see the module docstring)."""
    ids = [c.name for c in cases]

    @pytest.mark.parametrize("case", cases, ids=ids)
    def test_solution_passes(case, capsys):
        case.check(case.solution)
        assert "✓" in capsys.readouterr().out

    stub_rows = [(c, s) for c in cases for s in STUBS]

    @pytest.mark.parametrize("case, stub", stub_rows,
                             ids=[f"{c.name}-{s}" for c, s in stub_rows])
    def test_stub_fails(case, stub):
        try:
            case.check(STUBS[stub])
        except AssertionError as err:
            msg = str(err)
            assert case.exercise in msg, msg
            if stub == "not attempted":
                assert "not attempted" in msg, msg
            if stub == "returns None":
                assert "None" in msg, msg
        except Exception as err:                          # the check itself crashed
            pytest.fail(f"{case.name}: a stub that {stub} crashes the check with "
                        f"{type(err).__name__}: {err}")
        else:
            pytest.fail(f"{case.name}: a stub that {stub} passes")

    wrong_rows = [(c, k) for c in cases for k in range(len(c.wrong))]

    @pytest.mark.parametrize("case", cases, ids=ids)
    def test_enough_wrong_answers(case):
        assert len(case.wrong) >= case.min_wrong

    @pytest.mark.parametrize("case, k", wrong_rows,
                             ids=[f"{c.name}-{k}" for c, k in wrong_rows])
    def test_wrong_answer_fails(case, k):
        with pytest.raises(AssertionError, match=case.exercise.replace(".", r"\.")) \
                as err:
            case.check(case.wrong[k])
        assert "done by hand" not in str(err.value), "refused, not graded wrong"

    cheat_rows = [(c, k) for c in cases for k in range(len(c.cheats))]

    @pytest.mark.parametrize("case, k", cheat_rows,
                             ids=[f"{c.name}-{k}" for c, k in cheat_rows])
    def test_cheat_is_refused(case, k):
        with pytest.raises(AssertionError, match="done by hand"):
            case.check(case.cheats[k])

    # a chapter with no "by hand" exercise has no cheats to refuse: no test, rather
    # than a test that is always skipped
    return (test_solution_passes, test_stub_fails, test_enough_wrong_answers,
            test_wrong_answer_fails, test_cheat_is_refused if cheat_rows else None)
