"""Optimizers and learning-rate schedules, in numpy, with ``torch.optim``'s semantics.

Chapter 4 derives every update rule here; each class takes the same
hyper-parameters (names, defaults, meaning) as its ``torch.optim`` twin and
performs the same arithmetic, so that 100 steps of both agree to ~1e-10 in
float64. The differences are only in how gradients arrive::

    params = [W, b]                       # numpy arrays, updated in place
    opt = dlmath.optim.Adam(params, lr=1e-3)
    sched = dlmath.optim.CosineAnnealingLR(opt, T_max=100)
    for step in range(100):
        dW, db = grad(W, b)               # hand-derived gradients
        opt.step([dW, db])                # torch: loss.backward(); opt.step()
        sched.step()                      # after optimizer.step(), like torch
    opt.lr                                # torch: opt.param_groups[0]["lr"]

``step(grads)`` takes one gradient per parameter, of the same shape (``None``
skips a parameter, like a tensor whose ``.grad`` is ``None``). There is one
parameter group; ``opt.lr`` plays the role of ``param_groups[0]["lr"]``.

The module also holds small 2-D test landscapes (``quadratic``, ``rosenbrock``,
``saddle``, ``three_wells``), each returning the value and its hand-derived
gradient at a batch of points, and ``trajectory`` to run an optimizer on one.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from ._validate import _is_torch_tensor, as_float_array, check_int

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW",
           "LRScheduler", "StepLR", "CosineAnnealingLR", "LinearLR", "LinearWarmup",
           "quadratic", "rosenbrock", "saddle", "three_wells", "trajectory"]


# --------------------------------------------------------------------------- validation
def _number(value: Any, fn: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"{fn}: {name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{fn}: {name} must be finite, got {value}")
    return float(value)


def _nonneg(value: Any, fn: str, name: str, what: str) -> float:
    """torch's ``if not 0.0 <= value: raise ValueError(f"Invalid {what}: {value}")``."""
    v = _number(value, fn, name)
    if not v >= 0.0:
        raise ValueError(f"{fn}: invalid {what}: {name} must be >= 0, got {value}")
    return v


def _lr(value: Any, fn: str) -> float:
    return _nonneg(value, fn, "lr", "learning rate")


def _eps(value: Any, fn: str) -> float:
    # torch accepts eps = 0; we do not: eps is what keeps the division finite.
    v = _number(value, fn, "eps")
    if not v > 0.0:
        raise ValueError(f"{fn}: invalid epsilon value: eps must be > 0, got {value}")
    return v


def _betas(betas: Any, fn: str) -> tuple[float, float]:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"{fn}: betas must be a pair (beta1, beta2), got {betas!r}")
    out = []
    for i, b in enumerate(betas):
        v = _number(b, fn, f"betas[{i}]")
        if not 0.0 <= v < 1.0:
            raise ValueError(f"{fn}: invalid beta parameter at index {i}: "
                             f"betas[{i}] must be in [0, 1), got {b}")
        out.append(v)
    return out[0], out[1]


def _params(params: Any, fn: str) -> list[np.ndarray]:
    if isinstance(params, np.ndarray):
        raise TypeError(
            f"{fn}: params must be a list of numpy arrays, got a single array; "
            f"wrap it: [x]"
        )
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"{fn}: params must be a list of numpy arrays, "
                        f"got {type(params).__name__}") from None
    if not params:
        raise ValueError(f"{fn}: optimizer got an empty parameter list")
    for i, p in enumerate(params):
        if _is_torch_tensor(p):
            raise TypeError(
                f"{fn}: params[{i}] must be a numpy array, got a torch.Tensor"
            )
        if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
            kind = p.dtype if isinstance(p, np.ndarray) else type(p).__name__
            raise TypeError(
                f"{fn}: params[{i}] must be a float numpy array (it is updated "
                f"in place), got {kind}"
            )
        if not p.flags.writeable:
            raise ValueError(
                f"{fn}: params[{i}] is read-only; it must be updated in place"
            )
    if len({id(p) for p in params}) != len(params):
        raise ValueError(f"{fn}: some parameters appear more than once in params")
    return params


def _lerp_(a: np.ndarray, b: np.ndarray, w: float) -> None:
    """``a <- a + w (b - a)`` in place, rounded like ``torch.lerp`` (exact at w = 0,
    1)."""
    if w < 0.5:
        a += w * (b - a)
    else:
        a[...] = b - (b - a) * (1 - w)


