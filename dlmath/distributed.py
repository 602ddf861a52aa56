"""Data parallelism on ``torch.distributed`` (gloo), and its arithmetic (Chapter 13).

Workers live here, in an importable module, because the worker processes
(forked from a ``forkserver`` that imported torch once, or ``spawn``-ed where
there is none) *import* the worker function by name: a function defined in a
notebook cell lives in ``__main__`` and cannot be found there.

- ``run_workers(fn, world_size, *args)``: start ``world_size`` gloo processes on
  this machine, run ``fn(rank, world_size, *args)`` in each, return their
  results; always tears the process group down, fails (does not hang) when a
  worker fails or the deadline passes.
- ``ddp_train_worker`` / ``single_process_train``: the same MLP trained with
  ``DistributedDataParallel`` on shards and in one process on the whole batch.
- ``allreduce_timing_worker``: median time of ``dist.all_reduce`` per size.
- ``weighted_shard_mean``: eq. (13.2), the full-batch gradient from unequal shards.
- ``ring_allreduce``: the ring algorithm (reduce-scatter + all-gather) simulated
  in numpy, with the number of values each worker sends, eq. (13.4).

The same worker runs on several machines under ``torchrun``; see the README.
"""
from __future__ import annotations

import datetime
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ._validate import check_int, check_positive

__all__ = ["run_workers", "WorkerError", "free_port", "ddp_train_worker",
           "single_process_train", "make_mlp", "allreduce_timing_worker",
           "failing_worker", "weighted_shard_mean", "shard", "ring_allreduce",
           "ring_allreduce_volume", "sleeping_worker", "syncbn_worker",
           "batchnorm_worker",
           "manual_syncbn_worker", "fsdp_worker"]

PORTS = range(29500, 29600)          # the rendezvous ports this book uses


class WorkerError(RuntimeError):
    """A worker process raised: the message names the rank and its exception."""


def free_port(ports: Sequence[int] = PORTS) -> int:
    """The first port of ``ports`` on 127.0.0.1 that nothing is listening on."""
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"free_port: no free port in {ports[0]}-{ports[-1]}")


def _entry(rank: int, fn: Callable, world_size: int, port: int, out: str,
           timeout_s: float, args: tuple) -> None:
    """What each spawned process runs: join the group, run ``fn``, save, leave.

    An exception is written to ``rank{r}.err`` with the time it happened, so
    the parent can report the *first* failure (the others are its echoes:
    peers whose connection to the failed worker was reset).
    """
    import traceback

    import torch
    import torch.distributed as dist

    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    failed = False
    try:
        dist.init_process_group("gloo", rank=rank, world_size=world_size,
                                timeout=datetime.timedelta(seconds=timeout_s))
        try:
            result = fn(rank, world_size, *args)
            torch.save(result, Path(out) / f"rank{rank}.pt")
        except BaseException as exc:          # noted before the group goes down
            failed = True
            line = traceback.format_exception_only(type(exc), exc)[-1].strip()
            (Path(out) / f"rank{rank}.err").write_text(f"{time.time()!r}\n{line}")
        finally:
            dist.destroy_process_group()
    except BaseException as exc:
        failed = True
        if not (Path(out) / f"rank{rank}.err").exists():
            line = traceback.format_exception_only(type(exc), exc)[-1].strip()
            (Path(out) / f"rank{rank}.err").write_text(f"{time.time()!r}\n{line}")
    if failed:
        raise SystemExit(1)


def _first_error(out: str, world_size: int) -> str | None:
    errs = []
    for r in range(world_size):
        f = Path(out) / f"rank{r}.err"
        if f.exists():
            t, line = f.read_text().split("\n", 1)
            errs.append((float(t), r, line))
    if not errs:
        return None
    _, r, line = min(errs)
    return f"worker {r} of {world_size} failed: {line}"


def _context():
    """``forkserver`` where it exists (one server imports torch once; each
    worker is forked from it, clean and fast), else ``spawn``. Either way the
    worker function is found by importing its module."""
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["torch", "torch.distributed", "torch.nn.parallel",
                                    "torch._dynamo",  # what DDP() imports: slow
                                    __name__])
        return ctx
    return multiprocessing.get_context("spawn")


