"""Elementwise activations (Chapter 5): ReLU, Sigmoid, Tanh, GELU, each with its VJP."""
from __future__ import annotations

from .. import functional as F
from .._validate import check_int
from .module import Module

__all__ = ["ReLU", "Sigmoid", "Tanh", "GELU", "LeakyReLU", "SiLU", "Softmax",
           "LogSoftmax"]


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


class LeakyReLU(_Elementwise):
    """x for x > 0, ``negative_slope``·x otherwise; derivative 1 or the slope."""
    _vjp = staticmethod(F.leaky_relu_vjp)

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        F.leaky_relu(0.0, negative_slope)        # validates the slope
        self.negative_slope = float(negative_slope)

    @classmethod
    def from_torch(cls, module):
        return cls(module.negative_slope)

    def _kwargs(self) -> dict:
        return {"negative_slope": self.negative_slope}

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class SiLU(_Elementwise):
    """x σ(x); derivative σ(x)(1 + x(1 - σ(x)))."""
    _vjp = staticmethod(F.silu_vjp)

    def __init__(self, inplace: bool = False):
        super().__init__()


class Softmax(_Elementwise):
    """softmax along ``dim``; VJP p ⊙ (dy - Σ dy ⊙ p). ``dim=None``: torch's legacy
    implicit dim (0 for 0-, 1- and 3-d input, else 1)."""
    _vjp = staticmethod(F.softmax_vjp)

    def __init__(self, dim: int | None = None):
        super().__init__()
        if dim is not None:
            check_int(dim, self._name, "dim")
        self.dim = dim

    @classmethod
    def from_torch(cls, module):
        return cls(module.dim)

    def _kwargs(self) -> dict:
        return {"dim": self.dim}

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log softmax along ``dim``; VJP dy - p Σ dy."""
    _vjp = staticmethod(F.log_softmax_vjp)
