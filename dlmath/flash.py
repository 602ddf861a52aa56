"""Attention without the n x n matrix: the online softmax and tiled attention.

FlashAttention's idea (Chapter 13, notebook 4) in numpy. The softmax of a row
is computed in one pass over blocks of the row with a running maximum ``m``
and a running sum ``l`` that is rescaled whenever the maximum grows,
eq. (eq-flash-update); attention then only ever holds one (block_q, block_k)
tile of scores.

- ``online_softmax_stats(x, block_size)``: (m, l) of the rows of x, block by block.
- ``tiled_attention(q, k, v, block_size)``: softmax(q kᵀ · scale) v and the
  row log-sum-exp, one tile of scores at a time.
- ``tiled_attention_vjp``: the same forward and a backward that recomputes
  each tile of scores from q, k and the saved log-sum-exp.
- ``merge_attention(y1, lse1, y2, lse2)``: attention over the union of two
  disjoint key sets from the two partial results (split-KV decoding).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ._validate import as_float_array

__all__ = ["online_softmax_stats", "tiled_attention", "tiled_attention_vjp",
           "merge_attention"]


def _block(block_size, fn: str, name: str = "block_size") -> int:
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)):
        raise TypeError(f"{fn}: {name} must be an int, got {type(block_size).__name__}")
    if block_size <= 0:
        raise ValueError(f"{fn}: {name} must be a positive int, got {block_size}")
    return int(block_size)


def online_softmax_stats(x, block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Row maximum m and row sum l = Σ_j exp(x_j - m) of x (..., n), block by block.

    One pass over the blocks x[..., b:b+B]: m' = max(m, max_j x_j),
    l' = l exp(m - m') + Σ_j exp(x_j - m'), eq. (eq-flash-update). Rows that are
    all -inf give m = -inf, l = 0.
    """
    fn = "online_softmax_stats"
    x = as_float_array(x, fn, "x")
    if x.ndim < 1:
        raise ValueError(f"{fn}: x must have at least 1 dim, got a scalar")
    B = _block(block_size, fn)
    m = np.full(x.shape[:-1], -np.inf, dtype=x.dtype)
    l = np.zeros(x.shape[:-1], dtype=x.dtype)
    for b in range(0, x.shape[-1], B):
        xb = x[..., b:b + B]
        m_new = np.maximum(m, xb.max(axis=-1))
        safe = np.where(np.isfinite(m_new), m_new, 0.0)     # all -inf so far
        l = l * np.exp(m - safe) + np.exp(xb - safe[..., None]).sum(axis=-1)
        m = m_new
    return m, l


def _check(q, k, v, block_size, block_q, is_causal, scale, fn):
    q = as_float_array(q, fn, "query")
    k = as_float_array(k, fn, "key")
    v = as_float_array(v, fn, "value")
    for name, a in (("query", q), ("key", k), ("value", v)):
        if a.ndim < 2:
            raise ValueError(f"{fn}: {name} must be (..., seq, dim), got shape "
                             f"{a.shape}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"{fn}: query and key must have the same head dimension, "
                         f"got query {q.shape} and key {k.shape}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{fn}: key and value must have the same length, got key "
                         f"{k.shape} and value {v.shape}")
    if not (q.shape[:-2] == k.shape[:-2] == v.shape[:-2]):
        raise ValueError(f"{fn}: query {q.shape}, key {k.shape} and value {v.shape} "
                         "must have the same leading (batch, head) dims")
    if not isinstance(is_causal, (bool, np.bool_)):
        raise TypeError(f"{fn}: is_causal must be a bool, got "
                        f"{type(is_causal).__name__}")
    Bk = _block(block_size, fn)
    Bq = Bk if block_q is None else _block(block_q, fn, "block_q")
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    elif isinstance(scale, bool) or not isinstance(scale, (int, float, np.number)):
        raise TypeError(f"{fn}: scale must be a number or None, got "
                        f"{type(scale).__name__}")
    dtype = np.result_type(q, k, v)
    return (q.astype(dtype, copy=False), k.astype(dtype, copy=False),
            v.astype(dtype, copy=False), Bk, Bq, float(scale))


def _tiles(L: int, S: int, Bq: int, Bk: int, is_causal: bool):
    """(query slice, key slice, causal-mask-or-None) for every tile that is not
    entirely masked. The causal mask is torch's: query i sees keys j <= i."""
    for i0 in range(0, L, Bq):
        i1 = min(i0 + Bq, L)
        for j0 in range(0, S, Bk):
            j1 = min(j0 + Bk, S)
            if is_causal and j0 > i1 - 1:
                break                                    # the rest is masked out
            mask = None
            if is_causal and j1 - 1 > i0:                # the tile crosses the diagonal
                mask = np.arange(j0, j1)[None, :] <= np.arange(i0, i1)[:, None]
            yield slice(i0, i1), slice(j0, j1), mask


