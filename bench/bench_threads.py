"""nnbook's kernel threads: 1 thread against 2, and the load test (threads.LOAD_TEST) on or off.

Every contender computes the same parts (``nnbook.kernels.threads.partition``), so the results
are bit-identical and only the time differs. Contenders are timed in interleaved rounds, each in
a block of about 0.25 s followed by a 0.1 s pause (so no contender meets the previous one's
threads), and the median and best per call are printed with the CPU time per call and the load
average before and after. On a machine with several cores the script then runs itself once
more under ``taskset -c 0`` (one usable core, where the default is 1 thread), when ``taskset``
exists: the scaling from one core to all of them, in one ``make bench``.

    .venv/bin/python bench/bench_threads.py [ROUNDS]
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import numpy as np

import nnbook
from nnbook.kernels import threads
from nnbook import conv2d, conv2d_backward, lstm_bptt, lstm_params, pool2d, pool2d_backward

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 7


def workloads():
    rng = np.random.default_rng(0)
    out = {}
    for N, C, H, F, K in [(64, 1, 28, 8, 5), (32, 3, 32, 16, 3), (32, 16, 16, 32, 3)]:
        x = rng.normal(size=(N, C, H, H)); w = rng.normal(size=(F, C, K, K))
        dy = rng.normal(size=conv2d(x, w).shape)
        out[f"conv f+b {(N, C, H, F, K)}"] = (lambda x=x, w=w, dy=dy:
                                               (conv2d(x, w), conv2d_backward(dy, x, w)))
    x = rng.normal(size=(64, 32, 64, 64)); dy = rng.normal(size=(64, 32, 32, 32))
    out["maxpool f+b (64,32,64,64)"] = lambda: (pool2d(x, 2), pool2d_backward(dy, x, 2))
    p = lstm_params(8, 128, 1, seed=0)
    X = rng.normal(size=(100, 32, 8)); Y = rng.normal(size=(100, 32, 1))
    out["lstm bptt (8,128,100,32)"] = lambda: lstm_bptt(p, X, Y)
    return out


def setting(n, load_test):
    def apply():
        nnbook.set_num_threads(n)
        threads.LOAD_TEST = load_test
    return apply


def main():
    cores = threads._usable_cores()
    contenders = {"1 thread": setting(1, True)}
    if cores > 1:
        contenders.update({f"{cores} threads": setting(cores, False),
                           f"{cores} threads + load test": setting(cores, True)})
    print(f"usable cores {cores} (os.cpu_count {os.cpu_count()}); load average before",
          os.getloadavg())
    for name, f in workloads().items():
        f()
        t0 = time.perf_counter(); f(); one = time.perf_counter() - t0
        number = max(1, int(0.25 / max(one, 1e-6)))
        times = {c: [] for c in contenders}
        cpu = {c: 0.0 for c in contenders}
        for _ in range(ROUNDS):
            for c, apply in contenders.items():
                apply()
                time.sleep(0.1)
                t0, c0 = time.perf_counter(), time.process_time()
                for _ in range(number):
                    f()
                times[c].append((time.perf_counter() - t0) / number)
                cpu[c] += (time.process_time() - c0) / number / ROUNDS
        base = np.median(times["1 thread"])
        row = ", ".join(f"{c}: {1e3 * np.median(t):.2f} (best {1e3 * min(t):.2f}, cpu "
                        f"{1e3 * cpu[c]:.2f}) ms, x{base / np.median(t):.2f}"
                        for c, t in times.items())
        print(f"{name}: {row}", flush=True)
    nnbook.set_num_threads(cores)
    print("load average after", os.getloadavg(), flush=True)
    if cores > 1 and shutil.which("taskset") and not os.environ.get("NNBOOK_BENCH_ONE_CORE"):
        print("the same on one core (taskset -c 0):", flush=True)
        subprocess.run(["taskset", "-c", "0", sys.executable, __file__, str(ROUNDS)],
                       env={**os.environ, "NNBOOK_BENCH_ONE_CORE": "1"}, check=True)


if __name__ == "__main__":
    main()
