"""Speed of backpropagation in nnbook: batched, per-pattern, and (if installed) PyTorch autograd.

Prints times and ratios measured in one run; asserts nothing. PyTorch is optional.

    make bench        (or .venv/bin/python bench/bench_mlp.py)
"""
from __future__ import annotations

import timeit

import numpy as np

from nnbook import MLP


def best(f, number: int, repeat: int = 5) -> float:
    """Best time of one call, in seconds."""
    return min(timeit.repeat(f, number=number, repeat=repeat)) / number


def main() -> None:
    rng = np.random.default_rng(0)
    sizes, N = [64, 100, 10], 1000
    net = MLP.random(sizes, ["tanh", "softmax"], seed=0)
    X = rng.normal(size=(N, sizes[0]))
    T = np.eye(sizes[-1])[rng.integers(sizes[-1], size=N)]

    t_batch = best(lambda: net.gradients(X, T, "ce"), number=20)
    t_loop = best(lambda: [net.gradients(X[n], T[n], "ce") for n in range(N)], number=1, repeat=3)
    print(f"network {sizes}, batch of N = {N}, cross-entropy gradient")
    print(f"  nnbook batched (one matrix product per layer): {t_batch * 1e3:8.2f} ms")
    print(f"  nnbook one pattern at a time:                  {t_loop * 1e3:8.2f} ms"
          f"   ({t_loop / t_batch:.0f}x the batched time)")
    try:
        import torch
    except ImportError:
        print("  PyTorch not installed: no comparison (pip install torch==2.13.0 to add one)")
        return
    torch.set_num_threads(1)
    params = [torch.tensor(a, requires_grad=True) for W, b in net.weights for a in (W, b)]
    Xt, Tt = torch.tensor(X), torch.tensor(T)

    def torch_grad():
        W1, b1, W2, b2 = params
        logits = torch.tanh(Xt @ W1.T + b1) @ W2.T + b2
        loss = -(Tt * torch.log_softmax(logits, dim=1)).sum()
        return torch.autograd.grad(loss, params)

    t_torch = best(torch_grad, number=20)
    ours = [g for pair in net.gradients(X, T, "ce") for g in pair]
    gap = max(float(np.max(np.abs(a - b.numpy()))) for a, b in zip(ours, torch_grad()))
    print(f"  PyTorch autograd (float64, 1 thread):          {t_torch * 1e3:8.2f} ms"
          f"   (nnbook/PyTorch = {t_batch / t_torch:.2f}); max gradient difference {gap:.1e}")


if __name__ == "__main__":
    main()
