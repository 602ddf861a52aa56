"""Budget arithmetic of architecture and hyper-parameter search (Chapter 14, nb. 2).

- ``top_quantile_probability(q, n)``: P(at least one of n random draws lies in
  the top-q fraction) = 1 - (1 - q)**n, and ``draws_for_top_quantile``;
- ``successive_halving_rungs(n, r, eta)``: the rungs (configurations, budget
  each) of one run of successive halving, and ``rungs_budget``;
- ``hyperband_brackets(R, eta)``: the brackets of Hyperband (Li et al. 2018);
- ``successive_halving(configs, evaluate, r, eta)``: run it with a given loss;
- ``mixed_op`` / ``mixed_op_vjp``: DARTS's softmax-weighted sum of candidate
  operations and its hand-derived gradient with respect to the logits alpha.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from ._validate import as_float_array, check_int, check_number

__all__ = ["top_quantile_probability", "draws_for_top_quantile",
           "successive_halving_rungs", "rungs_budget", "hyperband_brackets",
           "successive_halving", "mixed_op", "mixed_op_vjp"]


def _fraction(q: Any, fn: str) -> float:
    q = check_number(q, fn, "q")
    if not 0.0 < q < 1.0:
        raise ValueError(f"{fn}: q must be a fraction in (0, 1), got {q}")
    return q


def _eta(eta: Any, fn: str) -> float:
    eta = check_number(eta, fn, "eta")
    if not eta > 1.0:
        raise ValueError(f"{fn}: the reduction factor eta must be > 1 (keep 1/eta "
                         f"of the configurations per rung), got {eta}")
    return eta


def _budget(r: Any, fn: str, name: str) -> float:
    r = check_number(r, fn, name)
    if not r >= 1.0:
        raise ValueError(f"{fn}: the budget {name} must be >= 1 (one unit, e.g. one "
                         f"epoch), got {r}")
    return r


def top_quantile_probability(q: float, n: int) -> float:
    """1 - (1 - q)**n: the chance that n independent uniform draws hit the top q."""
    q = _fraction(q, "top_quantile_probability")
    n = check_int(n, "top_quantile_probability", "n", minimum=0)
    return 1.0 - (1.0 - q) ** n


def draws_for_top_quantile(q: float, p: float) -> int:
    """The least n with 1 - (1 - q)**n >= p: ceil(log(1 - p) / log(1 - q))."""
    q = _fraction(q, "draws_for_top_quantile")
    p = check_number(p, "draws_for_top_quantile", "p")
    if not 0.0 < p < 1.0:
        raise ValueError(f"draws_for_top_quantile: p must be in (0, 1), got {p}")
    n = math.ceil(math.log1p(-p) / math.log1p(-q) - 1e-12)
    return max(n, 1)


def successive_halving_rungs(n: int, r: float, eta: float = 3,
                             rounds: int | None = None) -> list[tuple[int, float]]:
    """Rungs ``(n_i, r_i)`` of successive halving: n_i = floor(n / eta**i),
    r_i = r * eta**i, for i = 0 .. rounds-1 (default: until one configuration is
    left). Its total budget is sum_i n_i r_i (``rungs_budget``), about
    n r (number of rounds) when n is a power of eta.
    """
    fn = "successive_halving_rungs"
    n = check_int(n, fn, "n", minimum=1)
    r = _budget(r, fn, "r")
    eta = _eta(eta, fn)
    if rounds is None:
        rounds = 1
        while math.floor(n / eta ** rounds + 1e-9) >= 1:
            rounds += 1
    rounds = check_int(rounds, fn, "rounds", minimum=1)
    rungs = []
    for i in range(rounds):
        n_i = math.floor(n / eta ** i + 1e-9)
        if n_i < 1:
            raise ValueError(f"{fn}: {rounds} rounds leave no configuration at round "
                             f"{i} (n={n}, eta={eta:g})")
        rungs.append((n_i, r * eta ** i))
    return rungs


def rungs_budget(rungs: Sequence[tuple[int, float]]) -> float:
    """Total budget sum_i n_i r_i of a list of rungs."""
    return float(sum(n_i * r_i for n_i, r_i in rungs))


def hyperband_brackets(R: float, eta: float = 3) -> list[list[tuple[int, float]]]:
    """The brackets of Hyperband for a maximum budget ``R`` per configuration.

    s_max = floor(log_eta R); bracket s = s_max .. 0 starts n = ceil((s_max+1)
    eta**s / (s+1)) configurations at r = R eta**-s and runs successive halving
    for s+1 rounds, so each bracket spends about (s_max + 1) R.
    """
    fn = "hyperband_brackets"
    R = _budget(R, fn, "R")
    eta = _eta(eta, fn)
    s_max = math.floor(math.log(R) / math.log(eta) + 1e-9)
    brackets = []
    for s in range(s_max, -1, -1):
        n = math.ceil((s_max + 1) * eta ** s / (s + 1) - 1e-9)
        r = R * eta ** (-s)
        brackets.append([(math.floor(n * eta ** (-i) + 1e-9), r * eta ** i)
                         for i in range(s + 1)])
    return brackets


def successive_halving(configs: Sequence[Any], evaluate: Callable[[Any, float], float],
                       r: float, eta: float = 3, rounds: int | None = None):
    """Run successive halving: evaluate all configs at budget r, keep the best
    floor(n / eta), multiply the budget by eta, repeat.

    ``evaluate(config, budget)`` returns a loss (lower is better). Returns
    ``(best_config, history, budget_used)``, history a list of rungs, each a list
    of ``(config, budget, loss)``.
    """
    configs = list(configs)
    rungs = successive_halving_rungs(len(configs), r, eta, rounds)
    if not callable(evaluate):
        raise TypeError("successive_halving: evaluate must be callable "
                        "(config, budget) -> loss")
    alive, history, used = configs, [], 0.0
    for i, (n_i, r_i) in enumerate(rungs):
        alive = alive[:n_i]
        results = [(c, r_i, float(evaluate(c, r_i))) for c in alive]
        used += r_i * len(alive)
        history.append(results)
        order = sorted(range(len(results)), key=lambda j: results[j][2])
        alive = [results[j][0] for j in order]
    return alive[0], history, used


def _softmax(a: np.ndarray) -> np.ndarray:
    e = np.exp(a - a.max())
    return e / e.sum()


def mixed_op(outputs: Any, alpha: Any) -> np.ndarray:
    """DARTS's mixed operation: y = sum_k softmax(alpha)_k o_k, eq. (eq-darts-mixed).

    outputs: (K, ...) the K candidate operations applied to the same input;
    alpha: (K,) architecture logits.
    """
    O = as_float_array(outputs, "mixed_op", "outputs")
    a = as_float_array(alpha, "mixed_op", "alpha", ndim=1, layout="(K,)")
    if O.ndim < 1 or O.shape[0] != a.shape[0]:
        raise ValueError(f"mixed_op: outputs must be (K, ...) with K = {a.shape[0]} "
                         f"candidates, got shape {O.shape}")
    p = _softmax(a)
    return np.tensordot(p, O, axes=1)


def mixed_op_vjp(outputs: Any, alpha: Any, dy: Any) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of L through y = sum_k p_k o_k, p = softmax(alpha), given dL/dy.

    dL/do_k = p_k dy; dL/dalpha_k = p_k (g_k - sum_j p_j g_j), g_k = <dy, o_k>
    (eq. (eq-darts-grad)). Returns (d_outputs (K, ...), d_alpha (K,)).
    """
    O = as_float_array(outputs, "mixed_op_vjp", "outputs")
    a = as_float_array(alpha, "mixed_op_vjp", "alpha", ndim=1, layout="(K,)")
    dy = as_float_array(dy, "mixed_op_vjp", "dy")
    if O.shape[0] != a.shape[0] or O.shape[1:] != dy.shape:
        raise ValueError(f"mixed_op_vjp: outputs (K, ...) = {O.shape}, alpha (K,) = "
                         f"{a.shape} and dy (...) = {dy.shape} do not fit")
    p = _softmax(a)
    g = O.reshape(len(a), -1) @ dy.reshape(-1)
    d_alpha = p * (g - p @ g)
    d_outputs = p.reshape(-1, *([1] * dy.ndim)) * dy
    return d_outputs, d_alpha
