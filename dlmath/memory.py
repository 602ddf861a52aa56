"""What training stores, as formulas (Chapter 13, notebook 2).

- ``mlp_num_params`` / ``block_num_params``: parameter counts, eq. (eq-mem-params).
- ``mlp_activation_values``: values autograd saves for a tanh MLP, eq.
  (eq-mem-act-mlp); ``checkpoint_activation_values``: the same with
  ``checkpoint_sequential`` in k segments, eq. (eq-mem-ckpt).
- ``block_activation_values``: values saved by a pre-norm
  ``TransformerEncoderLayer`` (dropout 0, torch's fused CPU attention),
  eq. (eq-mem-act-block).
- ``zero_bytes_per_worker`` / ``comm_values_per_step``: ZeRO stages 0-3
  (FSDP is stage 3), eq. (eq-mem-zero).
- ``memory_report``: all of it for a transformer, per worker (the widget).
"""
from __future__ import annotations

from typing import Sequence

from ._validate import check_int

__all__ = ["mlp_num_params", "block_num_params", "mlp_activation_values",
           "checkpoint_activation_values", "block_activation_values",
           "zero_bytes_per_worker", "comm_values_per_step", "memory_report",
           "FORMATS"]


def mlp_num_params(widths: Sequence[int]) -> int:
    """Σ_i (d_i d_{i+1} + d_{i+1}): weights and biases of Linear(d_i, d_{i+1})."""
    w = [check_int(d, "mlp_num_params", "width", minimum=1) for d in widths]
    if len(w) < 2:
        raise ValueError(f"mlp_num_params: need >= 2 widths, got {len(w)}")
    return sum(a * b + b for a, b in zip(w, w[1:]))


def block_num_params(d: int, f: int) -> int:
    """A transformer block: attention 4d² + 4d, feed-forward 2df + f + d, and
    two LayerNorms 4d, eq. (eq-mem-params)."""
    d = check_int(d, "block_num_params", "d", minimum=1)
    f = check_int(f, "block_num_params", "f", minimum=1)
    return 4 * d * d + 4 * d + 2 * d * f + f + d + 4 * d


def mlp_activation_values(N: int, widths: Sequence[int]) -> int:
    """N Σ_{i=0}^{L} d_i: the input and every tanh output of
    (Linear, Tanh) x L, each saved once, eq. (eq-mem-act-mlp)."""
    N = check_int(N, "mlp_activation_values", "N", minimum=1)
    return N * sum(check_int(d, "mlp_activation_values", "width", minimum=1)
                   for d in widths)


