"""Every Chapter 13 check accepts the notebook's solution and rejects a stub, a
function returning its argument or None, and at least three plausible wrong
answers (among them: the plain mean over unequal shards, an online softmax that
forgets to rescale the running sum)."""
import numpy as np
import pytest

from dlmath import flash
from dlmath.exercises import ch13
from tests.notebook_solutions import solutions

NB = "chapters/13_scaling_efficiency/"
DP = solutions(NB + "01_data_parallelism.ipynb")
LP = solutions(NB + "03_low_precision.ipynb")
FA = solutions(NB + "04_efficient_attention.ipynb")


def stub(*args):
    raise NotImplementedError()


def returns_none(*args):
    return None


def returns_first(*args):
    return args[0]


# ----------------------------------------------------------------- 13.1 loss weights
def weights_plain_mean(sizes):                   # DDP's default: every c_r = 1
    return np.ones(len(sizes))


def weights_share(sizes):                        # n_r / n: forgets DDP divides by p
    s = np.asarray(sizes, float)
    return s / s.sum()


def weights_inverse(sizes):                      # 1 / n_r
    return 1.0 / np.asarray(sizes, float)


def weights_list_too_short(sizes):
    return (len(sizes) * np.asarray(sizes, float) / np.sum(sizes))[:-1]


# ------------------------------------------------------------- 13.2 ring all-reduce
def ring_reduce_scatter_only(N, p, alpha, beta):
    return (p - 1) * (alpha + beta * N / p)


def ring_no_division(N, p, alpha, beta):         # sends the whole vector each step
    return 2 * (p - 1) * (alpha + beta * N)


def ring_one_latency(N, p, alpha, beta):         # a single α for the whole operation
    return alpha + 2 * (p - 1) * beta * N / p


def ring_p_steps(N, p, alpha, beta):             # 2p steps, not 2(p - 1)
    return 2 * p * (alpha + beta * N / p)


# ---------------------------------------------------------------- 13.3 float format
def format_eps_not_u(e, t):                      # machine epsilon instead of u
    b = 2 ** (e - 1) - 1
    return 2.0 ** -t, (2 - 2.0 ** -t) * 2.0 ** b, 2.0 ** (1 - b)


def format_max_overflow(e, t):                   # counts the reserved exponent
    b = 2 ** (e - 1) - 1
    return 2.0 ** -(t + 1), (2 - 2.0 ** -t) * 2.0 ** (b + 1), 2.0 ** (1 - b)


def format_tiny_subnormal(e, t):                 # the smallest subnormal, not normal
    b = 2 ** (e - 1) - 1
    return 2.0 ** -(t + 1), (2 - 2.0 ** -t) * 2.0 ** b, 2.0 ** (1 - b - t)


def format_max_power(e, t):                      # 2^(b+1): forgets 2 - 2^-t < 2
    b = 2 ** (e - 1) - 1
    return 2.0 ** -(t + 1), 2.0 ** (b + 1), 2.0 ** (1 - b)


def format_from_finfo(e, t):                     # right numbers, not derived
    import torch
    fi = torch.finfo({(5, 10): torch.float16, (8, 7): torch.bfloat16,
                      (8, 23): torch.float32, (11, 52): torch.float64,
                      (5, 2): torch.float8_e5m2}[(e, t)])
    return fi.eps / 2, fi.max, fi.tiny


# -------------------------------------------------------------- 13.4 online softmax
def online_no_rescale(m, l, x):                  # forgets to rescale the running sum
    m_new = np.maximum(m, x.max(axis=1))
    return m_new, l + np.exp(x - m_new[:, None]).sum(axis=1)


def online_block_max_only(m, l, x):              # measures each block from its own max
    mb = x.max(axis=1)
    return np.maximum(m, mb), l + np.exp(x - mb[:, None]).sum(axis=1)


def online_rescale_wrong_way(m, l, x):           # e^(m' - m) instead of e^(m - m')
    m_new = np.maximum(m, x.max(axis=1))
    with np.errstate(invalid="ignore", over="ignore"):
        fac = np.where(np.isfinite(m), np.exp(m_new - m), 0.0)
    return m_new, l * fac + np.exp(x - m_new[:, None]).sum(axis=1)


def online_unstable(m, l, x):                    # no max at all: overflows
    with np.errstate(over="ignore"):
        return np.maximum(m, x.max(axis=1)), l + np.exp(x).sum(axis=1)


# ------------------------------------------------------------------- 13.5 merge
def merge_average(y1, lse1, y2, lse2):
    return (y1 + y2) / 2


def merge_exp_weights(y1, lse1, y2, lse2):       # right idea, overflows
    with np.errstate(over="ignore", invalid="ignore"):
        w1, w2 = np.exp(lse1)[..., None], np.exp(lse2)[..., None]
        return (w1 * y1 + w2 * y2) / (w1 + w2)


def merge_lse_weights(y1, lse1, y2, lse2):       # weights by lse, not e^lse
    w1, w2 = lse1[..., None], lse2[..., None]
    return (w1 * y1 + w2 * y2) / (w1 + w2)


def merge_unnormalized(y1, lse1, y2, lse2):      # forgets to divide by w1 + w2
    m = np.maximum(lse1, lse2)
    return np.exp(lse1 - m)[..., None] * y1 + np.exp(lse2 - m)[..., None] * y2


def merge_with_dlmath(y1, lse1, y2, lse2):       # correct, but not by hand
    return flash.merge_attention(y1, lse1, y2, lse2)[0]


CASES = [
    ("check_ddp_loss_weights", DP["ddp_loss_weights"],
     [weights_plain_mean, weights_share, weights_inverse, weights_list_too_short]),
    ("check_ring_allreduce_time", DP["ring_allreduce_time"],
     [ring_reduce_scatter_only, ring_no_division, ring_one_latency, ring_p_steps]),
    ("check_float_format", LP["float_format"],
     [format_eps_not_u, format_max_overflow, format_tiny_subnormal, format_max_power,
      format_from_finfo]),
    ("check_online_softmax_update", FA["online_update"],
     [online_no_rescale, online_block_max_only, online_rescale_wrong_way,
      online_unstable]),
    ("check_merge_attention", FA["merge_attention"],
     [merge_average, merge_exp_weights, merge_lse_weights, merge_unnormalized,
      merge_with_dlmath]),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("check, solution, wrong", CASES, ids=IDS)
def test_check_accepts_the_notebook_solution(check, solution, wrong, capsys):
    getattr(ch13, check)(solution)
    getattr(ch13, check)(solution, seed=12345)
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("check, solution, wrong", CASES, ids=IDS)
def test_check_rejects_a_stub(check, solution, wrong):
    with pytest.raises(AssertionError, match="not attempted"):
        getattr(ch13, check)(stub)


@pytest.mark.parametrize("check, solution, wrong", CASES, ids=IDS)
@pytest.mark.parametrize("lazy", [returns_none, returns_first])
def test_check_rejects_none_and_the_argument_clearly(check, solution, wrong, lazy):
    with pytest.raises(AssertionError,
                       match=r"Exercise 13\.\d .*(None|expected|wrong)"):
        getattr(ch13, check)(lazy)


@pytest.mark.parametrize("check, solution, wrong", CASES, ids=IDS)
def test_check_rejects_wrong_answers(check, solution, wrong):
    assert len(wrong) >= 3
    for fn in wrong:
        with pytest.raises(AssertionError, match=r"Exercise 13\.\d"):
            getattr(ch13, check)(fn)
