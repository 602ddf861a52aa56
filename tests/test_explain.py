"""dlmath.explain against Captum (float64), its axioms, and its errors on bad input.

Captum 0.9 facts the tests rely on (shown in Chapter 12): its IG nodes and weights
are float32 (``float32=True`` reproduces them), and Occlusion and the Shapley
classes return float32, so those comparisons are at float32 precision.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import (InputXGradient, IntegratedGradients, NoiseTunnel, Occlusion,
                         Saliency, ShapleyValues, ShapleyValueSampling)
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmath import explain, nn
from dlmath.check import assert_close
from tests.strategies import float_arrays

SETTINGS = settings(max_examples=15, deadline=None)


def _net(seed: int, d: int = 6, k: int = 3, act=torch.nn.Tanh):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(d, 5), act(),
                               torch.nn.Linear(5, k)).double()


def _cnn(seed: int):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.Flatten(), torch.nn.Linear(2 * 25, 3)).double()


X_6 = float_arrays((3, 6), -2.0, 2.0)
SEEDS = st.integers(0, 2 ** 16)


# ----------------------------------------------------------------- gradients
@SETTINGS
@given(X_6, SEEDS, st.integers(0, 2))
def test_saliency_and_input_x_gradient_match_captum(x, seed, target):
    net = _net(seed)
    m = explain.torch_model(net, target=target)
    xt = torch.tensor(x, requires_grad=True)
    assert_close(explain.saliency(m, x), Saliency(net).attribute(xt, target=target),
                 rtol=1e-12, atol=1e-14, verbose=False)
    assert_close(explain.saliency(m, x, abs=False),
                 Saliency(net).attribute(xt, target=target, abs=False),
                 rtol=1e-12, atol=1e-14, verbose=False)
    assert_close(explain.input_x_gradient(m, x),
                 InputXGradient(net).attribute(xt, target=target),
                 rtol=1e-12, atol=1e-14, verbose=False)


def test_nn_model_gradient_equals_torch_model_gradient():
    net = _net(0, act=torch.nn.ReLU)
    x = np.random.default_rng(0).standard_normal((4, 6))
    target = np.array([0, 1, 2, 1])
    a = explain.torch_model(net, target=target)
    b = explain.nn_model(nn.Sequential.from_torch(net), target=target)
    assert_close(b[0](x), a[0](x), rtol=1e-12, atol=1e-14, verbose=False)
    assert_close(b[1](x), a[1](x), rtol=1e-12, atol=1e-14, verbose=False)


@SETTINGS
@given(X_6, SEEDS, st.integers(1, 8), st.floats(0.05, 1.0))
def test_smoothgrad_matches_noise_tunnel_with_the_same_noise(x, seed, n, sigma):
    net = _net(seed)
    xt = torch.tensor(x, requires_grad=True)
    torch.manual_seed(seed)
    noise = torch.normal(0, torch.tensor(sigma).repeat((len(x) * n, 6)))
    noise = noise.double().numpy().reshape(len(x), n, 6)
    torch.manual_seed(seed)
    ref = NoiseTunnel(Saliency(net)).attribute(xt, nt_type="smoothgrad", nt_samples=n,
                                               stdevs=sigma, target=1, abs=False)
    got = explain.smoothgrad(explain.torch_model(net, target=1), x, noise=noise)
    assert_close(got, ref, rtol=1e-12, atol=1e-14, verbose=False)


def test_smoothgrad_standard_error_shrinks_like_one_over_root_n():
    net = _net(0)
    m, x = explain.torch_model(net, target=0), np.ones((1, 6))
    g = np.random.default_rng(0)
    _, se4 = explain.smoothgrad(m, x, stdev=1.0, n_samples=400, rng=g, return_std=True)
    _, se1 = explain.smoothgrad(m, x, stdev=1.0, n_samples=100, rng=g, return_std=True)
    assert 1.6 < np.median(se1 / se4) < 2.4          # sqrt(400 / 100) = 2


# ----------------------------------------------------------------- integrated gradients
@SETTINGS
@given(X_6, SEEDS, st.sampled_from(["riemann_left", "riemann_right", "riemann_middle",
                                    "riemann_trapezoid", "gausslegendre"]),
       st.integers(2, 40), st.booleans())
def test_integrated_gradients_match_captum_exactly(x, seed, method, n, zero_base):
    net = _net(seed)
    base = np.zeros_like(x) if zero_base else np.full_like(x, 0.3)
    ref = IntegratedGradients(net).attribute(torch.tensor(x), torch.tensor(base),
                                             target=2, n_steps=n, method=method)
    got = explain.integrated_gradients(explain.torch_model(net, target=2), x, base,
                                       n_steps=n, method=method, float32=True)
    assert_close(got, ref, rtol=1e-11, atol=1e-13, verbose=False)


def test_float64_gauss_legendre_differs_from_captum_only_by_float32_weights():
    net = _net(1)
    x = np.random.default_rng(1).standard_normal((4, 6))
    ref = IntegratedGradients(net).attribute(torch.tensor(x), target=0)
    got = explain.integrated_gradients(explain.torch_model(net, target=0), x)
    assert_close(got, ref, rtol=1e-6, atol=1e-9, verbose=False)
    with pytest.raises(AssertionError):
        assert_close(got, ref, rtol=1e-13, atol=1e-15, verbose=False)


@pytest.mark.parametrize("n", [2, 3, 10, 50])
def test_riemann_trapezoid_weights_sum_to_n_minus_1_over_n(n):
    from captum.attr._utils.approximation_methods import approximation_parameters

    steps, alphas = approximation_parameters("riemann_trapezoid")
    a, w = explain.quadrature("riemann_trapezoid", n, float32=True)
    assert np.array_equal(a, np.array(alphas(n)))
    assert np.array_equal(w, np.array(steps(n), dtype=np.float32).astype(np.float64))
    _, w64 = explain.quadrature("riemann_trapezoid", n)
    assert abs(w64.sum() - (n - 1) / n) < 1e-15
    _, wt = explain.quadrature("trapezoid", n)
    assert abs(wt.sum() - 1) < 1e-15


@pytest.mark.parametrize("method, order", [("riemann_left", 1), ("riemann_middle", 2),
                                           ("trapezoid", 2)])
def test_completeness_error_has_the_rules_order(method, order):
    net = _net(3)
    m = explain.torch_model(net, target=1)
    x = np.random.default_rng(3).normal(size=(5, 6))
    gap = [np.abs(explain.completeness_gap(
        m, explain.integrated_gradients(m, x, n_steps=n, method=method), x)).max()
        for n in (32, 64)]
    assert 2 ** order * 0.8 < gap[0] / gap[1] < 2 ** order * 1.25


def test_gauss_legendre_completeness_to_rounding():
    net = _net(4)
    m = explain.torch_model(net, target=0)
    x = np.random.default_rng(4).normal(size=(5, 6))
    ig = explain.integrated_gradients(m, x, n_steps=40)
    assert np.abs(explain.completeness_gap(m, ig, x)).max() < 1e-12


# ----------------------------------------------------------------- occlusion
@SETTINGS
@given(float_arrays((2, 1, 5, 5), 0.0, 1.0), SEEDS, st.integers(1, 5),
       st.integers(1, 3), st.floats(-1.0, 1.0))
def test_occlusion_matches_captum(x, seed, w, s, base):
    s = min(s, w)
    net = _cnn(seed)
    ref = Occlusion(net).attribute(torch.tensor(x), sliding_window_shapes=(1, w, w),
                                   strides=(1, s, s), target=0, baselines=base)
    got = explain.occlusion(explain.torch_model(net, target=0), x, (1, w, w),
                            stride=(1, s, s), baseline=base)
    assert_close(got, ref, rtol=2.4e-7, atol=1e-7, verbose=False)   # float32 output


# ----------------------------------------------------------------- Shapley values
@SETTINGS
@given(float_arrays((2, 5), -2.0, 2.0), SEEDS)
def test_exact_shapley_matches_captum_shapley_values(x, seed):
    net = _net(seed, d=5)
    ref = ShapleyValues(net).attribute(torch.tensor(x), target=1)
    got = explain.shapley_exact(explain.torch_model(net, target=1), x)
    assert_close(got, ref, rtol=1e-5, atol=1e-5, verbose=False)    # float32 output


@SETTINGS
@given(float_arrays((2, 6), -2.0, 2.0), SEEDS, st.integers(1, 12))
def test_sampled_shapley_matches_captum_on_the_same_orders(x, seed, n):
    net = _net(seed)
    mask = np.array([0, 0, 1, 2, 2, 3])
    torch.manual_seed(seed)
    perms = np.array([torch.randperm(4).tolist() for _ in range(n)])
    torch.manual_seed(seed)
    ref = ShapleyValueSampling(net).attribute(
        torch.tensor(x), target=0, n_samples=n, feature_mask=torch.tensor(mask)[None])
    got = explain.shapley_sampled(explain.torch_model(net, target=0), x,
                                  feature_mask=mask, permutations=perms)
    assert_close(got, ref, rtol=1e-5, atol=1e-5, verbose=False)    # float32 output


@SETTINGS
@given(float_arrays((3, 5), -2.0, 2.0), SEEDS)
def test_shapley_axioms(x, seed):
    net = _net(seed, d=5)
    m = explain.torch_model(net, target=2)
    phi = explain.shapley_exact(m, x, 0.5)
    delta = explain.scores(m, x) - explain.scores(m, np.full_like(x, 0.5))
    assert_close(phi.sum(axis=1), delta, rtol=1e-10, atol=1e-12, verbose=False)
    dummy = explain.torch_model(lambda X: net(X[:, :4].repeat(1, 2)[:, :5] * 0
                                              + X[:, :4].sum(1, keepdim=True))[:, 0])
    assert np.all(explain.shapley_exact(dummy, x)[:, 4] == 0.0)


def test_sampled_shapley_is_unbiased_within_its_standard_error():
    net = _net(5)
    m = explain.torch_model(net, target=1)
    x = np.random.default_rng(5).normal(size=(2, 6))
    exact = explain.shapley_exact(m, x)
    est, se = explain.shapley_sampled(m, x, n_samples=400,
                                      rng=np.random.default_rng(0), return_std=True)
    assert np.all(np.abs(est - exact) < 4 * se + 1e-12)


def test_rank_correlation_matches_scipy_with_ties():
    from scipy.stats import spearmanr

    g = np.random.default_rng(0)
    for _ in range(5):
        a, b = g.integers(0, 4, 30).astype(float), g.standard_normal(30)
        assert abs(explain.rank_correlation(a, b) - spearmanr(a, b).statistic) < 1e-12


# ----------------------------------------------------------------- bad input
@pytest.fixture
def model():
    return explain.torch_model(_net(0), target=0)


def test_baseline_of_the_wrong_shape(model):
    with pytest.raises(ValueError, match="baseline must be"):
        explain.integrated_gradients(model, np.ones((2, 6)), np.zeros(5))
    with pytest.raises(ValueError, match="baseline must be"):
        explain.shapley_exact(model, np.ones((2, 6)), np.zeros((3, 6)))


@pytest.mark.parametrize("n", [0, -3])
def test_n_steps_below_one(model, n):
    with pytest.raises(ValueError, match="n_steps must be >= 1"):
        explain.integrated_gradients(model, np.ones((2, 6)), n_steps=n)


def test_trapezoid_needs_two_points(model):
    with pytest.raises(ValueError, match="needs n_steps >= 2"):
        explain.integrated_gradients(model, np.ones((2, 6)), n_steps=1,
                                     method="trapezoid")


def test_unknown_quadrature(model):
    with pytest.raises(ValueError, match="method must be one of"):
        explain.integrated_gradients(model, np.ones((2, 6)), method="simpson")


def test_window_larger_than_the_input():
    m = explain.torch_model(_cnn(0), target=0)
    with pytest.raises(ValueError, match="larger than the input"):
        explain.occlusion(m, np.ones((1, 1, 5, 5)), (1, 6, 2))
    with pytest.raises(ValueError, match="stride .* larger than the window"):
        explain.occlusion(m, np.ones((1, 1, 5, 5)), (1, 2, 2), stride=(1, 3, 1))
    with pytest.raises(ValueError, match="one entry per feature dim"):
        explain.occlusion(m, np.ones((1, 1, 5, 5)), (2, 2))


def test_model_not_returning_one_score_per_example():
    all_logits = explain.torch_model(_net(0))               # (N, 3): no target
    for call in (lambda: explain.saliency(all_logits, np.ones((2, 6))),
                 lambda: explain.integrated_gradients(all_logits, np.ones((2, 6))),
                 lambda: explain.occlusion(all_logits, np.ones((2, 6)), 2),
                 lambda: explain.shapley_exact(all_logits, np.ones((2, 6)))):
        with pytest.raises(ValueError, match="one score per example"):
            call()
    wrong_targets = explain.torch_model(_net(0), target=[0, 1, 2])
    with pytest.raises(ValueError, match="3 targets for a batch of 2"):
        explain.integrated_gradients(wrong_targets, np.ones((2, 6)))


def test_other_bad_inputs(model):
    with pytest.raises(TypeError, match="model must be a \\(forward, gradient\\)"):
        explain.saliency(lambda X: X, np.ones((2, 6)))
    with pytest.raises(ValueError, match="must be a batch"):
        explain.saliency(model, np.ones(6))
    with pytest.raises(TypeError, match="numpy array, got a torch.Tensor"):
        explain.saliency(model, torch.ones(2, 6))
    with pytest.raises(ValueError, match="noise must be"):
        explain.smoothgrad(model, np.ones((2, 6)), noise=np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match="feature_mask ids must be 0..M-1"):
        explain.shapley_exact(model, np.ones((2, 6)), feature_mask=np.array([0, 2] * 3))
    with pytest.raises(ValueError, match="raise max_players"):
        explain.shapley_exact(model, np.ones((1, 6)), max_players=4)
    with pytest.raises(ValueError, match="permutations must be"):
        explain.shapley_sampled(model, np.ones((1, 6)), permutations=np.zeros((2, 6),
                                                                              int))
    with pytest.raises(ValueError, match="same size"):
        explain.rank_correlation(np.ones(3), np.ones(4))


def test_blur_keeps_constants_and_mass_and_checks_its_input():
    x = np.random.default_rng(0).random((2, 1, 8, 8))
    assert_close(explain.blur(np.full((1, 1, 5, 5), 0.7)), np.full((1, 1, 5, 5), 0.7),
                 rtol=1e-15, atol=1e-15, verbose=False)
    inner = explain.blur(np.pad(x, ((0, 0), (0, 0), (4, 4), (4, 4))))
    assert abs(inner.sum() - x.sum()) < 1e-12          # zero edges: no mass lost
    with pytest.raises(ValueError, match=r"must have 4 dims \(N, C, H, W\)"):
        explain.blur(np.ones((8, 8)))
