import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from dlmath.check import assert_close, numerical_grad, to_numpy

finite = st.floats(-1e6, 1e6, allow_nan=False)


def test_success_prints_one_line(capsys):
    assert_close(np.ones(3), torch.ones(3, dtype=torch.float64), rtol=0, atol=0,
                 name="ones", against="torch.ones")
    out = capsys.readouterr().out
    assert out == ("✓ ones matches torch.ones: max abs err 0.0e+00, "
                   "max rel err 0.0e+00 (rtol 0e+00, atol 0e+00)\n")


def test_a_check_names_the_equation_it_verifies(capsys):
    assert_close(np.ones(2), np.ones(2), rtol=1e-12, atol=0, name="x", against="y",
                 eq="eq-var-qk")
    assert capsys.readouterr().out.startswith("✓ [eq-var-qk] x matches y: max abs err")
    for bad in ("var-qk", "eq-", "eq var", 3):
        with pytest.raises(ValueError, match="equation label"):
            assert_close(np.ones(2), np.ones(2), rtol=0, atol=0, eq=bad)


def test_failure_names_shape_errors_and_worst_index():
    a = np.zeros((2, 3))
    e = a.copy()
    e[1, 2] = 1.0
    with pytest.raises(AssertionError) as info:
        assert_close(a, e, rtol=1e-7, atol=1e-9, name="mine", against="torch")
    msg = str(info.value)
    assert "1 of 6 elements" in msg and "(2, 3)" in msg and "(1, 2)" in msg
    assert "max abs err 1" in msg


def test_shape_mismatch_is_an_assertion_not_a_broadcast():
    with pytest.raises(AssertionError, match=r"shape \(3,\).*shape \(3, 1\)"):
        assert_close(np.zeros(3), np.zeros((3, 1)), rtol=0, atol=1)


def test_nan_positions_must_agree():
    assert_close(
        np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), rtol=0, atol=0, verbose=False
    )
    with pytest.raises(AssertionError, match="NaNs in different places"):
        assert_close(np.array([np.nan, 1.0]), np.array([1.0, np.nan]), rtol=1, atol=1)


def test_infinities_compare_by_sign():
    assert_close(np.array([np.inf]), np.array([np.inf]), rtol=0, atol=0, verbose=False)
    with pytest.raises(AssertionError):
        assert_close(np.array([np.inf]), np.array([-np.inf]), rtol=1, atol=1)


def test_accepts_tensors_on_any_device_and_scalars(dev):
    x = torch.arange(4.0, device=dev)
    assert_close(x, np.arange(4.0), rtol=0, atol=0, verbose=False)
    assert_close(2.0, torch.tensor(2.0), rtol=0, atol=0, verbose=False)
    assert to_numpy(x.requires_grad_()).shape == (4,)


@pytest.mark.parametrize("kw", [dict(rtol=-1, atol=0), dict(rtol=0, atol=-1),
                                dict(rtol="1", atol=0)])
def test_bad_tolerances_raise(kw):
    with pytest.raises(ValueError, match="assert_close: (rtol|atol)"):
        assert_close(1.0, 1.0, **kw)


def test_non_numeric_input_raises_type_error():
    with pytest.raises(TypeError):
        assert_close(np.array(["a"]), np.array(["a"]), rtol=0, atol=0)
    with pytest.raises(TypeError):
        to_numpy({"a": 1})


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_symmetric_when_rtol_is_zero(data):
    """With rtol=0 the criterion |a-e| <= atol is symmetric in (a, e)."""
    shape = data.draw(array_shapes(max_dims=3, max_side=4))
    a = data.draw(arrays(np.float64, shape, elements=finite))
    e = data.draw(arrays(np.float64, shape, elements=finite))
    atol = data.draw(st.floats(0, 10))

    def ok(x, y):
        try:
            assert_close(x, y, rtol=0, atol=atol, verbose=False)
            return True
        except AssertionError:
            return False

    assert ok(a, e) == ok(e, a)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, array_shapes(max_dims=3, max_side=5), elements=finite))
def test_agrees_with_torch_testing(a):
    """Same verdict as torch.testing.assert_close on perturbed copies."""
    e = a * (1 + 1e-6) + 1e-9
    for rtol, atol in [(1e-7, 0.0), (1e-5, 1e-8), (0.0, 1e-3)]:
        try:
            torch.testing.assert_close(torch.from_numpy(a), torch.from_numpy(e),
                                       rtol=rtol, atol=atol)
            ref = True
        except AssertionError:
            ref = False
        try:
            assert_close(a, e, rtol=rtol, atol=atol, verbose=False)
            mine = True
        except AssertionError:
            mine = False
        assert mine == ref


def test_numerical_grad_matches_autograd(t, g):
    W = g.standard_normal((3, 4))

    def f(x):
        return np.sum(np.tanh(W @ x) ** 2)

    x = g.standard_normal(4)
    xt = t(x, requires_grad=True)
    (torch.tanh(t(W) @ xt) ** 2).sum().backward()
    assert_close(numerical_grad(f, x), xt.grad, rtol=1e-7, atol=1e-9, verbose=False)


def test_numerical_grad_keeps_shape_and_does_not_modify_input(g):
    x = g.standard_normal((2, 3))
    x0 = x.copy()
    grad = numerical_grad(lambda z: (z ** 2).sum(), x)
    assert grad.shape == x.shape
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-8)


def test_numerical_grad_rejects_bad_input():
    with pytest.raises(ValueError, match="must return a scalar"):
        numerical_grad(lambda z: z, np.ones(2))
    with pytest.raises(ValueError, match="eps must be > 0"):
        numerical_grad(lambda z: z.sum(), np.ones(2), eps=0)
    with pytest.raises(TypeError, match="f must be callable"):
        numerical_grad(3, np.ones(2))
    with pytest.raises(TypeError, match="must hold real numbers"):
        numerical_grad(lambda z: z.sum(), np.array(["a"]))


@pytest.mark.parametrize(
    "kw",
    [
        dict(rtol=float("nan"), atol=0),
        dict(rtol=0, atol=float("nan")),
        dict(rtol=float("inf"), atol=0),
        dict(rtol=0, atol=float("inf")),
    ],
)
def test_nan_and_infinite_tolerances_are_refused(kw):
    """NaN bounds make comparisons False: `diff > bound` never fires, 1 vs 2 passed."""
    with pytest.raises(
        ValueError, match=r"assert_close: (rtol|atol) must be a finite number"
    ):
        assert_close(1.0, 2.0, **kw)
