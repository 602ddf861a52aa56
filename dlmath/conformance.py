"""Conformance of ``dlmath.nn`` with ``torch.nn`` (issue 24): the cases and the check.

``dlmath.nn`` promises torch's answer for every option it accepts and a
``ValueError`` naming every option it does not. This module holds that promise
as data: ``SUPPORTED`` lists torch configurations (a layer, an option, how to
build the torch module and its inputs), ``REFUSED`` the configurations that
must be refused, with the word the error must name. ``compare`` runs one
supported configuration: the torch module (float64) and its ``from_torch``
twin get the same inputs, in train and in eval mode, and must agree on the
output, the gradient of every float input, the gradient of every parameter
and every buffer after the forward (rtol 1e-7). ``tests/test_conformance.py``
runs every case; ``tools/conformance_table.py`` writes the coverage table of
the book's *Conformance* appendix from the same lists.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["Case", "Refusal", "compare", "check_refusal", "SUPPORTED", "REFUSED",
           "coverage"]

RTOL, ATOL = 1e-7, 1e-9


@dataclass
class Case:
    """One torch configuration dlmath supports.

    ``build()`` returns the torch module; ``inputs(g)`` its positional inputs
    (numpy; float arrays, also inside tuples, get gradients) from a numpy
    Generator; ``kwargs(g)`` keyword inputs (no gradients); ``modes``: the
    modes compared.
    """
    layer: str
    option: str
    build: Callable
    inputs: Callable
    kwargs: Callable = field(default=lambda g: {})
    modes: tuple = ("train", "eval")


@dataclass
class Refusal:
    """A torch configuration dlmath refuses: ``make()`` must raise a ValueError
    whose message contains ``names``."""
    layer: str
    option: str
    make: Callable
    names: str


def _torchify(a, grad: bool):
    import torch
    if isinstance(a, (tuple, list)):
        return type(a)(_torchify(v, grad) for v in a)
    if isinstance(a, np.ndarray):
        t = torch.as_tensor(a.copy())
        if t.is_floating_point():
            t = t.double().requires_grad_(grad)
        return t
    return a


def _leaves(a) -> list:
    if a is None:
        return []
    if isinstance(a, (tuple, list)):
        return [x for v in a for x in _leaves(v)]
    return [a]


def _float_leaves(a) -> list:
    import torch
    return [t for t in _leaves(a) if isinstance(t, torch.Tensor) and t.requires_grad]


def _rebuild(template, it):
    if template is None:
        return None
    if isinstance(template, (tuple, list)):
        return tuple(_rebuild(t, it) for t in template)
    return next(it)


def _close(name: str, a, e, rtol: float, atol: float) -> float:
    from .check import to_numpy
    a, e = np.asarray(to_numpy(a), dtype=float), np.asarray(to_numpy(e), dtype=float)
    if a.shape != e.shape:
        raise AssertionError(f"{name}: shape {a.shape}, torch {e.shape}")
    both_nan = np.isnan(a) & np.isnan(e)
    err = np.where(both_nan, 0.0, np.abs(a - e))
    bad = ~both_nan & ~(err <= atol + rtol * np.abs(e))
    if bad.any():
        raise AssertionError(f"{name}: max abs err {np.nanmax(err):.3g} "
                             f"(rtol {rtol:g}, atol {atol:g})")
    return float(np.max(err, initial=0.0))


def compare(case: Case, mode: str, seed: int = 0, rtol: float = RTOL,
            atol: float = ATOL) -> float:
    """Run ``case`` in ``mode``; raise AssertionError on any difference, return the
    largest absolute error."""
    import torch

    from .nn import from_torch

    torch.manual_seed(seed)
    module = case.build().double()
    module.train(mode == "train")
    g = np.random.default_rng(seed)
    # from_torch copies every array; no deepcopy of the module: torch 2.13's
    # TransformerDecoderLayer.__setstate__ turns an activation *module* into F.relu
    layer = from_torch(module)
    inputs, kw = case.inputs(g), case.kwargs(g)
    ts = _torchify(tuple(inputs), True)
    tkw = {k: _torchify(v, False) for k, v in kw.items()}
    out = layer.forward(*inputs, **kw)
    out_t = module(*ts, **tkw)
    mine, ref = _leaves(out), _leaves(out_t)
    name = f"{case.layer} [{case.option}] ({mode})"
    if len(mine) != len(ref):
        raise AssertionError(f"{name}: {len(mine)} outputs, torch {len(ref)}")
    worst = 0.0
    for k, (a, e) in enumerate(zip(mine, ref)):
        worst = max(worst, _close(f"{name} output {k}", a, e, rtol, atol))
    sd = layer.state_dict()
    for k, v in module.state_dict().items():
        if k in dict(module.named_buffers()):
            worst = max(worst, _close(f"{name} buffer {k}", sd[k], v, rtol, atol))
    diff = [(a, e) for a, e in zip(mine, ref)
            if isinstance(e, torch.Tensor) and e.requires_grad]
    if not diff:
        return worst
    cots = iter([g.standard_normal(np.shape(a)) for a in mine])
    cot_tree = _rebuild(out, cots)
    cot_list = _leaves(cot_tree)
    dx = layer.backward(cot_tree)
    leaves = _float_leaves(ts)
    params = {k: p for k, p in module.named_parameters() if p.requires_grad}
    frozen = [k for k, p in module.named_parameters() if not p.requires_grad]
    outs = [e for e in ref if isinstance(e, torch.Tensor) and e.requires_grad]
    cts = [torch.as_tensor(c) for c, e in zip(cot_list, ref)
           if isinstance(e, torch.Tensor) and e.requires_grad]
    grads = torch.autograd.grad(outs, leaves + list(params.values()), cts,
                                allow_unused=True)
    dx_leaves = _leaves(dx if isinstance(dx, tuple) else (dx,))
    for k, (d, t, r) in enumerate(zip(dx_leaves, leaves, grads)):
        r = torch.zeros_like(t) if r is None else r
        worst = max(worst, _close(f"{name} input gradient {k}", d, r, rtol, atol))
    mine_g = layer.grads
    for pname in frozen:
        if pname in mine_g:
            raise AssertionError(f"{name}: frozen parameter {pname} got a gradient")
    for (pname, p), r in zip(params.items(), grads[len(leaves):]):
        r = torch.zeros_like(p) if r is None else r
        if pname not in mine_g:
            raise AssertionError(f"{name}: no gradient for parameter {pname}")
        worst = max(worst, _close(f"{name} grads[{pname}]", mine_g[pname], r, rtol,
                                  atol))
    return worst


def check_refusal(r: Refusal) -> str:
    """Run ``r.make()``: it must raise a ValueError naming ``r.names``."""
    try:
        r.make()
    except ValueError as e:
        if r.names not in str(e):
            raise AssertionError(f"{r.layer} [{r.option}]: the ValueError does not "
                                 f"name {r.names!r}: {e}") from None
        return str(e)
    except Exception as e:  # noqa: BLE001 - any other exception is the failure
        raise AssertionError(f"{r.layer} [{r.option}]: expected a ValueError naming "
                             f"{r.names!r}, got {type(e).__name__}: {e}") from None
    raise AssertionError(f"{r.layer} [{r.option}]: accepted silently, expected a "
                         f"ValueError naming {r.names!r}")


def coverage() -> dict:
    """{layer: {"supported": [options], "refused": [options]}} in listing order."""
    table: dict[str, dict[str, list]] = {}
    for c in SUPPORTED:
        table.setdefault(c.layer, {"supported": [], "refused": []})["supported"].append(
            c.option)
    for r in REFUSED:
        table.setdefault(r.layer, {"supported": [], "refused": []})["refused"].append(
            r.option)
    return table


# =========================================================================== cases
def _tnn():
    import torch
    return torch.nn


def _normal(*shape):
    return lambda g: (g.standard_normal(shape),)


SUPPORTED: list[Case] = []
REFUSED: list[Refusal] = []


def _case(layer, option, build, inputs, kwargs=None, modes=("train", "eval")):
    SUPPORTED.append(Case(layer, option, build, inputs,
                          kwargs or (lambda g: {}), modes))


def _refuse(layer, option, make, names):
    REFUSED.append(Refusal(layer, option, make, names))


def _from(build):
    """A refusal by ``from_torch`` of the module ``build()`` makes."""
    def make():
        from .nn import from_torch
        return from_torch(build())
    return make


# --------------------------------------------------------------- recurrent
def _rec_inputs(cls, L, D, layout, h0):
    def inputs(g):
        shape = {"batch_first": (2, 5, 3), "seq_first": (5, 2, 3), "unbatched": (5, 3)}
        x = g.standard_normal(shape[layout])
        if not h0:
            return (x,)
        s = (D * L, 4) if layout == "unbatched" else (D * L, 2, 4)
        if cls == "LSTM":
            return (x, (g.standard_normal(s), g.standard_normal(s)))
        return (x, g.standard_normal(s))
    return inputs


for _cls in ("RNN", "LSTM", "GRU"):
    for _opt, _kw, _layout, _h0 in [
        ("defaults (batch_first=False)", {}, "seq_first", False),
        ("batch_first=True, h0", {"batch_first": True}, "batch_first", True),
        ("unbatched (T, I), h0", {}, "unbatched", True),
        ("bias=False", {"bias": False, "batch_first": True}, "batch_first", False),
        ("num_layers=2", {"num_layers": 2}, "seq_first", True),
        ("bidirectional", {"bidirectional": True, "batch_first": True},
         "batch_first", True),
        ("num_layers=3, bidirectional", {"num_layers": 3, "bidirectional": True},
         "seq_first", False),
        ("num_layers=2, dropout=0.5 (eval)", {"num_layers": 2, "dropout": 0.5},
         "seq_first", True),
    ]:
        _L, _D = _kw.get("num_layers", 1), 2 if _kw.get("bidirectional") else 1
        _modes = ("eval",) if _kw.get("dropout") else ("train", "eval")
        _case(_cls, _opt,
              (lambda c=_cls, k=_kw: getattr(_tnn(), c)(3, 4, **k)),
              _rec_inputs(_cls, _L, _D, _layout, _h0), modes=_modes)
_case("RNN", "nonlinearity='relu'",
      lambda: _tnn().RNN(3, 4, nonlinearity="relu", num_layers=2),
      _rec_inputs("RNN", 2, 1, "seq_first", True))
def _proj_inputs(layout, L, D):
    def inputs(g):
        x = g.standard_normal((5, 2, 3) if layout == "seq_first" else (5, 3))
        lead = (D * L, 2) if layout == "seq_first" else (D * L,)
        return (x, (g.standard_normal(lead + (2,)), g.standard_normal(lead + (4,))))
    return inputs


_case("LSTM", "proj_size=2, h0", lambda: _tnn().LSTM(3, 4, proj_size=2),
      _proj_inputs("seq_first", 1, 1))
_case("LSTM", "proj_size=2, num_layers=2, bidirectional, unbatched",
      lambda: _tnn().LSTM(3, 4, proj_size=2, num_layers=2, bidirectional=True),
      _proj_inputs("unbatched", 2, 2))
_case("LSTM", "proj_size=3, bias=False, no h0",
      lambda: _tnn().LSTM(3, 4, proj_size=3, bias=False, batch_first=True),
      _normal(2, 5, 3))


# --------------------------------------------------------------- attention
def _mha_inputs(layout, kdim=8, vdim=8, L=3, S=4, N=2):
    def inputs(g):
        if layout == "unbatched":
            return (g.standard_normal((L, 8)), g.standard_normal((S, kdim)),
                    g.standard_normal((S, vdim)))
        if layout == "seq_first":
            return (g.standard_normal((L, N, 8)), g.standard_normal((S, N, kdim)),
                    g.standard_normal((S, N, vdim)))
        return (g.standard_normal((N, L, 8)), g.standard_normal((N, S, kdim)),
                g.standard_normal((N, S, vdim)))
    return inputs


def _masks(kpm=True, am=True, unbatched=False, L=3, S=4, N=2, heads=2):
    def kwargs(g):
        kw = {}
        if kpm:                          # float like attn_mask (torch warns otherwise)
            m = np.zeros((S,) if unbatched else (N, S))
            m[..., -1] = -np.inf
            kw["key_padding_mask"] = m
        if am:
            kw["attn_mask"] = g.standard_normal((L, S))
        return kw
    return kwargs


for _opt, _kw, _layout, _mk in [
    ("defaults (batch_first=False)", {}, "seq_first", _masks(False, False)),
    ("batch_first=True, masks", {"batch_first": True}, "batch_first", _masks()),
    ("unbatched (L, E), masks", {}, "unbatched", _masks(unbatched=True)),
    ("bias=False", {"bias": False, "batch_first": True}, "batch_first",
     _masks(False)),
    ("kdim, vdim", {"kdim": 5, "vdim": 6, "batch_first": True}, "batch_first",
     _masks()),
    ("add_bias_kv", {"add_bias_kv": True}, "seq_first", _masks()),
    ("add_zero_attn", {"add_zero_attn": True, "batch_first": True}, "batch_first",
     _masks()),
    ("add_bias_kv, add_zero_attn, kdim", {"add_bias_kv": True, "add_zero_attn": True,
                                          "kdim": 5}, "unbatched",
     _masks(unbatched=True)),
    ("dropout=0.5 (eval)", {"dropout": 0.5}, "seq_first", _masks()),
]:
    _k = _kw.get("kdim", 8)
    _v = _kw.get("vdim", 8)
    _case("MultiheadAttention", _opt,
          (lambda k=_kw: _tnn().MultiheadAttention(8, 2, **k)),
          _mha_inputs(_layout, _k, _v), _mk,
          modes=("eval",) if _kw.get("dropout") else ("train",))
_case("MultiheadAttention", "per-head weights, bool attn_mask",
      lambda: _tnn().MultiheadAttention(8, 2, batch_first=True),
      _mha_inputs("batch_first"),
      lambda g: {"attn_mask": g.random((4, 3, 4)) > 0.7,
                 "average_attn_weights": False}, modes=("train",))
_case("MultiheadAttention", "need_weights=False",
      lambda: _tnn().MultiheadAttention(8, 2, batch_first=True),
      _mha_inputs("batch_first"), lambda g: {"need_weights": False},
      modes=("train",))


def _dead_row(need_weights):
    def kwargs(g):
        kpm = np.zeros((2, 4), dtype=bool)
        kpm[1] = True                        # batch 1: every key masked
        return {"key_padding_mask": kpm, "need_weights": need_weights}
    return kwargs


# a query with every key masked: NaN as torch's explicit softmax, or 0 as its sdpa
_case("MultiheadAttention", "fully masked rows, need_weights=True (NaN, as torch)",
      lambda: _tnn().MultiheadAttention(8, 2, batch_first=True),
      _mha_inputs("batch_first"), _dead_row(True))
_case("MultiheadAttention", "fully masked rows, need_weights=False (0, as torch)",
      lambda: _tnn().MultiheadAttention(8, 2, batch_first=True),
      _mha_inputs("batch_first"), _dead_row(False))


def _seq(layout, L=4, N=2, E=8):
    shape = {"batch_first": (N, L, E), "seq_first": (L, N, E), "unbatched": (L, E)}
    return shape[layout]


for _name in ("TransformerEncoderLayer", "TransformerDecoderLayer"):
    for _opt, _kw, _layout in [
        ("defaults (batch_first=False, dropout=0.1) (eval)", {}, "seq_first"),
        ("batch_first=True, dropout=0", {"batch_first": True, "dropout": 0.0},
         "batch_first"),
        ("norm_first=True, gelu", {"norm_first": True, "activation": "gelu",
                                   "dropout": 0.0}, "seq_first"),
        ("unbatched (L, E)", {"dropout": 0.0}, "unbatched"),
        ("bias=False, GELU(tanh) module", {"bias": False, "dropout": 0.0,
                                           "batch_first": True,
                                           "activation": "gelu_tanh_module"},
         "batch_first"),
    ]:
        def _build(n=_name, k=_kw):
            k = dict(k)
            if k.get("activation") == "gelu_tanh_module":
                k["activation"] = _tnn().GELU(approximate="tanh")
            return getattr(_tnn(), n)(8, 2, 16, **k)
        _n_in = 1 if _name == "TransformerEncoderLayer" else 2
        _modes = ("eval",) if "dropout" not in _kw else ("train", "eval")

        def _inp(g, lay=_layout, n_in=_n_in):
            return tuple(g.standard_normal(_seq(lay, L=4 + i)) for i in range(n_in))
        _case(_name, _opt, _build, _inp, modes=_modes)
_case("TransformerEncoderLayer", "src_mask, src_key_padding_mask",
      lambda: _tnn().TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
      lambda g: (g.standard_normal((2, 4, 8)),),
      lambda g: {"src_mask": g.standard_normal((4, 4)),
                 "src_key_padding_mask": np.array([[0.0] * 3 + [-np.inf], [0.0] * 4])})
_case("TransformerDecoderLayer", "all four masks",
      lambda: _tnn().TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
      lambda g: (g.standard_normal((2, 4, 8)), g.standard_normal((2, 5, 8))),
      lambda g: {"tgt_mask": ~np.tril(np.ones((4, 4), bool)),
                 "memory_mask": g.standard_normal((4, 5)),
                 "tgt_key_padding_mask": np.array([[False] * 3 + [True], [False] * 4]),
                 "memory_key_padding_mask": np.array([[0.0] * 4 + [-np.inf],
                                                      [0.0] * 5])})
_refuse("TransformerEncoderLayer", "activation=tanh",
        _from(lambda: _tnn().TransformerEncoderLayer(8, 2, 16,
                                                     activation=__import__("torch").tanh)),
        "activation")
_refuse("TransformerDecoderLayer", "activation=SiLU",
        _from(lambda: _tnn().TransformerDecoderLayer(8, 2, 16,
                                                     activation=_tnn().SiLU())),
        "activation")


# --------------------------------------------------------------- convolution, pooling
def _img(*shape):
    return lambda g: (g.standard_normal(shape),)


for _opt, _args, _kw, _shape in [
    ("defaults", (4, 6, 3), {}, (2, 4, 7, 6)),
    ("stride, padding, dilation", (4, 6, (3, 2)),
     {"stride": 2, "padding": (1, 2), "dilation": (2, 1)}, (2, 4, 9, 8)),
    ("bias=False", (4, 6, 3), {"bias": False}, (2, 4, 7, 6)),
    ("groups=2", (4, 6, 3), {"groups": 2}, (2, 4, 7, 6)),
    ("groups=in_channels (depthwise)", (4, 8, 3), {"groups": 4, "padding": 1},
     (2, 4, 6, 6)),
    ("padding='same' (odd kernel)", (4, 6, 3), {"padding": "same"}, (2, 4, 7, 6)),
    ("padding='same' (even kernel, dilation)", (4, 6, (2, 4)),
     {"padding": "same", "dilation": (1, 2)}, (2, 4, 7, 9)),
    ("padding='valid'", (4, 6, 3), {"padding": "valid", "stride": 2}, (2, 4, 7, 6)),
    ("unbatched (C, H, W)", (4, 6, 3), {"padding": 1}, (4, 7, 6)),
]:
    _case("Conv2d", _opt, (lambda a=_args, k=_kw: _tnn().Conv2d(*a, **k)),
          _img(*_shape))
for _mode in ("reflect", "replicate", "circular"):
    _case("Conv2d", f"padding_mode='{_mode}', padding (2, 1)",
          (lambda m=_mode: _tnn().Conv2d(4, 6, 3, padding=(2, 1), padding_mode=m)),
          _img(2, 4, 5, 6))
    _case("Conv2d", f"padding_mode='{_mode}', padding='same', even kernel, unbatched",
          (lambda m=_mode: _tnn().Conv2d(4, 6, (2, 3), padding="same",
                                         padding_mode=m)), _img(4, 5, 6))
_refuse("Conv2d", "padding_mode='reflect' with padding >= input",
        lambda: __import__("dlmath").nn.Conv2d(1, 1, 3, padding=3,
                                               padding_mode="reflect")(
            np.zeros((1, 1, 3, 3))), "padding_mode='reflect'")

for _opt, _args, _kw, _shape in [
    ("defaults", (4, 6, 3), {}, (2, 4, 5, 4)),
    ("stride=2, padding, output_padding", (4, 6, 3),
     {"stride": 2, "padding": 1, "output_padding": 1}, (2, 4, 5, 4)),
    ("groups=2, dilation, bias=False", (4, 6, (3, 2)),
     {"groups": 2, "dilation": 2, "bias": False}, (2, 4, 5, 4)),
    ("stride (2, 3), output_padding (1, 2)", (4, 6, 3),
     {"stride": (2, 3), "output_padding": (1, 2)}, (2, 4, 4, 3)),
    ("output_padding >= stride (dilation 3)", (4, 6, 2),
     {"dilation": 3, "output_padding": 2, "padding": 1}, (2, 4, 3, 3)),
    ("unbatched (C, H, W)", (4, 6, 3), {"stride": 2}, (4, 5, 4)),
]:
    _case("ConvTranspose2d", _opt,
          (lambda a=_args, k=_kw: _tnn().ConvTranspose2d(*a, **k)), _img(*_shape))

for _opt, _kw, _shape in [
    ("defaults (stride = kernel)", {"kernel_size": 2}, (2, 3, 6, 5)),
    ("stride, padding", {"kernel_size": 3, "stride": 2, "padding": 1}, (2, 3, 7, 6)),
    ("dilation", {"kernel_size": (3, 2), "stride": 1, "dilation": (2, 3)},
     (2, 3, 7, 8)),
    ("ceil_mode", {"kernel_size": 3, "stride": 2, "ceil_mode": True}, (2, 3, 8, 7)),
    ("return_indices", {"kernel_size": 2, "stride": 1, "return_indices": True},
     (2, 3, 5, 4)),
    ("ceil_mode, padding, dilation, return_indices",
     {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True,
      "return_indices": True}, (2, 3, 9, 8)),
    ("unbatched (C, H, W)", {"kernel_size": 2}, (3, 6, 5)),
]:
    _case("MaxPool2d", _opt, (lambda k=_kw: _tnn().MaxPool2d(**k)), _img(*_shape))
for _opt, _kw, _shape in [
    ("defaults (stride = kernel)", {"kernel_size": 2}, (2, 3, 6, 5)),
    ("stride, padding", {"kernel_size": 3, "stride": 2, "padding": 1}, (2, 3, 7, 6)),
    ("count_include_pad=False", {"kernel_size": 3, "stride": 2, "padding": 1,
                                 "count_include_pad": False}, (2, 3, 7, 6)),
    ("ceil_mode", {"kernel_size": 3, "stride": 2, "ceil_mode": True}, (2, 3, 8, 7)),
    ("ceil_mode, padding, count_include_pad=False",
     {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
      "count_include_pad": False}, (2, 3, 8, 7)),
    ("divisor_override", {"kernel_size": 2, "divisor_override": 3}, (2, 3, 6, 5)),
    ("unbatched (C, H, W)", {"kernel_size": 3, "stride": 1}, (3, 6, 5)),
]:
    _case("AvgPool2d", _opt, (lambda k=_kw: _tnn().AvgPool2d(**k)), _img(*_shape))
for _opt, _size, _shape in [
    ("output_size=1 (global average)", 1, (2, 3, 5, 4)),
    ("output_size (3, 2), overlapping windows", (3, 2), (2, 3, 5, 7)),
    ("output_size (None, 2)", (None, 2), (2, 3, 5, 4)),
    ("unbatched (C, H, W)", 2, (3, 5, 4)),
]:
    _case("AdaptiveAvgPool2d", _opt,
          (lambda s=_size: _tnn().AdaptiveAvgPool2d(s)), _img(*_shape))


# --------------------------------------------------------------- elementwise, norms
for _name, _args, _kw in [
    ("Linear", (5, 3), {}), ("Linear", (5, 3), {"bias": False}),
    ("ReLU", (), {}), ("Sigmoid", (), {}), ("Tanh", (), {}), ("GELU", (), {}),
    ("GELU", (), {"approximate": "tanh"}), ("LeakyReLU", (), {}),
    ("LeakyReLU", (0.3,), {}), ("SiLU", (), {}), ("Softmax", (), {"dim": 1}),
    ("Softmax", (), {"dim": -1}), ("LogSoftmax", (), {"dim": 1}),
    ("LogSoftmax", (), {"dim": 0}), ("Flatten", (), {}),
    ("Flatten", (), {"start_dim": 0, "end_dim": 1}),
    ("Dropout", (0.3,), {}), ("LayerNorm", (5,), {}),
    ("LayerNorm", ((3, 5),), {"elementwise_affine": False}),
    ("LayerNorm", (5,), {"bias": False, "eps": 1e-3}),
]:
    _opt = ", ".join([repr(a) for a in _args] + [f"{k}={v!r}" for k, v in _kw.items()])
    _modes = ("eval",) if _name == "Dropout" else ("train", "eval")
    _case(_name, _opt or "defaults",
          (lambda n=_name, a=_args, k=_kw: getattr(_tnn(), n)(*a, **k)),
          _img(2, 3, 5), modes=_modes)
_case("Softmax", "dim=None (legacy implicit dim)", lambda: _tnn().Softmax(),
      _img(2, 3, 5))

for _name, _shape in (("BatchNorm1d", (4, 3)), ("BatchNorm1d", (4, 3, 5)),
                      ("BatchNorm2d", (3, 3, 4, 2))):
    for _opt, _kw in [("defaults", {}), ("bias=False", {"bias": False}),
                      ("affine=False", {"affine": False}),
                      ("momentum=None (cumulative)", {"momentum": None}),
                      ("track_running_stats=False", {"track_running_stats": False}),
                      ("eps, momentum", {"eps": 1e-3, "momentum": 0.3})]:
        _case(_name, f"{_opt} {_shape}",
              (lambda n=_name, k=_kw: getattr(_tnn(), n)(3, **k)), _img(*_shape))

for _opt, _kw, _idx in [
    ("defaults", {}, (3, 4)),
    ("padding_idx", {"padding_idx": 2}, (3, 4)),
    ("padding_idx < 0", {"padding_idx": -1}, (5,)),
    ("scale_grad_by_freq", {"scale_grad_by_freq": True}, (2, 6)),
]:
    _case("Embedding", _opt, (lambda k=_kw: _tnn().Embedding(7, 4, **k)),
          (lambda g, s=_idx: (g.integers(0, 7, s),)))
_refuse("Embedding", "max_norm=1.0",
        _from(lambda: _tnn().Embedding(7, 4, max_norm=1.0)), "max_norm")
_refuse("Embedding", "sparse=True", _from(lambda: _tnn().Embedding(7, 4, sparse=True)),
        "sparse")

_case("Embedding", "from_pretrained (freeze=True)",
      lambda: _tnn().Embedding.from_pretrained(
          __import__("torch").randn(7, 4, dtype=__import__("torch").float64)),
      lambda g: (g.integers(0, 7, (3, 2)),))


def _frozen_linear():
    m = _tnn().Linear(5, 3)
    m.weight.requires_grad_(False)
    return m


_case("Linear", "weight.requires_grad_(False)", _frozen_linear, _img(2, 5))
_case("Sequential", "Linear, ReLU, Dropout, Linear",
      lambda: _tnn().Sequential(_tnn().Linear(5, 4), _tnn().ReLU(), _tnn().Dropout(0.2),
                                _tnn().Linear(4, 2)), _img(3, 5), modes=("eval",))


# --------------------------------------------------------------- losses
def _ce_inputs(shape, probs=False, ignore=None):
    def inputs(g):
        z = g.standard_normal(shape) * 2
        C = shape[0] if len(shape) == 1 else shape[1]
        if probs:
            lead = () if len(shape) == 1 else (shape[0],) + shape[2:]
            t = np.moveaxis(g.dirichlet(np.ones(C), lead), -1, 0 if len(shape) == 1
                            else 1)
            return (z, t)
        t = g.integers(0, C, () if len(shape) == 1 else (shape[0],) + shape[2:])
        if ignore is not None and t.ndim:
            t.flat[0] = ignore
        return (z, t)
    return inputs


for _opt, _kw, _shape, _probs, _ign in [
    ("defaults", {}, (5, 4), False, None),
    ("reduction='sum'", {"reduction": "sum"}, (5, 4), False, None),
    ("reduction='none'", {"reduction": "none"}, (5, 4), False, None),
    ("weight", {"weight": [1.0, 2.0, 0.5, 3.0]}, (5, 4), False, None),
    ("ignore_index=-100 present", {}, (5, 4), False, -100),
    ("ignore_index=2", {"ignore_index": 2}, (5, 4), False, 2),
    ("label_smoothing=0.2", {"label_smoothing": 0.2}, (5, 4), False, None),
    ("weight, ignore_index, label_smoothing, 'none'",
     {"weight": [1.0, 2.0, 0.5, 3.0], "ignore_index": 1, "label_smoothing": 0.1,
      "reduction": "none"}, (5, 4), False, 1),
    ("(N, C, d1, d2) logits, weight", {"weight": [1.0, 2.0, 0.5, 3.0]},
     (2, 4, 3, 2), False, None),
    ("unbatched (C,) logits", {}, (4,), False, None),
    ("probability targets", {}, (5, 4), True, None),
    ("probability targets, weight, label_smoothing, (N, C, d)",
     {"weight": [1.0, 2.0, 0.5, 3.0], "label_smoothing": 0.3}, (2, 4, 3), True, None),
]:
    def _build(k=_kw):
        import torch
        k = dict(k)
        if "weight" in k:
            k["weight"] = torch.tensor(k["weight"], dtype=torch.float64)
        return _tnn().CrossEntropyLoss(**k)
    _case("CrossEntropyLoss", _opt, _build, _ce_inputs(_shape, _probs, _ign))
for _red in ("mean", "sum", "none"):
    _case("MSELoss", f"reduction={_red!r}",
          (lambda r=_red: _tnn().MSELoss(reduction=r)),
          lambda g: (g.standard_normal((3, 4)), g.standard_normal((3, 4))))


# =========================================================================== functional
# torch.nn.functional's keywords that are builtins (no inspectable signature)
_BUILTIN_KEYWORDS = {
    "conv2d": ["input", "weight", "bias", "stride", "padding", "dilation", "groups"],
    "conv_transpose2d": ["input", "weight", "bias", "stride", "padding",
                         "output_padding", "groups", "dilation"],
    "gelu": ["input", "approximate"],
    "linear": ["input", "weight", "bias"],
    "max_pool2d": ["input", "kernel_size", "stride", "padding", "dilation",
                   "ceil_mode", "return_indices"],
    "avg_pool2d": ["input", "kernel_size", "stride", "padding", "ceil_mode",
                   "count_include_pad", "divisor_override"],
    "scaled_dot_product_attention": ["query", "key", "value", "attn_mask",
                                     "dropout_p", "is_causal", "scale", "enable_gqa"],
}
FUNCTIONAL = ["linear", "relu", "gelu", "sigmoid", "leaky_relu", "silu",
              "softmax", "log_softmax", "dropout", "batch_norm", "layer_norm",
              "embedding", "cross_entropy", "mse_loss",
              "binary_cross_entropy_with_logits", "conv2d", "conv_transpose2d",
              "unfold", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
              "scaled_dot_product_attention"]
# dlmath's first-argument names differ from torch's ``input`` in places (kept from
# the chapters); positional use is the same
_ALIASES = {"input": ("x", "logits", "q", "input"), "query": ("q",), "key": ("k",),
            "value": ("v",), "weight": ("W", "weight"), "bias": ("b", "bias")}


def torch_keywords(name: str) -> list[str]:
    """The parameter names of ``torch.nn.functional.<name>`` (torch's documented
    signature where the function is a builtin)."""
    import inspect

    import torch.nn.functional as TF
    if name in _BUILTIN_KEYWORDS:
        return list(_BUILTIN_KEYWORDS[name])
    return list(inspect.signature(getattr(TF, name)).parameters)


def missing_keywords(name: str) -> list[str]:
    """torch keywords that dlmath's function of the same name does not accept."""
    import inspect

    from . import functional as F
    mine = set(inspect.signature(getattr(F, name)).parameters)
    out = []
    for k in torch_keywords(name):
        if k in mine or any(a in mine for a in _ALIASES.get(k, ())):
            continue
        out.append(k)
    return out


