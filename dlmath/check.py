"""Checking hand-derived results: against PyTorch, and against finite differences.

``assert_close`` is the one line that ends every *check* section of the book::

    assert_close(y, torch_linear(x), rtol=1e-12, atol=1e-12,
                 name="W @ x + b", against="torch.nn.Linear", eq="eq-linear")
    # ✓ [eq-linear] W @ x + b matches torch.nn.Linear: max abs err 4.4e-16,
    #   max rel err 1.3e-16 (rtol 1e-12, atol 1e-12)

Every ✓ line of ``assert_close``, ``check_vjp`` and ``check_layer`` has the one
format of ``check_line``. A check that verifies a labelled display equation
names its label with ``eq=``; the line then starts with ``[eq-label]``, which
the book's build turns into the equation's number and link, and collects into
the *Verified equations* appendix (book/_ext/dlmath_book.py).
"""
from __future__ import annotations

import math
import re
from typing import Any, Callable, Sequence

import numpy as np

from ._validate import as_float_array, check_positive

__all__ = [
    "to_numpy", "to_torch", "assert_close", "numerical_grad", "check_vjp",
    "check_layer", "check_line",
]

_EQ_LABEL = re.compile(r"eq-[A-Za-z0-9][A-Za-z0-9_-]*")


def _eq_prefix(eq: str | None) -> str:
    if eq is None:
        return ""
    if not isinstance(eq, str) or not _EQ_LABEL.fullmatch(eq):
        raise ValueError(f"eq must be an equation label like 'eq-adam', got {eq!r}")
    return f"[{eq}] "


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def check_line(name: str, against: str, *, max_abs: float, rtol: float, atol: float,
               max_rel: float | None = None, eq: str | None = None) -> str:
    """The one format of a passed check (printed by every check of the book).

    ``✓ [eq-label] {name} matches {against}: max abs err 4.4e-16, max rel err
    1.3e-16 (rtol 1e-12, atol 1e-12)``; the ``[eq-label]`` part only with ``eq``,
    the relative error only when given.
    """
    rel = "" if max_rel is None else f", max rel err {max_rel:.1e}"
    return (f"✓ {_eq_prefix(eq)}{name} matches {against}: max abs err {max_abs:.1e}"
            f"{rel} (rtol {rtol:.0e}, atol {atol:.0e})")


def to_numpy(x: Any) -> np.ndarray:
    """A numpy copy of a numpy array, a torch tensor (any device) or a scalar."""
    if type(x).__module__.startswith("torch") and hasattr(x, "detach"):
        return x.detach().cpu().resolve_conj().numpy().copy()
    arr = np.array(x)
    if arr.dtype == object:
        raise TypeError(
            f"to_numpy: expected an array, a tensor or a number, got {type(x).__name__}"
        )
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
                 eq: str | None = None, verbose: bool = True) -> None:
    """Assert ``|actual - expected| <= atol + rtol * |expected|`` elementwise.

    The criterion is ``torch.testing.assert_close``'s; both tolerances must be
    given explicitly, because the right tolerance depends on the computation
    (float64 matmul: ~1e-12; float32: ~1e-5; finite differences: ~1e-6).

    Shapes must be equal (no broadcasting: a (3,) result is not a (3, 1) one).
    NaNs must sit in the same places. On failure the ``AssertionError`` names
    the shapes, the max abs and max rel errors and the worst element. On
    success one line is printed (unless ``verbose=False``), ``check_line``'s:
    ``✓ [eq] {name} matches {against}: max abs err ..., max rel err ... (rtol ...,
    atol ...)``, where the relative error is ``max|a - e| / max|e|`` (omitted when
    expected is all zeros) and ``[eq]`` is the label of the equation the check
    verifies (``eq="eq-adam"``), if any.
    """
    _eq_prefix(eq)  # a bad label fails before any work
    for tol_name, tol in (("rtol", rtol), ("atol", atol)):
        # NaN would make every `diff > bound` False (and inf every bound infinite): a
        # check
        # that cannot fail. Hence finite and >= 0, written so that NaN fails it.
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) \
                or not (math.isfinite(tol) and tol >= 0):
            raise ValueError(f"assert_close: {tol_name} must be a finite number >= 0, "
                             f"got {tol!r}")
    a, e = to_numpy(actual), to_numpy(expected)
    if a.dtype.kind not in "biuf" or e.dtype.kind not in "biuf":
        raise TypeError(f"assert_close: {name} and {against} must be real numbers, "
                        f"got dtypes {a.dtype} and {e.dtype}")
    if a.shape != e.shape:
        raise AssertionError(
            f"{name} has shape {a.shape} but {against} has shape {e.shape}"
        )
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
        # no relative error when expected is 0
        print(check_line(name, against, max_abs=max_abs, rtol=rtol, atol=atol,
                         max_rel=max_rel if scale > 0 else None, eq=eq))


