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

__all__ = ["Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "ConvTranspose2d",
           "AdaptiveAvgPool2d"]


def _x4(layer: Module, x) -> np.ndarray:
    x = layer._input(x)
    if x.ndim not in (3, 4):
        raise ValueError(f"{layer._name}: x must be (N, C, H, W) or (C, H, W), "
                         f"got shape {x.shape}")
    return x


def _padding(padding, fn: str):
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"{fn}: padding must be an int, a pair, 'same' or "
                             f"'valid', got {padding!r}")
        return padding
    return _pair(padding, fn, "padding", 0)


class Conv2d(Module):
    """2-D convolution, eq-conv2d; ``weight`` (C_out, C_in/groups, kH, kW), ``bias``
    (C_out,).

    Initialized like ``torch.nn.Conv2d``: W ~ U(-1/√fan_in, 1/√fan_in) (Kaiming-uniform
    with a = √5, fan_in = C_in/groups·kH·kW) and b ~ U(-1/√fan_in, 1/√fan_in), drawn
    from ``rng`` (default ``dlmath.rng``). ``backward`` applies eq-conv-dx/dw/db.
    ``padding`` may be "same" or "valid"; ``groups`` (keyword-only here) is the
    block-diagonal convolution of ``dlmath.functional.conv2d_vjp``; x may be one
    unbatched (C, H, W) image. ``padding_mode`` "reflect", "replicate" or
    "circular" pads with ``dlmath.functional.mode_pad_vjp`` (a gather; its
    backward the scatter-add), then convolves without padding, as torch.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, bias: bool = True, rng=None, *,
                 groups: int = 1, padding_mode: str = "zeros"):
        super().__init__()
        fn = "Conv2d"
        self.in_channels = check_int(in_channels, fn, "in_channels", minimum=1)
        self.out_channels = check_int(out_channels, fn, "out_channels", minimum=1)
        self.groups = check_int(groups, fn, "groups", minimum=1)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{fn}: groups={groups} must divide in_channels="
                             f"{in_channels} and out_channels={out_channels}")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"{fn}: padding_mode must be 'zeros', 'reflect', "
                             f"'replicate' or 'circular', got {padding_mode!r}")
        self.padding_mode = padding_mode
        self.kernel_size = _pair(kernel_size, fn, "kernel_size", 1)
        self.stride = _pair(stride, fn, "stride", 1)
        self.padding = _padding(padding, fn)
        self.dilation = _pair(dilation, fn, "dilation", 1)
        if self.padding == "same" and self.stride != (1, 1):
            raise ValueError(f"{fn}: padding='same' needs stride 1, "
                             f"got stride={self.stride}")
        shape = (out_channels, in_channels // groups) + self.kernel_size
        W = self._params["weight"] = np.empty(shape)
        init.kaiming_uniform_(W, a=math.sqrt(5), rng=rng)
        if bias:
            bound = 1 / math.sqrt(init.fan_in_and_fan_out(shape)[0])
            b = init.uniform_(np.empty(out_channels), -bound, bound, rng)
            self._params["bias"] = b

    @classmethod
    def from_torch(cls, module) -> "Conv2d":
        pad = module.padding if isinstance(module.padding, str) \
            else tuple(module.padding)
        layer = cls(module.in_channels, module.out_channels, tuple(module.kernel_size),
                    tuple(module.stride), pad, tuple(module.dilation),
                    bias=module.bias is not None, groups=module.groups,
                    padding_mode=module.padding_mode)
        return layer._load_torch(module)

    def forward(self, x):
        x = _x4(self, x)
        if x.shape[-3] != self.in_channels:
            raise ValueError(f"Conv2d: x must have C={self.in_channels} channels "
                             f"(axis {x.ndim - 3}), got shape {x.shape}")
        padding, pad_vjp = self.padding, None
        if self.padding_mode != "zeros":         # pad first, then a conv without
            if padding == "same":
                pads = F.conv._same_padding(self.kernel_size, self.dilation,
                                            self.stride, "Conv2d")
            elif padding == "valid":
                pads = ((0, 0), (0, 0))
            else:
                pads = ((padding[0],) * 2, (padding[1],) * 2)
            x, pad_vjp = F.mode_pad_vjp(x, pads, self.padding_mode)
            padding = 0
        y, vjp = F.conv2d_vjp(x, self._params["weight"], self._params.get("bias"),
                              self.stride, padding, self.dilation, self.groups)

        def backward(dy):                        # eq-conv-dx/dw/db
            dx, dW, db = vjp(dy)
            if pad_vjp is not None:
                (dx,) = pad_vjp(dx)              # the padding's adjoint
            grads = {"weight": dW} if db is None else {"weight": dW, "bias": db}
            return (dx,), grads
        return self._save(y, backward)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, "
                f"kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}"
                + (f", dilation={self.dilation}" if self.dilation != (1, 1) else "")
                + (f", groups={self.groups}" if self.groups != 1 else "")
                + (", bias=False" if "bias" not in self._params else ""))


class ConvTranspose2d(Module):
    """Transposed convolution: its forward is conv2d's input gradient (eq-conv-dx),
    derived in ``dlmath.functional.conv_transpose2d_vjp``.

    ``weight`` (C_in, C_out/groups, kH, kW), ``bias`` (C_out,); torch's
    initialization (Kaiming-uniform with a = √5 on the weight, whose fan-in
    torch takes from its axis 1: C_out/groups·kH·kW). ``ConvTranspose2d(
    in_channels, out_channels, kernel_size, stride=1, padding=0,
    output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros")``,
    torch's order; x (N, C_in, H, W) or (C_in, H, W).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, output_padding=0, groups: int = 1, bias: bool = True,
                 dilation=1, padding_mode: str = "zeros", rng=None):
        super().__init__()
        fn = "ConvTranspose2d"
        self.in_channels = check_int(in_channels, fn, "in_channels", minimum=1)
        self.out_channels = check_int(out_channels, fn, "out_channels", minimum=1)
        self.groups = check_int(groups, fn, "groups", minimum=1)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{fn}: groups={groups} must divide in_channels="
                             f"{in_channels} and out_channels={out_channels}")
        if padding_mode != "zeros":
            raise ValueError(f"{fn}: padding_mode={padding_mode!r} is not supported "
                             f"(only 'zeros', as torch)")
        self.kernel_size = _pair(kernel_size, fn, "kernel_size", 1)
        self.stride = _pair(stride, fn, "stride", 1)
        self.padding = _pair(padding, fn, "padding", 0)
        self.output_padding = _pair(output_padding, fn, "output_padding", 0)
        self.dilation = _pair(dilation, fn, "dilation", 1)
        shape = (in_channels, out_channels // groups) + self.kernel_size
        W = self._params["weight"] = np.empty(shape)
        init.kaiming_uniform_(W, a=math.sqrt(5), rng=rng)
        if bias:
            bound = 1 / math.sqrt(init.fan_in_and_fan_out(shape)[0])
            self._params["bias"] = init.uniform_(np.empty(out_channels), -bound,
                                                 bound, rng)

    @classmethod
    def from_torch(cls, module) -> "ConvTranspose2d":
        if module.padding_mode != "zeros":
            raise ValueError(f"ConvTranspose2d.from_torch: padding_mode="
                             f"{module.padding_mode!r} is not supported")
        layer = cls(module.in_channels, module.out_channels, tuple(module.kernel_size),
                    tuple(module.stride), tuple(module.padding),
                    tuple(module.output_padding), module.groups,
                    module.bias is not None, tuple(module.dilation))
        return layer._load_torch(module)

    def _output_padding(self, x, output_size) -> tuple:
        """torch's ``output_size``: the output_padding that gives that size,
        output_size - ((H - 1)s - 2p + d(k - 1) + 1) per axis, in [0, max(s, d))."""
        if output_size is None:
            return self.output_padding
        size = tuple(output_size)[-2:]
        if len(size) != 2:
            raise ValueError(f"ConvTranspose2d: output_size must end in (H, W), "
                             f"got {output_size!r}")
        op = []
        for a in range(2):
            base = ((x.shape[-2 + a] - 1) * self.stride[a] - 2 * self.padding[a]
                    + self.dilation[a] * (self.kernel_size[a] - 1) + 1)
            extra, top = size[a] - base, max(self.stride[a], self.dilation[a])
            if not 0 <= extra < top:
                raise ValueError(f"ConvTranspose2d: output_size {size} is not "
                                 f"reachable from x of shape {x.shape}: axis {a} "
                                 f"needs {base} to {base + top - 1}")
            op.append(int(extra))
        return tuple(op)

    def forward(self, x, output_size=None):
        """``output_size`` (torch's): picks the output_padding that gives that size."""
        x = _x4(self, x)
        op = self._output_padding(x, output_size)
        if x.shape[-3] != self.in_channels:
            raise ValueError(f"ConvTranspose2d: x must have C={self.in_channels} "
                             f"channels (axis {x.ndim - 3}), got shape {x.shape}")
        y, vjp = F.conv_transpose2d_vjp(x, self._params["weight"],
                                        self._params.get("bias"), self.stride,
                                        self.padding, op, self.groups,
                                        self.dilation)

        def backward(dy):
            dx, dW, db = vjp(dy)
            grads = {"weight": dW} if db is None else {"weight": dW, "bias": db}
            return (dx,), grads
        return self._save(y, backward)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, output_padding={self.output_padding}")


class _Pool2d(Module):
    _vjp = None

    def __init__(self, kernel_size, stride=None, padding=0, *,
                 ceil_mode: bool = False):
        super().__init__()
        fn = self._name
        self.kernel_size = _pair(kernel_size, fn, "kernel_size", 1)
        self.stride = self.kernel_size if stride is None \
            else _pair(stride, fn, "stride", 1)
        self.padding = _pair(padding, fn, "padding", 0)
        if not isinstance(ceil_mode, (bool, np.bool_)):
            raise TypeError(f"{fn}: ceil_mode must be a bool, got {ceil_mode!r}")
        self.ceil_mode = bool(ceil_mode)

    @classmethod
    def _torch_args(cls, module):
        args = (module.kernel_size, module.stride or module.kernel_size, module.padding)
        return [tuple(v) if isinstance(v, (tuple, list)) else v for v in args]

    def _options(self) -> dict:
        return {"ceil_mode": self.ceil_mode}

    def forward(self, x):
        x = _x4(self, x)
        y, vjp = type(self)._vjp(x, self.kernel_size, self.stride, self.padding,
                                 **self._options())
        return self._save(y, lambda dy: (vjp(dy), {}))

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}")


