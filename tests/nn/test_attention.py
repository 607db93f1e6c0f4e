"""Attention: forward against a loop-by-loop reference, backward against finite differences,
the softmax constraints, masks, permutation equivariance, stability and bad input."""
import warnings

import numpy as np
import pytest

from nnbook import gradcheck
from nnbook.nn.attention_model import SelfAttentionModel
from nnbook.nn.attention import (attention, attention_backward, attention_logits, causal_mask,
                                 multi_head_attention, multi_head_attention_backward,
                                 positional_encoding, self_attention, self_attention_backward)


def attention_reference(Q, K, V, mask=None, scale=None):
    """One query at a time, written out with Python loops (no matrix products)."""
    N, d = Q.shape
    M = K.shape[0]
    s = 1 / np.sqrt(d) if scale is None else scale
    A = np.zeros((N, M))
    for n in range(N):
        logits = [s * sum(Q[n, i] * K[m, i] for i in range(d)) for m in range(M)]
        allowed = [m for m in range(M) if mask is None or mask[n, m]]
        top = max(logits[m] for m in allowed)
        e = {m: np.exp(logits[m] - top) for m in allowed}
        total = sum(e.values())
        for m in allowed:
            A[n, m] = e[m] / total
    return A @ V, A


def qkv(rng, N=4, M=5, d=3, dv=2, batch=()):
    return (rng.normal(size=batch + (N, d)), rng.normal(size=batch + (M, d)),
            rng.normal(size=batch + (M, dv)))


# --------------------------------------------------------------------------- forward
def test_attention_matches_reference(rng):
    Q, K, V = qkv(rng)
    mask = rng.uniform(size=(4, 5)) < 0.6
    mask[:, 0] = True
    for m in (None, mask):
        Y, A = attention(Q, K, V, mask=m)
        Yr, Ar = attention_reference(Q, K, V, mask=m)
        assert np.allclose(A, Ar, atol=1e-14) and np.allclose(Y, Yr, atol=1e-14)


def test_rows_are_a_partition_of_unity(rng):
    Q, K, V = qkv(rng, N=6, M=7, d=4, batch=(3,))
    _, A = attention(Q, K, V)
    assert A.shape == (3, 6, 7)
    assert np.all(A >= 0) and np.all(A <= 1)
    assert np.allclose(A.sum(axis=-1), 1.0, atol=1e-15)


def test_default_scale_is_one_over_sqrt_d(rng):
    Q, K, V = qkv(rng, d=9)
    assert np.allclose(attention_logits(Q, K), Q @ K.T / 3.0)
    _, A1 = attention(Q, K, V)
    _, A2 = attention(Q, K, V, scale=1 / 3)
    assert np.array_equal(A1, A2)


def test_batch_axes_are_independent(rng):
    Q, K, V = qkv(rng, batch=(2, 3))
    Y, A = attention(Q, K, V)
    for i in range(2):
        for j in range(3):
            Yi, Ai = attention(Q[i, j], K[i, j], V[i, j])
            assert np.allclose(Y[i, j], Yi) and np.allclose(A[i, j], Ai)


def test_masked_positions_get_exactly_zero_weight(rng):
    Q, K, V = qkv(rng, N=5, M=5)
    mask = causal_mask(5)
    Y, A = attention(Q, K, V, mask=mask)
    assert np.all(A[~mask] == 0.0)
    assert np.allclose(A.sum(axis=1), 1.0)
    assert A[0, 0] == 1.0 and np.allclose(Y[0], V[0])


def test_causal_mask_output_ignores_the_future(rng):
    X = rng.normal(size=(6, 4))
    W = [rng.normal(size=(4, 3)) for _ in range(3)]
    Y, _ = self_attention(X, *W, mask=causal_mask(6))
    X2 = X.copy()
    X2[4:] += 10 * rng.normal(size=(2, 4))     # change only the last two tokens
    Y2, _ = self_attention(X2, *W, mask=causal_mask(6))
    assert np.allclose(Y[:4], Y2[:4]) and not np.allclose(Y[4:], Y2[4:])


def test_fully_masked_row_raises(rng):
    Q, K, V = qkv(rng, N=3, M=4)
    mask = np.ones((3, 4), dtype=bool)
    mask[1] = False
    with pytest.raises(ValueError, match=r"query \(1,\) nothing to attend"):
        attention(Q, K, V, mask=mask)


