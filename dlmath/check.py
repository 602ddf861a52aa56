"""Checking hand-derived results: against PyTorch, and against finite differences.

``assert_close`` is the one line that ends every *check* section of the book::

    assert_close(y, torch_linear(x), rtol=1e-12, atol=1e-12,
                 name="W @ x + b", against="torch.nn.Linear")
    # ✓ W @ x + b matches torch.nn.Linear (max abs err 4.4e-16, max rel err 1.3e-16)
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._validate import as_float_array, check_positive

__all__ = ["to_numpy", "to_torch", "assert_close", "numerical_grad"]


def to_numpy(x: Any) -> np.ndarray:
    """A numpy copy of a numpy array, a torch tensor (any device) or a scalar."""
    if type(x).__module__.startswith("torch") and hasattr(x, "detach"):
        return x.detach().cpu().resolve_conj().numpy().copy()
    arr = np.array(x)
    if arr.dtype == object:
        raise TypeError(f"to_numpy: expected an array, a tensor or a number, got {type(x).__name__}")
    return arr


def to_torch(x: Any, *, requires_grad: bool = False, dtype=None, device=None):
    """A torch tensor copy of ``x`` on ``device`` (default ``dlmath.device()``).

    ``dtype`` defaults to float64 for floating and integer-valued float input
    (references are computed in float64 unless a chapter says otherwise);
    integer and boolean arrays keep their dtype.
    """
    import torch

    from ._device import device as _default_device

    arr = to_numpy(x)
    if dtype is None:
        dtype = torch.float64 if arr.dtype.kind == "f" else None
    t = torch.as_tensor(arr, dtype=dtype, device=device or _default_device())
    return t.requires_grad_(True) if requires_grad else t


def assert_close(actual: Any, expected: Any, *, rtol: float, atol: float,
                 name: str = "actual", against: str = "expected",
                 verbose: bool = True) -> None:
    """Assert ``|actual - expected| <= atol + rtol * |expected|`` elementwise.

    The criterion is ``torch.testing.assert_close``'s; both tolerances must be
    given explicitly, because the right tolerance depends on the computation
    (float64 matmul: ~1e-12; float32: ~1e-5; finite differences: ~1e-6).

    Shapes must be equal (no broadcasting: a (3,) result is not a (3, 1) one).
    NaNs must sit in the same places. On failure the ``AssertionError`` names
    the shapes, the max abs and max rel errors and the worst element. On
    success one line is printed (unless ``verbose=False``):
    ``✓ {name} matches {against} (max abs err ..., max rel err ...)``, where
    the relative error is ``max|a - e| / max|e|`` (omitted when expected is all zeros).
    """
    if isinstance(rtol, bool) or not isinstance(rtol, (int, float)) or rtol < 0:
        raise ValueError(f"assert_close: rtol must be a number >= 0, got {rtol!r}")
    if isinstance(atol, bool) or not isinstance(atol, (int, float)) or atol < 0:
        raise ValueError(f"assert_close: atol must be a number >= 0, got {atol!r}")
    a, e = to_numpy(actual), to_numpy(expected)
    if a.dtype.kind not in "biuf" or e.dtype.kind not in "biuf":
        raise TypeError(f"assert_close: {name} and {against} must be real numbers, "
                        f"got dtypes {a.dtype} and {e.dtype}")
    if a.shape != e.shape:
        raise AssertionError(f"{name} has shape {a.shape} but {against} has shape {e.shape}")
    a, e = a.astype(np.float64), e.astype(np.float64)
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    if not np.array_equal(nan_a, nan_e):
        raise AssertionError(f"{name} and {against} have NaNs in different places "
                             f"({nan_a.sum()} vs {nan_e.sum()} NaNs, shape {a.shape})")
    shape, ok = a.shape, ~nan_e
    a, e = a[ok], e[ok]
    equal = a == e  # exact equality passes always, infinities of the same sign included
    finite = np.isfinite(a) & np.isfinite(e)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(equal, 0.0, np.abs(a - e))
        # equal: always within bound; unequal with an infinity: never
        bound = np.where(equal, np.inf, np.where(finite, atol + rtol * np.abs(e), -1.0))
    max_abs = float(diff.max()) if diff.size else 0.0
    scale = float(np.abs(e[np.isfinite(e)]).max()) if np.isfinite(e).any() else 0.0
    max_rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else np.inf)
    bad = diff > bound
    if bad.any():
        flat = int(np.argmax(np.where(bad, diff - bound, -np.inf)))
        where = np.argwhere(ok)[flat]
        idx = tuple(int(i) for i in where) if where.size else ()
        raise AssertionError(
            f"{name} does not match {against}: {int(bad.sum())} of {bad.size} elements "
            f"differ beyond atol={atol:g}, rtol={rtol:g} (shape {shape}); "
            f"max abs err {max_abs:.3g}, max rel err {max_rel:.3g}; "
            f"worst at index {idx}: {a[flat]:.6g} vs {e[flat]:.6g}")
    if verbose:
        rel = f", max rel err {max_rel:.1e}" if scale > 0 else ""  # no scale when expected is 0
        print(f"✓ {name} matches {against} (max abs err {max_abs:.1e}{rel})")


def numerical_grad(f: Callable[[np.ndarray], Any], x: Any, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of a scalar function ``f`` at ``x``.

    Implements ``df/dx_i ≈ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``,
    whose error is O(eps²) from truncation plus O(δ/eps) from round-off
    (δ ≈ 1e-16 · |f|). Works on a float64 copy of ``x`` of any shape and
    returns an array of that shape. ``f`` must return a scalar.
    """
    eps = check_positive(eps, "numerical_grad", "eps")
    if not callable(f):
        raise TypeError(f"numerical_grad: f must be callable, got {type(f).__name__}")
    x = as_float_array(x, "numerical_grad", "x").astype(np.float64, copy=True)
    grad = np.empty_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = _scalar(f(x))
        flat[i] = old - eps
        fm = _scalar(f(x))
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * eps)
    return grad


def _scalar(v: Any) -> float:
    arr = to_numpy(v)
    if arr.size != 1:
        raise ValueError(f"numerical_grad: f must return a scalar, got shape {arr.shape}")
    return float(arr.reshape(()))
