"""Speed of the recurrent kernels: forward + full BPTT against a NumPy loop and PyTorch.

For each size (Dx, Dh, T, B) one call computes the error *and* every gradient (sum-of-squares
loss at every step, identity output, Dy = 1). Implementations are timed interleaved (one round
times each once, in turn) and the median over rounds is reported, so that a noisy neighbour on
the machine hits all of them alike. Also measured: the first call of every kernel in a fresh
process with the Numba cache warm. Prints numbers; asserts nothing. PyTorch is optional.

    .venv/bin/python bench/bench_rnn.py [--quick]
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time

import numpy as np

from nnbook import lstm_bptt, lstm_params, rnn_bptt, rnn_params

RNN_CASES = [(2, 2, 2, 1), (1, 16, 200, 1), (8, 64, 500, 1), (8, 128, 1000, 32)]
LSTM_CASES = [(8, 64, 500, 1), (8, 128, 1000, 32)]
TARGETS = {("rnn", 1): 0.1, ("rnn", 32): 0.6, ("lstm", 1): 0.1, ("lstm", 32): 1.0}


# ---- NumPy loops (batched over B; the same algorithm, one NumPy call per operation) ----------
def numpy_rnn(p, X, Y):
    T, B, _ = X.shape
    H = np.zeros((T + 1, B, p["Whh"].shape[0]))
    for t in range(T):
        H[t + 1] = np.tanh(X[t] @ p["Wxh"].T + H[t] @ p["Whh"].T + p["bh"])
    D = H[1:] @ p["Why"].T + p["by"] - Y
    g = {"Why": np.einsum("tbk,tbj->kj", D, H[1:]), "by": D.sum((0, 1)),
         "Wxh": 0.0, "Whh": 0.0, "bh": 0.0}
    dh_out = D @ p["Why"]
    carry = np.zeros_like(H[0])
    for t in range(T - 1, -1, -1):
        da = (dh_out[t] + carry) * (1 - H[t + 1] ** 2)
        g["Wxh"] = g["Wxh"] + da.T @ X[t]
        g["Whh"] = g["Whh"] + da.T @ H[t]
        g["bh"] = g["bh"] + da.sum(0)
        carry = da @ p["Whh"]
    return 0.5 * float(np.sum(D ** 2)), g


def numpy_lstm(p, X, Y):
    T, B, _ = X.shape
    Dh = p["Wh"].shape[1]
    H = np.zeros((T + 1, B, Dh))
    C = np.zeros((T + 1, B, Dh))
    G = np.empty((T, B, 4 * Dh))
    for t in range(T):
        z = X[t] @ p["Wx"].T + H[t] @ p["Wh"].T + p["b"]
        G[t] = 1 / (1 + np.exp(-z))
        G[t, :, 2 * Dh:3 * Dh] = np.tanh(z[:, 2 * Dh:3 * Dh])
        i, f, g, o = np.split(G[t], 4, axis=1)
        C[t + 1] = f * C[t] + i * g
        H[t + 1] = o * np.tanh(C[t + 1])
    D = H[1:] @ p["Why"].T + p["by"] - Y
    grads = {"Why": np.einsum("tbk,tbj->kj", D, H[1:]), "by": D.sum((0, 1)),
             "Wx": 0.0, "Wh": 0.0, "b": 0.0}
    dh_out = D @ p["Why"]
    ch = np.zeros((B, Dh))
    cc = np.zeros((B, Dh))
    for t in range(T - 1, -1, -1):
        i, f, g, o = np.split(G[t], 4, axis=1)
        tc = np.tanh(C[t + 1])
        dh = dh_out[t] + ch
        dc = cc + dh * o * (1 - tc ** 2)
        dz = np.concatenate([dc * g * i * (1 - i), dc * C[t] * f * (1 - f), dc * i * (1 - g ** 2),
                             dh * tc * o * (1 - o)], axis=1)
        grads["Wx"] = grads["Wx"] + dz.T @ X[t]
        grads["Wh"] = grads["Wh"] + dz.T @ H[t]
        grads["b"] = grads["b"] + dz.sum(0)
        ch = dz @ p["Wh"]
        cc = dc * f
    return 0.5 * float(np.sum(D ** 2)), grads


# ---- PyTorch: nn.RNN / nn.LSTM + a Linear output layer + autograd -----------------------------
def torch_fn(torch, cell, p, X, Y):
    Dx, Dh = X.shape[2], (p["Whh"].shape[0] if cell == "rnn" else p["Wh"].shape[1])
    mod = (torch.nn.RNN if cell == "rnn" else torch.nn.LSTM)(Dx, Dh).double()
    lin = torch.nn.Linear(Dh, 1).double()
    with torch.no_grad():
        mod.weight_ih_l0.copy_(torch.tensor(p["Wxh" if cell == "rnn" else "Wx"]))
        mod.weight_hh_l0.copy_(torch.tensor(p["Whh" if cell == "rnn" else "Wh"]))
        mod.bias_ih_l0.copy_(torch.tensor(p["bh" if cell == "rnn" else "b"]))
        mod.bias_hh_l0.zero_()
        lin.weight.copy_(torch.tensor(p["Why"]))
        lin.bias.copy_(torch.tensor(p["by"]))
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    params = list(mod.parameters()) + list(lin.parameters())

    def run():
        hs, _ = mod(Xt)
        E = 0.5 * ((lin(hs) - Yt) ** 2).sum()
        return E.item(), torch.autograd.grad(E, params)
    return run


def timed(f) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def compare(cell, size, torch, rounds):
    Dx, Dh, T, B = size
    rng = np.random.default_rng(0)
    p = (rnn_params if cell == "rnn" else lstm_params)(Dx, Dh, 1, seed=0)
    X = rng.normal(size=(T, B, Dx))
    Y = rng.normal(size=(T, B, 1))
    ours = (lambda: rnn_bptt(p, X, Y)) if cell == "rnn" else (lambda: lstm_bptt(p, X, Y))
    impls = {"nnbook": ours,
             "numpy": (lambda: numpy_rnn(p, X, Y)) if cell == "rnn" else
             (lambda: numpy_lstm(p, X, Y))}
    if torch is not None:
        impls["torch"] = torch_fn(torch, cell, p, X, Y)
    E, number = {}, {}
    for k, f in impls.items():  # warm-up (compiles on a cold cache), sets the calls per timing
        t0 = time.perf_counter()
        E[k] = f()[0]
        dt = time.perf_counter() - t0
        if dt < 0.1:  # the first call may have compiled: time a second one
            dt = timed(f)
        number[k] = max(1, int(2e-3 / max(dt, 1e-7)))  # >= ~2 ms per timing
    assert max(abs(e - E["nnbook"]) for e in E.values()) <= 1e-9 * max(1.0, abs(E["nnbook"]))
    times = {k: [] for k in impls}
    cpu = {k: [] for k in impls}
    for _ in range(rounds):
        for k, f in impls.items():
            n = number[k]
            c0 = time.process_time()
            times[k].append(timed(lambda: [f() for _ in range(n)]) / n)
            cpu[k].append((time.process_time() - c0) / n)
    return ({k: statistics.median(v) for k, v in times.items()},
            {k: statistics.median(v) for k, v in cpu.items()})




FIRST_CALL = """
import time, numpy as np
t0 = time.perf_counter()
import nnbook
t1 = time.perf_counter()
if {warm}:  # start Numba (registries, SciPy BLAS bindings) with another, tiny cached function
    nnbook.kernels.rnn.use_blas(1, 1, 1)
