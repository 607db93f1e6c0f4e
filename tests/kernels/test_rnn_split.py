"""The batch split of the BPTT kernels (``nnbook.kernels.threads.split_batch`` in the three ``*_bptt``).

A split runs each half of the batch forward and backward on its own and adds the halves' errors
and parameter gradients, first half first. Whether the halves run at the same time (a core to
spare) or one after the other must change no bit; splitting or not (THREADS = 1) only the
rounding. Sizes are chosen so that the halves take the BLAS path (B * gate size >= 256).
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


def run(monkeypatch, cell, args, kw, threads, spare):
    calls = []

    def spare_core():
        calls.append(spare)
        return spare
    monkeypatch.setattr(nnbook.kernels.threads, "THREADS", threads)
    monkeypatch.setattr(nnbook.kernels.threads, "SPLIT_WORK", 0)
    monkeypatch.setattr(nnbook.kernels.threads, "spare_core", spare_core)
    out = flat(CELLS[cell][1](*args, **kw))
    assert len(calls) == (threads > 1)  # asked only when the batch is split
    return out


def close(a, b, rel=1e-12):
    return np.abs(a - b).max() <= rel * max(1.0, np.abs(b).max())


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("B", [2, 3, 33])
@pytest.mark.parametrize("output,loss", PAIRS)
@pytest.mark.parametrize("loss_at", ["all", "last"])
def test_split_is_bitwise_the_same_busy_or_idle(monkeypatch, cell, B, output, loss, loss_at, rng):
    p, X, Y, kw = problem(cell, B, output, loss, loss_at, rng)
    together = run(monkeypatch, cell, (p, X, Y), kw, 2, True)
    in_turn = run(monkeypatch, cell, (p, X, Y), kw, 2, False)
    whole = run(monkeypatch, cell, (p, X, Y), kw, 1, True)
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
    monkeypatch.setattr(nnbook.kernels.threads, "SPLIT_WORK", 0)
    monkeypatch.setattr(nnbook.kernels.threads, "spare_core", lambda: True)
    E, g = CELLS[cell][1](p, X, Y, **kw)
    E_ref, g_ref = CELLS[cell][2](p, X, Y, **kw)
    assert close(E, E_ref, 1e-10)
    for k in g_ref:
        assert close(g[k], g_ref[k], 1e-10), k


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_state_grads_of_a_split_batch_are_per_sequence(monkeypatch, cell, rng):
    # the halves' state gradients are joined in batch order: each sequence's own, as if alone
    p, X, Y, kw = problem(cell, 5, "identity", "sse", "all", rng)
    monkeypatch.setattr(nnbook.kernels.threads, "SPLIT_WORK", 0)
    monkeypatch.setattr(nnbook.kernels.threads, "spare_core", lambda: True)
    _, _, state = CELLS[cell][1](p, X, Y, **kw)
    for b in (0, 2, 3, 4):
        one = {k: v[b] for k, v in kw.items() if k in ("h0", "c0")}
        _, _, s1 = CELLS[cell][1](p, X[:, b], Y[:, b], output="identity", loss="sse",
                                  return_state_grads=True, **one)
        for k in s1:
            assert close(state[k][b] if k.endswith("0") else state[k][:, b], s1[k]), (k, b)


def test_small_problems_are_not_split(monkeypatch, rng):
    # below SPLIT_WORK multiply-adds a call is one kernel call: spare_core is never asked
    p, X, Y, kw = problem("rnn", 4, "identity", "sse", "all", rng, Dh=4)
    monkeypatch.setattr(nnbook.kernels.threads, "spare_core", lambda: pytest.fail("split a tiny batch"))
    rnn_bptt(p, X, Y)


def test_spare_core_counts_running_threads(monkeypatch):
    cores = nnbook.kernels.threads._CORES
    now = nnbook.kernels.threads.running_now()
    if now is not None:  # Linux: this thread is running while it asks
        assert now >= 1
        assert 0 <= nnbook.kernels.threads.own_running() < now
    # threads of other processes runnable now: (running, of them this process's others) -> spare
    for running, own, spare in ((cores - 1, 0, True), (cores, 0, False), (cores, 1, True),
                                (cores + 3, 1, False), (cores + 3, 4, True)):
        monkeypatch.setattr(nnbook.kernels.threads, "running_now", lambda: running)
        monkeypatch.setattr(nnbook.kernels.threads, "own_running", lambda: own)
        assert nnbook.kernels.threads.spare_core() is spare
    # without /proc/loadavg: the 1-minute load average
    monkeypatch.setattr(nnbook.kernels.threads, "running_now", lambda: None)
    monkeypatch.setattr(nnbook.kernels.threads.os, "getloadavg", lambda: (cores - 1.5, 0.0, 0.0))
    assert nnbook.kernels.threads.spare_core()
    monkeypatch.setattr(nnbook.kernels.threads.os, "getloadavg", lambda: (cores - 1.4, 0.0, 0.0))
    assert not nnbook.kernels.threads.spare_core()
