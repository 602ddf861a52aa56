"""The stored table of 7.3 (dlmath/tables/cnn_vs_mlp.json) is what
tools/cnn_vs_mlp.py computes: every run once, the parameter counts of the script's
models, and one run recomputed exactly (the notebook asserts its own seed-0 runs)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import cnn_vs_mlp  # noqa: E402

import dlmath  # noqa: E402
from dlmath.data import stored_table  # noqa: E402


def test_table_holds_every_run_once_with_the_scripts_models():
    rows = stored_table("cnn_vs_mlp")["rows"]
    runs = [(r["model"], r["seed"], r["epochs"]) for r in rows]
    assert sorted(runs) == sorted((m, s, e) for m in cnn_vs_mlp.MODELS
                                  for s in cnn_vs_mlp.SEEDS for e in cnn_vs_mlp.EPOCHS)
    for r in rows:
        model = cnn_vs_mlp.MODELS[r["model"]]()
        assert r["parameters"] == sum(p.size for p in model.parameters())
        for k in (1, 2):
            assert set(r[f"shift{k}_by_direction"]) == set(cnn_vs_mlp.DIRECTIONS)
            assert np.isclose(r[f"shift{k}"],
                              np.mean(list(r[f"shift{k}_by_direction"].values())))


def test_one_stored_run_is_recomputed_exactly():
    X_train, y_train, X_test, y_test, background = cnn_vs_mlp.digits()
    stored = next(r for r in stored_table("cnn_vs_mlp")["rows"]
                  if (r["model"], r["seed"], r["epochs"]) == ("MLP 128-128", 1, 10))
    dlmath.seed(1)
    model = cnn_vs_mlp.MODELS["MLP 128-128"]()
    loss = cnn_vs_mlp.train(model, X_train, y_train, seed=1, epochs=10)
    assert np.isclose(loss, stored["train_loss"], rtol=1e-9, atol=0)
    assert cnn_vs_mlp.accuracy(model, X_test, y_test) == stored["clean"]
    right = cnn_vs_mlp.shift(X_test, 0, 2, background)
    assert cnn_vs_mlp.accuracy(model, right, y_test) == \
        stored["shift2_by_direction"]["right"]


def test_shift_moves_pixels_and_blanks_the_rest():
    X = np.arange(16.0).reshape(1, 1, 4, 4)
    out = cnn_vs_mlp.shift(X, 1, -2, -1.0)[0, 0]
    assert (out[0] == -1).all() and (out[:, 2:] == -1).all()
    assert (out[1:, :2] == X[0, 0, :3, 2:]).all()
