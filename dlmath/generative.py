"""The probability of generative models (Chapter 10), in numpy.

- ``gaussian_kl``: KL between diagonal Gaussians in closed form (eq-vae-kl), in
  variances; ``gaussian_kl_vjp``: the VAE's KL term to N(0, I) in the encoder's
  log-variance parameterization, with its VJP.
- ``reparameterize`` / ``reparameterize_vjp``: ``z = mu + exp(logvar / 2) * eps``
  (eq-vae-reparam) and its VJP.
- ``DDPMSchedule``, ``ddpm_schedule``, ``linear_beta_schedule``, ``q_sample``,
  ``ddpm_step``: the forward process of a denoising diffusion model in closed form
  (eq-ddpm-marginal) and one step of its ancestral sampler (eq-ddpm-step).
  Time steps are 1-based, as in the paper: ``t`` in 1..T, and
  ``alpha_bars[t - 1]`` is ᾱ_t.
- ``coupling_forward`` / ``coupling_inverse``: a RealNVP affine coupling layer
  (eq-flow-coupling) and its log-determinant. They run on numpy arrays or on torch
  tensors (the same code: ``exp`` from the array's own library), so a flow trained
  in torch uses exactly these lines.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

from ._validate import as_float_array, check_int

__all__ = [
    "gaussian_kl", "gaussian_kl_vjp", "reparameterize", "reparameterize_vjp",
    "DDPMSchedule", "ddpm_schedule", "linear_beta_schedule", "q_sample", "ddpm_step",
    "coupling_forward", "coupling_inverse",
]


def _same_shape(fn: str, **arrays: np.ndarray) -> None:
    shapes = {k: v.shape for k, v in arrays.items()}
    if len(set(shapes.values())) > 1:
        desc = ", ".join(f"{k} {s}" for k, s in shapes.items())
        raise ValueError(f"{fn}: {', '.join(shapes)} must have the same shape, "
                         f"got {desc}")


def _finite(fn: str, name: str, x: np.ndarray) -> None:
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{fn}: {name} must be finite, got non-finite values")


def _positive(fn: str, name: str, x: np.ndarray) -> None:
    if not np.all(x > 0):
        raise ValueError(f"{fn}: {name} must be > 0 (a variance), got min "
                         f"{float(np.min(x)):g}")


# ------------------------------------------------------------------- Gaussian KL
def gaussian_kl(mu_q, var_q, mu_p=0.0, var_p=1.0, axis: int | None = -1):
    """KL(N(mu_q, diag var_q) ‖ N(mu_p, diag var_p)), eq. (eq-vae-kl).

    ``½ Σ_i [log(var_p / var_q) + (var_q + (mu_q - mu_p)²) / var_p - 1]``, summed
    over ``axis`` (``None``: no sum, one term per coordinate). All arguments
    broadcast against ``mu_q``'s shape (..., d); variances must be > 0.
    Same as ``torch.distributions.kl_divergence(Normal(mu_q, var_q ** .5),
    Normal(mu_p, var_p ** .5)).sum(axis)``.
    """
    fn = "gaussian_kl"
    mu_q = as_float_array(mu_q, fn, "mu_q")
    var_q, mu_p, var_p = (as_float_array(a, fn, n) for a, n in
                          ((var_q, "var_q"), (mu_p, "mu_p"), (var_p, "var_p")))
    for name, a in (("var_q", var_q), ("mu_p", mu_p), ("var_p", var_p)):
        try:
            shape = np.broadcast_shapes(a.shape, mu_q.shape)
        except ValueError:
            raise ValueError(f"{fn}: {name} of shape {a.shape} does not broadcast "
                             f"against mu_q of shape {mu_q.shape}") from None
        if shape != mu_q.shape:
            raise ValueError(f"{fn}: {name} of shape {a.shape} would change mu_q's "
                             f"shape {mu_q.shape} to {shape}")
    for name, a in (("mu_q", mu_q), ("var_q", var_q), ("mu_p", mu_p),
                    ("var_p", var_p)):
        _finite(fn, name, a)
    _positive(fn, "var_q", var_q)
    _positive(fn, "var_p", var_p)
    terms = 0.5 * (np.log(var_p) - np.log(var_q)
                   + (var_q + (mu_q - mu_p) ** 2) / var_p - 1.0)
    if axis is None:
        return terms
    if mu_q.ndim == 0:
        raise ValueError(f"{fn}: mu_q is a scalar; pass axis=None")
    return terms.sum(axis=axis)


def gaussian_kl_vjp(mu, logvar) -> tuple[np.ndarray, Callable]:
    """The VAE's KL term KL(N(mu, diag exp(logvar)) ‖ N(0, I)) per row, and its VJP.

    ``kl = ½ Σ_j (mu_j² + exp(logvar_j) - 1 - logvar_j)``, eq. (eq-vae-kl) with
    mu_p = 0, var_p = 1 and var_q = exp(logvar). mu, logvar: (N, d) -> kl: (N,).
    ``vjp(dkl) -> (dmu, dlogvar)`` with ``dmu = dkl · mu`` and
    ``dlogvar = dkl · ½ (exp(logvar) - 1)``.
    """
    fn = "gaussian_kl_vjp"
    mu = as_float_array(mu, fn, "mu", ndim=2, layout="(N, d)")
    logvar = as_float_array(logvar, fn, "logvar", ndim=2, layout="(N, d)")
    _same_shape(fn, mu=mu, logvar=logvar)
    _finite(fn, "mu", mu)
    _finite(fn, "logvar", logvar)
    var = np.exp(logvar)
    kl = 0.5 * np.sum(mu ** 2 + var - 1.0 - logvar, axis=1)

    def vjp(dkl):
        dkl = as_float_array(dkl, fn, "dkl")
        if dkl.shape != kl.shape:
            raise ValueError(f"{fn}: dkl must have shape {kl.shape}, got {dkl.shape}")
        d = dkl[:, None]
        return d * mu, d * 0.5 * (var - 1.0)

    return kl, vjp


# ------------------------------------------------------------- reparameterization
def _check_reparam(mu, logvar, eps, fn):
    mu = as_float_array(mu, fn, "mu")
    logvar = as_float_array(logvar, fn, "logvar")
    eps = as_float_array(eps, fn, "eps")
    _same_shape(fn, mu=mu, logvar=logvar, eps=eps)
    for name, a in (("mu", mu), ("logvar", logvar), ("eps", eps)):
        _finite(fn, name, a)
    return mu, logvar, eps


def reparameterize(mu, logvar, eps) -> np.ndarray:
    """``z = mu + exp(logvar / 2) * eps``, eq. (eq-vae-reparam); all of one shape.

    With ``eps ~ N(0, I)``, ``z ~ N(mu, diag exp(logvar))``; the noise is an input,
    so ``z`` is a deterministic, differentiable function of ``mu`` and ``logvar``.
    """
    mu, logvar, eps = _check_reparam(mu, logvar, eps, "reparameterize")
    return mu + np.exp(0.5 * logvar) * eps


def reparameterize_vjp(mu, logvar, eps) -> tuple[np.ndarray, Callable]:
    """``z`` of ``reparameterize`` and ``vjp(dz) -> (dmu, dlogvar)``.

    ``∂z/∂mu = 1`` and ``∂z/∂logvar = ½ exp(logvar / 2) eps`` elementwise, so
    ``dmu = dz`` and ``dlogvar = dz · ½ exp(logvar / 2) · eps``. (No gradient
    for eps: it is noise, not a parameter.)
    """
    fn = "reparameterize_vjp"
    mu, logvar, eps = _check_reparam(mu, logvar, eps, fn)
    std = np.exp(0.5 * logvar)
    z = mu + std * eps

    def vjp(dz):
        dz = as_float_array(dz, fn, "dz")
        if dz.shape != z.shape:
            raise ValueError(f"{fn}: dz must have z's shape {z.shape}, got {dz.shape}")
        return dz.copy(), dz * 0.5 * std * eps

    return z, vjp


# ------------------------------------------------------------------------- DDPM
class DDPMSchedule(NamedTuple):
    """A noise schedule: ``betas`` β_t, ``alphas`` 1 - β_t, ``alpha_bars``
    ᾱ_t = Π_{s<=t} α_s, each (T,), index t - 1 for time t."""
    betas: np.ndarray
    alphas: np.ndarray
    alpha_bars: np.ndarray

    @property
    def T(self) -> int:
        return len(self.betas)


def ddpm_schedule(betas) -> DDPMSchedule:
    """The schedule of eq. (eq-ddpm-marginal) from β_1..β_T.

    betas: (T,), each in (0, 1), non-decreasing (a noise schedule adds more
    noise as t grows; a decrease is refused as a likely mistake).
    """
    fn = "ddpm_schedule"
    betas = as_float_array(betas, fn, "betas", ndim=1, layout="(T,)").copy()
    if betas.size == 0:
        raise ValueError(f"{fn}: betas must hold at least one step, got shape (0,)")
    _finite(fn, "betas", betas)
    if not np.all((betas > 0) & (betas < 1)):
        raise ValueError(f"{fn}: every beta must lie in (0, 1), got min "
                         f"{betas.min():g}, max {betas.max():g}")
    if np.any(np.diff(betas) < 0):
        i = int(np.argmax(np.diff(betas) < 0))
        raise ValueError(f"{fn}: betas must be non-decreasing, got beta_{i + 1} = "
                         f"{betas[i]:g} > beta_{i + 2} = {betas[i + 1]:g}")
    alphas = 1.0 - betas
    return DDPMSchedule(betas, alphas, np.cumprod(alphas))


def linear_beta_schedule(T: int, beta_1: float = 1e-4,
                         beta_T: float = 0.02) -> DDPMSchedule:
    """Ho et al.'s linear schedule: T values from beta_1 to beta_T (T >= 1)."""
    T = check_int(T, "linear_beta_schedule", "T", minimum=1)
    return ddpm_schedule(np.linspace(beta_1, beta_T, T))


