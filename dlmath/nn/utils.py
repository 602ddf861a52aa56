"""Gradient clipping by global norm (Chapter 6), as
``torch.nn.utils.clip_grad_norm_``."""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["clip_grad_norm_"]


def clip_grad_norm_(grads: Sequence[np.ndarray | None], max_norm: float,
                    norm_type: float = 2.0, eps: float = 1e-6) -> float:
    """Scale every gradient in place by min(1, max_norm / (‖g‖ + eps)); return ‖g‖.

    ‖g‖ is the ``norm_type``-norm of all gradients concatenated (``inf``: the
    largest absolute entry). Clipping by the global norm keeps the direction of
    the step and only shortens it. ``None`` entries are skipped.
    ``grads`` is typically ``model.gradients()``.
    """
    gs = [g for g in grads if g is not None]
    if (isinstance(max_norm, bool) or not isinstance(max_norm, (int, float))
            or max_norm < 0):
        raise ValueError(f"clip_grad_norm_: max_norm must be a number >= 0, "
                         f"got {max_norm!r}")
    for g in gs:
        if not isinstance(g, np.ndarray):
            raise TypeError(f"clip_grad_norm_: gradients must be numpy arrays, "
                            f"got {type(g).__name__}")
    if not gs:
        return 0.0
    if norm_type == np.inf:
        total = max(float(np.abs(g).max()) if g.size else 0.0 for g in gs)
    else:
        total = float(sum(np.sum(np.abs(g) ** norm_type) for g in gs)
                      ** (1.0 / norm_type))
    coef = max_norm / (total + eps)
    if coef < 1:
        for g in gs:
            g *= coef
    return total
