"""Shared plumbing of nnbook's Numba kernels: one-thread BLAS inside kernels, and the batch parts.

A kernel that calls ``np.dot`` inside ``@njit`` code goes through SciPy's OpenBLAS (Numba binds
``scipy.linalg.cython_blas``), which by default starts one thread per core for any product of more
than 64^3 = 262144 multiply-adds. On a 2-core machine shared with other processes these threads
spin and wait for each other (measured here: 25-55 ms instead of 1-2 ms for the same product), and
they fight with any other threads. The kernels therefore run their many small, cache-sized
products on one thread each, through :func:`single_threaded_blas`; the user's own NumPy products
(NumPy's separate OpenBLAS) keep their threads.

Parallelism is nnbook's own and deterministic (:func:`run_parts`): a batch is cut into parts whose
number and boundaries depend on the problem only (:func:`partition`), the parts run on up to
:func:`get_num_threads` threads, each thread taking the next part not yet taken, and the callers
combine the parts' partial sums in part order. Results are therefore bit-for-bit the same for any
thread count and any load. See "Threads" in ``DESIGN.md``.
"""
from __future__ import annotations

import contextlib
import os
import threading
import time
import warnings

from ..checks import check_name, check_positive

# OpenBLAS computes a product on one thread anyway when m*n*k is at most this (64^3)
OPENBLAS_SINGLE_THREAD_MNK = 262144

_blas_lock = threading.Lock()  # guards the five below; held only while they change, never across a kernel
_blas_idle = threading.Condition(_blas_lock)  # notified when _blas_users drops to 0 or a fork ends
_blas_users = 0                # kernels running now (any thread) that need SciPy's BLAS on one thread
_blas_saved = None             # SciPy's BLAS thread counts before the first of them started
_fork_waiting = False          # a thread is about to fork: no kernel may start using BLAS
_blas = None  # threadpoolctl controllers of the BLAS libraries: all, SciPy's, NumPy's; found once


def _blas_controllers(which: str = "all") -> list:
    """Controllers of every loaded BLAS library (``"all"``), of SciPy's (``"scipy"``: what
    ``np.dot`` inside Numba calls) or of NumPy's (``"numpy"``: ``@`` outside Numba); a subset that
    matches no library file falls back to all of them. Found once, on first use."""
    global _blas
    if _blas is None:
        import scipy.linalg.cython_blas  # noqa: F401  (what Numba's np.dot calls; load it first)
        from threadpoolctl import ThreadpoolController
        with warnings.catch_warnings():  # e.g. about two OpenMP runtimes loaded; not ours to fix
            warnings.simplefilter("ignore")
            libs = list(ThreadpoolController().select(user_api="blas").lib_controllers)
        _blas = {"all": libs,
                 "scipy": [c for c in libs if "scipy.libs" in c.filepath
                           or "scipy/" in c.filepath] or libs,
                 "numpy": [c for c in libs if "numpy" in c.filepath] or libs}
    return _blas[which]


def _controllers() -> list:
    """SciPy's BLAS, which the kernels set to one thread (:func:`single_threaded_blas`)."""
    return _blas_controllers("scipy")


@contextlib.contextmanager
def single_threaded_blas(mnk: float = float("inf")):
    """Run the body with SciPy's BLAS on one thread (skipped for products too small to thread).

    Kernels running at the same time in several threads share one setting: the first to enter
    sets SciPy's BLAS to one thread, the last to leave restores the count it found. The lock
    is held only while that count changes, never while a kernel runs, so no thread waits for
    another's kernel, and a process forked at any moment finds it free (the at-fork hook
    renews it; issue 17's fork hang).

    A fork waits for these bodies: :func:`_before_fork` lets the kernels inside finish, keeps new
    ones out until the fork is done, and only then lets ``os.fork`` run. Forking while another
    thread computes a product in SciPy's OpenBLAS (0.3.30) can hang the *parent* for ever inside
    OpenBLAS's own pre-fork handler (it joins BLAS worker threads; measured: 3 hangs in 3 runs
    of ten forks beside a thread calling ``conv2d`` in a loop).

    Parameters
    ----------
    mnk : float
        Size ``m * n * k`` of the largest product the body computes; below
        ``OPENBLAS_SINGLE_THREAD_MNK`` OpenBLAS stays on one thread by itself and nothing is changed.
    """
    global _blas_users, _blas_saved
    if mnk <= OPENBLAS_SINGLE_THREAD_MNK:
        yield
        return
    with _blas_lock:
        while _fork_waiting:
            _blas_idle.wait()
        libs = _controllers()
        if _blas_users == 0:
            if _blas_saved is None:  # (not None: a forked child's pending restore, see _after_fork)
                _blas_saved = [c.get_num_threads() for c in libs]
            for c in libs:
                c.set_num_threads(1)
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                for c, n in zip(libs, _blas_saved):
                    c.set_num_threads(n)
                _blas_saved = None
                _blas_idle.notify_all()


