"""dlmath.autodiff vs torch.autograd in float64: random graphs, every op, bad input."""

import warnings

import numpy as np
import pytest
import torch

import dlmath
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays, mutually_broadcastable_shapes

from dlmath.autodiff import Tensor, topological_order, unbroadcast
from dlmath.check import assert_close
from strategies import float_arrays

RTOL, ATOL = 1e-10, 1e-10


def _t(x, requires_grad=False):
    """Like the `t` fixture, usable inside hypothesis tests (no function-scoped
    ones)."""
    return torch.tensor(np.asarray(x, dtype=np.float64), device=dlmath.device(),
                        requires_grad=requires_grad)


def close(a, e, rtol=RTOL, atol=ATOL):
    assert_close(a, e, rtol=rtol, atol=atol, verbose=False)


def pair(x, t, requires_grad=True):
    """The same numbers as a dlmath Tensor and a float64 torch leaf."""
    return Tensor(x, requires_grad=requires_grad), t(x, requires_grad=requires_grad)


# --- random graphs -------------------------------------------------------------------
# Each op is written once and applied to both engines: they share the operator
# syntax and the method names exp/log/tanh/sigmoid/relu/sum.
UNARY = {
    "neg": lambda x: -x,
    "exp∘tanh": lambda x: x.tanh().exp(),
    "log(x²+1)": lambda x: (x * x + 1).log(),
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "relu": lambda x: x.relu(),
    "square": lambda x: x ** 2,
    "cube": lambda x: x ** 3,
    "2 - x/3": lambda x: 2 - x / 3,
    "0.5 * x": lambda x: 0.5 * x,
}


def _is_ours(x):
    return isinstance(x, Tensor)


def _sum_last(x):       # a reduction along one axis, broadcast back
    if x.ndim == 0:
        return x * 1.5
    s = x.sum(axis=-1, keepdims=True) if _is_ours(x) else x.sum(dim=-1, keepdim=True)
    return x - 0.3 * s


def _mean_all(x):       # a full reduction
    return x * (x.mean() if _is_ours(x) else x.mean())


def _reshape_gather(x):  # reshape to 1-D, gather in reverse order, reshape back
    idx = np.arange(max(x.numel() if not _is_ours(x) else x.data.size, 1))[::-1].copy()
    flat = x.reshape(-1)
    out = flat[idx] if _is_ours(x) else flat[torch.as_tensor(idx, device=x.device)]
    return out.reshape(tuple(x.shape))


def _repeat_index(x):    # integer indexing with a repeated index along the last axis
    if x.ndim == 0:
        return x
    n = x.shape[-1]
    idx = np.r_[0, 0:n - 1] if n > 1 else np.array([0])
    return x[..., idx] if _is_ours(x) else x[..., torch.as_tensor(idx, device=x.device)]


# a matrix product along the last axis (1-D: a vector-matrix product)
def _matmul(x):
    if x.ndim == 0:
        return x
    n = x.shape[-1]
    M = np.linspace(-1.0, 1.0, n * n).reshape(n, n) + np.eye(n)
    return x @ (M if _is_ours(x) else _t(M))


UNARY.update(
    {
        "sum(-1)": _sum_last,
        "* mean": _mean_all,
        "reshape∘gather": _reshape_gather,
        "x[..., repeated]": _repeat_index,
        "@ M": _matmul,
    }
)

