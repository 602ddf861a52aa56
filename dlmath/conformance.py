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

import copy
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
    layer = from_torch(copy.deepcopy(module))
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
    params = dict(module.named_parameters())
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
_refuse("LSTM", "proj_size=2", _from(lambda: _tnn().LSTM(3, 4, proj_size=2)),
        "proj_size")
