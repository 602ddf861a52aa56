"""Stateless building blocks of networks, in numpy, with torch's semantics.

Each function matches its ``torch.nn.functional`` twin (argument names,
layouts, reductions) so the check against PyTorch is one line.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array

__all__ = ["linear"]


def linear(x, W, b=None) -> np.ndarray:
    """Dense layer ``y = x Wᵀ + b``, eq. (1.4) of Chapter 1.

    x: (..., in_features), W: (out_features, in_features), b: (out_features,)
    or None; returns (..., out_features). For one column vector this is the
    familiar ``y = W x + b``; for a batch stored as rows it is one matmul.
    Same as ``torch.nn.functional.linear``.
    """
    x = as_float_array(x, "linear", "x")
    W = as_float_array(W, "linear", "W", ndim=2, layout="(out_features, in_features)")
    if x.ndim == 0 or x.shape[-1] != W.shape[1]:
        raise ValueError(f"linear: x must be (..., in_features={W.shape[1]}) to match "
                         f"W of shape {W.shape}, got x of shape {x.shape}")
    y = x @ W.T
    if b is not None:
        b = as_float_array(b, "linear", "b", ndim=1, layout="(out_features,)")
        if b.shape[0] != W.shape[0]:
            raise ValueError(f"linear: b must be (out_features={W.shape[0]},), got shape {b.shape}")
        y = y + b
    return y
