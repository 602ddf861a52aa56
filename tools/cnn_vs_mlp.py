"""CNN against MLPs of equal and of half its parameter count (Chapter 7.3).

    PYTHONPATH=. python tools/cnn_vs_mlp.py        # about 2 CPU-minutes

writes ``dlmath/tables/cnn_vs_mlp.json``, which notebook 7.3 reads. Every model is
the numpy (``dlmath.nn``) model of the notebook, trained exactly as the notebook
trains it: Adam (lr 3e-3) with a cosine schedule over the whole run, minibatches
of 32 in the order of ``numpy.random.default_rng(seed).permutation`` per epoch,
initialization after ``dlmath.seed(seed)``. Models:

- ``CNN``: the notebook's LeNet-style network (53,514 parameters);
- ``MLP 196-196``: two hidden layers of 196 units (53,322 parameters, the CNN's
  count to 0.4%);
- ``MLP 128-128``: the notebook's former MLP (26,122 parameters).

For seeds 0-4 and budgets of 10 and 20 epochs (equal steps for every model) it
stores the final epoch's mean training loss, the clean test accuracy, and the
test accuracy with every digit shifted by 1 and by 2 pixels (right, left, down,
up: each direction separately, and their mean), blank pixels filling in.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import dlmath  # noqa: E402
from dlmath import data, nn, optim  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "dlmath/tables/cnn_vs_mlp.json"
SEEDS, EPOCHS, BATCH, LR = (0, 1, 2, 3, 4), (10, 20), 32, 3e-3
DIRECTIONS = {"right": (0, 1), "left": (0, -1), "down": (1, 0), "up": (-1, 0)}


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def mlp(width):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, width), nn.ReLU(),
                         nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 10))


MODELS = {"CNN": lenet, "MLP 196-196": lambda: mlp(196),
          "MLP 128-128": lambda: mlp(128)}


def digits():
    """The notebook's data: standardized with the training set's statistics."""
    X_train, y_train, X_test, y_test = data.load_digits(images=True)
    mu, sd = X_train.mean(), X_train.std()
    return (((X_train - mu) / sd)[:, None], y_train, ((X_test - mu) / sd)[:, None],
            y_test, (0 - mu) / sd)


def shift(X, rows, cols, background):
    """Every image moved by (rows, cols) pixels; the vacated pixels are blank."""
    out = np.full_like(X, background)
    H, W = X.shape[-2:]
    src_r = slice(max(-rows, 0), H - max(rows, 0))
    dst_r = slice(max(rows, 0), H - max(-rows, 0))
    src_c = slice(max(-cols, 0), W - max(cols, 0))
    dst_c = slice(max(cols, 0), W - max(-cols, 0))
    out[..., dst_r, dst_c] = X[..., src_r, src_c]
    return out


def train(model, X, y, seed, epochs):
    """The notebook's training loop; returns the last epoch's mean training loss."""
    crit = nn.CrossEntropyLoss()
    opt = optim.Adam(model.parameters(), lr=LR)
    sched = optim.CosineAnnealingLR(opt, T_max=epochs * int(np.ceil(len(X) / BATCH)))
    g = np.random.default_rng(seed)
    for _ in range(epochs):
        perm, losses = g.permutation(len(X)), []
        for i in range(0, len(X), BATCH):
            idx = perm[i:i + BATCH]
            losses.append(float(crit(model(X[idx]), y[idx])))
            model.backward(crit.backward())
            opt.step(model.gradients())
            sched.step()
    return float(np.mean(losses))


def accuracy(model, X, y):
    return float(np.mean(model(X).argmax(axis=1) == y))


def main() -> None:
    X_train, y_train, X_test, y_test, background = digits()
    rows = []
    for epochs in EPOCHS:
        for seed in SEEDS:
            for name, make in MODELS.items():
                t0 = time.perf_counter()
                dlmath.seed(seed)
                model = make()
                loss = train(model, X_train, y_train, seed, epochs)
                row = {"model": name, "epochs": epochs, "seed": seed,
                       "parameters": int(sum(p.size for p in model.parameters())),
                       "train_loss": loss, "clean": accuracy(model, X_test, y_test)}
                for k in (1, 2):
                    per = {d: accuracy(model, shift(X_test, k * r, k * c, background),
                                       y_test) for d, (r, c) in DIRECTIONS.items()}
                    row[f"shift{k}"] = float(np.mean(list(per.values())))
                    row[f"shift{k}_by_direction"] = per
                rows.append(row)
                print(f"{epochs:2d} epochs seed {seed} {name:<12} clean "
                      f"{row['clean']:.2%} shift 1 {row['shift1']:.2%} shift 2 "
                      f"{row['shift2']:.2%} ({time.perf_counter() - t0:.0f} s)",
                      flush=True)
                OUT.write_text(json.dumps({
                    "command": "PYTHONPATH=. python tools/cnn_vs_mlp.py",
                    "numpy": np.__version__, "batch": BATCH, "lr": LR,
                    "n_test": int(len(y_test)), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
    sys.exit(0)
