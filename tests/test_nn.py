"""dlmath.nn (Chapters 5-6) against torch.nn: same weights, same input, same output
and gradients, in float64 over shapes and values drawn by hypothesis; and the error
paths."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import dlmath
from dlmath import functional as F
from dlmath import nn
from dlmath.autodiff import Tensor, apply_vjp
from dlmath.check import check_layer, to_torch

RTOL, ATOL = 1e-9, 1e-10
finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False, width=64)


def values(shape):
    """Float64 arrays of ``shape`` whose entries hypothesis draws (and shrinks)
    itself."""
    return arrays(np.float64, shape, elements=finite)


def batch_and_features(min_n=1, max_n=6, max_f=6):
    return st.tuples(st.integers(min_n, max_n), st.integers(1, max_f))


def torch_like(module, seed=0):
    """A float64 torch module with every parameter randomized (so γ ≠ 1, β ≠ 0)."""
    torch.manual_seed(seed)
    module = module.double()
    with torch.no_grad():
        for p in module.parameters():
            p.normal_()
    return module


# --------------------------------------------------------------------------- parity
@settings(max_examples=25, deadline=None)
@given(data=st.data(), nf=batch_and_features(), out=st.integers(1, 5),
       bias=st.booleans(), lead=st.lists(st.integers(1, 3), max_size=2))
def test_linear_matches_torch(data, nf, out, bias, lead):
    n, f = nf
    x = data.draw(values((*lead, n, f)))
    tm = torch_like(torch.nn.Linear(f, out, bias=bias))
    check_layer(nn.Linear.from_torch(tm), tm, x, rtol=RTOL, atol=ATOL, verbose=False)


ACTIVATIONS = [torch.nn.ReLU(), torch.nn.Sigmoid(), torch.nn.Tanh(), torch.nn.GELU(),
               torch.nn.GELU(approximate="tanh")]


@pytest.mark.parametrize("tm", ACTIVATIONS, ids=lambda m: repr(m))
@settings(max_examples=25, deadline=None)
@given(data=st.data(), shape=st.lists(st.integers(1, 4), min_size=1, max_size=3))
def test_activation_matches_torch(tm, data, shape):
    x = data.draw(values(tuple(shape)))
    check_layer(nn.from_torch(tm), tm, x, rtol=RTOL, atol=ATOL, verbose=False)


@settings(max_examples=30, deadline=None)
@given(data=st.data(), nf=batch_and_features(min_n=2),
       length=st.sampled_from([None, 1, 3]), momentum=st.sampled_from([0.1, 0.5, None]),
       affine=st.booleans(), steps=st.integers(1, 3))
def test_batchnorm1d_train_then_eval_matches_torch(data, nf, length, momentum, affine,
                                                   steps):
    n, c = nf
    shape = (n, c) if length is None else (n, c, length)
    tm = torch_like(torch.nn.BatchNorm1d(c, momentum=momentum, affine=affine))
    layer = nn.BatchNorm1d.from_torch(tm)
    for k in range(steps):                # running statistics accumulate over steps
        x = data.draw(values(shape).filter(lambda a: np.ptp(a, axis=0).min() > 1e-3))
        check_layer(layer, tm, x, rtol=1e-8, atol=1e-9, seed=k, verbose=False)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(layer.buffers[name], getattr(tm, name).cpu().numpy(),
                                   rtol=1e-12, atol=1e-12, err_msg=name)
    tm.eval(), layer.eval()
    check_layer(layer, tm, data.draw(values(shape)), rtol=RTOL, atol=ATOL,
                verbose=False)


@settings(max_examples=30, deadline=None)
@given(data=st.data(), lead=st.lists(st.integers(1, 3), min_size=1, max_size=2),
       norm=st.lists(st.integers(2, 4), min_size=1, max_size=2), affine=st.booleans(),
       bias=st.booleans())
def test_layernorm_matches_torch(data, lead, norm, affine, bias):
    x = data.draw(values((*lead, *norm)).filter(
        lambda a: a.reshape(-1, int(np.prod(norm))).std(axis=1).min() > 1e-3))
    tm = torch_like(torch.nn.LayerNorm(norm, elementwise_affine=affine, bias=bias))
    check_layer(nn.LayerNorm.from_torch(tm), tm, x, rtol=1e-8, atol=1e-9, verbose=False)


def test_sequential_mlp_matches_torch_with_dotted_names():
    tm = torch_like(torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(),
                                        torch.nn.Linear(8, 8), torch.nn.GELU(),
                                        torch.nn.Linear(8, 3)))
    model = nn.from_torch(tm)
    assert ([k for k, _ in model.named_parameters()]
            == [k for k, _ in tm.named_parameters()])
    check_layer(model, tm, np.random.default_rng(0).standard_normal((7, 5)), rtol=RTOL,
                atol=ATOL, verbose=False)
    assert set(model.grads) == set(dict(tm.named_parameters()))


@settings(max_examples=20, deadline=None)
@given(data=st.data(), nf=batch_and_features(), p=st.sampled_from([0.0, 0.3, 0.5, 1.0]))
def test_dropout_with_torchs_mask_matches_torch(data, nf, p):
    x = data.draw(values(nf))
    torch.manual_seed(int(data.draw(st.integers(0, 1000))))
    scaled = torch.nn.functional.dropout(torch.ones(nf, dtype=torch.float64), p)
    mask = scaled.numpy() != 0
    layer = nn.Dropout(p)
    y = layer(x, mask=mask)
    np.testing.assert_allclose(y, x * scaled.numpy(), rtol=1e-15, atol=0)
    dy = np.random.default_rng(0).standard_normal(nf)
    np.testing.assert_allclose(layer.backward(dy), dy * scaled.numpy(), rtol=1e-15,
                               atol=0)


def test_dropout_keeps_the_expectation_and_is_the_identity_in_eval():
    x = np.ones((400, 500))
    y = nn.Dropout(0.3, rng=np.random.default_rng(0))(x)
    assert abs(y.mean() - 1) < 4 * np.sqrt(0.3 / 0.7 / x.size)   # 4 standard errors
    assert set(np.unique(y)) == {0.0, 1 / 0.7}
    layer = nn.Dropout(0.3).eval()
    state = np.random.default_rng(5)
    layer.rng = state
    before = state.bit_generator.state
    np.testing.assert_array_equal(layer(x), x)
    assert state.bit_generator.state == before, "eval mode must not draw random numbers"


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_match_torch(reduction):
    g = np.random.default_rng(3)
    z, y = g.standard_normal((6, 4)), g.integers(0, 4, 6)
    tf = torch.nn.functional
    for layer, fn, target in [(nn.CrossEntropyLoss(reduction), tf.cross_entropy, y),
                              (nn.MSELoss(reduction), tf.mse_loss,
                               g.standard_normal((6, 4)))]:
        loss = layer(z, target)
        zt = to_torch(z, requires_grad=True)
        lt = fn(zt, to_torch(target), reduction=reduction)
        dl = g.standard_normal(np.shape(loss)) if reduction == "none" else 1.0
        dz = layer.backward(dl)
        lt.backward(to_torch(np.asarray(dl)) if reduction == "none" else None)
        np.testing.assert_allclose(loss, lt.detach().cpu().numpy(), rtol=1e-13,
                                   atol=1e-14)
        np.testing.assert_allclose(dz, zt.grad.cpu().numpy(), rtol=1e-12, atol=1e-14)


def test_training_steps_with_dlmath_optim_match_torch():
    """parameters()/gradients() in one order: dlmath.optim steps a model like
    torch.optim."""
    tm = torch_like(torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(),
                                        torch.nn.BatchNorm1d(16),
                                        torch.nn.Linear(16, 3)))
    tm = tm.to(dlmath.device())
    model = nn.from_torch(tm)
    opt, topt = dlmath.optim.Adam(model.parameters(), lr=0.01), \
        torch.optim.Adam(tm.parameters(), lr=0.01)
    crit = nn.CrossEntropyLoss()
    g = np.random.default_rng(0)
    for _ in range(5):
        x, y = g.standard_normal((10, 4)), g.integers(0, 3, 10)
        crit(model(x), y)
        model.backward(crit.backward())
        opt.step(model.gradients())
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tm(to_torch(x)), to_torch(y)).backward()
        topt.step()
    for (name, p), (_, tp) in zip(model.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(p, tp.detach().cpu().numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=name)


def test_state_dict_round_trips_through_torch():
    tm = torch_like(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)))
    model = nn.from_torch(tm)
    model(np.random.default_rng(0).standard_normal((5, 3)))      # updates running stats
    fresh = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)).double()
    fresh.load_state_dict({k: torch.as_tensor(v)
                           for k, v in model.state_dict().items()})
    for k, v in fresh.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), model.state_dict()[k], err_msg=k)
    params = model.parameters()
    model.load_state_dict(tm.state_dict())
    assert all(a is b for a, b in zip(params, model.parameters())), "loads in place"


def test_autodiff_adapter_uses_the_same_vjp():
    g = np.random.default_rng(1)
    xv, Wv = g.standard_normal((5, 3)), g.standard_normal((4, 3))
    bv = g.standard_normal(4)
    x, W, b = (Tensor(v, requires_grad=True) for v in (xv, Wv, bv))
    h = apply_vjp(F.linear_vjp, x, W, b)
    apply_vjp(F.layer_norm_vjp, h, 4).tanh().sum().backward()
    xt, Wt, bt = (to_torch(v, requires_grad=True) for v in (xv, Wv, bv))
    torch.nn.functional.layer_norm(torch.nn.functional.linear(xt, Wt, bt), (4,)) \
        .tanh().sum().backward()
    for mine, ref in [(x, xt), (W, Wt), (b, bt)]:
        np.testing.assert_allclose(mine.grad, ref.grad.cpu().numpy(), rtol=1e-10,
                                   atol=1e-12)


# ------------------------------------------------------------------------ initializers
INITS = [("xavier_uniform_", {}), ("xavier_normal_", {}), ("kaiming_uniform_", {}),
         ("kaiming_normal_", {}), ("kaiming_uniform_", {"a": 5 ** 0.5}),
         ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}),
         ("xavier_uniform_", {"gain": 5 / 3})]


@pytest.mark.parametrize("name,kw", INITS, ids=[f"{n}{k}" for n, k in INITS])
def test_initializers_draw_from_torchs_distribution(name, kw):
    """Same family, same scale: a two-sample KS test, the std and (uniform) the
    support."""
    from scipy.stats import ks_2samp

    shape = (64, 32, 3, 3)
    mine = getattr(nn.init, name)(np.empty(shape), rng=np.random.default_rng(0), **kw)
    torch.manual_seed(0)
    theirs = getattr(torch.nn.init, name)(torch.empty(shape, dtype=torch.float64),
                                          **kw).numpy()
    assert ks_2samp(mine.ravel(), theirs.ravel()).pvalue > 1e-3
    np.testing.assert_allclose(mine.std(), theirs.std(), rtol=0.02)
    if "uniform" in name:
        np.testing.assert_allclose(np.abs(mine).max(), np.abs(theirs).max(), rtol=1e-3)


def test_initializer_scale_is_not_just_similar_but_exact():
    """A 10% scale error must fail the KS test used above (the test has power)."""
    from scipy.stats import ks_2samp

    mine = nn.init.kaiming_normal_(np.empty((64, 32, 3, 3)),
                                   rng=np.random.default_rng(0))
    torch.manual_seed(0)
    theirs = torch.nn.init.kaiming_normal_(
        torch.empty(64, 32, 3, 3, dtype=torch.float64))
    assert ks_2samp(1.1 * mine.ravel(), theirs.numpy().ravel()).pvalue < 1e-6


def test_linear_init_matches_torchs_bounds():
    layer = nn.Linear(50, 400, rng=np.random.default_rng(0))
    bound = 1 / np.sqrt(50)
    for p in layer.parameters():
        assert np.abs(p).max() <= bound and np.abs(p).max() > 0.95 * bound


# --------------------------------------------------------------------------- clipping
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    g = np.random.default_rng(2)
    grads = [g.standard_normal(s) for s in [(3, 4), (4,), (2, 2)]]
    params = [torch.zeros(gr.shape, dtype=torch.float64, requires_grad=True)
              for gr in grads]
    for p, gr in zip(params, grads):
        p.grad = torch.tensor(gr)
    total_t = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    total = nn.clip_grad_norm_(grads + [None], max_norm, norm_type=norm_type)
    np.testing.assert_allclose(total, total_t.item(), rtol=1e-13)
    for p, gr in zip(params, grads):
        np.testing.assert_allclose(gr, p.grad.numpy(), rtol=1e-13, atol=0)


# --------------------------------------------------------------------------- errors
def test_backward_before_forward_is_a_clear_error():
    for layer in [nn.Linear(2, 3), nn.ReLU(), nn.BatchNorm1d(2),
                  nn.Sequential(nn.Linear(2, 2))]:
        with pytest.raises(RuntimeError, match="backward called before forward"):
            layer.backward(np.ones((1, 2)))


def test_wrong_input_width_names_the_shapes():
    with pytest.raises(ValueError, match=r"in_features=4\), got shape \(3, 5\)"):
        nn.Linear(4, 2)(np.ones((3, 5)))
    with pytest.raises(ValueError, match=r"C=3 channels.*\(4, 2\)"):
        nn.BatchNorm1d(3)(np.ones((4, 2)))
    with pytest.raises(ValueError,
                       match=r"normalized_shape \(4,\), got shape \(2, 3\)"):
        nn.LayerNorm(4)(np.ones((2, 3)))


def test_dout_of_the_wrong_shape_is_refused():
    layer = nn.Linear(4, 2)
    layer(np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"dout must have the output's shape \(3, 2\), "
                                         r"got \(3, 4\)"):
        layer.backward(np.ones((3, 4)))


def test_batchnorm_needs_more_than_one_value_per_channel_in_training():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(np.ones((1, 3)))
    nn.BatchNorm1d(3).eval()(np.ones((1, 3)))          # fine in evaluation


def test_bad_arguments_and_types():
    with pytest.raises(TypeError, match="torch.Tensor"):
        nn.Linear(2, 2)(torch.ones(1, 2))
    with pytest.raises(TypeError, match="in_features must be an int"):
        nn.Linear(2.5, 2)
    with pytest.raises(ValueError, match="probability in"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="approximate must be"):
        nn.GELU("sigmoid")
    with pytest.raises(ValueError, match="reduction must be"):
        nn.MSELoss("avg")
    with pytest.raises(TypeError, match="no dlmath layer for torch.nn.Conv3d"):
        nn.from_torch(torch.nn.Conv3d(1, 1, 1))
    with pytest.raises(ValueError, match=r"at least 2 dims, got shape \(3,\)"):
        nn.init.xavier_uniform_(np.empty(3))


def test_load_state_dict_checks_names_and_shapes():
    layer = nn.Linear(3, 2)
    with pytest.raises(KeyError, match=r"missing keys \['bias'\]"):
        layer.load_state_dict({"weight": np.zeros((2, 3))})
    with pytest.raises(ValueError,
                       match=r"weight must have shape \(2, 3\), got \(3, 2\)"):
        layer.load_state_dict({"weight": np.zeros((3, 2)), "bias": np.zeros(2)})


def test_check_layer_catches_a_wrong_backward():
    """The helper every chapter relies on fails on a layer with a broken gradient."""
    class BrokenLinear(nn.Linear):
        def forward(self, x):
            y = super().forward(x)
            shapes, vjp = self._ctx

            def wrong(dy):
                (dx,), grads = vjp(dy)
                # a mean, not a sum
                return (dx,), {**grads, "bias": grads["bias"] / len(dy)}
            self._ctx = (shapes, wrong)
            return y

    tm = torch_like(torch.nn.Linear(3, 2))
    layer = BrokenLinear(3, 2)
    layer.load_state_dict(tm.state_dict())
    with pytest.raises(AssertionError, match=r"grads\['bias'\]"):
        check_layer(layer, tm, np.ones((4, 3)), rtol=1e-9, atol=1e-12, verbose=False)
