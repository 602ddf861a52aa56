"""Attention (Chapter 9), forward and hand-derived backward, with torch's semantics.

Scaled dot-product attention of queries q (..., L, E) over keys k (..., S, E)
and values v (..., S, Ev), eq-attn of Chapter 9, notebook 1::

    A = scale · q kᵀ + M        (..., L, S)   scores, M the additive mask
    P = softmax(A) over S       (..., L, S)   attention weights, rows sum to 1
    y = P v                     (..., L, Ev)

and its VJP through the softmax Jacobian, eq-attn-dv to eq-attn-dqk::

    dv = Pᵀ dy,   dP = dy vᵀ,   dA = P ⊙ (dP - rowsum(dP ⊙ P)),
    dq = scale · dA k,   dk = scale · dAᵀ q,

where rowsum(dP ⊙ P) = rowsum(dy ⊙ y) costs O(L Ev) instead of O(L S).

**Fully masked rows.** A query row whose every key is masked out (bool mask
all False, or float mask all -inf) has no defined softmax (0/0). We follow
``torch.nn.functional.scaled_dot_product_attention`` (torch >= 2.5): such a
row gets weights 0, output 0 and zero gradients, never NaN
(``fully_masked_rows`` finds them). ``torch.nn.MultiheadAttention`` with
``need_weights=True`` returns NaN there, and so does
``dlmath.nn.MultiheadAttention`` (its ``_nan_rows``).

Also the positional encodings of the chapter: sinusoidal encodings
(eq-pe) and rotary embeddings (eq-rope), notebook 2.
"""
from __future__ import annotations

import math

import numpy as np

from .._validate import as_float_array, check_int, check_positive
from .dense import check_dout

__all__ = ["scaled_dot_product_attention", "scaled_dot_product_attention_vjp",
           "causal_mask", "sinusoidal_positional_encoding", "rotary_embedding",
           "rotary_embedding_vjp", "fully_masked_rows"]

_FN = "scaled_dot_product_attention"


def causal_mask(L: int, S: int | None = None) -> np.ndarray:
    """Boolean (L, S) mask, True where query i may attend to key j: j <= i.

    Top-left aligned like torch's ``is_causal=True`` (``tril(ones(L, S))``).
    """
    L = check_int(L, "causal_mask", "L", minimum=1)
    S = L if S is None else check_int(S, "causal_mask", "S", minimum=1)
    return np.tril(np.ones((L, S), dtype=bool))


def _unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``g`` over the leading axes that broadcasting added or stretched."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def fully_masked_rows(mask, shape: tuple) -> np.ndarray | None:
    """The query rows whose every key is masked: bool of ``shape[:-1]``.

    ``mask``: bool (True = may attend) or float (added to the scores; -inf
    masks), broadcastable to the scores' ``shape`` (..., L, S); None: none.
    Such a row has no softmax (0/0): ``scaled_dot_product_attention`` gives
    it weights 0 (as torch's), ``MultiheadAttention(need_weights=True)`` NaN
    (as torch's module).
    """
    if mask is None:
        return None
    m = np.asarray(mask)
    blocked = ~m if m.dtype == bool else np.isneginf(m)
    return np.broadcast_to(blocked, tuple(shape)).all(axis=-1)


def _check_inputs(q, k, v, attn_mask, is_causal, scale, fn):
    q = as_float_array(q, fn, "query")
    k = as_float_array(k, fn, "key")
    v = as_float_array(v, fn, "value")
    for name, a in (("query", q), ("key", k), ("value", v)):
        if a.ndim < 2:
            raise ValueError(f"{fn}: {name} must be (..., seq, dim) with at least "
                             f"2 dims, got shape {a.shape}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"{fn}: query and key must have the same head dimension E, "
                         f"got query {q.shape} (E={q.shape[-1]}) and key {k.shape} "
                         f"(E={k.shape[-1]})")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{fn}: key and value must have the same length S, got key "
                         f"{k.shape} and value {v.shape}")
    try:
        np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(f"{fn}: the leading (batch, head) dims of query {q.shape}, "
                         f"key {k.shape} and value {v.shape} do not broadcast"
                         ) from None
    dtype = np.result_type(q, k, v)
    L, S = q.shape[-2], k.shape[-2]
    score_shape = np.broadcast_shapes(q.shape[:-2], k.shape[:-2]) + (L, S)   # q kᵀ
    if is_causal and attn_mask is not None:
        raise ValueError(f"{fn}: give attn_mask or is_causal=True, not both")
    if not isinstance(is_causal, (bool, np.bool_)):
        raise TypeError(f"{fn}: is_causal must be a bool, "
                        f"got {type(is_causal).__name__}")
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    elif isinstance(scale, bool) or not isinstance(scale, (int, float, np.number)):
        raise TypeError(f"{fn}: scale must be a number or None, "
                        f"got {type(scale).__name__}")
    mask = None
    if is_causal:
        mask = causal_mask(L, S)
    elif attn_mask is not None:
        if type(attn_mask).__module__.startswith("torch"):
            raise TypeError(f"{fn}: attn_mask must be a numpy array, "
                            f"got a torch.Tensor")
        mask = np.asarray(attn_mask)
        if mask.dtype != bool and mask.dtype.kind != "f":
            raise TypeError(f"{fn}: attn_mask must be bool (True = may attend) or "
                            f"float (added to the scores), got dtype {mask.dtype}")
        try:
            ok = np.broadcast_shapes(mask.shape, score_shape) == score_shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{fn}: attn_mask must broadcast to the scores' shape "
                             f"(..., L={L}, S={S}) = {score_shape}, "
                             f"got shape {mask.shape}")
        if mask.dtype != bool:
            mask = mask.astype(dtype, copy=False)
    return q.astype(dtype, copy=False), k.astype(dtype, copy=False), \
        v.astype(dtype, copy=False), mask, dtype.type(scale)