def numerical_grad(
    f: Callable[[np.ndarray], Any], x: Any, eps: float = 1e-6
) -> np.ndarray:
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
        raise ValueError(
            f"numerical_grad: f must return a scalar, got shape {arr.shape}"
        )
    return float(arr.reshape(()))


# ---------------------------------------------------------------------- VJPs and layers
def _flat(out) -> list:
    """The arrays of a (possibly nested) tuple output, in order; None parts dropped."""
    if out is None:
        return []
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in _flat(o)]
    return [out]


def _rebuild(template, it):
    """A random cotangent shaped like ``template`` (nested tuples kept, None kept)."""
    if template is None:
        return None
    if isinstance(template, (tuple, list)):
        return tuple(_rebuild(t, it) for t in template)
    return next(it)


def check_vjp(
    fn_vjp: Callable,
    torch_fn: Callable,
    inputs: Sequence[Any],
    *,
    rtol: float,
    atol: float,
    name: str,
    against: str,
    seed: int = 0,
    eq: str | None = None,
    verbose: bool = True,
) -> None:
    """Check a hand-derived ``(y, vjp) = fn_vjp(*inputs)`` against torch autograd.

    ``torch_fn`` computes the same output from float64 tensors on
    ``dlmath.device()``. A random cotangent ``dy`` (from ``seed``) is pulled
    back by both: ``vjp(dy)`` must equal ``torch.autograd.grad(y, inputs, dy)``
    for every input that is a float array (``vjp`` returns one gradient per
    input, ``None`` for the others). Prints one ✓ line for the output and one
    for the gradients (``check_line``'s format; ``eq`` labels both).
    """
    import torch

    _eq_prefix(eq)

    y, vjp = fn_vjp(*inputs)
    ts = [to_torch(a, requires_grad=True) if _is_float(a) else
          (to_torch(a) if isinstance(a, np.ndarray) else a) for a in inputs]
    yt = torch_fn(*ts)
    assert_close(y, yt, rtol=rtol, atol=atol, name=f"{name} output", against=against,
                 eq=eq, verbose=verbose)
    g = np.random.default_rng(seed)
    dy = g.standard_normal(np.shape(y))
    grads = vjp(dy)
    diff = [(i, t) for i, t in enumerate(ts) if _is_float(inputs[i])]
    ref = torch.autograd.grad(yt, [t for _, t in diff], to_torch(dy), allow_unused=True)
    worst = 0.0
    for (i, _), r in zip(diff, ref):
        r = np.zeros(np.shape(inputs[i])) if r is None else r
        if grads[i] is None:
            raise AssertionError(f"{name}: the VJP returned None for input {i}, "
                                 f"which torch differentiates")
        assert_close(
            grads[i],
            r,
            rtol=rtol,
            atol=atol,
            name=f"{name} gradient of input {i}",
            against=against,
            verbose=False,
        )
        worst = max(
            worst, float(np.max(np.abs(to_numpy(grads[i]) - to_numpy(r)), initial=0))
        )
    if verbose:
        print(check_line(f"{name} VJP ({_plural(len(diff), 'input')})",
                         f"{against} autograd", max_abs=worst, rtol=rtol, atol=atol,
                         eq=eq))