class MaxPool2d(_Pool2d):
    """Max pooling; backward routes dy to each window's first arg max, eq-maxpool-dx.

    ``MaxPool2d(kernel_size, stride=None, padding=0, dilation=1,
    return_indices=False, ceil_mode=False)``, torch's options (see
    ``dlmath.functional.max_pool2d_vjp``); with ``return_indices`` the output
    is ``(y, indices)`` and ``backward`` takes dy (or ``(dy, None)``).
    """
    _vjp = staticmethod(F.max_pool2d_vjp)

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):
        super().__init__(kernel_size, stride, padding, ceil_mode=ceil_mode)
        self.dilation = _pair(dilation, self._name, "dilation", 1)
        self.return_indices = bool(return_indices)

    @classmethod
    def from_torch(cls, module) -> "MaxPool2d":
        d = module.dilation
        return cls(*cls._torch_args(module), tuple(d) if isinstance(d, (tuple, list))
                   else d, module.return_indices, module.ceil_mode)

    def _options(self) -> dict:
        return {"dilation": self.dilation, "ceil_mode": self.ceil_mode,
                "return_indices": self.return_indices}

    def forward(self, x):
        x = _x4(self, x)
        out, vjp = F.max_pool2d_vjp(x, self.kernel_size, self.stride, self.padding,
                                    **self._options())
        if not self.return_indices:
            return self._save(out, lambda dy: (vjp(dy), {}))
        shapes = ("array", out[0].shape)
        self._ctx = (shapes, lambda dy: (vjp(dy), {}))
        return out

    def backward(self, dout):
        if self.return_indices and isinstance(dout, tuple):
            dout = dout[0]                       # the indices have no gradient
        return super().backward(dout)


