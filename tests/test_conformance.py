"""dlmath.nn keeps torch.nn's promise (issue 24): every configuration listed in
``dlmath.conformance.SUPPORTED`` gives torch's output, input gradients, parameter
gradients and buffers (float64, rtol 1e-7) in every listed mode; every one in
``REFUSED`` raises a ValueError naming the option. Prints the coverage table."""
from __future__ import annotations

import warnings

import pytest

from dlmath import conformance as C


@pytest.mark.parametrize("case", C.SUPPORTED,
                         ids=lambda c: f"{c.layer}[{c.option}]")
def test_supported_configuration_matches_torch(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # torch's own deprecation notes
        for mode in case.modes:
            C.compare(case, mode)


@pytest.mark.parametrize("refusal", C.REFUSED,
                         ids=lambda r: f"{r.layer}[{r.option}]")
def test_refused_configuration_names_the_option(refusal):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        C.check_refusal(refusal)


def test_coverage_table_counts_every_case(capsys):
    table = C.coverage()
    n_sup = sum(len(v["supported"]) for v in table.values())
    n_ref = sum(len(v["refused"]) for v in table.values())
    assert n_sup == len(C.SUPPORTED) and n_ref == len(C.REFUSED)
    print(f"\nconformance: {n_sup} torch configurations supported, {n_ref} refused "
          f"by name, over {len(table)} layers")
    for layer, v in table.items():
        print(f"  {layer}: {len(v['supported'])} supported, "
              f"{len(v['refused'])} refused")


def test_the_checker_catches_a_wrong_layer():
    """compare must fail when the twin differs (a check that cannot fail is none)."""
    import numpy as np
    import torch

    from dlmath import nn

    class Wrong(nn.Linear):
        def forward(self, x):
            return super().forward(np.asarray(x) * 1.0000001)

    case = C.Case("Linear", "wrong", lambda: torch.nn.Linear(3, 2),
                  lambda g: (g.standard_normal((4, 3)),))
    nn.register("Linear", Wrong)
    try:
        with pytest.raises(AssertionError, match="output 0"):
            C.compare(case, "train")
    finally:
        nn.register("Linear", nn.Linear)
    bad = C.Refusal("Linear", "x", lambda: torch.nn.Linear(2, 2), "x")
    with pytest.raises(AssertionError, match="accepted silently"):
        C.check_refusal(bad)


@pytest.mark.parametrize("name", C.FUNCTIONAL)
def test_functional_accepts_every_torch_keyword(name):
    """dlmath.functional takes torch.nn.functional's signature whole: every keyword
    is implemented or refused by value with a ValueError, never a TypeError."""
    assert C.missing_keywords(name) == []


def test_generated_coverage_table_is_up_to_date():
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "tools"))
    import conformance_table

    stored = (root / "book/_generated/conformance.md").read_text(encoding="utf-8")
    assert stored == conformance_table.render(), \
        "run `python tools/conformance_table.py` and commit book/_generated/"
