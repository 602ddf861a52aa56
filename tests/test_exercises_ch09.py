"""Every Chapter 9 check accepts the notebook's solution and rejects a stub and
at least three plausible wrong answers."""
import numpy as np

from dlmath import functional as F
from dlmath.exercises import ch09
from tests.exercise_cases import Case, exercise_tests
from tests.notebook_solutions import solutions

NB = "chapters/09_attention_transformers/"
SDPA = solutions(NB + "01_scaled_dot_product_attention.ipynb")
MHA = solutions(NB + "02_multihead_attention_positions.ipynb")
GPT = solutions(NB + "03_transformer_block_tiny_gpt.ipynb")


def stub(*args):
    raise NotImplementedError()


def _softmax(A):
    P = np.exp(A - A.max(axis=-1, keepdims=True))
    return P / P.sum(axis=-1, keepdims=True)


def _parts(q, k, v, s, dy):
    S = q @ np.swapaxes(k, -1, -2)
    P = _softmax(s * S)
    dP = dy @ np.swapaxes(v, -1, -2)
    return S, P, dP


# ----------------------------------------------------------------- wrong answers
def scale_grad_no_jacobian(q, k, v, s, dy):      # treats softmax as the identity
    S, P, dP = _parts(q, k, v, s, dy)
    return float(np.sum(dP * S))


def scale_grad_diag_only(q, k, v, s, dy):        # keeps diag(p), drops -p pᵀ
    S, P, dP = _parts(q, k, v, s, dy)
    return float(np.sum(P * dP * S))


def scale_grad_times_s(q, k, v, s, dy):          # a stray factor s
    S, P, dP = _parts(q, k, v, s, dy)
    dA = P * (dP - (dP * P).sum(-1, keepdims=True))
    return float(np.sum(dA * S) * s)


def scale_grad_torch(q, k, v, s, dy):            # correct, but not by hand
    import torch
    st = torch.tensor(float(s), requires_grad=True, dtype=torch.float64)
    y = torch.softmax(st * torch.tensor(q) @ torch.tensor(k).transpose(-1, -2), -1)
    (y @ torch.tensor(v) * torch.tensor(dy)).sum().backward()
    return float(st.grad)


def window_off_by_one(L, w):
    i, j = np.arange(L)[:, None], np.arange(L)[None, :]
    return (i - j >= 0) & (i - j <= w)


def window_symmetric(L, w):                      # not causal
    i, j = np.arange(L)[:, None], np.arange(L)[None, :]
    return np.abs(i - j) < w


def window_float(L, w):                          # 0/1 floats would be added to scores
    i, j = np.arange(L)[:, None], np.arange(L)[None, :]
    return ((i - j >= 0) & (i - j < w)).astype(float)


def window_transposed(L, w):                     # keys after the query
    i, j = np.arange(L)[:, None], np.arange(L)[None, :]
    return (j - i >= 0) & (j - i < w)


def gqa_tile(q, k, v):                           # head h uses kv head h % Hkv
    rep = q.shape[1] // k.shape[1]
    return F.scaled_dot_product_attention(q, np.tile(k, (1, rep, 1, 1)),
                                          np.tile(v, (1, rep, 1, 1)))


def gqa_first_head(q, k, v):                     # every query head uses kv head 0
    return F.scaled_dot_product_attention(q, k[:, :1], v[:, :1])


def gqa_wrong_scale(q, k, v):                    # scale by the total width
    rep = q.shape[1] // k.shape[1]
    return F.scaled_dot_product_attention(
        q, np.repeat(k, rep, 1), np.repeat(v, rep, 1),
        scale=1 / np.sqrt(q.shape[-1] * q.shape[1]))


def pe_dot_sin(k, d):
    theta = 10000.0 ** (-np.arange(0, d, 2) / d)
    return float(np.sum(np.sin(k * theta)))


def pe_dot_wrong_freq(k, d):                     # θ_i = 10000^(-i/d)
    theta = 10000.0 ** (-np.arange(d // 2) / d)
    return float(np.sum(np.cos(k * theta)))


def pe_dot_full_dim(k, d):                       # sums over d frequencies, not d/2
    theta = 10000.0 ** (-np.arange(0, d) / d)
    return float(np.sum(np.cos(k * theta)))


def rotary_interleaved(x, positions):            # dlmath's pairing (2i, 2i+1)
    return F.rotary_embedding(x, positions)


def rotary_backwards(x, positions):              # rotates by -angle
    return MHA["rotary_half"](x, -np.asarray(positions, dtype=float))


def rotary_wrong_freq(x, positions):             # θ_i = 10000^(-i/d)
    d = x.shape[-1]
    ang = np.asarray(positions, float)[:, None] * 10000.0 ** (-np.arange(d // 2) / d)
    c, s = np.cos(ang), np.sin(ang)
    x1, x2 = x[..., :d // 2], x[..., d // 2:]
    return np.concatenate([x1 * c - x2 * s, x1 * s + x2 * c], axis=-1)


def params_no_bias(d, h, f):
    return 4 * d * d + 2 * d * f + 4 * d


def params_no_norms(d, h, f):
    return 4 * d * d + 4 * d + 2 * d * f + f + d


def params_per_head(d, h, f):                    # counts a d x d projection per head
    return h * (4 * d * d + 4 * d) + 2 * d * f + f + d + 4 * d


def params_float(d, h, f):                       # right number, wrong type
    return float(GPT["encoder_layer_num_params"](d, h, f))


CASES = [
    ("check_attention_scale_grad", SDPA["attention_scale_grad"],
     [scale_grad_no_jacobian, scale_grad_diag_only, scale_grad_times_s]),
    ("check_sliding_window_mask", SDPA["sliding_window_mask"],
     [window_off_by_one, window_symmetric, window_float, window_transposed]),
    ("check_grouped_query_attention", MHA["grouped_query_attention"],
     [gqa_tile, gqa_first_head, gqa_wrong_scale]),
    ("check_pe_dot", MHA["pe_dot"], [pe_dot_sin, pe_dot_wrong_freq, pe_dot_full_dim]),
    ("check_rotary_half", MHA["rotary_half"],
     [rotary_interleaved, rotary_backwards, rotary_wrong_freq]),
    ("check_encoder_layer_num_params", GPT["encoder_layer_num_params"],
     [params_no_bias, params_no_norms, params_per_head, params_float]),
]
IDS = [c[0] for c in CASES]


CHEATS = {"check_attention_scale_grad": [scale_grad_torch]}
TABLE = [Case(getattr(ch09, check), solution, wrong=wrong, cheats=CHEATS.get(check, ()))
         for check, solution, wrong in CASES]
(test_solution_passes, test_stub_fails, test_enough_wrong_answers,
 test_wrong_answer_fails, test_cheat_is_refused) = exercise_tests(TABLE)
