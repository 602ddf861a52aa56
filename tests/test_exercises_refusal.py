"""One refusal mechanism for every chapter: ``dlmath.exercises.refuse_calls``.

It resolves the names a learner's function uses to the objects they denote
(aliases, attribute chains, closures, imports inside the function, helpers
of the learner's, walked recursively) and refuses by the object, never by a
bare name.
"""
import ast
import functools
import importlib
import re
from pathlib import Path

import numpy as np
import numpy.linalg as lin_alias
import pytest
import torch
import torch as tt
from numpy.linalg import eigvalsh as ev

import dlmath
import dlmath.functional as F
from dlmath.exercises import ch05, ch06, ch07, ch08, ch09, refuse_calls

ROOT = Path(__file__).resolve().parents[1]
lin = np.linalg                                   # a module alias held in a global


def _refused(fn, names, match="done by hand"):
    with pytest.raises(AssertionError, match=match):
        refuse_calls(fn, names, title="Exercise 0.0 t", why="do it by hand")


def _allowed(fn, names):
    refuse_calls(fn, names, title="Exercise 0.0 t", why="do it by hand")


# ------------------------------------------------------------------ helpers
def _gain_helper(a, n):
    return float(tt.nn.init.calculate_gain("leaky_relu", a)) / np.sqrt(n)


def leaky_std_through_a_helper(a, fan_in):
    return _gain_helper(a, fan_in)


def test_torch_wrapped_in_a_helper_is_refused_by_ch06():
    """Exercise 6.2 by a helper that calls torch: the old ch06 check passed it."""
    with pytest.raises(AssertionError, match="done by hand.*torch.*_gain_helper"):
        ch06.check_leaky_relu_std(leaky_std_through_a_helper)


def _rms_torch(x, w, dy, eps):
    xt = torch.tensor(x, requires_grad=True)
    y = torch.nn.functional.rms_norm(xt, (x.shape[-1],), torch.tensor(w), eps)
    return torch.autograd.grad(y, xt, torch.tensor(dy))[0].numpy()


def rms_backward_through_a_helper(x, weight, dy, eps):
    return _rms_torch(x, weight, dy, eps)


def test_torch_in_a_helper_is_refused_by_ch06_rms_norm():
    with pytest.raises(AssertionError, match="done by hand"):
        ch06.check_rms_norm_backward(rms_backward_through_a_helper)


def test_helpers_of_helpers_nested_functions_and_closures_are_walked():
    def deep(x):
        return _gain_helper(x, 4)

    def outer(x):
        def inner(y):
            return deep(y)
        return inner(x)

    _refused(outer, {"torch"}, match="torch.*helper")

    def make():
        t = torch
        return lambda x: t.relu(x)                    # a closure over the module

    _refused(make(), {"torch"})

    def with_default(x, act=torch.relu):              # a default value
        return act(x)

    _refused(with_default, {"torch"})
    _refused(functools.partial(leaky_std_through_a_helper, 0.1), {"torch"})

    class Net:                                        # a learner's class
        def forward(self, x):
            return tt.tanh(x)

    def uses_class(x):
        return Net().forward(x)

    _refused(uses_class, {"torch"})


# ------------------------------------------------------------------ aliases
def test_aliases_are_refused():
    def by_from_import_alias(A):
        return ev(A)

    def by_module_alias_in_a_global(A):
        return lin.eigvalsh(A)

    def by_imported_module_alias(A):
        return lin_alias.eigvalsh(A)

    def by_import_inside(A):
        from numpy.linalg import eigvalsh as e
        return e(A)

    def by_import_as_inside(A):
        import numpy.linalg as la
        return la.eigvalsh(A)

    def by_local_alias(A):
        la = np.linalg
        return la.eigvalsh(A)

    for fn in (by_from_import_alias, by_module_alias_in_a_global,
               by_imported_module_alias, by_import_inside, by_import_as_inside,
               by_local_alias):
        _refused(fn, {"numpy.linalg.eigvalsh"}, match="numpy.linalg.eigvalsh")


def test_torch_under_another_name_is_refused():
    def tt_alias(x):
        return tt.relu(tt.tensor(x)).numpy()

    def import_inside(x):
        import torch as T
        return T.relu(T.tensor(x)).numpy()

    def from_torch(x):
        from torch.nn.functional import relu as r
        return r(x)

    for fn in (tt_alias, import_inside, from_torch):
        _refused(fn, {"torch"}, match="torch")
    _refused(tt.relu, {"torch"})                      # the routine itself, passed in