def _F(name, *args, **kw):
    def make():
        from . import functional as F
        return getattr(F, name)(*args, **kw)
    return make


_Z, _Y = np.zeros((2, 3)), np.array([0, 1])
for _fn, _opt, _args, _kw, _names in [
    ("cross_entropy", "size_average=True", (_Z, _Y), {"size_average": True},
     "size_average"),
    ("cross_entropy", "reduce=False", (_Z, _Y), {"reduce": False}, "reduce"),
    ("mse_loss", "weight", (_Z, _Z), {"weight": np.ones((2, 3))}, "weight"),
    ("mse_loss", "size_average=False", (_Z, _Z), {"size_average": False},
     "size_average"),
    ("binary_cross_entropy_with_logits", "reduce=False", (_Z, _Z), {"reduce": False},
     "reduce"),
    ("softmax", "dtype=float32", (_Z,), {"dim": 1, "dtype": "float32"}, "dtype"),
    ("log_softmax", "dtype=float32", (_Z,), {"dim": 1, "dtype": "float32"}, "dtype"),
    ("embedding", "max_norm=1.0", (_Y, np.ones((3, 2))), {"max_norm": 1.0},
     "max_norm"),
    ("embedding", "sparse=True", (_Y, np.ones((3, 2))), {"sparse": True}, "sparse"),
    ("conv2d", "padding='same' with stride 2", (np.zeros((1, 1, 4, 4)),
                                                 np.zeros((1, 1, 3, 3))),
     {"padding": "same", "stride": 2}, "padding='same'"),
    ("scaled_dot_product_attention", "dropout_p=1.0",
     (np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 3))), {"dropout_p": 1.0},
     "dropout_p"),
]:
    _refuse(f"F.{_fn}", _opt, _F(_fn, *_args, **_kw), _names)
