"""Shared fixtures: torch references run on dlmath.device() in float64."""
from __future__ import annotations

import numpy as np
import pytest

import dlmath
from dlmath.check import to_torch


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