def _attention(q, k, v, mask, scale, drop=None):
    """The forward (eq-attn) and a backward taking dy and, optionally, dP.

    Returns ``y, P, backward`` with ``backward(dy, dP=None) -> (dq, dk, dv)``
    reduced to the input shapes. Fully masked rows give P = 0 (see the module).
    ``drop`` (broadcastable to P, or None): dropout on the weights,
    P̃ = P ⊙ drop with drop = m/(1 - p); then y = P̃ v, the returned P is P̃
    and dP is the gradient w.r.t. P̃ (its VJP multiplies by the same factor).
    """
    qs = q * scale                                 # scale the (L, E) side, not (L, S)
    A = qs @ np.swapaxes(k, -1, -2)                # (..., L, S), eq-attn
    if mask is not None:
        if mask.dtype == bool:
            np.copyto(A, -np.inf, where=~mask)     # bool: True may attend
        else:
            A += mask                              # float: added to the scores
    m = A.max(axis=-1, keepdims=True)
    dead = np.isneginf(m)                          # every key masked: no softmax
    if dead.any():
        m = np.where(dead, 0, m)
    A -= m
    P = np.exp(A, out=A)
    den = P.sum(axis=-1, keepdims=True)
    if dead.any():
        den[dead] = 1.0                            # the row is all zeros: P = 0
    P /= den
    Pd = P if drop is None else P * drop           # dropout on the weights
    y = Pd @ v

    def backward(dy, dP_extra=None):
        dv = np.swapaxes(Pd, -1, -2) @ dy          # eq-attn-dv
        dP = dy @ np.swapaxes(v, -1, -2)           # eq-attn-dv
        if dP_extra is not None:
            dP = dP + dP_extra
        if drop is not None:
            dP = dP * drop                         # through P̃ = P ⊙ drop
        if dP_extra is not None or drop is not None:
            rho = (dP * P).sum(axis=-1, keepdims=True)
        else:
            rho = (dy * y).sum(axis=-1, keepdims=True)   # = rowsum(dP ⊙ P)
        dP -= rho                                  # eq-attn-dA: softmax Jacobian
        dP *= P                                    # dP is now dA
        dq = dP @ k                                # eq-attn-dqk
        dq *= scale
        dk = np.swapaxes(dP, -1, -2) @ qs
        return (_unbroadcast(dq, q.shape), _unbroadcast(dk, k.shape),
                _unbroadcast(dv, v.shape))
    return y, Pd, backward