def run_workers(fn: Callable, world_size: int, *args: Any, timeout: float = 60.0,
                port: int | None = None) -> list:
    """Run ``fn(rank, world_size, *args)`` in ``world_size`` gloo processes.

    ``fn`` must be importable (defined in a module, not in a notebook cell).
    Returns the list of the ranks' return values (rank 0 first). Every process
    joins a gloo group at ``127.0.0.1:port`` and destroys it when ``fn`` ends.
    A worker that fails makes this raise ``WorkerError`` naming the rank and
    the exception that failed first (the other workers are terminated); a run
    that passes ``timeout`` seconds is terminated and raises ``TimeoutError``.
    No worker outlives the call.
    """
    import torch

    world_size = check_int(world_size, "run_workers", "world_size", minimum=1)
    timeout = check_positive(timeout, "run_workers", "timeout")
    if not callable(fn):
        raise TypeError(f"run_workers: fn must be a function, got {type(fn).__name__}")
    if getattr(fn, "__module__", "__main__") == "__main__":
        raise ValueError("run_workers: fn must be importable by the spawned workers; "
                         f"{getattr(fn, '__name__', fn)!r} is defined in __main__ (a "
                         "notebook cell): move it into a module")
    port = free_port() if port is None else check_int(port, "run_workers", "port")
    spawn = _context()
    with tempfile.TemporaryDirectory(prefix="dlmath-dist-") as out:
        procs = [spawn.Process(target=_entry, daemon=True,
                               args=(r, fn, world_size, port, out, timeout, args))
                 for r in range(world_size)]
        deadline = time.monotonic() + timeout
        try:
            for p in procs:
                p.start()
            while any(p.is_alive() for p in procs):
                if any(p.exitcode not in (None, 0) for p in procs):
                    break                                   # one failed: stop all
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"run_workers: {world_size} workers of {fn.__name__} still "
                        f"running after {timeout:g} s; terminated")
                time.sleep(0.02)
            failed = [r for r, p in enumerate(procs) if p.exitcode not in (None, 0)]
            if failed:
                time.sleep(0.2)             # let the echoes of the failure land
                msg = _first_error(out, world_size)
                raise WorkerError(msg or f"worker {failed[0]} of {world_size} exited "
                                         f"with code {procs[failed[0]].exitcode}")
        finally:
            for p in procs:                       # never leave a worker running
                if p.is_alive():
                    p.terminate()
            for p in procs:
                if p.pid is not None:
                    p.join(5)
                    if p.is_alive():
                        p.kill()
                        p.join()
        return [torch.load(Path(out) / f"rank{r}.pt", weights_only=False)
                for r in range(world_size)]


# ----------------------------------------------------------------------- training
def make_mlp(d_in: int, d_hidden: int, d_out: int, seed: int):
    """A float64 two-layer tanh MLP, the same weights for the same ``seed``."""
    import torch

    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(d_in, d_hidden), torch.nn.Tanh(),
                               torch.nn.Linear(d_hidden, d_out)).double()


def shard(n: int, rank: int, world_size: int) -> slice:
    """The contiguous rows of a batch of ``n`` that ``rank`` holds (equal shards)."""
    world_size = check_int(world_size, "shard", "world_size", minimum=1)
    rank = check_int(rank, "shard", "rank", minimum=0)
    n = check_int(n, "shard", "n", minimum=1)
    if rank >= world_size:
        raise ValueError(f"shard: rank must be < world_size={world_size}, got {rank}")
    if n % world_size:
        raise ValueError(f"shard: a batch of {n} does not split into {world_size} "
                         "equal shards (DDP averages gradients: unequal shards need "
                         "weights, eq. eq-dp-weighted)")
    m = n // world_size
    return slice(rank * m, (rank + 1) * m)