@contextlib.contextmanager
def blas_threads(n: int = 1, library: str = "numpy"):
    """Run the body with a BLAS library on at most ``n`` threads; restore the counts afterwards.

    The one switch for code *outside* the kernels (which use :func:`single_threaded_blas`):
    NumPy-level models whose products are small (chapter 13's Transformer) and timings that
    compare like with like (``nnbook.teach.costs.best_time``). On two shared cores a second BLAS
    thread mostly waits for a busy core: a Transformer training step at (B, T, D) = (32, 64, 64)
    took 1.42 s with two threads against 0.27 s with one (load average 3.3, measured once), and
    chapter 12's attention forward pass at T = 256 0.45 s instead of about 0.01 s.

    Parameters
    ----------
    n : int
        Largest number of BLAS threads while the body runs (at least 1).
    library : {"numpy", "all"}
        ``"numpy"``: NumPy's own OpenBLAS (what ``@`` and ``np.dot`` call outside Numba);
        ``"all"``: every BLAS library loaded (NumPy's and SciPy's).

    Raises
    ------
    ValueError
        If ``n`` is not an integer of at least 1 or ``library`` is not one of the two.
    """
    check_positive(n, "n", integer=True)
    library = check_name(library, ("numpy", "all"), "library")
    with _blas_lock:
        libs = _blas_controllers(library)
        old = [c.get_num_threads() for c in libs]
        for c, k in zip(libs, old):
            c.set_num_threads(min(k, int(n)))
    try:
        yield
    finally:
        with _blas_lock:
            for c, k in zip(libs, old):
                c.set_num_threads(k)


# ---------------------------------------------------------------------------------------------
# Parts and threads

PART_WORK = 2_000_000  # multiply-adds (or comparable operations) per part, at least
MAX_PARTS = 64         # parts per call, at most


def _usable_cores() -> int:
    try:
        n = len(os.sched_getaffinity(0))  # what taskset allows this process
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(n, os.cpu_count() or n))


_threads = _usable_cores()
_CORES = os.cpu_count() or 1
_loadavg_fd = None  # /proc/loadavg, opened on first use and kept (a pread costs ~2 us)
LOAD_TEST = False   # True: helpers only on idle cores (idle_cores); measured no better (DESIGN.md)
_pool = None       # (number of helper threads, ThreadPoolExecutor), made on first use
_pool_lock = threading.Lock()


def set_num_threads(n: int) -> None:
    """Run nnbook's kernels on up to ``n`` threads (1 turns threading off).

    The default is the number of cores this process may use (``os.sched_getaffinity``, at most
    ``os.cpu_count()``). Results do not depend on ``n``: a batch is cut into the same parts
    whatever it is, and the parts' partial sums are added in the same order (``DESIGN.md``).
    More threads than cores are allowed (the tests use 8 on two cores) but gain nothing.

    Raises
    ------
    TypeError, ValueError
        If ``n`` is not an integer of at least 1.
    """
    global _threads
    import numbers
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"set_num_threads: n must be an integer, got {n!r}")
    if n < 1:
        raise ValueError(f"set_num_threads: n must be at least 1, got {n}")
    _threads = int(n)


def get_num_threads() -> int:
    """The number of threads nnbook's kernels may use (:func:`set_num_threads`)."""
    return _threads


def _after_fork():
    """In a forked child: none of the parent's threads exist there. Forget the thread pool and
    renew the locks, which a parent thread may have held at the fork (issue 17: the child then
    hung on its next large kernel). If a kernel was running in the parent, SciPy's BLAS is on one
    thread in the child: the count to restore stays saved and is put back when the child's
    first kernel using BLAS ends."""
    global _pool, _pool_lock, _blas_lock, _blas_idle, _blas_users, _fork_waiting
    _pool = None
    _pool_lock = threading.Lock()
    _blas_lock = threading.Lock()
    _blas_idle = threading.Condition(_blas_lock)
    _blas_users = 0
    _fork_waiting = False


def _before_fork():
    """Before ``os.fork`` (any thread, any library calling it): wait until no kernel of this
    process is inside :func:`single_threaded_blas`, and hold the lock across the fork so that
    none enters; :func:`_after_fork_in_parent` lets them go on. OpenBLAS's pre-fork handler can
    then never meet a product in flight (see :func:`single_threaded_blas`)."""
    global _fork_waiting
    _blas_lock.acquire()
    _fork_waiting = True
    deadline = time.monotonic() + FORK_WAIT
    while _blas_users and time.monotonic() < deadline:
        _blas_idle.wait(deadline - time.monotonic())


def _after_fork_in_parent():
    global _fork_waiting
    _fork_waiting = False
    _blas_idle.notify_all()
    _blas_lock.release()


#: Seconds a fork waits for the kernels inside BLAS before it goes ahead anyway (a safety net:
#: a kernel that never ends, or one blocked by another library's fork hook, must not block the
#: fork for ever).
FORK_WAIT = 30.0

