"""Stateless building blocks of networks, in numpy, with torch's semantics.

Each function matches its ``torch.nn.functional`` twin (argument names,
layouts, reductions) so the check against PyTorch is one line.

Chapter 1: ``linear``. Chapter 3 (probability and information theory):
``sigmoid``, ``logsumexp``, ``softmax``, ``log_softmax``, ``softmax_jacobian``,
``cross_entropy`` and ``cross_entropy_grad``,
``binary_cross_entropy_with_logits`` and its gradient, ``entropy``,
``kl_divergence``. Every one of them is stable for logits of magnitude 1e4:
exponentials are only taken of non-positive numbers.
"""
from __future__ import annotations

import numpy as np

from .._validate import as_float_array
from .._validate import check_axis as _check_axis  # noqa: F401 (dense, nn import these names)
from .._validate import check_probs as _check_probs
from .._validate import check_reduction as _check_reduction

__all__ = [
    "linear", "sigmoid", "logsumexp", "softmax", "log_softmax", "softmax_jacobian",
    "cross_entropy", "cross_entropy_grad", "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_grad", "binary_cross_entropy_with_logits_vjp",
    "entropy", "kl_divergence"
]


def linear(x, W, b=None) -> np.ndarray:
    """Dense layer ``y = x Wᵀ + b`` (Chapter 1.2, §1).

    x: (..., in_features), W: (out_features, in_features), b: (out_features,)
    or None; returns (..., out_features). For one column vector this is the
    familiar ``y = W x + b``; for a batch stored as rows it is one matmul.
    Same as ``torch.nn.functional.linear``.
    """
    x = as_float_array(x, "linear", "x")
    W = as_float_array(W, "linear", "W", ndim=2, layout="(out_features, in_features)")
    if x.ndim == 0 or x.shape[-1] != W.shape[1]:
        raise ValueError(f"linear: x must be (..., in_features={W.shape[1]}) to match "
                         f"W of shape {W.shape}, got x of shape {x.shape}")
    y = x @ W.T
    if b is not None:
        b = as_float_array(b, "linear", "b", ndim=1, layout="(out_features,)")
        if b.shape[0] != W.shape[0]:
            raise ValueError(
                f"linear: b must be (out_features={W.shape[0]},), got shape {b.shape}"
            )
        y = y + b
    return y


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def _reduce(loss: np.ndarray, reduction: str):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


# ---------------------------------------------------------------------------
# sigmoid, log-sum-exp, softmax
# ---------------------------------------------------------------------------

def sigmoid(x) -> np.ndarray:
    """Logistic function σ(x) = 1 / (1 + e^{-x}), elementwise (Chapter 3, notebook 2).

    Stable for large |x|: for x < 0 it uses the equal form e^{x} / (1 + e^{x}),
    so ``exp`` only ever sees -|x| <= 0 and cannot overflow.
    Same as ``torch.sigmoid``.
    """
    x = as_float_array(x, "sigmoid", "x")
    e = np.exp(-np.abs(x))                       # in (0, 1]: never overflows
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def logsumexp(x, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """log Σ_j exp(x_j) along ``axis``, as m + log Σ_j exp(x_j - m) (Chapter 3.3).

    m = max_j x_j, so every exponent is <= 0 (no overflow) and the largest
    term is exactly 1 (the sum cannot underflow to 0). x: any shape; the
    result drops ``axis`` unless ``keepdims``. Same as
    ``torch.logsumexp(x, dim=axis, keepdim=keepdims)``, including -inf for
    all -inf input and +inf when some x_j is +inf.
    """
    x = as_float_array(x, "logsumexp", "x")
    axis = _check_axis(x, axis, "logsumexp")
    m = np.max(x, axis=axis, keepdims=True)
    # all -inf (or an inf) rows: do not shift
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):           # log(0) = -inf for all -inf rows
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _dim(axis, dim, dtype, fn: str):
    """torch's keywords ``dim`` (= ``axis``) and ``dtype`` (refused unless None)."""
    if dtype is not None:
        raise ValueError(f"{fn}: dtype={dtype!r} is not supported (cast the input)")
    return axis if dim is None else dim