def test_mask_must_be_boolean_and_fit(rng):
    Q, K, V = qkv(rng, N=3, M=4)
    with pytest.raises(ValueError, match="boolean"):
        attention(Q, K, V, mask=np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(3, 4\)"):
        attention(Q, K, V, mask=np.ones((4, 3), dtype=bool))


def test_no_overflow_at_huge_logits():
    Q = np.array([[100.0, 0.0], [0.0, -100.0]])
    K = np.array([[100.0, 0.0], [0.0, 100.0], [-100.0, 0.0]])    # logits up to +-1e4
    V = np.eye(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Y, A = attention(Q, K, V, scale=1.0)
        dQ, dK, dV = attention_backward(np.ones((2, 3)), Q, K, V, A, scale=1.0)
    assert np.all(np.isfinite(A)) and np.allclose(A.sum(axis=1), 1)
    assert np.allclose(A[0], [1, 0, 0]) and np.allclose(A[1], [0.5, 0, 0.5])
    assert all(np.all(np.isfinite(g)) for g in (dQ, dK, dV))


@pytest.mark.parametrize("shapes, words", [
    (((4, 3), (5, 2), (5, 2)), r"Q of shape \(4, 3\) and K of shape \(5, 2\)"),
    (((4, 3), (5, 3), (6, 2)), r"K of shape \(5, 3\) and V of shape \(6, 2\)"),
    (((2, 4, 3), (3, 5, 3), (3, 5, 2)), r"\(2, 4, 3\), \(3, 5, 3\) and \(3, 5, 2\)"),
    (((3,), (5, 3), (5, 2)), r"Q must have at least 2 dimensions.*\(3,\)"),
])
def test_shape_errors_name_the_shapes(shapes, words):
    with pytest.raises(ValueError, match=words):
        attention(*(np.ones(s) for s in shapes))


def test_bad_values_raise(rng):
    Q, K, V = qkv(rng)
    Q[0, 0] = np.nan
    with pytest.raises(ValueError, match="Q contains NaN"):
        attention(Q, K, V)
    with pytest.raises(ValueError, match="scale"):
        attention(K, K, V, scale=-1.0)


def test_weight_shape_errors_name_the_shapes(rng):
    X = rng.normal(size=(5, 4))
    with pytest.raises(ValueError, match=r"Wk of shape \(3, 2\) needs 4 rows.*\(5, 4\)"):
        self_attention(X, np.ones((4, 2)), np.ones((3, 2)), np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"5 columns do not split into n_heads=2"):
        multi_head_attention(X, np.ones((4, 5)), np.ones((4, 5)), np.ones((4, 4)),
                             np.ones((4, 3)), 2)
    with pytest.raises(ValueError, match=r"Wo of shape \(3, 3\) needs 4 rows"):
        multi_head_attention(X, np.ones((4, 4)), np.ones((4, 4)), np.ones((4, 4)),
                             np.ones((3, 3)), 2)


# --------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("masked", [False, True])
def test_attention_backward_matches_finite_differences(rng, masked):
    Q, K, V = qkv(rng, N=4, M=4, batch=(2,))
    mask = causal_mask(4) if masked else None
    R = rng.normal(size=(2, 4, 2))      # loss = sum(R * Y): dY = R

    def f(p):
        Y, A = attention(*p, mask=mask, scale=0.7)
        return float(np.sum(R * Y)), list(attention_backward(R, *p, A, scale=0.7))
    assert gradcheck(f, [Q, K, V]) < 1e-8


def test_self_attention_backward_matches_finite_differences(rng):
    X = rng.normal(size=(2, 5, 4))
    W = [rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), rng.normal(size=(4, 2))]
    R = rng.normal(size=(2, 5, 2))

    def f(p):
        Y, A = self_attention(p[0], *p[1:], mask=causal_mask(5))
        return float(np.sum(R * Y)), list(self_attention_backward(R, p[0], *p[1:], A))
    assert gradcheck(f, [X] + W) < 1e-8


@pytest.mark.parametrize("batch", [(), (2,)])
def test_multi_head_backward_matches_finite_differences(rng, batch):
    X = rng.normal(size=batch + (5, 6))
    W = [rng.normal(size=(6, 4)), rng.normal(size=(6, 4)), rng.normal(size=(6, 6)),
         rng.normal(size=(6, 3))]
    R = rng.normal(size=batch + (5, 3))

    def f(p):
        Y, A = multi_head_attention(p[0], *p[1:], n_heads=2)
        return float(np.sum(R * Y)), list(multi_head_attention_backward(R, p[0], *p[1:], A, 2))
    assert gradcheck(f, [X] + W) < 1e-8


def test_multi_head_is_concatenated_single_heads(rng):
    X = rng.normal(size=(5, 6))
    Wq, Wk, Wv, Wo = (rng.normal(size=s) for s in ((6, 4), (6, 4), (6, 6), (6, 3)))
    Y, A = multi_head_attention(X, Wq, Wk, Wv, Wo, 2, mask=causal_mask(5))
    heads = [self_attention(X, Wq[:, 2 * h:2 * h + 2], Wk[:, 2 * h:2 * h + 2],
                            Wv[:, 3 * h:3 * h + 3], mask=causal_mask(5)) for h in range(2)]
    assert A.shape == (2, 5, 5)
    assert np.allclose(A, np.stack([a for _, a in heads]))
    assert np.allclose(Y, np.hstack([y for y, _ in heads]) @ Wo)


def test_model_gradients_match_finite_differences(rng):
    model = SelfAttentionModel(n_tokens=4, T=5, d_model=6, d_head=2, n_heads=2)
    params = model.init(seed=1)
    X = rng.integers(0, 4, size=(3, 5))
    Y = X[:, ::-1].copy()
    names = list(params)

    def f(p):
        loss, g = model.loss_and_grads(dict(zip(names, p)), X, Y)
        return loss, [g[k] for k in names]
    assert gradcheck(f, [params[k] for k in names]) < 1e-8


# --------------------------------------------------------------------------- structure
def test_self_attention_is_permutation_equivariant(rng):
    X = rng.normal(size=(6, 4))
    W = [rng.normal(size=(4, 3)) for _ in range(3)] + [rng.normal(size=(3, 2))]
    perm = rng.permutation(6)
    Y, A = multi_head_attention(X, *W, n_heads=1)
    Yp, Ap = multi_head_attention(X[perm], *W, n_heads=1)
    assert np.allclose(Yp, Y[perm]) and np.allclose(Ap[0], A[0][np.ix_(perm, perm)])


def test_positional_encoding_breaks_equivariance(rng):
    X = rng.normal(size=(6, 4))
    W = [rng.normal(size=(4, 3)) for _ in range(3)]
    P = positional_encoding(6, 4)
    perm = np.array([1, 0, 2, 3, 4, 5])
    Y, _ = self_attention(X + P, *W)
    Yp, _ = self_attention(X[perm] + P, *W)
    assert not np.allclose(Yp, Y[perm])


def test_positional_encoding_values():
    P = positional_encoding(50, 6)
    t = np.arange(50)
    assert P.shape == (50, 6)
    for i in range(3):
        w = 10000.0 ** (-2 * i / 6)
        assert np.allclose(P[:, 2 * i], np.sin(t * w))
        assert np.allclose(P[:, 2 * i + 1], np.cos(t * w))
    assert positional_encoding(4, 5).shape == (4, 5)
    with pytest.raises(ValueError, match="T must be positive"):
        positional_encoding(0, 4)


def test_causal_mask():
    m = causal_mask(4)
    assert m.dtype == bool and np.array_equal(m, np.tril(np.ones((4, 4))) == 1)


# --------------------------------------------------------------------------- the model
def test_model_learns_to_reverse():
    from nnbook import Adam, fit
    rng = np.random.default_rng(0)
    X = rng.integers(0, 5, size=(400, 5))
    Y = X[:, ::-1].copy()
    model = SelfAttentionModel(n_tokens=5, T=5, d_model=16, d_head=8)
    params = model.init(seed=0)
    log = fit(model.loss_and_grads, params, Adam(lr=1e-2), (X, Y), epochs=15, batch_size=32,
              progress=False)
    assert log.loss[-1] < 0.05 * log.loss[0]
    assert model.accuracy(params, X, Y)[0] > 0.99
    _, A = model.forward(params, X[:20])
    assert np.all(np.argmax(A[:, 0], axis=-1) == np.arange(5)[::-1])


def test_model_rejects_bad_tokens():
    model = SelfAttentionModel(n_tokens=5, T=4)
    params = model.init()
    with pytest.raises(ValueError, match=r"shape \(B, T=4\), got \(2, 3\)"):
        model.forward(params, np.zeros((2, 3), dtype=int))
    with pytest.raises(ValueError, match=r"0\.\.4, got 0\.\.5"):
        model.forward(params, np.array([[0, 1, 5, 2]]))
    with pytest.raises(ValueError, match="integers"):
        model.forward(params, np.zeros((1, 4)))


def test_reverse_digits_task():
    from nnbook.data.tasks import reverse_digits
    X, Y = reverse_digits(50, 6, n_digits=4, seed=3)
    assert X.shape == Y.shape == (50, 6) and X.min() >= 0 and X.max() <= 3
    assert np.array_equal(Y[:, 0], X[:, 5]) and np.array_equal(Y[:, ::-1], X)
    assert np.array_equal(reverse_digits(50, 6, 4, seed=3)[0], X)
    with pytest.raises(ValueError, match="T must be positive"):
        reverse_digits(5, 0)


# --------------------------------------------------------------------------- chapter helpers
def test_read_then_write_lstm_layout():
    from nnbook.nn.read_then_write import ReadThenWriteLSTM
    from nnbook.kernels.gated import lstm_bptt

    X = np.array([[1, 0, 2], [2, 2, 0]])
    m = ReadThenWriteLSTM(n_tokens=3, T=3, n_hidden=4)
    inp, tgt = m.inputs(X), m.targets(X[:, ::-1])
    assert inp.shape == (6, 2, 4) and np.all(inp.sum(axis=-1) == 1)
    assert np.array_equal(inp[:3].argmax(-1), X.T) and np.all(inp[3:, :, 3] == 1)
    assert np.array_equal(tgt, [[3, 3], [3, 3], [3, 3], [2, 0], [0, 2], [1, 2]])
    p = m.init(seed=0)
    loss, grads = m.loss_and_grads(p, X, X[:, ::-1])
    E, g = lstm_bptt(p, inp, tgt, output="softmax", loss="ce")
    assert loss == pytest.approx(E / 2) and np.allclose(grads["Wh"], g["Wh"] / 2)
    probs = m.forward(p, X)
    assert probs.shape == (2, 3, 4) and np.allclose(probs.sum(-1), 1)
    assert m.predict(p, X).shape == (2, 3)
    with pytest.raises(ValueError, match="0..2"):
        m.inputs(np.array([[0, 1, 3]]))


def test_costs_and_timer():
    from nnbook.teach.costs import attention_cost, best_time, recurrent_cost

    a = attention_cost(T=4, d_model=2, d_head=3, n_out=5)
    assert a == {"multiplications": 3 * 4 * 2 * 3 + 2 * 16 * 3 + 4 * 3 * 5, "sequential_steps": 1}
    r = recurrent_cost(T_steps=6, n_in=2, n_hidden=3, n_out=4)
    assert r == {"multiplications": 6 * (4 * 3 * 5 + 3 * 4), "sequential_steps": 6}
    assert best_time(lambda: None, repeats=2) >= 0
    with pytest.raises(ValueError, match="T must be positive"):
        attention_cost(0, 2, 2, 2)


def test_best_time_runs_blas_on_the_threads_asked_for_and_restores_them():
    from threadpoolctl import threadpool_info
    from nnbook.teach.costs import best_time

    def blas_threads():
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    before = blas_threads()
    assert before                                   # NumPy has a BLAS
    seen = []
    best_time(lambda: seen.append(blas_threads()), repeats=2)
    assert seen and all(n == 1 for threads in seen for n in threads)
    assert blas_threads() == before
    seen.clear()
    best_time(lambda: seen.append(blas_threads()), repeats=1, blas_threads=None)
    assert seen == [before]
    with pytest.raises(ValueError, match="blas_threads"):
        best_time(lambda: None, blas_threads=0)


def test_draw_attention_marks_the_true_alignment():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from nnbook.display.attention_plots import draw_attention

    fig, ax = plt.subplots()
    draw_attention(ax, np.eye(3)[::-1], true=[2, 1, 0], annotate=True, title="t")
    assert len(ax.texts) == 9 and ax.get_title() == "t"
    assert np.array_equal(ax.lines[0].get_xdata(), [2, 1, 0])
    plt.close(fig)
