"""dlmath.functional (Chapter 3) and dlmath.probability against torch in float64.

``linear`` is tested in tests/test_linalg.py.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import dlmath
from dlmath import functional as F
from dlmath import probability as P
from dlmath.check import assert_close
from strategies import class_targets, float_arrays, probabilities

SCALES = [1e-3, 1.0, 30.0, 1e4]


def tt(x, requires_grad=False):
    """float64 tensor on the reference device (for hypothesis tests: no ``t``
    fixture)."""
    return torch.tensor(np.asarray(x, dtype=np.float64), device=dlmath.device(),
                        requires_grad=requires_grad)


def close(a, e, rtol=1e-12, atol=1e-12):
    assert_close(a, e, rtol=rtol, atol=atol, verbose=False)


shapes = st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)
scales = st.sampled_from([1e-3, 1.0, 10.0, 300.0, 1e4])


# ---------------------------------------------------------------- softmax family

@settings(max_examples=40, deadline=None)
@given(shape=shapes, scale=scales, data=st.data())
def test_softmax_logsoftmax_logsumexp_match_torch(shape, scale, data):
    x = data.draw(float_arrays(shape, -scale, scale))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    tx = tt(x)
    close(F.softmax(x, axis), torch.softmax(tx, dim=axis), rtol=1e-12, atol=1e-15)
    # log-probabilities: the absolute error scales with the logits' magnitude
    close(F.log_softmax(x, axis), torch.log_softmax(tx, dim=axis), rtol=1e-13,
          atol=1e-13 * scale)
    close(
        F.logsumexp(x, axis),
        torch.logsumexp(tx, dim=axis),
        rtol=1e-13,
        atol=1e-13 * scale,
    )
    close(
        F.logsumexp(x, axis, keepdims=True),
        torch.logsumexp(tx, dim=axis, keepdim=True),
        rtol=1e-13,
        atol=1e-13 * scale,
    )


def test_softmax_extreme_logits_are_finite(t):
    x = np.array([[1e4, -1e4, 0.0], [1e4, 1e4 - 1.0, -1e4], [-1e4, -1e4, -1e4]])
    for out in (F.softmax(x), F.log_softmax(x), F.logsumexp(x)):
        assert np.all(np.isfinite(out))
    close(F.softmax(x), torch.softmax(t(x), -1), atol=1e-15)
    close(F.log_softmax(x), torch.log_softmax(t(x), -1))
    close(F.logsumexp(x), torch.logsumexp(t(x), -1))
    assert np.allclose(F.softmax(x).sum(-1), 1.0, rtol=0, atol=1e-15)


def test_logsumexp_infinities_match_torch(t):
    x = np.array([[-np.inf, -np.inf], [np.inf, 0.0], [-np.inf, 2.0]])
    close(F.logsumexp(x), torch.logsumexp(t(x), -1))


def test_sigmoid_matches_torch(t, g):
    for scale in SCALES:
        x = scale * g.standard_normal((4, 5))
        close(F.sigmoid(x), torch.sigmoid(t(x)), rtol=1e-14, atol=1e-300)
    assert F.sigmoid(np.array(-1e4)) == 0.0 and F.sigmoid(np.array(1e4)) == 1.0


@pytest.mark.parametrize("scale", SCALES)
def test_softmax_jacobian_matches_autograd(t, g, scale):
    x = scale * g.standard_normal((3, 5))
    J = F.softmax_jacobian(x)
    assert J.shape == (3, 5, 5)
    for n in range(3):
        ref = torch.autograd.functional.jacobian(
            lambda z: torch.softmax(z, -1), t(x[n])
        )
        close(J[n], ref, atol=1e-15)
    close(J.sum(axis=-1), np.zeros((3, 5)), atol=1e-15)


# ---------------------------------------------------------------- losses

@settings(max_examples=40, deadline=None)
@given(N=st.integers(1, 6), C=st.integers(1, 6), scale=scales, data=st.data())
def test_cross_entropy_and_grad_match_torch(N, C, scale, data):
    z = data.draw(float_arrays((N, C), -scale, scale))
    y = data.draw(class_targets(N, C))
    tz = tt(z, requires_grad=True)
    ty = torch.as_tensor(y, device=tz.device)
    for reduction in ("mean", "sum", "none"):
        ref = TF.cross_entropy(tz, ty, reduction=reduction)
        close(
            F.cross_entropy(z, y, reduction=reduction),
            ref,
            rtol=1e-13,
            atol=1e-13 * scale,
        )
    for reduction in ("mean", "sum"):
        (grad,) = torch.autograd.grad(TF.cross_entropy(tz, ty, reduction=reduction), tz)
        close(F.cross_entropy_grad(z, y, reduction=reduction), grad, atol=1e-15)


def test_tiny_log_probabilities_are_not_rounded_to_the_logits_spacing(t):
    # found by hypothesis: z - logsumexp(z) rounds -log(1 + e^-28) to the spacing of
    # 28 (0.2% off); the shift must be subtracted first, as torch does
    z, y = np.array([[28.0, 0.0]]), np.array([0])
    tz = t(z, requires_grad=True)
    close(F.log_softmax(z, axis=1), torch.log_softmax(tz, 1), rtol=1e-12, atol=0)
    (grad,) = torch.autograd.grad(TF.cross_entropy(tz, torch.as_tensor(y)), tz)
    close(F.cross_entropy_grad(z, y), grad, rtol=1e-12, atol=0)


def test_cross_entropy_at_1e4(t):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]])
    y = np.array([1, 0])
    loss = F.cross_entropy(z, y)
    assert np.isfinite(loss)
    close(loss, TF.cross_entropy(t(z), torch.as_tensor(y, device=t(z).device)))


@settings(max_examples=40, deadline=None)
@given(shape=shapes, scale=scales, hard=st.booleans(), data=st.data())
def test_bce_with_logits_and_grad_match_torch(shape, scale, hard, data):
    x = data.draw(float_arrays(shape, -scale, scale))
    y = data.draw(
        float_arrays(shape, 0.0, 1.0).map(np.round if hard else (lambda v: v))
    )
    tx = tt(x, requires_grad=True)
    for reduction in ("mean", "sum", "none"):
        ref = TF.binary_cross_entropy_with_logits(tx, tt(y), reduction=reduction)
        close(F.binary_cross_entropy_with_logits(x, y, reduction=reduction), ref,
              rtol=1e-13, atol=1e-14 * scale)
    for reduction in ("mean", "sum"):
        (grad,) = torch.autograd.grad(
            TF.binary_cross_entropy_with_logits(tx, tt(y), reduction=reduction), tx)
        close(F.binary_cross_entropy_with_logits_grad(x, y, reduction=reduction), grad,
              atol=1e-15)


# ---------------------------------------------------------------- entropy and KL

def _probs(g, shape, zeros=False):
    p = g.random(shape)
    if zeros:
        p[..., 0] = 0.0
    return p / p.sum(-1, keepdims=True)


@pytest.mark.parametrize("zeros", [False, True])
def test_entropy_and_kl_on_probs_match_torch(t, g, zeros):
    p, q = _probs(g, (4, 6), zeros), _probs(g, (4, 6))
    Cp, Cq = (
        torch.distributions.Categorical(probs=t(p)),
        torch.distributions.Categorical(probs=t(q)),
    )
    close(F.entropy(p), Cp.entropy())
    close(F.kl_divergence(p, q), torch.distributions.kl_divergence(Cp, Cq))
    close(F.kl_divergence(p, q), TF.kl_div(t(q).log(), t(p), reduction="none").sum(-1))
    close(F.entropy(p.T, axis=0), Cp.entropy())
    close(F.kl_divergence(p.T, q.T, axis=0), torch.distributions.kl_divergence(Cp, Cq))


def test_kl_is_inf_where_q_misses_p_and_zero_for_equal(g):
    p, q = np.array([0.5, 0.5]), np.array([1.0, 0.0])
    assert F.kl_divergence(p, q) == np.inf
    assert F.kl_divergence(q, p) == pytest.approx(np.log(2), rel=1e-15)
    r = _probs(g, (3, 5))
    close(F.kl_divergence(r, r), np.zeros(3), atol=0)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, scale=scales, data=st.data())
def test_entropy_and_kl_from_logits_match_torch(shape, scale, data):
    zp, zq = (data.draw(float_arrays(shape, -scale, scale)) for _ in range(2))
    Cp = torch.distributions.Categorical(logits=tt(zp))
    close(F.entropy(zp, logits=True), Cp.entropy(), rtol=1e-12, atol=1e-12 * scale)
    ref = TF.kl_div(torch.log_softmax(tt(zq), -1), torch.log_softmax(tt(zp), -1),
                    reduction="none", log_target=True).sum(-1)
    kl = F.kl_divergence(zp, zq, logits=True)
    assert np.all(np.isfinite(kl)) and np.all(kl >= -1e-12 * scale)
    close(kl, ref, rtol=1e-12, atol=1e-12 * scale)


@settings(max_examples=50, deadline=None)
@given(C=st.integers(1, 8), data=st.data())
def test_information_laws(C, data):
    """Gibbs: KL >= 0; 0 <= H(p) <= log C; H(p, q) = H(p) + KL(p || q).
    Drawn p and q reach
    one-hots and zeros, where KL is +inf (q = 0 where p > 0) and 0 log 0 counts 0."""
    p, q = data.draw(probabilities((3, C))), data.draw(probabilities((3, C)))
    kl, H = F.kl_divergence(p, q), F.entropy(p)
    assert np.all(kl >= -1e-15)
    assert np.all(H >= -1e-15) and np.all(H <= np.log(C) + 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = -np.where(p > 0, p * np.log(q), 0.0).sum(-1)
    close(cross, H + kl, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- bad input

def test_cross_entropy_bad_target():
    z = np.zeros((3, 4))
    with pytest.raises(
        ValueError,
        match=r"target must be integer class indices of shape "
        r"\(3,\), got float64 \(3,\)",
    ):
        F.cross_entropy(z, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"got int64 \(3, 1\)"):
        F.cross_entropy(z, np.zeros((3, 1), dtype=np.int64))
    with pytest.raises(
        ValueError, match=r"class indices in \[0, 3\], got values in \[0, 4\]"
    ):
        F.cross_entropy(z, np.array([0, 1, 4]))
    with pytest.raises(ValueError, match=r"got values in \[-1, 1\]"):
        F.cross_entropy_grad(z, np.array([0, 1, -1]))
    with pytest.raises(ValueError,
                       match=r"class indices of shape \(\), got int64 \(1,\)"):
        F.cross_entropy(np.zeros(4), np.array([1]))     # (C,) logits: one sample
    with pytest.raises(
        TypeError, match="target must be a numpy array, got a torch.Tensor"
    ):
        F.cross_entropy(z, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.cross_entropy(z, np.array([0, 1, 2]), reduction="avg")
    with pytest.raises(ValueError, match="needs a scalar loss"):
        F.cross_entropy_grad(z, np.array([0, 1, 2]), reduction="none")


def test_probabilities_bad_input():
    with pytest.raises(
        ValueError,
        match=r"entropy: p must sum to 1 along axis -1 "
        r"\(tolerance 1e-06\), got sums in \[0\.9, 0\.9\]",
    ):
        F.entropy(np.array([0.5, 0.4]))
    with pytest.raises(
        ValueError, match="kl_divergence: q must be non-negative probabilities"
    ):
        F.kl_divergence(np.array([0.5, 0.5]), np.array([1.5, -0.5]))
    with pytest.raises(ValueError, match="kl_divergence: p must sum to 1"):
        F.kl_divergence(np.array([0.5, 0.6]), np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="must be finite probabilities"):
        F.entropy(np.array([np.nan, 1.0]))
    with pytest.raises(ValueError, match="p and q must broadcast"):
        F.kl_divergence(np.full(2, 0.5), np.full(3, 1 / 3))
    with pytest.raises(ValueError, match=r"axis 2 is out of range for shape \(3,\)"):
        F.softmax(np.zeros(3), axis=2)
    with pytest.raises(TypeError, match="axis must be an int"):
        F.logsumexp(np.zeros(3), axis=0.5)
    with pytest.raises(ValueError, match="at least 1 dim"):
        F.softmax(np.array(1.0))
    with pytest.raises(ValueError, match=r"target must hold probabilities in \[0, 1\]"):
        F.binary_cross_entropy_with_logits(np.zeros(2), np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match=r"target must have the shape of input \(2,\)"):
        F.binary_cross_entropy_with_logits(np.zeros(2), np.zeros(3))
    # within tolerance is accepted
    assert np.isfinite(F.entropy(np.array([0.5, 0.5 + 1e-9])))


# ---------------------------------------------------------------- dlmath.probability

def test_log_probs_match_torch_distributions(t, g):
    x, mu, s = g.standard_normal(6), g.standard_normal(6), g.random(6) + 0.1
    close(
        P.normal_log_prob(x, mu, s),
        torch.distributions.Normal(t(mu), t(s)).log_prob(t(x)),
    )
    xb, pb = g.integers(0, 2, 6).astype(float), g.random(6) * 0.98 + 0.01
    close(P.bernoulli_log_prob(xb, pb),
          torch.distributions.Bernoulli(probs=t(pb)).log_prob(t(xb)))
    pc = _probs(g, (5, 4))
    xc = g.integers(0, 4, 5)
    close(
        P.categorical_log_prob(xc, pc),
        torch.distributions.Categorical(probs=t(pc)).log_prob(
            torch.as_tensor(xc, device=t(pc).device)
        ),
    )
    with pytest.raises(ValueError, match="scale must be > 0"):
        P.normal_log_prob(0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="x must hold outcomes 0 or 1"):
        P.bernoulli_log_prob(np.array([0.5]), 0.5)
    with pytest.raises(ValueError, match="probs must sum to 1"):
        P.categorical_log_prob(np.array([0]), np.array([0.2, 0.2]))
    with pytest.raises(ValueError, match="x must be integer class indices"):
        P.categorical_log_prob(np.array([0.0]), np.array([0.5, 0.5]))


def test_beta_bernoulli_update():
    assert P.beta_bernoulli_update(1.0, 1.0, np.array([1, 0, 1, 1])) == (4.0, 2.0)
    with pytest.raises(ValueError, match="a must be > 0"):
        P.beta_bernoulli_update(0.0, 1.0, np.array([1]))


def test_bayesian_linear_regression_matches_torch(t, g):
    X, y = g.standard_normal((20, 3)), g.standard_normal(20)
    tau2, sigma2 = 2.0, 0.3
    post = P.bayesian_linear_regression(X, y, tau2, sigma2)
    tX = t(X)
    # Another route to the same posterior: condition the joint Gaussian of (w, y), with
    # Cov(w, y) = τ² Xᵀ and Cov(y) = τ² X Xᵀ + σ² I (an n x n solve, not our d x d
    # inverse)
    eye_n = torch.eye(20, dtype=tX.dtype, device=tX.device)
    Kyy = tau2 * tX @ tX.T + sigma2 * eye_n
    cov_ref = tau2 * torch.eye(3, dtype=tX.dtype, device=tX.device) \
        - tau2 ** 2 * tX.T @ torch.linalg.solve(Kyy, tX)
    close(post.cov, cov_ref, rtol=1e-10, atol=1e-12)
    close(
        post.mean, tau2 * tX.T @ torch.linalg.solve(Kyy, t(y)), rtol=1e-10, atol=1e-12
    )
    # posterior mean = ridge solution with lambda = sigma^2 / tau^2
    ridge = torch.linalg.solve(
        tX.T @ tX + sigma2 / tau2 * torch.eye(3, dtype=tX.dtype, device=tX.device),
        tX.T @ t(y),
    )
    close(post.mean, ridge, rtol=1e-10)
    Xn = g.standard_normal((4, 3))
    m, v = P.blr_predict(post, Xn)
    close(m, t(Xn) @ ridge, rtol=1e-10)
    close(v, sigma2 + ((t(Xn) @ cov_ref) * t(Xn)).sum(1), rtol=1e-10)
    with pytest.raises(ValueError, match=r"y must be \(20,\) to match X"):
        P.bayesian_linear_regression(X, y[:5], 1.0, 1.0)
    with pytest.raises(ValueError, match=r"X_new must be \(m, 3\)"):
        P.blr_predict(post, np.ones((2, 2)))


def test_accuracy_confidence_interval():
    lo, hi = P.accuracy_confidence_interval(80, 100, method="normal")
    z = torch.distributions.Normal(0.0, 1.0).icdf(
        torch.tensor(0.975, dtype=torch.float64)
    )
    half = float(z) * np.sqrt(0.8 * 0.2 / 100)
    assert (lo, hi) == pytest.approx((0.8 - half, 0.8 + half), rel=1e-12)
    # Wilson: the endpoints are the two roots a of (â - a)² = z² a (1 - a) / n
    for correct, n, level in [
        (80, 100, 0.95),
        (3, 10, 0.9),
        (0, 25, 0.99),
        (49, 50, 0.8),
    ]:
        lo, hi = P.accuracy_confidence_interval(correct, n, level=level)
        zz = float(torch.distributions.Normal(0.0, 1.0).icdf(
            torch.tensor(0.5 + level / 2, dtype=torch.float64))) ** 2
        a_hat = correct / n
        roots = np.sort(np.roots([1 + zz / n, -(2 * a_hat + zz / n), a_hat ** 2]).real)
        assert (lo, hi) == pytest.approx(
            tuple(np.clip(roots, 0, 1)), rel=1e-12, abs=1e-15
        )
        assert lo <= a_hat <= hi
    assert P.accuracy_confidence_interval(10, 10, method="normal") == (1.0, 1.0)
    assert P.accuracy_confidence_interval(10, 10)[0] < 1.0    # Wilson does not collapse
    with pytest.raises(ValueError, match=r"correct must be an int in \[0, 10\]"):
        P.accuracy_confidence_interval(11, 10)
    with pytest.raises(ValueError, match="method must be"):
        P.accuracy_confidence_interval(1, 10, method="exact")


def test_vjps_added_for_torchs_own_configurations_refuse_bad_input():
    """unfold_vjp, binary_cross_entropy_with_logits_vjp and 0-d softmax (added for
    torch's module_db/op_db configurations, tests/test_conformance_torch.py, which
    checks their values against torch) name what is wrong."""
    x = np.zeros((2, 3, 5, 5))
    y, vjp = F.unfold_vjp(x, 2)
    assert y.shape == (2, 12, 16)
    with pytest.raises(ValueError, match=r"unfold: dout must have the output's shape"):
        vjp(np.zeros((2, 12, 15)))
    y, vjp = F.unfold_vjp(x[0], 2)                   # one (C, H, W) image
    assert y.shape == (12, 16) and vjp(np.ones(y.shape))[0].shape == (3, 5, 5)
    loss, vjp = F.binary_cross_entropy_with_logits_vjp(np.zeros(3), np.ones(3),
                                                       reduction="none")
    with pytest.raises(ValueError, match="binary_cross_entropy_with_logits: dout"):
        vjp(np.ones(4))
    with pytest.raises(ValueError, match=r"softmax: dim must be 0, -1 or None for a "
                                         r"0-d input, got dim=1"):
        F.softmax_vjp(np.float64(2.0), dim=1)
    p, vjp = F.softmax_vjp(np.float64(2.0), dim=0)
    assert p == 1.0 and vjp(np.float64(3.0))[0] == 0.0
