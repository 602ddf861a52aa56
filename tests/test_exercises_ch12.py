"""Every Chapter 12 check accepts the notebook's solution (visible and hidden cases)
and rejects a stub, returns of the wrong kind, and at least three plausible wrong
answers."""
import math

import numpy as np
import pytest

from dlmath.exercises import ch12
from tests.notebook_solutions import check_calls, solutions

NB = "chapters/12_explainability/"
NB1 = NB + "01_gradients_as_explanations.ipynb"
NB2 = NB + "02_integrated_gradients.ipynb"
NB3 = NB + "03_perturbation_and_shapley.ipynb"
NB4 = NB + "04_sanity_checks.ipynb"
GRAD, IG, SHAP, SANITY = (solutions(NB1), solutions(NB2), solutions(NB3),
                          solutions(NB4))


def stub(*args):
    raise NotImplementedError()


def _Phi(z):
    return 0.5 * (1 + np.array([math.erf(v / math.sqrt(2)) for v in np.ravel(z)]))


# ------------------------------------------------------------ 12.1 wrong answers
def sg_no_norm(w, b, x, sigma):                  # forgets ||w|| in the scale
    return w[None] * _Phi((x @ w + b) / sigma)[:, None]


def sg_pdf(w, b, x, sigma):                      # density instead of probability
    z = (x @ w + b) / (sigma * np.linalg.norm(w))
    return w[None] * (np.exp(-z ** 2 / 2) / np.sqrt(2 * np.pi))[:, None]


def sg_raw_gradient(w, b, x, sigma):             # no smoothing at all
    return w[None] * ((x @ w + b) > 0)[:, None]


# ------------------------------------------------------------ 12.2 wrong answers
def igq_no_delta(A, b, x, x0):                   # missing the (x - x') factor
    S = 0.5 * (A + A.T)
    return S @ (x + x0) / 2 + b


def igq_gradient_at_x(A, b, x, x0):              # gradient at x, not the path mean
    S = 0.5 * (A + A.T)
    return (x - x0) * (S @ x + b)


def igq_not_symmetrized(A, b, x, x0):            # ∇(½xᵀAx) taken as A x
    return (x - x0) * (A @ (x + x0) / 2 + b)


def igq_torch(A, b, x, x0):                      # right, but not by hand
    import torch
    return torch.tensor((x - x0) * (0.5 * (A + A.T) @ (x + x0) / 2 + b))


# ------------------------------------------------------------ 12.3 wrong answers
def _rule(gradient, x, baseline, alphas, weights):
    g = sum(w * gradient(baseline + a * (x - baseline))
            for a, w in zip(alphas, weights))
    return (x - baseline) * g


def igm_left(gradient, x, baseline, n):          # left Riemann instead of midpoint
    return _rule(gradient, x, baseline, np.arange(n) / n, np.full(n, 1 / n))


def igm_right(gradient, x, baseline, n):
    return _rule(gradient, x, baseline, np.arange(1, n + 1) / n, np.full(n, 1 / n))


def igm_no_delta(gradient, x, baseline, n):      # missing the (x - x') factor
    a = (np.arange(n) + 0.5) / n
    return sum(gradient(baseline + t * (x - baseline)) for t in a) / n


def igm_captum_trapezoid(gradient, x, baseline, n):   # weights summing to (n-1)/n
    w = np.full(n, 1 / n)
    w[[0, -1]] /= 2
    return _rule(gradient, x, baseline, np.linspace(0, 1, n), w)


# ------------------------------------------------------------ 12.4 wrong answers
def te_first_order(dh0, dh1, n):                 # h instead of h²
    return (dh1 - dh0) / (12 * n)


def te_midpoint_constant(dh0, dh1, n):           # the midpoint rule's -1/24
    return -(dh1 - dh0) / (24 * n ** 2)


def te_wrong_sign(dh0, dh1, n):
    return -(dh1 - dh0) / (12 * n ** 2)


def te_sixth(dh0, dh1, n):                       # 1/6 instead of 1/12
    return (dh1 - dh0) / (6 * n ** 2)


