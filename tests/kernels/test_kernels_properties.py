"""Property-based tests of the kernels (issue 17): generated valid input gives the NumPy
reference's result, generated invalid input raises a ValueError/TypeError naming the argument,
a valid call after a failing one still works, and two threads give the bits of serial calls.

Bounded (``max_examples``) and deterministic (the ``nnbook`` hypothesis profile of
tests/conftest.py), so they stay a small part of the package tests' time.
"""
import threading

import numpy as np
import pytest
from conv_reference import (conv2d_direct, conv2d_direct_backward, pool2d_direct,
                            pool2d_direct_backward)
from hypothesis import given, settings
from hypothesis import strategies as st

import rnn_reference as ref
from nnbook import (conv2d, conv2d_backward, gru_bptt, gru_forward, gru_params, lstm_bptt,
                    lstm_forward, lstm_params, pool2d, pool2d_backward, rnn_bptt, rnn_forward,
                    rnn_params)

FEW = settings(max_examples=25, deadline=None)


@st.composite
def conv_case(draw):
    N, C, F = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    KH, KW = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    S, P = draw(st.integers(1, 2)), draw(st.integers(0, 1))
    H = draw(st.integers(max(KH - 2 * P, 1), 7))
    W = draw(st.integers(max(KW - 2 * P, 1), 7))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    layout = draw(st.sampled_from(["C", "F", "reversed"]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    x = rng.normal(size=(N, C, H, W)).astype(dtype)
    w = rng.normal(size=(F, C, KH, KW)).astype(dtype)
    b = rng.normal(size=F).astype(dtype)
    if layout == "F":
        x = np.asfortranarray(x)
    elif layout == "reversed":
        x = x[:, :, ::-1, ::-1].copy()[:, :, ::-1, ::-1]  # negative strides
    return x, w, b, S, P


@FEW
@given(conv_case())
def test_conv2d_matches_reference_and_keeps_dtype(case):
    x, w, b, S, P = case
    x_before = x.copy()
    y = conv2d(x, w, b, stride=S, padding=P)
    assert y.dtype == x.dtype  # the dtype rule: the conv/pool kernels keep float32
    ref_y = conv2d_direct(x.astype(float), w.astype(float), b.astype(float), S, P)
    tol = 1e-4 if x.dtype == np.float32 else 1e-10
    np.testing.assert_allclose(y, ref_y, rtol=tol, atol=tol)
    dy = np.ones_like(y)
    dx, dw, db = conv2d_backward(dy, x, w, stride=S, padding=P)
    rdx, rdw, rdb = conv2d_direct_backward(dy.astype(float), x.astype(float), w.astype(float), S, P)
    for got, want in ((dx, rdx), (dw, rdw), (db, rdb)):
        assert got.dtype == x.dtype
        np.testing.assert_allclose(got, want, rtol=tol * 10, atol=tol * 10)
    np.testing.assert_array_equal(x, x_before)  # inputs are never modified


@FEW
@given(st.integers(1, 3), st.integers(1, 3), st.sampled_from(["max", "avg", "min", "MAX"]),
       st.sampled_from([np.float64, np.float32]), st.integers(0, 2 ** 16))
def test_pool2d_matches_reference(k, s, mode, dtype, seed):
    x = np.random.default_rng(seed).normal(size=(2, 2, 6, 7)).astype(dtype)
    y = pool2d(x, k, s, mode=mode)
    assert y.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, pool2d_direct(x.astype(float), k, s, mode.lower()), rtol=tol,
                               atol=tol)
    dy = np.ones_like(y)
    np.testing.assert_allclose(pool2d_backward(dy, x, k, s, mode=mode),
                               pool2d_direct_backward(dy.astype(float), x.astype(float), k, s,
                                                      mode.lower()), rtol=tol, atol=tol)


# invalid input: (call, the argument the message must name)
X4 = np.ones((1, 1, 5, 5))
W4 = np.ones((1, 1, 3, 3))
BAD_KERNEL_CALLS = [
    (lambda: conv2d(X4, W4, stride=2 ** 63), "stride"),
    (lambda: conv2d(X4, W4, stride=True), "stride"),
    (lambda: conv2d(X4, W4, padding=-1), "padding"),
    (lambda: conv2d(X4.astype(np.float32), W4), "w"),
    (lambda: conv2d(X4.astype(int), W4), "x"),
    (lambda: conv2d(X4 + 1j, W4), "x"),
    (lambda: conv2d(np.full_like(X4, np.nan), W4), "x"),
    (lambda: conv2d(X4, W4, b=np.ones(2)), "b"),
    (lambda: pool2d(X4, 2 ** 63), "k"),
    (lambda: pool2d(X4, 2, mode="median"), "mode"),
    (lambda: pool2d(X4, 2, mode=True), "mode"),
    (lambda: rnn_forward(rnn_params(2, 3, 1), [[1.0, 2.0], [1.0]]), "X"),
    (lambda: rnn_forward(rnn_params(2, 3, 1), np.ones((4, 2)), activation="swish"), "activation"),
    (lambda: rnn_bptt(rnn_params(2, 3, 1), np.ones((4, 2)), np.ones((4, 1)),
                      return_state_grads="no"), "return_state_grads"),
    (lambda: rnn_bptt(rnn_params(2, 3, 1), np.ones((4, 2)), np.ones((4, 1)), loss_at="first"),
     "loss_at"),
    (lambda: rnn_bptt(rnn_params(2, 3, 3), np.ones((4, 2)), np.array([0, 1, 2, 3]),
                      output="softmax", loss="ce"), "Y"),
    (lambda: rnn_bptt(rnn_params(2, 3, 3), np.ones((4, 2)), np.full((4, 3), 5.0),
                      output="softmax", loss="ce"), "Y"),
    (lambda: rnn_bptt(rnn_params(2, 3, 1), np.ones((4, 2)), np.full((4, 1), 2.0),
                      output="sigmoid", loss="bce"), "Y"),
    (lambda: lstm_bptt(lstm_params(2, 3, 2), np.ones((4, 2)), -np.ones(4, dtype=int),
                       output="softmax", loss="ce"), "Y"),
    (lambda: gru_bptt(gru_params(2, 3, 2), np.ones((4, 2)), np.ones((4, 2)),
                      return_state_grads=1), "return_state_grads"),
    (lambda: rnn_params(2, 3, 1, scale=-1.0), "scale"),
    (lambda: rnn_params(2, 3, 1, scale=np.nan), "scale"),
    (lambda: rnn_params(2, 3, 1, seed="x"), "seed"),
    (lambda: rnn_params(2, 3, 1, seed=-1), "seed"),
    (lambda: rnn_params(2.0, 3, 1), "Dx"),
    (lambda: lstm_params(2, 3, 1, forget_bias=np.inf), "forget_bias"),
    (lambda: gru_params(2, True, 1), "Dh"),
]


@pytest.mark.parametrize("call, name", BAD_KERNEL_CALLS)
def test_bad_kernel_input_names_the_argument_and_a_valid_call_still_works(call, name):
    with pytest.raises((ValueError, TypeError), match=name):
        call()
    p = rnn_params(2, 3, 1)
    E, _ = rnn_bptt(p, np.ones((4, 2)), np.ones((4, 1)))
    assert np.isfinite(E)
    assert conv2d(X4, W4).shape == (1, 1, 3, 3)


def test_names_are_case_insensitive_and_flags_real_bools():
    p = rnn_params(2, 3, 1, seed=1)
    X, Y = np.ones((4, 2)), np.ones(1)
    E1, g1 = rnn_bptt(p, X, Y, loss_at="last")
    E2, g2 = rnn_bptt(p, X, Y, loss_at="LAST", output="Identity", loss="SSE")
    assert E1 == E2 and all(np.array_equal(g1[k], g2[k]) for k in g1)
    assert len(rnn_bptt(p, X, Y, loss_at="last", return_state_grads=np.bool_(True))) == 3


CELLS = {"rnn": (rnn_params, rnn_forward, rnn_bptt, ref.rnn_forward, ref.rnn_bptt),
         "lstm": (lstm_params, lstm_forward, lstm_bptt, ref.lstm_forward, ref.lstm_bptt),
         "gru": (gru_params, gru_forward, gru_bptt, ref.gru_forward, ref.gru_bptt)}


@FEW
@given(st.sampled_from(sorted(CELLS)), st.integers(1, 3), st.integers(1, 4), st.integers(1, 2),
       st.integers(1, 5), st.integers(1, 3), st.integers(0, 2 ** 16),
       st.sampled_from([np.float64, np.float32]))
def test_recurrent_cells_match_reference(cell, Dx, Dh, Dy, T, B, seed, dtype):
    make, forward, bptt, ref_forward, ref_bptt = CELLS[cell]
    p = make(Dx, Dh, Dy, seed=seed, scale=0.8)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(T, B, Dx)).astype(dtype)
    Y = rng.normal(size=(T, B, Dy))
    out = forward(p, X)
    assert out["y"].dtype == np.float64  # the dtype rule: outside conv/pool, float64 out
    Xd = X.astype(float)
    for b in range(B):
        want = ref_forward(p, Xd[:, b])
        np.testing.assert_allclose(out["y"][:, b], ref.out_act("identity", want["o"]),
                                   rtol=1e-9, atol=1e-12)
    E, grads = bptt(p, X, Y)
    E_ref, g_ref = ref_bptt(p, Xd, Y)
    np.testing.assert_allclose(E, E_ref, rtol=1e-9)
    for k in p:
        np.testing.assert_allclose(grads[k], g_ref[k], rtol=1e-8, atol=1e-10)


def test_two_threads_give_the_bits_of_serial_calls():
    """Kernels called from two Python threads at once return exactly what serial calls return."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3, 12, 12))
    w = rng.normal(size=(4, 3, 3, 3))
    p = lstm_params(3, 8, 2, seed=1)
    X = rng.normal(size=(20, 6, 3))
    Y = rng.normal(size=(20, 6, 2))

    def work():
        y = conv2d(x, w, padding=1)
        dx, dw, db = conv2d_backward(np.ones_like(y), x, w, padding=1)
        E, g = lstm_bptt(p, X, Y)
        return [y, dx, dw, db, pool2d(x, 2), np.array(E)] + [g[k] for k in sorted(g)]

    serial = work()
    results = [None, None]

    def run(i):
        out = []
        for _ in range(3):
            out.append(work())
        results[i] = out

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    for out in results:
        for rep in out:
            for got, want in zip(rep, serial):
                assert np.array_equal(got, want)