def checkpoint_activation_values(N: int, d: int, L: int, k: int) -> int:
    """N d (k + L/k): ``checkpoint_sequential`` of L (Linear(d, d), Tanh)
    layers in k segments keeps the inputs of the k - 1 checkpointed segments
    and all of the last, uncheckpointed one (its input and L/k outputs),
    eq. (eq-mem-ckpt). k must divide L."""
    fn = "checkpoint_activation_values"
    N, d = check_int(N, fn, "N", minimum=1), check_int(d, fn, "d", minimum=1)
    L, k = check_int(L, fn, "L", minimum=1), check_int(k, fn, "k", minimum=1)
    if L % k:
        raise ValueError(f"{fn}: k={k} segments must divide L={L} layers")
    return N * d * (k + L // k)


def block_activation_values(N: int, n: int, d: int, heads: int, mask: bool = True,
                            activation: str = "gelu") -> int:
    """N n (16 d + H + 4) for GELU, N n (12 d + H + 4) for ReLU (+ n² for a
    mask), eq. (eq-mem-act-block).

    Per token: 8 vectors of width d (block input, two LayerNorm inputs and
    outputs, q, k, v, attention output), the feed-forward hidden layer (4d)
    before the activation and, for GELU, after it (ReLU's output is the tensor
    it saves itself: 4d once), the row log-sum-exp of each head (H) and the
    two LayerNorms' mean and 1/std (4). Torch's fused attention on the CPU
    keeps no n x n weights; a float mask of n x n is saved once.
    """
    fn = "block_activation_values"
    N, n = check_int(N, fn, "N", minimum=1), check_int(n, fn, "n", minimum=1)
    d, H = check_int(d, fn, "d", minimum=1), check_int(heads, fn, "heads", minimum=1)
    if activation not in ("gelu", "relu"):
        raise ValueError(f"{fn}: activation must be 'gelu' or 'relu', got "
                         f"{activation!r}")
    per_token = (16 if activation == "gelu" else 12) * d + H + 4
    return N * n * per_token + (n * n if mask else 0)


# bytes per parameter: (weights, gradients, optimizer state incl. master weights)
FORMATS = {"float32": {"w": 4, "g": 4, "opt": 8, "act": 4},
           "bf16 mixed": {"w": 2, "g": 2, "opt": 12, "act": 2}}


def zero_bytes_per_worker(P: int, p: int, stage: int, fmt: str = "bf16 mixed"
                          ) -> dict[str, float]:
    """Bytes of weights, gradients and Adam state per worker, eq. (eq-mem-zero).

    Stage 0 (DDP) replicates everything; stage 1 shards the optimizer state,
    stage 2 also the gradients, stage 3 (FSDP) also the weights, over p workers.
    """
    fn = "zero_bytes_per_worker"
    P = check_int(P, fn, "P", minimum=0)
    p = check_int(p, fn, "p (world size)", minimum=1)
    stage = check_int(stage, fn, "stage", minimum=0)
    if stage > 3:
        raise ValueError(f"{fn}: ZeRO stage must be 0, 1, 2 or 3, got {stage}")
    if fmt not in FORMATS:
        raise ValueError(f"{fn}: fmt must be one of {sorted(FORMATS)}, got {fmt!r}")
    b = FORMATS[fmt]
    return {"weights": b["w"] * P / (p if stage >= 3 else 1),
            "gradients": b["g"] * P / (p if stage >= 2 else 1),
            "optimizer": b["opt"] * P / (p if stage >= 1 else 1)}


def comm_values_per_step(P: int, p: int, stage: int) -> float:
    """Values each worker sends per step: 2 (p-1)/p P for stages 0-2 (an
    all-reduce, or a reduce-scatter plus an all-gather), 3 (p-1)/p P for
    stage 3 (the weights are all-gathered twice, forward and backward)."""
    fn = "comm_values_per_step"
    P = check_int(P, fn, "P", minimum=0)
    p = check_int(p, fn, "p (world size)", minimum=1)
    stage = check_int(stage, fn, "stage", minimum=0)
    if stage > 3:
        raise ValueError(f"{fn}: ZeRO stage must be 0, 1, 2 or 3, got {stage}")
    return (3 if stage == 3 else 2) * (p - 1) / p * P


def memory_report(batch: int, width: int, depth: int, seq: int, fmt: str,
                  workers: int, stage: int, heads: int = 8) -> dict[str, float]:
    """Bytes per worker of a depth-block transformer (f = 4 width) trained with
    Adam on ``batch`` sequences of ``seq`` tokens split over ``workers``, and
    the bytes each worker sends per step. Embeddings are left out."""
    fn = "memory_report"
    workers = check_int(workers, fn, "workers", minimum=1)
    batch = check_int(batch, fn, "batch", minimum=1)
    if batch % workers:
        raise ValueError(f"{fn}: a batch of {batch} does not split over {workers} "
                         "workers")
    P = check_int(depth, fn, "depth", minimum=1) * block_num_params(width, 4 * width)
    out = zero_bytes_per_worker(P, workers, stage, fmt)
    out["activations"] = FORMATS[fmt]["act"] * depth * block_activation_values(
        batch // workers, seq, width, heads, mask=False)
    out["communication"] = FORMATS[fmt]["g"] * comm_values_per_step(P, workers, stage)
    out["parameters"] = P
    return out
