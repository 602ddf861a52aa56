"""Attention layers (Chapter 9): ``MultiheadAttention``, the transformer layers.

``MultiheadAttention``, ``TransformerEncoderLayer`` and
``TransformerDecoderLayer`` mirror their ``torch.nn`` twins: the same parameter
names (``in_proj_weight``, ``out_proj.weight``, ``self_attn.*``, ``linear1.*``,
``norm1.*`` ...), the same mask conventions, the same outputs, and torch's
options (``batch_first``, whose dlmath default stays True, the chapters'
layout; unbatched input; ``kdim``/``vdim``, ``add_bias_kv``, ``add_zero_attn``,
attention dropout), keyword-only where the chapters' positional order differs
from torch's.

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

__all__ = ["MultiheadAttention", "TransformerEncoderLayer",
           "TransformerDecoderLayer"]


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
    """Multi-head attention, eq-mha of Chapter 9, like torch's.

    Params: ``in_proj_weight`` (3E, E) = [W_q; W_k; W_v] (or, with ``kdim`` /
    ``vdim`` ≠ E, ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim),
    ``v_proj_weight`` (E, vdim)), ``in_proj_bias`` (3E,), and the child
    ``out_proj`` (a ``Linear(E, E)``). Each of the H heads attends in its own
    d_h = E/H dimensional slice of the projections::

        Q = query W_qᵀ + b_q,  K = key W_kᵀ + b_k,  V = value W_vᵀ + b_v   (N, ·, E)
        head h: Y_h = softmax(Q_h K_hᵀ / √d_h + M) V_h                     (N, L, d_h)
        output = concat_h(Y_h) W_oᵀ + b_o                                  (N, L, E)

    Options, as in torch (keyword-only here: the positional order
    ``(embed_dim, num_heads, bias, rng)`` is kept from Chapter 9):

    - ``add_bias_kv``: learned rows ``bias_k``, ``bias_v`` (1, 1, E) appended
      to K and V after the projection, so every query can also attend to one
      extra, input-independent key (S → S + 1; the masks get a column of
      "allowed"). Its gradient is the sum over the batch of that column's.
    - ``add_zero_attn``: a zero key and value appended per head after the
      split (another S + 1): a key of score 0 whose value is 0, a "no-op"
      place to put attention. No parameters; its gradient is dropped.
    - ``dropout``: in training, the weights are P ⊙ m/(1 - p) (``forward(...,
      dropout_mask=m)`` gives m, else it is drawn from ``dlmath.rng``); the
      returned weights are the dropped ones, as torch's.
    - ``batch_first`` (dlmath's default True; torch's False reads (L, N, E)),
      and unbatched 2-d input (L, E) with masks (S,) and (L, S) or (H, L, S).

    ``forward(query, key, value, key_padding_mask=None, attn_mask=None,
    need_weights=True, average_attn_weights=True, is_causal=False, *,
    dropout_mask=None)``: ``key_padding_mask`` (N, S) and ``attn_mask`` (L, S)
    or (N·H, L, S), bool (True = *not* attended, torch's convention for this
    module) or float (added). ``is_causal`` is torch's hint that attn_mask is
    causal: it needs the mask (torch raises without one). Returns
    ``(output, weights)``; weights are (N, L, S') averaged over heads,
    (N, H, L, S') per head, or None (S' = S plus the extra columns).
    ``backward(dout)`` or ``backward((dout, dweights))`` (``dweights`` may be
    None) returns ``(dquery, dkey, dvalue)``.

    A query whose every key is masked (no softmax: 0/0) gets torch's answer
    in each path: with ``need_weights=True`` torch's module takes the explicit
    softmax, so that query's weights and output are NaN, and NaN reaches the
    gradients of its head (see ``_nan_rows``); with ``need_weights=False``
    (and so in the transformer layers, which never ask for the weights) torch
    calls ``scaled_dot_product_attention``: weights 0, output ``b_o``, finite
    gradients. ``tests/test_conformance_masked_rows.py`` checks both against torch.
    """

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True, rng=None,
                 *, dropout: float = 0.0, add_bias_kv: bool = False,
                 add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = True):
        super().__init__()
        fn = "MultiheadAttention"
        E = self.embed_dim = check_int(embed_dim, fn, "embed_dim", minimum=1)
        H = self.num_heads = check_int(num_heads, fn, "num_heads", minimum=1)
        if E % H:
            raise ValueError(f"{fn}: embed_dim must be divisible by num_heads, got "
                             f"embed_dim={E} and num_heads={H}")
        self.kdim = E if kdim is None else check_int(kdim, fn, "kdim", minimum=1)
        self.vdim = E if vdim is None else check_int(vdim, fn, "vdim", minimum=1)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) \
                or not 0 <= dropout < 1:
            raise ValueError(f"{fn}: dropout must be a probability in [0, 1), "
                             f"got {dropout!r}")
        self.dropout, self.rng = float(dropout), rng
        self.batch_first = bool(batch_first)
        self.add_zero_attn = bool(add_zero_attn)
        self.head_dim = E // H
        self.same_dims = self.kdim == E and self.vdim == E
        g = rng if rng is not None else _default_rng()
        if self.same_dims:
            a = np.sqrt(6.0 / (E + 3 * E))           # torch: xavier_uniform_ on (3E, E)
            self._params["in_proj_weight"] = g.uniform(-a, a, (3 * E, E))
        else:
            for name, d in (("q", E), ("k", self.kdim), ("v", self.vdim)):
                a = np.sqrt(6.0 / (E + d))
                self._params[f"{name}_proj_weight"] = g.uniform(-a, a, (E, d))
        if bias:
            self._params["in_proj_bias"] = np.zeros(3 * E)
        if add_bias_kv:
            for name in ("bias_k", "bias_v"):
                self._params[name] = g.normal(0, np.sqrt(1.0 / E), (1, 1, E))
        out = self.add_module("out_proj", Linear(E, E, bias=bias, rng=rng))
        if bias:
            out._params["bias"][:] = 0.0
        self.dropout_mask = None

    @classmethod
    def from_torch(cls, module) -> "MultiheadAttention":
        layer = cls(module.embed_dim, module.num_heads,
                    bias=module.in_proj_bias is not None, dropout=float(module.dropout),
                    add_bias_kv=module.bias_k is not None,
                    add_zero_attn=bool(module.add_zero_attn), kdim=module.kdim,
                    vdim=module.vdim, batch_first=bool(module.batch_first))
        return layer._load_torch(module)

    def _split(self, x):                             # (N, L, E) -> (N, H, L, d_h)
        N, L, _ = x.shape
        return x.reshape(N, L, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)

    def _merge(self, y):                             # (N, H, L, d_h) -> (N, L, E)
        N, H, L, d = y.shape
        return y.transpose(0, 2, 1, 3).reshape(N, L, H * d)

    def _inputs(self, query, key, value):
        """(q, k, v) batch first (N, L, ·), and whether the input was unbatched."""
        fn, E = self._name, self.embed_dim
        lay = "(N, {}, {})" if self.batch_first else "({}, N, {})"
        q_in = self._input(query, "query", ndim=(2, 3), layout=lay.format("L", "E"))
        unbatched = q_in.ndim == 2
        like = "like query: ({}, {}) unbatched" if unbatched else "like query: " + lay
        k_in = self._input(key, "key", ndim=q_in.ndim,
                           layout=like.format("S", "kdim"))
        v_in = self._input(value, "value", ndim=q_in.ndim,
                           layout=like.format("S", "vdim"))
        xs = []
        for x in (q_in, k_in, v_in):
            if unbatched:
                x = x[None]
            elif not self.batch_first:
                x = x.transpose(1, 0, 2)
            xs.append(x)
        for name, x, d in zip(("query", "key", "value"), xs,
                              (E, self.kdim, self.vdim)):
            if x.shape[-1] != d:
                what = "embed_dim" if name == "query" or self.same_dims else \
                    name[0] + "dim"
                raise ValueError(f"{fn}: {name} must have {what}={d} features, got "
                                 f"shape {x.shape}")
        if xs[1].shape[0] != xs[0].shape[0] or xs[2].shape[:2] != xs[1].shape[:2]:
            raise ValueError(f"{fn}: query (N, L, E), key and value (N, S, ·) must "
                             f"agree, got {q_in.shape}, {k_in.shape}, {v_in.shape}")
        return xs, unbatched

    def forward(self, query, key, value, key_padding_mask=None, attn_mask=None,
                need_weights: bool = True, average_attn_weights: bool = True,
                is_causal: bool = False, *, dropout_mask=None):
        fn, E, H = self._name, self.embed_dim, self.num_heads
        (q_in, k_in, v_in), unbatched = self._inputs(query, key, value)
        if is_causal and attn_mask is None:
            raise ValueError(f"{fn}: is_causal=True is a hint that attn_mask is the "
                             f"causal mask: give attn_mask (torch needs it too)")
        N, L, S = q_in.shape[0], q_in.shape[1], k_in.shape[1]
        dtype = np.result_type(q_in, k_in, v_in)
        p = self._params
        has_bkv = "bias_k" in p
        extra = int(has_bkv) + int(self.add_zero_attn)
        S2 = S + extra
        bias = np.zeros((1, 1, 1, 1), dtype=dtype)
        if key_padding_mask is not None:
            shapes = [(S,)] if unbatched else [(N, S)]
            m = _mask_bias(key_padding_mask, shapes, "key_padding_mask", fn, dtype)
            m = np.pad(m.reshape(N, S), ((0, 0), (0, extra)))
            bias = bias + m[:, None, None, :]
        if attn_mask is not None:
            shapes = [(L, S), (H, L, S)] if unbatched else [(L, S), (N * H, L, S)]
            m = _mask_bias(attn_mask, shapes, "attn_mask", fn, dtype)
            m = np.pad(m, [(0, 0)] * (m.ndim - 1) + [(0, extra)])
            bias = bias + (m if m.ndim == 2 else m.reshape(N, H, L, S2))
        mask = None if key_padding_mask is None and attn_mask is None else bias

        if self.same_dims:
            W = p["in_proj_weight"]
            Wq, Wk, Wv = W[:E], W[E:2 * E], W[2 * E:]
        else:
            Wq, Wk, Wv = p["q_proj_weight"], p["k_proj_weight"], p["v_proj_weight"]
        b = p.get("in_proj_bias")
        bq, bk, bv = (None,) * 3 if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        # eq-mha: the three projections, attention per head, merge, project
        Q, q_vjp = F.linear_vjp(q_in, Wq, bq)
        K, k_vjp = F.linear_vjp(k_in, Wk, bk)
        V, v_vjp = F.linear_vjp(v_in, Wv, bv)
        if has_bkv:                                  # one learned key/value row more
            K = np.concatenate([K, np.broadcast_to(p["bias_k"], (N, 1, E))], axis=1)
            V = np.concatenate([V, np.broadcast_to(p["bias_v"], (N, 1, E))], axis=1)
        Kh, Vh = self._split(K), self._split(V)
        if self.add_zero_attn:                       # a zero key and value per head
            zero = np.zeros((N, H, 1, self.head_dim), dtype)
            Kh, Vh = np.concatenate([Kh, zero], 2), np.concatenate([Vh, zero], 2)
        drop = None
        self.dropout_mask = None
        if self.training and (self.dropout > 0 or dropout_mask is not None):
            if dropout_mask is None:
                g = self.rng or _default_rng()
                keep = g.random((N, H, L, S2)) >= self.dropout
            else:
                keep = np.asarray(dropout_mask).astype(bool)
                if unbatched and keep.shape == (H, L, S2):
                    keep = keep[None]
                if keep.shape != (N, H, L, S2):
                    raise ValueError(f"{fn}: dropout_mask must be (N, H, L, S') = "
                                     f"{(N, H, L, S2)}, got {keep.shape}")
            self.dropout_mask = keep
            drop = np.where(keep, 1.0 / (1.0 - self.dropout), 0.0).astype(dtype)
        Y, P, attn_backward = _attention(self._split(Q), Kh, Vh, mask,
                                         dtype.type(1.0 / np.sqrt(self.head_dim)),
                                         drop)
        if need_weights and mask is not None:    # torch's NaN rows (see _nan_rows)
            Y, P, attn_backward = _nan_rows(Y, P, attn_backward,
                                            F.fully_masked_rows(
                                                mask, (N, H, L, S2)))
        out = self._children["out_proj"].forward(self._merge(Y))
        weights = None
        if need_weights:
            weights = P.mean(axis=1) if average_attn_weights else P
            if unbatched:
                weights = weights[0]
        out_l = out[0] if unbatched else (out if self.batch_first
                                          else np.ascontiguousarray(out.transpose(1, 0,
                                                                                  2)))

        def backward(douts):
            dout, dweights = douts
            if unbatched:
                dout = dout[None]
                dweights = None if dweights is None else dweights[None]
            elif not self.batch_first:
                dout = dout.transpose(1, 0, 2)
            dY = self._split(self._children["out_proj"].backward(dout))
            dP = None
            if dweights is not None and need_weights:
                dP = (np.broadcast_to(dweights[:, None] / H, P.shape)
                      if average_attn_weights else dweights)
            dQh, dKh, dVh = attn_backward(dY, dP)
            if self.add_zero_attn:                   # the zero row has no parameters
                dKh, dVh = dKh[:, :, :-1], dVh[:, :, :-1]
            dQ, dK, dV = self._merge(dQh), self._merge(dKh), self._merge(dVh)
            grads = {}
            if has_bkv:
                grads["bias_k"] = dK[:, -1].sum(axis=0).reshape(1, 1, E)
                grads["bias_v"] = dV[:, -1].sum(axis=0).reshape(1, 1, E)
                dK, dV = dK[:, :-1], dV[:, :-1]
            (dq, dWq, dbq), (dk, dWk, dbk) = q_vjp(dQ), k_vjp(np.ascontiguousarray(dK))
            dv, dWv, dbv = v_vjp(np.ascontiguousarray(dV))
            if self.same_dims:
                grads["in_proj_weight"] = np.concatenate([dWq, dWk, dWv])
            else:
                grads.update(q_proj_weight=dWq, k_proj_weight=dWk, v_proj_weight=dWv)
            if b is not None:
                grads["in_proj_bias"] = np.concatenate([dbq, dbk, dbv])
            dxs = []
            for d in (dq, dk, dv):
                if unbatched:
                    d = d[0]
                elif not self.batch_first:
                    d = np.ascontiguousarray(d.transpose(1, 0, 2))
                dxs.append(d)
            return tuple(dxs), grads
        return self._save((out_l, weights), backward)

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


def _nan_rows(Y, P, attn_backward, dead):
    """torch's ``MultiheadAttention(need_weights=True)`` on fully masked rows.

    ``dead`` (N, H, L): query rows whose every key is masked. torch computes
    P = softmax(A) there as exp(-inf)/0 = NaN, so row i of P and of Y = P V is
    NaN. The NaN then spreads through the VJP exactly as the products say:
    dA = P ⊙ (dP - rowsum(dP ⊙ P)) is NaN on row i, so dQ = dA K is NaN on row
    i only, while dK = dAᵀ Q and dV = Pᵀ dY sum over every row, row i
    included: NaN for every key of that (batch, head). This function takes
    ``_attention``'s finite result (weights 0 on those rows) and writes those
    NaNs in, so every later product (the projections, the parameter
    gradients) spreads them as torch's does."""
    if dead is None or not dead.any():
        return Y, P, attn_backward
    Y, P = Y.copy(), P.copy()
    Y[dead], P[dead] = np.nan, np.nan
    slab = dead.any(axis=-1)                     # (N, H): a head with a NaN row

    def backward(dY, dP=None):
        dQ, dK, dV = attn_backward(dY, dP)
        dQ, dK, dV = dQ.copy(), dK.copy(), dV.copy()
        dQ[dead] = np.nan
        dK[slab], dV[slab] = np.nan, np.nan
        return dQ, dK, dV
    return Y, P, backward


def _torch_activation(module, fn: str) -> str:
    """'relu', 'gelu' or 'gelu_tanh' from a torch layer's ``activation``; anything
    else is refused by name."""
    import torch
    act = module.activation
    if act is torch.nn.functional.relu or isinstance(act, torch.nn.ReLU):
        return "relu"
    if act is torch.nn.functional.gelu:
        return "gelu"
    if isinstance(act, torch.nn.GELU):
        return "gelu" if act.approximate == "none" else "gelu_tanh"
    raise ValueError(f"{fn}: activation must be relu or gelu (function or module), "
                     f"got activation={act!r}")


def _activation(name: str) -> Module:
    return {"relu": ReLU, "gelu": GELU}.get(name, lambda: GELU("tanh"))()


class _Block(Module):
    """What the encoder and decoder layers share: layouts, the feed-forward part,
    the attention sub-blocks."""

    def _setup(self, d_model, nhead, dim_feedforward, dropout, activation,
               layer_norm_eps, bias, batch_first, rng, attns, norms):
        fn = self._name
        d = check_int(d_model, fn, "d_model", minimum=1)
        f = check_int(dim_feedforward, fn, "dim_feedforward", minimum=1)
        if activation not in ("relu", "gelu", "gelu_tanh"):
            raise ValueError(f"{fn}: activation must be 'relu' or 'gelu', "
                             f"got {activation!r}")
        self.activation_name = activation
        self.batch_first = bool(batch_first)
        eps = check_positive(layer_norm_eps, fn, "layer_norm_eps")
        for name in attns:
            self.add_module(name, MultiheadAttention(d, nhead, bias=bias, rng=rng,
                                                     dropout=dropout))
        self.add_module("linear1", Linear(d, f, bias=bias, rng=rng))
        self.add_module("dropout", Dropout(dropout))
        self.add_module("linear2", Linear(f, d, bias=bias, rng=rng))
        for k in range(1, norms + 1):
            self.add_module(f"norm{k}", LayerNorm(d, eps, bias=bias))
        for k in range(1, norms + 1):
            self.add_module(f"dropout{k}", Dropout(dropout))
        self.add_module("activation", _activation(activation))

    def _layout_in(self, x, name):
        lay = "(N, L, E)" if self.batch_first else "(L, N, E)"
        x = self._input(x, name, ndim=(2, 3), layout=f"{lay} or (L, E)")
        if x.ndim == 2:
            return x[None], True
        return (x if self.batch_first else x.transpose(1, 0, 2)), False

    def _layout_out(self, y, unbatched):
        if unbatched:
            return y[0]
        return y if self.batch_first else np.ascontiguousarray(y.transpose(1, 0, 2))

    def _ff(self, x, drop_out):
        c = self._children
        h = c["dropout"](c["activation"](c["linear1"](x)))
        return c[drop_out](c["linear2"](h))

    def _ff_backward(self, d, drop_out):
        c = self._children
        for name in (drop_out, "linear2", "dropout", "activation", "linear1"):
            d = c[name].backward(d)
        return d

    def _attn(self, name, drop, x, mem, mask, kpm):
        out, _ = self._children[name](x, mem, mem, key_padding_mask=kpm,
                                      attn_mask=mask, need_weights=False)
        return self._children[drop](out)

    def _attn_backward(self, name, drop, d):
        d = self._children[drop].backward(d)
        return self._children[name].backward((d, None))

    @staticmethod
    def _mask(mask, kpm, unbatched, is_causal, L):
        if is_causal and mask is None:
            mask = ~F.causal_mask(L)                 # torch's bool: True = masked
        if unbatched and kpm is not None:
            kpm = np.asarray(kpm)[None]
        return mask, kpm


class TransformerEncoderLayer(_Block):
    """A transformer block, eq-postnorm and eq-prenorm of Chapter 9, like
    ``torch.nn.TransformerEncoderLayer``.

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
    ``batch_first`` (keyword-only; dlmath's default True, torch's False reads
    (L, N, E)); a 2-d src (L, E) is one unbatched sequence. Dropout (also on
    the attention weights, as torch) draws its own masks (``dlmath.rng``), so
    parity with torch needs ``dropout=0.0`` or ``eval()``.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str = "relu",
                 layer_norm_eps: float = 1e-5, norm_first: bool = False,
                 bias: bool = True, rng=None, *, batch_first: bool = True):
        super().__init__()
        self.norm_first = bool(norm_first)
        self._setup(d_model, nhead, dim_feedforward, dropout, activation,
                    layer_norm_eps, bias, batch_first, rng, ["self_attn"], 2)

    @classmethod
    def from_torch(cls, module) -> "TransformerEncoderLayer":
        fn = "TransformerEncoderLayer.from_torch"
        act = _torch_activation(module, fn)
        sa = module.self_attn
        if module.norm1.eps != module.norm2.eps:
            raise ValueError(f"{fn}: norm1.eps and norm2.eps differ "
                             f"({module.norm1.eps}, {module.norm2.eps})")
        layer = cls(sa.embed_dim, sa.num_heads, module.linear1.out_features,
                    module.dropout.p, act, module.norm1.eps, module.norm_first,
                    bias=module.linear1.bias is not None, batch_first=sa.batch_first)
        return layer._load_torch(module)

    def forward(self, src, src_mask=None, src_key_padding_mask=None,
                is_causal: bool = False):
        x, unbatched = self._layout_in(src, "src")
        src_mask, kpm = self._mask(src_mask, src_key_padding_mask, unbatched,
                                   is_causal, x.shape[1])
        c = self._children
        sa = lambda z: self._attn("self_attn", "dropout1", z, z,  # noqa: E731
                                  src_mask, kpm)
        if self.norm_first:                          # pre-norm, eq-prenorm
            x = x + sa(c["norm1"](x))
            y = x + self._ff(c["norm2"](x), "dropout2")
        else:                                        # post-norm, eq-postnorm
            x = c["norm1"](x + sa(x))
            y = c["norm2"](x + self._ff(x, "dropout2"))

        def sa_back(d):
            return sum(self._attn_backward("self_attn", "dropout1", d))  # q, k, v

        def backward(dy):                            # the chain rule, right to left
            dy = dy[None] if unbatched else (dy if self.batch_first
                                             else dy.transpose(1, 0, 2))
            if self.norm_first:
                dx = dy + c["norm2"].backward(self._ff_backward(dy, "dropout2"))
                dx = dx + c["norm1"].backward(sa_back(dx))
            else:
                dx = c["norm2"].backward(dy)
                dx = dx + self._ff_backward(dx, "dropout2")
                dx = c["norm1"].backward(dx)
                dx = dx + sa_back(dx)
            return (self._layout_out(dx, unbatched),), {}
        return self._save(self._layout_out(y, unbatched), backward)

    def extra_repr(self) -> str:
        return f"norm_first={self.norm_first}, activation={self.activation_name!r}"


class TransformerDecoderLayer(_Block):
    """A decoder block (Chapter 9): causal self-attention, cross-attention to the
    encoder's output ``memory``, and the feed-forward part, each with a residual
    connection; like ``torch.nn.TransformerDecoderLayer``::

        post-norm:  x = norm1(x + SA(x));  x = norm2(x + CA(x, m))
                    x = norm3(x + FF(x))
        pre-norm:   x = x + SA(norm1(x));  x = x + CA(norm2(x), m)
                    x = x + FF(norm3(x))
        SA(x) = self_attn(x, x, x)[0],  CA(x, m) = multihead_attn(x, m, m)[0]

    Its backward is the chain rule through the three residual blocks; the
    memory feeds CA's keys and values, so dmemory = dkey + dvalue of
    ``multihead_attn``. ``forward(tgt, memory, tgt_mask=None, memory_mask=None,
    tgt_key_padding_mask=None, memory_key_padding_mask=None,
    tgt_is_causal=False, memory_is_causal=False)`` returns the new tgt;
    ``backward(dout)`` returns ``(dtgt, dmemory)``. ``tgt_is_causal=True``
    without ``tgt_mask`` applies the causal mask (the usual decoder);
    ``memory_is_causal`` likewise for ``memory_mask``. Children, options and
    layouts as ``TransformerEncoderLayer``, plus ``multihead_attn``,
    ``norm3`` and ``dropout3``.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = True,
                 norm_first: bool = False, bias: bool = True, rng=None):
        super().__init__()
        self.norm_first = bool(norm_first)
        self._setup(d_model, nhead, dim_feedforward, dropout, activation,
                    layer_norm_eps, bias, batch_first, rng,
                    ["self_attn", "multihead_attn"], 3)

    @classmethod
    def from_torch(cls, module) -> "TransformerDecoderLayer":
        fn = "TransformerDecoderLayer.from_torch"
        act = _torch_activation(module, fn)
        sa = module.self_attn
        eps = {module.norm1.eps, module.norm2.eps, module.norm3.eps}
        if len(eps) != 1:
            raise ValueError(f"{fn}: norm1.eps, norm2.eps and norm3.eps differ")
        layer = cls(sa.embed_dim, sa.num_heads, module.linear1.out_features,
                    module.dropout.p, act, module.norm1.eps, sa.batch_first,
                    module.norm_first, bias=module.linear1.bias is not None)
        return layer._load_torch(module)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None,
                tgt_is_causal: bool = False, memory_is_causal: bool = False):
        x, unbatched = self._layout_in(tgt, "tgt")
        m, unbatched_m = self._layout_in(memory, "memory")
        if unbatched != unbatched_m:
            raise ValueError(f"{self._name}: tgt and memory must both be batched or "
                             f"both unbatched, got {np.shape(tgt)} and "
                             f"{np.shape(memory)}")
        L, S = x.shape[1], m.shape[1]
        tmask, tkpm = self._mask(tgt_mask, tgt_key_padding_mask, unbatched,
                                 tgt_is_causal, L)
        if memory_is_causal and memory_mask is None:
            memory_mask = ~F.causal_mask(L, S)
        mmask, mkpm = self._mask(memory_mask, memory_key_padding_mask, unbatched,
                                 False, L)
        c = self._children
        sa = lambda z: self._attn("self_attn", "dropout1", z, z,  # noqa: E731
                                  tmask, tkpm)
        ca = lambda z: self._attn("multihead_attn", "dropout2", z, m,  # noqa: E731
                                  mmask, mkpm)
        if self.norm_first:
            x = x + sa(c["norm1"](x))
            x = x + ca(c["norm2"](x))
            y = x + self._ff(c["norm3"](x), "dropout3")
        else:
            x = c["norm1"](x + sa(x))
            x = c["norm2"](x + ca(x))
            y = c["norm3"](x + self._ff(x, "dropout3"))

        def sa_back(d):
            return sum(self._attn_backward("self_attn", "dropout1", d))

        def ca_back(d):
            dq, dk, dv = self._attn_backward("multihead_attn", "dropout2", d)
            return dq, dk + dv                       # memory feeds keys and values

        def backward(dy):
            dy = dy[None] if unbatched else (dy if self.batch_first
                                             else dy.transpose(1, 0, 2))
            if self.norm_first:
                dx = dy + c["norm3"].backward(self._ff_backward(dy, "dropout3"))
                dq, dm = ca_back(dx)
                dx = dx + c["norm2"].backward(dq)
                dx = dx + c["norm1"].backward(sa_back(dx))
            else:
                dx = c["norm3"].backward(dy)
                dx = dx + self._ff_backward(dx, "dropout3")
                dx = c["norm2"].backward(dx)
                dq, dm = ca_back(dx)
                dx = dx + dq
                dx = c["norm1"].backward(dx)
                dx = dx + sa_back(dx)
            return (self._layout_out(dx, unbatched),
                    self._layout_out(dm, unbatched)), {}
        return self._save(self._layout_out(y, unbatched), backward)

    def extra_repr(self) -> str:
        return f"norm_first={self.norm_first}, activation={self.activation_name!r}"


def _default_rng():
    from .._random import rng
    return rng
