"""dlmath.distributed: gloo workers (DDP == one process, failures fail fast, no
worker outlives a call), the ring all-reduce simulation, shard arithmetic, and
bad input."""
from __future__ import annotations

import multiprocessing

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmath import distributed as D
from dlmath.check import assert_close
from tests.strategies import float_arrays


def _data(n=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, 4, generator=g, dtype=torch.float64),
            torch.randn(n, 2, generator=g, dtype=torch.float64))


def test_ddp_equals_single_process_over_several_steps():
    X, Y = _data()
    out = D.run_workers(D.ddp_train_worker, 2, X, Y, 5, 0.1, 3, timeout=120)
    ref = D.single_process_train(X, Y, 5, 0.1, seed=3)
    for name, w in ref["state"].items():
        assert torch.equal(out[0]["state"][name], out[1]["state"][name])
        assert_close(out[0]["state"][name], w, rtol=1e-12, atol=1e-14,
                     name=name, against="single process", verbose=False)
    assert not multiprocessing.active_children()


def test_a_failing_worker_fails_the_caller_with_its_error():
    with pytest.raises(D.WorkerError, match="worker 1 of 2 failed: ValueError: rank 1"):
        D.run_workers(D.failing_worker, 2, timeout=60)
    assert not multiprocessing.active_children()


def test_a_hanging_worker_is_stopped_at_the_deadline():
    with pytest.raises(TimeoutError, match="still running after 2 s"):
        D.run_workers(D.sleeping_worker, 2, 600.0, timeout=2)
    assert not multiprocessing.active_children()


def test_run_workers_refuses_bad_input():
    with pytest.raises(ValueError, match="world_size must be >= 1"):
        D.run_workers(D.sleeping_worker, 0, 0.0)
    with pytest.raises(TypeError, match="world_size must be an int"):
        D.run_workers(D.sleeping_worker, 2.0, 0.0)
    with pytest.raises(ValueError, match="timeout must be > 0"):
        D.run_workers(D.sleeping_worker, 2, 0.0, timeout=0)

    def local(rank, world_size):
        return rank
    local.__module__ = "__main__"
    with pytest.raises(ValueError, match="must be importable"):
        D.run_workers(local, 2)


@settings(max_examples=30, deadline=None)
@given(p=st.integers(1, 6), chunk=st.integers(0, 5), extra=st.integers(0, 5),
       data=st.data())
def test_ring_allreduce_is_the_sum_and_sends_2_p_minus_1_over_p_n(p, chunk, extra,
                                                                 data):
    N = p * chunk + (extra % p if p > 1 else 0)
    vecs = [data.draw(float_arrays((N,))) for _ in range(p)]
    results, sent = D.ring_allreduce(vecs)
    total = torch.tensor(np.stack(vecs)).sum(0) if N else torch.zeros(0)
    for r in results:
        assert_close(r, total.numpy(), rtol=1e-12, atol=1e-12, verbose=False)
    assert sum(sent) == 2 * (p - 1) * N
    if N % p == 0:
        assert sent == [D.ring_allreduce_volume(N, p)] * p


@settings(max_examples=40, deadline=None)
@given(x=float_arrays(st.tuples(st.integers(1, 30), st.integers(1, 3))),
       cuts=st.lists(st.integers(1, 29), max_size=4))
def test_weighted_shard_mean_is_the_full_mean_for_any_split(x, cuts):
    bounds = sorted({0, len(x), *[c for c in cuts if c < len(x)]})
    parts = [x[a:b] for a, b in zip(bounds, bounds[1:])]
    got = D.weighted_shard_mean([p.mean(0) for p in parts], [len(p) for p in parts])
    assert_close(got, torch.tensor(x).mean(0), rtol=1e-12, atol=1e-12, verbose=False)


def test_shard_arithmetic_refuses_bad_input():
    with pytest.raises(ValueError, match="world size"):
        D.ring_allreduce([])
    with pytest.raises(ValueError, match="mismatched shapes"):
        D.ring_allreduce([np.zeros(4), np.zeros(5)])
    with pytest.raises(ValueError, match="mismatched shapes"):
        D.weighted_shard_mean([np.zeros(3), np.zeros((3, 1))], [1, 2])
    with pytest.raises(ValueError, match="world size"):
        D.weighted_shard_mean([], [])
    with pytest.raises(ValueError, match="2 sizes"):
        D.weighted_shard_mean([np.zeros(3)], [1, 2])
    with pytest.raises(ValueError, match=r"sizes\[1\] must be >= 1"):
        D.weighted_shard_mean([np.zeros(3), np.zeros(3)], [1, 0])
    with pytest.raises(ValueError, match="world_size must be >= 1"):
        D.shard(8, 0, 0)
    with pytest.raises(ValueError, match="equal shards"):
        D.shard(7, 0, 2)
    with pytest.raises(ValueError, match="rank must be < world_size"):
        D.shard(8, 2, 2)
    with pytest.raises(ValueError, match="p \\(world size\\) must be >= 1"):
        D.ring_allreduce_volume(8, 0)