class AvgPool2d(_Pool2d):
    """Average pooling, Exercise 7.3: backward spreads dy / m over each window.

    ``AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False,
    count_include_pad=True, divisor_override=None)``, torch's options; the
    divisor m of each window is derived in ``dlmath.functional.avg_pool2d_vjp``.
    """
    _vjp = staticmethod(F.avg_pool2d_vjp)

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None):
        super().__init__(kernel_size, stride, padding, ceil_mode=ceil_mode)
        self.count_include_pad = bool(count_include_pad)
        self.divisor_override = divisor_override

    @classmethod
    def from_torch(cls, module) -> "AvgPool2d":
        return cls(*cls._torch_args(module), module.ceil_mode,
                   module.count_include_pad, module.divisor_override)

    def _options(self) -> dict:
        return {"ceil_mode": self.ceil_mode,
                "count_include_pad": self.count_include_pad,
                "divisor_override": self.divisor_override}


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size, y = A_H x A_Wᵀ per plane
    (``dlmath.functional.adaptive_avg_pool2d_vjp``); x (N, C, H, W) or (C, H, W)."""

    def __init__(self, output_size):
        super().__init__()
        sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) \
            else (output_size,)
        if len(sizes) not in (1, 2):
            raise ValueError(f"{self._name}: output_size must be an int or a pair, "
                             f"got {output_size!r}")
        for v in sizes:
            if v is not None:
                check_int(v, self._name, "output_size", minimum=1)
        self.output_size = output_size

    @classmethod
    def from_torch(cls, module) -> "AdaptiveAvgPool2d":
        return cls(module.output_size)

    def forward(self, x):
        y, vjp = F.adaptive_avg_pool2d_vjp(_x4(self, x), self.output_size)
        return self._save(y, lambda dy: (vjp(dy), {}))

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


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
