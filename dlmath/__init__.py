"""dlmath: the hand-derived mathematics of deep learning, in numpy.

Every function here is derived in a chapter of the book and checked there
against PyTorch. The package is small on purpose: one module per idea.

- ``dlmath.seed`` / ``dlmath.rng``: reproducible randomness.
- ``dlmath.device``: where the PyTorch reference checks run (GPU if present).
- ``dlmath.check``: ``assert_close`` and ``numerical_grad``.
- ``dlmath.data``: real and synthetic data sets that need no download.
- ``dlmath.viz`` / ``dlmath.widgets``: one look for every figure and widget.
- ``dlmath.functional`` / ``dlmath.linalg``: the math of the chapters.
- ``dlmath.autodiff``: a reverse-mode automatic differentiation engine.
- ``dlmath.probability``: log-densities, conjugate Bayesian updates, intervals.
- ``dlmath.optim``: optimizers and learning-rate schedules with torch.optim's semantics.
- ``dlmath.landscapes``: 2-D test functions for optimizers, and runs on them.
- ``dlmath.nn``: layers with hand-derived backward passes, mirroring torch.nn (Part II).
- ``dlmath.explain``: attributions (saliency, IG, occlusion, Shapley), Chapter 12.
"""
from __future__ import annotations

from ._random import rng, seed
from ._device import device
from . import (
    autodiff,
    check,
    data,
    functional,
    landscapes,
    linalg,
    nn,
    optim,
    probability,
)
# Chapter 12 (explainability)
from . import explain

__all__ = [
    "seed", "rng", "device", "autodiff", "check", "data", "functional", "landscapes",
    "linalg", "optim", "nn", "probability",
    "explain",  # Chapter 12
]
__version__ = "0.1.0"