# ------------------------------------------------------------ 12.5 wrong answers
def sh_unweighted(v):                            # all coalitions weighted equally
    phi = np.zeros(3)
    for i in range(3):
        for s in range(8):
            if not s >> i & 1:
                phi[i] += (v[s | 1 << i] - v[s]) / 4
    return phi


def sh_first(v):                                 # marginal to the empty set only
    return np.array([v[1 << i] - v[0] for i in range(3)])


def sh_leave_one_out(v):                         # v(all) - v(all without i)
    return np.array([v[7] - v[7 & ~(1 << i)] for i in range(3)])


def sh_size_weights_only(v):                     # 1/3 per size, not per coalition
    phi = np.zeros(3)
    for i in range(3):
        for s in range(8):
            if not s >> i & 1:
                phi[i] += (v[s | 1 << i] - v[s]) / 3
    return phi


# ------------------------------------------------------------ 12.6 wrong answers
def _pearson(a, b):
    a, b = np.ravel(a) - np.mean(a), np.ravel(b) - np.mean(b)
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def sp_ordinal(a, b):                            # ties broken by position
    return _pearson(np.argsort(np.argsort(np.ravel(a), kind="stable")),
                    np.argsort(np.argsort(np.ravel(b), kind="stable")))


def sp_pearson(a, b):                            # correlation of values, not ranks
    return _pearson(a, b)


def sp_min_rank(a, b):                           # ties get their lowest rank
    def r(v):
        v = np.ravel(v)
        return np.searchsorted(np.sort(v), v, side="left").astype(float)
    return _pearson(r(a), r(b))


CASES = [
    ("check_smoothgrad_relu", GRAD["smoothgrad_relu"],
     [sg_no_norm, sg_pdf, sg_raw_gradient]),
    ("check_ig_quadratic", IG["ig_quadratic"],
     [igq_no_delta, igq_gradient_at_x, igq_not_symmetrized, igq_torch]),
    ("check_ig_midpoint", IG["ig_midpoint"],
     [igm_left, igm_right, igm_no_delta, igm_captum_trapezoid]),
    ("check_trapezoid_error", IG["trapezoid_error"],
     [te_first_order, te_midpoint_constant, te_wrong_sign, te_sixth]),
    ("check_shapley_3", SHAP["shapley_3"],
     [sh_unweighted, sh_first, sh_leave_one_out, sh_size_weights_only]),
    ("check_spearman", SANITY["spearman"], [sp_ordinal, sp_pearson, sp_min_rank]),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("check, solution, wrong", CASES, ids=IDS)
def test_check_accepts_the_notebook_solution(check, solution, wrong, capsys):
    getattr(ch12, check)(solution)
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("check, solution, wrong", CASES, ids=IDS)
def test_check_rejects_a_stub(check, solution, wrong):
    with pytest.raises(AssertionError, match="not attempted"):
        getattr(ch12, check)(stub)


@pytest.mark.parametrize("check, solution, wrong", CASES, ids=IDS)
def test_check_rejects_wrong_answers(check, solution, wrong):
    assert len(wrong) >= 3
    for fn in wrong:
        with pytest.raises(AssertionError, match="Exercise 12"):
            getattr(ch12, check)(fn)


@pytest.mark.parametrize("check", IDS)
@pytest.mark.parametrize("bad", [lambda *a: None, lambda *a: 0.0,
                                 lambda *a: np.zeros(7), lambda *a: a[0]],
                         ids=["None", "zero", "wrong-shape", "argument"])
def test_check_says_what_is_wrong_on_bad_returns(check, bad):
    with pytest.raises(AssertionError, match="Exercise 12") as err:
        getattr(ch12, check)(bad)
    assert "TypeError" not in str(err.value) or "expected" in str(err.value)


@pytest.mark.parametrize("path", [NB1, NB2, NB3, NB4])
def test_every_visible_and_hidden_call_accepts_the_notebook_solution(path, capsys):
    calls = check_calls(path)
    assert any(seed is not None for *_, seed in calls), "no hidden cases"
    for module, check, fn, seed in calls:
        kw = {} if seed is None else {"seed": seed}
        getattr(ch12, check)(solutions(path)[fn], **kw)
    assert capsys.readouterr().out.count("✓") == sum(seed is None for *_, seed in calls)
