"""Autoregressive decoding with a key/value cache (Chapter 13, notebook 4).

``TinyGPT`` is Chapter 9's character model (pre-norm
``torch.nn.TransformerEncoderLayer`` blocks with GELU and a causal mask).
``GPTDecoder`` runs the same network in numpy, in float64, from the torch
model's weights: ``logits(idx)`` recomputes the whole prefix (the causal
forward), ``step(token)`` processes one new token and attends over the keys
and values it cached for the earlier ones, eq. (eq-kv-step).

``kv_cache_bytes`` is the cache's size, eq. (eq-kv-bytes), for multi-head,
grouped-query and multi-query attention.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ._validate import check_int

__all__ = ["TinyGPT", "GPTDecoder", "kv_cache_bytes"]


class TinyGPT(torch.nn.Module):
    """Chapter 9's causal transformer: token + learned position embeddings,
    ``layers`` pre-norm blocks, a final LayerNorm and a linear head."""

    def __init__(self, vocab: int, context: int, width: int, heads: int,
                 layers: int):
        super().__init__()
        self.tok = torch.nn.Embedding(vocab, width)
        self.pos = torch.nn.Embedding(context, width)
        self.blocks = torch.nn.ModuleList(
            torch.nn.TransformerEncoderLayer(width, heads, 4 * width, dropout=0.0,
                                             activation="gelu", batch_first=True,
                                             norm_first=True)
            for _ in range(layers))
        self.norm = torch.nn.LayerNorm(width)
        self.head = torch.nn.Linear(width, vocab)
        self.register_buffer("mask", torch.triu(
            torch.ones(context, context, dtype=torch.bool), 1))

    def forward(self, idx):                        # idx (N, n) -> logits (N, n, V)
        n = idx.shape[1]
        h = self.tok(idx) + self.pos(torch.arange(n, device=idx.device))
        for block in self.blocks:
            h = block(h, src_mask=self.mask[:n, :n])
        return self.head(self.norm(h))


def _np(t) -> np.ndarray:
    return t.detach().cpu().double().numpy().copy()


def _layer_norm(x, w, b, eps):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def _gelu(x):
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def _softmax(s):
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    return p / p.sum(axis=-1, keepdims=True)


class GPTDecoder:
    """``TinyGPT``'s forward in numpy (float64), with and without a KV cache."""

    def __init__(self, model):
        self.tok, self.pos = _np(model.tok.weight), _np(model.pos.weight)
        self.context, self.width = self.pos.shape
        self.heads = model.blocks[0].self_attn.num_heads
        self.d = self.width // self.heads
        self.blocks = []
        for b in model.blocks:
            a = b.self_attn
            self.blocks.append({
                "Win": _np(a.in_proj_weight), "bin": _np(a.in_proj_bias),
                "Wo": _np(a.out_proj.weight), "bo": _np(a.out_proj.bias),
                "n1": (_np(b.norm1.weight), _np(b.norm1.bias), b.norm1.eps),
                "n2": (_np(b.norm2.weight), _np(b.norm2.bias), b.norm2.eps),
                "W1": _np(b.linear1.weight), "b1": _np(b.linear1.bias),
                "W2": _np(b.linear2.weight), "b2": _np(b.linear2.bias)})
        self.norm = (_np(model.norm.weight), _np(model.norm.bias), model.norm.eps)
        self.Wh, self.bh = _np(model.head.weight), _np(model.head.bias)
        self.reset()

    # the cache: keys and values of every block, (layers, heads, context, d)
    def reset(self) -> None:
        """Empty the cache (a new sequence starts at position 0)."""
        shape = (len(self.blocks), self.heads, self.context, self.d)
        self.K, self.V = np.zeros(shape), np.zeros(shape)
        self.n = 0

    def _ff(self, blk, h):
        a = _layer_norm(h, *blk["n2"])
        return h + _gelu(a @ blk["W1"].T + blk["b1"]) @ blk["W2"].T + blk["b2"]

    def _head(self, h):
        return _layer_norm(h, *self.norm) @ self.Wh.T + self.bh

    def _tokens(self, idx) -> np.ndarray:
        idx = np.asarray(idx)
        if idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise ValueError(f"GPTDecoder: idx must be a 1-D array of token ids, got "
                             f"shape {idx.shape} and dtype {idx.dtype}")
        if idx.size and (idx.min() < 0 or idx.max() >= len(self.tok)):
            raise ValueError(f"GPTDecoder: token ids must be in [0, {len(self.tok)})")
        return idx

    def logits(self, idx) -> np.ndarray:
        """Logits (n, V) of a prefix of n tokens, recomputed from scratch."""
        idx = self._tokens(idx)
        n = len(idx)
        if not 1 <= n <= self.context:
            raise ValueError(f"GPTDecoder.logits: need 1 to {self.context} tokens, "
                             f"got {n}")
        h = self.tok[idx] + self.pos[:n]
        causal = np.tril(np.ones((n, n), dtype=bool))
        for blk in self.blocks:
            a = _layer_norm(h, *blk["n1"])
            q, k, v = np.split(a @ blk["Win"].T + blk["bin"], 3, axis=-1)
            q, k, v = (t.reshape(n, self.heads, self.d).transpose(1, 0, 2)
                       for t in (q, k, v))                     # (H, n, d)
            s = np.where(causal, q @ k.transpose(0, 2, 1) / math.sqrt(self.d), -np.inf)
            o = (_softmax(s) @ v).transpose(1, 0, 2).reshape(n, self.width)
            h = self._ff(blk, h + o @ blk["Wo"].T + blk["bo"])
        return self._head(h)

    def step(self, token: int) -> np.ndarray:
        """Logits (V,) of the next position after ``token``, using the cache.

        Only the new token's query, key and value are computed; its key and
        value are appended, and its query attends over the n cached keys.
        """
        token = int(self._tokens(np.array([token]))[0])
        t = self.n
        if t >= self.context:
            raise ValueError(f"GPTDecoder.step: the context of {self.context} "
                             "positions is full; reset() the cache")
        h = self.tok[token] + self.pos[t]                      # (D,)
        for i, blk in enumerate(self.blocks):
            a = _layer_norm(h, *blk["n1"])
            q, k, v = np.split(a @ blk["Win"].T + blk["bin"], 3)
            self.K[i, :, t] = k.reshape(self.heads, self.d)
            self.V[i, :, t] = v.reshape(self.heads, self.d)
            q = q.reshape(self.heads, 1, self.d)
            s = q @ self.K[i, :, :t + 1].transpose(0, 2, 1) / math.sqrt(self.d)
            o = (_softmax(s) @ self.V[i, :, :t + 1]).reshape(self.width)
            h = self._ff(blk, h + o @ blk["Wo"].T + blk["bo"])
        self.n = t + 1
        return self._head(h)

    def cache_bytes(self) -> int:
        """Bytes of the cache actually filled: keys and values of n positions."""
        return int(self.K[:, :, :self.n].nbytes + self.V[:, :, :self.n].nbytes)


def kv_cache_bytes(n: int, layers: int, kv_heads: int, d_head: int,
                   bytes_per_value: int = 2, batch: int = 1) -> int:
    """Bytes of a KV cache, eq. (eq-kv-bytes): 2 N L n H_kv d_head b.

    Multi-head attention has H_kv = H; grouped-query attention shares each
    key/value head among H / H_kv query heads; multi-query has H_kv = 1.
    """
    fn = "kv_cache_bytes"
    vals = [check_int(x, fn, nm, minimum=1) for x, nm in
            ((n, "n"), (layers, "layers"), (kv_heads, "kv_heads"), (d_head, "d_head"),
             (bytes_per_value, "bytes_per_value"), (batch, "batch"))]
    return 2 * math.prod(vals)