def _check_schedule(schedule, fn):
    if not isinstance(schedule, DDPMSchedule):
        raise TypeError(f"{fn}: schedule must be a DDPMSchedule (from ddpm_schedule), "
                        f"got {type(schedule).__name__}")


def _check_t(t, n: int, T: int, fn: str) -> np.ndarray:
    t_arr = np.asarray(t)
    if t_arr.dtype.kind not in "iu":
        raise TypeError(f"{fn}: t must hold integer time steps in 1..{T}, got dtype "
                        f"{t_arr.dtype}")
    if t_arr.ndim == 0:
        t_arr = np.full(n, int(t_arr))
    if t_arr.shape != (n,):
        raise ValueError(f"{fn}: t must be an int or have shape ({n},), one step per "
                         f"row, got shape {t_arr.shape}")
    if t_arr.size and (t_arr.min() < 1 or t_arr.max() > T):
        raise ValueError(f"{fn}: t must lie in 1..{T}, got min {t_arr.min()}, max "
                         f"{t_arr.max()}")
    return t_arr.astype(np.int64)


def q_sample(x0, t, eps, schedule: DDPMSchedule) -> np.ndarray:
    """A draw from q(x_t | x_0): ``sqrt(ᾱ_t) x0 + sqrt(1 - ᾱ_t) eps``.

    Eq. (eq-ddpm-marginal). x0, eps: (N, ...) of one shape; t: an int or (N,)
    integers in 1..T (1-based, as in the paper).
    """
    fn = "q_sample"
    _check_schedule(schedule, fn)
    x0 = as_float_array(x0, fn, "x0")
    eps = as_float_array(eps, fn, "eps")
    _same_shape(fn, x0=x0, eps=eps)
    if x0.ndim == 0:
        raise ValueError(f"{fn}: x0 must be (N, ...), got a scalar")
    t = _check_t(t, x0.shape[0], schedule.T, fn)
    ab = schedule.alpha_bars[t - 1].reshape((-1,) + (1,) * (x0.ndim - 1))
    return np.sqrt(ab) * x0 + np.sqrt(1.0 - ab) * eps


