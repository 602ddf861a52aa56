"""dlmath.generative (Chapter 10) against torch and torch.distributions in float64,
with the bad inputs each function refuses."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import dlmath
from dlmath import generative as G
from dlmath.check import assert_close
from strategies import float_arrays

D = torch.distributions


def tt(x, requires_grad=False):
    return torch.tensor(np.asarray(x, dtype=np.float64), device=dlmath.device(),
                        requires_grad=requires_grad)


def close(a, e, rtol=1e-12, atol=1e-12):
    assert_close(a, e, rtol=rtol, atol=atol, verbose=False)


shapes = st.tuples(st.integers(1, 4), st.integers(1, 5))


# ---------------------------------------------------------------------- KL
@settings(max_examples=40, deadline=None)
@given(shape=shapes, data=st.data())
def test_gaussian_kl_matches_torch_distributions(shape, data):
    mu_q = data.draw(float_arrays(shape, -5, 5))
    mu_p = data.draw(float_arrays(shape, -5, 5))
    var_q = np.exp(data.draw(float_arrays(shape, -4, 4)))
    var_p = np.exp(data.draw(float_arrays(shape, -4, 4)))
    ref = D.kl_divergence(D.Normal(tt(mu_q), tt(var_q).sqrt()),
                          D.Normal(tt(mu_p), tt(var_p).sqrt()))
    close(G.gaussian_kl(mu_q, var_q, mu_p, var_p, axis=None), ref, rtol=1e-10,
          atol=1e-11)
    close(G.gaussian_kl(mu_q, var_q, mu_p, var_p), ref.sum(-1), rtol=1e-10,
          atol=1e-10)
    # the default prior N(0, 1), and KL >= 0 with equality at q = p
    ref0 = D.kl_divergence(D.Normal(tt(mu_q), tt(var_q).sqrt()),
                           D.Normal(tt(0 * mu_q), tt(1 + 0 * mu_q))).sum(-1)
    close(G.gaussian_kl(mu_q, var_q), ref0, rtol=1e-10, atol=1e-10)
    assert np.all(G.gaussian_kl(mu_q, var_q, mu_p, var_p) >= -1e-12)
    close(G.gaussian_kl(mu_q, var_q, mu_q, var_q), np.zeros(shape[0]), atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, data=st.data())
def test_gaussian_kl_vjp_matches_autograd(shape, data):
    mu = data.draw(float_arrays(shape, -5, 5))
    logvar = data.draw(float_arrays(shape, -4, 4))
    dkl = data.draw(float_arrays(shape[:1], -2, 2))
    kl, vjp = G.gaussian_kl_vjp(mu, logvar)
    tm, tl = tt(mu, True), tt(logvar, True)
    q = D.Normal(tm, (0.5 * tl).exp())
    ref = D.kl_divergence(q, D.Normal(torch.zeros_like(tm), torch.ones_like(tm)))
    ref = ref.sum(-1)
    close(kl, ref, rtol=1e-10, atol=1e-10)
    gm, gl = torch.autograd.grad(ref, (tm, tl), tt(dkl))
    dmu, dlogvar = vjp(dkl)
    close(dmu, gm, rtol=1e-10, atol=1e-10)
    close(dlogvar, gl, rtol=1e-10, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(shape=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3)),
       data=st.data())
def test_reparameterize_and_vjp_match_torch(shape, data):
    mu = data.draw(float_arrays(shape, -5, 5))
    logvar = data.draw(float_arrays(shape, -4, 4))
    eps = data.draw(float_arrays(shape, -3, 3))
    dz = data.draw(float_arrays(shape, -2, 2))
    tm, tl = tt(mu, True), tt(logvar, True)
    ref = tm + torch.exp(0.5 * tl) * tt(eps)
    z, vjp = G.reparameterize_vjp(mu, logvar, eps)
    close(z, ref)
    close(G.reparameterize(mu, logvar, eps), ref)
    gm, gl = torch.autograd.grad(ref, (tm, tl), tt(dz))
    dmu, dlogvar = vjp(dz)
    close(dmu, gm)
    close(dlogvar, gl)


def test_reparameterized_samples_have_the_target_moments():
    g = np.random.default_rng(0)
    n = 200_000
    mu, logvar = np.array([1.0, -2.0]), np.array([0.5, -1.0])
    z = G.reparameterize(np.tile(mu, (n, 1)), np.tile(logvar, (n, 1)),
                         g.standard_normal((n, 2)))
    sd = np.exp(0.5 * logvar)
    # 5 standard errors of the mean and of the variance (sd² sqrt(2 / n))
    close(z.mean(0), mu, rtol=0, atol=5 * sd.max() / np.sqrt(n))
    close(z.var(0), sd ** 2, rtol=0, atol=5 * (sd ** 2).max() * np.sqrt(2 / n))


# ---------------------------------------------------------------------- DDPM
@settings(max_examples=30, deadline=None)
@given(T=st.integers(1, 50), n=st.integers(1, 6), data=st.data())
def test_schedule_and_q_sample_match_torch(T, n, data):
    betas = np.sort(data.draw(float_arrays((T,), 1e-4, 0.5)))
    sch = G.ddpm_schedule(betas)
    tb = tt(betas)
    close(sch.alphas, 1 - tb)
    close(sch.alpha_bars, torch.cumprod(1 - tb, 0), rtol=1e-12, atol=1e-300)
    x0 = data.draw(float_arrays((n, 3), -3, 3))
    eps = data.draw(float_arrays((n, 3), -3, 3))
    t = np.asarray(data.draw(st.lists(st.integers(1, T), min_size=n, max_size=n)))
    ab = torch.cumprod(1 - tb, 0)[torch.as_tensor(t - 1)][:, None]
    ref = ab.sqrt() * tt(x0) + (1 - ab).sqrt() * tt(eps)
    close(G.q_sample(x0, t, eps, sch), ref)


def test_q_sample_moments_match_the_closed_form():
    g = np.random.default_rng(1)
    sch = G.linear_beta_schedule(100)
    n, x0 = 100_000, np.full((100_000, 1), 2.0)
    for t in (1, 30, 100):
        x = G.q_sample(x0, t, g.standard_normal((n, 1)), sch)
        ab = sch.alpha_bars[t - 1]
        se = np.sqrt((1 - ab) / n)
        close(x.mean(), np.sqrt(ab) * 2.0, rtol=0, atol=5 * se)
        close(x.var(), 1 - ab, rtol=0, atol=5 * (1 - ab) * np.sqrt(2 / n))


@settings(max_examples=30, deadline=None)
@given(T=st.integers(2, 40), data=st.data())
def test_ddpm_step_matches_torch(T, data):
    betas = np.sort(data.draw(float_arrays((T,), 1e-4, 0.5)))
    sch = G.ddpm_schedule(betas)
    t = data.draw(st.integers(1, T))
    x_t, e, z = (data.draw(float_arrays((3, 2), -3, 3)) for _ in range(3))
    tb = tt(betas)
    ab = torch.cumprod(1 - tb, 0)[t - 1]
    ref = (tt(x_t) - tb[t - 1] / (1 - ab).sqrt() * tt(e)) / (1 - tb[t - 1]).sqrt()
    if t > 1:
        ref = ref + tb[t - 1].sqrt() * tt(z)
    close(G.ddpm_step(x_t, e, t, z, sch), ref, rtol=1e-12, atol=1e-10)


def test_ddpm_step_is_the_posterior_mean_plus_noise():
    sch = G.linear_beta_schedule(10, 0.01, 0.2)
    g = np.random.default_rng(2)
    x_t, e, z = g.standard_normal((3, 4, 2))
    t = 5
    b, a, ab = sch.betas[t - 1], sch.alphas[t - 1], sch.alpha_bars[t - 1]
    ref = (tt(x_t) - b / np.sqrt(1 - ab) * tt(e)) / np.sqrt(a) + np.sqrt(b) * tt(z)
    close(G.ddpm_step(x_t, e, t, z, sch), ref)
    close(G.ddpm_step(x_t, e, 1, z, sch),
          (x_t - sch.betas[0] / np.sqrt(1 - sch.alpha_bars[0]) * e)
          / np.sqrt(sch.alphas[0]))
    # with the true noise the mean is exactly the posterior mean of x_{t-1}
    x0 = g.standard_normal((4, 2))
    xt = np.sqrt(ab) * x0 + np.sqrt(1 - ab) * e
    abm = sch.alpha_bars[t - 2]
    post = (np.sqrt(abm) * b / (1 - ab) * x0
            + np.sqrt(a) * (1 - abm) / (1 - ab) * xt)
    close(G.ddpm_step(xt, e, t, 0 * z, sch), post)


# ---------------------------------------------------------------------- coupling
def _net(D_, seed):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(D_, 8), torch.nn.Tanh(),
                              torch.nn.Linear(8, 2 * D_)).double()

    def st(v):
        h = net(v)
        return torch.tanh(h[:, :D_]), h[:, D_:]
    return st


@settings(max_examples=25, deadline=None)
@given(D_=st.integers(2, 5), n=st.integers(1, 4), seed=st.integers(0, 100),
       data=st.data())
def test_coupling_logdet_matches_autograd_jacobian_and_inverts(D_, n, seed, data):
    mask = np.array(data.draw(st.lists(st.integers(0, 1), min_size=D_, max_size=D_)))
    if mask.all() or not mask.any():
        mask[0] = 1 - mask[0]
    stn = _net(D_, seed)
    x = data.draw(float_arrays((n, D_), -3, 3))
    y, logdet = G.coupling_forward(tt(x), mask, stn)
    for i in range(n):
        J = torch.autograd.functional.jacobian(
            lambda v: G.coupling_forward(v[None], mask, stn)[0][0], tt(x[i]))
        close(logdet[i], torch.linalg.slogdet(J)[1], rtol=1e-10, atol=1e-10)
    xb, logdet_inv = G.coupling_inverse(y, mask, stn)
    close(xb, tt(x), rtol=1e-12, atol=1e-12)
    close(logdet_inv, -logdet)

    def st_np(v):                  # numpy in, numpy out: the same numbers
        s_, t_ = stn(tt(v))
        return s_.detach().numpy(), t_.detach().numpy()

    y_np, ld_np = G.coupling_forward(x, mask, st_np)
    close(y_np, y)
    close(ld_np, logdet)
    close(G.coupling_inverse(y_np, mask, st_np)[0], x)


# ---------------------------------------------------------------------- bad input
def test_bad_inputs_raise_clear_errors():
    ones = np.ones((2, 3))
    with pytest.raises(ValueError, match="var_q must be > 0"):
        G.gaussian_kl(ones, -ones)
    with pytest.raises(ValueError, match="var_p must be > 0"):
        G.gaussian_kl(ones, ones, 0.0, 0.0)
    with pytest.raises(ValueError, match="does not broadcast"):
        G.gaussian_kl(ones, np.ones((2, 4)))
    with pytest.raises(ValueError, match="would change mu_q's shape"):
        G.gaussian_kl(ones, np.ones((5, 2, 3)))
    with pytest.raises(TypeError, match="real numbers"):
        G.gaussian_kl(np.array(["a"]), 1.0)
    with pytest.raises(TypeError, match="torch.Tensor"):
        G.gaussian_kl(torch.ones(2), 1.0)
    with pytest.raises(ValueError, match="same shape"):
        G.gaussian_kl_vjp(ones, np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"2 dims \(N, d\)"):
        G.gaussian_kl_vjp(np.ones(3), np.ones(3))
    _, vjp = G.gaussian_kl_vjp(ones, ones)
    with pytest.raises(ValueError, match="dkl must have shape"):
        vjp(np.ones(3))
    with pytest.raises(ValueError, match="mu, logvar, eps must have the same shape"):
        G.reparameterize(ones, ones, np.ones((2, 2)))
    with pytest.raises(ValueError, match="logvar must be finite"):
        G.reparameterize(ones, ones * np.inf, ones)
    _, vjp = G.reparameterize_vjp(ones, ones, ones)
    with pytest.raises(ValueError, match="dz must have"):
        vjp(np.ones(3))
    for betas, msg in [([0.1, 1.0], r"in \(0, 1\)"), ([0.0, 0.1], r"in \(0, 1\)"),
                       ([-0.1, 0.2], r"in \(0, 1\)"), ([0.2, 0.1], "non-decreasing"),
                       ([], "at least one"), ([[0.1]], "1 dims")]:
        with pytest.raises(ValueError, match=msg):
            G.ddpm_schedule(betas)
    sch = G.linear_beta_schedule(10)
    with pytest.raises(ValueError, match=r"t must lie in 1..10"):
        G.q_sample(ones, 0, ones, sch)
    with pytest.raises(ValueError, match=r"t must lie in 1..10"):
        G.q_sample(ones, np.array([1, 11]), ones, sch)
    with pytest.raises(TypeError, match="integer time steps"):
        G.q_sample(ones, 1.5, ones, sch)
    with pytest.raises(ValueError, match="shape \\(2,\\)"):
        G.q_sample(ones, np.array([1, 2, 3]), ones, sch)
    with pytest.raises(TypeError, match="DDPMSchedule"):
        G.q_sample(ones, 1, ones, sch.betas)
    with pytest.raises(ValueError, match="same shape"):
        G.q_sample(ones, 1, np.ones((2, 2)), sch)
    with pytest.raises(ValueError, match=r"t must lie in 1..10"):
        G.ddpm_step(ones, ones, 11, ones, sch)
    with pytest.raises(TypeError, match="t must be an int"):
        G.ddpm_step(ones, ones, 2.0, ones, sch)

    def ident(v):
        return 0 * v, 0 * v

    for mask, msg in [(np.array([1, 0]), r"mask must have shape \(D,\) = \(3,\)"),
                      (np.ones((3, 1)), "mask must have shape"),
                      (np.array([1, 0, 2]), "only 0s and 1s"),
                      (np.array([1, 1, 1]), "some coordinates"),
                      (np.array([0, 0, 0]), "some coordinates")]:
        with pytest.raises(ValueError, match=msg):
            G.coupling_forward(ones, mask, ident)
        with pytest.raises(ValueError, match=msg):
            G.coupling_inverse(ones, mask, ident)
    m = np.array([1, 0, 1])
    with pytest.raises(ValueError, match=r"x must have 2 dims"):
        G.coupling_forward(np.ones(3), m, ident)
    with pytest.raises(ValueError, match="st_net must return s of the input's shape"):
        G.coupling_forward(ones, m, lambda v: (v[:, :2], v))
    with pytest.raises(TypeError, match="pair"):
        G.coupling_forward(ones, m, lambda v: v)
    with pytest.raises(TypeError, match="callable"):
        G.coupling_forward(ones, m, None)
    with pytest.raises(ValueError, match=r"float \(N, D\) tensor"):
        G.coupling_forward(torch.ones(3), m, ident)