# --------------------------------------------------------------------------- optimizers
class Optimizer:
    """Base class: ``params``, the learning rate ``lr``, per-parameter ``state``.

    Subclasses implement ``_update(i, p, g)``, the rule for one parameter ``p``
    (updated in place) given its gradient ``g`` and ``self.state[i]``.
    """

    def __init__(self, params: Sequence[np.ndarray], lr: float, defaults: dict):
        name = type(self).__name__
        self.params = _params(params, name)
        self.lr = lr
        self.defaults = {"lr": self.lr, **defaults}
        self.state: list[dict] = [{} for _ in self.params]

    @property
    def lr(self) -> float:
        """The learning rate now (torch: ``param_groups[0]["lr"]``); schedulers set
        it."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _lr(value, type(self).__name__)

    def step(self, grads: Sequence[np.ndarray | None]) -> None:
        """One update of every parameter from its gradient (``None``: skip it)."""
        name = f"{type(self).__name__}.step"
        if isinstance(grads, np.ndarray) or _is_torch_tensor(grads):
            raise TypeError(
                f"{name}: grads must be a list with one array per parameter, "
                f"got a single {type(grads).__name__}"
            )
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ValueError(f"{name}: expected {len(self.params)} gradients (one per "
                             f"parameter), got {len(grads)}")
        checked = []
        for i, (p, g) in enumerate(zip(self.params, grads)):
            if g is None:
                checked.append(None)
                continue
            g = as_float_array(g, name, f"grads[{i}]")
            if g.shape != p.shape:
                raise ValueError(
                    f"{name}: grads[{i}] must have the shape of params[{i}], "
                    f"{p.shape}, got {g.shape}"
                )
            checked.append(g.astype(p.dtype, copy=False))
        for i, (p, g) in enumerate(zip(self.params, checked)):
            if g is not None:
                self._update(i, p, g)

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        hp = ", ".join(f"{k}={v}" for k, v in {**self.defaults, "lr": self.lr}.items())
        return f"{type(self).__name__}({len(self.params)} params, {hp})"


class SGD(Optimizer):
    """SGD with (Nesterov) momentum, eqs. (4.1) and (4.12)-(4.14).

    With ``g = grad + weight_decay * p`` and buffer ``b`` (``b_1 = g_1``)::

        b_t = momentum * b_{t-1} + (1 - dampening) * g_t
        d_t = g_t + momentum * b_t   if nesterov   else   b_t
        (d_t = g_t if momentum == 0)
        p  <- p - lr * d_t
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ):
        momentum = _nonneg(momentum, "SGD", "momentum", "momentum value")
        dampening = _number(dampening, "SGD", "dampening")
        weight_decay = _nonneg(
            weight_decay, "SGD", "weight_decay", "weight_decay value"
        )
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                "SGD: Nesterov momentum requires a momentum and zero dampening, "
                f"got momentum={momentum}, dampening={dampening}"
            )
        super().__init__(params, _lr(lr, "SGD"), dict(
            momentum=momentum, dampening=dampening, weight_decay=weight_decay,
            nesterov=bool(nesterov)))

    def _update(self, i, p, g):
        d = self.defaults
        if d["weight_decay"] != 0:
            g = g + d["weight_decay"] * p                    # L2 penalty's gradient
        if d["momentum"] != 0:
            buf = self.state[i].get("momentum_buffer")
            if buf is None:
                buf = self.state[i]["momentum_buffer"] = g.copy()
            else:
                buf *= d["momentum"]
                buf += (1 - d["dampening"]) * g
            g = g + d["momentum"] * buf if d["nesterov"] else buf
        p -= self.lr * g