def ddpm_step(x_t, eps_hat, t: int, z, schedule: DDPMSchedule) -> np.ndarray:
    """One ancestral step x_t -> x_{t-1}, eq. (eq-ddpm-step), with σ_t² = β_t:

    ``(x_t - β_t / sqrt(1 - ᾱ_t) · eps_hat) / sqrt(α_t) + sqrt(β_t) z``; at t = 1
    the noise is dropped (the sample is the mean). x_t, eps_hat, z: one shape.
    """
    fn = "ddpm_step"
    _check_schedule(schedule, fn)
    x_t = as_float_array(x_t, fn, "x_t")
    eps_hat = as_float_array(eps_hat, fn, "eps_hat")
    z = as_float_array(z, fn, "z")
    _same_shape(fn, x_t=x_t, eps_hat=eps_hat, z=z)
    t = check_int(t, fn, "t", minimum=1)
    if t > schedule.T:
        raise ValueError(f"{fn}: t must lie in 1..{schedule.T}, got {t}")
    b, a, ab = (schedule.betas[t - 1], schedule.alphas[t - 1],
                schedule.alpha_bars[t - 1])
    mean = (x_t - b / np.sqrt(1.0 - ab) * eps_hat) / np.sqrt(a)
    return mean + np.sqrt(b) * z if t > 1 else mean


