"""The machine's limits the kernels are measured against (imported by the bench scripts).

* copy bandwidth: bytes read plus bytes written per second by ``np.copyto`` between two 64 MB
  arrays (far larger than the caches: the DRAM figure), best of 5;
* cache-resident copy bandwidth (:func:`copy_bandwidth` with a small ``nbytes``): the same between
  two arrays that stay in the caches (this machine: 1 MB of L2 per core, 32 MB of L3), copied
  over and over, best of 50. A kernel whose inputs and outputs fit in the caches is measured
  against the copy of the same byte count (``bench_conv.py``: pooling), not against DRAM;
* GEMM rate: floating-point operations (2 m n k) per second of SciPy's BLAS (the one the kernels
  call inside Numba) on 1024 x 1024 products, on 1 and on 2 threads (threadpoolctl), best of 5.
On a shared machine the best of several runs is the estimate of what an idle machine gives.
"""
from __future__ import annotations

import os
import time

import numpy as np


def copy_bandwidth(nbytes: int = 64 * 2**20, repeats: int = 5) -> float:
    """Bytes read plus written per second by ``np.copyto`` of ``nbytes`` into another ``nbytes``
    (so ``2 * nbytes`` moved per copy), best of ``repeats`` after one untimed copy."""
    a = np.ones(max(1, nbytes // 8))
    b = np.empty_like(a)
    np.copyto(b, a)  # page faults and first touch, untimed
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - t)
    return 2 * a.nbytes / best


def cached_copy_bandwidth(moved: float) -> float:
    """Copy bandwidth for a kernel that moves ``moved`` bytes (read plus written) through the
    caches: ``np.copyto`` between two arrays of ``moved / 2`` bytes each, best of 50."""
    return copy_bandwidth(int(moved // 2), repeats=50)


def gemm_rate(dtype=np.float64, threads: int = 1, n: int = 1024, repeats: int = 5) -> float:
    import scipy.linalg.blas as blas
    from threadpoolctl import threadpool_limits

    gemm = blas.dgemm if np.dtype(dtype) == np.float64 else blas.sgemm
    rng = np.random.default_rng(0)
    a = np.asfortranarray(rng.normal(size=(n, n)).astype(dtype))
    b = np.asfortranarray(rng.normal(size=(n, n)).astype(dtype))
    best = float("inf")
    # every loaded BLAS (SciPy's, whose gemm this is, among them) on `threads` threads
    with threadpool_limits(threads, user_api="blas"):
        gemm(1.0, a, b)
        for _ in range(repeats):
            t = time.perf_counter()
            gemm(1.0, a, b)
            best = min(best, time.perf_counter() - t)
    return 2.0 * n**3 / best


def report() -> dict:
    """Measure and print the limits; returns them by name."""
    lim = {"copy": copy_bandwidth()}
    for mb in (1, 4, 16):
        lim[f"copy {mb} MB"] = cached_copy_bandwidth(2 * mb * 2**20)
    for dt in (np.float64, np.float32):
        for th in (1, 2):
            lim[f"gemm {np.dtype(dt).name} {th}"] = gemm_rate(dt, th)
    print(f"load average {os.getloadavg()}; copy bandwidth {lim['copy'] / 1e9:.1f} GB/s (64 MB), "
          + ", ".join(f"{lim[f'copy {mb} MB'] / 1e9:.0f} ({mb} MB)" for mb in (1, 4, 16))
          + " (cache-resident: arrays of that size)"
          + "; GEMM "
          + ", ".join(f"{k[5:]} thread(s) {v / 1e9:.0f} GFLOP/s" for k, v in lim.items()
                      if k.startswith("gemm")))
    return lim


if __name__ == "__main__":
    report()
