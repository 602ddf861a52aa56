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
- ``dlmath.generative``: KL, reparameterization, DDPM schedule, couplings (Chapter 10).
- ``dlmath.graph``: Laplacians, stochastic block models, spectral clustering
  (Chapter 11).
- ``dlmath.explain``: attributions (saliency, IG, occlusion, Shapley), Chapter 12.
- ``dlmath.distributed``, ``dlmath.memory``, ``dlmath.precision``, ``dlmath.flash``,
  ``dlmath.kvcache``: scaling and efficiency (Chapter 13; imported on demand).
- ``dlmath.nas`` / ``dlmath.quantum``: search budgets and DARTS; a qubit simulator
  (Chapter 14).
"""
from __future__ import annotations

from ._random import rng, seed
from ._device import device
from . import (
    autodiff,
    check,
    data,
    explain,
    functional,
    generative,
    graph,
    landscapes,
    linalg,
    nas,
    nn,
    optim,
    probability,
    quantum,
)

__all__ = [
    "seed", "rng", "device", "autodiff", "check", "data", "functional", "landscapes",
    "linalg", "optim", "nn", "probability",
    "generative", "graph", "explain", "nas", "quantum",   # Part III
]
__version__ = "0.1.0"