def _is_float(a) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def check_layer(
    layer,
    module,
    *inputs: Any,
    rtol: float,
    atol: float,
    name: str | None = None,
    seed: int = 0,
    forward_kwargs: dict | None = None,
    eq: str | None = None,
    verbose: bool = True,
) -> dict:
    """Same weights, same input: same output and same gradients as the torch ``module``.

    ``layer`` is a ``dlmath.nn`` layer (e.g. ``Linear.from_torch(module)``);
    ``module`` runs in float64 on ``dlmath.device()``. Both run ``forward`` on
    ``inputs`` (numpy arrays; float ones also get input gradients); a random
    cotangent (from ``seed``) of the output's shape, nested tuples included, is
    sent back through ``layer.backward`` and through torch autograd. Compares
    the output(s), the gradient of every float input, and ``layer.grads[k]``
    with the gradient of torch's parameter ``k`` for every named parameter.
    Prints one ✓ line (``check_line``'s format); returns the errors by name.
    """
    import torch

    _eq_prefix(eq)

    from ._device import device as _default_device

    kw = forward_kwargs or {}
    name = name or type(layer).__name__
    dev = _default_device()
    module = module.to(device=dev, dtype=torch.float64)
    out = layer.forward(*inputs, **kw)
    ts = [to_torch(a, requires_grad=True) if _is_float(a) else
          (to_torch(a) if isinstance(a, np.ndarray) else a) for a in inputs]
    tkw = {k: to_torch(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    out_t = module(*ts, **tkw)
    mine, ref = _flat(out), _flat(out_t)
    if len(mine) != len(ref):
        raise AssertionError(
            f"{name}: forward returned {len(mine)} arrays, torch {len(ref)}"
        )
    errors = {}
    for k, (a, e) in enumerate(zip(mine, ref)):
        assert_close(
            a,
            e,
            rtol=rtol,
            atol=atol,
            name=f"{name} output {k}",
            against="torch",
            verbose=False,
        )
        errors[f"output {k}"] = float(
            np.max(np.abs(to_numpy(a) - to_numpy(e)), initial=0)
        )
    g = np.random.default_rng(seed)
    cots = [g.standard_normal(np.shape(a)) for a in mine]
    dx = layer.backward(_rebuild(out, iter(cots)))
    dx = dx if isinstance(dx, tuple) else (dx,)
    keep = [(a, t) for a, t in zip(ref, cots) if a.requires_grad]
    diff_in = [t for t in ts if isinstance(t, torch.Tensor) and t.requires_grad]
    params = dict(module.named_parameters())
    targets = diff_in + list(params.values())
    ref_grads = torch.autograd.grad([a for a, _ in keep], targets,
                                    [to_torch(c) for _, c in keep], allow_unused=True)
    dx_float = [d for d, a in zip(dx, inputs) if _is_float(a)]
    for k, (d, r) in enumerate(zip(dx_float, ref_grads[:len(diff_in)])):
        r = torch.zeros_like(diff_in[k]) if r is None else r
        assert_close(d, r, rtol=rtol, atol=atol, name=f"{name} input gradient {k}",
                     against="torch autograd", verbose=False)
        errors[f"d input {k}"] = float(
            np.max(np.abs(to_numpy(d) - to_numpy(r)), initial=0)
        )
    grads = layer.grads
    missing = sorted(set(params) - set(grads))
    if missing:
        raise AssertionError(
            f"{name}: layer.grads has no entry for torch parameters {missing}"
        )
    for (pname, p), r in zip(params.items(), ref_grads[len(diff_in):]):
        r = torch.zeros_like(p) if r is None else r
        assert_close(
            grads[pname],
            r,
            rtol=rtol,
            atol=atol,
            name=f"{name} grads[{pname!r}]",
            against="torch autograd",
            verbose=False,
        )
        errors[f"d {pname}"] = float(
            np.max(np.abs(to_numpy(grads[pname]) - to_numpy(r)), initial=0)
        )
    if verbose:
        n_out = sum(k.startswith("output") for k in errors)
        n_grad = len(errors) - n_out
        what = (f"{name} ({_plural(n_out, 'output')}, {_plural(n_grad, 'gradient')} "
                f"incl. {_plural(len(params), 'parameter')})")
        print(check_line(what, "torch", max_abs=max(errors.values(), default=0.0),
                         rtol=rtol, atol=atol, eq=eq))
    return errors
