"""The layers of a feedforward network (Chapters 5 and 6), each with its VJP.

Every ``*_vjp`` function computes the forward value ``y`` and returns it with
the closure ``vjp(dy)`` that applies the hand-derived backward pass: it maps
the gradient of a scalar loss w.r.t. ``y`` to the gradients w.r.t. each array
input, in the order of the arguments (``None`` for an absent input such as
``bias=None``). Shapes and semantics are torch's::

    y, vjp = linear_vjp(x, W, b)        # y = x Wᵀ + b
    dx, dW, db = vjp(dy)                # Chapter 5.3: dW = dyᵀ x, db = Σ dy, dx = dy W

The plain forward functions (``relu``, ``gelu``, ``dropout``, ``batch_norm``,
``layer_norm``, ``mse_loss``) return ``y`` only, like ``torch.nn.functional``.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from .._validate import as_float_array
from .basic import (  # noqa: F401 (cross_entropy_vjp lives in basic)
    _check_reduction,
    _refuse_legacy,
    _reduce,
    cross_entropy_vjp,
    linear,
    log_softmax,
    sigmoid,
    softmax,
)

__all__ = [
    "check_dout", "linear_vjp", "relu", "relu_vjp", "sigmoid_vjp", "tanh_vjp", "gelu",
    "gelu_vjp", "dropout", "dropout_vjp", "batch_norm", "batch_norm_vjp", "layer_norm",
    "layer_norm_vjp", "mse_loss", "mse_loss_vjp", "cross_entropy_vjp"
]

VJP = Callable[[np.ndarray], tuple]


def check_dout(dy, shape: tuple, fn: str) -> np.ndarray:
    """The output gradient as a float array of the output's shape, or a clear error."""
    dy = as_float_array(dy, fn, "dout")
    if dy.shape != tuple(shape):
        raise ValueError(f"{fn}: dout must have the output's shape {tuple(shape)}, "
                         f"got {dy.shape}")
    return dy


# --------------------------------------------------------------------------- linear
def linear_vjp(x, W, b=None) -> tuple[np.ndarray, VJP]:
    """``y = x Wᵀ + b`` and its VJP (Chapter 5.3, eq-backprop-batch).

    x: (..., in), W: (out, in), b: (out,).

    With the leading axes flattened into N rows: ``dx = dy W`` (N, in),
    ``dW = dyᵀ x`` (out, in), ``db = Σ_n dy_n`` (out,).
    """
    y = linear(x, W, b)
    x, W = np.asarray(x, dtype=y.dtype), np.asarray(W)

    def vjp(dy):
        dy = check_dout(dy, y.shape, "linear")
        x2, dy2 = x.reshape(-1, W.shape[1]), dy.reshape(-1, W.shape[0])
        dx = dy @ W                                # ∂L/∂x = dy W
        dW = dy2.T @ x2                            # ∂L/∂W = Σ_n dy_n x_nᵀ
        db = dy2.sum(axis=0) if b is not None else None
        return dx, dW, db
    return y, vjp


# -------------------------------------------------------------------------- activations
def relu(x, inplace: bool = False) -> np.ndarray:
    """ReLU(x) = max(x, 0), elementwise. Same as ``torch.relu`` (``inplace`` changes
    nothing here: numpy returns a new array)."""
    x = as_float_array(x, "relu", "x")
    return np.maximum(x, 0)


def relu_vjp(x) -> tuple[np.ndarray, VJP]:
    """ReLU and its VJP ``dx = dy ⊙ [x > 0]`` (torch's convention: 0 at x = 0)."""
    x = as_float_array(x, "relu", "x")
    y = np.maximum(x, 0)
    return y, lambda dy: (check_dout(dy, y.shape, "relu") * (x > 0),)


def sigmoid_vjp(x) -> tuple[np.ndarray, VJP]:
    """σ(x) and its VJP ``dx = dy ⊙ σ(x)(1 - σ(x))``: the derivative from the output."""
    y = sigmoid(x)
    return y, lambda dy: (check_dout(dy, y.shape, "sigmoid") * y * (1 - y),)