BINARY = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / (1 + y * y),
    "rdiv": lambda x, y: 1.5 / (1 + y * y) - x,
    "pow": lambda x, y: (x * x + 0.5) ** y.tanh(),
    "2**x": lambda x, y: 2 ** x.tanh() * y,
}


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_random_graphs_match_torch(data):
    shapes = data.draw(
        mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3)
    )
    leaves = [data.draw(arrays(np.float64, s, elements=st.floats(-2, 2)))
              for s in shapes.input_shapes]
    n_steps = data.draw(st.integers(1, 7))
    program = []
    for k in range(n_steps):
        n_nodes = len(leaves) + k
        if data.draw(st.booleans()):
            program.append(("u", data.draw(st.sampled_from(sorted(UNARY))),
                            data.draw(st.integers(0, n_nodes - 1)), None))
        else:
            program.append(("b", data.draw(st.sampled_from(sorted(BINARY))),
                            data.draw(st.integers(0, n_nodes - 1)),
                            data.draw(st.integers(0, n_nodes - 1))))

    def run(nodes):
        nodes = list(nodes)
        for kind, name, i, j in program:
            nodes.append(
                UNARY[name](nodes[i])
                if kind == "u"
                else BINARY[name](nodes[i], nodes[j])
            )
        # the first leaf is always used twice or more
        return nodes[-1] + nodes[0] * 0.25

    mine = [Tensor(x, requires_grad=True) for x in leaves]
    ref = [_t(x, requires_grad=True) for x in leaves]
    out, out_ref = run(mine), run(ref)
    close(out.data, out_ref)
    g = data.draw(arrays(np.float64, out.shape, elements=st.floats(-1, 1)))
    out.backward(g)
    out_ref.backward(_t(g))
    for m, r in zip(mine, ref):
        if r.grad is None:  # a leaf the program never used
            assert m.grad is None
        else:
            close(m.grad, r.grad)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_matmul_matches_torch_for_any_shapes(data):
    n, k, m = (data.draw(st.integers(1, 4)) for _ in range(3))
    batch = data.draw(
        mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3)
    )
    a_shape = data.draw(st.sampled_from([(k,), (*batch.input_shapes[0], n, k)]))
    b_shape = data.draw(st.sampled_from([(k,), (*batch.input_shapes[1], k, m)]))
    (a, ta), (b, tb) = (pair(data.draw(float_arrays(shape, -3, 3)), _t)
                        for shape in (a_shape, b_shape))
    out, out_ref = a @ b, ta @ tb
    close(out.data, out_ref)
    up = data.draw(float_arrays(out.shape, -3, 3))
    out.backward(up)
    out_ref.backward(_t(up))
    close(a.grad, ta.grad)
    close(b.grad, tb.grad)


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_unbroadcast_is_the_adjoint_of_broadcasting(data):
    """<broadcast(x), G> = <x, unbroadcast(G)> for every x and G: the defining law."""
    shapes = data.draw(
        mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=3)
    )
    x = data.draw(arrays(np.float64, shapes.input_shapes[0], elements=st.floats(-3, 3)))
    G = data.draw(arrays(np.float64, shapes.result_shape, elements=st.floats(-3, 3)))
    lhs = np.sum(np.broadcast_to(x, shapes.result_shape) * G)
    rhs = np.sum(x * unbroadcast(G, x.shape))
    assert unbroadcast(G, x.shape).shape == x.shape
    assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12)


# --- each op by hand-picked cases -----------------------------------------------------
@pytest.mark.parametrize(
    "axis,keepdims",
    [
        (None, False),
        (0, False),
        (1, True),
        (-1, False),
        ((0, 2), True),
        ((0, 2), False),
    ],
)
def test_sum_and_mean(t, g, axis, keepdims):
    x, tx = pair(g.standard_normal((2, 3, 4)), t)
    dim = tuple(range(3)) if axis is None else axis
    w = g.standard_normal(tx.sum(dim=dim, keepdim=keepdims).shape)
    out = (x.sum(axis, keepdims) * w).sum() + (x.mean(axis, keepdims) * w).sum()
    out_ref = (tx.sum(dim=dim, keepdim=keepdims) * t(w)).sum() \
        + (tx.mean(dim=dim, keepdim=keepdims) * t(w)).sum()
    close(out.data, out_ref)
    out.backward()
    out_ref.backward()
    close(x.grad, tx.grad)


@pytest.mark.parametrize("name", ["exp", "log", "tanh", "sigmoid", "relu"])
def test_elementwise_functions(t, g, name):
    data = g.standard_normal((3, 4))
    if name == "log":
        data = np.abs(data) + 0.1
    x, tx = pair(data, t)
    out, out_ref = getattr(x, name)(), getattr(tx, name)()
    close(out.data, out_ref)
    up = g.standard_normal(out.shape)
    out.backward(up)
    out_ref.backward(t(up))
    close(x.grad, tx.grad)


def test_relu_and_sigmoid_edge_values(t):
    x, tx = pair(np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0]), t)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow in exp
        out = x.sigmoid().sum() + x.relu().sum()
        out.backward()
    out_ref = tx.sigmoid().sum() + tx.relu().sum()
    out_ref.backward()
    close(out.data, out_ref)
    close(x.grad, tx.grad)  # relu'(0) = 0, like torch


