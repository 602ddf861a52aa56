"""Attributions: which input features a model's score depends on (Chapter 12).

A *model* here is a pair ``(forward, gradient)`` of numpy functions on a batch:

- ``forward(X)``: ``X`` of shape ``(N, *shape)`` -> one score per example, ``(N,)``;
- ``gradient(X)``: the gradient of each example's score w.r.t. its input,
  ``(N, *shape)``.

``torch_model(module, target)`` and ``nn_model(module, target)`` build that pair
from a ``torch.nn.Module`` or a ``dlmath.nn`` layer (the score is the output
column ``target``), so both kinds of network go through the same code. Every
method mirrors a ``captum.attr`` class and is checked against it in the chapter
and in ``tests/test_explain.py``:

==========================  =================================  =====================
function                    equation                           captum
==========================  =================================  =====================
``saliency``                |∂f/∂x|, eq-xai-saliency                ``Saliency``
``input_x_gradient``        x ⊙ ∂f/∂x                          ``InputXGradient``
``smoothgrad``              mean of ∂f/∂x over x + ε           ``NoiseTunnel``
``integrated_gradients``    (x - x') ⊙ ∫ ∇f(x' + α(x - x'))    ``IntegratedGradients``
``occlusion``               f(x) - f(x with a patch replaced)  ``Occlusion``
``shapley_exact``           Shapley formula, all coalitions    ``ShapleyValues``
``shapley_sampled``         average over permutations          ``ShapleyValueSampling``
==========================  =================================  =====================
"""
from __future__ import annotations

import itertools
import math
from typing import Any, Callable, Sequence

import numpy as np

from ._validate import as_float_array, check_int, check_positive

__all__ = [
    "Model", "torch_model", "nn_model", "scores", "saliency", "input_x_gradient",
    "smoothgrad", "QUADRATURES", "quadrature", "integrated_gradients",
    "completeness_gap", "occlusion", "shapley_exact", "shapley_sampled",
    "rank_correlation", "blur", "digits_cnn", "digits_mlp",
]

Model = tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]

QUADRATURES = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid",
               "trapezoid", "gausslegendre")


# ----------------------------------------------------------------- models
def _target_column(out, target, fn: str):
    """One score per example from a (N,) or (N, C) output."""
    if target is None:
        if out.ndim == 2 and out.shape[1] == 1:
            return out[:, 0]
        return out
    if out.ndim != 2:
        raise ValueError(f"{fn}: with target=..., the model must output (N, C), "
                         f"got shape {tuple(out.shape)}")
    return out[np.arange(out.shape[0]), _targets(target, out.shape[0], fn)]