if hasattr(os, "register_at_fork"):
    # Before-fork hooks run in the reverse order of registration. The kernels' thread pool
    # (concurrent.futures) takes its shutdown lock in its own before-fork hook, and a kernel
    # that is submitting its parts needs that lock to finish: so that hook must run *after*
    # ours, i.e. be registered first. Importing the module here registers it now, if it was
    # not already (then it was registered earlier still).
    import concurrent.futures.thread  # noqa: F401
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork)


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


def idle_cores() -> int:
    """Cores idle now besides the calling thread's: how many helper threads would find a core
    of their own.

    Linux: the cores less the threads runnable at this instant (:func:`running_now`, the caller
    included), not counting this process's own other runnable threads (:func:`own_running`, ~30-60
    us, counted only when the first number alone leaves no core idle): the one found running
    there was a thread pool still spinning after its own work (PyTorch's OpenMP worker in
    ``bench/bench_rnn.py``), which goes to sleep within milliseconds. Where there is no
    ``/proc/loadavg``: the cores less the 1-minute load average less 1.5, rounded down.
    """
    now = running_now()
    if now is not None:
        idle = _CORES - now
        if idle < _threads - 1:
            idle = _CORES - (now - own_running())
        return max(0, idle)
    try:
        return max(0, int(_CORES - 0.5 - os.getloadavg()[0]))
    except (OSError, AttributeError):  # no load average on this platform
        return 0


def partition(N: int, step: int = 1, work: float = float("inf"), minimum: int = 1) -> list[tuple[int, int]]:
    """Cut the batch ``[0, N)`` into parts ``[(lo, hi), ...]``: a function of the problem only.

    ``work`` is the call's whole cost (in multiply-adds); a part gets at least ``PART_WORK`` of
    it, at least ``minimum`` items, and boundaries at multiples of ``step`` (a kernel's chunk);
    there are at most ``MAX_PARTS`` parts, as equal as the steps allow. Neither the machine, nor
    its load, nor the thread count enters, so the parts, and every sum over them, are the same
    everywhere.
    """
    units = -(-N // step)  # chunks, the last one possibly shorter
    P = min(MAX_PARTS, units, N // max(1, minimum), int(work // PART_WORK) if work < float("inf") else units)
    P = max(1, P)
    cuts = [min(N, (k * units // P) * step) for k in range(P + 1)]
    return [(cuts[k], cuts[k + 1]) for k in range(P)]


def _helpers(n: int):
    """The pool of ``n`` helper threads (blocked on a queue when idle: nothing spins)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != n:
            from concurrent.futures import ThreadPoolExecutor
            if _pool is not None:
                _pool[1].shutdown(wait=False)
            _pool = (n, ThreadPoolExecutor(max_workers=n, thread_name_prefix="nnbook-kernel"))
        return _pool[1]


def run_parts(kernel, args: tuple, parts: list[tuple[int, int]]) -> list:
    """Run ``kernel(*args, lo, hi)`` for every part; return the results in part order.

    The kernel must be ``@njit(nogil=True)`` and write only its own items ``lo..hi-1`` of any
    shared output. With one part or one thread the calling thread runs the parts in order.
    Otherwise up to ``get_num_threads() - 1`` pooled helper threads join the caller, as many as
    there are idle cores (:func:`idle_cores`, when ``LOAD_TEST``), and each
    thread, caller included, takes the next part nobody has taken yet, until none is left: a
    thread that gets no core (a busy machine) simply takes fewer parts, and the caller never
    waits for more than the parts already taken. Which thread ran a part changes nothing in it.
    """
    n = min(_threads, len(parts))
    if n >= 2 and LOAD_TEST:
        n = min(n, 1 + idle_cores())
    if n < 2:
        return [kernel(*args, lo, hi) for lo, hi in parts]
    results = [None] * len(parts)
    errors = []
    state = {"next": 0, "left": len(parts)}
    lock = threading.Lock()
    done = threading.Event()

    def work():
        while True:
            with lock:
                i = state["next"]
                if i >= len(parts):
                    return
                state["next"] = i + 1
            try:
                results[i] = kernel(*args, *parts[i])
            except BaseException as e:  # re-raised in the caller
                errors.append(e)
            with lock:
                state["left"] -= 1
                if state["left"] == 0:
                    done.set()

    pool = _helpers(_threads - 1)
    for _ in range(n - 1):
        pool.submit(work)
    work()
    done.wait()
    if errors:
        raise errors[0]
    return results


def split_batch(kernel, args: tuple, N: int, step: int = 1, work: float = float("inf"),
                minimum: int = 1) -> list:
    """``run_parts(kernel, args, partition(N, step, work, minimum))``: the batch ``[0, N)`` in
    parts fixed by the problem, on up to :func:`get_num_threads` threads."""
    return run_parts(kernel, args, partition(N, step, work, minimum))