@pytest.mark.parametrize(
    "index",
    [
        (slice(None), 1),
        (Ellipsis, slice(1, 3)),
        (None, 0),
        2,
        -1,
        (slice(None, None, -1),),
        np.array([0, 2, 2, 0, 2]),
        (np.array([[0, 1], [1, 1]]), np.array([3, 3])),
        (slice(None), [1, 1, 0]),
    ],
)
def test_indexing_accumulates_repeated_indices(t, g, index):
    x, tx = pair(g.standard_normal((3, 4)), t)
    if isinstance(index, tuple) and len(index) == 1 and isinstance(index[0], slice):
        ref_index = (torch.arange(2, -1, -1),)  # torch has no negative steps
    else:
        ref_index = tuple(torch.as_tensor(i) if isinstance(i, (np.ndarray, list)) else i
                          for i in (index if isinstance(index, tuple) else (index,)))
    out, out_ref = x[index], tx[ref_index]
    close(out.data, out_ref)
    up = g.standard_normal(out.shape)
    out.backward(up)
    out_ref.backward(t(up))
    close(x.grad, tx.grad)


def test_boolean_mask_and_tensor_index(t, g):
    data = g.standard_normal((4, 3))
    x, tx = pair(data, t)
    mask = data > 0
    out = x[mask].sum() + x[Tensor([1, 1, 3])].sum()
    out_ref = tx[torch.as_tensor(mask)].sum() + tx[torch.tensor([1, 1, 3])].sum()
    out.backward()
    out_ref.backward()
    close(x.grad, tx.grad)


def test_reshape_transpose_T(t, g):
    x, tx = pair(g.standard_normal((2, 3, 4)), t)
    w = g.standard_normal((4, 6))
    out = (
        (x.reshape(6, 4).T * w).sum()
        + (x.permute(2, 0, 1).reshape((4, -1)) @ w.T).sum()
        + (x.permute((1, 0, 2)) ** 2).sum()
        + x.T[0].sum()
        + x.transpose(0, 2)[1].sum()
    )
    out_ref = (tx.reshape(6, 4).T * t(w)).sum() \
        + (tx.permute(2, 0, 1).reshape(4, -1) @ t(w).T).sum() \
        + (tx.permute(1, 0, 2) ** 2).sum() + tx.permute(2, 1, 0)[0].sum() \
        + tx.transpose(0, 2)[1].sum()
    close(out.data, out_ref)
    out.backward()
    out_ref.backward()
    close(x.grad, tx.grad)


def test_reflected_operators_with_scalars_and_arrays(t, g):
    x, tx = pair(g.uniform(0.5, 2.0, (3, 2)), t)
    A, c = g.standard_normal((3, 3)), g.standard_normal(2)
    out = (2 + x) * (1 - x) + 3 * x / 2 + 1 / x + 2.0 ** x + A @ x + c * x - c + c / x
    tA, tc = t(A), t(c)
    out_ref = (
        (2 + tx) * (1 - tx)
        + 3 * tx / 2
        + 1 / tx
        + 2.0**tx
        + tA @ tx
        + tc * tx
        - tc
        + tc / tx
    )
    assert isinstance(out, Tensor) and isinstance(
        np.ones(2) + Tensor([1.0, 2.0]), Tensor
    )
    close(out.data, out_ref)
    out.sum().backward()
    out_ref.sum().backward()
    close(x.grad, tx.grad)


def test_pow_gradient_for_base_and_exponent(t, g):
    (a, ta), (b, tb) = (
        pair(g.uniform(0.1, 3, (3, 1)), t),
        pair(g.standard_normal((1, 4)), t),
    )
    out, out_ref = (a ** b).sum() + (a ** 0).sum(), (ta ** tb).sum() + (ta ** 0).sum()
    out.backward()
    out_ref.backward()
    close(a.grad, ta.grad)
    close(b.grad, tb.grad)


def test_gradients_accumulate_over_uses_and_backward_calls(t):
    x, tx = pair(np.array([1.0, -2.0, 3.0]), t)
    for _ in range(2):  # a second backward adds to .grad, as in torch
        (x * x + x + x.exp() * x).sum().backward()
        (tx * tx + tx + tx.exp() * tx).sum().backward()
    close(x.grad, tx.grad)


def test_intermediate_nodes_keep_their_gradient(t, g):
    x, tx = pair(g.standard_normal(4), t)
    h, th = x.tanh(), tx.tanh()
    th.retain_grad()
    (h * h * 3).sum().backward()
    (th * th * 3).sum().backward()
    close(h.grad, th.grad)
    close(x.grad, tx.grad)


