"""Convolution and pooling layers (Chapter 7): ``Conv2d``, ``MaxPool2d``,
``AvgPool2d``, ``Flatten``, with torch's parameter names, layouts and initialization."""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .._validate import check_int
from ..functional.conv import _pair
from . import init
from .module import Module

__all__ = ["Conv2d", "MaxPool2d", "AvgPool2d", "Flatten"]


def _x4(layer: Module, x) -> np.ndarray:
    x = layer._input(x)
    if x.ndim != 4:
        raise ValueError(f"{layer._name}: x must be (N, C, H, W), got shape {x.shape}")
    return x


class Conv2d(Module):
    """2-D convolution, eq-conv2d; ``weight`` (C_out, C_in, kH, kW), ``bias`` (C_out,).

    Initialized like ``torch.nn.Conv2d``: W ~ U(-1/√fan_in, 1/√fan_in) (Kaiming-uniform
    with a = √5, fan_in = C_in·kH·kW) and b ~ U(-1/√fan_in, 1/√fan_in), drawn from
    ``rng`` (default ``dlmath.rng``). ``backward`` applies eq-conv-dx/dw/db.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, bias: bool = True, rng=None):
        super().__init__()
        fn = "Conv2d"
        self.in_channels = check_int(in_channels, fn, "in_channels", minimum=1)
        self.out_channels = check_int(out_channels, fn, "out_channels", minimum=1)
        self.kernel_size = _pair(kernel_size, fn, "kernel_size", 1)
        self.stride = _pair(stride, fn, "stride", 1)
        self.padding = _pair(padding, fn, "padding", 0)
        self.dilation = _pair(dilation, fn, "dilation", 1)
        shape = (out_channels, in_channels) + self.kernel_size
        W = self._params["weight"] = np.empty(shape)
        init.kaiming_uniform_(W, a=math.sqrt(5), rng=rng)
        if bias:
            bound = 1 / math.sqrt(init.fan_in_and_fan_out(shape)[0])
            b = init.uniform_(np.empty(out_channels), -bound, bound, rng)
            self._params["bias"] = b

    @classmethod
    def from_torch(cls, module) -> "Conv2d":
        if module.groups != 1 or module.padding_mode != "zeros" \
                or isinstance(module.padding, str):
            raise ValueError(f"Conv2d.from_torch: only groups=1, padding_mode='zeros' "
                             f"and integer padding are supported, got "
                             f"groups={module.groups}, "
                             f"padding_mode={module.padding_mode!r}, "
                             f"padding={module.padding!r}")
        layer = cls(module.in_channels, module.out_channels, tuple(module.kernel_size),
                    tuple(module.stride), tuple(module.padding), tuple(module.dilation),
                    bias=module.bias is not None)
        return layer._load_torch(module)

    def forward(self, x):
        x = _x4(self, x)
        if x.shape[1] != self.in_channels:
            raise ValueError(f"Conv2d: x must have C={self.in_channels} channels "
                             f"(axis 1), got shape {x.shape}")
        y, vjp = F.conv2d_vjp(x, self._params["weight"], self._params.get("bias"),
                              self.stride, self.padding, self.dilation)

        def backward(dy):                        # eq-conv-dx/dw/db
            dx, dW, db = vjp(dy)
            grads = {"weight": dW} if db is None else {"weight": dW, "bias": db}
            return (dx,), grads
        return self._save(y, backward)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, "
                f"kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}"
                + (f", dilation={self.dilation}" if self.dilation != (1, 1) else "")
                + (", bias=False" if "bias" not in self._params else ""))


class _Pool2d(Module):
    _vjp = None

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        fn = self._name
        self.kernel_size = _pair(kernel_size, fn, "kernel_size", 1)
        self.stride = self.kernel_size if stride is None \
            else _pair(stride, fn, "stride", 1)
        self.padding = _pair(padding, fn, "padding", 0)

    @classmethod
    def _torch_args(cls, module):
        args = (module.kernel_size, module.stride or module.kernel_size, module.padding)
        return [tuple(v) if isinstance(v, (tuple, list)) else v for v in args]

    def forward(self, x):
        x = _x4(self, x)
        y, vjp = type(self)._vjp(x, self.kernel_size, self.stride, self.padding)
        return self._save(y, lambda dy: (vjp(dy), {}))

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}")


class MaxPool2d(_Pool2d):
    """Max pooling; backward routes dy to each window's first arg max, eq-maxpool-dx."""
    _vjp = staticmethod(F.max_pool2d_vjp)

    @classmethod
    def from_torch(cls, module) -> "MaxPool2d":
        if module.ceil_mode or module.return_indices \
                or module.dilation not in (1, (1, 1)):
            raise ValueError("MaxPool2d.from_torch: ceil_mode, return_indices and "
                             "dilation are not supported")
        return cls(*cls._torch_args(module))


class AvgPool2d(_Pool2d):
    """Average pooling, Exercise 7.3: backward spreads dy / (kH·kW) over each window."""
    _vjp = staticmethod(F.avg_pool2d_vjp)

    @classmethod
    def from_torch(cls, module) -> "AvgPool2d":
        if module.ceil_mode or not module.count_include_pad \
                or module.divisor_override is not None:
            raise ValueError("AvgPool2d.from_torch: ceil_mode, count_include_pad=False "
                             "and divisor_override are not supported")
        return cls(*cls._torch_args(module))


class Flatten(Module):
    """Flattens axes ``start_dim..end_dim`` into one (default: all but the batch axis).

    A reshape, so its backward is the inverse reshape of dy.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = check_int(start_dim, "Flatten", "start_dim")
        self.end_dim = check_int(end_dim, "Flatten", "end_dim")

    @classmethod
    def from_torch(cls, module) -> "Flatten":
        return cls(module.start_dim, module.end_dim)

    def forward(self, x):
        x = self._input(x)
        nd = max(x.ndim, 1)
        a = self.start_dim + nd if self.start_dim < 0 else self.start_dim
        b = self.end_dim + nd if self.end_dim < 0 else self.end_dim
        if not (0 <= a < nd and 0 <= b < nd and a <= b):
            raise ValueError(f"Flatten: start_dim={self.start_dim}, "
                             f"end_dim={self.end_dim} do not fit x of shape {x.shape}")
        shape = x.shape
        y = x.reshape(shape[:a] + (-1,) + shape[b + 1:])
        return self._save(y, lambda dy: ((dy.reshape(shape),), {}))

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
