"""Shared fixtures: torch references run on dlmath.device() in float64.

Hypothesis profiles: ``ci`` (chosen when the environment variable CI is set, as on
every CI service) is derandomized, so a red run is reproduced by running it again;
``dev`` (the default elsewhere) explores new examples each run. Both print the
reproduction blob of a failure. Choose one explicitly with
``pytest --hypothesis-profile=ci``.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import settings

import dlmath
from dlmath.check import to_torch

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
