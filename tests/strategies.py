"""Hypothesis strategies for the tests: arrays whose *values* hypothesis draws.

A test that draws only a seed for ``numpy.random.default_rng`` gets Gaussian noise:
hypothesis can neither shrink a failure to a small example nor reach the cases
that break numerical code (exact zeros, ties, repeated rows, the largest and
smallest magnitudes). These strategies draw the values themselves; hypothesis'
float strategy tries the bounds, 0 and small integers early, and ``arrays``
repeats a fill value, so ties and rank-deficient matrices come up by themselves.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

__all__ = ["finite", "float_arrays", "matrices", "shapes", "logits", "probabilities",
           "class_targets"]


def finite(lo: float = -10.0, hi: float = 10.0) -> st.SearchStrategy[float]:
    """Finite float64 values in [lo, hi] (0, the bounds and ties included)."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def float_arrays(
    shape, lo: float = -10.0, hi: float = 10.0
) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of ``shape`` (tuple or strategy of tuples), values in [lo, hi]."""
    return arrays(np.float64, shape, elements=finite(lo, hi))


def matrices(m: int, n: int, lo: float = -10.0, hi: float = 10.0):
    """(m, n) float64 matrices; zero rows, equal columns, rank deficiency reachable."""
    return float_arrays((m, n), lo, hi)


def shapes(min_dims: int = 1, max_dims: int = 3, max_side: int = 5):
    return array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side
    )


def logits(shape, scale: float = 1e4):
    """Logits up to ``scale`` in magnitude: where naive softmax over- or underflows."""
    return float_arrays(shape, -scale, scale)


@st.composite
def probabilities(draw, shape, axis: int = -1):
    """Probability vectors along ``axis`` (exact zeros and one-hots included)."""
    w = draw(float_arrays(shape, 0.0, 1.0))
    w = np.moveaxis(w, axis, -1)
    w[w.sum(-1) == 0, 0] = 1.0                  # an all-zero row becomes a one-hot
    return np.moveaxis(w / w.sum(-1, keepdims=True), -1, axis)


def class_targets(N: int, C: int):
    """(N,) int64 class indices in [0, C)."""
    return arrays(np.int64, (N,), elements=st.integers(0, C - 1))
