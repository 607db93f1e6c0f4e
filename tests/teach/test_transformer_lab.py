"""Tests of chapter 13's measurement helpers in nnbook.teach.transformer_lab: the uniform-head
baseline, head ablation, the loss by position and the spread of the predictions (the corpus,
baselines, CharLSTM and head_patterns are tested in tests/nn/test_transformer.py)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbook.nn.activations import log_softmax
from nnbook.nn.transformer import TransformerLM
from nnbook.teach import transformer_lab as lab


def small_model(seed=0):
    m = TransformerLM(12, 8, 8, 2, 2, 16)
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 12, size=(3, 8))
    Y = rng.integers(0, 12, size=(3, 8))
    return m, m.init(seed=seed), X, Y


def test_uniform_attention_rows_and_patterns():
    A = lab.uniform_attention(2, 5)
    assert A.shape == (1, 2, 1, 5, 5)
    assert np.allclose(A.sum(axis=-1), 1) and np.allclose(np.triu(A[0, 0, 0], 1), 0)
    assert np.isclose(A[0, 0, 0, 3, 0], 1 / 4)
    ids = lab.encode("ab cde fg").reshape(1, -1)                   # T = 9
    out = lab.head_patterns(lab.uniform_attention(1, 9), ids)
    t = np.arange(1, 9)
    assert np.isclose(out["previous"][0, 0], np.mean(1 / (t + 1)))
    assert np.isclose(out["distance"][0, 0], np.mean(np.arange(9) / 2))
    # word start at least two back: the space at t=2 (start 0), "e" (t=5, start 3) and the
    # space at t=6 (start 3); "d" (t=4) and "g" (t=8) are excluded, their start is at t - 1
    assert np.isclose(out["word_start"][0, 0], np.mean([1 / 3, 1 / 6, 1 / 7]))
    with pytest.raises(ValueError):
        lab.uniform_attention(0, 3)


def test_head_patterns_word_start_excludes_previous_character():
    ids = lab.encode("a bc").reshape(1, -1)                        # no query 2+ past a start
    prev = np.zeros((4, 4))
    prev[0, 0] = 1
    prev[np.arange(1, 4), np.arange(3)] = 1
    out = lab.head_patterns(prev[None, None, None], ids)
    assert np.isnan(out["word_start"][0, 0])
    ids = lab.encode("abc ").reshape(1, -1)                        # "c" (t=2) starts at 0
    out = lab.head_patterns(prev[None, None, None], ids)
    assert out["word_start"][0, 0] == 0.0                           # looks at b, not at a


def test_ablate_heads_zeroes_exactly_one_head():
    m, P, X, Y = small_model()
    before = {k: v.copy() for k, v in P.items()}
    assert np.isclose(lab.ablate_heads(m, P, X, Y), lab.bits(m.loss(P, X, Y)))
    # by hand: head 1 of block 0 is rows 4:8 of l0.Wo (d_k = 4)
    Q = {k: v.copy() for k, v in P.items()}
    Q["l0.Wo"][4:8] = 0
    assert np.isclose(lab.ablate_heads(m, P, X, Y, [(0, 1)]), lab.bits(m.loss(Q, X, Y)))
    Q["l1.Wo"][:] = 0
    assert np.isclose(lab.ablate_heads(m, P, X, Y, [(0, 1), (1, 0), (1, 1)]),
                      lab.bits(m.loss(Q, X, Y)))
    assert all(np.array_equal(P[k], before[k]) for k in P)         # params untouched
    with pytest.raises(ValueError):
        lab.ablate_heads(m, P, X, Y, [(2, 0)])
    with pytest.raises(ValueError):
        lab.ablate_heads(m, P, X, Y, [(0, 2)])


def test_bits_by_position_averages_to_the_loss():
    m, P, X, Y = small_model(1)
    pos = lab.bits_by_position(m.forward(P, X), Y)
    assert pos.shape == (8,)
    assert np.isclose(pos.mean(), lab.bits(m.loss(P, X, Y)))
    lp = log_softmax(m.forward(P, X))
    assert np.isclose(pos[3], -np.mean([lp[b, 3, Y[b, 3]] for b in range(3)]) / np.log(2))
    with pytest.raises(ValueError):
        lab.bits_by_position(m.forward(P, X), Y[:, :4])


def test_char_lstm_forward_matches_loss():
    lstm = lab.CharLSTM(6, 5)
    P = lstm.init(seed=0)
    rng = np.random.default_rng(0)
    X, Y = rng.integers(0, 6, size=(2, 7)), rng.integers(0, 6, size=(2, 7))
    logits = lstm.forward(P, X)
    assert logits.shape == (2, 7, 6)
    assert np.isclose(lab.bits_by_position(logits, Y).mean(), lab.bits(lstm.loss(P, X, Y)))


def test_prediction_spread_bits():
    same = np.tile([1.0, 2.0, 0.5], (4, 5, 1))
    assert abs(lab.prediction_spread_bits(same)) < 1e-12
    two = np.log(np.array([[0.5, 0.5, 1e-300], [1e-300, 0.5, 0.5]]))
    # p1 = (.5,.5,0), p2 = (0,.5,.5), mean (.25,.5,.25): KL of each = 0.5 bit
    assert np.isclose(lab.prediction_spread_bits(two), 0.5)
    rng = np.random.default_rng(3)
    assert lab.prediction_spread_bits(rng.normal(size=(6, 4))) > 0


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 5), st.integers(1, 9), st.integers(0, 2**31 - 1))
def test_generated_spread_is_nonnegative_and_uniform_rows_sum_to_one(B, T, seed):
    logits = np.random.default_rng(seed).normal(size=(B, T, 4))
    assert lab.prediction_spread_bits(logits) >= -1e-12
    A = lab.uniform_attention(B, T)[0, :, 0]
    assert np.allclose(A.sum(axis=-1), 1) and np.allclose(np.triu(A, 1), 0)