def _forward(q, k, v, Bk, Bq, is_causal, scale):
    L, S = q.shape[-2], k.shape[-2]
    lead = q.shape[:-2]
    y = np.zeros(lead + (L, v.shape[-1]), dtype=q.dtype)
    m = np.full(lead + (L,), -np.inf, dtype=q.dtype)
    l = np.zeros(lead + (L,), dtype=q.dtype)
    for I, J, mask in _tiles(L, S, Bq, Bk, is_causal):
        s = (q[..., I, :] @ np.swapaxes(k[..., J, :], -1, -2)) * scale   # one tile
        if mask is not None:
            s = np.where(mask, s, -np.inf)
        m_new = np.maximum(m[..., I], s.max(axis=-1))
        safe = np.where(np.isfinite(m_new), m_new, 0.0)
        alpha = np.exp(m[..., I] - safe)                 # rescales the old sums
        p = np.exp(s - safe[..., None])
        l[..., I] = alpha * l[..., I] + p.sum(axis=-1)
        y[..., I, :] = alpha[..., None] * y[..., I, :] + p @ v[..., J, :]
        m[..., I] = m_new
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(l[..., None] > 0, y / l[..., None], 0.0)   # empty row -> 0
        lse = m + np.log(l)
    return out.astype(q.dtype, copy=False), lse


def tiled_attention(q, k, v, block_size: int = 64, *, block_q: int | None = None,
                    is_causal: bool = False, scale: float | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """softmax(q kᵀ · scale) v computed tile by tile, eq. (eq-flash-tile).

    q: (..., L, E), k: (..., S, E), v: (..., S, Ev), the same leading dims.
    Scores are formed one (block_q, block_size) tile at a time (block_q
    defaults to block_size); the running max and sum of each query row are
    rescaled as in ``online_softmax_stats``. ``is_causal`` is torch's mask
    (query i attends keys j <= i). Returns y (..., L, Ev) and the row
    log-sum-exp lse (..., L) of the scaled scores, which the backward reuses.
    """
    q, k, v, Bk, Bq, scale = _check(q, k, v, block_size, block_q, is_causal, scale,
                                    "tiled_attention")
    return _forward(q, k, v, Bk, Bq, bool(is_causal), scale)


def tiled_attention_vjp(q, k, v, block_size: int = 64, *, block_q: int | None = None,
                        is_causal: bool = False, scale: float | None = None
                        ) -> tuple[np.ndarray, Callable]:
    """``tiled_attention``'s output y and a VJP ``dy -> (dq, dk, dv)``.

    The backward never stores the weights P: for each tile it recomputes
    s = q kᵀ · scale and P = exp(s - lse) from the saved row log-sum-exp,
    then (eq-flash-bwd) dv += Pᵀ dy, dP = dy vᵀ, ds = P ⊙ (dP - D) with
    D = rowsum(dy ⊙ y), dq += scale · ds k, dk += scale · dsᵀ q.
    """
    q, k, v, Bk, Bq, scale = _check(q, k, v, block_size, block_q, is_causal, scale,
                                    "tiled_attention_vjp")
    causal = bool(is_causal)
    y, lse = _forward(q, k, v, Bk, Bq, causal, scale)

    def vjp(dy):
        dy = as_float_array(dy, "tiled_attention_vjp", "dy")
        if dy.shape != y.shape:
            raise ValueError(f"tiled_attention_vjp: dy must have the output's shape "
                             f"{y.shape}, got {dy.shape}")
        D = (dy * y).sum(axis=-1)                         # (..., L)
        dq, dk, dv = np.zeros_like(q), np.zeros_like(k), np.zeros_like(v)
        for I, J, mask in _tiles(q.shape[-2], k.shape[-2], Bq, Bk, causal):
            s = (q[..., I, :] @ np.swapaxes(k[..., J, :], -1, -2)) * scale
            with np.errstate(invalid="ignore"):
                P = np.exp(s - lse[..., I, None])         # recomputed, not stored
            if mask is not None:
                P = np.where(mask, P, 0.0)
            P = np.where(np.isfinite(lse[..., I, None]), P, 0.0)
            dv[..., J, :] += np.swapaxes(P, -1, -2) @ dy[..., I, :]
            dP = dy[..., I, :] @ np.swapaxes(v[..., J, :], -1, -2)
            ds = P * (dP - D[..., I, None])
            dq[..., I, :] += scale * (ds @ k[..., J, :])
            dk[..., J, :] += scale * (np.swapaxes(ds, -1, -2) @ q[..., I, :])
        return dq, dk, dv

    return y, vjp


def merge_attention(y1, lse1, y2, lse2) -> tuple[np.ndarray, np.ndarray]:
    """Attention over keys K1 ∪ K2 from the results over K1 and over K2.

    y_i: (..., L, Ev), lse_i: (..., L). With m = max(lse1, lse2) and
    w_i = exp(lse_i - m): y = (w1 y1 + w2 y2) / (w1 + w2), lse = m + log(w1 + w2).
    """
    fn = "merge_attention"
    y1, y2 = as_float_array(y1, fn, "y1"), as_float_array(y2, fn, "y2")
    lse1, lse2 = as_float_array(lse1, fn, "lse1"), as_float_array(lse2, fn, "lse2")
    if y1.shape != y2.shape or lse1.shape != lse2.shape \
            or y1.shape[:-1] != lse1.shape:
        raise ValueError(f"{fn}: y1, y2 must be (..., L, Ev) and lse1, lse2 (..., L), "
                         f"got {y1.shape}, {y2.shape}, {lse1.shape}, {lse2.shape}")
    m = np.maximum(lse1, lse2)
    w1, w2 = np.exp(lse1 - m), np.exp(lse2 - m)
    return ((w1[..., None] * y1 + w2[..., None] * y2) / (w1 + w2)[..., None],
            m + np.log(w1 + w2))

