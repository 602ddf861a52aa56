"""Every Chapter 11 check accepts the notebook's solution (visible and hidden cases)
and rejects a stub and at least three plausible wrong answers."""
import importlib

import numpy as np
import pytest

from dlmath.exercises import ch11
from tests.notebook_solutions import check_calls, solutions

NB = "chapters/11_graphs_geometric/"
NOTEBOOKS = [NB + "01_graphs_as_matrices.ipynb",
             NB + "02_spectral_to_message_passing.ipynb",
             NB + "03_learning_on_graphs.ipynb", NB + "04_symmetry.ipynb"]
M1, M2, M3, M4 = (solutions(p) for p in NOTEBOOKS)


def stub(*args):
    raise NotImplementedError()


# ----------------------------------------------------------------- wrong answers
def incidence_unsigned(edges, w, n):           # |B|: BᵀB = D + A, the signless one
    B = np.zeros((len(edges), n))
    B[np.arange(len(edges)), edges[:, 0]] = np.sqrt(w)
    B[np.arange(len(edges)), edges[:, 1]] = np.sqrt(w)
    return B


def incidence_weight_not_root(edges, w, n):    # w instead of √w: BᵀB has w²
    B = np.zeros((len(edges), n))
    B[np.arange(len(edges)), edges[:, 0]] = w
    B[np.arange(len(edges)), edges[:, 1]] = -w
    return B


def incidence_transposed(edges, w, n):         # (n, m) instead of (m, n)
    return M1["incidence_matrix"](edges, w, n).T


def incidence_both_ways(edges, w, n):          # every edge in both orientations: 2L
    B = M1["incidence_matrix"](edges, w, n)
    return np.vstack([B, -B])


def kpq_combinatorial(p, q):                   # spectrum of L = D - A instead
    return np.sort(np.array([0.0] + [float(q)] * (p - 1) + [float(p)] * (q - 1)
                            + [float(p + q)]))


def kpq_no_two(p, q):                          # forgets bipartiteness: 1 instead of 2
    return np.array([0.0] + [1.0] * (p + q - 1))


def kpq_unsorted(p, q):
    return np.array([2.0] + [1.0] * (p + q - 2) + [0.0])


def prop_no_self_loops(A):                     # D^-1/2 A D^-1/2
    d = A.sum(1)
    s = np.where(d > 0, d, 1.0) ** -0.5 * (d > 0)
    return s[:, None] * A * s[None, :]


def prop_random_walk(A):                       # D̃^-1 Ã
    At = A + np.eye(len(A))
    return At / At.sum(1, keepdims=True)


def prop_adding(A):                            # I + D^-1/2 A D^-1/2, unrenormalized
    return np.eye(len(A)) + prop_no_self_loops(A)


def prop_loops_after_degrees(A):               # self-loops added, degrees without
    d = A.sum(1)
    s = np.where(d > 0, d, 1.0) ** -0.5
    return s[:, None] * (A + np.eye(len(A))) * s[None, :]


def prop_torch(A):                             # right, but not by hand
    import torch
    At = torch.tensor(A) + torch.eye(len(A), dtype=torch.float64)
    s = At.sum(1) ** -0.5
    return (s[:, None] * At * s[None, :]).numpy()


def _edge_parts(A, H, dY):
    At = A + np.eye(len(A))
    d = At.sum(1)
    s = d ** -0.5
    Gm = dY @ H.T
    GA = Gm * At
    return At, d, s, Gm, GA


def edge_grad_direct_only(A, H, dY):           # forgets the degrees depend on A
    _, _, s, Gm, _ = _edge_parts(A, H, dY)
    return Gm * np.outer(s, s)


def edge_grad_column_degrees(A, H, dY):        # degree term on columns, not rows
    _, d, s, Gm, GA = _edge_parts(A, H, dY)
    g = -0.5 * d ** -1.5 * (GA @ s + GA.T @ s)
    return Gm * np.outer(s, s) + g[None, :]


def edge_grad_one_side(A, H, dY):              # only the s_i factor through degrees
    _, d, s, Gm, GA = _edge_parts(A, H, dY)
    g = -0.5 * d ** -1.5 * (GA @ s)
    return Gm * np.outer(s, s) + g[:, None]


