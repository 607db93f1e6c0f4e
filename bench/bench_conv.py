"""Speed of nnbook's convolution and pooling kernels against NumPy im2col and PyTorch.

Forward + backward of ``conv2d`` on the four shapes of issue 6 and 2x2/2 max pooling on two, in
float64 and float32. Each variant is timed in rounds that interleave the contenders (so a slow
moment of a shared machine hits all of them), and the median per call is reported with ratios.
Also the first call of each kernel in a fresh process with a warm Numba cache. Prints; asserts
nothing. PyTorch is optional (``pip install torch==2.13.0``), run with 2 threads.

    make bench        (or .venv/bin/python bench/bench_conv.py)
"""
from __future__ import annotations

import math
import os
import pathlib
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "kernels"))
from conv_reference import conv2d_im2col, conv2d_im2col_backward  # noqa: E402

from nnbook import conv2d, conv2d_backward, pool2d, pool2d_backward  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from limits import cached_copy_bandwidth  # noqa: E402
from limits import report as machine_limits  # noqa: E402

CONV_SHAPES = [(1, 1, 28, 4, 3), (64, 1, 28, 8, 5), (32, 3, 32, 16, 3), (32, 16, 16, 32, 3)]
POOL_SHAPES = [(64, 8, 28, 28), (32, 16, 32, 32)]

TORCH_THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 2  # e.g. 1 for a single-thread reference
try:
    import torch
    torch.set_num_threads(TORCH_THREADS)
except ImportError:
    torch = None


PAUSE = 0.1  # seconds between two contenders' blocks


def medians(fns: dict, rounds: int = 9, min_time: float = 0.25) -> dict:
    """Median and best seconds per call of each function, timed in interleaved rounds.

    Each round calls every function for about ``min_time`` seconds in a block. Blocks this long
    matter on 2 cores: after a call, the BLAS worker threads of NumPy (and PyTorch's OpenMP
    threads) keep spinning for up to about 0.1 s, on the core the next contender's second thread
    needs. With blocks of 0.02 s that spill-over slowed every contender (nnbook's split conv by
    up to 2.2x, NumPy's im2col by 1.2-1.5x); with 0.5 s blocks it is a small share.
    The best round is reported too: on a machine shared with other work it is the closer estimate
    of the time on an idle machine; the median is the figure the targets refer to."""
    number = {}
    for name, f in fns.items():  # warm up, and pick a call count per round of ~min_time
        f()
        t0 = time.perf_counter()
        f()
        number[name] = max(1, int(min_time / max(time.perf_counter() - t0, 1e-7)))
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, f in fns.items():
            time.sleep(PAUSE)  # the previous contender's threads go to sleep meanwhile
            t0 = time.perf_counter()
            for _ in range(number[name]):
                f()
            times[name].append((time.perf_counter() - t0) / number[name])
    return {name: (float(np.median(t)), float(np.min(t))) for name, t in times.items()}


def conv_contenders(shape, dtype):
    N, C, H, F, K = shape
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, C, H, H)).astype(dtype)
    w = rng.normal(size=(F, C, K, K)).astype(dtype)
    b = rng.normal(size=F).astype(dtype)
    dy = rng.normal(size=conv2d(x, w, b).shape).astype(dtype)

    def ours():
        conv2d(x, w, b)
        return conv2d_backward(dy, x, w)

    def numpy_im2col():
        conv2d_im2col(x, w, b)
        return conv2d_im2col_backward(dy, x, w)

    fns = {"nnbook": ours, "im2col": numpy_im2col}
    if torch is not None:
        xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        dyt = torch.tensor(dy)

        def torch_fb():
            y = torch.nn.functional.conv2d(xt, wt, bt)
            return torch.autograd.grad(y, (xt, wt, bt), dyt)
        fns["torch"] = torch_fb
    return fns


def pool_contenders(shape, dtype):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype(dtype)
    dy = rng.normal(size=pool2d(x, 2).shape).astype(dtype)

    def ours():
        pool2d(x, 2)
        return pool2d_backward(dy, x, 2)
    fns = {"nnbook": ours}
    if torch is not None:
        xt, dyt = torch.tensor(x, requires_grad=True), torch.tensor(dy)

        def torch_fb():
            return torch.autograd.grad(torch.nn.functional.max_pool2d(xt, 2), xt, dyt)
        fns["torch"] = torch_fb
    return fns



def geomean(v):
    return math.exp(sum(math.log(a) for a in v) / len(v))


