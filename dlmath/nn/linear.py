"""``Linear``: y = x Wᵀ + b (Chapter 5), torch's layout and initialization."""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .._validate import check_int
from . import init
from .module import Module

__all__ = ["Linear"]


class Linear(Module):
    """Dense layer ``y = x Wᵀ + b``; params ``weight`` (out, in) and ``bias`` (out,).

    Initialized like ``torch.nn.Linear``: W ~ U(-1/√in, 1/√in) (Kaiming-uniform
    with a = √5) and b ~ U(-1/√in, 1/√in), drawn from ``rng`` (default ``dlmath.rng``).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 rng=None):
        super().__init__()
        self.in_features = check_int(in_features, "Linear", "in_features", minimum=1)
        self.out_features = check_int(out_features, "Linear", "out_features", minimum=1)
        W = self._params["weight"] = np.empty((out_features, in_features))
        init.kaiming_uniform_(W, a=math.sqrt(5), rng=rng)
        if bias:
            bound = 1 / math.sqrt(in_features)
            self._params["bias"] = init.uniform_(np.empty(out_features), -bound, bound,
                                                 rng)

    @classmethod
    def from_torch(cls, module) -> "Linear":
        layer = cls(module.in_features, module.out_features,
                    bias=module.bias is not None)
        return layer._load_torch(module)

    def forward(self, input):
        x = self._input(input)                   # torch's name for it: input
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear: x must be (..., in_features="
                             f"{self.in_features}), got shape {x.shape}")
        y, vjp = F.linear_vjp(x, self._params["weight"], self._params.get("bias"))

        def backward(dy):                        # Chapter 5.3, eq-backprop-batch
            dx, dW, db = vjp(dy)
            grads = {"weight": dW} if db is None else {"weight": dW, "bias": db}
            return (dx,), grads
        return self._save(y, backward)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={'bias' in self._params}")
