"""Deterministic threading of the kernels (``nnbook.kernels.threads``).

A batch is cut into parts fixed by the problem (``partition``); the parts run on any number of
threads and their partial sums are added in part order, so every kernel gives the same bits for
1, 2, 3, 4 and 8 threads, and whether helper threads find idle cores (``LOAD_TEST``) changes
nothing either. A process forked while another thread is inside a kernel runs kernels (issue 17).
"""
import multiprocessing
import os
import pathlib
import subprocess
import sys
import threading

import numpy as np
import pytest

import nnbook
from nnbook.kernels import threads
from nnbook.kernels.conv import conv2d, conv2d_backward
from nnbook.kernels.gated import (gru_bptt, gru_forward, gru_params, lstm_bptt, lstm_forward,
                                  lstm_params)
from nnbook.kernels.pool import pool2d, pool2d_backward
from nnbook.kernels.rnn import rnn_bptt, rnn_forward, rnn_params

ROOT = pathlib.Path(__file__).resolve().parents[2]

THREADS = [1, 2, 3, 4, 8]


@pytest.fixture
def many_parts(monkeypatch):
    """Small problems cut into several parts, helpers used whatever the machine's load."""
    monkeypatch.setattr(threads, "PART_WORK", 1000)
    monkeypatch.setattr(threads, "LOAD_TEST", False)
    yield
    nnbook.set_num_threads(threads._usable_cores())


def for_each_thread_count(compute):
    """compute() for every thread count: a list of lists of arrays."""
    out = []
    for n in THREADS:
        nnbook.set_num_threads(n)
        out.append([np.asarray(a) for a in compute()])
    return out


def assert_all_identical(results):
    for other in results[1:]:
        assert len(other) == len(results[0])
        for a, b in zip(results[0], other):
            assert a.dtype == b.dtype and a.shape == b.shape
            assert np.array_equal(a, b), "results depend on the thread count"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("N", [1, 7, 33])
def test_conv_is_bit_identical_for_any_thread_count(many_parts, dtype, N):
    rng = np.random.default_rng(N)
    x = rng.normal(size=(N, 3, 9, 8)).astype(dtype)
    w = rng.normal(size=(4, 3, 3, 3)).astype(dtype)
    b = rng.normal(size=4).astype(dtype)
    dy = rng.normal(size=(N, 4, 9, 4)).astype(dtype)

    dy1 = rng.normal(size=(N, 4, 9, 8)).astype(dtype)  # stride 1 (its own kernels), padded
    dy0 = rng.normal(size=(N, 4, 7, 6)).astype(dtype)  # stride 1, no padding (reads x itself)

    def compute():
        return [conv2d(x, w, b, (1, 2), 1), *conv2d_backward(dy, x, w, (1, 2), 1),
                conv2d(x, w, b, 1, 1), *conv2d_backward(dy1, x, w, 1, 1),
                conv2d(x, w, b), *conv2d_backward(dy0, x, w)]
    assert_all_identical(for_each_thread_count(compute))
    assert len(threads.partition(N, 1, 3.0 * 4 * 27 * 36 * N)) == min(N, 64)  # really in parts


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k,stride,mode", [(2, 2, "max"), (2, 2, "min"), (2, 2, "avg"),
                                           (3, 2, "max"), (2, 1, "avg"), (3, 3, "min")])
def test_pool_is_bit_identical_for_any_thread_count(many_parts, dtype, k, stride, mode):
    rng = np.random.default_rng(k * stride)
    x = rng.normal(size=(13, 3, 10, 9)).astype(dtype)
    dy = rng.normal(size=pool2d(x, k, stride, mode).shape).astype(dtype)

    def compute():
        return [pool2d(x, k, stride, mode), pool2d_backward(dy, x, k, stride, mode)]
    assert_all_identical(for_each_thread_count(compute))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(13, 3, 10, 8), (9, 2, 7, 17), (700, 1, 2, 2)])