_refuse("MultiheadAttention", "is_causal=True without attn_mask",
        lambda: __import__("dlmath").nn.MultiheadAttention(4, 2)(
            np.zeros((3, 4)), np.zeros((3, 4)), np.zeros((3, 4)), is_causal=True),
        "is_causal")
_refuse("ConvTranspose2d", "forward(x, output_size=...) out of reach",
        lambda: __import__("dlmath").nn.ConvTranspose2d(2, 2, 2)(
            np.zeros((2, 3, 3)), output_size=(7, 7)), "output_size")
_case("ConvTranspose2d", "forward(x, output_size=...)",
      lambda: _tnn().ConvTranspose2d(4, 6, 3, stride=3),
      _img(2, 4, 3, 4), lambda g: {"output_size": (10, 12)})


# ====================================================== torch's own test configurations
# The goal of issue 24 is measured on the configurations torch's *own* tests use:
# ``module_db`` (torch.testing._internal.common_modules: one ModuleInfo per module,
# its ``module_inputs_func`` gives ModuleInput(constructor_input, forward_input))
# and ``op_db`` (common_methods_invocations: one OpInfo per function, its
# ``sample_inputs`` gives SampleInput(input, args, kwargs)). Every sample of every
# torch module that dlmath.nn has (same name), in train and in eval mode, and of
# every ``nn.functional.X`` that dlmath.functional has, is run through dlmath
# (float64, CPU) and classified:
#
# - "supported": output, every input gradient, every parameter gradient and
#   every buffer after the forward equal torch's (rtol 1e-7);
# - "refused": dlmath raises a ValueError/TypeError naming the option or the
#   shape (a dlmath message, "fn: ... got ..."), never Python's own TypeError
#   about an unexpected keyword;
# - "WRONG": a different answer, or any other exception.
#
# Random configurations (dropout with 0 < p < 1 in training) are compared with
# torch's own draw: F.dropout's mask is read off torch's output, the dropout
# mask of scaled_dot_product_attention is drawn again from the same seed
# (torch draws it with bernoulli_ on a tensor of the weights' shape, as
# F.dropout does). An OpInfo torch does not run on the CPU at all (no
# supported CPU dtype, ``batch_norm``'s ``without_cudnn`` variant) is skipped.