def tanh_vjp(x) -> tuple[np.ndarray, VJP]:
    """tanh(x) and its VJP ``dx = dy ⊙ (1 - tanh²x)``."""
    y = np.tanh(as_float_array(x, "tanh", "x"))
    return y, lambda dy: (check_dout(dy, y.shape, "tanh") * (1 - y * y),)


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def _gelu_parts(x: np.ndarray, approximate: str):
    """GELU(x) = x Φ(x) and its derivative Φ(x) + x φ(x) (or the tanh form's)."""
    if approximate == "tanh":
        # GELU ≈ x/2 (1 + tanh u), u = √(2/π)(x + 0.044715 x³)
        u = _SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)
        t = np.tanh(u)
        du = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x ** 2)
        return 0.5 * x * (1 + t), 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du
    from scipy.special import erf
    cdf = 0.5 * (1 + erf(x / math.sqrt(2)))            # Φ(x)
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)  # φ(x)
    return x * cdf, cdf + x * pdf


def _check_approximate(approximate: str) -> str:
    if approximate not in ("none", "tanh"):
        raise ValueError(
            f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}"
        )
    return approximate


def gelu(x, approximate: str = "none") -> np.ndarray:
    """GELU(x) = x Φ(x), Φ the standard normal CDF; ``approximate="tanh"`` uses
    x/2 (1 + tanh(√(2/π)(x + 0.044715 x³))). Same as ``torch.nn.functional.gelu``."""
    x = as_float_array(x, "gelu", "x")
    return _gelu_parts(x, _check_approximate(approximate))[0]


def gelu_vjp(x, approximate: str = "none") -> tuple[np.ndarray, VJP]:
    """GELU and its VJP ``dx = dy ⊙ (Φ(x) + x φ(x))`` (or the tanh form's)."""
    x = as_float_array(x, "gelu", "x")
    y, dydx = _gelu_parts(x, _check_approximate(approximate))
    return y, lambda dy: (check_dout(dy, y.shape, "gelu") * dydx,)


# --------------------------------------------------------------------------- dropout
def _check_p(p) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p!r}")
    return float(p)


def _dropout_mask(x: np.ndarray, p: float, mask, rng) -> np.ndarray:
    _check_p(p)
    if mask is None:
        from .._random import rng as default_rng
        return (rng or default_rng).random(x.shape) >= p   # keep with probability 1 - p
    mask = np.asarray(mask)
    if mask.shape != x.shape:
        raise ValueError(
            f"dropout: mask must have x's shape {x.shape}, got {mask.shape}"
        )
    if mask.dtype != bool and not np.isin(mask, (0, 1)).all():
        raise ValueError("dropout: mask must be boolean or hold only 0s and 1s "
                         "(1 = keep the unit)")
    return mask.astype(bool)


def dropout_vjp(x, p: float = 0.5, training: bool = True, *, mask=None,
                rng: np.random.Generator | None = None) -> tuple[np.ndarray, VJP]:
    """Inverted dropout (Chapter 6.3): ``y = x ⊙ m / (1 - p)``, m_i ~ Bernoulli(1 - p).

    Dividing by 1 - p keeps E[y] = x, so evaluation (``training=False``) is the
    identity. ``mask`` (True/1 = keep) replaces the random draw, e.g. to reuse
    torch's; otherwise it is drawn from ``rng`` (default ``dlmath.rng``).
    The VJP is the same masked scaling: ``dx = dy ⊙ m / (1 - p)``.
    """
    x = as_float_array(x, "dropout", "x")
    if not training:                                   # evaluation: the identity
        _check_p(p)
        return x.copy(), lambda dy: (check_dout(dy, x.shape, "dropout"),)
    keep = _dropout_mask(x, p, mask, rng)
    scale = np.where(keep, 1.0 / (1.0 - p) if p < 1 else 0.0, 0.0).astype(x.dtype)
    y = x * scale
    return y, lambda dy: (check_dout(dy, y.shape, "dropout") * scale,)


