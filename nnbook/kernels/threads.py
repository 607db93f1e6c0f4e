"""Shared plumbing of nnbook's Numba kernels: one-thread BLAS inside kernels, and a batch split.

A kernel that calls ``np.dot`` inside ``@njit`` code goes through SciPy's OpenBLAS (Numba binds
``scipy.linalg.cython_blas``), which by default starts one thread per core for any product of more
than 64^3 = 262144 multiply-adds. On a 2-core machine shared with other processes these threads
spin and wait for each other (measured here: 25-55 ms instead of 1-2 ms for the same product), and
they fight with any other threads. The kernels therefore run their many small, cache-sized
products on one thread, through :func:`single_threaded_blas`; the user's own NumPy products (NumPy's
separate OpenBLAS) keep their threads. :func:`split_batch` uses the second core only when it is
free (:func:`spare_core`), with threads that never spin. See "The kernel pattern in practice"
in ``DESIGN.md``.
"""
from __future__ import annotations

import contextlib
import os
import threading
import warnings

# OpenBLAS computes a product on one thread anyway when m*n*k is at most this (64^3)
OPENBLAS_SINGLE_THREAD_MNK = 262144

_lock = threading.Lock()
_scipy_blas = None  # threadpoolctl controllers of SciPy's BLAS, found on first use


def _controllers():
    global _scipy_blas
    if _scipy_blas is None:
        import scipy.linalg.cython_blas  # noqa: F401  (what Numba's np.dot calls; load it first)
        from threadpoolctl import ThreadpoolController
        with warnings.catch_warnings():  # e.g. about two OpenMP runtimes loaded; not ours to fix
            warnings.simplefilter("ignore")
            libs = ThreadpoolController().select(user_api="blas").lib_controllers
        _scipy_blas = [c for c in libs if "scipy.libs" in c.filepath or "scipy/" in c.filepath
                       ] or list(libs)
    return _scipy_blas


@contextlib.contextmanager
def single_threaded_blas(mnk: float = float("inf")):
    """Run the body with SciPy's BLAS on one thread (skipped for products too small to thread).

    Parameters
    ----------
    mnk : float
        Size ``m * n * k`` of the largest product the body computes; below
        ``OPENBLAS_SINGLE_THREAD_MNK`` OpenBLAS stays on one thread by itself and nothing is changed.
    """
    if mnk <= OPENBLAS_SINGLE_THREAD_MNK:
        yield
        return
    with _lock:
        libs = _controllers()
        old = [c.get_num_threads() for c in libs]
        for c in libs:
            c.set_num_threads(1)
        try:
            yield
        finally:
            for c, n in zip(libs, old):
                c.set_num_threads(n)


# Kernels split a batch over at most THREADS threads, and only while the machine has a core to
# spare: on the shared 2-core machine, under load, a split measured 1.3-1.7x the single-thread
# wall time (each half waits for a contended core) for only 5-10% more CPU time (DESIGN.md).
THREADS = 2
SPLIT_WORK = 2_000_000  # ... and only when it costs at least this many multiply-adds
_pool = None
_CORES = os.cpu_count() or 1
_loadavg_fd = None  # /proc/loadavg, opened on first use and kept (a pread costs ~2 us)


def _forget_pool():  # a forked child has none of its parent's threads: start a new pool there
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def running_now() -> int | None:
    """Threads running or ready to run on the whole machine at this instant, the calling thread
    included (the ``running`` of ``running/total`` in ``/proc/loadavg``, the kernel's
    ``nr_running``, the same number as ``procs_running`` in ``/proc/stat``); None where there is
    no ``/proc/loadavg``."""
    global _loadavg_fd
    try:
        if _loadavg_fd is None:
            _loadavg_fd = os.open("/proc/loadavg", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        return int(os.pread(_loadavg_fd, 128, 0).split()[3].split(b"/")[0])
    except (OSError, AttributeError, IndexError, ValueError):
        return None


def own_running() -> int:
    """Threads of this process, other than the calling one, running or ready to run now (their
    state ``R`` in ``/proc/self/task/*/stat``; 0 where that is not available)."""
    me = threading.get_native_id()
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return 0
    n = 0
    for tid in tids:
        if tid == str(me):
            continue
        try:
            with open(f"/proc/self/task/{tid}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # the thread has ended meanwhile
            continue
        end = stat.rfind(b")")  # the name in brackets may hold spaces and brackets
        n += stat[end + 2:end + 3] == b"R"
    return n


def spare_core() -> bool:
    """Whether a second kernel thread would find a core of its own now.

    Linux: at most ``cpu_count - 1`` threads of *other* processes runnable at this instant, the
    calling thread taking one core: :func:`running_now` less the caller less :func:`own_running`
    (counted, at ~30-60 us, only when the first number alone says no). The threads of this process
    are not counted because the one found running there was a thread pool still spinning after its
    own work: in ``bench/bench_rnn.py``, right after PyTorch's call, its OpenMP worker was runnable
    at 5 of 6 RNN calls, which then ran their halves one after the other (125 ms instead of
    about 100). Such a pool goes to sleep within a few milliseconds.

    The 1-minute load average used before counted the caller's own past minute: a benchmark or a
    training loop that had run for a while saw a load of at least 1 on the 2-core machine, above
    the 0.5 it allowed, and stopped splitting (DESIGN.md). It remains the test where there is no
    ``/proc/loadavg``: at most the number of cores minus 1.5.
    """
    now = running_now()
    if now is not None:
        return now <= _CORES - 1 or now - own_running() <= _CORES - 1
    try:
        return os.getloadavg()[0] <= _CORES - 1.5
    except (OSError, AttributeError):  # no load average on this platform
        return False


def split_batch(kernel, args: tuple, N: int, step: int = 1, work: float = float("inf")) -> list:
    """Run ``kernel(*args, lo, hi)`` over the batch ``[0, N)``, in two threads when it pays.

    The kernel must be ``@njit(nogil=True)`` and write only its own items ``lo..hi-1`` of any
    shared output. Work of at least ``SPLIT_WORK`` with ``THREADS >= 2`` is cut in two halves (at a
    multiple of ``step``); the halves run at the same time, the calling thread computing the first
    and one pooled Python thread the second, when :func:`spare_core` says a core is free, and one
    after the other otherwise. Either way the parts, and so every sum over them, are the same: the
    results are bit-for-bit identical whatever the machine's load. Idle threads block on a lock;
    nothing spins against OpenBLAS's or Numba's own threads (see ``DESIGN.md``).

    Returns
    -------
    list
        The kernel's return values, one per part, in batch order.
    """
    global _pool
    if THREADS < 2 or N < 2 * step or work < SPLIT_WORK:
        return [kernel(*args, 0, N)]
    mid = -(-(N // step) // 2) * step
    if not spare_core():
        return [kernel(*args, 0, mid), kernel(*args, mid, N)]
    if _pool is None:
        from concurrent.futures import ThreadPoolExecutor
        _pool = ThreadPoolExecutor(max_workers=THREADS - 1, thread_name_prefix="nnbook-kernel")
    second = _pool.submit(kernel, *args, mid, N)
    return [kernel(*args, 0, mid), second.result()]