def softmax(x, axis: int = -1, *, dim: int | None = None, dtype=None,
            _stacklevel: int = 3) -> np.ndarray:
    """softmax(x)_i = exp(x_i - m) / Σ_j exp(x_j - m) along ``axis`` (Chapter 3.3).

    Subtracting m = max_j x_j changes nothing mathematically (it cancels
    between numerator and denominator) but keeps every exponent <= 0.
    x: any shape; returns the same shape. Same as ``torch.softmax(x, dim=axis)``.
    """
    x = as_float_array(x, "softmax", "x")
    axis = _check_axis(x, _dim(axis, dim, dtype, "softmax"), "softmax")
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis: int = -1, *, dim: int | None = None, dtype=None,
                _stacklevel: int = 3) -> np.ndarray:
    """log softmax(x)_i = x_i - logsumexp(x), Chapter 3, notebook 3; same shape as x.

    Never takes the log of a softmax that may have underflowed to 0. Computed
    as (x_i - m) - log Σ_j exp(x_j - m), the shift subtracted first: adding m
    back before subtracting would round a tiny log-probability such as
    -log(1 + e^-28) ≈ -6.9e-13 to the spacing of m. Same as
    ``torch.log_softmax(x, dim=axis)``.
    """
    x = as_float_array(x, "log_softmax", "x")
    axis = _check_axis(x, _dim(axis, dim, dtype, "log_softmax"), "log_softmax")
    m = np.max(x, axis=axis, keepdims=True)
    shifted = x - np.where(np.isfinite(m), m, 0.0)   # all -inf rows: no shift
    with np.errstate(divide="ignore"):
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax_jacobian(x) -> np.ndarray:
    """Jacobian ∂p_i/∂x_j = p_i (δ_ij - p_j), i.e. diag(p) - p pᵀ (Chapter 3.3).

    x: (..., C) logits; returns (..., C, C) with p = softmax(x) over the last
    axis. The rows sum to zero: adding a constant to every logit does not
    change p.
    """
    x = as_float_array(x, "softmax_jacobian", "x")
    _check_axis(x, -1, "softmax_jacobian")
    p = softmax(x, axis=-1)
    return p[..., :, None] * np.eye(x.shape[-1]) - p[..., :, None] * p[..., None, :]


# ---------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------

def _check_logits_target(logits, target, fn: str):
    """(N, C) logits and (N,) class indices (the Chapter 3 form, kept for callers)."""
    logits = as_float_array(logits, fn, "logits", ndim=2, layout="(N, C)")
    N, C = logits.shape
    if type(target).__module__.startswith("torch"):
        raise TypeError(f"{fn}: target must be a numpy array, got a torch.Tensor")
    target = np.asarray(target)
    if target.dtype.kind not in "iu" or target.shape != (N,):
        raise ValueError(f"{fn}: target must be integer class indices of shape ({N},), "
                         f"got {target.dtype} {target.shape}")
    if N and (target.min() < 0 or target.max() >= C):
        raise ValueError(f"{fn}: target must hold class indices in [0, {C - 1}], "
                         f"got values in [{target.min()}, {target.max()}]")
    return logits, target.astype(np.int64)


