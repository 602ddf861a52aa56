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

__all__ = ["as_int", "as_result", "call_learner", "check_function", "normal_cases",
           "quiet_when_hidden", "refuse_calls", "rng"]


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


def _what(x: Any) -> str:
    """A learner's return value, described: its type, and its shape if any."""
    shape = getattr(x, "shape", None)
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of {len(x)} items"
    return f"{type(x).__name__}" + (f" of shape {tuple(shape)}" if shape is not None
                                    else f" {x!r}"[:60])


def call_learner(fn: Callable, title: str, *args: Any) -> Any:
    """``fn(*args)`` on copies of the array arguments, as a check calls a learner's
    function: not callable, ``NotImplementedError`` and ``None`` are said plainly."""
    if not callable(fn):
        raise TypeError(f"{title}: expected your function, got {type(fn).__name__}")
    try:
        out = fn(*[np.copy(a) if isinstance(a, np.ndarray) else a for a in args])
    except NotImplementedError:
        raise AssertionError(f"{title}: not attempted yet — replace the "
                             f"`raise NotImplementedError` line with your code"
                             ) from None
    if out is None:
        raise AssertionError(f"{title}: your function returned None — "
                             f"did you forget `return`?")
    return out


def as_result(got: Any, shape: tuple, *, title: str, where: str,
              hint: str = "") -> np.ndarray:
    """The learner's return value as a real numpy array of ``shape``, or an
    ``AssertionError`` saying "expected ..., got ..." (never a numpy error)."""
    hint = f" Hint: {hint}" if hint else ""
    want = ("a real number" if shape == () else f"a real array of shape {shape}")
    try:
        arr = to_numpy(got)
    except Exception:                    # a ragged list, an object, ...
        raise AssertionError(f"{title}: {where} returns {_what(got)}: expected "
                             f"{want}.{hint}") from None
    if arr.dtype.kind not in "biuf":
        raise AssertionError(f"{title}: {where} returns {_what(got)} (dtype "
                             f"{arr.dtype}): expected {want}.{hint}")
    if arr.shape != tuple(shape):
        raise AssertionError(f"{title}: {where}: expected shape {tuple(shape)} (the "
                             f"reference's), got shape {arr.shape}.{hint}")
    return arr


def as_int(got: Any, *, title: str, where: str, hint: str = "") -> int:
    """The learner's return value as an int, or an ``AssertionError`` saying
    "expected an integer, got ..." (a float, an array, a string, None)."""
    arr = got if isinstance(got, np.ndarray) else None
    if isinstance(got, (int, np.integer)) and not isinstance(got, (bool, np.bool_)):
        return int(got)
    if arr is not None and arr.shape == () and arr.dtype.kind in "iu":
        return int(arr)
    raise AssertionError(f"{title}: {where} returns {_what(got)}: expected an "
                         f"integer (an int)." + (f" Hint: {hint}" if hint else ""))


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
        got = as_result(got, expected.shape, title=title,
                        where=f"on test case {i} (inputs {_describe(args)}) "
                              f"{_name(fn)}", hint=hint)
        try:
            assert_close(got, expected, rtol=rtol, atol=atol, name="your result",
                         against="the torch reference", verbose=False)
        except AssertionError as exc:
            raise AssertionError(f"{title}: {_name(fn)} gives wrong values on test "
                                 f"case {i} (inputs {_describe(args)}): {exc}."
                                 + (f" Hint: {hint}" if hint else "")) from None
    print(f"✓ {title}: matches the torch reference on all {len(cases)} test cases")


def refuse_calls(fn: Callable, names: Iterable[str], *, title: str, why: str) -> None:
    """Fail a "by hand" exercise whose function uses one of ``names``.

    ``names`` are dotted paths of what the exercise re-derives
    (``"numpy.linalg.eigvalsh"``, ``"dlmath.linalg.pca"``, or a whole module
    such as ``"dlmath.nn"``) or top-level package names (``"torch"``: anything
    from that package). The names the function's code uses are resolved to the
    *objects* they denote — its globals, closure cells, default values, imports
    inside it, attribute chains such as ``np.linalg.eigvalsh`` or
    ``lin.eigvalsh`` after ``lin = np.linalg`` — and an object is refused by
    its identity or its home module, so aliases (``import torch as tt``,
    ``from numpy.linalg import eigvalsh as ev``) are caught. The learner's own
    helpers are followed: every function or class it reaches that is not part
    of dlmath, torch, numpy, another library or the standard library is walked
    the same way (nested functions and closures included). Nothing is refused
    by a bare name: a helper of the learner's called ``backward`` is fine.
    """
    if not callable(fn):
        raise TypeError(f"{title}: expected your function, got {type(fn).__name__}")
    found = _Walk(names).run(fn)
    # say the deepest names only: torch.linalg.eigh, not also torch and torch.linalg
    found = [(what, via) for what, via in found
             if not any(o.startswith(what + ".") for o, _ in found)]
    if found:
        uses = ", ".join(what + (f" (through your {via})" if via else "")
                         for what, via in found[:4])
        uses += f" and {len(found) - 4} more" if len(found) > 4 else ""
        raise AssertionError(f"{title}: this exercise is done by hand, but your "
                             f"function uses {uses}: {why}")