def test_constants_get_no_gradient_and_no_graph():
    x, c = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0])
    (x * c).sum().backward()
    assert c.grad is None and x.grad.tolist() == [3.0, 4.0]
    const = c * 2 + 1
    assert not const.requires_grad and const._parents == ()


def test_deep_chain_has_no_recursion_limit():
    x = Tensor(0.5, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0 + 0.0001
    y.backward()
    assert x.grad == pytest.approx(1.0)
    assert len(topological_order(y)) == 20_001


def test_diamond_graph_order_and_gradient():
    """x feeds two paths that meet again: the gradient is the sum over paths."""
    x = Tensor(2.0, requires_grad=True)
    a, b = x * 3, x.exp()
    y = a * b
    order = topological_order(y)
    assert order[0] is x and order[-1] is y
    y.backward()
    assert x.grad == pytest.approx(3 * np.exp(2) + 6 * np.exp(2))


def test_float32_stays_float32(t):
    x = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = (x * 2.5 + 1).tanh().sum()
    y.backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    assert Tensor([1, 2]).dtype == np.float64


def test_grad_of_scalar_defaults_to_one_and_shape_is_kept():
    x = Tensor(np.ones((1, 1)) * 3, requires_grad=True)
    (x * x).backward()
    assert x.grad.shape == (1, 1) and x.grad[0, 0] == 6.0


# --- bad input ------------------------------------------------------------------------
def test_matmul_shape_mismatch_names_the_shapes():
    with pytest.raises(
        ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) are not aligned"
    ):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"matmul: shapes \(3,\) and \(2,\)"):
        Tensor(np.ones(3)) @ np.ones(2)
    with pytest.raises(
        ValueError, match=r"batch dims of shapes \(2, 3, 4\) and \(5, 4, 1\)"
    ):
        Tensor(np.ones((2, 3, 4))) @ Tensor(np.ones((5, 4, 1)))
    with pytest.raises(ValueError, match=r"at least 1 dim, got shapes \(\) and \(2,\)"):
        Tensor(2.0) @ Tensor(np.ones(2))
    with pytest.raises(ValueError, match=r"matmul: shapes \(2,\) and \(3, 3\)"):
        np.ones(2) @ Tensor(np.ones((3, 3)))


def test_backward_of_non_scalar_needs_grad():
    y = Tensor(np.ones((2, 3)), requires_grad=True) * 2
    with pytest.raises(
        ValueError, match=r"only for a scalar output; this output has shape \(2, 3\)"
    ):
        y.backward()


def test_backward_grad_of_wrong_shape():
    y = Tensor(np.ones((2, 3)), requires_grad=True) * 2
    with pytest.raises(
        ValueError,
        match=r"grad must have the output's shape \(2, 3\), got shape \(3, 2\)",
    ):
        y.backward(np.ones((3, 2)))
    with pytest.raises(TypeError, match="backward: data must hold real numbers"):
        y.backward(np.array([["a"] * 3] * 2))


def test_non_numeric_data():
    with pytest.raises(
        TypeError,
        match=r"Tensor: data must hold real numbers, got dtype <U1 with shape \(2,\)",
    ):
        Tensor(["a", "b"])
    with pytest.raises(TypeError, match="array-like of numbers"):
        Tensor([[1.0, 2.0], [3.0]])
    with pytest.raises(TypeError, match="got a torch.Tensor"):
        Tensor(torch.ones(2))
    with pytest.raises(TypeError, match="must hold real numbers"):
        Tensor([1.0]) + "x"
    with pytest.raises(TypeError, match="must hold real numbers"):
        Tensor([1j])


def test_broadcast_and_shape_errors():
    with pytest.raises(
        ValueError, match=r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"
    ):
        Tensor(np.ones((2, 3))) + np.ones(4)
    with pytest.raises(ValueError, match=r"mul: shapes \(4,\) and \(2, 3\)"):
        np.ones(4) * Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"reshape: cannot reshape shape \(2, 3\)"):
        Tensor(np.ones((2, 3))).reshape(4, 2)
    with pytest.raises(
        ValueError, match=r"permute: dims \(0, 0\) are not a permutation"
    ):
        Tensor(np.ones((2, 3))).permute(0, 0)
    with pytest.raises(
        ValueError, match=r"sum: axis 2 is out of range for shape \(2, 3\)"
    ):
        Tensor(np.ones((2, 3))).sum(axis=2)


