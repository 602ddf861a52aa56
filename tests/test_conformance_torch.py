"""dlmath against the configurations torch's *own* tests use (issue 24's goal).

Every ModuleInput of ``torch.testing._internal.common_modules.module_db`` for a
module dlmath.nn has (train and eval mode) and every SampleInput of
``common_methods_invocations.op_db`` for an ``nn.functional.X`` dlmath.functional
has is run through dlmath (``dlmath.conformance.torch_sweep``): none may give a
different answer or fail with anything but a refusal by name, and at least 75%
of them (supported / (supported + refused)) must be supported. Prints the
table per layer and function; the book's Conformance page shows the same table
(``tools/conformance_table.py``). Needs ``expecttest`` (torch's test modules
import it; the ``test`` extra and requirements.txt pin it).
"""
from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np
import pytest

from dlmath import conformance as C

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def results():
    return C.torch_sweep()


def _where(r) -> str:
    c = r.config
    mode = f" ({'train' if c.training else 'eval'})" if c.kind == "module" else ""
    return f"{c.layer} #{c.index}{mode} {c.desc}: {r.detail}"


def test_no_configuration_of_torchs_tests_is_wrong(results):
    wrong = [r for r in results if r.status == "WRONG"]
    assert not wrong, (f"{len(wrong)} of torch's configurations differ or crash:\n"
                       + "\n".join(_where(r) for r in wrong[:40]))


def test_three_quarters_of_torchs_configurations_are_supported(results):
    table = C.torch_coverage(results)
    sup = sum(v["supported"] for v in table.values())
    ref = sum(v["refused"] for v in table.values())
    print(f"\ntorch's own test configurations: {sup} supported, {ref} refused by "
          f"name, {sup / (sup + ref):.1%} supported")
    for layer, v in table.items():
        m = v["supported"] + v["refused"]
        print(f"  {layer:38s} {v['supported']:5d} / {m:5d} "
              f"({v['supported'] / max(m, 1):.0%})")
    assert sup / (sup + ref) >= 0.75
    kinds = {r.config.kind for r in results}
    assert kinds == {"module", "function"}, f"only {kinds} configurations ran"


def test_every_refusal_is_a_dlmath_message_naming_what(results):
    for r in results:
        if r.status == "refused":
            assert C._named_refusal(ValueError(r.detail)), _where(r)


def test_stored_table_is_up_to_date(results):
    sys.path.insert(0, str(ROOT / "tools"))
    import conformance_table

    stored = (ROOT / "book/_generated/conformance_torch.md").read_text(
        encoding="utf-8")
    assert stored == conformance_table.render_torch(results), \
        "run `python tools/conformance_table.py` and commit book/_generated/"


def _first(configs, layer):
    return next(c for c in configs if c.layer == layer)


def test_the_sweep_catches_a_wrong_twin(monkeypatch):
    """A twin off by 1e-7 relative, a missing gradient, a crash and Python's own
    TypeError are each WRONG, never supported or refused."""
    from dlmath import functional as F
    from dlmath import nn

    cfg = _first(C.torch_module_configs(), "Linear")
    assert C.run_torch_config(cfg).status == "supported"

    class Off(nn.Linear):
        def forward(self, input):
            return super().forward(np.asarray(input) * (1 + 1e-6))

    nn.register("Linear", Off)
    try:
        r = C.run_torch_config(cfg)
    finally:
        nn.register("Linear", nn.Linear)
    assert r.status == "WRONG" and "output 0" in r.detail

    fcfg = _first(C.torch_function_configs(), "F.max_pool2d")
    assert C.run_torch_config(fcfg).status == "supported"
    real = F.max_pool2d_vjp

    @functools.wraps(real)
    def half_grad(*a, **k):
        y, vjp = real(*a, **k)
        return y, lambda dy: tuple(0.5 * d for d in vjp(dy))
    monkeypatch.setattr(F, "max_pool2d_vjp", half_grad)
    r = C.run_torch_config(fcfg)
    assert r.status == "WRONG" and "gradient" in r.detail

    def no_signature(*a, **k):                # a vjp whose arguments cannot be read
        return real(*a, **k)
    monkeypatch.setattr(F, "max_pool2d_vjp", no_signature)
    r = C.run_torch_config(fcfg)
    assert r.status == "WRONG" and "not an argument" in r.detail

    def crash(*a, **k):
        raise KeyError("weight")
    monkeypatch.setattr(F, "max_pool2d_vjp", crash)
    assert C.run_torch_config(fcfg).status == "WRONG"

    def unexpected(*a, **k):
        raise TypeError("max_pool2d_vjp() got an unexpected keyword argument 'x'")
    monkeypatch.setattr(F, "max_pool2d_vjp", unexpected)
    assert C.run_torch_config(fcfg).status == "WRONG"
