"""Data sets that need no download: real digits and small synthetic sets.

Every generator takes a ``seed`` and is deterministic: the same call returns
the same arrays on every machine.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import as_float_array, check_int

__all__ = [
    "Split", "stdlib_text", "load_digits", "train_test_split", "make_blobs",
    "make_moons", "make_spirals", "make_linear_regression", "stored_table"
]


class Split(NamedTuple):
    """A train/test split; unpack as ``X_train, y_train, X_test, y_test = split``."""
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def train_test_split(X, y, test_fraction: float = 0.25, seed: int = 0) -> Split:
    """Shuffle ``(X, y)`` with ``seed``; split off ``test_fraction`` as the test set."""
    X, y = np.asarray(X), np.asarray(y)
    if X.shape[:1] != y.shape[:1]:
        raise ValueError(
            f"train_test_split: X and y must have the same length, "
            f"got {X.shape[0] if X.ndim else 'scalar'} "
            f"and {y.shape[0] if y.ndim else 'scalar'}"
        )
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(
            f"train_test_split: test_fraction must be in (0, 1), got {test_fraction}"
        )
    perm = np.random.default_rng(seed).permutation(len(X))
    n_test = int(round(test_fraction * len(X)))
    test, train = perm[:n_test], perm[n_test:]
    return Split(X[train], y[train], X[test], y[test])


def load_digits(
    *, images: bool = False, test_fraction: float = 0.25, seed: int = 0
) -> Split:
    """scikit-learn's 1,797 handwritten digits (8x8 pixels), shipped with the package.

    Pixels are scaled from 0..16 to [0, 1] as float64. ``X`` has shape
    (N, 64), or (N, 8, 8) with ``images=True``; labels ``y`` are int64 in 0..9.
    The split is deterministic for a given ``seed``.
    """
    from sklearn.datasets import load_digits as _sk_digits

    bunch = _sk_digits()
    X = bunch.images.astype(np.float64) / 16.0
    if not images:
        X = X.reshape(len(X), -1)
    return train_test_split(X, bunch.target.astype(np.int64), test_fraction, seed)


def make_blobs(n: int = 300, centers=3, std: float = 0.6, seed: int = 0):
    """Isotropic Gaussian blobs in 2-D. ``centers``: an int, or a (k, d) array.

    Returns ``X`` (n, d) float64 and ``y`` (n,) int64 cluster labels.
    """
    n = check_int(n, "make_blobs", "n", minimum=1)
    g = np.random.default_rng(seed)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        k = check_int(centers, "make_blobs", "centers", minimum=1)
        angles = 2 * np.pi * np.arange(k) / k
        C = 3.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    else:
        C = as_float_array(centers, "make_blobs", "centers", ndim=2, layout="(k, d)")
    y = np.arange(n) % len(C)
    X = C[y] + std * g.standard_normal((n, C.shape[1]))
    return X, y.astype(np.int64)


def make_moons(n: int = 300, noise: float = 0.1, seed: int = 0):
    """Two interleaving half circles: a set no line can separate.

    Returns ``X`` (n, 2) float64 and ``y`` (n,) int64 in {0, 1}.
    """
    n = check_int(n, "make_moons", "n", minimum=2)
    g = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = np.pi * g.random(n)
    X = np.where(y[:, None] == 0,
                 np.stack([np.cos(t), np.sin(t)], 1),
                 np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1))
    return X + noise * g.standard_normal((n, 2)), y.astype(np.int64)


def make_spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0):
    """``classes`` interleaved spiral arms in 2-D.

    Returns ``X`` (n, 2) float64 and ``y`` (n,) int64 in 0..classes-1.
    """
    n = check_int(n, "make_spirals", "n", minimum=1)
    classes = check_int(classes, "make_spirals", "classes", minimum=1)
    g = np.random.default_rng(seed)
    y = np.arange(n) % classes
    r = g.random(n)
    theta = 4.0 * r + 2 * np.pi * y / classes + noise * g.standard_normal(n)
    X = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
    return X, y.astype(np.int64)


def make_linear_regression(n: int = 100, d: int = 1, noise: float = 0.1, seed: int = 0):
    """``y = X w + b + noise`` with known ``w`` (d,) and ``b``.

    Returns ``X`` (n, d), ``y`` (n,), ``w`` (d,) and ``b`` (float): the truth
    that a fitted model should recover.
    """
    n = check_int(n, "make_linear_regression", "n", minimum=1)
    d = check_int(d, "make_linear_regression", "d", minimum=1)
    g = np.random.default_rng(seed)
    w = g.standard_normal(d)
    b = float(g.standard_normal())
    X = g.uniform(-2, 2, size=(n, d))
    y = X @ w + b + noise * g.standard_normal(n)
    return X, y, w, b


# Modules of Python's standard library whose docstrings make an English corpus:
# a fixed list, imported in this order, so the text is the same on every run of
# one Python version (it changes a little between versions).
_CORPUS_MODULES = (
    "collections", "functools", "itertools", "json", "os", "pathlib", "re", "string",
    "textwrap", "typing", "argparse", "logging", "datetime", "decimal", "fractions",
    "statistics", "random", "heapq", "bisect", "csv", "shutil", "subprocess",
    "threading", "queue", "socket", "email", "http.client", "urllib.parse", "unittest",
    "doctest", "inspect", "dataclasses", "enum", "contextlib", "abc", "io", "tempfile",
    "zipfile", "tarfile", "pickle", "copy", "pprint", "difflib", "calendar", "locale",
    "gettext", "sqlite3", "xml.etree.ElementTree", "html.parser", "asyncio",
    "concurrent.futures"
)


def stdlib_text(max_chars: int | None = None) -> str:
    """English text from the docstrings of Python's standard library (no download).

    Gathers ``inspect.getdoc`` of a fixed list of modules and of their public
    classes and functions (sorted by name), keeps docstrings of at least 200
    characters, drops duplicates, and joins them with blank lines. Deterministic
    for one Python version. ``max_chars`` truncates the result. Used by the
    character-level models of Chapters 8 and 9.
    """
    import importlib
    import inspect

    if max_chars is not None and (
        isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1
    ):
        raise ValueError(f"stdlib_text: max_chars must be a positive int or None, "
                         f"got {max_chars!r}")
    seen, parts = set(), []
    for name in _CORPUS_MODULES:
        try:
            mod = importlib.import_module(name)
        except ImportError:                     # e.g. a Python built without sqlite3
            continue
        objs = [mod] + [
            getattr(mod, a) for a in sorted(vars(mod)) if not a.startswith("_")
        ]
        for obj in objs:
            if not (inspect.ismodule(obj) and obj is mod or inspect.isclass(obj)
                    or inspect.isfunction(obj)):
                continue
            doc = inspect.getdoc(obj) or ""
            if len(doc) >= 200 and doc not in seen:
                seen.add(doc)
                parts.append(doc)
    text = "\n\n".join(parts)
    return text if max_chars is None else text[:max_chars]


def stored_table(name: str) -> dict:
    """A results table that a script in ``tools/`` computed and stored in the package.

    Experiments longer than a notebook's budget (several seeds x budgets) run once
    with ``python tools/<name>.py``, which writes ``dlmath/tables/<name>.json``; the
    notebook reads it here, so it reads the same table locally and on Colab, where
    dlmath is installed from git and the chapter folders are absent.
    """
    import json
    from importlib import resources

    if not isinstance(name, str):
        raise TypeError(f"stored_table: name must be a str, got {type(name).__name__}")
    tables = resources.files("dlmath") / "tables"
    known = sorted(p.name[:-5] for p in tables.iterdir() if p.name.endswith(".json"))
    if name not in known:
        raise ValueError(f"stored_table: expected one of {known}, got {name!r}")
    return json.loads((tables / f"{name}.json").read_text(encoding="utf-8"))
