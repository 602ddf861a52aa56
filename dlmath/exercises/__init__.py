"""Autograded checks for the exercises of each chapter (``dlmath.exercises.chNN``).

A check runs the learner's function on several inputs, computes the same
thing with PyTorch, and either prints one ``✓`` line or raises an
``AssertionError`` that says what is wrong (not attempted, wrong shape, wrong
values on which input) rather than only that something is.

Visible and hidden cases. Every check takes a keyword ``seed`` (its default is
the visible seed) and draws its cases from a fresh ``rng(seed)`` inside the
check, so the same call always tests the same cases. A notebook's check cell
runs the visible call; the instructor's copy adds a call with another seed
between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``, which the
student release removes::

    ch02.check_maximum(maximum)
    ### BEGIN HIDDEN TESTS
    ch02.check_maximum(maximum, seed=918273)
    ### END HIDDEN TESTS

A hidden call prints nothing when it passes (and fails as loudly as a visible
one): every ``check_*`` function of a chapter module ``dlmath.exercises.chNN``
is wrapped, when the module is imported, so that a call with a ``seed`` other
than its default runs with its ✓ line swallowed. The reader's page and the
instructor's notebook then show one ✓ line per exercise, not one per call.
"""
from __future__ import annotations

import contextlib
import functools
import importlib.abc
import importlib.machinery
import io
import re
import sys
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ..check import assert_close, to_numpy

__all__ = ["check_function", "normal_cases", "quiet_when_hidden", "refuse_calls", "rng"]


def quiet_when_hidden(check: Callable) -> Callable:
    """``check`` that prints nothing when called with a non-default ``seed``."""
    default = (getattr(check, "__kwdefaults__", None) or {}).get("seed")

    @functools.wraps(check)
    def wrapper(*args, **kwargs):
        if kwargs.get("seed", default) == default:
            return check(*args, **kwargs)
        with contextlib.redirect_stdout(io.StringIO()):
            return check(*args, **kwargs)

    wrapper.quiet_when_hidden = True
    return wrapper


class _QuietHiddenLoader(importlib.abc.Loader):
    """Runs a chapter's module, then wraps its checks with ``quiet_when_hidden``."""

    def __init__(self, inner):
        self.inner = inner

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module) -> None:
        self.inner.exec_module(module)
        for name, obj in list(vars(module).items()):
            if (name.startswith("check_") and callable(obj)
                    and getattr(obj, "__module__", None) == module.__name__
                    and "seed" in (getattr(obj, "__kwdefaults__", None) or {})
                    and not getattr(obj, "quiet_when_hidden", False)):
                setattr(module, name, quiet_when_hidden(obj))

    def get_source(self, fullname):
        return self.inner.get_source(fullname)


class _ChapterFinder(importlib.abc.MetaPathFinder):
    """Finds ``dlmath.exercises.chNN`` as usual, with ``_QuietHiddenLoader``."""

    pattern = re.compile(re.escape(__name__) + r"\.ch\d+")

    def find_spec(self, fullname, path, target=None):
        if not self.pattern.fullmatch(fullname):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietHiddenLoader(spec.loader)
        return spec


if not any(isinstance(f, _ChapterFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _ChapterFinder())


def rng(seed: int) -> np.random.Generator:
    """A fresh generator for one check's cases: the same seed, the same cases."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    return np.random.default_rng(int(seed))


def normal_cases(g: np.random.Generator, *shapes_list: Sequence[tuple]) -> list[tuple]:
    """One case per entry of ``shapes_list``: standard-normal arrays of those shapes."""
    return [tuple(g.standard_normal(s) for s in shapes) for shapes in shapes_list]


def _describe(args: Sequence[Any]) -> str:
    """Inputs as a reader reads them: arrays by shape, functions by name, numbers."""
    parts = []
    for a in args:
        if isinstance(a, (list, tuple)) and any(hasattr(v, "shape") for v in a):
            parts.append("[" + _describe(a) + "]")      # e.g. a list of weight matrices
            continue
        if callable(a) and not hasattr(a, "shape"):
            parts.append(f"function {getattr(a, '__name__', type(a).__name__)}")
            continue
        arr = np.asarray(a) if not hasattr(a, "shape") else a
        parts.append(f"shape {tuple(arr.shape)}" if getattr(arr, "ndim", 0)
                     else repr(a))
    return ", ".join(parts)


def _name(fn: Callable) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def check_function(fn: Callable, reference: Callable, cases: Iterable[Sequence[Any]], *,
                   title: str, rtol: float, atol: float, hint: str = "") -> None:
    """Compare ``fn(*args)`` with ``reference(*args)`` (torch), case by case.

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
            raise AssertionError(f"{title}: not attempted yet — replace the `raise "
                                 f"NotImplementedError` line with your code") from None
        except Exception as exc:  # a crash on one case is a failing case, said as such
            raise AssertionError(
                f"{title}: {_name(fn)} raised {type(exc).__name__}: {exc} on test case "
                f"{i} (inputs {_describe(args)})."
                + (f" Hint: {hint}" if hint else "")) from None
        if got is None:
            raise AssertionError(f"{title}: {_name(fn)} returned None on test case {i} "
                                 f"— did you forget `return`?")
        got = to_numpy(got)
        if got.shape != expected.shape:
            raise AssertionError(
                f"{title}: on test case {i} (inputs {_describe(args)}) {_name(fn)} "
                f"returns shape {got.shape} but the reference has shape "
                f"{expected.shape}." + (f" Hint: {hint}" if hint else ""))
        try:
            assert_close(got, expected, rtol=rtol, atol=atol, name="your result",
                         against="the torch reference", verbose=False)
        except AssertionError as exc:
            raise AssertionError(f"{title}: {_name(fn)} gives wrong values on test "
                                 f"case {i} (inputs {_describe(args)}): {exc}."
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
