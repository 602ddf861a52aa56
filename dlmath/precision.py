"""Number formats and low-precision arithmetic (Chapter 13, notebook 3).

- ``decode_float(bits, exp_bits, frac_bits)``: the value of an IEEE-like bit
  pattern, eq. (eq-lp-value), for float16, bfloat16, float8, ...
- ``naive_sum``, ``pairwise_sum``, ``kahan_sum``: three ways to add the rows of
  an array in a given float dtype, and ``higham_bounds``: their error bounds.
- ``LossScaler``: the dynamic loss-scale rule of ``torch.amp.GradScaler``.
- ``affine_qparams``, ``quantize``, ``dequantize``: int8/uint8 affine
  quantization, eq. (eq-lp-quant), with ``torch.quantize_per_tensor``'s rounding.
"""
from __future__ import annotations

import math

import numpy as np

from ._validate import as_float_array, check_int, check_number, check_positive

__all__ = ["decode_float", "naive_sum", "pairwise_sum", "kahan_sum", "higham_bounds",
           "LossScaler", "affine_qparams", "quantize", "dequantize"]


def decode_float(bits, exp_bits: int, frac_bits: int) -> np.ndarray:
    """Value of each bit pattern of a 1 + exp_bits + frac_bits bit float.

    Sign s, biased exponent E, fraction f (an integer of frac_bits bits),
    bias = 2^(exp_bits-1) - 1, eq. (eq-lp-value):
    normal (0 < E < 2^exp_bits - 1): (-1)^s 2^(E - bias) (1 + f / 2^frac_bits);
    subnormal (E = 0): (-1)^s 2^(1 - bias) f / 2^frac_bits;
    E all ones: ±inf if f = 0, else NaN.
    """
    fn = "decode_float"
    e = check_int(exp_bits, fn, "exp_bits", minimum=2)
    t = check_int(frac_bits, fn, "frac_bits", minimum=1)
    if 1 + e + t > 64:
        raise ValueError(f"{fn}: at most 64 bits, got 1 + {e} + {t}")
    b = np.asarray(bits)
    if b.dtype.kind not in "iu":
        raise TypeError(f"{fn}: bits must be integers, got dtype {b.dtype}")
    b = b.astype(np.uint64) & np.uint64((1 << (1 + e + t)) - 1)
    s = (b >> np.uint64(e + t)).astype(np.int64)
    E = ((b >> np.uint64(t)) & np.uint64((1 << e) - 1)).astype(np.int64)
    f = (b & np.uint64((1 << t) - 1)).astype(np.float64)
    bias = 2 ** (e - 1) - 1
    sign = np.where(s == 1, -1.0, 1.0)
    with np.errstate(over="ignore"):
        normal = np.ldexp(1.0 + f / 2.0 ** t, E - bias)
        sub = np.ldexp(f / 2.0 ** t, 1 - bias)
    special = np.where(f == 0, np.inf, np.nan)
    top = (1 << e) - 1
    return sign * np.where(E == top, special, np.where(E == 0, sub, normal))


def _rows(x, dtype, fn):
    x = as_float_array(x, fn, "x")
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"{fn}: dtype must be a float dtype, got {dt}")
    if x.ndim < 1 or x.shape[-1] < 1:
        raise ValueError(f"{fn}: x must be (..., n) with n >= 1, got shape {x.shape}")
    return x.astype(dt), dt


def naive_sum(x, dtype=np.float32) -> np.ndarray:
    """Recursive summation s_k = fl(s_{k-1} + x_k) along the last axis, in ``dtype``."""
    x, dt = _rows(x, dtype, "naive_sum")
    return np.cumsum(x, axis=-1, dtype=dt)[..., -1]       # cumsum adds in order


def pairwise_sum(x, dtype=np.float32) -> np.ndarray:
    """Pairwise (cascade) summation along the last axis, in ``dtype``:
    add neighbours, halving the length, until one value is left."""
    x, dt = _rows(x, dtype, "pairwise_sum")
    while x.shape[-1] > 1:
        if x.shape[-1] % 2:
            x = np.concatenate([x, np.zeros(x.shape[:-1] + (1,), dt)], axis=-1)
        x = x[..., 0::2] + x[..., 1::2]
    return x[..., 0]


def kahan_sum(x, dtype=np.float32) -> np.ndarray:
    """Compensated (Kahan) summation along the last axis, in ``dtype``.

    c carries the low-order bits lost by each addition: y = x_k - c,
    t = s + y, c = (t - s) - y, s = t.
    """
    x, dt = _rows(x, dtype, "kahan_sum")
    s = np.zeros(x.shape[:-1], dt)
    c = np.zeros(x.shape[:-1], dt)
    for k in range(x.shape[-1]):
        y = x[..., k] - c
        t = s + y
        c = (t - s) - y
        s = t
    return s


