"""Fully masked attention rows get torch's answer in every path (issue 24).

A query whose every key is masked has no softmax (0/0). torch answers
differently by path, and dlmath gives the same answer in each, NaN where torch
gives NaN and 0 where it gives 0, for the output, the weights, every input
gradient and every parameter gradient (``dlmath.conformance.compare``: NaN
must sit exactly where torch's is):

- ``nn.MultiheadAttention(need_weights=True)``: the explicit softmax, NaN;
- ``nn.MultiheadAttention(need_weights=False)``: scaled_dot_product_attention,
  weights 0, output ``b_o``, finite gradients;
- ``F.scaled_dot_product_attention``: 0;
- ``nn.TransformerEncoderLayer`` / ``TransformerDecoderLayer``: they call the
  attention with ``need_weights=False``: finite.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from dlmath import conformance as C
from dlmath import functional as F


def _kpm(unbatched=False):
    def kwargs(g):
        m = np.zeros((2, 4), dtype=bool)
        m[1] = True                                    # batch 1: every key masked
        return {"key_padding_mask": m[1] if unbatched else m}
    return kwargs


def _attn_row(float_mask=False, per_head=False):
    def kwargs(g):
        m = np.zeros((4, 3, 4) if per_head else (3, 4), dtype=bool)
        if per_head:
            m[2, 1] = True                             # head 0 of batch 1, query 1
        else:
            m[1] = True                                # query 1 sees no key
        if float_mask:
            m = np.where(m, -np.inf, g.standard_normal(m.shape))
        return {"attn_mask": m}
    return kwargs


def _mha_inputs(unbatched=False):
    def inputs(g):
        lead = () if unbatched else (2,)
        return (g.standard_normal(lead + (3, 8)), g.standard_normal(lead + (4, 8)),
                g.standard_normal(lead + (4, 8)))
    return inputs


MHA_CASES = []
for _nw in (True, False):
    for _avg in (True, False):
        for _name, _kw, _unb in [("key_padding_mask", _kpm(), False),
                                 ("key_padding_mask, unbatched", _kpm(True), True),
                                 ("bool attn_mask row", _attn_row(), False),
                                 ("float -inf attn_mask row, per head",
                                  _attn_row(True, True), False)]:
            def _kwargs(g, kw=_kw, nw=_nw, avg=_avg):
                return dict(kw(g), need_weights=nw, average_attn_weights=avg)
            MHA_CASES.append(C.Case(
                "MultiheadAttention",
                f"{_name}, need_weights={_nw}, average_attn_weights={_avg}",
                lambda: torch.nn.MultiheadAttention(8, 2, batch_first=True),
                _mha_inputs(_unb), _kwargs))
MHA_CASES.append(C.Case(
    "MultiheadAttention", "key_padding_mask, add_bias_kv (no row is fully masked)",
    lambda: torch.nn.MultiheadAttention(8, 2, batch_first=True, add_bias_kv=True),
    _mha_inputs(), _kpm()))
MHA_CASES.append(C.Case(
    "MultiheadAttention", "key_padding_mask, dropout=0.5 (eval)",
    lambda: torch.nn.MultiheadAttention(8, 2, batch_first=True, dropout=0.5),
    _mha_inputs(), _kpm(), modes=("eval",)))


@pytest.mark.parametrize("case", MHA_CASES, ids=lambda c: c.option)
def test_multihead_attention_fully_masked_rows_match_torch(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for mode in case.modes:
            C.compare(case, mode)


def test_need_weights_true_gives_nan_and_false_gives_finite():
    """The comparison above would also pass if neither side had a NaN: say which."""
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(8, 2, batch_first=True).double()
    from dlmath.nn import from_torch
    layer = from_torch(tm)
    g = np.random.default_rng(0)
    q, k, v = _mha_inputs()(g)
    kpm = _kpm()(g)["key_padding_mask"]
    out, w = layer.forward(q, k, v, key_padding_mask=kpm)
    assert np.isnan(out[1]).all() and np.isnan(w[1]).all()
    assert np.isfinite(out[0]).all() and np.isfinite(w[0]).all()
    dq, dk, dv = layer.backward(np.ones_like(out))
    assert np.isnan(dq[1]).all() and np.isfinite(dq[0]).all()
    out, w = layer.forward(q, k, v, key_padding_mask=kpm, need_weights=False)
    assert w is None and np.isfinite(out).all()
    np.testing.assert_allclose(out[1], np.broadcast_to(layer.params["out_proj.bias"],
                                                       out[1].shape), rtol=1e-12)


TRANSFORMER_CASES = []
for _nf in (False, True):
    TRANSFORMER_CASES.append(C.Case(
        "TransformerEncoderLayer", f"src_key_padding_mask all keys, norm_first={_nf}",
        (lambda nf=_nf: torch.nn.TransformerEncoderLayer(
            8, 2, 16, dropout=0.0, batch_first=True, norm_first=nf)),
        lambda g: (g.standard_normal((2, 4, 8)),),
        lambda g: {"src_key_padding_mask": _kpm()(g)["key_padding_mask"]}))
    TRANSFORMER_CASES.append(C.Case(
        "TransformerEncoderLayer", f"src_mask row, norm_first={_nf}",
        (lambda nf=_nf: torch.nn.TransformerEncoderLayer(
            8, 2, 16, dropout=0.0, batch_first=True, norm_first=nf)),
        lambda g: (g.standard_normal((2, 4, 8)),),
        lambda g: {"src_mask": np.arange(4)[:, None] == np.full((4, 4), 1)}))

    def _dec_kwargs(g):
        mem = np.zeros((2, 4), dtype=bool)
        mem[0] = True                                  # batch 0 sees no memory
        tgt = np.zeros((3, 3), dtype=bool)
        tgt[2] = True                                  # query 2 sees no target
        return {"memory_key_padding_mask": mem, "tgt_mask": tgt}
    TRANSFORMER_CASES.append(C.Case(
        "TransformerDecoderLayer",
        f"fully masked memory and tgt rows, norm_first={_nf}",
        (lambda nf=_nf: torch.nn.TransformerDecoderLayer(
            8, 2, 16, dropout=0.0, batch_first=True, norm_first=nf)),
        lambda g: (g.standard_normal((2, 3, 8)), g.standard_normal((2, 4, 8))),
        _dec_kwargs))


@pytest.mark.parametrize("case", TRANSFORMER_CASES, ids=lambda c: c.option)
def test_transformer_layers_fully_masked_rows_match_torch(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for mode in case.modes:
            C.compare(case, mode)


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_sdpa_fully_masked_row_is_zero_like_torch(kind):
    g = np.random.default_rng(0)
    q, k, v = (g.standard_normal((2, 2, 3, 4)), g.standard_normal((2, 2, 5, 4)),
               g.standard_normal((2, 2, 5, 4)))
    allowed = g.random((2, 1, 3, 5)) > 0.3
    allowed[:, :, 1] = False                           # query 1: every key masked
    allowed[:, :, [0, 2], 0] = True
    mask = allowed if kind == "bool" else np.where(allowed, g.standard_normal(
        allowed.shape), -np.inf)
    ts = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    tmask = torch.tensor(mask, requires_grad=kind == "float")
    y_t = torch.nn.functional.scaled_dot_product_attention(*ts, attn_mask=tmask)
    y, vjp = F.scaled_dot_product_attention_vjp(q, k, v, attn_mask=mask)
    assert np.all(y[:, :, 1] == 0) and np.isfinite(y).all()
    C._close("sdpa output", y, y_t, C.RTOL, C.ATOL)
    dy = g.standard_normal(y.shape)
    wrt = ts + ([tmask] if kind == "float" else [])
    grads = torch.autograd.grad(y_t, wrt, torch.tensor(dy))
    mine = vjp(dy)
    for name, d, r in zip(["q", "k", "v", "attn_mask"], mine, grads):
        C._close(f"sdpa d{name}", d, r, C.RTOL, C.ATOL)
    assert F.fully_masked_rows(mask, y.shape[:-1] + (5,))[:, :, 1].all()
