import time, numpy as np, torch, itertools, multiprocessing as mp
K = 4
def batch(g, n, T, noise):
    c = g.integers(0, K, n)
    x = np.zeros((n, T, K+1), np.float32); x[np.arange(n), 0, c] = 1; x[:, 1:, K] = 1
    x[:, 1:, :K] = g.standard_normal((n, T-1, K)) * noise
    return torch.from_numpy(x), torch.from_numpy(c)
def run(cfg):
    torch.set_num_threads(1)
    mode, kind, T, noise, lr, steps, fb, H = cfg
    torch.manual_seed(0); g = np.random.default_rng(0)
    rnn = getattr(torch.nn, kind)(K+1, H, batch_first=True); out = torch.nn.Linear(H, K)
    if kind == "LSTM" and fb:
        with torch.no_grad(): rnn.bias_ih_l0[H:2*H] += fb
    params = list(rnn.parameters()) + list(out.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    t0 = time.perf_counter()
    for i in range(steps):
        x, y = batch(g, 32, T, noise)
        o = rnn(x)[0]
        if mode == "every":
            loss = torch.nn.functional.cross_entropy(out(o).reshape(-1, K), y.repeat_interleave(T))
        else:
            loss = torch.nn.functional.cross_entropy(out(o[:, -1]), y)
        opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(params, 1.0); opt.step()
    dt = time.perf_counter() - t0
    x, y = batch(np.random.default_rng(999), 1000, T, noise)
    with torch.no_grad(): acc = (out(rnn(x)[0]).argmax(2) == y[:, None]).float().mean(0).numpy()
    return cfg, np.round(acc[[1, 5, 10, 20, 40, T-1]], 2), dt
cfgs = []
for mode in ["every", "last"]:
    for kind, fb in [("RNN", 0), ("GRU", 0), ("LSTM", 0), ("LSTM", 1), ("LSTM", 2)]:
        for noise in [0.5, 1.0]:
            for lr in [1e-2, 3e-3]:
                cfgs.append((mode, kind, 60, noise, lr, 300, fb, 24))
if __name__ == "__main__":
    with mp.Pool(16) as p:
        for cfg, acc, dt in p.imap(run, cfgs):
            print(cfg, acc, f"{dt:.1f}s", flush=True)