# Code from these top-level packages (and the standard library) is the library,
# not the learner's: the walk judges such objects by what they are, never inside.
_LIBRARY = frozenset({"dlmath", "torch", "numpy", "scipy", "sklearn", "matplotlib",
                      "ipywidgets", "IPython", "pandas", "captum", "torch_geometric",
                      "functorch", "builtins"})
_MAX_OBJECTS = 20000                    # bounds the walk over huge or cyclic globals


def _top(module_name: Any) -> str:
    return module_name.split(".")[0] if isinstance(module_name, str) else ""


def _home(obj: Any) -> str:
    """The dotted name of the module an object comes from ("" if none)."""
    import types

    if isinstance(obj, types.ModuleType):
        return obj.__name__
    mod = getattr(obj, "__module__", None)          # functions, classes, instances
    if isinstance(mod, str) and mod != "builtins":
        return mod
    owner = getattr(obj, "__objclass__", None)      # e.g. torch.Tensor.sum
    if owner is None:
        owner = getattr(obj, "__self__", None)      # e.g. a bound x.sum, x a tensor
    if isinstance(owner, types.ModuleType):
        return owner.__name__
    if owner is not None and owner is not obj:
        cls = owner if isinstance(owner, type) else type(owner)
        return getattr(cls, "__module__", "") or ""
    return mod if isinstance(mod, str) else (getattr(type(obj), "__module__", "") or "")


def _label(obj: Any) -> str:
    """``module.qualname`` of a function or class; a module's name."""
    import types

    if isinstance(obj, types.ModuleType):
        return obj.__name__
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if isinstance(obj, types.BuiltinFunctionType):      # torch.tensor, not its class
        name = getattr(obj, "__name__", name)
    if not isinstance(name, str):
        return f"a {type(obj).__module__}.{type(obj).__qualname__}"
    home = _home(obj)
    return f"{home}.{name}" if home else name


def _learner_code(obj: Any) -> bool:
    import sys

    top = _top(getattr(obj, "__module__", None))
    return bool(top) and top not in _LIBRARY and top not in sys.stdlib_module_names


def _resolve(path: str) -> Any:
    """The object a dotted path denotes (the longest importable module prefix,
    then attributes), or None where this installation has no such object (an
    older numpy, a renamed routine: nothing that is absent can be in use).
    ``tests/test_exercises_refusal.py`` checks that every path the chapters'
    checks name resolves here."""
    import importlib

    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