TORCH_RTOL, TORCH_ATOL = RTOL, 1e-9
_GENERIC_ERRORS = ("unexpected keyword argument", "positional argument",
                   "object is not", "unsupported operand", "NoneType",
                   "not subscriptable", "has no attribute", "cannot unpack")


@dataclass
class TorchConfig:
    """One configuration of torch's own tests: a ModuleInput (``kind`` "module",
    with its mode) or a SampleInput of an OpInfo (``kind`` "function")."""
    layer: str          # "Conv2d" or "F.conv2d"
    kind: str
    index: int          # position in torch's list (per mode for modules)
    training: bool
    desc: str
    sample: object
    info: object
    dtype: object = None


@dataclass
class TorchResult:
    config: TorchConfig
    status: str         # "supported", "refused", "WRONG"
    detail: str = ""    # the refusal's or the failure's message


def _named_refusal(e: Exception) -> bool:
    import re
    msg = str(e)
    if any(s in msg for s in _GENERIC_ERRORS):
        return False
    return bool(re.match(r"^[A-Za-z_][\w.]*(\(\))?: ", msg)) and (
        "got" in msg or "not supported" in msg or "refused" in msg)


def torch_module_configs() -> list[TorchConfig]:
    """Every ModuleInput of torch's module_db for the modules dlmath.nn has."""
    import warnings

    import torch
    from torch.testing._internal.common_modules import module_db

    from .nn.convert import _REGISTRY
    out = []
    torch.manual_seed(0)
    for info in module_db:
        name = info.module_cls.__name__
        if name not in _REGISTRY or info.module_cls.__module__.split(".")[0] != "torch":
            continue
        for training in (True, False):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                inputs = info.module_inputs_func(info, device="cpu",
                                                 dtype=torch.float64,
                                                 requires_grad=True,
                                                 training=training)
            for k, mi in enumerate(inputs):
                out.append(TorchConfig(name, "module", k, training, mi.desc or "", mi,
                                       info, torch.float64))
    return out