@pytest.mark.parametrize("mode", ["max", "min"])
def test_2x2_stride_2_pool_is_bit_identical_for_any_thread_count(many_parts, dtype, shape, mode):
    """The vectorized stride-2 kernels (tiled, with a rim, one window per map), and their sums
    for the finiteness checks, in parts on 1..8 threads."""
    rng = np.random.default_rng(sum(shape))
    x = np.round(rng.normal(size=shape), 1).astype(dtype)  # some ties
    dy = rng.normal(size=pool2d(x, 2).shape).astype(dtype)

    def compute():
        return [pool2d(x, 2, 2, mode), pool2d_backward(dy, x, 2, 2, mode)]
    assert_all_identical(for_each_thread_count(compute))
    assert len(threads.partition(shape[0], 1, float(x.size))) > 1  # really in parts


CELLS = {"rnn": (rnn_params, rnn_forward, rnn_bptt), "lstm": (lstm_params, lstm_forward, lstm_bptt),
         "gru": (gru_params, gru_forward, gru_bptt)}


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("B,Dh", [(3, 16), (40, 16), (40, 70)])  # parts of 1, of >= 8 sequences
@pytest.mark.parametrize("output,loss", [("identity", "sse"), ("softmax", "ce")])
def test_recurrent_kernels_are_bit_identical_for_any_thread_count(many_parts, cell, B, Dh,
                                                                   output, loss):
    params, forward, bptt = CELLS[cell]
    rng = np.random.default_rng(B)
    p = params(3, Dh, 4, seed=B)
    X = rng.normal(size=(6, B, 3))
    Y = rng.integers(4, size=(6, B)) if loss == "ce" else rng.normal(size=(6, B, 4))
    kw = {"h0": rng.normal(size=(B, Dh))}
    if cell == "lstm":
        kw["c0"] = rng.normal(size=(B, Dh))

    def compute():
        E, grads, state = bptt(p, X, Y, output=output, loss=loss, return_state_grads=True, **kw)
        fw = forward(p, X, output=output, **kw)
        return [E, *(grads[k] for k in sorted(grads)), *(state[k] for k in sorted(state)),
                *(fw[k] for k in sorted(fw))]
    assert_all_identical(for_each_thread_count(compute))


def test_the_load_test_changes_no_bit(monkeypatch):
    monkeypatch.setattr(threads, "PART_WORK", 1000)
    monkeypatch.setattr(threads, "LOAD_TEST", True)  # (off by default: it did not pay)
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(9, 2, 8, 8)), rng.normal(size=(3, 2, 3, 3))
    dy = rng.normal(size=(9, 3, 6, 6))
    out = []
    nnbook.set_num_threads(4)
    try:
        for idle in (0, 1, 3):  # a busy machine, one idle core, several
            monkeypatch.setattr(threads, "idle_cores", lambda: idle)
            out.append([conv2d(x, w), *conv2d_backward(dy, x, w)])
    finally:
        nnbook.set_num_threads(threads._usable_cores())
    assert_all_identical(out)


def test_partition_depends_on_the_problem_only():
    assert threads.partition(10, 1, 1e3) == [(0, 10)]           # too little work: one part
    assert threads.partition(10, 3, 1e9) == [(0, 3), (3, 6), (6, 9), (9, 10)]  # at chunk bounds
    assert threads.partition(1000, 1, 1e12) == threads.partition(1000, 1, 1e13)
    assert len(threads.partition(1000, 1, 1e12)) == threads.MAX_PARTS
    assert threads.partition(40, 1, 1e9, minimum=8) == [(0, 8), (8, 16), (16, 24), (24, 32), (32, 40)]
    assert threads.partition(7, 1, 1e9, minimum=8) == [(0, 7)]
    for N, step, work in [(1, 1, 1e9), (33, 4, 7e7), (64, 1, 2.2e6), (5, 2, float("inf"))]:
        parts = threads.partition(N, step, work)
        assert parts[0][0] == 0 and parts[-1][1] == N
        assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
        assert all(lo < hi and lo % step == 0 for lo, hi in parts)


def test_set_num_threads_checks_its_argument():
    for bad in (0, -1):
        with pytest.raises(ValueError, match="n must be"):
            nnbook.set_num_threads(bad)
    for bad in (2.0, "2", True, None):
        with pytest.raises(TypeError, match="n must be"):
            nnbook.set_num_threads(bad)
    nnbook.set_num_threads(3)
    assert nnbook.get_num_threads() == 3
    nnbook.set_num_threads(threads._usable_cores())
    assert 1 <= nnbook.get_num_threads() <= os.cpu_count()


