"""Plain vs residual CNNs of equal depth and initialization, trained (Chapter 7.4).

    PYTHONPATH=. python tools/plain_vs_residual.py        # about 10 CPU-minutes

writes ``dlmath/tables/plain_vs_residual.json``, which
notebook 7.4 reads: the training loss (on all 512 training images) after a
fixed number of Adam steps, for plain and residual stacks of 10, 20 and 40
blocks, three seeds each, under the initializations the notebook compares:

- ``plain, torch default``: torch's default conv init (variance 1/(3 fan_in));
- ``plain, He``: ``kaiming_normal_`` (variance 2/fan_in), zero biases;
- ``residual, He``: the same init in both convs of every branch;
- ``residual, He + zero last conv``: He init with each branch's last conv set
  to zero, so every block starts as the identity.

The blocks, data and optimizer are those of the notebook (section 4).
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import torch  # noqa: E402

from dlmath import data  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "dlmath/tables/plain_vs_residual.json"
DEPTHS, SEEDS = (10, 20, 40), (0, 1, 2)
KINDS = ("plain, torch default", "plain, He", "residual, He",
         "residual, He + zero last conv")
C, STEPS, BATCH, LR, N_TRAIN = 8, 60, 32, 1e-3, 512
T = torch.nn


class PlainBlock(T.Module):
    def __init__(self, C):
        super().__init__()
        self.f = T.Sequential(T.Conv2d(C, C, 3, padding=1), T.ReLU())

    def forward(self, x):
        return self.f(x)


class ResidualBlock(T.Module):
    def __init__(self, C):
        super().__init__()
        self.f = T.Sequential(T.Conv2d(C, C, 3, padding=1), T.ReLU(),
                              T.Conv2d(C, C, 3, padding=1))

    def forward(self, x):
        return x + self.f(x)


def make(kind: str, depth: int, seed: int) -> T.Module:
    torch.manual_seed(seed)
    block = PlainBlock if kind.startswith("plain") else ResidualBlock
    model = T.Sequential(T.Conv2d(1, C, 1), *[block(C) for _ in range(depth)],
                         T.Flatten(), T.Linear(C * 64, 10))
    if "He" in kind:
        for m in model.modules():
            if isinstance(m, T.Conv2d):
                T.init.kaiming_normal_(m.weight, nonlinearity="relu")
                T.init.zeros_(m.bias)
    if "zero last" in kind:
        for b in model[1:-2]:
            T.init.zeros_(b.f[-1].weight)
    return model


def main() -> None:
    torch.set_num_threads(1)
    X, y, _, _ = data.load_digits(images=True)
    xb = torch.tensor(X[:N_TRAIN, None], dtype=torch.float32)
    yb = torch.tensor(y[:N_TRAIN])
    rows = []
    for depth in DEPTHS:
        for kind in KINDS:
            for seed in SEEDS:
                model = make(kind, depth, seed)
                with torch.no_grad():
                    start = T.functional.cross_entropy(model(xb), yb).item()
                opt = torch.optim.Adam(model.parameters(), LR)
                gen = torch.Generator().manual_seed(seed)
                t0 = time.perf_counter()
                for _ in range(STEPS):
                    idx = torch.randint(0, N_TRAIN, (BATCH,), generator=gen)
                    loss = T.functional.cross_entropy(model(xb[idx]), yb[idx])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                with torch.no_grad():
                    end = T.functional.cross_entropy(model(xb), yb).item()
                rows.append({"depth": depth, "init": kind, "seed": seed,
                             "loss_at_init": start, "loss_after": end})
                print(f"depth {depth:2d} {kind:32s} seed {seed}: {start:.3g} -> "
                      f"{end:.3f} ({time.perf_counter() - t0:.0f} s)", flush=True)
                OUT.write_text(json.dumps({
                    "command": "PYTHONPATH=. python tools/plain_vs_residual.py",
                    "torch": torch.__version__, "steps": STEPS, "batch": BATCH,
                    "channels": C, "lr": LR, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
    sys.exit(0)
