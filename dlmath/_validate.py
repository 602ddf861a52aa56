"""Input validation shared by the public functions of dlmath.

Errors name the function, the argument, what was expected and what was got,
e.g. ``linear: x must have 2 dims (N, in_features), got shape (3, 4, 5)``.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

_REDUCTIONS = ("mean", "sum", "none")


def as_float_array(
    x: Any,
    fn: str,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    layout: str = "",
) -> np.ndarray:
    """Convert ``x`` to a float numpy array, checking its dtype and rank.

    Integers and booleans are promoted to float64; float32 stays float32.
    ``layout`` (e.g. ``"(N, in_features)"``) only improves the message.
    """
    if _is_torch_tensor(x):
        raise TypeError(f"{fn}: {name} must be a numpy array, got a torch.Tensor; "
                        f"use {name}.detach().cpu().numpy()")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(
            f"{fn}: {name} must be array-like of numbers, got {type(x).__name__}"
        ) from exc
    if arr.dtype.kind in "biu":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind != "f":
        raise TypeError(f"{fn}: {name} must hold real numbers, got dtype {arr.dtype} "
                        f"with shape {arr.shape}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            dims = " or ".join(str(d) for d in allowed)
            lay = f" {layout}" if layout else ""
            raise ValueError(
                f"{fn}: {name} must have {dims} dims{lay}, got shape {arr.shape}"
            )
    return arr


def check_int(value: Any, fn: str, name: str, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{fn}: {name} must be an int, got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{fn}: {name} must be >= {minimum}, got {value}")
    return int(value)


def check_number(value: Any, fn: str, name: str) -> float:
    """A finite real number (not a bool), as a float."""
    if isinstance(value, bool) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"{fn}: {name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{fn}: {name} must be finite, got {value}")
    return float(value)


def check_nonneg(value: Any, fn: str, name: str, what: str = "") -> float:
    """A finite number >= 0; ``what`` (``"learning rate"``) words the message as torch's
    ``Invalid learning rate: ...``."""
    v = check_number(value, fn, name)
    if not v >= 0.0:
        head = f"invalid {what}: " if what else ""
        raise ValueError(f"{fn}: {head}{name} must be >= 0, got {value}")
    return v


def check_positive(value: Any, fn: str, name: str, what: str = "") -> float:
    """A finite number > 0 (``what`` as in ``check_nonneg``)."""
    v = check_number(value, fn, name)
    if not v > 0.0:
        head = f"invalid {what}: " if what else ""
        raise ValueError(f"{fn}: {head}{name} must be > 0, got {value}")
    return v


def check_axis(x: np.ndarray, axis: Any, fn: str) -> int:
    """One axis of ``x`` (an int in ``[-x.ndim, x.ndim)``), returned as given."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{fn}: axis must be an int, got {type(axis).__name__}")
    if x.ndim == 0:
        raise ValueError(f"{fn}: x must have at least 1 dim, got a scalar")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{fn}: axis {axis} is out of range for shape {x.shape}")
    return int(axis)


def check_axes(shape: tuple[int, ...], axis: Any, fn: str) -> tuple[int, ...]:
    """``axis`` (None: all, an int or a sequence of ints) as non-negative axes."""
    ndim = len(shape)
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else axis
    if isinstance(axes, bool) or not isinstance(axes, (tuple, list)):
        raise TypeError(f"{fn}: axis must be None, an int or a tuple of ints, "
                        f"got {type(axis).__name__}")
    out = []
    for ax in axes:
        if isinstance(ax, bool) or not isinstance(ax, (int, np.integer)):
            raise TypeError(f"{fn}: axis must be None, an int or a tuple of ints, "
                            f"got {axis!r}")
        if not -ndim <= ax < max(ndim, 1):
            raise ValueError(
                f"{fn}: axis {ax} is out of range for shape {tuple(shape)}"
            )
        out.append(int(ax) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{fn}: axis {axis!r} repeats an axis")
    return tuple(out)


def check_reduction(reduction: Any, fn: str) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{fn}: reduction must be one of {_REDUCTIONS}, got {reduction!r}"
        )
    return reduction


def check_probs(
    p: Any, fn: str, name: str, axis: int, atol: float = 1e-6
) -> np.ndarray:
    """A probability vector along ``axis``: finite, >= 0, sums to 1 within ``atol``."""
    p = as_float_array(p, fn, name)
    axis = check_axis(p, axis, fn)
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{fn}: {name} must be finite probabilities, got NaN or inf")
    if np.any(p < 0):
        raise ValueError(f"{fn}: {name} must be non-negative probabilities, "
                         f"got a minimum of {p.min():.3g}")
    sums = p.sum(axis=axis)
    if np.any(np.abs(sums - 1.0) > atol):
        raise ValueError(
            f"{fn}: {name} must sum to 1 along axis {axis} (tolerance {atol:g}), "
            f"got sums in [{sums.min():.6g}, {sums.max():.6g}]"
        )
    return p


def _is_torch_tensor(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")
