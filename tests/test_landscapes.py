"""dlmath.landscapes: hand-derived gradients against autograd; optimizers on them."""

import numpy as np
import pytest
import torch

from dlmath import landscapes as Ls
from dlmath import optim as O
from dlmath.check import assert_close


def close(a, e, rtol=1e-10, atol=1e-10):
    assert_close(a, e, rtol=rtol, atol=atol, verbose=False)


@pytest.mark.parametrize(
    "landscape", [Ls.quadratic, Ls.rosenbrock, Ls.saddle, Ls.three_wells]
)
def test_landscape_gradients_match_autograd(dev, landscape):
    g = np.random.default_rng(1)
    pts = g.uniform(-2, 2, size=(7, 2))

    def torch_f(p):
        x, y = p[..., 0], p[..., 1]
        if landscape is Ls.quadratic:
            return 0.5 * (x ** 2 + 10 * y ** 2)
        if landscape is Ls.rosenbrock:
            return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2
        if landscape is Ls.saddle:
            return x ** 2 - y ** 2
        C = torch.tensor(
            [[-1.5, -0.5], [1.5, -0.8], [0.2, 1.6]], dtype=p.dtype, device=p.device
        )
        h = torch.tensor([1.0, 1.4, 0.8], dtype=p.dtype, device=p.device)
        s = torch.tensor([0.7, 0.55, 0.8], dtype=p.dtype, device=p.device)
        d2 = ((p[..., None, :] - C) ** 2).sum(-1)
        return 0.05 * (p ** 2).sum(-1) - (h * torch.exp(-d2 / (2 * s ** 2))).sum(-1)

    tp = torch.tensor(pts, device=dev, requires_grad=True)
    tf = torch_f(tp)
    tf.sum().backward()
    f, grad = landscape(pts)
    close(f, tf.detach(), rtol=1e-12, atol=1e-12)
    close(grad, tp.grad, rtol=1e-11, atol=1e-11)
    assert landscape(pts.reshape(7, 1, 2))[1].shape == (7, 1, 2)


def test_trajectory_runs_and_marks_divergence():
    path = Ls.trajectory(O.SGD, Ls.quadratic, [1.0, 1.0], 50, lr=0.05)
    assert path.shape == (51, 2) and np.all(np.isfinite(path))
    close(path[-1], np.array([0.95 ** 50, 0.5 ** 50]), rtol=1e-12, atol=1e-14)
    # 0.3 > 2/L = 0.2
    bad = Ls.trajectory(O.SGD, Ls.quadratic, [1.0, 1.0], 2000, lr=0.3)
    assert np.isnan(bad[-1]).all() and np.isfinite(bad[0]).all()


@pytest.mark.parametrize(
    "name, hyper",
    [
        ("SGD", dict(lr=1e-3, momentum=0.9, nesterov=True)),
        ("Adam", dict(lr=1e-2, weight_decay=0.1)),
        ("RMSprop", dict(lr=1e-3, centered=True)),
    ],
)
def test_torch_trajectory_is_the_twin_of_trajectory(name, hyper):
    x0 = np.array([-1.0, 1.5])
    ours = Ls.trajectory(getattr(O, name), Ls.rosenbrock, x0, 100, **hyper)
    theirs = Ls.torch_trajectory(name, Ls.rosenbrock, x0, 100, **hyper)
    assert theirs.shape == (101, 2) and theirs.dtype == torch.float64
    close(ours, theirs, rtol=1e-10, atol=1e-12)
    # a different optimizer is far away: the comparison can fail
    other = Ls.torch_trajectory("SGD", Ls.rosenbrock, x0, 100, lr=1e-3)
    assert np.abs(ours[-1] - other[-1].cpu().numpy()).max() > 1e-3


def test_old_names_in_optim_still_work_and_bad_input():
    assert O.rosenbrock is Ls.rosenbrock and O.trajectory is Ls.trajectory
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        O.nope
    with pytest.raises(
        ValueError, match=r"rosenbrock: xy must have shape \(\.\.\., 2\)"
    ):
        Ls.rosenbrock(np.zeros(3))
    with pytest.raises(ValueError, match="torch.optim has no optimizer 'Adamm'"):
        Ls.torch_trajectory("Adamm", Ls.rosenbrock, np.zeros(2), 3)
