"""Property-based and bad-input tests of nnbook.nn (issue 17): losses and output deltas, the
activations, attention at enormous scores, MLP's loss/output rule, Sequential (float32, bad
parameters, batch norm left untouched by a failing call), SelfAttentionModel's parameters."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnbook import MLP, attention, loss, multi_head_attention, output_delta
from nnbook.nn.activations import ACTIVATIONS, log_softmax, sigmoid, softmax
from nnbook.nn.attention_model import SelfAttentionModel
from nnbook.nn.layers import (BatchNorm2d, Conv2D, Dense, Flatten, Pool2D, ReLU, Sequential)

FEW = settings(max_examples=30, deadline=None)
finite = st.floats(-30, 30, allow_nan=False, allow_infinity=False)


@FEW
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(2, 4)), elements=finite),
       st.integers(0, 2 ** 16))
def test_output_delta_of_canonical_pairs_is_y_minus_t(a, seed):
    rng = np.random.default_rng(seed)
    t = np.eye(a.shape[1])[rng.integers(0, a.shape[1], a.shape[0])]
    np.testing.assert_allclose(output_delta("ce", a, t, "softmax"), softmax(a) - t, atol=1e-15)
    np.testing.assert_allclose(output_delta("BCE", a, t, "Sigmoid"), sigmoid(a) - t, atol=1e-15)
    np.testing.assert_allclose(output_delta("sse", a, t, "identity"), a - t, atol=1e-15)
    # the loss is the NumPy formula, and never negative for targets in [0, 1]
    y = softmax(a)
    assert loss("ce", y, t) == pytest.approx(-np.sum(t * np.log(np.maximum(y, 1e-300))))
    assert loss("ce", y, t) >= 0 and loss("bce", sigmoid(a), t) >= 0


@FEW
@given(hnp.arrays(np.float64, st.integers(1, 5), elements=finite))
def test_activations_return_float64_for_float32_input(a):
    for name, f in ACTIVATIONS.items():
        out = f(a.astype(np.float32))
        assert out.dtype == np.float64, name  # the dtype rule
    np.testing.assert_allclose(np.exp(log_softmax(a)), softmax(a), rtol=1e-12, atol=1e-300)


BAD_LOSS_CALLS = [
    (lambda: output_delta("sse", np.zeros(3), np.zeros((3, 1)), "identity"), "t"),
    (lambda: output_delta("sse", np.zeros(3), np.array([0, np.nan, 0]), "identity"), "t"),
    (lambda: output_delta("ce", np.zeros(3), np.array([0, 0, 5.0]), "softmax"), "t"),
    (lambda: output_delta("ce", np.zeros(3), np.array([0, 0, 1.0]), "sigmoid"), "output"),
    (lambda: output_delta("sse", np.zeros(3), np.zeros(3), "swish"), "output"),
    (lambda: loss("ce", np.full(3, 1 / 3), np.array([-1.0, 0, 0])), "t"),
    (lambda: loss("bce", np.full(3, 0.5), np.array([2.0, 3.0, 0])), "t"),
    (lambda: loss(True, np.zeros(3), np.zeros(3)), "loss"),
]


@pytest.mark.parametrize("call, name", BAD_LOSS_CALLS)
def test_bad_loss_input_names_the_argument(call, name):
    with pytest.raises((ValueError, TypeError), match=name):
        call()


def test_mlp_targets_and_pairing_follow_one_rule(random_net):
    net = random_net(0, sizes=(2, 3, 2), out="softmax")
    x = np.ones((4, 2))
    for bad in (np.array([[0, 5.0]] * 4), np.array([[-1.0, 0]] * 4)):
        for call in (net.error, net.gradients):
            with pytest.raises(ValueError, match="t must lie in"):
                call(x, bad, "ce")
    sig = random_net(0, sizes=(2, 3, 2), out="sigmoid")
    for call in (sig.error, sig.gradients):  # the same answer for the same pairing
        with pytest.raises(ValueError, match="needs a softmax output"):
            call(x, np.eye(2)[[0, 1, 0, 1]], "ce")
    with pytest.raises(ValueError, match="t must lie in"):
        sig.gradients(x, np.full((4, 2), 2.0), "bce")
    assert np.isfinite(net.error(x, np.eye(2)[[0, 1, 0, 1]], "CE"))


@FEW
@given(st.floats(1e100, 1e308), st.sampled_from([None, 1e308]), st.integers(0, 2 ** 16))
def test_attention_with_enormous_scores_gives_the_one_hot_limit(size, scale, seed):
    rng = np.random.default_rng(seed)
    Q = rng.normal(size=(3, 4))
    Q = Q / np.max(np.abs(Q)) * size
    K = rng.normal(size=(5, 4))
    V = rng.normal(size=(5, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning either
        Y, A = attention(Q, K, V, scale=scale)
    assert np.all(np.isfinite(A)) and np.all(np.isfinite(Y))
    np.testing.assert_allclose(A.sum(axis=-1), 1.0)
    S = (Q / np.abs(Q).max()) @ K.T  # same argmax as the true scores
    np.testing.assert_array_equal(A.argmax(axis=-1), S.argmax(axis=-1))
    assert np.all(A.max(axis=-1) >= 0.5)


def test_attention_limit_respects_the_mask_and_multi_head():
    Q = np.array([[1e300, 0.0], [0.0, 1e300]])
    K = np.array([[1.0, 0.0], [0.0, 1.0]])
    mask = np.array([[False, True], [True, True]])
    _, A = attention(Q, K, np.eye(2), mask=mask)
    np.testing.assert_array_equal(A, [[0.0, 1.0], [0.0, 1.0]])
    X = np.array([[1e150, 0.0], [0.0, 1e150]])
    Y, A = multi_head_attention(X, np.eye(2), np.eye(2) * 1e150, np.eye(2), np.eye(2), 1)
    assert np.all(np.isfinite(Y)) and np.all(np.isfinite(A))


def _cnn():
    return Sequential([Conv2D(1, 2, 3, padding=1), BatchNorm2d(2), ReLU(), Pool2D(2), Flatten(),
                       Dense(8, 3)], input_shape=(1, 4, 4))


def test_sequential_accepts_float32_and_computes_in_float64():
    model = _cnn()
    p64 = model.init(0)
    p32 = {k: v.astype(np.float32) for k, v in p64.items()}
    X = np.random.default_rng(0).normal(size=(5, 1, 4, 4)).astype(np.float32)
    out, _ = model.forward(p32, X)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, model.forward({k: v.astype(float) for k, v in p32.items()},
                                                     X.astype(float))[0])
    loss32, g32 = model.loss_and_grads(p32, X, np.array([0, 1, 2, 0, 1]))
    assert np.isfinite(loss32) and set(g32) == set(p32)


@pytest.mark.parametrize("break_it, name", [
    (lambda p, y: (dict(p, **{"dense1.w": np.ones((3, 9))}), y), "dense1.w"),
    (lambda p, y: (dict(p, **{"conv1.w": np.full((2, 1, 3, 3), np.nan)}), y), "conv1.w"),
    (lambda p, y: ({k: v for k, v in p.items() if k != "bn1.beta"}, y), "bn1.beta"),
    (lambda p, y: (p, np.array([0, 1, 7, 0, 1])), "labels"),
    (lambda p, y: (p, np.array([0, 1, -1, 0, 1])), "labels"),
])
def test_a_failing_sequential_call_leaves_batch_norm_unchanged(break_it, name):
    model = _cnn()
    params = model.init(0)
    X = np.random.default_rng(1).normal(size=(5, 1, 4, 4))
    y = np.array([0, 1, 2, 0, 1])
    bn = model.layer("bn1")
    before = (bn.running_mean.copy(), bn.running_var.copy())
    bad_params, bad_y = break_it(params, y)
    with pytest.raises(ValueError, match=name):
        model.loss_and_grads(bad_params, X, bad_y)
    np.testing.assert_array_equal(bn.running_mean, before[0])
    np.testing.assert_array_equal(bn.running_var, before[1])
    loss_ok, _ = model.loss_and_grads(params, X, y)  # and a valid call still works
    assert np.isfinite(loss_ok)
    assert not np.array_equal(bn.running_mean, before[0])


@pytest.mark.parametrize("call, name", [
    (lambda: Sequential([Dense(2, 2)], input_shape=2.7), "input_shape"),
    (lambda: Sequential([Dense(2, 2)], input_shape=(2.7,)), "input_shape"),
    (lambda: _cnn().forward(_cnn().init(0), np.ones((2, 1, 4, 4)), train="no"), "train"),
])
def test_sequential_bad_arguments(call, name):
    with pytest.raises((ValueError, TypeError), match=name):
        call()


def test_self_attention_model_names_a_missing_parameter():
    model = SelfAttentionModel(4, 3, d_model=4, d_head=2)
    params = model.init(0)
    X = np.array([[0, 1, 2]])
    for bad, name in (({k: v for k, v in params.items() if k != "Wq"}, "Wq"),
                      (dict(params, Wo=np.ones((3, 3))), "Wo")):
        with pytest.raises(ValueError, match=name):
            model.loss_and_grads(bad, X, X)
    assert np.isfinite(model.loss_and_grads(params, X, X)[0])
