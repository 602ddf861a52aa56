"""Attention layers (Chapter 9): ``MultiheadAttention`` and ``TransformerEncoderLayer``.

Both mirror their ``torch.nn`` twins built with ``batch_first=True``: the same
parameter names (``in_proj_weight``, ``out_proj.weight``, ``self_attn.*``,
``linear1.*``, ``norm1.*`` ...), the same mask conventions, the same outputs.

Checking against torch: in ``eval()`` mode with gradients off, torch takes a
fused "fast path" for both modules (``torch._native_multi_head_attention`` /
``torch._transformer_encoder_layer_fwd``). It computes the same function with a
different order of floating-point operations and only runs without autograd.
Our checks run torch in training mode with ``dropout=0.0`` (and with inputs
that require gradients), where torch uses the plain composition of
projections, softmax and matmuls: the same math, differentiable, comparable.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .._validate import check_int, check_positive
from ..functional.attention import _attention
from .activation import GELU, ReLU
from .dropout import Dropout
from .linear import Linear
from .module import Module, _check_like
from .norm import LayerNorm

__all__ = ["MultiheadAttention", "TransformerEncoderLayer"]


def _mask_bias(mask, shapes: list, name: str, fn: str, dtype) -> np.ndarray:
    """torch.nn.MultiheadAttention's mask convention as an additive bias.

    bool: True = *not* allowed (the opposite of ``scaled_dot_product_attention``),
    becomes -inf; float: added to the scores as is.
    """
    if type(mask).__module__.startswith("torch"):
        raise TypeError(f"{fn}: {name} must be a numpy array, got a torch.Tensor")
    m = np.asarray(mask)
    if m.dtype != bool and m.dtype.kind != "f":
        raise TypeError(f"{fn}: {name} must be bool (True = masked out) or float "
                        f"(added to the scores), got dtype {m.dtype}")
    if m.shape not in shapes:
        want = " or ".join(str(s) for s in shapes)
        raise ValueError(f"{fn}: {name} must have shape {want}, got {m.shape}")
    if m.dtype == bool:
        return np.where(m, -np.inf, 0.0).astype(dtype)
    return m.astype(dtype)


class MultiheadAttention(Module):
    """Multi-head attention, eq. (eq-mha) of Chapter 9, like torch's (batch_first=True).

    Params: ``in_proj_weight`` (3E, E) = [W_q; W_k; W_v], ``in_proj_bias`` (3E,),
    and the child ``out_proj`` (a ``Linear(E, E)``). Each of the H heads
    attends in its own d_h = E/H dimensional slice of the projections::

        Q = query W_qᵀ + b_q,  K = key W_kᵀ + b_k,  V = value W_vᵀ + b_v   (N, ·, E)
        head h: Y_h = softmax(Q_h K_hᵀ / √d_h + M) V_h                     (N, L, d_h)
        output = concat_h(Y_h) W_oᵀ + b_o                                  (N, L, E)

    ``forward(query, key, value, key_padding_mask=None, attn_mask=None,
    need_weights=True, average_attn_weights=True)``: query (N, L, E), key and
    value (N, S, E); ``key_padding_mask`` (N, S) and ``attn_mask`` (L, S) or
    (N·H, L, S), bool (True = *not* attended, torch's convention for this
    module) or float (added). Returns ``(output, weights)``; weights are
    (N, L, S) averaged over heads, (N, H, L, S) per head, or None.
    ``backward((dout, dweights))`` (``dweights`` may be None) returns
    ``(dquery, dkey, dvalue)``.

    A query whose every key is masked gets weights 0 and output ``b_o``
    (``scaled_dot_product_attention``'s convention); torch's module returns
    NaN there when ``need_weights=True`` and 0 + ``b_o`` when it is False.
    Only dropout 0 and kdim = vdim = embed_dim are supported.
    """

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True, rng=None):
        super().__init__()
        fn = "MultiheadAttention"
        E = self.embed_dim = check_int(embed_dim, fn, "embed_dim", minimum=1)
        H = self.num_heads = check_int(num_heads, fn, "num_heads", minimum=1)
        if E % H:
            raise ValueError(f"{fn}: embed_dim must be divisible by num_heads, got "
                             f"embed_dim={E} and num_heads={H}")
        self.head_dim = E // H
        g = rng if rng is not None else _default_rng()
        a = np.sqrt(6.0 / (E + 3 * E))               # torch: xavier_uniform_ on (3E, E)
        self._params["in_proj_weight"] = g.uniform(-a, a, (3 * E, E))
        if bias:
            self._params["in_proj_bias"] = np.zeros(3 * E)
        out = self.add_module("out_proj", Linear(E, E, bias=bias, rng=rng))
        if bias:
            out._params["bias"][:] = 0.0

    @classmethod
    def from_torch(cls, module) -> "MultiheadAttention":
        fn = "MultiheadAttention.from_torch"
        if not module.batch_first:
            raise ValueError(f"{fn}: build the torch module with batch_first=True")
        if not module._qkv_same_embed_dim or module.bias_k is not None \
                or module.add_zero_attn:
            raise ValueError(f"{fn}: only kdim = vdim = embed_dim, no add_bias_kv "
                             f"and no add_zero_attn are supported")
        if module.dropout:
            raise ValueError(f"{fn}: only dropout=0.0 is supported, "
                             f"got {module.dropout}")
        layer = cls(module.embed_dim, module.num_heads,
                    bias=module.in_proj_bias is not None)
        return layer._load_torch(module)

    def _split(self, x):                             # (N, L, E) -> (N, H, L, d_h)
        N, L, _ = x.shape
        return x.reshape(N, L, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)

    def _merge(self, y):                             # (N, H, L, d_h) -> (N, L, E)
        N, H, L, d = y.shape
        return y.transpose(0, 2, 1, 3).reshape(N, L, H * d)

    def forward(self, query, key, value, key_padding_mask=None, attn_mask=None,
                need_weights: bool = True, average_attn_weights: bool = True):
        fn, E, H = self._name, self.embed_dim, self.num_heads
        q_in = self._input(query, "query", ndim=3, layout="(N, L, E)")
        k_in = self._input(key, "key", ndim=3, layout="(N, S, E)")
        v_in = self._input(value, "value", ndim=3, layout="(N, S, E)")
        for name, x in (("query", q_in), ("key", k_in), ("value", v_in)):
            if x.shape[-1] != E:
                raise ValueError(f"{fn}: {name} must have embed_dim={E} features, got "
                                 f"shape {x.shape}")
        N, L, S = q_in.shape[0], q_in.shape[1], k_in.shape[1]
        if k_in.shape[0] != N or v_in.shape[:2] != k_in.shape[:2]:
            raise ValueError(f"{fn}: query (N, L, E), key and value (N, S, E) must "
                             f"agree, got {q_in.shape}, {k_in.shape}, {v_in.shape}")
        dtype = np.result_type(q_in, k_in, v_in)
        bias = np.zeros((1, 1, 1, 1), dtype=dtype)
        if key_padding_mask is not None:
            bias = bias + _mask_bias(key_padding_mask, [(N, S)], "key_padding_mask", fn,
                                     dtype)[:, None, None, :]
        if attn_mask is not None:
            m = _mask_bias(attn_mask, [(L, S), (N * H, L, S)], "attn_mask", fn, dtype)
            bias = bias + (m if m.ndim == 2 else m.reshape(N, H, L, S))
        mask = None if key_padding_mask is None and attn_mask is None else bias

        W, b = self._params["in_proj_weight"], self._params.get("in_proj_bias")
        Wq, Wk, Wv = W[:E], W[E:2 * E], W[2 * E:]
        bq, bk, bv = (None,) * 3 if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        # eq. (eq-mha): the three projections, attention per head, merge, project
        Q, q_vjp = F.linear_vjp(q_in, Wq, bq)
        K, k_vjp = F.linear_vjp(k_in, Wk, bk)
        V, v_vjp = F.linear_vjp(v_in, Wv, bv)
        Y, P, attn_backward = _attention(self._split(Q), self._split(K), self._split(V),
                                         mask, dtype.type(1.0 / np.sqrt(self.head_dim)))
        out = self._children["out_proj"].forward(self._merge(Y))
        weights = None
        if need_weights:
            weights = P.mean(axis=1) if average_attn_weights else P

        def backward(douts):
            dout, dweights = douts
            dY = self._split(self._children["out_proj"].backward(dout))
            dP = None
            if dweights is not None and need_weights:
                dP = (np.broadcast_to(dweights[:, None] / H, P.shape)
                      if average_attn_weights else dweights)
            dQ, dK, dV = (self._merge(g) for g in attn_backward(dY, dP))
            (dq, dWq, dbq), (dk, dWk, dbk) = q_vjp(dQ), k_vjp(dK)
            dv, dWv, dbv = v_vjp(dV)
            grads = {"in_proj_weight": np.concatenate([dWq, dWk, dWv])}
            if b is not None:
                grads["in_proj_bias"] = np.concatenate([dbq, dbk, dbv])
            return (dq, dk, dv), grads
        return self._save((out, weights), backward)

    def backward(self, dout):
        shapes, vjp = self._pop_ctx()
        if not isinstance(dout, tuple):          # a bare array: the output's gradient
            dout = (dout, None)
        if len(dout) != 2:
            raise ValueError(f"{self._name}.backward: dout must be "
                             f"(doutput, dweights), got a tuple of {len(dout)}")
        dy = _check_like(dout[0], shapes[0], self._name)
        dw = None if dout[1] is None else _check_like(dout[1], shapes[1], self._name)
        dinputs, dparams = vjp((dy, dw))
        self._grads.update(dparams)
        return dinputs

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"


class TransformerEncoderLayer(Module):
    """A transformer block, eqs. (eq-postnorm)/(eq-prenorm) of Chapter 9, like
    ``torch.nn.TransformerEncoderLayer`` with ``batch_first=True``.

    Children (torch's names): ``self_attn`` (``MultiheadAttention``), ``linear1``
    (E → dim_feedforward), ``linear2`` (back to E), ``norm1``, ``norm2``
    (``LayerNorm``), ``dropout``, ``dropout1``, ``dropout2`` and ``activation``
    (``ReLU`` or ``GELU``)::

        post-norm (norm_first=False):  x = norm1(x + SA(x));  x = norm2(x + FF(x))
        pre-norm  (norm_first=True):   x = x + SA(norm1(x));  x = x + FF(norm2(x))
        SA(x) = self_attn(x, x, x)[0],  FF(x) = linear2(activation(linear1(x)))

    ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)``
    with torch's mask conventions (bool True = masked out); ``is_causal=True``
    without ``src_mask`` applies the causal mask. ``backward(dout)`` returns dsrc.
    Dropout draws its own masks (``dlmath.rng``), so parity with torch needs
    ``dropout=0.0``.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str = "relu",
                 layer_norm_eps: float = 1e-5, norm_first: bool = False,
                 bias: bool = True, rng=None):
        super().__init__()
        fn = "TransformerEncoderLayer"
        d = check_int(d_model, fn, "d_model", minimum=1)
        f = check_int(dim_feedforward, fn, "dim_feedforward", minimum=1)
        if activation not in ("relu", "gelu"):
            raise ValueError(f"{fn}: activation must be 'relu' or 'gelu', "
                             f"got {activation!r}")
        self.norm_first, self.activation_name = bool(norm_first), activation
        eps = check_positive(layer_norm_eps, fn, "layer_norm_eps")
        self.add_module("self_attn", MultiheadAttention(d, nhead, bias=bias, rng=rng))
        self.add_module("linear1", Linear(d, f, bias=bias, rng=rng))
        self.add_module("dropout", Dropout(dropout))
        self.add_module("linear2", Linear(f, d, bias=bias, rng=rng))
        self.add_module("norm1", LayerNorm(d, eps, bias=bias))
        self.add_module("norm2", LayerNorm(d, eps, bias=bias))
        self.add_module("dropout1", Dropout(dropout))
        self.add_module("dropout2", Dropout(dropout))
        self.add_module("activation", ReLU() if activation == "relu" else GELU())

    @classmethod
    def from_torch(cls, module) -> "TransformerEncoderLayer":
        fn = "TransformerEncoderLayer.from_torch"
        if not module.self_attn.batch_first:
            raise ValueError(f"{fn}: build the torch module with batch_first=True")
        act = {1: "relu", 2: "gelu"}.get(getattr(module, "activation_relu_or_gelu", 0))
        if act is None:
            raise ValueError(f"{fn}: only the 'relu' and 'gelu' activations are "
                             f"supported, got {module.activation}")
        sa = module.self_attn
        layer = cls(sa.embed_dim, sa.num_heads, module.linear1.out_features,
                    module.dropout.p, act, module.norm1.eps, module.norm_first,
                    bias=module.linear1.bias is not None)
        return layer._load_torch(module)

    def _ff(self, x):
        c = self._children
        h = c["dropout"](c["activation"](c["linear1"](x)))
        return c["dropout2"](c["linear2"](h))

    def _ff_backward(self, d):
        c = self._children
        for name in ("dropout2", "linear2", "dropout", "activation", "linear1"):
            d = c[name].backward(d)
        return d

    def _sa(self, x, mask, kpm):
        out, _ = self._children["self_attn"](x, x, x, key_padding_mask=kpm,
                                             attn_mask=mask, need_weights=False)
        return self._children["dropout1"](out)

    def _sa_backward(self, d):
        d = self._children["dropout1"].backward(d)
        dq, dk, dv = self._children["self_attn"].backward((d, None))
        return dq + dk + dv                          # x feeds query, key and value

    def forward(self, src, src_mask=None, src_key_padding_mask=None,
                is_causal: bool = False):
        x = self._input(src, "src", ndim=3, layout="(N, L, E)")
        if is_causal and src_mask is None:
            src_mask = ~F.causal_mask(x.shape[1])    # torch's bool: True = masked
        c = self._children
        if self.norm_first:                          # pre-norm, eq. (eq-prenorm)
            x = x + self._sa(c["norm1"](x), src_mask, src_key_padding_mask)
            y = x + self._ff(c["norm2"](x))
        else:                                        # post-norm, eq. (eq-postnorm)
            x = c["norm1"](x + self._sa(x, src_mask, src_key_padding_mask))
            y = c["norm2"](x + self._ff(x))

        def backward(dy):                            # the chain rule, right to left
            if self.norm_first:
                dx = dy + c["norm2"].backward(self._ff_backward(dy))
                return (dx + c["norm1"].backward(self._sa_backward(dx)),), {}
            dx = c["norm2"].backward(dy)
            dx = dx + self._ff_backward(dx)
            dx = c["norm1"].backward(dx)
            return (dx + self._sa_backward(dx),), {}
        return self._save(y, backward)

    def extra_repr(self) -> str:
        return f"norm_first={self.norm_first}, activation={self.activation_name!r}"


def _default_rng():
    from .._random import rng
    return rng
