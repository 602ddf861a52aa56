"""TinyGPT vs an LSTM of equal size, over several budgets and seeds (Chapter 9.3).

    PYTHONPATH=. python tools/gpt_vs_lstm.py            # about 20-60 CPU-minutes

writes ``dlmath/tables/gpt_vs_lstm.json``, the table that
notebook 9.3 reads: for every budget (training steps, each with its own
one-cycle schedule) and seed (initialization and batch order), the held-out
cross-entropy of both models. The models, the data split, the optimizer and
the evaluation are those of the notebook (its cells 10-11), copied here; seed
0 at 250 steps is the notebook's own run, which the notebook checks against
this table. The file is rewritten after every run, so an interrupted run
leaves the finished rows.
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
import torch  # noqa: E402

import dlmath  # noqa: E402
from dlmath.kvcache import TinyGPT  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "dlmath/tables/gpt_vs_lstm.json"
BUDGETS = (250, 500, 1000, 2000)
SEEDS = (0, 1, 2)
T, B, D, HEADS, LAYERS = 48, 32, 48, 4, 2        # as in the notebook
VAL_BATCHES = 20                                 # as in the notebook

text = dlmath.data.stdlib_text()
chars = sorted(set(text))
V = len(chars)
stoi = {c: i for i, c in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text])
n_train = int(0.9 * len(data))
train_data, val_data = data[:n_train], data[n_train:]


class CharLSTM(torch.nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.emb = torch.nn.Embedding(V, D)
        self.rnn = torch.nn.LSTM(D, hidden, batch_first=True)
        self.head = torch.nn.Linear(hidden, V)

    def forward(self, idx):
        return self.head(self.rnn(self.emb(idx))[0])


def num_params(model):
    return sum(p.numel() for p in model.parameters())


def batches(source, steps, seed):
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        start = torch.randint(len(source) - T - 1, (B,), generator=gen).tolist()
        x = torch.stack([source[i:i + T] for i in start])
        y = torch.stack([source[i + 1:i + T + 1] for i in start])
        yield x, y


def loss_of(model, x, y):
    return torch.nn.functional.cross_entropy(model(x).reshape(-1, V), y.reshape(-1))


def train(model, steps, batch_seed, lr=1e-2):
    torch.manual_seed(1)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps,
                                                pct_start=0.1)
    losses = []
    for x, y in batches(train_data, steps, seed=batch_seed):
        loss = loss_of(model, x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    with torch.no_grad():
        val = np.mean([loss_of(model, x, y).item()
                       for x, y in batches(val_data, VAL_BATCHES, 1)])
    return float(np.mean(losses[-25:])), float(val)


def models(seed):
    """The notebook's construction order: GPT first, then the LSTM, one seed."""
    torch.manual_seed(seed)
    gpt = TinyGPT(V, T, D, HEADS, LAYERS)          # the notebook's model
    lstm_size = {h: V * D + 4 * h * (D + h) + 8 * h + h * V + V for h in range(8, 512)}
    hidden = min(lstm_size, key=lambda h: abs(lstm_size[h] - num_params(gpt)))
    return {"TinyGPT": gpt, "LSTM": CharLSTM(hidden)}


def main() -> None:
    torch.set_num_threads(1)
    rows = []
    if OUT.exists() and "--fresh" not in sys.argv:
        rows = json.loads(OUT.read_text())["rows"]
    done = {(r["model"], r["steps"], r["seed"]) for r in rows}
    for steps in BUDGETS:
        for seed in SEEDS:
            for name in ("TinyGPT", "LSTM"):
                if (name, steps, seed) in done:
                    continue
                model = models(seed)[name]
                t0 = time.perf_counter()
                train_loss, val = train(model, steps, batch_seed=seed)
                rows.append({"model": name, "steps": steps, "seed": seed,
                             "params": num_params(model), "train_loss": train_loss,
                             "val_loss": val})
                print(f"{name:8s} steps {steps:5d} seed {seed}: held-out {val:.4f} "
                      f"({time.perf_counter() - t0:.0f} s)", flush=True)
                OUT.write_text(json.dumps({
                    "command": "PYTHONPATH=. python tools/gpt_vs_lstm.py",
                    "torch": torch.__version__, "budgets": list(BUDGETS),
                    "seeds": list(SEEDS), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