def torch_function_configs() -> list[TorchConfig]:
    """Every SampleInput of torch's op_db for the ``nn.functional.X`` that
    dlmath.functional has (float64, or the OpInfo's own dtype where float64 is
    not one of them, e.g. silu's complex variant)."""
    import torch
    from torch.testing._internal.common_methods_invocations import op_db

    from . import functional as F
    out = []
    torch.manual_seed(0)
    for op in op_db:
        if not op.name.startswith("nn.functional."):
            continue
        fname = op.name[len("nn.functional."):]
        if not hasattr(F, fname):
            continue
        dtypes = op.supported_dtypes("cpu")
        if not dtypes:                         # torch does not test it on the CPU
            continue
        dtype = torch.float64 if torch.float64 in dtypes else (
            torch.complex128 if torch.complex128 in dtypes
            else sorted(dtypes, key=str)[0])
        layer = "F." + fname + (f" ({op.variant_test_name})" if op.variant_test_name
                                else "")
        grad = op.supports_autograd and dtype in op.supported_backward_dtypes("cpu")
        for k, s in enumerate(op.sample_inputs("cpu", dtype, requires_grad=grad)):
            out.append(TorchConfig(layer, "function", k, True, "", s, op, dtype))
    return out


def _np(a):
    """torch tensors (also inside tuples, lists, dicts) as numpy copies."""
    import torch
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy().copy()
    if isinstance(a, (tuple, list)):
        return type(a)(_np(v) for v in a)
    if isinstance(a, dict):
        return {k: _np(v) for k, v in a.items()}
    return a