def _ce_parts(logits, target, weight, ignore_index, label_smoothing, fn: str):
    """Everything cross-entropy needs, in torch's layouts (see ``cross_entropy``).

    Returns ``(logp, A, D, shape, unbatched, reshape_back)``: logp (M, C) the
    log-probabilities of the M = N·d1·... rows, A (M, C) the coefficients of
    ℓ_m = -Σ_c A_mc logp_mc, D the denominator of the mean, ``shape`` the shape
    of the "none" loss, and the map from an (M, C) array back to the logits'
    layout.
    """
    x = as_float_array(logits, fn, "logits")
    if x.ndim == 0:
        raise ValueError(f"{fn}: logits must be (C,), (N, C) or (N, C, d1, ...), "
                         f"got a scalar")
    if type(target).__module__.startswith("torch"):
        raise TypeError(f"{fn}: target must be a numpy array, got a torch.Tensor")
    t = np.asarray(target)
    unbatched = x.ndim == 1
    xb = x[None] if unbatched else x                     # (N, C, d1, ...)
    C = xb.shape[1]
    z = np.moveaxis(xb, 1, -1)                           # (N, d1, ..., C)
    lead = z.shape[:-1]
    z = z.reshape(-1, C)
    ls = label_smoothing
    if isinstance(ls, bool) or not isinstance(ls, (int, float, np.floating)) \
            or not 0 <= ls <= 1:
        raise ValueError(f"{fn}: label_smoothing must be a number in [0, 1], "
                         f"got {label_smoothing!r}")
    eps = float(label_smoothing)
    if isinstance(ignore_index, bool) or not isinstance(ignore_index,
                                                        (int, np.integer)):
        raise TypeError(f"{fn}: ignore_index must be an int, got {ignore_index!r}")
    w = np.ones(C, dtype=x.dtype)
    if weight is not None:
        w = as_float_array(weight, fn, "weight")
        if w.shape != (C,):
            raise ValueError(f"{fn}: weight must be (C={C},), one per class, "
                             f"got shape {w.shape}")
    probs = t.dtype.kind == "f" and t.shape == x.shape
    if probs:                                            # probability targets
        tz = np.moveaxis(t[None] if unbatched else t, 1, -1).reshape(-1, C)
        A = w * ((1 - eps) * tz + eps / C)               # the mixed target, weighted
        D = float(z.shape[0])                            # mean over the rows only
    else:
        want = x.shape[:1] + x.shape[2:] if not unbatched else ()
        if t.dtype.kind not in "iu" or t.shape != want:
            raise ValueError(
                f"{fn}: target must be integer class indices of shape {want}, got "
                f"{t.dtype} {t.shape} (or probabilities of the logits' shape "
                f"{x.shape})")
        y = t.reshape(-1).astype(np.int64)
        keep = y != ignore_index
        if keep.any():
            lo, hi = y[keep].min(), y[keep].max()
            if lo < 0 or hi >= C:
                raise ValueError(f"{fn}: target must hold class indices in "
                                 f"[0, {C - 1}], got values in [{lo}, {hi}] "
                                 f"(entries equal to ignore_index={ignore_index} "
                                 f"are skipped)")
        ys = np.where(keep, y, 0)
        A = np.zeros_like(z)
        A[np.arange(len(y)), ys] = 1 - eps               # (1 - ε) onehot(y) + ε/C
        A += eps / C
        A *= w
        A[~keep] = 0.0                                   # ignored rows count nothing
        D = float(np.sum(w[ys] * keep))                  # Σ_m w_(y_m) [y_m ≠ ignore]
    logp = log_softmax(z, axis=1)

    def back(g):                                         # (M, C) -> logits' layout
        g = np.moveaxis(g.reshape(lead + (C,)), -1, 1)
        return g[0] if unbatched else g
    return logp, A, D, lead[1:] if unbatched else lead, back