def test_an_error_in_a_part_reaches_the_caller(many_parts):
    def kernel(lo, hi):
        if lo > 0:
            raise RuntimeError(f"part {lo}")
        return lo
    nnbook.set_num_threads(3)
    with pytest.raises(RuntimeError, match="part"):
        threads.run_parts(kernel, (), [(0, 1), (1, 2), (2, 3)])
    assert threads.run_parts(lambda lo, hi: hi, (), [(0, 1), (1, 2), (2, 3)]) == [1, 2, 3]


def test_two_user_threads_run_kernels_at_once(many_parts):
    # kernels in two threads at the same time: no waiting on each other's lock, same results,
    # and SciPy's BLAS back at its thread count afterwards
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(16, 8, 12, 12)), rng.normal(size=(8, 8, 3, 3))
    before = [c.get_num_threads() for c in threads._controllers()]
    expected = conv2d(x, w, padding=1)
    nnbook.set_num_threads(2)
    results, errors = [], []

    def user():
        try:
            for _ in range(5):
                results.append(conv2d(x, w, padding=1))
        except BaseException as e:  # pragma: no cover
            errors.append(e)
    ts = [threading.Thread(target=user) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not errors and len(results) == 10
    assert all(np.array_equal(r, expected) for r in results)
    assert threads._blas_users == 0
    assert [c.get_num_threads() for c in threads._controllers()] == before


FORK_BESIDE_A_BUSY_THREAD = """
import faulthandler, multiprocessing, sys, threading
import numpy as np
import nnbook
from nnbook.kernels import threads
from nnbook.kernels.conv import conv2d, conv2d_backward

def child(queue, x, w, expected):
    y = conv2d(x, w, padding=1)
    conv2d_backward(np.ones_like(y), x, w, padding=1)
    queue.put((bool(np.array_equal(y, expected)),
               [c.get_num_threads() for c in threads._controllers()]))

if __name__ == "__main__":
    # a hang shows where, then fails (the parent only: a forked child inherits the watchdog's
    # lock, and re-arming it there can block)
    faulthandler.dump_traceback_later(150, exit=True)
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=(8, 16, 32, 32)), rng.normal(size=(32, 16, 3, 3))
    expected = conv2d(x, w, padding=1)
    # the children run compiled kernels: compiling in a child forked from a threaded parent is
    # Numba's own hazard, not what this tests
    conv2d_backward(np.ones_like(expected), x, w, padding=1)
    before = [c.get_num_threads() for c in threads._controllers()]
    nnbook.set_num_threads(2)
    stop = threading.Event()

    def busy():
        while not stop.is_set():
            conv2d(x, w, padding=1)
    busy_thread = threading.Thread(target=busy)
    busy_thread.start()
    ctx = multiprocessing.get_context("fork")
    try:
        for i in range(8):
            queue = ctx.Queue()
            p = ctx.Process(target=child, args=(queue, x, w, expected))
            p.start()
            p.join(60)
            if p.is_alive():
                p.kill()
                raise AssertionError("the forked child hung")
            print("fork", i, "done", flush=True)
            ok, counts = queue.get(timeout=10)
            assert ok is True and p.exitcode == 0 and counts == before, (ok, counts, before)
    finally:
        stop.set()
        busy_thread.join()
    print("forks ok")
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forks_beside_a_thread_running_kernels_neither_hang_nor_break_the_child(tmp_path):
    """Issue 17: a process forked while another thread runs kernels. Two hangs were possible:
    the child's first large kernel (a lock of single_threaded_blas copied locked; the at-fork
    hook renews the locks) and the parent's fork itself, inside OpenBLAS's pre-fork handler,
    when a product was in flight (3 of 3 runs of this script hung before _before_fork made the
    fork wait for the kernels in BLAS). Run in a subprocess, so that a hang fails the test
    instead of stopping the suite; every child must compute the right result and find SciPy's
    BLAS back at the parent's thread count."""
    script = tmp_path / "fork_beside_busy_thread.py"
    script.write_text(FORK_BESIDE_A_BUSY_THREAD)
    try:
        out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                             timeout=240, env={**os.environ, "PYTHONPATH": str(ROOT)})
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"a fork beside a thread running conv2d hung: {exc.stdout!r} {exc.stderr!r}")
    assert out.returncode == 0 and "forks ok" in out.stdout, (out.stdout, out.stderr[-4000:])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_fork_waits_until_no_kernel_uses_blas_and_renews_the_locks():
    """The fork waits for a thread inside single_threaded_blas (a kernel computing products),
    keeps new kernels out while it forks, and the child starts with fresh, free locks (the
    forking thread holds the BLAS lock across the fork, another thread the pool's lock)."""
    ctx = multiprocessing.get_context("fork")
    inside, leaving = threading.Event(), threading.Event()
    holding, done = threading.Event(), threading.Event()

    def hold_pool_lock():
        with threads._pool_lock:
            holding.set()
            done.wait(60)
    threading.Thread(target=hold_pool_lock, daemon=True).start()
    holding.wait(30)

    def kernel_in_blas():
        with threads.single_threaded_blas():
            inside.set()
            threading.Event().wait(0.3)   # a product in flight
            leaving.set()
    t = threading.Thread(target=kernel_in_blas)
    t.start()
    inside.wait(30)
    queue = ctx.Queue()
    p = ctx.Process(target=_child_locks, args=(queue,))
    p.start()                            # returns only after the body above has ended
    assert leaving.is_set()
    p.join(60)
    t.join(60)
    done.set()
    assert queue.get(timeout=10) == (True, True, 0, False) and p.exitcode == 0
    assert threads._blas_users == 0 and not threads._fork_waiting
    with threads.single_threaded_blas():  # the parent's lock was given back
        pass


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_fork_waits_for_blas_at_most_fork_wait_seconds(monkeypatch):
    """A kernel that never leaves BLAS (here: a body that waits) delays a fork by FORK_WAIT
    seconds, not for ever; the child still finds its locks free."""
    monkeypatch.setattr(threads, "FORK_WAIT", 0.2)
    inside, release = threading.Event(), threading.Event()

    def stuck_in_blas():
        with threads.single_threaded_blas():
            inside.set()
            release.wait(60)
    t = threading.Thread(target=stuck_in_blas)
    t.start()
    inside.wait(30)
    try:
        queue = multiprocessing.get_context("fork").Queue()
        p = multiprocessing.get_context("fork").Process(target=_child_locks, args=(queue,))
        p.start()                          # goes ahead after FORK_WAIT although t is inside
        assert not release.is_set()
        p.join(60)
        assert queue.get(timeout=10) == (True, True, 0, False) and p.exitcode == 0
    finally:
        release.set()
        t.join(60)
    assert threads._blas_users == 0 and not threads._fork_waiting