r = np.random.default_rng(0)
X, Y = r.normal(size=(5, 2, 3)), r.normal(size=(5, 2, 1))
p = getattr(nnbook, {cell!r} + "_params")(3, 4, 1)
f = getattr(nnbook, {name!r})
args = (p, X, Y) if {name!r}.endswith("bptt") else (p, X)
t2 = time.perf_counter()
f(*args)
t3 = time.perf_counter()
print(t1 - t0, t3 - t2)
"""


def first_calls():
    """(import time, first call, first call once Numba has started) for every public kernel."""
    names = ["rnn_forward", "rnn_bptt", "state_jacobians", "lstm_forward", "lstm_bptt",
             "gru_forward", "gru_bptt"]
    out = {}
    for name in names:
        cell = "rnn" if name == "state_jacobians" else name.split("_")[0]
        res = []
        for warm in (False, True):
            code = FIRST_CALL.format(name=name, cell=cell, warm=warm)
            subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
            run = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                 text=True)
            res.append(tuple(map(float, run.stdout.split())))
        out[name] = (res[0][0], res[0][1], res[1][1])
    return out


def main() -> None:
    quick = "--quick" in sys.argv
    try:
        import torch
        torch.set_num_threads(2)
    except ImportError:
        torch = None
        print("PyTorch not installed: no comparison (pip install torch==2.13.0 to add one)")
    rounds = 5 if quick else 15
    print("forward + full BPTT (sse, Dy = 1, float64); medians of interleaved rounds, wall time "
          "(CPU time of the process in brackets); PyTorch with 2 threads")
    print(f"{'cell':5} {'(Dx, Dh, T, B)':>18} {'nnbook ms':>18} {'NumPy loop ms':>20} "
          f"{'PyTorch ms':>20} {'/NumPy':>7} {'/PyTorch':>15} {'target':>7}")
    compare("rnn", RNN_CASES[0], torch, 3)  # discarded warm-up (the first timings run slow)
    for cell, cases in (("rnn", RNN_CASES), ("lstm", LSTM_CASES)):
        for size in cases:
            wall, cpu = compare(cell, size, torch, 3 if size[3] > 1 else rounds)
            cols = [f"{wall[k] * 1e3:9.3f} ({cpu[k] * 1e3:8.3f})" if k in wall else f"{'-':>20}"
                    for k in ("nnbook", "numpy", "torch")]
            vs_torch = (f"{wall['nnbook'] / wall['torch']:6.3f} ({cpu['nnbook'] / cpu['torch']:5.3f})"
                        if "torch" in wall else "-")
            print(f"{cell:5} {str(size):>18} {cols[0]:>18} {cols[1]:>20} {cols[2]:>20} "
                  f"{wall['nnbook'] / wall['numpy']:7.3f} {vs_torch:>15} "
                  f"{'<= ' + str(TARGETS[(cell, min(size[3], 32))]):>7}", flush=True)
    print("\nfirst call in a new process, Numba cache warm (target < 0.3 s); the first kernel of a "
          "process also starts Numba itself,\nso the last column is the kernel's own cost (Numba "
          "already started by another cached function):")
    for name, (imp, call, own) in first_calls().items():
        print(f"  {name:16} import nnbook {imp:6.3f} s   first call {call:6.3f} s   "
              f"own cost {own:6.3f} s")


if __name__ == "__main__":
    main()