def cross_entropy(logits, target, reduction: str = "mean", *, weight=None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  label_smoothing: float = 0.0):
    """Softmax cross-entropy (Chapter 3.3), all of torch's ``F.cross_entropy``.

    ℓ_n = -log softmax(z_n)_{y_n} = logsumexp(z_n) - z_{n, y_n}.

    logits: (N, C), (C,) (one sample) or (N, C, d1, ...) (a class score per
    position, e.g. per pixel); target: integer class indices of shape (N,),
    () or (N, d1, ...), or class probabilities of the logits' shape.
    ``reduction``: "mean" (default, a scalar), "sum" or "none".

    The options, in one formula. Write every case as a cross-entropy against a
    weighted target vector a_n: ℓ_n = -Σ_c a_nc log p_nc, p_n = softmax(z_n).

    - class indices y_n, class ``weight`` w, ``label_smoothing`` ε, and
      k_n = [y_n ≠ ``ignore_index``]: a_nc = k_n w_c ((1 - ε)[c = y_n] + ε/C).
      Label smoothing is a cross-entropy against the mixture (1 - ε) onehot(y_n)
      + ε · uniform; ε = 0, w = 1, no ignored target gives the formula above.
    - probabilities t_n: a_nc = w_c ((1 - ε) t_nc + ε/C).

    "sum" is Σ_n ℓ_n. "mean" is a *weighted* mean for class indices,
    Σ_n ℓ_n / D with D = Σ_n k_n w_(y_n): each sample counts with the weight
    of its true class, ignored samples not at all (so D is N when w = 1 and
    nothing is ignored, and the loss stays a mean of per-sample losses when
    every weight is doubled). torch divides the smoothing term by the same D.
    For probability targets D is simply the number of rows N·d1·...
    Every target ignored gives 0/0 = nan, as in torch.

    ``size_average`` and ``reduce`` (deprecated in torch) are refused unless None.
    Stable for logits of any magnitude because it goes through ``log_softmax``.
    """
    return cross_entropy_vjp(logits, target, reduction, weight=weight,
                             size_average=size_average, ignore_index=ignore_index,
                             reduce=reduce, label_smoothing=label_smoothing)[0]


def _refuse_legacy(fn: str, **kw) -> None:
    for name, v in kw.items():
        if v is not None:
            raise ValueError(f"{fn}: {name} is deprecated in torch and not supported; "
                             f"use reduction= instead, got {name}={v!r}")


def cross_entropy_vjp(logits, target, reduction: str = "mean", *, weight=None,
                      size_average=None, ignore_index: int = -100, reduce=None,
                      label_smoothing: float = 0.0):
    """``cross_entropy`` and its VJP (Chapter 3.3).

    With ℓ_n = -Σ_c a_nc log p_nc (see ``cross_entropy``) and
    ∂ log p_nc / ∂z_nk = [c = k] - p_nk:
    ∂ℓ_n/∂z_nk = p_nk Σ_c a_nc - a_nk, which is p - onehot(y) in the plain case;
    the reduction scales it by dℓ (sum), dℓ/D (mean) or dℓ_n (none).
    ``vjp(dℓ)`` returns ``(dlogits, dtarget)``. Class indices have no gradient
    (``dtarget`` is None); for probability targets ℓ_n is linear in t_n with
    a_nc = w_c ((1 - ε) t_nc + ε/C), so ∂ℓ_n/∂t_nc = -(1 - ε) w_c log p_nc,
    scaled by the same reduction (torch gives this gradient too). When every
    target is ignored (D = 0) the mean is nan, as in torch, and the gradient
    is 0, as in torch: no row contributes.
    """
    fn = "cross_entropy"
    reduction = _check_reduction(reduction, fn)
    _refuse_legacy(fn, size_average=size_average, reduce=reduce)
    logp, A, D, shape, back = _ce_parts(logits, target, weight, ignore_index,
                                        label_smoothing, fn)
    t = np.asarray(target)
    probs = t.dtype.kind == "f" and t.shape == np.shape(logits)
    eps = float(label_smoothing)
    C = logp.shape[1]
    w = np.ones(C) if weight is None else np.asarray(weight, dtype=float)
    per = -(A * logp).sum(axis=1)
    if reduction == "none":
        loss = per.reshape(shape)
    elif reduction == "sum":
        loss = per.sum()
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            loss = per.sum() / D

    def vjp(dl):
        dl = np.asarray(as_float_array(dl, fn, "dout"))
        if dl.shape != np.shape(loss):
            raise ValueError(f"{fn}: dout must have the output's shape "
                             f"{np.shape(loss)}, got {dl.shape}")
        # p Σa - a = a·expm1(log p) + p·(Σa - a): no cancellation where p ≈ 1
        # (the plain case gives expm1(log p_y) at the label, as exactly as torch)
        g = A * np.expm1(logp) + np.exp(logp) * (A.sum(axis=1, keepdims=True) - A)
        if reduction == "none":
            c = dl.reshape(-1, 1)
        elif reduction == "mean":
            c = dl / D if D else 0.0 * dl        # D = 0: every row ignored, A = 0
        else:
            c = dl
        dt = None
        if probs:                                # ∂ℓ_n/∂t_nc = -(1 - ε) w_c log p_nc
            dt = back(-(1 - eps) * w * logp * c)
        return back(g * c), dt
    return loss, vjp