def _targets(target, B: int, fn: str) -> np.ndarray:
    """One class index per row. A batch of k copies of N examples is copy-major
    (rows c N ... c N + N - 1 are copy c), as every method here builds it: N
    targets are tiled k times."""
    t = np.atleast_1d(np.asarray(target))
    if t.ndim != 1 or t.dtype.kind not in "iu":
        raise ValueError(f"{fn}: target must be an int or a 1-d array of ints, "
                         f"got {t.dtype} of shape {t.shape}")
    if len(t) == 1 or len(t) == B:
        return np.broadcast_to(t, (B,)).copy()
    if B % len(t):
        raise ValueError(f"{fn}: {len(t)} targets for a batch of {B} rows")
    return np.tile(t, B // len(t))


def torch_model(module, target: int | Sequence[int] | None = None, *,
                dtype=None, device=None) -> Model:
    """``(forward, gradient)`` of a torch module's score ``module(X)[:, target]``.

    Inputs are numpy arrays; they become tensors of ``dtype`` (default float64)
    on ``device`` (default ``dlmath.device()``); outputs come back as numpy.
    ``target`` is a class index, one per example, or None for a model whose
    output is already one score per example.
    """
    import torch

    from ._device import device as _default_device

    dtype = torch.float64 if dtype is None else dtype
    dev = device or _default_device()

    def _score(X):
        return _target_column(module(X), target, "torch_model")

    def forward(X: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            Xt = torch.as_tensor(np.asarray(X), dtype=dtype, device=dev)
            return _score(Xt).detach().cpu().numpy().astype(np.float64)

    def gradient(X: np.ndarray) -> np.ndarray:
        Xt = torch.as_tensor(np.asarray(X), dtype=dtype, device=dev).requires_grad_()
        (g,) = torch.autograd.grad(_score(Xt).sum(), Xt)
        return g.detach().cpu().numpy().astype(np.float64)

    return forward, gradient


def nn_model(module, target: int | Sequence[int] | None = None) -> Model:
    """``(forward, gradient)`` of a ``dlmath.nn`` layer's score
    ``module(X)[:, target]``.

    The gradient is the layer's hand-derived backward with a one-hot ``dout``:
    row ``n`` of ``dout`` selects the score of example ``n``.
    """
    def forward(X: np.ndarray) -> np.ndarray:
        return np.asarray(_target_column(np.asarray(module(X)), target, "nn_model"))

    def gradient(X: np.ndarray) -> np.ndarray:
        out = np.asarray(module(X))
        dout = np.zeros_like(out)
        if target is None:
            dout[...] = 1.0
        else:
            dout[np.arange(out.shape[0]), _targets(target, len(out), "nn_model")] = 1.0
        return np.asarray(module.backward(dout))

    return forward, gradient


def _check_model(model: Any, fn: str) -> Model:
    if (not isinstance(model, (tuple, list)) or len(model) != 2
            or not all(callable(m) for m in model)):
        raise TypeError(f"{fn}: model must be a (forward, gradient) pair of functions, "
                        f"got {type(model).__name__}")
    return model[0], model[1]


def _batch(x: Any, fn: str, name: str = "x") -> np.ndarray:
    arr = as_float_array(x, fn, name)
    if arr.ndim < 2:
        raise ValueError(f"{fn}: {name} must be a batch (N, *features) with at least "
                         f"2 dims, got shape {arr.shape}")
    return arr.astype(np.float64)


def scores(model: Model, X: np.ndarray, fn: str = "scores") -> np.ndarray:
    """``forward(X)``, checked to be one score per example: shape ``(N,)``."""
    forward, _ = _check_model(model, fn)
    out = np.asarray(forward(X), dtype=np.float64)
    if out.shape != (len(X),):
        raise ValueError(f"{fn}: the model must return one score per example, "
                         f"shape ({len(X)},), got shape {out.shape}; pass target=... "
                         f"to torch_model/nn_model to pick one output")
    return out


def _grads(model: Model, X: np.ndarray, fn: str) -> np.ndarray:
    _, gradient = _check_model(model, fn)
    g = np.asarray(gradient(X), dtype=np.float64)
    if g.shape != X.shape:
        raise ValueError(f"{fn}: the model's gradient must have the input's shape "
                         f"{X.shape}, got {g.shape}")
    return g


def _baseline(baseline: Any, x: np.ndarray, fn: str) -> np.ndarray:
    """A scalar, one input (*shape) for all examples, or one per example."""
    if baseline is None:
        return np.zeros_like(x)
    b = as_float_array(baseline, fn, "baseline").astype(np.float64)
    if b.ndim == 0:
        return np.full_like(x, float(b))
    if b.shape == x.shape[1:]:
        return np.broadcast_to(b, x.shape).copy()
    if b.shape != x.shape:
        raise ValueError(f"{fn}: baseline must be a number, shape {x.shape[1:]} or "
                         f"shape {x.shape} (the input's), got shape {b.shape}")
    return b


# ----------------------------------------------------------------- gradients
def saliency(model: Model, x: np.ndarray, *, abs: bool = True) -> np.ndarray:
    """Saliency |∂f/∂x| (or the signed gradient with ``abs=False``), eq-xai-saliency.

    x: (N, *shape) -> (N, *shape). As ``captum.attr.Saliency`` (``abs=True``
    by default).
    """
    x = _batch(x, "saliency")
    scores(model, x, "saliency")
    g = _grads(model, x, "saliency")
    return np.abs(g) if abs else g


def input_x_gradient(model: Model, x: np.ndarray) -> np.ndarray:
    """Gradient times input x ⊙ ∂f/∂x. x: (N, *shape) -> (N, *shape)."""
    x = _batch(x, "input_x_gradient")
    scores(model, x, "input_x_gradient")
    return x * _grads(model, x, "input_x_gradient")


def smoothgrad(model: Model, x: np.ndarray, *, stdev: float = 0.1,
               n_samples: int = 50, noise: np.ndarray | None = None,
               rng: np.random.Generator | None = None, abs: bool = False,
               return_std: bool = False):
    """SmoothGrad: (1/n) Σ_k ∇f(x + ε_k), ε_k ~ N(0, σ² I), eq-xai-smoothgrad.

    x: (N, *shape). ``noise`` (optional): the ε_k themselves, shape
    ``(N, n_samples, *shape)``; otherwise drawn from ``rng`` with ``stdev``.
    ``abs=True`` averages |∇f| instead (captum's ``NoiseTunnel(Saliency)``
    with ``abs=True``). With ``return_std``, also the standard error of the
    mean, std_k / √n, elementwise.
    """
    fn = "smoothgrad"
    x = _batch(x, fn)
    scores(model, x, fn)          # one score per example (targets match the batch)
    if noise is None:
        n = check_int(n_samples, fn, "n_samples", minimum=1)
        check_positive(stdev, fn, "stdev")
        g = np.random.default_rng() if rng is None else rng
        noise = g.normal(0.0, stdev, (x.shape[0], n, *x.shape[1:]))
    noise = as_float_array(noise, fn, "noise")
    if noise.ndim != x.ndim + 1 or noise.shape[0] != x.shape[0] \
            or noise.shape[2:] != x.shape[1:]:
        raise ValueError(f"{fn}: noise must be (N, n_samples, *shape) = "
                         f"({x.shape[0]}, n, {', '.join(map(str, x.shape[1:]))}), "
                         f"got shape {noise.shape}")
    n = noise.shape[1]
    if n < 1:
        raise ValueError(f"{fn}: n_samples must be >= 1, got {n}")
    X = (x[None] + np.swapaxes(noise, 0, 1)).reshape(-1, *x.shape[1:])  # copy-major
    scores(model, X, fn)
    g = np.swapaxes(_grads(model, X, fn).reshape(n, *x.shape), 0, 1)  # (N, n, ...)
    if abs:
        g = np.abs(g)
    mean = g.mean(axis=1)
    if not return_std:
        return mean
    se = g.std(axis=1, ddof=1) / math.sqrt(n) if n > 1 else np.full_like(mean, np.nan)
    return mean, se


# ----------------------------------------------------------------- integrated gradients
def quadrature(method: str, n_steps: int, *,
               float32: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Nodes α_k in [0, 1] and weights w_k of ∫₀¹ g ≈ Σ_k w_k g(α_k), eq-ig-quad.

    ``riemann_left`` / ``riemann_right`` / ``riemann_middle``: n cells of width
    1/n, g at the cell's left end, right end or middle (errors O(1/n), O(1/n),
    O(1/n²)); ``trapezoid``: the composite trapezoid rule on n points
    (n - 1 cells, weights h/2, h, ..., h, h/2 with h = 1/(n-1), O(1/n²));
    ``riemann_trapezoid``: captum's rule of that name, n points 0, 1/(n-1), ...,
    1 with weights 1/n halved at both ends (they sum to (n-1)/n, not 1);
    ``gausslegendre``: the n-point Gauss-Legendre rule (exact for polynomials of
    degree 2n - 1). ``float32=True`` reproduces captum 0.9 exactly: its Riemann
    nodes come from ``torch.linspace`` in float32 and all its weights are rounded
    to float32 (``torch.tensor(step_sizes).float()``).
    """
    fn = "quadrature"
    if method not in QUADRATURES:
        raise ValueError(f"{fn}: method must be one of {', '.join(QUADRATURES)}, "
                         f"got {method!r}")
    n = check_int(n_steps, fn, "n_steps", minimum=1)
    if method in ("riemann_trapezoid", "trapezoid") and n < 2:
        raise ValueError(f"{fn}: {method} needs n_steps >= 2 (both ends), got {n}")
    if method == "gausslegendre":
        t, w = np.polynomial.legendre.leggauss(n)
        alphas, weights = 0.5 * (1.0 + t), 0.5 * w
    elif method == "trapezoid":
        alphas = np.linspace(0.0, 1.0, n)
        weights = np.full(n, 1.0 / (n - 1))
        weights[[0, -1]] /= 2
    else:
        start, stop = {"riemann_left": (0.0, 1.0 - 1.0 / n),
                       "riemann_right": (1.0 / n, 1.0),
                       "riemann_middle": (1.0 / (2 * n), 1.0 - 1.0 / (2 * n)),
                       "riemann_trapezoid": (0.0, 1.0)}[method]
        if float32:          # captum's nodes: torch.linspace(start, stop, n), float32
            import torch
            alphas = np.array(torch.linspace(start, stop, n).tolist())
        else:
            alphas = np.linspace(start, stop, n)
        weights = np.full(n, 1.0 / n)
        if method == "riemann_trapezoid":
            weights[[0, -1]] /= 2
    if float32:
        weights = weights.astype(np.float32).astype(np.float64)
    return alphas, weights


def integrated_gradients(model: Model, x: np.ndarray, baseline: Any = None, *,
                         n_steps: int = 50, method: str = "gausslegendre",
                         float32: bool = False) -> np.ndarray:
    """Integrated gradients, eq-ig-def, by the quadrature rule ``method``:

    IG_i(x) = (x_i - x'_i) Σ_k w_k ∂f/∂x_i(x' + α_k (x - x')).

    x: (N, *shape); baseline x': None (zeros), a number, (*shape) or
    (N, *shape). All N n_steps path points go through the model in one batch.
    ``float32=True``: captum 0.9's exact nodes and weights (see ``quadrature``).
    """
    fn = "integrated_gradients"
    x = _batch(x, fn)
    b = _baseline(baseline, x, fn)
    n = check_int(n_steps, fn, "n_steps", minimum=1)
    scores(model, x, fn)          # one score per example (targets match the batch)
    alphas, weights = quadrature(method, n, float32=float32)
    X = (b[None] + alphas.reshape(-1, *[1] * x.ndim) * (x - b)[None])
    X = X.reshape(-1, *x.shape[1:])                      # (n N, *shape), step-major
    scores(model, X, fn)
    g = _grads(model, X, fn).reshape(n, *x.shape)
    return (x - b) * np.tensordot(weights, g, axes=(0, 0))


def completeness_gap(model: Model, attributions: np.ndarray, x: np.ndarray,
                     baseline: Any = None) -> np.ndarray:
    """Σ_i IG_i - (f(x) - f(x')) per example, eq-ig-completeness: zero for exact IG."""
    fn = "completeness_gap"
    x = _batch(x, fn)
    a = as_float_array(attributions, fn, "attributions")
    if a.shape != x.shape:
        raise ValueError(f"{fn}: attributions must have the input's shape {x.shape}, "
                         f"got {a.shape}")
    b = _baseline(baseline, x, fn)
    delta = scores(model, x, fn) - scores(model, b, fn)
    return a.reshape(len(x), -1).sum(axis=1) - delta


# ----------------------------------------------------------------- occlusion
def _tuple(v: Any, k: int, fn: str, name: str) -> tuple[int, ...]:
    vals = (v,) * k if isinstance(v, (int, np.integer)) else tuple(v)
    if len(vals) != k:
        raise ValueError(f"{fn}: {name} must have one entry per feature dim ({k}), "
                         f"got {v!r}")
    return tuple(check_int(s, fn, name, minimum=1) for s in vals)


def occlusion(model: Model, x: np.ndarray, window: int | Sequence[int], *,
              stride: int | Sequence[int] = 1, baseline: Any = 0.0) -> np.ndarray:
    """Occlusion, eq-occ-def: slide a window, replace it by the baseline, and give
    each feature the mean of f(x) - f(x occluded) over the windows covering it.

    x: (N, *shape); window, stride: one int per dim of ``shape`` (or one int for
    all). Windows start at 0, s, 2s, ... up to and including the first start
    >= D - w (the last one is cut at the edge), as ``captum.attr.Occlusion``.
    """
    fn = "occlusion"
    x = _batch(x, fn)
    shape = x.shape[1:]
    w = _tuple(window, len(shape), fn, "window")
    s = _tuple(stride, len(shape), fn, "stride")
    for d, (D, wd, sd) in enumerate(zip(shape, w, s)):
        if wd > D:
            raise ValueError(f"{fn}: window {w} is larger than the input {shape} "
                             f"in dim {d}")
        if sd > wd and wd < D:
            raise ValueError(f"{fn}: stride {s} is larger than the window {w} in "
                             f"dim {d}: some features would never be occluded")
    b = _baseline(baseline, x, fn)
    starts = [np.arange(math.ceil((D - wd) / sd) + 1) * sd
              for D, wd, sd in zip(shape, w, s)]
    masks = []
    for corner in itertools.product(*starts):
        m = np.zeros(shape, dtype=bool)
        m[tuple(slice(c, c + wd) for c, wd in zip(corner, w))] = True
        masks.append(m)
    M = np.stack(masks)                                          # (P, *shape)
    X = np.where(M[:, None], b[None], x[None]).reshape(-1, *shape)   # (P N, *shape)
    f0 = scores(model, x, fn)
    diff = f0[None] - scores(model, X, fn).reshape(len(M), len(x))   # (P, N)
    total = np.tensordot(diff, M.astype(np.float64), axes=(0, 0))    # (N, *shape)
    return total / M.sum(axis=0)


# ----------------------------------------------------------------- Shapley values
def _players(x: np.ndarray, feature_mask: Any, fn: str) -> tuple[np.ndarray, int]:
    """Feature groups: an int array of shape (*shape) with ids 0..M-1 (None: each
    feature its own player)."""
    shape = x.shape[1:]
    if feature_mask is None:
        return np.arange(int(np.prod(shape))).reshape(shape), int(np.prod(shape))
    m = np.asarray(feature_mask)
    if m.shape != shape or m.dtype.kind not in "iu":
        raise ValueError(f"{fn}: feature_mask must be ints of shape {shape}, got "
                         f"{m.dtype} of shape {m.shape}")
    ids = np.unique(m)
    if not np.array_equal(ids, np.arange(len(ids))):
        raise ValueError(f"{fn}: feature_mask ids must be 0..M-1, got {ids.tolist()}")
    return m, len(ids)


def _coalition_inputs(x, b, mask, coalitions):
    """Inputs with the players of each coalition (bool (K, M)) from x, others from b:
    shape (K N, *shape), coalition-major."""
    on = coalitions[:, mask]                                   # (K, *shape)
    return np.where(on[:, None], x[None], b[None]).reshape(-1, *x.shape[1:])


def shapley_exact(model: Model, x: np.ndarray, baseline: Any = 0.0, *,
                  feature_mask: Any = None, max_players: int = 16) -> np.ndarray:
    """Exact Shapley values by enumerating all 2^M coalitions, eq-shap-formula:

    φ_i = Σ_{S ⊆ P∖{i}} |S|! (M - |S| - 1)! / M! · (v(S ∪ {i}) - v(S)),

    with v(S) = f(x on S, baseline elsewhere). x: (N, *shape) -> (N, *shape)
    (each feature gets its group's value, as captum's ``ShapleyValues``).
    Costs 2^M model evaluations per example; refused above ``max_players``.
    """
    fn = "shapley_exact"
    x = _batch(x, fn)
    b = _baseline(baseline, x, fn)
    mask, M = _players(x, feature_mask, fn)
    scores(model, x, fn)          # one score per example (targets match the batch)
    if M > max_players:
        raise ValueError(f"{fn}: {M} players need 2^{M} evaluations per example; "
                         f"raise max_players (now {max_players}) or use "
                         f"shapley_sampled")
    codes = np.arange(2 ** M)
    C = ((codes[:, None] >> np.arange(M)) & 1).astype(bool)    # (2^M, M)
    v = scores(model, _coalition_inputs(x, b, mask, C), fn).reshape(2 ** M, len(x))
    size = C.sum(axis=1)
    fact = np.array([math.factorial(k) for k in range(M + 1)], dtype=np.float64)
    phi = np.zeros((len(x), M))
    for i in range(M):
        without = codes[~C[:, i]]                               # S not holding i
        wts = fact[size[without]] * fact[M - size[without] - 1] / fact[M]
        phi[:, i] = wts @ (v[without | (1 << i)] - v[without])
    return phi[:, mask]


def shapley_sampled(model: Model, x: np.ndarray, baseline: Any = 0.0, *,
                    n_samples: int = 25, feature_mask: Any = None,
                    permutations: np.ndarray | None = None,
                    rng: np.random.Generator | None = None,
                    return_std: bool = False):
    """Shapley values estimated from random orders of the players, eq-shap-perm:
    φ̂_i = (1/n) Σ_k (v(Pre_k(i) ∪ {i}) - v(Pre_k(i))), Pre_k(i) the players
    before i in permutation k.

    ``permutations``: (n, M) ints (e.g. the ``torch.randperm`` draws of captum's
    ``ShapleyValueSampling``), otherwise n orders from ``rng``. With
    ``return_std``, also the standard error std_k / √n per feature.
    x: (N, *shape) -> (N, *shape).
    """
    fn = "shapley_sampled"
    x = _batch(x, fn)
    b = _baseline(baseline, x, fn)
    mask, M = _players(x, feature_mask, fn)
    scores(model, x, fn)          # one score per example (targets match the batch)
    if permutations is None:
        n = check_int(n_samples, fn, "n_samples", minimum=1)
        g = np.random.default_rng() if rng is None else rng
        perms = np.stack([g.permutation(M) for _ in range(n)])
    else:
        perms = np.asarray(permutations)
        if perms.ndim != 2 or perms.shape[1] != M or perms.dtype.kind not in "iu" \
                or not all(np.array_equal(np.sort(p), np.arange(M)) for p in perms):
            raise ValueError(f"{fn}: permutations must be (n, {M}) orders of "
                             f"0..{M - 1}, got shape {perms.shape}")
    n = len(perms)
    # coalitions after 0, 1, ..., M players of each order: (n, M + 1, M)
    C = np.zeros((n, M + 1, M), dtype=bool)
    for k, p in enumerate(perms):
        for j, player in enumerate(p):
            C[k, j + 1:, player] = True
    v = scores(model, _coalition_inputs(x, b, mask, C.reshape(-1, M)), fn)
    v = v.reshape(n, M + 1, len(x))
    marg = np.zeros((n, len(x), M))
    for k, p in enumerate(perms):
        marg[k][:, p] = (v[k, 1:] - v[k, :-1]).T
    phi = marg.mean(axis=0)[:, mask]
    if not return_std:
        return phi
    se = (marg.std(axis=0, ddof=1) / math.sqrt(n) if n > 1
          else np.full((len(x), M), np.nan))
    return phi, se[:, mask]


# ----------------------------------------------------------------- comparing maps
def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two maps (flattened): the Pearson
    correlation of their ranks, ties given their mean rank."""
    fn = "rank_correlation"
    a = as_float_array(a, fn, "a").ravel()
    b = as_float_array(b, fn, "b").ravel()
    if a.shape != b.shape or a.size < 2:
        raise ValueError(f"{fn}: a and b must have the same size >= 2, got "
                         f"{a.size} and {b.size}")

    def ranks(v):
        order = np.argsort(v, kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(len(v), dtype=np.float64)
        _, inv, counts = np.unique(v, return_inverse=True, return_counts=True)
        sums = np.bincount(inv, weights=r)
        return (sums / counts)[inv]

    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    den = math.sqrt(float(ra @ ra) * float(rb @ rb))
    return float(ra @ rb / den) if den > 0 else float("nan")


# ----------------------------------------------------------------- baselines
def blur(x: np.ndarray, passes: int = 2) -> np.ndarray:
    """A blurred-image baseline: ``passes`` rounds of the separable 3x3 binomial filter
    [1, 2, 1]/4 with edge padding. x: (N, C, H, W) -> (N, C, H, W)."""
    x = as_float_array(x, "blur", "x", ndim=4, layout="(N, C, H, W)")
    check_int(passes, "blur", "passes", minimum=0)
    H, W = x.shape[2:]
    k = (0.25, 0.5, 0.25)
    for _ in range(passes):
        p = np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0)), mode="edge")
        x = sum(k[i] * p[:, :, i:i + H] for i in range(3))
        p = np.pad(x, ((0, 0), (0, 0), (0, 0), (1, 1)), mode="edge")
        x = sum(k[i] * p[:, :, :, i:i + W] for i in range(3))
    return x


# ----------------------------------------------------------------- models to explain
def _train_digits(model, images: bool, epochs: int, seed: int, fn: str):
    """Adam (lr 1e-2, batch 64, float32) for ``epochs`` epochs on the digits; the
    model comes back in float64 and eval mode, with the split and test accuracy."""
    import torch

    from .data import load_digits

    check_int(epochs, fn, "epochs", minimum=0)
    split = load_digits(images=images)
    Xtr = torch.tensor(split.X_train[:, None] if images else split.X_train,
                       dtype=torch.float32)
    ytr = torch.tensor(split.y_train)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(Xtr), generator=g).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(Xtr[idx]), ytr[idx]).backward()
            opt.step()
    model = model.double().eval()
    Xte = torch.tensor(split.X_test[:, None] if images else split.X_test)
    with torch.no_grad():
        pred = model(Xte).argmax(1).numpy()
    return model, split, float((pred == split.y_test).mean())


def digits_cnn(*, epochs: int = 20, seed: int = 0, width: int = 8):
    """The Chapter 7 style CNN on the 8x8 digits, trained for a fixed number of epochs.

    conv(1→w, 3x3) - ReLU - maxpool 2 - conv(w→2w, 3x3) - ReLU - maxpool 2 -
    linear(8w → 10), trained by Adam (lr 1e-2, batch 64) in float32 and returned
    in float64, eval mode, with the split of ``dlmath.data.load_digits(images=True)``:
    ``(model, split, test_accuracy)``. Inputs are (N, 1, 8, 8).
    """
    import torch

    torch.manual_seed(seed)
    w = check_int(width, "digits_cnn", "width", minimum=1)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, w, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(w, 2 * w, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(8 * w, 10))
    return _train_digits(model, True, epochs, seed, "digits_cnn")


def digits_mlp(*, epochs: int = 30, seed: int = 0, hidden: int = 32,
               activation: str = "tanh"):
    """A one-hidden-layer MLP (64 → hidden → 10) on the flat digits, ``activation``
    ``"tanh"`` (smooth) or ``"relu"``; trained as ``digits_cnn``. Inputs (N, 64)."""
    import torch

    acts = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}
    if activation not in acts:
        raise ValueError(f"digits_mlp: activation must be 'tanh' or 'relu', "
                         f"got {activation!r}")
    torch.manual_seed(seed)
    h = check_int(hidden, "digits_mlp", "hidden", minimum=1)
    model = torch.nn.Sequential(torch.nn.Linear(64, h), acts[activation](),
                                torch.nn.Linear(h, 10))
    return _train_digits(model, False, epochs, seed, "digits_mlp")
