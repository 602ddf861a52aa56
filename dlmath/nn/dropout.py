"""Inverted dropout (Chapter 6): y = x ⊙ m / (1 - p) in training, the identity in
eval."""
from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Zero each unit with probability ``p`` during training and scale the rest by
    1/(1 - p).

    ``forward(x, mask=None)``: ``mask`` (True = keep) replaces the random draw,
    so a check can reuse the mask torch drew; otherwise it comes from ``rng``
    (default ``dlmath.rng``). The mask of the last forward is ``self.mask``.
    """

    def __init__(self, p: float = 0.5, rng=None):
        super().__init__()
        F.dropout(0.0, p, training=False)        # validates p
        self.p, self.rng, self.mask = p, rng, None

    @classmethod
    def from_torch(cls, module) -> "Dropout":
        return cls(module.p).train(module.training)

    def forward(self, x, mask=None):
        x = self._input(x)
        if self.training and mask is None:
            mask = (self.rng or _default_rng()).random(x.shape) >= self.p
        y, vjp = F.dropout_vjp(x, self.p, self.training, mask=mask)
        self.mask = mask
        return self._save(y, lambda dy: (vjp(dy), {}))

    def extra_repr(self) -> str:
        return f"p={self.p}"


def _default_rng():
    from .._random import rng
    return rng