FIRST_CALL = """
import time, numpy as np
t0 = time.perf_counter()
import nnbook
t1 = time.perf_counter()
x = np.ones((2, 3, 8, 8), np.{dt}); w = np.ones((4, 3, 3, 3), np.{dt})
out = []
for name, f in [("pool2d (+ Numba start-up)", lambda: nnbook.pool2d(x, 2)),
                ("pool2d_backward", lambda: nnbook.pool2d_backward(np.ones((2, 3, 4, 4), np.{dt}), x, 2)),
                ("conv2d", lambda: nnbook.conv2d(x, w, np.ones(4, np.{dt}), padding=1)),
                ("conv2d_backward", lambda: nnbook.conv2d_backward(np.ones((2, 4, 8, 8), np.{dt}), x, w, padding=1))]:
    t = time.perf_counter(); f(); out.append(f"{{name}} {{time.perf_counter() - t:.3f}}")
print(f"import nnbook {{t1 - t0:.3f}} s; first calls (s): " + ", ".join(out))
"""


def first_calls():
    """Each kernel's first call in a fresh process (run twice: the first run warms the cache).

    Whichever kernel runs first also pays Numba's once-per-process start-up (loading its
    registries, and SciPy's BLAS bindings); pool2d goes first so that conv2d's figure is its own."""
    env = dict(os.environ)
    env.setdefault("NUMBA_CACHE_DIR", str(pathlib.Path(__file__).resolve().parents[1]
                                          / "_build" / "numba-cache"))
    for dt in ("float64", "float32"):
        code = FIRST_CALL.format(dt=dt)
        subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
        out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                             capture_output=True, text=True).stdout.strip()
        print(f"  {dt}, new process, warm cache: {out}")


def row(t: dict) -> str:
    """Times of each contender (median / best ms) and nnbook's ratio to it."""
    ours = t["nnbook"]
    parts = [f"nnbook {ours[0] * 1e3:8.3f} /{ours[1] * 1e3:8.3f}"]
    for name in t:
        if name != "nnbook":
            parts.append(f"{name} {t[name][0] * 1e3:8.3f} /{t[name][1] * 1e3:8.3f} "
                         f"({ours[0] / t[name][0]:.2f}x /{ours[1] / t[name][1]:.2f}x)")
    return "  ".join(parts)


def main() -> None:
    print(f"{os.cpu_count()} cores; torch "
          f"{'absent' if torch is None else f'{torch.__version__}, {TORCH_THREADS} thread(s)'}; "
          "times in ms per call as median / best of interleaved rounds, "
          "ratios nnbook/other as median /best")
    lim = machine_limits()
    print("conv2d forward + backward (limit: the flops of the three products at the GEMM rate "
          "on 2 threads; on 1 in brackets)")
    for dtype in (np.float64, np.float32):
        ratios = {}
        dt = np.dtype(dtype).name
        for shape in CONV_SHAPES:
            t = medians(conv_contenders(shape, dtype))
            for name in t:
                ratios.setdefault(name, []).append(
                    [t["nnbook"][k] / t[name][k] for k in (0, 1)])
            N, C, H, F, K = shape
            flops = 3 * 2.0 * N * F * C * K * K * (H - K + 1) ** 2
            frac = " ".join(f"{name} {flops / v[0] / lim[f'gemm {dt} 2']:.2f} "
                            f"({flops / v[0] / lim[f'gemm {dt} 1']:.2f})" for name, v in t.items())
            print(f"  {dt} (N,C,H,F,K)={shape!s:20} {row(t)}  fraction of limit: {frac}")
        means = [f"nnbook/{name} {geomean([r[0] for r in v]):.3f} /{geomean([r[1] for r in v]):.3f}"
                 for name, v in ratios.items() if name != "nnbook"]
        print(f"  {np.dtype(dtype).name} geometric means: " + ", ".join(means))
    print("max pooling 2x2 stride 2, forward + backward (limit: bytes read and written, x twice, "
          "y, dy, dx, at the copy bandwidth: of 64 MB (DRAM), and in brackets of the same byte "
          "count (cache-resident: copyto between two arrays of half that size, measured here))")
    for dtype in (np.float64, np.float32):
        for shape in POOL_SHAPES:
            t = medians(pool_contenders(shape, dtype))
            nbytes = np.dtype(dtype).itemsize * np.prod(shape) * (3 + 2 / 4)
            cached = cached_copy_bandwidth(nbytes)
            frac = " ".join(f"{name} {nbytes / v[0] / lim['copy']:.2f} ({nbytes / v[0] / cached:.2f})"
                            for name, v in t.items())
            print(f"  {np.dtype(dtype).name} {shape!s:18} {row(t)}  fraction of limit: {frac}; "
                  f"{nbytes / 1e6:.1f} MB, cache-resident copy {cached / 1e9:.0f} GB/s")
    print("first call of each kernel")
    first_calls()
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
