"""The batch parts of the BPTT kernels (``nnbook.kernels.threads.split_batch`` in the three ``*_bptt``).

Each part of the batch runs forward and backward on its own, and the parts' errors and
parameter gradients are added in part order. Whether the parts run on several threads at once
or one after the other must change no bit; cutting the batch into parts or not only the
rounding. Sizes are chosen so that parts of 8 or more sequences take the BLAS path.
"""
import numpy as np
import pytest

import nnbook.kernels.threads
import rnn_reference as ref
from rnn_reference import targets
from nnbook.kernels.gated import gru_bptt, gru_params, lstm_bptt, lstm_params
from nnbook.kernels.rnn import rnn_bptt, rnn_params

CELLS = {"rnn": (rnn_params, rnn_bptt, ref.rnn_bptt),
         "lstm": (lstm_params, lstm_bptt, ref.lstm_bptt),
         "gru": (gru_params, gru_bptt, ref.gru_bptt)}
PAIRS = [("identity", "sse"), ("softmax", "ce"), ("sigmoid", "bce")]


def problem(cell, B, output, loss, loss_at, rng, Dx=3, Dh=16, Dy=3, T=7):
    p = CELLS[cell][0](Dx, Dh, Dy, seed=int(rng.integers(1000)))
    for k in p:
        if k.startswith("b"):
            p[k] = 0.3 * rng.normal(size=p[k].shape)
    X = rng.normal(size=(T, B, Dx))
    Y = targets(loss, T, B, Dy, rng, last=loss_at == "last")
    kw = dict(output=output, loss=loss, loss_at=loss_at, return_state_grads=True,
              h0=rng.normal(size=(B, Dh)))
    if cell == "lstm":
        kw["c0"] = rng.normal(size=(B, Dh))
    return p, X, Y, kw


def flat(result):
    """(E, grads, state grads) as a list of arrays in a fixed order."""
    E, grads, state = result
    return [np.asarray(E)] + [grads[k] for k in sorted(grads)] + [state[k] for k in sorted(state)]


def run(monkeypatch, cell, args, kw, threads, parts=True):
    """The kernel with the batch in parts (each worth PART_WORK = 1: sequences one by one) or in
    one part, on ``threads`` threads, helpers used whatever the machine's load."""
    monkeypatch.setattr(nnbook.kernels.threads, "PART_WORK", 1 if parts else 1e30)
    monkeypatch.setattr(nnbook.kernels.threads, "LOAD_TEST", False)
    nnbook.kernels.threads.set_num_threads(threads)
    try:
        return flat(CELLS[cell][1](*args, **kw))
    finally:
        nnbook.kernels.threads.set_num_threads(nnbook.kernels.threads._usable_cores())