class Adagrad(Optimizer):
    """AdaGrad, eq. (4.16): per-coordinate steps ``lr_t / (sqrt(sum of g²) + eps)``.

    ``s_t = s_{t-1} + g_t²`` (``s_0 = initial_accumulator_value``),
    ``lr_t = lr / (1 + (t - 1) lr_decay)``, ``p <- p - lr_t g_t / (sqrt(s_t) + eps)``.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ):
        fn = "Adagrad"
        super().__init__(
            params,
            _lr(lr, fn),
            dict(
                lr_decay=_nonneg(lr_decay, fn, "lr_decay", "lr_decay value"),
                weight_decay=_nonneg(
                    weight_decay, fn, "weight_decay", "weight_decay value"
                ),
                initial_accumulator_value=_nonneg(
                    initial_accumulator_value,
                    fn,
                    "initial_accumulator_value",
                    "initial_accumulator_value value",
                ),
                eps=_eps(eps, fn),
            ),
        )
        for st, p in zip(self.state, self.params):  # torch creates the state eagerly
            st["step"] = 0
            st["sum"] = np.full_like(p, self.defaults["initial_accumulator_value"])

    def _update(self, i, p, g):
        d, st = self.defaults, self.state[i]
        st["step"] += 1
        if d["weight_decay"] != 0:
            g = g + d["weight_decay"] * p
        clr = self.lr / (1 + (st["step"] - 1) * d["lr_decay"])
        st["sum"] += g * g
        std = np.sqrt(st["sum"]) + d["eps"]
        p -= clr * (g / std)


class RMSprop(Optimizer):
    """RMSProp, eq. (4.17), optionally centered and with momentum.

    ``v_t = alpha v_{t-1} + (1 - alpha) g_t²``; centered: ``m_t = alpha m_{t-1} +
    (1 - alpha) g_t`` and ``v_t - m_t²`` replaces ``v_t``; ``a_t = sqrt(.) + eps``;
    ``p <- p - lr g_t / a_t``, or with momentum ``b_t = momentum b_{t-1} + g_t / a_t``,
    ``p <- p - lr b_t``. (``centered`` with a gradient that does not change, or
    with ``alpha=0``, estimates a variance that is exactly 0: ``v - m²`` is then
    rounding noise, and so is the step; torch, which rounds ``v - m²`` once in a
    fused multiply-add, may even take the square root of a tiny negative number.)
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ):
        fn = "RMSprop"
        super().__init__(
            params,
            _lr(lr, fn),
            dict(
                alpha=_nonneg(alpha, fn, "alpha", "alpha value"),
                eps=_eps(eps, fn),
                weight_decay=_nonneg(
                    weight_decay, fn, "weight_decay", "weight_decay value"
                ),
                momentum=_nonneg(momentum, fn, "momentum", "momentum value"),
                centered=bool(centered),
            ),
        )

    def _update(self, i, p, g):
        d, st = self.defaults, self.state[i]
        if not st:
            st["step"] = 0
            st["square_avg"] = np.zeros_like(p)
            if d["momentum"] > 0:
                st["momentum_buffer"] = np.zeros_like(p)
            if d["centered"]:
                st["grad_avg"] = np.zeros_like(p)
        st["step"] += 1
        if d["weight_decay"] != 0:
            g = g + d["weight_decay"] * p
        v = st["square_avg"]
        v *= d["alpha"]
        v += (1 - d["alpha"]) * (g * g)
        if d["centered"]:
            m = st["grad_avg"]
            # m <- alpha m + (1 - alpha) g
            _lerp_(m, g, 1 - d["alpha"])
            # v - m², the variance estimate
            avg = np.sqrt(v - m * m)
        else:
            avg = np.sqrt(v)
        avg += d["eps"]
        if d["momentum"] > 0:
            buf = st["momentum_buffer"]
            buf *= d["momentum"]
            buf += g / avg
            p -= self.lr * buf
        else:
            p -= self.lr * (g / avg)


class Adam(Optimizer):
    """Adam with bias correction, eqs. (4.18)-(4.21); ``amsgrad``: running max of v.

    ``m_t = beta1 m_{t-1} + (1 - beta1) g_t``,
    ``v_t = beta2 v_{t-1} + (1 - beta2) g_t²``,
    ``p <- p - lr / (1 - beta1^t) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)``.
    ``weight_decay`` adds ``weight_decay * p`` to the gradient (L2, coupled).
    """

    _decoupled = False

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ):
        fn = type(self).__name__
        super().__init__(
            params,
            _lr(lr, fn),
            dict(
                betas=_betas(betas, fn),
                eps=_eps(eps, fn),
                weight_decay=_nonneg(
                    weight_decay, fn, "weight_decay", "weight_decay value"
                ),
                amsgrad=bool(amsgrad),
            ),
        )

    def _update(self, i, p, g):
        d, st = self.defaults, self.state[i]
        beta1, beta2 = d["betas"]
        if not st:
            st["step"] = 0
            st["exp_avg"] = np.zeros_like(p)
            st["exp_avg_sq"] = np.zeros_like(p)
            if d["amsgrad"]:
                st["max_exp_avg_sq"] = np.zeros_like(p)
        st["step"] += 1
        t = st["step"]
        if d["weight_decay"] != 0:
            if self._decoupled:
                p *= 1 - self.lr * d["weight_decay"]         # AdamW: shrink p itself
            else:
                # Adam: L2 into the gradient
                g = g + d["weight_decay"] * p
        m, v = st["exp_avg"], st["exp_avg_sq"]
        # m <- beta1 m + (1 - beta1) g
        _lerp_(m, g, 1 - beta1)
        v *= beta2
        v += (1 - beta2) * (g * g)
        bias_correction1 = 1 - beta1 ** t
        bias_correction2_sqrt = (1 - beta2 ** t) ** 0.5
        step_size = self.lr / bias_correction1
        if d["amsgrad"]:
            np.maximum(st["max_exp_avg_sq"], v, out=st["max_exp_avg_sq"])
            v = st["max_exp_avg_sq"]
        denom = np.sqrt(v) / bias_correction2_sqrt + d["eps"]
        p -= step_size * (m / denom)