def _flat(a) -> list:
    """Leaves of a tree of tuples/lists, None kept as a leaf."""
    if isinstance(a, (tuple, list)):
        return [x for v in a for x in _flat(v)]
    return [a]


def _grad_leaves(tree) -> list:
    import torch
    return [t for t in _flat(tree) if isinstance(t, torch.Tensor) and t.requires_grad]


def _cotangents(out_t, g):
    """A random cotangent for every output tensor that requires grad (else None)."""
    import torch
    return [torch.as_tensor(g.standard_normal(tuple(t.shape)), dtype=t.dtype)
            if isinstance(t, torch.Tensor) and t.requires_grad else None
            for t in _flat(out_t)]


def _tree_like(template, leaves):
    it = iter(leaves)

    def build(t):
        if isinstance(t, (tuple, list)):
            return tuple(build(v) for v in t)
        return next(it)
    return build(template)


def _check_outputs(name, mine, ref):
    import torch
    m, r = _flat(mine), _flat(ref)
    if len(m) != len(r):
        raise AssertionError(f"{name}: {len(m)} outputs, torch {len(r)}")
    for k, (a, e) in enumerate(zip(m, r)):
        if e is None or a is None:
            if (e is None) != (a is None):
                raise AssertionError(f"{name}: output {k} is "
                                     f"{'None' if a is None else 'an array'}, "
                                     f"torch {'None' if e is None else 'a tensor'}")
            continue
        if isinstance(e, torch.Tensor) and not e.is_floating_point():
            if not np.array_equal(np.asarray(a), e.numpy()):
                raise AssertionError(f"{name}: integer output {k} differs")
            continue
        _close(f"{name} output {k}", a, e, TORCH_RTOL, TORCH_ATOL)


