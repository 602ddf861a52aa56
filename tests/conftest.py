"""Shared fixtures: torch references run on dlmath.device() in float64.

Hypothesis profiles: ``ci`` (chosen when the environment variable CI is set, as on
every CI service) is derandomized, so a red run is reproduced by running it again;
``dev`` (the default elsewhere) explores new examples each run. Both print the
reproduction blob of a failure. Choose one explicitly with
``pytest --hypothesis-profile=ci``.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

import dlmath
from dlmath.check import to_torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # tools/ (book build, browser) is importable as `tools`
    sys.path.insert(0, str(ROOT))

settings.register_profile("ci", derandomize=True, print_blob=True, deadline=None)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def dev():
    return dlmath.device()


@pytest.fixture
def t(dev):
    """Convert numpy -> float64 torch tensor on the reference device."""
    def _t(x, requires_grad=False):
        return to_torch(np.asarray(x, dtype=np.float64), requires_grad=requires_grad,
                        device=dev)
    return _t


@pytest.fixture
def g():
    return np.random.default_rng(1234)


# --------------------------------------------------------------------------- the book
def pytest_addoption(parser):
    parser.addoption("--reuse-book", action="store_true",
                     help="use the existing _build/html instead of building the book "
                          "(for tests/test_browser.py while writing a page)")


@pytest.fixture(scope="session")
def book_build(request, tmp_path_factory):
    """Build the book once per test session: ``{"returncode", "log", "seconds"}``.

    ``tests/test_book.py`` and ``tests/test_browser.py`` share it. Under
    pytest-xdist each worker is its own session, so the first worker to ask builds
    (holding a lock) and leaves the result for the others.
    """
    from tools.book import build_book

    if request.config.getoption("--reuse-book"):
        return {"returncode": 0, "log": "build succeeded (--reuse-book: not rebuilt)",
                "seconds": 0.0, "reused": True}
    if not hasattr(request.config, "workerinput"):  # no xdist: just build
        return build_book()
    import fcntl
    import json

    shared = tmp_path_factory.getbasetemp().parent  # common to every worker of a run
    result = shared / "book_build.json"
    with open(shared / "book_build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if result.exists():
                return json.loads(result.read_text())
            out = build_book()
            result.write_text(json.dumps(out))
            return out
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