# ------------------------------------------------------------------ affine coupling
def _lib(x):
    if type(x).__module__.startswith("torch"):
        import torch
        return torch
    return np


def _check_coupling(x, mask, fn, xname):
    lib = _lib(x)
    if lib is np:
        x = as_float_array(x, fn, xname, ndim=2, layout="(N, D)")
    elif x.ndim != 2 or not x.is_floating_point():
        raise ValueError(f"{fn}: {xname} must be a float (N, D) tensor, got shape "
                         f"{tuple(x.shape)} and dtype {x.dtype}")
    m = np.asarray(mask.detach().cpu() if _lib(mask) is not np else mask)
    if m.ndim != 1 or m.shape[0] != x.shape[1]:
        raise ValueError(f"{fn}: mask must have shape (D,) = ({x.shape[1]},) to match "
                         f"{xname} {tuple(x.shape)}, got shape {m.shape}")
    if m.dtype.kind not in "biuf" or not np.all((m == 0) | (m == 1)):
        raise ValueError(f"{fn}: mask must hold only 0s and 1s (1 = passed through)")
    if m.all() or not m.any():
        raise ValueError(f"{fn}: mask must keep some coordinates and transform others, "
                         f"got all {int(m[0])}s")
    if lib is np:
        mm = m.astype(x.dtype)
    else:
        import torch
        mm = torch.as_tensor(m, dtype=x.dtype, device=x.device)
    return x, mm


def _st(st_net, xm, x, fn):
    if not callable(st_net):
        raise TypeError(f"{fn}: st_net must be callable, got {type(st_net).__name__}")
    out = st_net(xm)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"{fn}: st_net must return a pair (s, t), got "
                        f"{type(out).__name__}")
    s, t = out
    for name, v in (("s", s), ("t", t)):
        if tuple(v.shape) != tuple(x.shape):
            raise ValueError(f"{fn}: st_net must return {name} of the input's shape "
                             f"{tuple(x.shape)}, got {tuple(v.shape)}")
    return s, t


def coupling_forward(x, mask, st_net: Callable[[Any], tuple[Any, Any]]
                     ) -> tuple[Any, Any]:
    """A RealNVP affine coupling y = f(x) and log|det ∂y/∂x|, eq. (eq-flow-coupling).

    With b = mask (1 = passed through) and ``(s, t) = st_net(b x)``:
    ``y = b x + (1 - b) (x exp(s) + t)``, and since ∂y/∂x is triangular (after
    sorting coordinates by b), ``log|det| = Σ_j (1 - b_j) s_j`` per row.
    x: (N, D) numpy array or torch tensor; mask: (D,) of 0s and 1s (both kinds
    present); st_net maps (N, D) to a pair of (N, D) arrays (one network may
    compute both). Returns y (N, D) and logdet (N,).
    """
    fn = "coupling_forward"
    x, b = _check_coupling(x, mask, fn, "x")
    lib = _lib(x)
    xm = x * b
    s, t = _st(st_net, xm, x, fn)
    s, t = s * (1 - b), t * (1 - b)      # the masked coordinates pass unchanged
    y = xm + (1 - b) * (x * lib.exp(s) + t)
    return y, s.sum(1) if lib is not np else s.sum(axis=1)


def coupling_inverse(y, mask, st_net: Callable[[Any], tuple[Any, Any]]
                     ) -> tuple[Any, Any]:
    """The inverse of ``coupling_forward``: x = f⁻¹(y) and log|det ∂x/∂y| (N,).

    ``b y`` equals ``b x``, so s and t are recomputed from it, and
    ``x = b y + (1 - b) (y - t) exp(-s)``; the log-det is minus the forward
    one. Same shapes as ``coupling_forward``.
    """
    fn = "coupling_inverse"
    y, b = _check_coupling(y, mask, fn, "y")
    lib = _lib(y)
    ym = y * b
    s, t = _st(st_net, ym, y, fn)
    s, t = s * (1 - b), t * (1 - b)
    x = ym + (1 - b) * (y - t) * lib.exp(-s)
    return x, -(s.sum(1) if lib is not np else s.sum(axis=1))