def cross_entropy_grad(logits, target, reduction: str = "mean",
                       **options) -> np.ndarray:
    """Gradient of ``cross_entropy`` w.r.t. the logits: (p - y) / N (Chapter 3.3).

    p = softmax(logits) row-wise, y the one-hot targets; the 1/N comes from
    the mean reduction ("sum": p - y; "none" is not a scalar loss and is
    refused). logits: (N, C), target: (N,) int; returns (N, C). The keyword
    options of ``cross_entropy`` (weight, ignore_index, label_smoothing) are
    accepted; see ``cross_entropy_vjp`` for the general gradient.
    """
    reduction = _check_reduction(reduction, "cross_entropy_grad")
    if reduction == "none":
        raise ValueError("cross_entropy_grad: reduction must be 'mean' or 'sum' "
                         "(a gradient needs a scalar loss), got 'none'")
    try:
        _, vjp = cross_entropy_vjp(logits, target, reduction, **options)
    except ValueError as e:
        msg = str(e).replace("cross_entropy:", "cross_entropy_grad:")
        raise ValueError(msg) from None
    return vjp(1.0)[0]


def _check_bce(input, target, fn: str):
    x = as_float_array(input, fn, "input")
    y = as_float_array(target, fn, "target")
    if x.shape != y.shape:
        raise ValueError(
            f"{fn}: target must have the shape of input {x.shape}, got {y.shape}"
        )
    if np.any(~np.isfinite(y)) or np.any((y < 0) | (y > 1)):
        raise ValueError(f"{fn}: target must hold probabilities in [0, 1], "
                         f"got values in [{np.nanmin(y):.3g}, {np.nanmax(y):.3g}]")
    return x, y


def _bce_parts(input, target, weight, pos_weight, fn: str):
    x, y = _check_bce(input, target, fn)
    w = 1.0 if weight is None else as_float_array(weight, fn, "weight")
    pw = 1.0 if pos_weight is None else as_float_array(pos_weight, fn, "pos_weight")
    for name, v in (("weight", w), ("pos_weight", pw)):
        try:
            np.broadcast_shapes(np.shape(v), x.shape)
        except ValueError:
            raise ValueError(f"{fn}: {name} must broadcast to the input's shape "
                             f"{x.shape}, got {np.shape(v)}") from None
    return x, y, w, pw


def binary_cross_entropy_with_logits(input, target, reduction: str = "mean", *,
                                     weight=None, size_average=None, reduce=None,
                                     pos_weight=None):
    """Binary cross-entropy on logits (Chapter 3.2).

    ℓ = -[y log σ(x) + (1 - y) log(1 - σ(x))] = max(x, 0) - x y + log(1 + e^{-|x|}).

    input: logits x of any shape; target: y in [0, 1] of the same shape.
    The right-hand form never exponentiates a positive number and never takes
    log of 0, so it is exact for |x| up to 1e308. ``reduction`` as in
    ``cross_entropy``. Same as
    ``torch.nn.functional.binary_cross_entropy_with_logits(input, target)``.

    ``weight`` w multiplies each element's loss; ``pos_weight`` p weighs the
    positive term (per class, broadcast over the last axis):
    ℓ = -w [p y log σ(x) + (1 - y) log(1 - σ(x))]. With log σ(x) = -softplus(-x)
    and log(1 - σ(x)) = -x - softplus(-x) this is
    ℓ = w [(1 - y) x + (1 + (p - 1) y) softplus(-x)], stable as above; p = 1
    gives back the form above. The mean divides by the number of elements.
    ``size_average`` and ``reduce`` (deprecated) are refused unless None.
    """
    fn = "binary_cross_entropy_with_logits"
    reduction = _check_reduction(reduction, fn)
    _refuse_legacy(fn, size_average=size_average, reduce=reduce)
    x, y, w, pw = _bce_parts(input, target, weight, pos_weight, fn)
    sp = np.maximum(-x, 0.0) + np.log1p(np.exp(-np.abs(x)))       # softplus(-x)
    if pos_weight is None:
        loss = np.maximum(x, 0.0) - x * y + np.log1p(np.exp(-np.abs(x)))
    else:
        loss = (1 - y) * x + (1 + (pw - 1) * y) * sp
    return _reduce(loss * w, reduction)