def test_backward_without_graph_and_bad_custom_op():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(1.0).backward()
    a = Tensor(np.ones(3), requires_grad=True)
    bad = Tensor.from_op(a.data * 2, (a,), lambda g: (g.sum(),), "bad")
    with pytest.raises(
        ValueError,
        match=r"op 'bad' returned a gradient of shape \(\) "
        r"for an input of shape \(3,\)",
    ):
        bad.sum().backward()
    with pytest.raises(
        ValueError,
        match=r"unbroadcast: cannot sum a gradient of shape \(2, 3\) to shape \(2,\)",
    ):
        unbroadcast(np.ones((2, 3)), (2,))


# --- torch's meaning of transpose, permute and boolean masks --------------------------
@pytest.mark.parametrize("shape, dims", [((2, 3, 4), (-2, -1)), ((2, 3, 4), (0, 2)),
                                         ((3, 4), (0, 1)), ((2, 3, 4, 5), (1, -1)),
                                         ((3,), (0, 0))])
def test_transpose_swaps_two_dims_like_torch(t, g, shape, dims):
    x, tx = pair(g.standard_normal(shape), t)
    out, out_ref = x.transpose(*dims), tx.transpose(*dims)
    close(out.data, out_ref)
    up = g.standard_normal(out.shape)
    out.backward(up)
    out_ref.backward(t(up))
    close(x.grad, tx.grad)


def test_permute_matches_torch(t, g):
    x, tx = pair(g.standard_normal((2, 3, 4)), t)
    out, out_ref = x.permute(2, 0, 1), tx.permute(2, 0, 1)
    close(out.data, out_ref)
    close(x.permute((1, -1, 0)).data, tx.permute(1, -1, 0))
    out.backward(np.arange(24.0).reshape(out.shape))
    out_ref.backward(t(np.arange(24.0).reshape(out.shape)))
    close(x.grad, tx.grad)
    with pytest.raises(
        ValueError, match=r"permute: dims \(0, 0, 1\) are not a permutation"
    ):
        x.permute(0, 0, 1)
    with pytest.raises(TypeError, match="transpose: expected two dims"):
        x.transpose(2, 0, 1)
    with pytest.raises(ValueError, match=r"transpose: dim 3 is out of range for shape"):
        x.transpose(0, 3)


def test_tensor_boolean_mask_selects_like_torch(t, g):
    data = g.standard_normal((4, 3))
    x, tx = pair(data, t)
    mask = data[:, 0] > 0                      # a row mask
    out = x[Tensor(mask)]
    out_ref = tx[torch.as_tensor(mask, device=tx.device)]
    assert out.shape == out_ref.shape
    close(out.data, out_ref)
    full = data > 0                            # an elementwise mask
    close(x[Tensor(full)].data, tx[torch.as_tensor(full, device=tx.device)])
    (out ** 2).sum().backward()
    (out_ref ** 2).sum().backward()
    close(x.grad, tx.grad)
    with pytest.raises(
        TypeError, match="only floating-point tensors can require a gradient"
    ):
        Tensor(mask, requires_grad=True)


def test_pow_at_zero_base_matches_torch_without_warnings(t):
    a, ta = pair(np.array([0.0, 1.0, 4.0]), t)
    with warnings.catch_warnings():
        # (a ** 0.5)' = 0.5 / sqrt(a) is inf at 0, silently
        warnings.simplefilter("error")
        (a ** 0.5).sum().backward()
    (ta ** 0.5).sum().backward()
    close(a.grad, ta.grad)
    # the exponent's gradient a^b ln a: 0 at a = 0 for b >= 0, -inf there for b < 0
    # (torch's)
    (a2, ta2), (b, tb) = pair(np.zeros(3), t), pair(np.array([-1.5, 0.0, 2.0]), t)
    # the forward 0 ** -1.5 = inf warns in numpy
    with np.errstate(divide="ignore"):
        y = (a2 ** b).sum()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y.backward()
    (ta2 ** tb).sum().backward()
    close(b.grad, tb.grad)
    close(a2.grad, ta2.grad)


def test_reduction_axis_must_be_int():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(
        TypeError, match="sum: axis must be None, an int or a tuple of ints"
    ):
        x.sum(axis=1.5)
    with pytest.raises(
        TypeError, match="mean: axis must be None, an int or a tuple of ints"
    ):
        x.mean(axis=(0, 0.5))
