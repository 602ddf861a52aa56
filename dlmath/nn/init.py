"""Initializers with ``torch.nn.init``'s bounds and standard deviations (Chapter 6).

Each fills an array in place from ``rng`` (default ``dlmath.rng``) and returns
it. Fans follow torch: for a weight of shape (out, in, *kernel),
fan_in = in · ∏kernel and fan_out = out · ∏kernel.

- Xavier/Glorot (Chapter 6.2, eq-xavier), keeps the variance of activations and
  gradients for tanh-like units: Var(W) = gain² · 2 / (fan_in + fan_out);
  uniform on [-a, a] with a = gain · √(6 / (fan_in + fan_out)).
- Kaiming/He (Chapter 6.2, eq-kaiming), for ReLU: Var(W) = gain² / fan
  (gain² = 2 for ReLU); uniform bound √3 · gain / √fan.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["calculate_gain", "fan_in_and_fan_out", "uniform_", "normal_", "zeros_",
           "ones_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_"]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "sigmoid", "identity")


def _rng(rng):
    from .._random import rng as default_rng
    return default_rng if rng is None else rng


def _check_array(w, fn: str, min_ndim: int = 0) -> np.ndarray:
    if not isinstance(w, np.ndarray) or w.dtype.kind != "f":
        raise TypeError(f"{fn}: expected a float numpy array to fill in place, "
                        f"got {type(w).__name__}")
    if w.ndim < min_ndim:
        raise ValueError(f"{fn}: needs an array with at least {min_ndim} dims, "
                         f"got shape {w.shape}")
    return w


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain torch uses for ``nonlinearity``: 1 (linear, sigmoid), 5/3 (tanh),
    √2 (relu), √(2 / (1 + a²)) (leaky_relu with slope a, default 0.01), 3/4 (selu)."""
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        a = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + a * a))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def fan_in_and_fan_out(shape: tuple) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of ``shape`` = (out, in, *kernel), as torch
    computes them."""
    if len(shape) < 2:
        raise ValueError(f"fan_in_and_fan_out: needs at least 2 dims, "
                         f"got shape {tuple(shape)}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def uniform_(w: np.ndarray, a: float = 0.0, b: float = 1.0, rng=None) -> np.ndarray:
    w[...] = _rng(rng).uniform(a, b, size=_check_array(w, "uniform_").shape)
    return w


def normal_(w: np.ndarray, mean: float = 0.0, std: float = 1.0, rng=None) -> np.ndarray:
    w[...] = _rng(rng).normal(mean, std, size=_check_array(w, "normal_").shape)
    return w


def zeros_(w: np.ndarray) -> np.ndarray:
    _check_array(w, "zeros_")[...] = 0.0
    return w


def ones_(w: np.ndarray) -> np.ndarray:
    _check_array(w, "ones_")[...] = 1.0
    return w


def xavier_uniform_(w: np.ndarray, gain: float = 1.0, rng=None) -> np.ndarray:
    """U(-a, a), a = gain · √(6 / (fan_in + fan_out)):
    Var = gain² · 2 / (fan_in + fan_out)."""
    fan_in, fan_out = fan_in_and_fan_out(_check_array(w, "xavier_uniform_", 2).shape)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(w, -a, a, rng)


def xavier_normal_(w: np.ndarray, gain: float = 1.0, rng=None) -> np.ndarray:
    """N(0, σ²), σ = gain · √(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(_check_array(w, "xavier_normal_", 2).shape)
    return normal_(w, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng)


def _kaiming_std(w, a, mode, nonlinearity, fn) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{fn}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(_check_array(w, fn, 2).shape)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(w: np.ndarray, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", rng=None) -> np.ndarray:
    """U(-bound, bound), bound = √3 · gain / √fan: Var = gain² / fan (He et al.)."""
    bound = math.sqrt(3.0) * _kaiming_std(w, a, mode, nonlinearity, "kaiming_uniform_")
    return uniform_(w, -bound, bound, rng)


def kaiming_normal_(w: np.ndarray, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", rng=None) -> np.ndarray:
    """N(0, σ²), σ = gain / √fan."""
    std = _kaiming_std(w, a, mode, nonlinearity, "kaiming_normal_")
    return normal_(w, 0.0, std, rng)