def _child_locks(queue):
    queue.put((threads._blas_lock.acquire(blocking=False), threads._pool_lock.acquire(False),
               threads._blas_users, threads._fork_waiting))


def test_blas_threads_limits_the_library_asked_for_and_restores_it():
    from threadpoolctl import threadpool_info
    import scipy.linalg.cython_blas  # noqa: F401  (SciPy's OpenBLAS loaded, as in the kernels)

    def counts():
        return {lib["filepath"]: lib["num_threads"] for lib in threadpool_info()
                if lib["user_api"] == "blas"}

    before = counts()
    numpy_libs = [p for p in before if "numpy" in p]
    with threads.blas_threads(1):
        inside = counts()
    assert all(inside[p] == 1 for p in numpy_libs)
    assert all(inside[p] == before[p] for p in before if p not in numpy_libs)  # SciPy's untouched
    assert counts() == before
    with threads.blas_threads(1, "all"):
        assert all(n == 1 for n in counts().values())
    assert counts() == before
    with pytest.raises(RuntimeError), threads.blas_threads(1, "all"):
        raise RuntimeError("the body fails")
    assert counts() == before                                  # restored on the way out too
    for bad, match in ((0, "n"), (1.5, "n"), ("2", "n")):
        with pytest.raises((ValueError, TypeError), match=match), threads.blas_threads(bad):
            pass
    with pytest.raises(ValueError, match="library"), threads.blas_threads(1, "mkl"):
        pass
