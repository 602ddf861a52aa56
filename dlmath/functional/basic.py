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
    "binary_cross_entropy_with_logits_grad", "entropy", "kl_divergence"
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


def softmax(x, axis: int = -1) -> np.ndarray:
    """softmax(x)_i = exp(x_i - m) / Σ_j exp(x_j - m) along ``axis`` (Chapter 3.3).

    Subtracting m = max_j x_j changes nothing mathematically (it cancels
    between numerator and denominator) but keeps every exponent <= 0.
    x: any shape; returns the same shape. Same as ``torch.softmax(x, dim=axis)``.
    """
    x = as_float_array(x, "softmax", "x")
    axis = _check_axis(x, axis, "softmax")
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis: int = -1) -> np.ndarray:
    """log softmax(x)_i = x_i - logsumexp(x), Chapter 3, notebook 3; same shape as x.

    Never takes the log of a softmax that may have underflowed to 0.
    Same as ``torch.log_softmax(x, dim=axis)``.
    """
    x = as_float_array(x, "log_softmax", "x")
    axis = _check_axis(x, axis, "log_softmax")
    return x - logsumexp(x, axis=axis, keepdims=True)


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


def cross_entropy(logits, target, reduction: str = "mean"):
    """Softmax cross-entropy (Chapter 3.3).

    ℓ_n = -log softmax(z_n)_{y_n} = logsumexp(z_n) - z_{n, y_n}.

    logits: (N, C) float; target: (N,) integer class indices in [0, C).
    ``reduction``: "mean" (default, a scalar), "sum" or "none" ((N,)).
    Same as ``torch.nn.functional.cross_entropy(logits, target)``; stable for
    logits of any magnitude because it goes through ``log_softmax``.
    """
    reduction = _check_reduction(reduction, "cross_entropy")
    logits, target = _check_logits_target(logits, target, "cross_entropy")
    logp = log_softmax(logits, axis=1)
    loss = -np.take_along_axis(logp, target[:, None], axis=1)[:, 0]
    return _reduce(loss, reduction)


def cross_entropy_grad(logits, target, reduction: str = "mean") -> np.ndarray:
    """Gradient of ``cross_entropy`` w.r.t. the logits: (p - y) / N (Chapter 3.3).

    p = softmax(logits) row-wise, y the one-hot targets; the 1/N comes from
    the mean reduction ("sum": p - y; "none" is not a scalar loss and is
    refused). logits: (N, C), target: (N,) int; returns (N, C).
    """
    reduction = _check_reduction(reduction, "cross_entropy_grad")
    if reduction == "none":
        raise ValueError("cross_entropy_grad: reduction must be 'mean' or 'sum' "
                         "(a gradient needs a scalar loss), got 'none'")
    logits, target = _check_logits_target(logits, target, "cross_entropy_grad")
    N = logits.shape[0]
    grad = softmax(logits, axis=1)
    grad[np.arange(N), target] -= 1.0          # p - y, y one-hot
    return grad / N if reduction == "mean" else grad


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


def binary_cross_entropy_with_logits(input, target, reduction: str = "mean"):
    """Binary cross-entropy on logits (Chapter 3.2).

    ℓ = -[y log σ(x) + (1 - y) log(1 - σ(x))] = max(x, 0) - x y + log(1 + e^{-|x|}).

    input: logits x of any shape; target: y in [0, 1] of the same shape.
    The right-hand form never exponentiates a positive number and never takes
    log of 0, so it is exact for |x| up to 1e308. ``reduction`` as in
    ``cross_entropy``. Same as
    ``torch.nn.functional.binary_cross_entropy_with_logits(input, target)``.
    """
    reduction = _check_reduction(reduction, "binary_cross_entropy_with_logits")
    x, y = _check_bce(input, target, "binary_cross_entropy_with_logits")
    loss = np.maximum(x, 0.0) - x * y + np.log1p(np.exp(-np.abs(x)))
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits_grad(
    input, target, reduction: str = "mean"
) -> np.ndarray:
    """Gradient of ``binary_cross_entropy_with_logits``: (σ(x) - y) / n (Chapter 3.2).

    n is the number of elements for "mean" (1 for "sum"). Returns the shape of input.
    """
    reduction = _check_reduction(reduction, "binary_cross_entropy_with_logits_grad")
    if reduction == "none":
        raise ValueError(
            "binary_cross_entropy_with_logits_grad: reduction must be 'mean' or "
            "'sum' (a gradient needs a scalar loss), got 'none'"
        )
    x, y = _check_bce(input, target, "binary_cross_entropy_with_logits_grad")
    grad = sigmoid(x) - y
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
