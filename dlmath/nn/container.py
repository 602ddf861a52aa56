"""``Sequential``: layers applied in order; backward runs them in reverse
(Chapter 5)."""
from __future__ import annotations

from .module import Module

__all__ = ["Sequential"]


class Sequential(Module):
    """``Sequential(l0, l1, ...)``: forward x → l0 → l1 → ...; params named
    ``"0.weight"`` ...

    Backpropagation is the chain rule applied right to left: ``backward``
    hands each layer the gradient w.r.t. its output, from the last layer to
    the first, and returns the gradient w.r.t. the network's input.
    """

    def __init__(self, *layers: Module):
        super().__init__()
        for i, layer in enumerate(layers):
            self.add_module(str(i), layer)

    @classmethod
    def from_torch(cls, module) -> "Sequential":
        from .convert import from_torch
        return cls(*(from_torch(m) for m in module))

    def __getitem__(self, i: int) -> Module:
        return list(self._children.values())[i]

    def __len__(self) -> int:
        return len(self._children)

    def forward(self, x):
        for layer in self._children.values():
            x = layer(x)
        return x

    def backward(self, dout):
        for layer in reversed(list(self._children.values())):
            dout = layer.backward(dout)
        return dout