def _sdpa_options(q, k, v, dropout_p, enable_gqa, dropout_mask, rng, fn):
    """Grouped-query heads and the dropout factor of ``scaled_dot_product_attention``.

    ``enable_gqa``: q (..., H_q, L, E) and k, v (..., H_kv, S, E) with H_q a
    multiple of H_kv; query head h reads key/value head ⌊h / (H_q/H_kv)⌋ (torch's
    ``repeat_interleave``). Sharing is a copy in the forward, so the VJP of a
    shared head is the sum of the gradients of the G = H_q/H_kv heads that
    read it. Returns (k, v repeated, G, drop).
    """
    if not isinstance(enable_gqa, (bool, np.bool_)):
        raise TypeError(f"{fn}: enable_gqa must be a bool, got {enable_gqa!r}")
    G = 1
    if enable_gqa:
        if q.ndim < 3 or k.ndim < 3 or v.ndim < 3:
            raise ValueError(f"{fn}: enable_gqa needs (..., heads, seq, dim) inputs, "
                             f"got query {q.shape}, key {k.shape}")
        Hq, Hk = q.shape[-3], k.shape[-3]
        if Hk != v.shape[-3] or Hq % Hk:
            raise ValueError(f"{fn}: enable_gqa needs the query heads ({Hq}) to be a "
                             f"multiple of the key/value heads ({Hk}, "
                             f"{v.shape[-3]})")
        G = Hq // Hk
        if G > 1:
            k, v = np.repeat(k, G, axis=-3), np.repeat(v, G, axis=-3)
    if isinstance(dropout_p, bool) or not isinstance(dropout_p, (int, float)) \
            or not 0 <= dropout_p < 1:
        raise ValueError(f"{fn}: dropout_p must be a probability in [0, 1), "
                         f"got {dropout_p!r}")
    drop = None
    if dropout_p > 0 or dropout_mask is not None:
        shape = np.broadcast_shapes(q.shape[:-2], k.shape[:-2]) + (q.shape[-2],
                                                                   k.shape[-2])
        if dropout_mask is None:
            from .._random import rng as default_rng
            keep = (rng or default_rng).random(shape) >= dropout_p
        else:
            keep = np.asarray(dropout_mask)
            if keep.shape != shape:
                raise ValueError(f"{fn}: dropout_mask must have the weights' shape "
                                 f"{shape}, got {keep.shape}")
            keep = keep.astype(bool)
        drop = np.where(keep, 1.0 / (1.0 - dropout_p), 0.0).astype(q.dtype)
    return k, v, G, drop


