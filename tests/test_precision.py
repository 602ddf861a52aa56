"""dlmath.precision against torch: bit patterns, summation bounds, GradScaler's
rule, affine quantization; bad input."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dlmath import precision as P
from dlmath.check import assert_close
from tests.strategies import float_arrays


@pytest.mark.parametrize("name, e, t", [("float16", 5, 10), ("bfloat16", 8, 7)])
def test_decode_float_equals_torch_on_every_16_bit_pattern(name, e, t):
    bits = np.arange(2**16)
    ref = torch.tensor(bits.astype(np.uint16).view(np.int16)).view(getattr(torch, name))
    assert_close(P.decode_float(bits, e, t), ref.double(), rtol=0, atol=0,
                 verbose=False)


def test_decode_float_equals_torch_float8():
    bits = np.arange(256)
    ref = torch.tensor(bits.astype(np.uint8)).view(torch.float8_e5m2).double()
    assert_close(P.decode_float(bits, 5, 2), ref, rtol=0, atol=0, verbose=False)


@settings(max_examples=25, deadline=None)
@given(x=float_arrays(st.tuples(st.integers(1, 3), st.integers(1, 300)), 0, 1e4))
def test_sums_stay_within_highams_bounds(x):
    x = x.astype(np.float32)
    exact = np.array([math.fsum(r) for r in x.astype(np.float64)])
    S = np.abs(x.astype(np.float64)).sum(1)
    bounds = P.higham_bounds(x.shape[1], 2.0**-24)
    for name, f in [("naive", P.naive_sum), ("pairwise", P.pairwise_sum),
                    ("kahan", P.kahan_sum)]:
        err = np.abs(f(x).astype(np.float64) - exact)
        assert np.all(err <= bounds[name] * S + 1e-300), name


def test_loss_scaler_follows_gradscaler_step_by_step():
    scaler = torch.amp.GradScaler("cpu", init_scale=64.0, growth_interval=2,
                                  growth_factor=4.0, backoff_factor=0.25)
    mine = P.LossScaler(64.0, growth_factor=4.0, backoff_factor=0.25,
                        growth_interval=2)
    p = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.SGD([p], lr=0.1)
    for step in range(10):
        bad = step in (1, 4, 5)
        x = torch.tensor([1.0, float("inf") if bad else 2.0, 3.0])
        opt.zero_grad()
        scaler.scale((p * x).sum()).backward()
        _, found = mine.unscale([p.grad])
        scaler.step(opt)
        scaler.update()
        mine.update(found)
        assert found == bad
        assert scaler.get_scale() == mine.scale


@settings(max_examples=40, deadline=None)
@given(x=float_arrays(st.integers(1, 50), -100, 100),
       scale=st.floats(1e-3, 10.0), zp=st.integers(0, 255))
def test_quantize_equals_torch_quantize_per_tensor(x, scale, zp):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        tq = torch.quantize_per_tensor(torch.tensor(x, dtype=torch.float32), scale,
                                       zp, torch.quint8)
    assert_close(P.quantize(x, scale, zp), tq.int_repr().long(), rtol=0, atol=0,
                 verbose=False)


@settings(max_examples=40, deadline=None)
@given(x=float_arrays(st.integers(2, 50), -100, 100))
def test_quantization_error_is_at_most_half_a_step_and_zero_is_exact(x):
    assume(x.max() - x.min() > 1e-6)     # a range float32's inverse scale can hold
    for dtype in ("uint8", "int8"):
        s, z = P.affine_qparams(x.min(), x.max(), dtype)
        err = np.abs(P.dequantize(P.quantize(x, s, z, dtype), s, z) - x)
        assert np.all(err <= s / 2 * (1 + 1e-5) + 1e-12)
        assert P.dequantize(P.quantize(np.zeros(1), s, z, dtype), s, z)[0] == 0.0


def test_precision_refuses_bad_input():
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="scale must be > 0"):
            P.quantize(np.ones(3), bad, 0)
        with pytest.raises(ValueError, match="scale must be > 0"):
            P.dequantize(np.ones(3), bad, 0)
    with pytest.raises(ValueError, match="zero_point must be in"):
        P.quantize(np.ones(3), 0.1, 300)
    with pytest.raises(ValueError, match="'uint8' or 'int8'"):
        P.quantize(np.ones(3), 0.1, 0, "int4")
    with pytest.raises(ValueError, match="xmin < xmax"):
        P.affine_qparams(0.0, 0.0)
    with pytest.raises(TypeError, match="bits must be integers"):
        P.decode_float(np.ones(3), 5, 10)
    with pytest.raises(ValueError, match="backoff_factor must be in"):
        P.LossScaler(backoff_factor=1.5)
    with pytest.raises(ValueError, match="init_scale must be > 0"):
        P.LossScaler(init_scale=0.0)
    with pytest.raises(TypeError, match="dtype must be a float dtype"):
        P.naive_sum(np.ones(3), np.int32)