def _torch_grads(out_t, cots, wrt):
    import torch
    pairs = [(o, c) for o, c in zip(_flat(out_t), cots) if c is not None]
    if not pairs or not wrt:
        return [None] * len(wrt)
    return torch.autograd.grad([o for o, _ in pairs], wrt, [c for _, c in pairs],
                               allow_unused=True)


def _run_module(cfg: TorchConfig) -> None:
    """Compare one ModuleInput with its dlmath twin; AssertionError on a
    difference, the dlmath exception on a refusal."""
    import torch

    from .nn import from_torch
    from .nn.loss import _Loss
    mi = cfg.sample
    ci, fi = mi.constructor_input, mi.forward_input
    torch.manual_seed(0)
    module = cfg.info.module_cls(*ci.args, **ci.kwargs).to(torch.float64)
    module.train(cfg.training)
    layer = from_torch(module)             # before torch's forward moves its buffers
    layer.train(cfg.training)
    args_t, kw_t = tuple(fi.args), dict(fi.kwargs)
    out = layer.forward(*_np(args_t), **_np(kw_t))
    out_t = module(*args_t, **kw_t)
    name = f"{cfg.layer}[{cfg.desc}]"
    _check_outputs(name, out, out_t)
    sd, tbuf = layer.state_dict(), dict(module.named_buffers())
    for k, v in tbuf.items():
        if k not in sd:
            raise AssertionError(f"{name}: no buffer {k}")
        _close(f"{name} buffer {k}", sd[k], v, TORCH_RTOL, TORCH_ATOL)
    g = np.random.default_rng(0)
    cots = _cotangents(out_t, g)
    if all(c is None for c in cots):
        return
    params = {k: p for k, p in module.named_parameters() if p.requires_grad}
    in_leaves = _flat(args_t)
    wrt = [t for t in in_leaves if isinstance(t, torch.Tensor) and t.requires_grad]
    grads = _torch_grads(out_t, cots, wrt + list(params.values()))
    cot_np = _tree_like(out if isinstance(out, tuple) else (out,),
                        [None if c is None else c.numpy() for c in cots])
    dx = layer.backward(cot_np if isinstance(out, tuple) else cot_np[0])
    dx = dx if isinstance(dx, tuple) else (dx,)
    if isinstance(layer, _Loss):           # backward: the prediction's gradient;
        inp, tgt = _np(args_t)              # a target's through the F twin's VJP
        _, vjp = type(layer)._vjp(inp, tgt, layer.reduction, **layer._options())
        dx = (dx[0], vjp(cot_np[0])[1])
    mine = _flat(dx)
    if len(mine) < len(in_leaves):
        mine = mine + [None] * (len(in_leaves) - len(mine))
    k = 0
    for i, t in enumerate(in_leaves):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            r = grads[k]
            k += 1
            if mine[i] is None:
                if r is not None and bool(r.abs().max() > 0):
                    raise AssertionError(f"{name}: no gradient for input {i}")
                continue
            _close(f"{name} input gradient {i}", mine[i],
                   torch.zeros_like(t) if r is None else r, TORCH_RTOL, TORCH_ATOL)
    lg = layer.grads
    for (pname, p), r in zip(params.items(), grads[len(wrt):]):
        if pname not in lg:
            raise AssertionError(f"{name}: no gradient for parameter {pname}")
        _close(f"{name} grads[{pname}]", lg[pname],
               torch.zeros_like(p) if r is None else r, TORCH_RTOL, TORCH_ATOL)