def test_dlmath_routines_by_dotted_path():
    def cheat(x, W, dy):
        return F.linear_vjp(x, W, None, dy)

    def cheat_through_package(X, k):
        return dlmath.linalg.pca(X, k)

    _refused(cheat, {"dlmath.functional.linear_vjp"}, match="linear_vjp")
    _refused(cheat, {"dlmath.functional"})            # a whole module
    _refused(cheat_through_package, {"dlmath.linalg.pca"}, match="pca")
    _allowed(cheat_through_package, {"dlmath.functional"})


# ------------------------------------------------------------------ no bare names
def test_a_correct_helper_named_like_a_library_routine_passes():
    """Exercise 6.1 by hand, with helpers called ``backward`` and ``Linear``: the
    old ch06 check refused it for the names alone."""
    def Linear(a, W):
        return a @ W.T

    def backward(Ws, As, Zs, delta, activation):
        dphi = {"relu": lambda z: (z > 0) * 1.0,
                "tanh": lambda z: 1 - np.tanh(z) ** 2,
                "sigmoid": lambda z: (1 / (1 + np.exp(-z)))
                * (1 - 1 / (1 + np.exp(-z)))}[activation]
        grads = []
        for l in range(len(Ws) - 1, -1, -1):
            grads.append(delta.T @ As[l])
            if l > 0:
                delta = delta @ Ws[l] * dphi(Zs[l - 1])
        return grads[::-1]

    def layer_grads(Ws, X, y, activation):
        phi = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
               "sigmoid": lambda z: 1 / (1 + np.exp(-z))}[activation]
        As, Zs = [X], []
        for i, W in enumerate(Ws):
            Zs.append(Linear(As[-1], W))
            if i < len(Ws) - 1:
                As.append(phi(Zs[-1]))
        P = np.exp(Zs[-1] - Zs[-1].max(1, keepdims=True))
        P /= P.sum(1, keepdims=True)
        P[np.arange(len(y)), y] -= 1
        return backward(Ws, As, Zs, P / len(y), activation)

    ch06.check_layer_grads(layer_grads)
    _allowed(layer_grads, {"torch", "dlmath.nn", "dlmath.functional"})


def test_what_is_not_named_is_allowed():
    def uses_eigh(A):
        return lin.eigh(A)[0]

    _allowed(uses_eigh, {"numpy.linalg.eigvalsh"})
    _allowed(lambda x: np.tanh(x), {"torch"})


def test_bad_arguments_are_said():
    with pytest.raises(TypeError, match="expected your function, got int"):
        refuse_calls(3, {"torch"}, title="t", why="w")
    with pytest.raises(ValueError, match="dotted path"):
        refuse_calls(lambda x: x, {"eigvalsh"}, title="t", why="w")


def test_one_mechanism_every_chapter_check_uses_refuse_calls():
    """No chapter keeps a refusal of its own (they differed, and two were wrong)."""
    for n in range(1, 10):
        src = (ROOT / f"dlmath/exercises/ch0{n}.py").read_text(encoding="utf-8")
        assert "co_names" not in src and "get_instructions" not in src, f"ch0{n}"
        if "_refuse" in src:
            assert "refuse_calls(" in src, f"ch0{n}"


def test_every_dotted_path_the_checks_name_resolves():
    """A path that no longer resolves (a renamed routine) would silently refuse
    nothing: every one the chapters name must denote an object here."""
    import scipy.linalg  # noqa: F401  (the checks name scipy routines too)
    import scipy.signal  # noqa: F401
    import scipy.stats  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    from dlmath.exercises import _resolve

    paths = set()
    for n in range(1, 10):
        src = (ROOT / f"dlmath/exercises/ch0{n}.py").read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                    re.fullmatch(r"(numpy|scipy|sklearn|dlmath)(\.\w+)+", node.value):
                paths.add(node.value)
    assert paths
    for path in sorted(paths):
        importlib.import_module(path.split(".")[0])
        assert _resolve(path) is not None, path


# ------------------------------------------------------- each chapter, one cheat
@pytest.mark.parametrize("check, cheat", [
    (ch05.check_silu_vjp, lambda x: dlmath.functional.gelu_vjp(x)),
    (ch07.check_transposed_output_size,
     lambda n, k, s, p, d, op: F.conv_output_size(n, k, s, p, d)),
    (ch08.check_clip_grad_norm, lambda g, m: dlmath.nn.clip_grad_norm_(g, m)),
    (ch09.check_attention_scale_grad, lambda *a: tt.zeros(1)),
])
def test_each_chapter_refuses_through_refuse_calls(check, cheat):
    def helper(*args):
        return cheat(*args)

    with pytest.raises(AssertionError, match="done by hand"):
        check(helper)
