"""Elementwise activations (Chapter 5): ReLU, Sigmoid, Tanh, GELU, each with its VJP."""
from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["ReLU", "Sigmoid", "Tanh", "GELU"]


class _Elementwise(Module):
    """y = f(x) elementwise; backward dx = dy ⊙ f'(x) from ``functional.<f>_vjp``."""

    _vjp = None  # the functional VJP, set by each subclass

    @classmethod
    def from_torch(cls, module):
        return cls()

    def _kwargs(self) -> dict:
        return {}

    def forward(self, x):
        y, vjp = type(self)._vjp(self._input(x), **self._kwargs())
        return self._save(y, lambda dy: (vjp(dy), {}))


class ReLU(_Elementwise):
    """max(x, 0); derivative [x > 0]."""
    _vjp = staticmethod(F.relu_vjp)


class Sigmoid(_Elementwise):
    """σ(x) = 1 / (1 + e^{-x}); derivative σ(1 - σ)."""
    _vjp = staticmethod(F.sigmoid_vjp)


class Tanh(_Elementwise):
    """tanh x; derivative 1 - tanh² x."""
    _vjp = staticmethod(F.tanh_vjp)


class GELU(_Elementwise):
    """x Φ(x) (``approximate="none"``) or its tanh approximation (``"tanh"``)."""
    _vjp = staticmethod(F.gelu_vjp)

    def __init__(self, approximate: str = "none"):
        super().__init__()
        F.gelu(0.0, approximate)                 # validates the argument
        self.approximate = approximate

    @classmethod
    def from_torch(cls, module):
        return cls(module.approximate)

    def _kwargs(self) -> dict:
        return {"approximate": self.approximate}

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"