def higham_bounds(n: int, u: float) -> dict[str, float]:
    """Bounds on |computed sum - sum| / Σ|x_i| for n terms, unit roundoff u.

    Higham (2002), eqs. (4.4), (4.6) and (4.8): recursive γ_{n-1}, pairwise
    γ_{⌈log2 n⌉}, Kahan 2u + O(n u²), with γ_k = k u / (1 - k u).
    """
    n = check_int(n, "higham_bounds", "n", minimum=1)
    u = check_positive(u, "higham_bounds", "u")

    def gamma(k):
        return k * u / (1 - k * u) if k * u < 1 else math.inf

    return {"naive": gamma(n - 1), "pairwise": gamma(math.ceil(math.log2(n))),
            "kahan": 2 * u + n * u * u / (1 - n * u) if n * u < 1 else math.inf}


class LossScaler:
    """``torch.amp.GradScaler``'s dynamic loss scale, eq. (eq-lp-scaler).

    Multiply the loss by ``scale``; after backward, if any gradient is inf or
    NaN, skip the step and multiply the scale by ``backoff_factor``; otherwise
    step with the gradients divided by the scale, and after
    ``growth_interval`` good steps in a row multiply the scale by
    ``growth_factor``.
    """

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000):
        fn = "LossScaler"
        self.scale = check_positive(init_scale, fn, "init_scale")
        self.growth_factor = check_number(growth_factor, fn, "growth_factor")
        self.backoff_factor = check_number(backoff_factor, fn, "backoff_factor")
        if not self.growth_factor > 1.0:
            raise ValueError(f"{fn}: growth_factor must be > 1, got {growth_factor}")
        if not 0.0 < self.backoff_factor < 1.0:
            raise ValueError(f"{fn}: backoff_factor must be in (0, 1), got "
                             f"{backoff_factor}")
        self.growth_interval = check_int(growth_interval, fn, "growth_interval",
                                         minimum=1)
        self.good_steps = 0

    def unscale(self, grads: list) -> tuple[list, bool]:
        """Gradients divided by the scale, and whether any is inf or NaN."""
        out = [np.asarray(g, dtype=np.float64) / self.scale for g in grads]
        return out, not all(np.isfinite(g).all() for g in out)

    def update(self, found_inf: bool) -> None:
        """The scale for the next step (call once per step, after the step)."""
        if found_inf:
            self.scale *= self.backoff_factor
            self.good_steps = 0
        else:
            self.good_steps += 1
            if self.good_steps == self.growth_interval:
                self.scale *= self.growth_factor
                self.good_steps = 0


def _qrange(dtype: str) -> tuple[int, int]:
    ranges = {"uint8": (0, 255), "int8": (-128, 127)}
    if dtype not in ranges:
        raise ValueError(f"quantization dtype must be 'uint8' or 'int8', got {dtype!r}")
    return ranges[dtype]


def affine_qparams(xmin: float, xmax: float, dtype: str = "uint8"
                   ) -> tuple[float, int]:
    """Scale and zero point mapping [min(xmin, 0), max(xmax, 0)] onto the
    integer range, eq. (eq-lp-qparams); 0.0 is exactly representable."""
    fn = "affine_qparams"
    lo = min(check_number(xmin, fn, "xmin"), 0.0)
    hi = max(check_number(xmax, fn, "xmax"), 0.0)
    if not hi > lo:
        raise ValueError(f"{fn}: need xmin < xmax, got {xmin} and {xmax}")
    qmin, qmax = _qrange(dtype)
    scale = (hi - lo) / (qmax - qmin)
    zero_point = int(np.clip(qmin - round(lo / scale), qmin, qmax))
    return float(scale), zero_point


def quantize(x, scale: float, zero_point: int, dtype: str = "uint8") -> np.ndarray:
    """q = clamp(round(x / scale) + zero_point, qmin, qmax), eq. (eq-lp-quant).

    Rounds half to even, as ``torch.quantize_per_tensor`` does (which
    multiplies by the float32 inverse scale: so do we).
    """
    fn = "quantize"
    x = as_float_array(x, fn, "x")
    scale = check_number(scale, fn, "scale")
    if not scale > 0:
        raise ValueError(f"{fn}: the quantization scale must be > 0, got {scale}")
    zero_point = check_int(zero_point, fn, "zero_point")
    qmin, qmax = _qrange(dtype)
    if not qmin <= zero_point <= qmax:
        raise ValueError(f"{fn}: zero_point must be in [{qmin}, {qmax}] for {dtype}, "
                         f"got {zero_point}")
    inv = np.float32(1.0) / np.float32(scale)
    q = np.rint(x.astype(np.float32) * inv) + zero_point
    return np.clip(q, qmin, qmax).astype(np.int64)


def dequantize(q, scale: float, zero_point: int) -> np.ndarray:
    """x̂ = (q - zero_point) · scale."""
    fn = "dequantize"
    scale = check_number(scale, fn, "scale")
    if not scale > 0:
        raise ValueError(f"{fn}: the quantization scale must be > 0, got {scale}")
    return (np.asarray(q, dtype=np.float64) - check_int(zero_point, fn, "zero_point")
            ) * scale
