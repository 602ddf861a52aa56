"""Input validation shared by the public functions of dlmath.

Errors name the function, the argument, what was expected and what was got,
e.g. ``linear: x must have 2 dims (N, in_features), got shape (3, 4, 5)``.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np


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
        raise TypeError(f"{fn}: {name} must hold real numbers, got dtype {arr.dtype}")
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


def check_positive(value: Any, fn: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"{fn}: {name} must be a number, got {type(value).__name__}")
    if not value > 0:
        raise ValueError(f"{fn}: {name} must be > 0, got {value}")
    return float(value)


def _is_torch_tensor(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")