def _sum_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    """The adjoint of broadcasting to g's shape: sum g down to ``shape``."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape)))) if g.ndim > len(shape) else g
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def binary_cross_entropy_with_logits_vjp(input, target, reduction: str = "mean", *,
                                         weight=None, size_average=None, reduce=None,
                                         pos_weight=None):
    """``binary_cross_entropy_with_logits`` and its VJP (Chapter 3.2).

    With s = softplus(-x) and the elementwise loss
    ℓ = w [(1 - y) x + (1 + (p - 1) y) s] (see the forward), ds/dx = -(1 - σ(x)):

    - ∂ℓ/∂x = w [(1 - y) - (1 + (p - 1) y)(1 - σ(x))]  (σ(x) - y when w = p = 1),
    - ∂ℓ/∂y = w [(p - 1) s - x],
    - ∂ℓ/∂w = (1 - y) x + (1 + (p - 1) y) s,  ∂ℓ/∂p = w y s,

    each scaled by the reduction (dℓ, dℓ/n or dℓ elementwise) and, for the
    broadcast ``weight`` and ``pos_weight``, summed back to their shapes.
    ``vjp(dℓ)`` returns ``(dinput, dtarget, dweight, dpos_weight)`` (None for an
    absent weight).
    """
    fn = "binary_cross_entropy_with_logits"
    reduction = _check_reduction(reduction, fn)
    _refuse_legacy(fn, size_average=size_average, reduce=reduce)
    x, y, w, pw = _bce_parts(input, target, weight, pos_weight, fn)
    loss = binary_cross_entropy_with_logits(x, y, reduction, weight=weight,
                                            pos_weight=pos_weight)
    sp = np.maximum(-x, 0.0) + np.log1p(np.exp(-np.abs(x)))       # softplus(-x)
    sig = sigmoid(x)
    mix = 1 + (pw - 1) * y

    def vjp(dl):
        dl = np.asarray(as_float_array(dl, fn, "dout"))
        if dl.shape != np.shape(loss):
            raise ValueError(f"{fn}: dout must have the output's shape "
                             f"{np.shape(loss)}, got {dl.shape}")
        c = dl / max(x.size, 1) if reduction == "mean" else dl
        dx = c * w * ((1 - y) - mix * (1 - sig))
        dy = c * w * ((pw - 1) * sp - x)
        dw = None if weight is None else _sum_to(c * ((1 - y) * x + mix * sp),
                                                 np.shape(w))
        dpw = None if pos_weight is None else _sum_to(c * w * y * sp, np.shape(pw))
        return (np.broadcast_to(dx, x.shape).copy(),
                np.broadcast_to(dy, y.shape).copy(), dw, dpw)
    return loss, vjp


def binary_cross_entropy_with_logits_grad(
    input, target, reduction: str = "mean", *, weight=None, pos_weight=None
) -> np.ndarray:
    """Gradient of ``binary_cross_entropy_with_logits``: (σ(x) - y) / n (Chapter 3.2).

    n is the number of elements for "mean" (1 for "sum"). Returns the shape of input.
    With ``weight`` w and ``pos_weight`` p: w [(1 - y) - (1 + (p - 1) y)(1 - σ(x))] / n,
    since d softplus(-x)/dx = -σ(-x) = -(1 - σ(x)).
    """
    fn = "binary_cross_entropy_with_logits_grad"
    reduction = _check_reduction(reduction, fn)
    if reduction == "none":
        raise ValueError(
            "binary_cross_entropy_with_logits_grad: reduction must be 'mean' or "
            "'sum' (a gradient needs a scalar loss), got 'none'"
        )
    x, y, w, pw = _bce_parts(input, target, weight, pos_weight, fn)
    if pos_weight is None:
        grad = sigmoid(x) - y
    else:
        grad = (1 - y) - (1 + (pw - 1) * y) * (1 - sigmoid(x))
    grad = grad * w
    return grad / max(x.size, 1) if reduction == "mean" else grad


# ---------------------------------------------------------------------------
# information theory
# ---------------------------------------------------------------------------

def entropy(p, axis: int = -1, *, logits: bool = False) -> np.ndarray:
    """Shannon entropy H(p) = -Σ_i p_i log p_i in nats along ``axis`` (Chapter 3.3).

    p: probabilities (any shape; >= 0, summing to 1 along ``axis`` within
    1e-6, else ValueError). Terms with p_i = 0 count 0 (the limit of
    t log t as t -> 0). With ``logits=True``, p holds unnormalised
    log-probabilities and the entropy of softmax(p) is computed from
    ``log_softmax`` (stable for logits of magnitude 1e4).
    Same as ``torch.distributions.Categorical(probs=p).entropy()``
    (``logits=p`` for ``logits=True``) when ``axis=-1``.
    """
    if logits:
        z = as_float_array(p, "entropy", "p")
        axis = _check_axis(z, axis, "entropy")
        logp = log_softmax(z, axis=axis)
        return 0.0 - np.sum(np.exp(logp) * logp, axis=axis)     # 0.0 - x: no -0.0
    p = _check_probs(p, "entropy", "p", axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return 0.0 - np.sum(terms, axis=axis)                     # 0.0 - x: no -0.0


def kl_divergence(p, q, axis: int = -1, *, logits: bool = False) -> np.ndarray:
    """KL(p ‖ q) = Σ_i p_i (log p_i - log q_i) in nats along ``axis`` (Chapter 3.3).

    p, q: probabilities of the same (or broadcastable) shape, each summing to
    1 along ``axis``. Terms with p_i = 0 count 0; a q_i = 0 where p_i > 0
    gives +inf (q cannot explain an outcome p allows). With ``logits=True``,
    p and q hold unnormalised log-probabilities and KL(softmax(p) ‖ softmax(q))
    is computed from ``log_softmax`` differences, finite and stable even for
    logits of magnitude 1e4 where softmax(q) underflows to 0.
    Same as ``torch.distributions.kl_divergence`` of two ``Categorical``s
    (and as ``F.kl_div(log q, log p, log_target=True)`` summed over ``axis``).
    """
    if logits:
        zp = as_float_array(p, "kl_divergence", "p")
        zq = as_float_array(q, "kl_divergence", "q")
        _check_broadcast(zp, zq)
        axis = _check_axis(np.broadcast_to(zp, np.broadcast_shapes(zp.shape, zq.shape)),
                           axis, "kl_divergence")
        logp, logq = log_softmax(zp, axis=axis), log_softmax(zq, axis=axis)
        return np.sum(np.exp(logp) * (logp - logq), axis=axis)
    p = _check_probs(p, "kl_divergence", "p", axis)
    q = _check_probs(q, "kl_divergence", "q", axis)
    _check_broadcast(p, q)
    p, q = np.broadcast_arrays(p, q)
    pos = p > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(pos, p * (np.log(np.where(pos, p, 1.0)) - np.log(q)), 0.0)
    return np.sum(terms, axis=axis)


def _check_broadcast(p: np.ndarray, q: np.ndarray) -> None:
    try:
        np.broadcast_shapes(p.shape, q.shape)
    except ValueError:
        raise ValueError(f"kl_divergence: p and q must broadcast, got shapes "
                         f"{p.shape} and {q.shape}") from None
