"""Losses with backward (Chapters 3 and 5): ``CrossEntropyLoss``, ``MSELoss``.

``forward(input, target)`` returns the loss (a 0-d array for "mean"/"sum");
``backward(dout=1.0)`` returns the gradient w.r.t. ``input``, so a training
step reads ``loss = crit(model(x), y); model.backward(crit.backward())``.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .module import Module

__all__ = ["CrossEntropyLoss", "MSELoss"]


class _Loss(Module):
    _vjp = None

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        F.basic._check_reduction(reduction, type(self).__name__)
        self.reduction = reduction

    @classmethod
    def from_torch(cls, module):
        return cls(module.reduction)

    def forward(self, input, target):
        loss, vjp = type(self)._vjp(input, target, self.reduction)
        loss = np.asarray(loss)
        return self._save(loss, lambda dl: ((vjp(dl)[0],), {}))

    def backward(self, dout=1.0):
        """Gradient w.r.t. ``input``; ``dout`` defaults to 1 (the loss is the root)."""
        return super().backward(dout)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of (N, C) logits and (N,) class indices; grad (p - y)/N."""
    _vjp = staticmethod(F.cross_entropy_vjp)


class MSELoss(_Loss):
    """Mean squared error; grad 2 (input - target)/n."""
    _vjp = staticmethod(F.mse_loss_vjp)
