"""Chapter 7 checks: accept the notebook solutions, reject stubs and wrong answers."""
import numpy as np
import pytest

from dlmath import functional as F
from dlmath.exercises import ch07
from exercise_cases import Case, exercise_tests
from notebook_solutions import solutions

CH = "chapters/07_convolutional_networks/"
NB1 = solutions(CH + "01_convolution_as_mathematics.ipynb")
NB2 = solutions(CH + "02_im2col_and_backward.ipynb")
NB3 = solutions(CH + "03_cnn_from_scratch.ipynb")


def stub(*args):
    raise NotImplementedError()


# ---- wrong but plausible answers, one typical mistake each
def tsize_no_output_padding(n, k, s=1, p=0, d=1, op=0):
    return (n - 1) * s - 2 * p + d * (k - 1) + 1


def tsize_n_times_s(n, k, s=1, p=0, d=1, op=0):
    return n * s - 2 * p + d * (k - 1) + op + 1


def tsize_no_dilation(n, k, s=1, p=0, d=1, op=0):
    return (n - 1) * s - 2 * p + (k - 1) + op + 1


def tsize_conv_formula(n, k, s=1, p=0, d=1, op=0):   # the forward conv's length
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def circ_flipped(x, w):                       # true convolution: the kernel flipped
    return NB1["circular_conv2d"](x, w[::-1, ::-1])


def circ_zero_padded(x, w):                   # zero padding instead of wrap-around
    kh, kw = w.shape
    xp = np.zeros((x.shape[0] + kh - 1, x.shape[1] + kw - 1))
    xp[kh // 2:kh // 2 + x.shape[0], kw // 2:kw // 2 + x.shape[1]] = x
    return sum(w[a, b] * xp[a:a + x.shape[0], b:b + x.shape[1]]
               for a in range(kh) for b in range(kw))


def circ_roll_wrong_way(x, w):
    kh, kw = w.shape
    return sum(w[a, b] * np.roll(x, (a - kh // 2, b - kw // 2), axis=(0, 1))
               for a in range(kh) for b in range(kw))


def avg_scaled(scale, assign=False):
    def fn(dy, shape, k, s):
        dx = np.zeros(shape)
        Ho, Wo = dy.shape[2:]
        for a in range(k):
            for b in range(k):
                sl = (slice(None), slice(None), slice(a, a + s * (Ho - 1) + 1, s),
                      slice(b, b + s * (Wo - 1) + 1, s))
                if assign:
                    dx[sl] = dy * scale(k)
                else:
                    dx[sl] += dy * scale(k)
        return dx
    return fn


def avg_top_left(dy, shape, k, s):            # routes like max pooling
    dx = np.zeros(shape)
    Ho, Wo = dy.shape[2:]
    dx[:, :, 0:s * (Ho - 1) + 1:s, 0:s * (Wo - 1) + 1:s] += dy
    return dx


def strided_no_dilation(dy, w, s, hw):        # forgets the zeros between dy's entries
    dx = NB2["strided_input_grad"](dy, w, 1, (dy.shape[2] + w.shape[2] - 1,
                                              dy.shape[3] + w.shape[3] - 1))
    out = np.zeros((dy.shape[0], w.shape[1]) + tuple(hw))
    h, v = min(hw[0], dx.shape[2]), min(hw[1], dx.shape[3])
    out[:, :, :h, :v] = dx[:, :, :h, :v]
    return out


def strided_no_flip(dy, w, s, hw):
    return NB2["strided_input_grad"](dy, w[:, :, ::-1, ::-1], s, hw)


def strided_one_channel(dy, w, s, hw):        # only the first output channel
    return NB2["strided_input_grad"](dy[:, :1], w[:1], s, hw)


def rf_sum_of_kernels(layers):
    return 1 + sum(d * (k - 1) for k, s, d in layers)


def rf_strides_inclusive(layers):             # multiplies by its own stride too
    r, jump = 1, 1
    for k, s, d in layers:
        jump *= s
        r += d * (k - 1) * jump
    return r


def rf_no_dilation(layers):
    r, jump = 1, 1
    for k, s, d in layers:
        r += (k - 1) * jump
        jump *= s
    return r


CASES = [
    ("check_transposed_output_size", NB1["transposed_output_size"],
     [tsize_no_output_padding, tsize_n_times_s, tsize_no_dilation, tsize_conv_formula]),
    ("check_circular_conv2d", NB1["circular_conv2d"],
     [circ_flipped, circ_zero_padded, circ_roll_wrong_way]),
    ("check_avg_pool2d_backward", NB2["avg_pool2d_backward"],
     [avg_scaled(lambda k: 1.0), avg_scaled(lambda k: 1 / k),
      avg_scaled(lambda k: 1 / k**2, assign=True), avg_top_left]),
    ("check_strided_input_grad", NB2["strided_input_grad"],
     [strided_no_dilation, strided_no_flip, strided_one_channel]),
    ("check_receptive_field", NB3["receptive_field"],
     [rf_sum_of_kernels, rf_strides_inclusive, rf_no_dilation]),
]
IDS = [c[0] for c in CASES]


TABLE = [Case(getattr(ch07, check), solution, wrong=wrong)
         for check, solution, wrong in CASES]
(test_solution_passes, test_stub_fails, test_enough_wrong_answers,
 test_wrong_answer_fails, test_cheat_is_refused) = exercise_tests(TABLE)


def test_by_hand_checks_refuse_torch_and_dlmath():
    def uses_dlmath(n, k, s=1, p=0, d=1, op=0):
        return F.conv_output_size(n, k, s, p, d) + op

    def uses_torch(dy, shape, k, s):
        import torch
        x = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
        torch.nn.functional.avg_pool2d(x, k, s).backward(torch.tensor(dy))
        return x.grad.numpy()

    with pytest.raises(AssertionError, match="done by hand.*"
                                             "conv_output_size"):
        ch07.check_transposed_output_size(uses_dlmath)
    with pytest.raises(AssertionError, match="done by hand.*torch"):
        ch07.check_avg_pool2d_backward(uses_torch)


def test_checks_use_fixed_cases(capsys):
    ch07.check_receptive_field(NB3["receptive_field"])
    ch07.check_receptive_field(NB3["receptive_field"])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == out[1]


def test_circular_conv_refuses_the_notebooks_loops_on_a_wrapped_pad():
    """Ex 7.2 by the copy it forbids: np.pad(mode="wrap") + a loop convolution like
    the notebook's conv2d_loops. Right values, refused (it passed before numpy.pad
    was named)."""
    def loops(xp, w):                             # the notebook's loop, one channel
        kh, kw = w.shape
        H, W = xp.shape[0] - kh + 1, xp.shape[1] - kw + 1
        return np.array([[np.sum(xp[i:i + kh, j:j + kw] * w) for j in range(W)]
                         for i in range(H)])

    def circular_by_copy(x, w):
        kh, kw = w.shape
        return loops(np.pad(x, ((kh // 2, kh // 2), (kw // 2, kw // 2)), mode="wrap"),
                     w)

    x, w = np.arange(30.0).reshape(5, 6), np.arange(9.0).reshape(3, 3)
    np.testing.assert_allclose(circular_by_copy(x, w), NB1["circular_conv2d"](x, w))
    with pytest.raises(AssertionError, match="done by hand.*numpy.*pad"):
        ch07.check_circular_conv2d(circular_by_copy)