def _sgd_steps(model, X, Y, steps: int, lr: float) -> tuple[list, dict]:
    import torch

    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    losses = []
    for _ in range(steps):
        loss = torch.nn.functional.mse_loss(model(X), Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, {k: v.detach().clone() for k, v in model.state_dict().items()}


def ddp_train_worker(rank: int, world_size: int, X, Y, steps: int, lr: float,
                     seed: int, sizes: tuple = (4, 16, 2)) -> dict:
    """Train ``make_mlp(*sizes, seed)`` with DDP on this rank's shard of (X, Y).

    SGD with momentum 0.9 on the mean-squared error of the shard; DDP averages
    the shards' gradients with ``all_reduce`` before each step. Returns the
    shard's losses and the final parameters.
    """
    from torch.nn.parallel import DistributedDataParallel as DDP

    rows = shard(len(X), rank, world_size)
    model = DDP(make_mlp(*sizes, seed=seed))
    losses, state = _sgd_steps(model, X[rows], Y[rows], steps, lr)
    return {"losses": losses,
            "state": {k.removeprefix("module."): v for k, v in state.items()}}


def single_process_train(X, Y, steps: int, lr: float, seed: int,
                         sizes: tuple = (4, 16, 2)) -> dict:
    """The reference: the same model and optimizer on the whole batch, one process."""
    losses, state = _sgd_steps(make_mlp(*sizes, seed=seed), X, Y, steps, lr)
    return {"losses": losses, "state": state}


def allreduce_timing_worker(rank: int, world_size: int, sizes: Sequence[int],
                            repeats: int = 7) -> list[float]:
    """Median seconds of ``dist.all_reduce`` of a float32 vector, per size."""
    import torch
    import torch.distributed as dist

    times = []
    for n in sizes:
        x = torch.ones(int(n), dtype=torch.float32)
        dist.all_reduce(x)                          # warm-up: buffers, connections
        ts = []
        for _ in range(repeats):
            dist.barrier()
            t0 = time.perf_counter()
            dist.all_reduce(x)
            ts.append(time.perf_counter() - t0)
        times.append(float(np.median(ts)))
    return times


def failing_worker(rank: int, world_size: int) -> None:
    """Rank 1 raises; the others wait at a barrier (which would hang forever)."""
    import torch.distributed as dist

    if rank == 1:
        raise ValueError("rank 1 found a NaN in its shard")
    dist.barrier()


# ---------------------------------------------------------------------- arithmetic
def weighted_shard_mean(grads: Sequence[np.ndarray],
                        sizes: Sequence[int]) -> np.ndarray:
    """Full-batch mean gradient from per-shard mean gradients, eq. (eq-dp-weighted).

    ``grads[r]`` is the mean gradient over shard r, of ``sizes[r]`` examples:
    ``g = Σ_r n_r g_r / Σ_r n_r``. All gradients must have one shape.
    """
    if len(grads) < 1:
        raise ValueError("weighted_shard_mean: need at least one shard (world size "
                         "< 1)")
    if len(sizes) != len(grads):
        raise ValueError(f"weighted_shard_mean: {len(grads)} gradients but "
                         f"{len(sizes)} sizes")
    gs = [np.asarray(g, dtype=np.float64) for g in grads]
    for r, g in enumerate(gs):
        if g.shape != gs[0].shape:
            raise ValueError(f"weighted_shard_mean: shards of mismatched shapes: "
                             f"shard 0 is {gs[0].shape}, shard {r} is {g.shape}")
    n = [check_int(s, "weighted_shard_mean", f"sizes[{r}]", minimum=1)
         for r, s in enumerate(sizes)]
    return sum(nr * g for nr, g in zip(n, gs)) / sum(n)


def ring_allreduce(shards: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[int]]:
    """All-reduce (sum) over a ring of p workers, simulated step by step.

    Each worker's vector (all of one shape, N values) is cut into p chunks.
    Reduce-scatter: in step s = 0..p-2, worker r sends chunk (r - s) mod p to
    worker r + 1, which adds it to its own; after p - 1 steps worker r holds the
    full sum of chunk (r + 1) mod p. All-gather: p - 1 more steps pass the
    summed chunks around the ring. Returns every worker's result and the number
    of values each worker sent, 2 (p - 1) N / p when p divides N, eq.
    (eq-dp-ring).
    """
    p = len(shards)
    if p < 1:
        raise ValueError("ring_allreduce: world size must be >= 1, got 0 workers")
    xs = [np.array(s, dtype=np.float64) for s in shards]
    for r, x in enumerate(xs):
        if x.shape != xs[0].shape:
            raise ValueError(f"ring_allreduce: shards of mismatched shapes: worker 0 "
                             f"has {xs[0].shape}, worker {r} has {x.shape}")
    shape = xs[0].shape
    chunks = [np.array_split(x.ravel(), p) for x in xs]   # chunks[r][c]: views
    sent = [0] * p
    for s in range(p - 1):                                 # reduce-scatter
        msgs = [(r, (r - s) % p, chunks[r][(r - s) % p].copy()) for r in range(p)]
        for r, c, data in msgs:                            # all send, then all add
            chunks[(r + 1) % p][c] += data
            sent[r] += data.size
    for s in range(p - 1):                                 # all-gather
        msgs = [(r, (r + 1 - s) % p, chunks[r][(r + 1 - s) % p].copy())
                for r in range(p)]
        for r, c, data in msgs:
            chunks[(r + 1) % p][c][...] = data
            sent[r] += data.size
    return [np.concatenate(ch).reshape(shape) for ch in chunks], sent


def ring_allreduce_volume(N: int, p: int) -> float:
    """Values sent per worker by a ring all-reduce of N values: 2 (p - 1) N / p."""
    N = check_int(N, "ring_allreduce_volume", "N", minimum=0)
    p = check_int(p, "ring_allreduce_volume", "p (world size)", minimum=1)
    return 2 * (p - 1) * N / p


def sleeping_worker(rank: int, world_size: int, seconds: float) -> int:
    """Sleeps ``seconds`` (a stand-in for a worker that hangs), then returns rank."""
    time.sleep(seconds)
    return rank


def syncbn_worker(rank: int, world_size: int, X) -> Any:
    """``torch.nn.SyncBatchNorm`` on this rank's shard: its output, or its error."""
    import torch

    rows = shard(len(X), rank, world_size)
    bn = torch.nn.SyncBatchNorm(X.shape[1]).double()
    try:
        return bn(X[rows]).detach()
    except Exception as exc:                    # noqa: BLE001 - reported, not hidden
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


def batchnorm_worker(rank: int, world_size: int, X) -> tuple:
    """Both: ``syncbn_worker``'s answer and ``manual_syncbn_worker``'s output."""
    return syncbn_worker(rank, world_size, X), manual_syncbn_worker(rank, world_size, X)


def manual_syncbn_worker(rank: int, world_size: int, X, eps: float = 1e-5):
    """Batch normalization with statistics of the *whole* batch across ranks.

    What ``SyncBatchNorm`` computes (it needs a GPU): each rank all-reduces its
    count, sum and sum of squares, so mean and (biased) variance are the full
    batch's; returns this rank's normalized shard.
    """
    import torch
    import torch.distributed as dist

    x = X[shard(len(X), rank, world_size)]
    stats = torch.cat([torch.tensor([float(len(x))], dtype=x.dtype),
                       x.sum(0), (x * x).sum(0)])
    dist.all_reduce(stats)
    n, s, ss = stats[0], stats[1:1 + x.shape[1]], stats[1 + x.shape[1]:]
    mean = s / n
    var = ss / n - mean ** 2
    return (x - mean) / torch.sqrt(var + eps)


def fsdp_worker(rank: int, world_size: int, X, Y, steps: int, lr: float,
                seed: int, sizes: tuple = (4, 16, 2)) -> dict:
    """``torch.distributed.fsdp.fully_shard`` (FSDP2) on CPU with gloo, if it runs.

    Returns this rank's number of locally stored parameter values, the final
    full parameters (gathered), and the shard losses; or ``{"error": ...}``.
    """
    import torch

    try:
        from torch.distributed.fsdp import fully_shard

        model = make_mlp(*sizes, seed=seed)
        for layer in model:
            if isinstance(layer, torch.nn.Linear):
                fully_shard(layer)
        fully_shard(model)
        local = sum(p.to_local().numel() for p in model.parameters())
        rows = shard(len(X), rank, world_size)
        losses, _ = _sgd_steps(model, X[rows], Y[rows], steps, lr)
        full = {k: v.full_tensor().detach().clone() for k, v in
                model.state_dict().items()}
        return {"local": local, "losses": losses, "state": full}
    except Exception as exc:                    # noqa: BLE001 - reported, not hidden
        return {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}


def main(argv: Sequence[str] | None = None) -> int:
    """``torchrun ... -m dlmath.distributed``: notebook 13.1's DDP check on a cluster.

    Every process (``torchrun`` sets RANK, WORLD_SIZE, MASTER_ADDR and
    MASTER_PORT) trains its shard with ``ddp_train_worker``; rank 0 compares
    the result with ``single_process_train`` on the whole batch and prints it.
    """
    import argparse

    import torch
    import torch.distributed as dist

    parser = argparse.ArgumentParser(prog="python -m dlmath.distributed")
    parser.add_argument("--backend", default="gloo", choices=["gloo", "nccl"])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--per-rank", type=int, default=8, help="examples per rank")
    args = parser.parse_args(argv)
    dist.init_process_group(args.backend,
                            timeout=datetime.timedelta(seconds=120))
    try:
        rank, world = dist.get_rank(), dist.get_world_size()
        g = torch.Generator().manual_seed(0)           # the same batch everywhere
        X = torch.randn(world * args.per_rank, 4, generator=g, dtype=torch.float64)
        Y = torch.randn(world * args.per_rank, 2, generator=g, dtype=torch.float64)
        out = ddp_train_worker(rank, world, X, Y, args.steps, 0.1, 0)
        if rank == 0:
            ref = single_process_train(X, Y, args.steps, 0.1, 0)
            err = max((out["state"][k] - v).abs().max().item()
                      for k, v in ref["state"].items())
            print(f"DDP on {world} processes, {args.steps} steps: max abs difference "
                  f"from one process {err:.1e}")
            if err > 1e-12:
                return 1
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
