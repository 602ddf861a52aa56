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

The 2-D test landscapes the chapter runs these on, and ``trajectory``, are in
``dlmath.landscapes``.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ._validate import _is_torch_tensor, as_float_array, check_int, check_nonneg, \
    check_number, check_positive

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW",
           "LRScheduler", "StepLR", "CosineAnnealingLR", "LinearLR", "LinearWarmup"]


# --------------------------------------------------------------------------- validation
# torch words these errors ``Invalid learning rate: -0.1``; ours add the function and
# name.
def _lr(value: Any, fn: str) -> float:
    return check_nonneg(value, fn, "lr", "learning rate")


def _eps(value: Any, fn: str) -> float:
    # torch accepts eps = 0; we do not: eps is what keeps the division finite.
    return check_positive(value, fn, "eps", "epsilon value")


def _betas(betas: Any, fn: str) -> tuple[float, float]:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"{fn}: betas must be a pair (beta1, beta2), got {betas!r}")
    out = []
    for i, b in enumerate(betas):
        v = check_number(b, fn, f"betas[{i}]")
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
    """``a <- a + w (b - a)`` in place with ``torch.lerp``'s two branches.

    Below w = 0.5 it adds ``w (b - a)`` to a; from 0.5 on it subtracts
    ``(1 - w)(b - a)``
    from b, so the result is exactly a at w = 0 and exactly b at w = 1.
    torch's CPU kernel
    fuses each multiply-add (one rounding fewer), so the two agree to one ulp of the
    operands, and bit for bit at w = 0, 0.5 and 1 (tests/test_optim.py).
    """
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
    """SGD with (Nesterov) momentum: Chapter 4, eq-gd, eq-heavy-ball, eq-nesterov.

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
        momentum = check_nonneg(momentum, "SGD", "momentum", "momentum value")
        dampening = check_number(dampening, "SGD", "dampening")
        weight_decay = check_nonneg(
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
    """AdaGrad (eq-adagrad): per-coordinate steps ``lr_t / (sqrt(sum of g²) + eps)``.

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
                lr_decay=check_nonneg(lr_decay, fn, "lr_decay", "lr_decay value"),
                weight_decay=check_nonneg(
                    weight_decay, fn, "weight_decay", "weight_decay value"
                ),
                initial_accumulator_value=check_nonneg(
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
    """RMSProp, Chapter 4 eq-rmsprop, optionally centered and with momentum.

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
                alpha=check_nonneg(alpha, fn, "alpha", "alpha value"),
                eps=_eps(eps, fn),
                weight_decay=check_nonneg(
                    weight_decay, fn, "weight_decay", "weight_decay value"
                ),
                momentum=check_nonneg(momentum, fn, "momentum", "momentum value"),
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
    """Adam with bias correction (Chapter 4, eq-adam-moments to eq-adam-step).

    ``amsgrad`` keeps the running max of v.

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
                weight_decay=check_nonneg(
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
    """Adam, decoupled weight decay (eq-adamw): ``p <- (1 - lr wd) p``, then Adam.

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
        lr = float(self.get_lr())
        # torch's chainable rules may round a learning rate that should be 0 to -1e-17;
        # that is rounding, not a schedule, so it becomes 0 (a real negative still
        # raises)
        if -1e-12 * self.base_lrs[0] <= lr < 0.0:
            lr = 0.0
        self.optimizer.lr = lr
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
        self.gamma = check_nonneg(gamma, "StepLR", "gamma", "gamma value")
        super().__init__(optimizer)

    def get_lr(self) -> float:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self.optimizer.lr
        return self.optimizer.lr * self.gamma


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing, ``base_lr`` to ``eta_min`` in ``T_max`` steps.

    Chapter 4, eq-cosine-schedule.

    Closed form: ``lr_t = eta_min + (base_lr - eta_min) (1 + cos(pi t / T_max)) / 2``;
    implemented, like torch, as the ratio of consecutive closed forms applied to
    the current learning rate (and, like torch, it rises again after ``T_max``).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):
        self.T_max = check_int(T_max, "CosineAnnealingLR", "T_max", minimum=1)
        self.eta_min = check_nonneg(
            eta_min, "CosineAnnealingLR", "eta_min", "eta_min value"
        )
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
    (eq-linear-warmup); implemented as torch's ratio of consecutive factors.
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5):
        start_factor = check_number(start_factor, "LinearLR", "start_factor")
        end_factor = check_number(end_factor, "LinearLR", "end_factor")
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


# The test landscapes and ``trajectory`` live in ``dlmath.landscapes``; the old names
# here
# keep working for code written before the move.
_MOVED = ("quadratic", "rosenbrock", "saddle", "three_wells", "trajectory")


def __getattr__(name: str):
    if name in _MOVED:
        from . import landscapes
        return getattr(landscapes, name)
    raise AttributeError(f"module 'dlmath.optim' has no attribute {name!r}")
