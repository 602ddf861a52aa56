"""Benchmarks of Part I and Chapters 5-6: an MLP training step, the autodiff
engine on an MLP, an Adam step; each against its torch counterpart on the CPU.

Each case computes the same thing in both libraries from the same weights and
data; ``check()`` (run by ``tools/bench.py`` before timing) asserts it, so a
ratio is never taken between two different computations.
"""
from __future__ import annotations

import numpy as np
import torch

import dlmath
from dlmath import nn, optim
from dlmath.autodiff import Tensor
from dlmath.check import assert_close

from .timing import Case

# Sizes of a digits-sized classifier (64 pixels, 10 classes) with a wide hidden
# layer, so that both libraries spend their time in the matmuls, not in Python.
N, D_IN, HIDDEN, CLASSES = 256, 64, 256, 10


def _torch_dtype(dtype: str):
    return {"float64": torch.float64, "float32": torch.float32}[dtype]


def _as(model: nn.Module, dtype: str) -> nn.Module:
    """Cast every parameter of ``model`` (float64 from ``from_torch``) to ``dtype``."""
    stack = [model]
    while stack:
        m = stack.pop()
        for k, v in m._params.items():
            m._params[k] = v.astype(dtype)
        stack += list(m.children().values())
    return model


def mlp_step(dtype: str) -> Case:
    """One SGD step of Linear-ReLU-Linear + cross-entropy: forward, backward, update."""
    torch.manual_seed(0)
    g = np.random.default_rng(0)
    X = g.standard_normal((N, D_IN)).astype(dtype)
    y = g.integers(0, CLASSES, N)
    tmodel = torch.nn.Sequential(torch.nn.Linear(D_IN, HIDDEN), torch.nn.ReLU(),
                                 torch.nn.Linear(HIDDEN, CLASSES))
    tmodel = tmodel.to(_torch_dtype(dtype))
    model = _as(nn.from_torch(tmodel), dtype)
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=0.01)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.01)

    def numpy_step():
        loss = loss_fn.forward(model.forward(X), y)
        model.backward(loss_fn.backward())
        opt.step(model.gradients())
        return loss

    def torch_step():
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(tmodel(Xt), yt)
        loss.backward()
        topt.step()
        return loss

    def check():
        for _ in range(3):
            a, b = numpy_step(), torch_step()
            tol = 1e-10 if dtype == "float64" else 1e-4
            assert_close(a, b.detach(), rtol=tol, atol=tol)
        for p, tp in zip(model.parameters(), tmodel.parameters()):
            assert_close(p, tp.detach(), rtol=tol, atol=tol)

    return Case(f"MLP training step (dlmath.nn + SGD), {N}x{D_IN}-{HIDDEN}-{CLASSES}",
                dtype, numpy_step, torch_step, note="Chapters 5-6",
                extra={"check": check})


def autodiff_mlp(dtype: str) -> Case:
    """Forward and backward of a small MLP through dlmath.autodiff vs torch.autograd.

    Small on purpose: this measures the engine's per-node overhead (graph
    building, topological order, Python closures) against torch's C++ engine.
    """
    n, d, h, c = 64, 32, 64, 10
    g = np.random.default_rng(1)
    X = g.standard_normal((n, d)).astype(dtype)
    Y = g.standard_normal((n, c)).astype(dtype)
    shapes = ((d, h), (h,), (h, c), (c,))
    init = [g.standard_normal(s).astype(dtype) * 0.1 for s in shapes]
    params = [Tensor(a.copy(), requires_grad=True) for a in init]
    tparams = [torch.tensor(a, requires_grad=True) for a in init]
    Xn, Yn = Tensor(X), Tensor(Y)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)

    def numpy_step():
        W1, b1, W2, b2 = params
        for p in params:
            p.grad = None
        loss = (((Xn @ W1 + b1).relu() @ W2 + b2 - Yn) ** 2).mean()
        loss.backward()
        return loss

    def torch_step():
        W1, b1, W2, b2 = tparams
        for p in tparams:
            p.grad = None
        loss = (((Xt @ W1 + b1).relu() @ W2 + b2 - Yt) ** 2).mean()
        loss.backward()
        return loss

    def check():
        a, b = numpy_step(), torch_step()
        tol = 1e-12 if dtype == "float64" else 1e-5
        assert_close(a.data, b.detach(), rtol=tol, atol=tol)
        for p, tp in zip(params, tparams):
            assert_close(p.grad, tp.grad, rtol=tol, atol=tol)

    return Case(f"autodiff engine: MLP forward+backward, {n}x{d}-{h}-{c}", dtype,
                numpy_step, torch_step, note="Chapter 2, engine overhead",
                extra={"check": check})


def adam_step(dtype: str) -> Case:
    """One Adam step over ~0.5 M parameters (two 512x512 layers with biases)."""
    g = np.random.default_rng(2)
    shapes = [(512, 512), (512,), (512, 512), (512,)]
    init = [g.standard_normal(s).astype(dtype) for s in shapes]
    grads = [g.standard_normal(s).astype(dtype) for s in shapes]
    params = [a.copy() for a in init]
    opt = optim.Adam(params, lr=1e-3, weight_decay=1e-4)
    tparams = [torch.tensor(a, requires_grad=True) for a in init]
    for tp, gr in zip(tparams, grads):
        tp.grad = torch.from_numpy(gr)
    topt = torch.optim.Adam(tparams, lr=1e-3, weight_decay=1e-4)

    def numpy_step():
        opt.step(grads)

    def torch_step():
        topt.step()

    def check():
        for _ in range(3):
            numpy_step()
            torch_step()
        tol = 1e-12 if dtype == "float64" else 1e-5
        for p, tp in zip(params, tparams):
            assert_close(p, tp.detach(), rtol=tol, atol=tol)

    return Case("Adam step (weight decay), 2 x (512x512 + 512) parameters", dtype,
                numpy_step, torch_step, note="Chapter 4",
                extra={"check": check, "no_grad": True})


def cases() -> list[Case]:
    dlmath.seed(0)
    return [make(dtype) for make in (mlp_step, autodiff_mlp, adam_step)
            for dtype in ("float64", "float32")]


BENCHMARKS = cases()
