"""Losses with backward (Chapters 3 and 5): ``CrossEntropyLoss``, ``MSELoss``.

``forward(input, target)`` returns the loss (a 0-d array for "mean"/"sum");
``backward(dout=1.0)`` returns the gradient w.r.t. ``input``, so a training
step reads ``loss = crit(model(x), y); model.backward(crit.backward())``.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .._validate import as_float_array
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

    def _options(self) -> dict:
        return {}

    def forward(self, input, target):
        loss, vjp = type(self)._vjp(input, target, self.reduction, **self._options())
        loss = np.asarray(loss)
        return self._save(loss, lambda dl: ((vjp(dl)[0],), {}))

    def backward(self, dout=1.0):
        """Gradient w.r.t. ``input``; ``dout`` defaults to 1 (the loss is the root)."""
        return super().backward(dout)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy, all of ``torch.nn.CrossEntropyLoss``'s options.

    ``CrossEntropyLoss(reduction="mean", *, weight=None, ignore_index=-100,
    label_smoothing=0.0)``: logits (N, C), (C,) or (N, C, d1, ...), targets
    class indices or probabilities; the class weights, the ignored index and
    the smoothed target, and the mean's denominator Σ_n w_(y_n) [y_n ≠ ignore],
    are derived in ``dlmath.functional.cross_entropy``. Plain case: grad
    (p - y)/N.
    """
    _vjp = staticmethod(F.cross_entropy_vjp)

    def __init__(self, reduction: str = "mean", *, weight=None,
                 ignore_index: int = -100, label_smoothing: float = 0.0):
        super().__init__(reduction)
        fn = "CrossEntropyLoss"
        if weight is not None:                   # a buffer, as in torch
            self.buffers["weight"] = as_float_array(weight, fn, "weight", ndim=1,
                                                    layout="(C,)").astype(float)
        F.cross_entropy(np.zeros(2), np.array(0), ignore_index=ignore_index,
                        label_smoothing=label_smoothing)      # validates both
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    @classmethod
    def from_torch(cls, module):
        w = module.weight
        weight = None if w is None else w.detach().cpu().double().numpy()
        return cls(module.reduction, weight=weight, ignore_index=module.ignore_index,
                   label_smoothing=module.label_smoothing)

    @property
    def weight(self):
        return self.buffers.get("weight")

    def _options(self) -> dict:
        return {"weight": self.weight, "ignore_index": self.ignore_index,
                "label_smoothing": self.label_smoothing}

    def extra_repr(self) -> str:
        extra = "" if self.weight is None else ", weight=..."
        if self.ignore_index != -100:
            extra += f", ignore_index={self.ignore_index}"
        if self.label_smoothing:
            extra += f", label_smoothing={self.label_smoothing}"
        return super().extra_repr() + extra


class MSELoss(_Loss):
    """Mean squared error; grad 2 (input - target)/n."""
    _vjp = staticmethod(F.mse_loss_vjp)
