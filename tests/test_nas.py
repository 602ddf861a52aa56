"""dlmath.nas: budget arithmetic against exact enumeration and Hyperband's own table,
the top-quantile probability against simulation, DARTS's gradient against autograd,
and bad inputs."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmath import nas
from dlmath.check import assert_close


def test_hyperband_brackets_match_li_et_al_table_1():
    # Li et al. (2018), Table 1: R = 81, eta = 3 (n_i, r_i) per bracket
    table = [[(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
             [(34, 3), (11, 9), (3, 27), (1, 81)],
             [(15, 9), (5, 27), (1, 81)],
             [(8, 27), (2, 81)],
             [(5, 81)]]
    got = [[(n, round(r)) for n, r in b] for b in nas.hyperband_brackets(81, 3)]
    assert got == table


@given(k=st.integers(1, 6), eta=st.integers(2, 4), r=st.integers(1, 5))
def test_successive_halving_budget_is_n_r_times_rounds(k, eta, r):
    n = eta ** k                       # n a power of eta: every rung spends n r
    rungs = nas.successive_halving_rungs(n, r, eta)
    assert len(rungs) == k + 1 and rungs[-1][0] == 1
    assert nas.rungs_budget(rungs) == n * r * (k + 1)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 200), eta=st.integers(2, 5), seed=st.integers(0, 1000))
def test_run_spends_what_the_rungs_say_and_keeps_the_best(n, eta, seed):
    g = np.random.default_rng(seed)
    quality = g.permutation(n)
    calls = []

    def evaluate(c, budget):
        calls.append(budget)
        return quality[c] + 0.0 / budget

    best, history, used = nas.successive_halving(range(n), evaluate, 1, eta)
    assert used == sum(calls) == nas.rungs_budget(nas.successive_halving_rungs(n, 1,
                                                                               eta))
    assert quality[best] == 0          # a noise-free loss: the best survives
    assert [len(h) for h in history] == [ni for ni, _ in
                                         nas.successive_halving_rungs(n, 1, eta)]


@given(q=st.floats(0.001, 0.5), p=st.floats(0.01, 0.999))
def test_draws_for_top_quantile_is_the_least_n(q, p):
    n = nas.draws_for_top_quantile(q, p)
    assert nas.top_quantile_probability(q, n) >= p - 1e-12
    assert n == 1 or nas.top_quantile_probability(q, n - 1) < p + 1e-12


def test_top_quantile_probability_matches_simulation():
    g = np.random.default_rng(0)
    hits = (g.random((200_000, 20)) < 0.05).any(axis=1).mean()
    # binomial standard error about 1e-3: five of them
    assert abs(hits - nas.top_quantile_probability(0.05, 20)) < 5e-3
    assert math.isclose(nas.top_quantile_probability(0.05, 60), 1 - 0.95 ** 60)


@settings(max_examples=20, deadline=None)
@given(K=st.integers(1, 6), seed=st.integers(0, 2**31))
def test_mixed_op_and_its_gradient_match_autograd(K, seed):
    g = np.random.default_rng(seed)
    O, a, dy = g.standard_normal((K, 3, 4)), 2 * g.standard_normal(K), \
        g.standard_normal((3, 4))
    Ot = torch.tensor(O, requires_grad=True)
    at = torch.tensor(a, requires_grad=True)
    y = torch.tensordot(torch.softmax(at, 0), Ot, dims=1)
    (y * torch.tensor(dy)).sum().backward()
    assert_close(nas.mixed_op(O, a), y.detach(), rtol=1e-12, atol=1e-12,
                 verbose=False)
    dO, da = nas.mixed_op_vjp(O, a, dy)
    assert_close(dO, Ot.grad, rtol=1e-12, atol=1e-12, verbose=False)
    assert_close(da, at.grad, rtol=1e-10, atol=1e-12, verbose=False)


@pytest.mark.parametrize("call, match", [
    (lambda: nas.successive_halving_rungs(27, 0.5, 3), "budget r must be >= 1"),
    (lambda: nas.successive_halving_rungs(27, 1, 0.5), "eta must be > 1"),
    (lambda: nas.successive_halving_rungs(27, 1, 1), "eta must be > 1"),
    (lambda: nas.successive_halving_rungs(0, 1, 3), "n must be >= 1"),
    (lambda: nas.successive_halving_rungs(9, 1, 3, rounds=4), "leave no config"),
    (lambda: nas.hyperband_brackets(0.5, 3), "budget R must be >= 1"),
    (lambda: nas.hyperband_brackets(81, 0.9), "eta must be > 1"),
    (lambda: nas.top_quantile_probability(1.5, 3), r"q must be a fraction in \(0, 1\)"),
    (lambda: nas.draws_for_top_quantile(0.1, 1.0), r"p must be in \(0, 1\)"),
    (lambda: nas.mixed_op(np.ones((3, 2)), np.ones(2)), "K = 2 candidates"),
])
def test_bad_inputs_are_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_non_numbers_are_type_errors():
    with pytest.raises(TypeError):
        nas.hyperband_brackets("81", 3)
    with pytest.raises(TypeError):
        nas.successive_halving(range(3), "not callable", 1, 3)
