"""Seeding every source of randomness the book uses."""
from __future__ import annotations

import random as _py_random

import numpy as np

#: The generator dlmath itself draws from. ``seed`` re-seeds it *in place*,
#: so ``from dlmath import rng`` stays valid after a later ``seed`` call.
rng: np.random.Generator = np.random.default_rng(0)


def seed(n: int = 0) -> None:
    """Seed Python's ``random``, numpy (legacy and ``dlmath.rng``) and torch.

    Call it once in the setup cell of every notebook: executing the notebook
    twice then prints the same text.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"seed: n must be an int, got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"seed: n must be >= 0, got {n}")
    n = int(n)
    _py_random.seed(n)
    np.random.seed(n % 2**32)
    rng.bit_generator.state = np.random.PCG64(n).state
    try:  # torch is optional for the package, required for the checks
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.manual_seed(n)