def close(a, b, rel=1e-12):
    return np.abs(a - b).max() <= rel * max(1.0, np.abs(b).max())


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("B", [2, 3, 33])
@pytest.mark.parametrize("output,loss", PAIRS)
@pytest.mark.parametrize("loss_at", ["all", "last"])
def test_split_is_bitwise_the_same_on_any_thread_count(monkeypatch, cell, B, output, loss, loss_at, rng):
    p, X, Y, kw = problem(cell, B, output, loss, loss_at, rng)
    together = run(monkeypatch, cell, (p, X, Y), kw, 2)
    in_turn = run(monkeypatch, cell, (p, X, Y), kw, 1)
    whole = run(monkeypatch, cell, (p, X, Y), kw, 2, parts=False)
    for a, b, c in zip(together, in_turn, whole):
        assert a.shape == c.shape
        assert np.array_equal(a, b)
        assert close(a, c)  # split or not: the same up to rounding


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("B", [3, 33])
def test_split_matches_the_reference(monkeypatch, cell, B, rng):
    p, X, Y, kw = problem(cell, B, "softmax", "ce", "all", rng)
    for k in ("return_state_grads", "h0", "c0"):  # (the reference takes no batch of c0)
        kw.pop(k, None)
    monkeypatch.setattr(nnbook.kernels.threads, "PART_WORK", 1)
    monkeypatch.setattr(nnbook.kernels.threads, "LOAD_TEST", False)
    E, g = CELLS[cell][1](p, X, Y, **kw)
    E_ref, g_ref = CELLS[cell][2](p, X, Y, **kw)
    assert close(E, E_ref, 1e-10)
    for k in g_ref:
        assert close(g[k], g_ref[k], 1e-10), k


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_state_grads_of_a_split_batch_are_per_sequence(monkeypatch, cell, rng):
    # the halves' state gradients are joined in batch order: each sequence's own, as if alone
    p, X, Y, kw = problem(cell, 5, "identity", "sse", "all", rng)
    monkeypatch.setattr(nnbook.kernels.threads, "PART_WORK", 1)
    monkeypatch.setattr(nnbook.kernels.threads, "LOAD_TEST", False)
    _, _, state = CELLS[cell][1](p, X, Y, **kw)
    for b in (0, 2, 3, 4):
        one = {k: v[b] for k, v in kw.items() if k in ("h0", "c0")}
        _, _, s1 = CELLS[cell][1](p, X[:, b], Y[:, b], output="identity", loss="sse",
                                  return_state_grads=True, **one)
        for k in s1:
            assert close(state[k][b] if k.endswith("0") else state[k][:, b], s1[k]), (k, b)


def test_small_problems_are_not_split(monkeypatch, rng):
    # below PART_WORK multiply-adds a call is one part, run by the calling thread
    p, X, Y, kw = problem("rnn", 4, "identity", "sse", "all", rng, Dh=4)
    real = nnbook.kernels.threads.run_parts

    def one_part(kernel, args, parts):
        assert len(parts) == 1, "split a tiny batch"
        return real(kernel, args, parts)
    monkeypatch.setattr(nnbook.kernels.threads, "run_parts", one_part)
    rnn_bptt(p, X, Y)


def test_parts_of_a_batch_hold_one_or_at_least_8_sequences(monkeypatch):
    # a sequence that is a part's work alone is a part (the loop path); smaller ones come in
    # groups of at least PART_SEQUENCES (parts of 2-7 took BLAS calls too small to pay)
    seen = []
    real = nnbook.kernels.threads.run_parts

    def record(kernel, args, parts):
        seen.append([hi - lo for lo, hi in parts])
        return real(kernel, args, parts)
    monkeypatch.setattr(nnbook.kernels.threads, "run_parts", record)
    for Dh, T in ((16, 7), (64, 200)):
        p = rnn_params(3, Dh, 2, seed=0)
        X = np.zeros((T, 40, 3))
        rnn_bptt(p, X, np.zeros((T, 40, 2)))
    small, large = seen
    assert min(small) >= 8 or small == [40]
    assert large == [1] * 40


def test_idle_cores_counts_running_threads(monkeypatch):
    threads = nnbook.kernels.threads
    cores = threads._CORES
    now = threads.running_now()
    if now is not None:  # Linux: this thread is running while it asks
        assert now >= 1
        assert 0 <= threads.own_running() < now
    monkeypatch.setattr(threads, "_threads", cores)
    # (threads runnable now, the caller included; of them this process's others) -> idle cores
    for running, own, idle in ((1, 0, cores - 1), (cores, 0, 0), (cores, 1, 1),
                               (cores + 3, 1, 0), (cores + 3, 4, 1)):
        monkeypatch.setattr(threads, "running_now", lambda: running)
        monkeypatch.setattr(threads, "own_running", lambda: own)
        assert threads.idle_cores() == idle
    # without /proc/loadavg: the 1-minute load average
    monkeypatch.setattr(threads, "running_now", lambda: None)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (cores - 1.5, 0.0, 0.0))
    assert threads.idle_cores() == 1
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (cores - 0.4, 0.0, 0.0))
    assert threads.idle_cores() == 0