class _Walk:
    """One walk over a learner's function: what it reaches, and what is refused."""

    def __init__(self, names: Iterable[str]):
        import importlib.util
        import sys
        import types

        names = [names] if isinstance(names, str) else list(names)
        self.packages: set[str] = set()       # refused by home module: torch, dlmath.nn
        self.objects: dict[int, tuple[Any, str]] = {}  # refused by identity
        for path in names:
            if not isinstance(path, str) or not path.strip("."):
                raise ValueError(f"refuse_calls: names are dotted paths or package "
                                 f"names, got {path!r}")
            if "." not in path:
                if importlib.util.find_spec(path) is None:
                    raise ValueError(
                        f"refuse_calls: {path!r} is not a package; name what is "
                        f"refused by its dotted path (e.g. 'numpy.linalg.{path}'), "
                        f"never by a bare name")
                self.packages.add(path)
            elif _top(path) in sys.modules:   # a library never imported is not in use
                obj = _resolve(path)
                if obj is None:
                    continue
                if isinstance(obj, types.ModuleType):
                    self.packages.add(obj.__name__)
                else:
                    self.objects[id(obj)] = (obj, path)
        self.found: dict[str, str] = {}
        self.seen: dict[int, Any] = {}        # id -> object (keeps the ids valid)
        self.todo: list[tuple[Any, str]] = []

    def refused(self, obj: Any) -> str | None:
        """The name under which ``obj`` is refused, or None."""
        hit = self.objects.get(id(obj))
        if hit is not None and hit[0] is obj:
            return hit[1]
        wrapped = getattr(obj, "__wrapped__", None)    # functools.wraps of a routine
        hit = self.objects.get(id(wrapped)) if wrapped is not None else None
        if hit is not None and hit[0] is wrapped:
            return hit[1]
        home = _home(obj)
        for pkg in sorted(self.packages):
            if home == pkg or home.startswith(pkg + "."):
                return _label(obj)
        return None

    def run(self, fn: Callable) -> list[tuple[str, str]]:
        self.visit(fn, "", root=True)
        while self.todo and len(self.seen) < _MAX_OBJECTS:
            self.expand(*self.todo.pop())
        return sorted(self.found.items())

    def visit(self, obj: Any, via: str, depth: int = 0, root: bool = False) -> None:
        """Note ``obj`` if refused; queue the learner's functions and classes."""
        import functools
        import types

        if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)):
            return
        if id(obj) in self.seen:
            return
        self.seen[id(obj)] = obj
        bad = self.refused(obj)
        if bad is not None:
            self.found.setdefault(bad, via)
            return
        if isinstance(obj, (types.MethodType, staticmethod, classmethod)):
            self.visit(obj.__func__, via, depth, root)
        elif isinstance(obj, functools.partial):
            for o in (obj.func, *obj.args, *obj.keywords.values()):
                self.visit(o, via, depth, root)
        elif isinstance(obj, property):
            for o in (obj.fget, obj.fset, obj.fdel):
                self.visit(o, via, depth)
        elif isinstance(obj, (types.FunctionType, type)):
            if _learner_code(obj):
                name = getattr(obj, "__qualname__", getattr(obj, "__name__", "?"))
                self.todo.append((obj, via if via or root else f"helper `{name}`"))
        elif isinstance(obj, (list, tuple, set, frozenset, dict)):
            # which element is used is not known: walk the learner's functions in
            # it and refuse the routines it holds, not every module or tensor
            if depth < 2:
                items = list(obj.values()) if isinstance(obj, dict) else list(obj)
                for o in items[:256]:
                    if callable(o) or isinstance(o, (list, tuple, dict)):
                        self.visit(o, via, depth + 1)
        elif not isinstance(obj, types.ModuleType):
            if _learner_code(type(obj)):
                self.visit(type(obj), via, depth)      # an instance of a learner class
            elif callable(obj) and _learner_code(getattr(obj, "__call__", None)):
                self.visit(obj.__call__, via, depth)

    def expand(self, obj: Any, via: str) -> None:
        if isinstance(obj, type):
            for o in vars(obj).values():
                self.visit(o, via)
            return
        code = obj.__code__
        env: dict[str, Any] = {}
        for name, cell in zip(code.co_freevars, obj.__closure__ or ()):
            try:
                env[name] = cell.cell_contents
            except ValueError:                         # a cell not yet filled
                pass
        positional = code.co_varnames[:code.co_argcount]
        defaults = obj.__defaults__ or ()
        env.update(zip(positional[len(positional) - len(defaults):], defaults))
        env.update(obj.__kwdefaults__ or {})
        for value in list(env.values()):
            self.visit(value, via)
        self.code(code, obj.__globals__, env, via)

    def code(self, code: Any, glb: dict, env: dict, via: str) -> None:
        """Resolve what a code object loads: names, attribute chains, imports."""
        import builtins
        import dis
        import sys
        import types

        local = dict(env)
        cur: Any = None            # the object the current chain of loads denotes
        base: Any = None           # the module an IMPORT_FROM reads from
        chain = False              # ``import a.b as c``: IMPORT_FROMs walk down
        prev: Any = None
        for ins in dis.get_instructions(code):
            op, arg, nxt = ins.opname, ins.argval, None
            if op in ("LOAD_GLOBAL", "LOAD_NAME"):
                nxt = glb[arg] if arg in glb else local.get(arg, getattr(builtins, arg,
                                                                        None))
            elif op in ("LOAD_DEREF", "LOAD_CLASSDEREF") or op.startswith("LOAD_FAST"):
                nxt = local.get(arg) if isinstance(arg, str) else None
            elif op in ("LOAD_ATTR", "LOAD_METHOD"):
                if isinstance(cur, (types.ModuleType, type)):
                    try:
                        nxt = getattr(cur, arg, None)
                    except Exception:                  # a lazy attribute that fails
                        nxt = None
                    if nxt is None and isinstance(cur, types.ModuleType):
                        nxt = sys.modules.get(f"{cur.__name__}.{arg}")
            elif op == "IMPORT_NAME":
                full = sys.modules.get(arg) or types.ModuleType(arg)  # judged by name
                self.visit(full, via)
                chain = prev is None or getattr(prev, "argval", 0) is None
                nxt = base = (sys.modules.get(_top(arg)) or types.ModuleType(_top(arg))
                              if chain else full)
            elif op == "IMPORT_FROM" and base is not None:
                nxt = getattr(base, arg, None)
                if nxt is None and isinstance(base, types.ModuleType):
                    nxt = sys.modules.get(f"{base.__name__}.{arg}")
                if chain:
                    base = nxt
            elif op in ("STORE_FAST", "STORE_DEREF", "STORE_NAME", "STORE_GLOBAL"):
                if cur is not None:
                    local[arg] = cur
            if nxt is not None:
                self.visit(nxt, via)
            cur, prev = nxt, ins
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                self.code(const, glb, local, via)