# the parameters whose gradients each ``X_vjp`` returns, in order
_VJP_RETURNS = {
    "linear": ("x", "W", "b"), "batch_norm": ("x", "weight", "bias"),
    "layer_norm": ("x", "weight", "bias"), "cross_entropy": ("logits", "target"),
    "mse_loss": ("input", "target"), "embedding": ("input", "weight"),
    "conv2d": ("x", "weight", "bias"), "conv_transpose2d": ("x", "weight", "bias"),
    "scaled_dot_product_attention": ("q", "k", "v", "attn_mask"),
    "binary_cross_entropy_with_logits": ("input", "target", "weight", "pos_weight"),
}
_NO_OP_KEYWORDS = ("inplace",)      # accepted by the plain twin, meaningless in numpy


def _run_function(cfg: TorchConfig) -> None:
    """Compare one SampleInput of ``torch.nn.functional.X`` with dlmath's twin."""
    import inspect

    import torch
    import torch.nn.functional as TF

    from . import functional as F
    s = cfg.sample
    fname = cfg.layer[2:].split(" ")[0]
    args_t, kw_t = (s.input,) + tuple(s.args), dict(s.kwargs)
    if fname == "embedding":                # torch's OpInfo: embedding(weight, idx)
        args_t = (args_t[1], args_t[0]) + args_t[2:]
    seed = 1234
    torch.manual_seed(seed)
    out_t = getattr(TF, fname)(*args_t, **kw_t)
    a, kw = _np(args_t), _np(kw_t)
    if fname == "dropout":                  # torch's draw, read off its output
        p = kw.get("p", a[1] if len(a) > 1 else 0.5)
        training = kw.get("training", a[2] if len(a) > 2 else True)
        if training and 0 < p < 1:
            kw["mask"] = out_t.detach().numpy() != 0
    if fname == "scaled_dot_product_attention" and kw.get("dropout_p", 0) > 0:
        q, k = args_t[0], args_t[1]
        shape = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2]) + (q.shape[-2],
                                                                     k.shape[-2])
        torch.manual_seed(seed)             # the same draw: bernoulli_ on the weights
        kw["dropout_mask"] = (TF.dropout(torch.ones(shape, dtype=q.dtype),
                                         kw["dropout_p"]) != 0).numpy()
    name = f"{cfg.layer}[{cfg.index}]"
    y = getattr(F, fname)(*a, **kw)
    _check_outputs(name, y, out_t)
    vjp_fn = getattr(F, fname + "_vjp", None)
    wrt = _grad_leaves(args_t) + [v for v in kw_t.values()
                                  if isinstance(v, torch.Tensor) and v.requires_grad]
    if not wrt or not any(isinstance(t, torch.Tensor) and t.requires_grad
                          for t in _flat(out_t)):
        return
    if vjp_fn is None:
        raise AssertionError(f"{name}: dlmath.functional has no {fname}_vjp to "
                             f"compare the gradients with")
    sig = inspect.signature(vjp_fn)
    kw_v = {k: v for k, v in kw.items()
            if k in sig.parameters or k not in _NO_OP_KEYWORDS}
    y2, vjp = vjp_fn(*a, **kw_v)
    _check_outputs(name + " (vjp)", y2, out_t)
    g = np.random.default_rng(0)
    cots = _cotangents(out_t, g)
    grads_t = _torch_grads(out_t, cots, wrt)
    cot_np = [None if c is None else c.numpy() for c in cots]
    mine = vjp(cot_np[0] if len(cot_np) == 1 else cot_np[0])
    names = _VJP_RETURNS.get(fname, (next(iter(sig.parameters)),))
    bound = sig.bind(*args_t, **{k: v for k, v in kw_t.items() if k in kw_v})
    by_name = dict(zip(names, mine))
    names_of = {id(v): k for k, v in bound.arguments.items()
                if isinstance(v, torch.Tensor)}
    for i, v in enumerate(wrt):                # every input torch differentiates
        if id(v) not in names_of:
            raise AssertionError(f"{name}: input {i} (requires grad) is not an "
                                 f"argument of {fname}_vjp")
        pname, r = names_of[id(v)], grads_t[i]
        d = by_name.get(pname)
        if d is None:
            if r is not None and bool(r.abs().max() > 0):
                raise AssertionError(f"{name}: no gradient for {pname}")
            continue
        _close(f"{name} gradient of {pname}", d,
               torch.zeros_like(v) if r is None else r, TORCH_RTOL, TORCH_ATOL)


def run_torch_config(cfg: TorchConfig) -> TorchResult:
    """Classify one configuration of torch's tests: supported, refused or WRONG."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            (_run_module if cfg.kind == "module" else _run_function)(cfg)
        except AssertionError as e:
            return TorchResult(cfg, "WRONG", str(e))
        except (ValueError, TypeError) as e:
            if _named_refusal(e):
                return TorchResult(cfg, "refused", str(e))
            return TorchResult(cfg, "WRONG", f"{type(e).__name__}: {e}")
        except Exception as e:  # noqa: BLE001 - every other exception is a defect
            return TorchResult(cfg, "WRONG", f"{type(e).__name__}: {e}")
    return TorchResult(cfg, "supported")


def torch_sweep() -> list[TorchResult]:
    """Every configuration of torch's own tests for dlmath's layers and
    functions, classified (see above). About half a minute."""
    return [run_torch_config(c) for c in torch_module_configs()
            + torch_function_configs()]


def torch_coverage(results: list[TorchResult]) -> dict:
    """{layer: {"supported": n, "refused": n, "WRONG": n}} in torch's order."""
    table: dict[str, dict[str, int]] = {}
    for r in results:
        row = table.setdefault(r.config.layer, {"supported": 0, "refused": 0,
                                                "WRONG": 0})
        row[r.status] += 1
    return table