def dropout(
    x, p: float = 0.5, training: bool = True, inplace: bool = False, *, mask=None,
    rng=None
) -> np.ndarray:
    """Inverted dropout (see ``dropout_vjp``), as ``torch.nn.functional.dropout``."""
    return dropout_vjp(x, p, training, mask=mask, rng=rng)[0]


# ------------------------------------------------------------------------ normalization
def _normalize_vjp(x: np.ndarray, axes: tuple, eps: float):
    """x̂ = (x - μ)/√(σ² + ε) over ``axes`` (biased σ²), VJP dx̂ -> dx (Chapter 6.4).

    With m the number of elements averaged:
    dx = (dx̂ - mean(dx̂) - x̂ mean(dx̂ ⊙ x̂)) / √(σ² + ε).
    """
    mu = x.mean(axis=axes, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=axes, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = xc * inv_std

    def vjp(dxhat):
        return inv_std * (dxhat - dxhat.mean(axis=axes, keepdims=True)
                          - xhat * (dxhat * xhat).mean(axis=axes, keepdims=True))
    return xhat, vjp, mu, var


def _affine_shape(x: np.ndarray, channel_axis: int) -> tuple:
    shape = [1] * x.ndim
    shape[channel_axis] = x.shape[channel_axis]
    return tuple(shape)


def batch_norm_vjp(
    x,
    running_mean,
    running_var,
    weight=None,
    bias=None,
    training: bool = False,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
) -> tuple[np.ndarray, VJP]:
    """Batch normalization over the batch (and length) axes (Chapter 6.4).

    x: (N, C), (N, C, L) or (N, C, H, W); running_mean/var, weight, bias: (C,)
    or None; the statistics of channel c are over every axis but 1.
    Training: normalize with the batch mean and the *biased* variance, and update
    the running statistics in place with the *unbiased* one:
    ``r ← (1 - momentum) r + momentum · stat`` (``momentum=None``: the caller
    passes the cumulative factor 1/num_batches as ``momentum``; see
    ``dlmath.nn.BatchNorm1d``). Evaluation: normalize with the running statistics.
    ``vjp(dy)`` returns ``(dx, dweight, dbias)``. Same as
    ``torch.nn.functional.batch_norm(x, running_mean, running_var, weight, bias,
    training, momentum, eps)``.
    """
    fn = "batch_norm"
    x = as_float_array(x, fn, "x", ndim=(2, 3, 4),
                       layout="(N, C), (N, C, L) or (N, C, H, W)")
    C = x.shape[1]
    for name, v in [("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)]:
        if v is not None and np.shape(v) != (C,):
            raise ValueError(
                f"{fn}: {name} must be (C={C},) to match x of shape {x.shape}, "
                f"got {np.shape(v)}"
            )
    axes = (0,) + tuple(range(2, x.ndim))
    shape = _affine_shape(x, 1)
    m = x.size // C                                    # elements per channel
    if training:
        if m <= 1:
            raise ValueError(
                f"{fn}: expected more than 1 value per channel when training, "
                f"got input of shape {x.shape}"
            )
        xhat, norm_vjp, mu, var = _normalize_vjp(x, axes, eps)
        if (
            running_mean is not None
            and running_var is not None
            and momentum is not None
        ):
            running_mean *= 1 - momentum
            running_mean += momentum * mu.reshape(C)
            running_var *= 1 - momentum
            running_var += momentum * var.reshape(C) * m / (m - 1)   # unbiased
    else:
        if running_mean is None or running_var is None:
            raise ValueError(f"{fn}: evaluation needs running_mean and running_var")
        inv_std = 1.0 / np.sqrt(np.reshape(running_var, shape) + eps)
        xhat = (x - np.reshape(running_mean, shape)) * inv_std

        def norm_vjp(dxhat):                           # constant statistics: a scaling
            return dxhat * inv_std
    gamma = np.ones(shape) if weight is None else np.reshape(weight, shape)
    y = xhat * gamma + (0 if bias is None else np.reshape(bias, shape))

    def vjp(dy):
        dy = check_dout(dy, y.shape, fn)
        dweight = (dy * xhat).sum(axis=axes) if weight is not None else None
        dbias = dy.sum(axis=axes) if bias is not None else None
        return norm_vjp(dy * gamma), dweight, dbias
    return y, vjp


def batch_norm(
    x,
    running_mean,
    running_var,
    weight=None,
    bias=None,
    training: bool = False,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
) -> np.ndarray:
    """Batch normalization (see ``batch_norm_vjp``), as ``F.batch_norm``."""
    return batch_norm_vjp(
        x, running_mean, running_var, weight, bias, training, momentum, eps
    )[0]


def layer_norm_vjp(x, normalized_shape: int | Sequence[int], weight=None, bias=None,
                   eps: float = 1e-5) -> tuple[np.ndarray, VJP]:
    """Layer normalization over the trailing ``normalized_shape`` axes (Chapter 6.4).

    Each sample is normalized by its own mean and biased variance, then scaled
    and shifted elementwise by ``weight`` and ``bias`` (of ``normalized_shape``).
    The same statistics in training and evaluation. ``vjp(dy)`` returns
    ``(dx, dweight, dbias)``. Same as ``torch.nn.functional.layer_norm``.
    """
    fn = "layer_norm"
    x = as_float_array(x, fn, "x")
    ns = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
        else tuple(normalized_shape)
    k = len(ns)
    if k == 0 or x.ndim < k or x.shape[x.ndim - k:] != ns:
        raise ValueError(
            f"{fn}: x must end in normalized_shape {ns}, got shape {x.shape}"
        )
    for name, v in [("weight", weight), ("bias", bias)]:
        if v is not None and np.shape(v) != ns:
            raise ValueError(f"{fn}: {name} must have shape {ns}, got {np.shape(v)}")
    axes = tuple(range(x.ndim - k, x.ndim))
    lead = tuple(range(x.ndim - k))
    xhat, norm_vjp, _, _ = _normalize_vjp(x, axes, eps)
    gamma = 1.0 if weight is None else np.asarray(weight)
    y = xhat * gamma + (0 if bias is None else np.asarray(bias))

    def vjp(dy):
        dy = check_dout(dy, y.shape, fn)
        dweight = (dy * xhat).sum(axis=lead) if weight is not None else None
        dbias = dy.sum(axis=lead) if bias is not None else None
        return norm_vjp(dy * gamma), dweight, dbias
    return y, vjp


def layer_norm(
    x, normalized_shape, weight=None, bias=None, eps: float = 1e-5
) -> np.ndarray:
    """Layer normalization (see ``layer_norm_vjp``), as ``F.layer_norm``."""
    return layer_norm_vjp(x, normalized_shape, weight, bias, eps)[0]


# --------------------------------------------------------------------------- losses
def mse_loss_vjp(input, target, reduction: str = "mean", *, size_average=None,
                 reduce=None, weight=None) -> tuple[np.ndarray, VJP]:
    """MSE ``ℓ = mean((input - target)²)`` and its VJP ``2 (input - target) / n``.

    input, target: the same shape. ``vjp(dℓ)`` returns ``(dinput, dtarget)``.
    Same as ``torch.nn.functional.mse_loss``.
    """
    fn = "mse_loss"
    reduction = _check_reduction(reduction, fn)
    _refuse_legacy(fn, size_average=size_average, reduce=reduce)
    if weight is not None:
        raise ValueError(f"{fn}: weight (torch 2.13's weighted MSE) is not supported")
    a = as_float_array(input, fn, "input")
    t = as_float_array(target, fn, "target")
    if a.shape != t.shape:
        raise ValueError(
            f"{fn}: target must have input's shape {a.shape}, got {t.shape}"
        )
    r = a - t
    loss = _reduce(r * r, reduction)
    scale = 2.0 / max(r.size, 1) if reduction == "mean" else 2.0

    def vjp(dl):
        dl = check_dout(dl, np.shape(loss), fn)
        d = scale * r * dl
        return d, -d
    return loss, vjp


def mse_loss(input, target, reduction: str = "mean", *, size_average=None,
             reduce=None, weight=None):
    """Mean squared error; same as ``torch.nn.functional.mse_loss``."""
    return mse_loss_vjp(input, target, reduction, size_average=size_average,
                        reduce=reduce, weight=weight)[0]


# --------------------------------------------------------- issue 24: more layers' VJPs
def leaky_relu_vjp(x, negative_slope: float = 0.01) -> tuple[np.ndarray, VJP]:
    """LeakyReLU(x) = x for x > 0, a·x otherwise; VJP ``dx = dy ⊙ (1 if x > 0 else a)``
    (torch's convention at x = 0: the slope a). Same as ``F.leaky_relu``."""
    x = as_float_array(x, "leaky_relu", "x")
    if isinstance(negative_slope, bool) or not isinstance(negative_slope,
                                                          (int, float, np.floating)):
        raise TypeError(f"leaky_relu: negative_slope must be a number, "
                        f"got {negative_slope!r}")
    slope = np.where(x > 0, 1.0, float(negative_slope)).astype(x.dtype)
    y = x * slope
    return y, lambda dy: (check_dout(dy, y.shape, "leaky_relu") * slope,)


def leaky_relu(x, negative_slope: float = 0.01, inplace: bool = False) -> np.ndarray:
    """LeakyReLU (see ``leaky_relu_vjp``); ``inplace`` changes nothing in numpy."""
    return leaky_relu_vjp(x, negative_slope)[0]


def silu_vjp(x) -> tuple[np.ndarray, VJP]:
    """SiLU(x) = x σ(x) (the swish); derivative σ(x) (1 + x (1 - σ(x))), from
    (x σ)' = σ + x σ(1 - σ). Same as ``F.silu``."""
    x = as_float_array(x, "silu", "x")
    s = sigmoid(x)
    y = x * s
    deriv = s * (1 + x * (1 - s))
    return y, lambda dy: (check_dout(dy, y.shape, "silu") * deriv,)


def silu(x, inplace: bool = False) -> np.ndarray:
    """SiLU (see ``silu_vjp``)."""
    return silu_vjp(x)[0]


def _softmax_dim(x: np.ndarray, dim, fn: str) -> int:
    """torch's legacy implicit dim for ``dim=None``: 0 for 0-, 1- and 3-d input,
    else 1; otherwise the checked axis."""
    if dim is None:
        return 0 if x.ndim in (0, 1, 3) else 1
    from .._validate import check_axis
    return check_axis(x, dim, fn)


def _scalar_dim(x: np.ndarray, dim, fn: str) -> None:
    """A 0-d input is one row of one entry (torch: dim 0 or -1): softmax 1."""
    if dim not in (None, 0, -1):
        raise ValueError(f"{fn}: dim must be 0, -1 or None for a 0-d input, "
                         f"got dim={dim!r}")


def softmax_vjp(x, dim: int | None = -1) -> tuple[np.ndarray, VJP]:
    """softmax along ``dim`` and its VJP through the Jacobian diag(p) - p pᵀ:
    ``dx = p ⊙ (dy - Σ_j dy_j p_j)`` (Chapter 3.3), O(n) per row, never the n x n
    Jacobian. ``dim=None``: torch's implicit rule (see ``_softmax_dim``). A 0-d
    input is a row of one entry: p = 1 and dx = 0."""
    x = as_float_array(x, "softmax", "x")
    if x.ndim == 0:
        _scalar_dim(x, dim, "softmax")
        p = np.ones_like(x)
        return p, lambda dy: (check_dout(dy, p.shape, "softmax") * 0.0,)
    ax = _softmax_dim(x, dim, "softmax")
    p = softmax(x, axis=ax)

    def vjp(dy):
        dy = check_dout(dy, p.shape, "softmax")
        return (p * (dy - (dy * p).sum(axis=ax, keepdims=True)),)
    return p, vjp


def log_softmax_vjp(x, dim: int | None = -1) -> tuple[np.ndarray, VJP]:
    """log softmax along ``dim`` and its VJP: ∂(x_i - logsumexp x)/∂x_j = δ_ij - p_j,
    so ``dx = dy - p Σ_i dy_i``."""
    x = as_float_array(x, "log_softmax", "x")
    if x.ndim == 0:
        _scalar_dim(x, dim, "log_softmax")
        y = np.zeros_like(x)
        return y, lambda dy: (check_dout(dy, y.shape, "log_softmax") * 0.0,)
    ax = _softmax_dim(x, dim, "log_softmax")
    y = log_softmax(x, axis=ax)
    p = np.exp(y)

    def vjp(dy):
        dy = check_dout(dy, y.shape, "log_softmax")
        return (dy - p * dy.sum(axis=ax, keepdims=True),)
    return y, vjp


def embedding_vjp(input, weight, padding_idx: int | None = None, max_norm=None,
                  norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                  sparse: bool = False) -> tuple[np.ndarray, VJP]:
    """Embedding lookup ``y[...] = weight[input[...]]`` and its VJP.

    input: integer indices of any shape, in [0, num_embeddings); weight
    (num_embeddings, embedding_dim); y has shape input.shape + (embedding_dim,).
    A lookup is a product with one-hot rows, y = onehot(input) W, so
    dW = onehot(input)ᵀ dy: row i of dW is the sum of dy over every position that
    looked up i (``np.add.at``, a scatter-add). ``padding_idx``: that row gets no
    gradient (it stays the padding vector). ``scale_grad_by_freq``: row i's
    gradient is divided by the number of times i occurs in ``input``.
    ``vjp(dy)`` returns ``(None, dweight)``. ``max_norm`` (torch renormalizes the
    weight rows *in place* during the forward) and ``sparse`` (a sparse
    gradient) are refused by name. Same as ``torch.nn.functional.embedding``.
    """
    fn = "embedding"
    if max_norm is not None:
        raise ValueError(f"{fn}: max_norm={max_norm!r} is not supported (torch "
                         f"rescales the weight rows in place in the forward)")
    if sparse:
        raise ValueError(f"{fn}: sparse=True is not supported (dlmath gradients are "
                         f"dense arrays)")
    W = as_float_array(weight, fn, "weight", ndim=2,
                       layout="(num_embeddings, embedding_dim)")
    if type(input).__module__.startswith("torch"):
        raise TypeError(f"{fn}: input must be a numpy array, got a torch.Tensor")
    idx = np.asarray(input)
    n = W.shape[0]
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{fn}: input must hold integer indices, got dtype {idx.dtype}")
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"{fn}: indices must be in [0, {n - 1}], got values in "
                         f"[{idx.min()}, {idx.max()}]")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"{fn}: padding_idx must be in [-{n}, {n - 1}], "
                             f"got {padding_idx}")
        padding_idx = padding_idx % n
    y = W[idx]

    def vjp(dy):
        dy = check_dout(dy, y.shape, fn)
        dW = np.zeros_like(W)
        flat = idx.reshape(-1)
        np.add.at(dW, flat, dy.reshape(-1, W.shape[1]))   # dW = onehot(input)ᵀ dy
        if scale_grad_by_freq:
            counts = np.bincount(flat, minlength=n)
            dW /= np.maximum(counts, 1)[:, None]
        if padding_idx is not None:
            dW[padding_idx] = 0.0
        return None, dW
    return y, vjp


def embedding(input, weight, padding_idx: int | None = None, max_norm=None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> np.ndarray:
    """Embedding lookup (see ``embedding_vjp``)."""
    return embedding_vjp(input, weight, padding_idx, max_norm, norm_type,
                         scale_grad_by_freq, sparse)[0]


__all__ += ["leaky_relu", "leaky_relu_vjp", "silu", "silu_vjp", "softmax_vjp",
            "log_softmax_vjp", "embedding", "embedding_vjp"]