class AdamW(Adam):
    """Adam, decoupled weight decay, eq. (4.23): ``p <- (1 - lr wd) p``, then Adam.

    Same as ``Adam`` otherwise; note the default ``weight_decay=1e-2``.
    """

    _decoupled = True

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)


# --------------------------------------------------------------------------- schedulers
class LRScheduler:
    """Base class of the schedules: ``step()`` after each ``optimizer.step()``.

    Like torch, construction performs a first ``step()`` (``last_epoch``
    becomes 0 and the learning rate takes its initial scheduled value), the
    first scheduler on an optimizer records ``optimizer.initial_lr``
    (torch: ``param_groups[0]["initial_lr"]``) as ``base_lrs[0]``, and every
    rule is written in torch's *chainable* (recursive) form, so several
    schedulers stepping the same optimizer compose as in torch.
    """

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: optimizer must be a dlmath.optim "
                            f"Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if not hasattr(optimizer, "initial_lr"):
            optimizer.initial_lr = optimizer.lr
        self.base_lrs = [optimizer.initial_lr]
        self.last_epoch = -1
        self._initial = True
        self.step()
        self._initial = False

    def get_lr(self) -> float:  # pragma: no cover
        """The learning rate for ``self.last_epoch`` (already advanced)."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one step and set ``optimizer.lr``."""
        self.last_epoch += 1
        # not through the validating setter: like torch, a chainable rule may round a
        # learning rate that should be 0 to -1e-17
        self.optimizer._lr = float(self.get_lr())
        self._last_lr = [self.optimizer.lr]

    def get_last_lr(self) -> list[float]:
        """The learning rate set by the last ``step()``, a one-element list (as
        torch)."""
        return list(self._last_lr)


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` steps.

    Closed form: ``lr_t = base_lr * gamma ** (t // step_size)``.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        self.step_size = check_int(step_size, "StepLR", "step_size", minimum=1)
        self.gamma = _nonneg(gamma, "StepLR", "gamma", "gamma value")
        super().__init__(optimizer)

    def get_lr(self) -> float:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self.optimizer.lr
        return self.optimizer.lr * self.gamma


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing, ``base_lr`` to ``eta_min`` over ``T_max`` steps, eq. (4.10).

    Closed form: ``lr_t = eta_min + (base_lr - eta_min) (1 + cos(pi t / T_max)) / 2``;
    implemented, like torch, as the ratio of consecutive closed forms applied to
    the current learning rate (and, like torch, it rises again after ``T_max``).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):
        self.T_max = check_int(T_max, "CosineAnnealingLR", "T_max", minimum=1)
        self.eta_min = _nonneg(eta_min, "CosineAnnealingLR", "eta_min", "eta_min value")
        super().__init__(optimizer)

    def get_lr(self) -> float:
        t, T, lr, base = (
            self.last_epoch,
            self.T_max,
            self.optimizer.lr,
            self.base_lrs[0],
        )
        if self._initial:
            return lr
        # the step after a minimum: the ratio would be 0/0
        if (t - 1 - T) % (2 * T) == 0:
            return lr + (base - self.eta_min) * (1 - math.cos(math.pi / T)) / 2
        return ((1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (lr - self.eta_min) + self.eta_min)


class LinearLR(LRScheduler):
    """Linear warmup (or decay): a factor from ``start_factor`` to ``end_factor``.

    Closed form: ``lr_t = base_lr (s + (e - s) min(t, total_iters) / total_iters)``,
    eq. (4.11); implemented as torch's ratio of consecutive factors.
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5):
        start_factor = _number(start_factor, "LinearLR", "start_factor")
        end_factor = _number(end_factor, "LinearLR", "end_factor")
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError(
                "LinearLR: starting multiplicative factor expected to be greater "
                f"than 0 and less or equal to 1, got start_factor={start_factor}"
            )
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError(
                "LinearLR: ending multiplicative factor expected to be between "
                f"0 and 1, got end_factor={end_factor}"
            )
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = check_int(total_iters, "LinearLR", "total_iters", minimum=1)
        super().__init__(optimizer)

    def get_lr(self) -> float:
        t, lr = self.last_epoch, self.optimizer.lr
        s, e = self.start_factor, self.end_factor
        if t == 0:
            return lr * s
        if t > self.total_iters:
            return lr
        return lr * (1.0 + (e - s) / (self.total_iters * s + (t - 1) * (e - s)))


#: ``LinearLR`` under the name of its most common use.
LinearWarmup = LinearLR


# --------------------------------------------------------------------------- landscapes
def _points(xy: Any, fn: str) -> np.ndarray:
    xy = as_float_array(xy, fn, "xy")
    if xy.ndim == 0 or xy.shape[-1] != 2:
        raise ValueError(f"{fn}: xy must have shape (..., 2), got {xy.shape}")
    return xy


def quadratic(xy, A=((1.0, 0.0), (0.0, 10.0)), b=(0.0, 0.0)):
    """``f(x) = ½ xᵀ A x - bᵀ x`` and ``∇f = A x - b`` at points xy (..., 2)."""
    x = _points(xy, "quadratic")
    A, b = np.asarray(A, dtype=float), np.asarray(b, dtype=float)
    Ax = x @ A.T
    return 0.5 * (x * Ax).sum(-1) - x @ b, Ax - b


def rosenbrock(xy, a: float = 1.0, b: float = 100.0):
    """``f = (a - x)² + b (y - x²)²``; minimum 0 at (a, a²) in a narrow curved
    valley."""
    p = _points(xy, "rosenbrock")
    x, y = p[..., 0], p[..., 1]
    r = y - x ** 2
    f = (a - x) ** 2 + b * r ** 2
    grad = np.stack([-2 * (a - x) - 4 * b * x * r, 2 * b * r], axis=-1)
    return f, grad


def saddle(xy):
    """``f = x² - y²``: a saddle at 0 (Hessian eigenvalues 2 and -2)."""
    p = _points(xy, "saddle")
    x, y = p[..., 0], p[..., 1]
    return x ** 2 - y ** 2, np.stack([2 * x, -2 * y], axis=-1)


def three_wells(xy):
    """Three Gaussian wells of different depths and widths on a bowl.

    ``f = 0.05 |p|² - Σ_k h_k exp(-|p - c_k|² / (2 s_k²))``; its minima sit
    near the centres ``c_k``, saddles between them, so where gradient descent
    ends depends on where it starts.
    """
    p = _points(xy, "three_wells")
    C = np.array([[-1.5, -0.5], [1.5, -0.8], [0.2, 1.6]])
    h = np.array([1.0, 1.4, 0.8])
    s = np.array([0.7, 0.55, 0.8])
    diff = p[..., None, :] - C                              # (..., 3, 2)
    e = h * np.exp(-(diff ** 2).sum(-1) / (2 * s ** 2))     # (..., 3)
    f = 0.05 * (p ** 2).sum(-1) - e.sum(-1)
    grad = 0.1 * p + (e[..., None] * diff / s[:, None] ** 2).sum(-2)
    return f, grad


def trajectory(optimizer: Callable[..., Optimizer], landscape: Callable, x0, steps: int,
               **hyper) -> np.ndarray:
    """Run ``optimizer([x], **hyper)`` for ``steps`` steps on ``landscape`` from ``x0``.

    ``landscape(x)`` returns ``(f, grad)``. Returns the iterates, shape
    ``(steps + 1, *x0.shape)``, starting with ``x0``. Stops early (padding
    with NaN) if an iterate leaves the floats.
    """
    steps = check_int(steps, "trajectory", "steps", minimum=0)
    x = as_float_array(x0, "trajectory", "x0").astype(np.float64, copy=True)
    opt = optimizer([x], **hyper)
    path = np.full((steps + 1, *x.shape), np.nan)
    path[0] = x
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, steps + 1):
            opt.step([landscape(x)[1]])
            if not np.all(np.isfinite(x)):
                break
            path[k] = x
    return path