def edge_grad_transposed_G(A, H, dY):          # ∂L/∂Â taken as H dYᵀ
    At, d, s, _, _ = _edge_parts(A, H, dY)
    Gm = H @ dY.T
    GA = Gm * At
    g = -0.5 * d ** -1.5 * (GA @ s + GA.T @ s)
    return Gm * np.outer(s, s) + g[:, None]


def limit_uniform(A, X):                       # the plain mean of the features
    return np.ones((len(A), 1)) * X.mean(0)[None]


def limit_symmetric(A, X):                     # the limit of Â^k X instead
    d = A.sum(1) + 1
    u = np.sqrt(d) / np.linalg.norm(np.sqrt(d))
    return np.outer(u, u) @ X


def limit_no_self_loops(A, X):                 # π from d instead of d̃
    d = A.sum(1)
    return np.ones((len(A), 1)) * (d / d.sum() @ X)[None]


def limit_matrix_power(A, X):                  # right, but not in closed form
    At = A + np.eye(len(A))
    return np.linalg.matrix_power(At / At.sum(1, keepdims=True), 3000) @ X


def average_transpose(M):                      # symmetrizes: a different group
    return (M + M.T) / 2


def average_diagonal_only(M):                  # keeps a, drops the off-diagonal c
    return np.trace(M) / len(M) * np.eye(len(M))


def average_all_entries(M):                    # one mean for every entry
    return np.full(M.shape, M.mean())


def average_brute_force(M):                    # right, but enumerates n! terms
    import itertools
    n = len(M)
    Ps = [np.eye(n)[list(p)] for p in itertools.permutations(range(n))]
    return sum(P @ M @ P.T for P in Ps) / len(Ps)


CASES = [
    (ch11.check_incidence_matrix, M1["incidence_matrix"],
     [incidence_unsigned, incidence_weight_not_root, incidence_transposed,
      incidence_both_ways]),
    (ch11.check_kpq_sym_spectrum, M1["kpq_sym_spectrum"],
     [kpq_combinatorial, kpq_no_two, kpq_unsorted]),
    (ch11.check_gcn_propagation, M2["gcn_propagation"],
     [prop_no_self_loops, prop_random_walk, prop_adding, prop_loops_after_degrees,
      prop_torch]),
    (ch11.check_gcn_edge_grad, M2["gcn_edge_grad"],
     [edge_grad_direct_only, edge_grad_column_degrees, edge_grad_one_side,
      edge_grad_transposed_G]),
    (ch11.check_rw_smoothing_limit, M3["rw_smoothing_limit"],
     [limit_uniform, limit_symmetric, limit_no_self_loops, limit_matrix_power]),
    (ch11.check_group_average, M4["group_average"],
     [average_transpose, average_diagonal_only, average_all_entries,
      average_brute_force]),
]


@pytest.mark.parametrize("check, solution, wrong", CASES,
                         ids=[c[0].__name__ for c in CASES])
def test_check_accepts_solution_rejects_stub_and_wrong(check, solution, wrong, capsys):
    check(solution)
    assert "✓" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="not attempted"):
        check(stub)
    for bad in wrong:
        with pytest.raises(AssertionError):
            check(bad)


@pytest.mark.parametrize("check", [c[0] for c in CASES], ids=lambda c: c.__name__)
def test_trivial_answers_fail_with_a_message(check):
    for bad in (lambda *a: None, lambda *a: np.zeros(3), lambda *a: a[0]):
        with pytest.raises(AssertionError) as info:
            check(bad)
        msg = str(info.value)
        assert "Exercise 11." in msg and "TypeError" not in msg.split(":")[0]


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_every_visible_and_hidden_call_accepts_the_notebook_solution(path, capsys):
    calls = check_calls(path)
    assert calls and any(seed is not None for *_, seed in calls)
    for module, check, fn, seed in calls:
        mod = importlib.import_module(f"dlmath.exercises.{module}")
        getattr(mod, check)(solutions(path)[fn], **({} if seed is None
                                                     else {"seed": seed}))
    assert capsys.readouterr().out.count("✓") == sum(seed is None for *_, seed in calls)
