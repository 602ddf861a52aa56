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
