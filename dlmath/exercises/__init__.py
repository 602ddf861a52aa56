"""Autograded checks for the exercises of each chapter (``dlmath.exercises.chNN``).

A check runs the learner's function on several inputs, computes the same
thing with PyTorch, and either prints one ``✓`` line or raises an
``AssertionError`` that says what is wrong (not attempted, wrong shape, wrong
values on which input) rather than only that something is.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ..check import assert_close, to_numpy

__all__ = ["check_function", "rng"]


def rng(seed: int) -> np.random.Generator:
    """A fresh generator for one check's cases: the same seed, the same cases."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    return np.random.default_rng(int(seed))


def _describe(args: Sequence[Any]) -> str:
    parts = []
    for a in args:
        if isinstance(a, (list, tuple)) and any(hasattr(v, "shape") for v in a):
            parts.append("[" + _describe(a) + "]")      # e.g. a list of weight matrices
            continue
        arr = np.asarray(a) if not hasattr(a, "shape") else a
        parts.append(f"shape {tuple(arr.shape)}" if getattr(arr, "ndim", 0) else repr(a))
    return ", ".join(parts)


def check_function(fn: Callable, reference: Callable, cases: Iterable[Sequence[Any]], *,
                   title: str, rtol: float, atol: float, hint: str = "") -> None:
    """Compare ``fn(*args)`` with ``reference(*args)`` (a torch computation) on every case.

    Inputs are copied before each call, so a function that modifies its
    arguments in place cannot change what the reference sees.
    """
    if not callable(fn):
        raise TypeError(f"{title}: expected your function, got {type(fn).__name__}")
    cases = [tuple(c) for c in cases]
    for i, args in enumerate(cases, 1):
        expected = to_numpy(reference(*[np.copy(a) if isinstance(a, np.ndarray) else a
                                        for a in args]))
        try:
            got = fn(*[np.copy(a) if isinstance(a, np.ndarray) else a for a in args])
        except NotImplementedError:
            raise AssertionError(f"{title}: not attempted yet — replace the "
                                 f"`raise NotImplementedError` line with your code") from None
        if got is None:
            raise AssertionError(f"{title}: your function returned None — did you forget `return`?")
        got = to_numpy(got)
        if got.shape != expected.shape:
            raise AssertionError(
                f"{title}: for inputs ({_describe(args)}) your result has shape {got.shape} "
                f"but the reference has shape {expected.shape}." + (f" Hint: {hint}" if hint else ""))
        try:
            assert_close(got, expected, rtol=rtol, atol=atol, name="your result",
                         against="the torch reference", verbose=False)
        except AssertionError as exc:
            raise AssertionError(f"{title}: wrong values on test case {i} "
                                 f"(inputs {_describe(args)}): {exc}."
                                 + (f" Hint: {hint}" if hint else "")) from None
    print(f"✓ {title}: matches the torch reference on all {len(cases)} test cases")


def refuse_calls(fn: Callable, names: Iterable[str], *, title: str, why: str) -> None:
    """Fail a "by hand" exercise whose code uses one of ``names`` (``torch``, ...).

    Looks at the names the function's code (and any function nested in it)
    refers to: globals, modules and attributes such as ``np.linalg.slogdet``.
    """
    import types

    if not callable(fn):
        raise TypeError(f"{title}: expected your function, got {type(fn).__name__}")
    used: set[str] = set()

    def walk(code: types.CodeType) -> None:
        used.update(code.co_names)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                walk(const)

    code = getattr(fn, "__code__", None)
    if code is not None:
        walk(code)
    bad = sorted(used & set(names))
    if bad:
        raise AssertionError(f"{title}: this exercise is done by hand, but your "
                             f"function uses {', '.join(bad)}: {why}")
