"""Normalization layers (Chapter 6): ``BatchNorm1d`` and ``LayerNorm``."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import functional as F
from .._validate import check_int, check_positive
from .module import Module

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm"]


class BatchNorm1d(Module):
    """Batch normalization of (N, C) or (N, C, L) input, with torch's semantics
    (Chapter 6.4, eq-bn-forward to eq-bn-backward).

    Training normalizes with the batch statistics (biased variance) and updates
    ``buffers["running_mean"]`` / ``["running_var"]`` with momentum and the
    unbiased variance; ``momentum=None`` uses the cumulative average
    1/num_batches_tracked, as torch does. Evaluation normalizes with the
    running statistics. Params ``weight`` (γ, ones) and ``bias`` (β, zeros);
    ``bias=False`` (keyword-only, as in torch 2.13) keeps γ and drops β.
    """

    _ndim: tuple = (2, 3)
    _layout = "(N, C) or (N, C, L)"

    def __init__(self, num_features: int, eps: float = 1e-5,
                 momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, *, bias: bool = True):
        super().__init__()
        n = self._name
        self.num_features = C = check_int(num_features, n, "num_features", minimum=1)
        self.eps = check_positive(eps, n, "eps")
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"{n}: momentum must be in [0, 1] or None, "
                             f"got {momentum}")
        self.momentum, self.track_running_stats = momentum, track_running_stats
        if affine:
            self._params["weight"] = np.ones(C)
            if bias:
                self._params["bias"] = np.zeros(C)
        if track_running_stats:
            self.buffers.update(running_mean=np.zeros(C), running_var=np.ones(C),
                                num_batches_tracked=np.zeros((), dtype=np.int64))

    @classmethod
    def from_torch(cls, module) -> "BatchNorm1d":
        layer = cls(module.num_features, module.eps, module.momentum, module.affine,
                    module.track_running_stats,
                    bias=getattr(module, "bias", None) is not None)
        return layer._load_torch(module)

    def forward(self, x):
        n = self._name
        x = self._input(x, ndim=self._ndim, layout=self._layout)
        if x.shape[1] != self.num_features:
            raise ValueError(f"{n}: x must have C={self.num_features} channels "
                             f"(axis 1), got shape {x.shape}")
        batch_stats = self.training or not self.track_running_stats
        if self.training and x.shape[0] == 0:    # an empty batch: torch returns it
            return self._empty_batch(x)          # and leaves the statistics alone
        if self.training and x.size // x.shape[1] <= 1:
            raise ValueError(f"{n}: batch statistics need more than 1 value "
                             f"per channel in training, got input of shape {x.shape}")
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.buffers["num_batches_tracked"] += 1
            if momentum is None:                 # cumulative moving average
                momentum = 1.0 / float(self.buffers["num_batches_tracked"])
        rm, rv = self.buffers.get("running_mean"), self.buffers.get("running_var")
        y, vjp = F.batch_norm_vjp(x, rm if self.training or not batch_stats else None,
                                  rv if self.training or not batch_stats else None,
                                  self._params.get("weight"), self._params.get("bias"),
                                  batch_stats, momentum, self.eps)

        def backward(dy):                        # Chapter 6.4, eq-bn-backward
            dx, dgamma, dbeta = vjp(dy)
            grads = {k: g for k, g in (("weight", dgamma), ("bias", dbeta))
                     if g is not None}
            return (dx,), grads
        return self._save(y, backward)

    def _empty_batch(self, x):
        """N = 0 in training, as torch: an empty output, the running statistics
        unchanged (only ``num_batches_tracked`` counts the batch), zero gradients."""
        if self.track_running_stats:
            self.buffers["num_batches_tracked"] += 1

        def backward(dy):
            return (np.zeros_like(x),), {k: np.zeros_like(v)
                                         for k, v in self._params.items()}
        return self._save(np.empty_like(x), backward)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm2d(BatchNorm1d):
    """Batch normalization of (N, C, H, W) images, per channel over N, H and W.

    The same derivation as ``BatchNorm1d`` (Chapter 6.4) with the mean and
    variance of each channel taken over m = N·H·W values (the running variance
    gets the unbiased factor m/(m - 1)); torch's ``BatchNorm2d``.
    """

    _ndim = (4,)
    _layout = "(N, C, H, W)"


class LayerNorm(Module):
    """Layer normalization over the trailing ``normalized_shape`` axes (Chapter 6.4).

    Params ``weight`` (ones) and ``bias`` (zeros) of ``normalized_shape`` when
    ``elementwise_affine``; the same computation in training and evaluation.
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True):
        super().__init__()
        ns = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
            else tuple(normalized_shape)
        for n in ns:
            check_int(n, "LayerNorm", "normalized_shape", minimum=1)
        self.normalized_shape, self.eps = ns, check_positive(eps, "LayerNorm", "eps")
        if elementwise_affine:
            self._params["weight"] = np.ones(ns)
            if bias:
                self._params["bias"] = np.zeros(ns)

    @classmethod
    def from_torch(cls, module) -> "LayerNorm":
        affine = module.elementwise_affine
        layer = cls(module.normalized_shape, module.eps, affine,
                    bias=affine and module.bias is not None)
        return layer._load_torch(module)

    def forward(self, x):
        x = self._input(x)
        k = len(self.normalized_shape)
        if x.ndim < k or x.shape[x.ndim - k:] != self.normalized_shape:
            raise ValueError(f"LayerNorm: x must end in normalized_shape "
                             f"{self.normalized_shape}, got shape {x.shape}")
        y, vjp = F.layer_norm_vjp(x, self.normalized_shape, self._params.get("weight"),
                                  self._params.get("bias"), self.eps)

        def backward(dy):
            dx, dgamma, dbeta = vjp(dy)
            grads = {k: g for k, g in (("weight", dgamma), ("bias", dbeta))
                     if g is not None}
            return (dx,), grads
        return self._save(y, backward)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}"
