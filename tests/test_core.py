import random

import numpy as np
import pytest
import torch

import dlmath


def test_seed_makes_every_source_repeatable():
    def draw():
        return (random.random(), np.random.rand(), dlmath.rng.standard_normal(),
                torch.rand(1).item())

    dlmath.seed(7)
    a = draw()
    dlmath.seed(7)
    b = draw()
    dlmath.seed(8)
    c = draw()
    assert a == b
    assert all(x != y for x, y in zip(a, c))


def test_seed_reseeds_rng_in_place():
    from dlmath import rng

    dlmath.seed(3)
    first = rng.random()
    dlmath.seed(3)
    assert rng is dlmath.rng and rng.random() == first


@pytest.mark.parametrize(
    "bad, exc",
    [(1.5, TypeError), ("0", TypeError), (True, TypeError), (-1, ValueError)],
)
def test_seed_rejects_bad_input(bad, exc):
    with pytest.raises(exc, match="seed: n must be"):
        dlmath.seed(bad)


def test_device_is_cuda_exactly_when_available():
    d = dlmath.device()
    assert isinstance(d, torch.device)
    assert d.type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_nbval_rounds_floats_instead_of_truncating():
    """Runs that agree to 1e-10 sanitize alike, also across a carry (…99 vs …00)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "root_conftest", Path(__file__).resolve().parents[1] / "conftest.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    r = mod.round_floats
    assert r("loss 0.1234569999 at step 3") == r("loss 0.1234570001 at step 3") \
        == "loss 0.12346 at step 3"
    assert r("x = -1.99999999e-05, v2.10.1, 3.14") == "x = -2.00000e-05, v2.10.1, 3.14"
    assert r("0.123454") != r("0.123456")