def _ungroup(g: np.ndarray, G: int) -> np.ndarray:
    """Sum the gradients of the G query heads that share one key/value head."""
    if G == 1:
        return g
    shape = g.shape[:-3] + (g.shape[-3] // G, G) + g.shape[-2:]
    return g.reshape(shape).sum(axis=-3)


def scaled_dot_product_attention(q, k, v, attn_mask=None, is_causal: bool = False,
                                 scale: float | None = None, dropout_p: float = 0.0,
                                 enable_gqa: bool = False, *, dropout_mask=None,
                                 rng=None) -> np.ndarray:
    """softmax(scale · q kᵀ + M) v, eq-attn. q: (..., L, E), k: (..., S, E),
    v: (..., S, Ev); returns (..., L, Ev).

    ``attn_mask``: bool (True = may attend) or float (added to the scores),
    broadcastable to (..., L, S). ``is_causal=True``: query i sees keys j <= i.
    ``scale`` defaults to 1/√E. Leading dims broadcast. Fully masked rows give
    0 (see the module docstring). ``dropout_p``: dropout on the weights,
    P ⊙ m/(1 - p) with m from ``dropout_mask`` (True = keep, the weights'
    shape) or drawn from ``rng`` (torch's own draw cannot be reproduced);
    ``dropout_p=0`` is exactly the plain attention. ``enable_gqa``:
    grouped-query attention (see ``_sdpa_options``). Same as
    ``torch.nn.functional.scaled_dot_product_attention`` (keyword arguments:
    the positional order of dlmath's first six is kept from Chapter 9).
    """
    return scaled_dot_product_attention_vjp(q, k, v, attn_mask, is_causal, scale,
                                            dropout_p, enable_gqa,
                                            dropout_mask=dropout_mask, rng=rng)[0]


def scaled_dot_product_attention_vjp(q, k, v, attn_mask=None, is_causal: bool = False,
                                     scale: float | None = None,
                                     dropout_p: float = 0.0, enable_gqa: bool = False,
                                     *, dropout_mask=None, rng=None):
    """Attention and its VJP, eq-attn-dv to eq-attn-dqk of Chapter 9.

    ``vjp(dy)`` returns ``(dq, dk, dv, dmask)``. A float ``attn_mask`` M is
    added to the scores, A = scale · q kᵀ + M, so its gradient is the scores'
    gradient dA = P ⊙ (dP - rowsum(dP ⊙ P)) (eq-attn-dA), summed over the axes
    the mask was broadcast along (torch gives it too); a bool mask or
    ``is_causal`` has none (None).
    """
    q = as_float_array(q, _FN, "query")
    k0 = as_float_array(k, _FN, "key")
    v0 = as_float_array(v, _FN, "value")
    k, v, G, drop = _sdpa_options(q, k0, v0, dropout_p, enable_gqa, dropout_mask, rng,
                                  _FN)
    q, k, v, mask, scale = _check_inputs(q, k, v, attn_mask, is_causal, scale, _FN)
    y, Pd, backward = _attention(q, k, v, mask, scale, drop)
    float_mask = mask is not None and mask.dtype != bool and not is_causal

    def vjp(dy):
        dy = check_dout(dy, y.shape, _FN)
        dy = dy.astype(y.dtype, copy=False)
        dq, dk, dv = backward(dy)
        dmask = None
        if float_mask:
            dmask = _unbroadcast(_scores_grad(q, k, v, mask, scale, drop, Pd, dy),
                                 np.shape(attn_mask))
        return dq, _ungroup(dk, G), _ungroup(dv, G), dmask
    return y, vjp


def _scores_grad(q, k, v, mask, scale, drop, Pd, dy) -> np.ndarray:
    """dA = P ⊙ (dP - rowsum(dP ⊙ P)), the gradient of the scores A (eq-attn-dA),
    with dP = (dy vᵀ) ⊙ drop. P is ``Pd`` without dropout, else the softmax is
    recomputed (dropped weights cannot be read back from P ⊙ drop). Rows whose
    every key is masked have P = 0, so dA = 0 there."""
    if drop is None:
        P = Pd
    else:
        A = (q * scale) @ np.swapaxes(k, -1, -2) + mask
        m = A.max(axis=-1, keepdims=True)
        m = np.where(np.isneginf(m), 0, m)
        P = np.exp(A - m)
        den = P.sum(axis=-1, keepdims=True)
        P = np.divide(P, den, out=np.zeros_like(P), where=den > 0)
    dP = dy @ np.swapaxes(v, -1, -2)
    if drop is not None:
        dP = dP * drop
    return P * (dP - (dP * P).sum(axis=-1, keepdims=True))


# --------------------------------------------------------------------------- positions
def _frequencies(d: int, base: float) -> np.ndarray:
    """θ_i = base^(-2i/d), i = 0 .. d/2 - 1: the angular speeds of eq-pe."""
    return base ** (-np.arange(0, d, 2) / d)


def sinusoidal_positional_encoding(num_positions: int, d_model: int,
                                   base: float = 10000.0) -> np.ndarray:
    """Sinusoidal encodings, eq-pe: PE[p,2i] = sin(pθ_i), PE[p,2i+1] = cos(pθ_i).

    θ_i = base^(-2i/d_model). Returns (num_positions, d_model); d_model must
    be even. Each pair (sin, cos) is a point on a circle turning at speed θ_i,
    so a shift by k positions is a rotation (eq-pe-shift).
    """
    fn = "sinusoidal_positional_encoding"
    n = check_int(num_positions, fn, "num_positions", minimum=1)
    d = check_int(d_model, fn, "d_model", minimum=2)
    if d % 2:
        raise ValueError(f"{fn}: d_model must be even (sin/cos pairs), got {d}")
    base = check_positive(base, fn, "base")
    angles = np.arange(n)[:, None] * _frequencies(d, base)   # (n, d/2)
    pe = np.empty((n, d))
    pe[:, 0::2], pe[:, 1::2] = np.sin(angles), np.cos(angles)
    return pe


def _rotary_parts(x, positions, base, fn):
    x = as_float_array(x, fn, "x")
    if x.ndim < 2:
        raise ValueError(f"{fn}: x must be (..., n, d), got shape {x.shape}")
    n, d = x.shape[-2:]
    if d % 2:
        raise ValueError(f"{fn}: the last dim d must be even (rotated pairs), got {d}")
    base = check_positive(base, fn, "base")
    pos = np.arange(n) if positions is None else np.asarray(positions)
    if pos.shape != (n,) or pos.dtype.kind not in "iuf":
        raise ValueError(f"{fn}: positions must be a numeric array of shape (n={n},), "
                         f"got {pos.dtype} array of shape {pos.shape}")
    angles = pos[:, None] * _frequencies(d, base)                # (n, d/2)
    return x, np.cos(angles).astype(x.dtype), np.sin(angles).astype(x.dtype)


def _rotate(x, cos, sin):
    x1, x2 = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = x1 * cos - x2 * sin
    out[..., 1::2] = x1 * sin + x2 * cos
    return out


def rotary_embedding(x, positions=None, base: float = 10000.0) -> np.ndarray:
    """Rotary position embedding (RoPE), eq-rope. x: (..., n, d), d even.

    Each pair (x[2i], x[2i+1]) at position p is rotated by the angle p θ_i,
    θ_i = base^(-2i/d) (the interleaved pairing of the RoFormer paper).
    ``positions`` (n,) defaults to 0 .. n-1. Applied to q and k, the score
    q_m · k_n then depends on the positions only through m - n.
    """
    x, cos, sin = _rotary_parts(x, positions, base, "rotary_embedding")
    return _rotate(x, cos, sin)


def rotary_embedding_vjp(x, positions=None, base: float = 10000.0):
    """RoPE and its VJP: a rotation's transpose rotates by -angle, dx = R(-pθ) dy."""
    x, cos, sin = _rotary_parts(x, positions, base, "rotary_embedding")
    y = _rotate(x, cos, sin)
    def vjp(dy):
        return (_rotate(check_dout(dy, y.shape, "rotary_embedding"), cos, -sin),)
    return y, vjp
