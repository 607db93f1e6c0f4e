import warnings
import zlib

import numpy as np
import pytest

from nnbook import MLP, gradcheck
from nnbook.train.gradcheck import numerical_hessian

HIDDEN = ["identity", "sigmoid", "tanh", "relu"]
PAIRS = [("sse", "identity"), ("sse", "sigmoid"), ("sse", "tanh"), ("sse", "relu"),
         ("sse", "softmax"), ("bce", "sigmoid"), ("ce", "softmax")]


def targets(loss, shape, rng):
    if loss == "ce":
        return np.eye(shape[-1])[rng.integers(shape[-1], size=shape[:-1])]
    if loss == "bce":
        return (rng.uniform(size=shape) > 0.5).astype(float)
    return rng.normal(size=shape)


def check(net, x, t, loss):
    def f(w):
        n = MLP(w, net.activations)
        return n.error(x, t, loss), n.gradients(x, t, loss)
    return gradcheck(f, net.weights)


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("loss,out", PAIRS)
def test_backprop_matches_finite_differences(hidden, loss, out):
    rng = np.random.default_rng(zlib.crc32(f"{hidden}-{loss}-{out}".encode()))  # stable across processes
    for trial in range(3):
        sizes = list(rng.integers(1, 5, size=rng.integers(2, 5)))
        sizes[-1] = max(sizes[-1], 2) if out == "softmax" else sizes[-1]
        acts = [hidden] * (len(sizes) - 2) + [out]
        net = MLP.random(sizes, acts, seed=trial)
        for W, b in net.weights:
            b += rng.normal(size=b.shape) * 0.3
        x = rng.normal(size=(5, sizes[0]))
        t = targets(loss, (5, sizes[-1]), rng)
        assert check(net, x, t, loss) < 1e-6
        assert check(net, x[0], t[0], loss) < 1e-6


def test_batch_gradient_is_sum_of_pattern_gradients(rng):
    net = MLP.random([3, 4, 2], ["tanh", "identity"], seed=1)
    x, t = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    batch = net.gradients(x, t)
    for l, (dW, db) in enumerate(batch):
        np.testing.assert_allclose(dW, sum(net.gradients(x[n], t[n])[l][0] for n in range(6)))
        np.testing.assert_allclose(db, sum(net.gradients(x[n], t[n])[l][1] for n in range(6)))


def test_forward_shapes_and_single_vs_batch(rng):
    net = MLP.random([2, 3, 2, 1], ["tanh", "sigmoid", "identity"], seed=0)
    assert net.forward(np.zeros(2)).shape == (1,)
    X = rng.normal(size=(7, 2))
    Y = net.forward(X)
    assert Y.shape == (7, 1)
    np.testing.assert_allclose(Y[3], net.forward(X[3]))
    assert net.n_params == 2 * 3 + 3 + 3 * 2 + 2 + 2 * 1 + 1


def test_random_is_deterministic():
    a = MLP.random([3, 4, 2], ["tanh", "identity"], seed=7).get_params()
    b = MLP.random([3, 4, 2], ["tanh", "identity"], seed=7).get_params()
    np.testing.assert_array_equal(a, b)


def test_params_roundtrip(rng):
    net = MLP.random([3, 4, 2], ["tanh", "identity"], seed=7)
    w = rng.normal(size=net.n_params)
    np.testing.assert_array_equal(net.set_params(w).get_params(), w)


def test_network_function_of_notes_3_4_2_example(rng):
    """y_k = sigma(sum_j w_kj h(sum_i w_ji x_i + w_j0) + w_k0), written out independently."""
    W1, b1, W2, b2 = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(2, 4)), rng.normal(size=2)
    net = MLP([(W1, b1), (W2, b2)], ["tanh", "sigmoid"])
    x = rng.normal(size=3)
    y = [1 / (1 + np.exp(-(sum(W2[k, j] * np.tanh(sum(W1[j, i] * x[i] for i in range(3)) + b1[j])
                              for j in range(4)) + b2[k]))) for k in range(2)]
    np.testing.assert_allclose(net.forward(x), y, rtol=1e-14)
    assert net.n_params == 26


def test_binary_classification_example_of_chapter_2():
    net = MLP([(np.array([[0.8, -0.5]]), np.array([0.2])), (np.array([[1.0]]), np.array([-0.3]))],
              ["tanh", "sigmoid"])
    x = np.array([0.5, 1.0])
    a1 = 0.8 * 0.5 - 0.5 * 1.0 + 0.2
    y = 1 / (1 + np.exp(-(np.tanh(a1) - 0.3)))
    assert net.forward(x)[0] == pytest.approx(y, rel=1e-14)
    assert net.error(x, 1.0, "bce") == pytest.approx(-np.log(y), rel=1e-14)
    assert net.n_params == 5
    # The notes round z1 to 0.10 before going on, which gives E = -ln sigma(-0.2):
    assert -np.log(1 / (1 + np.exp(0.2))) == pytest.approx(0.7981, abs=1e-4)


def test_practice_question_1_deltas_and_gradients():
    W1, b1 = np.array([[0.5, 0.2], [-0.3, 0.8]]), np.array([0.1, 0.0])
    W2, b2 = np.array([[1.0, -0.5]]), np.array([0.2])
    net = MLP([(W1, b1), (W2, b2)], ["tanh", "identity"])
    x, t = np.array([1.0, 0.5]), 1.0
    z = np.tanh(W1 @ x + b1)
    y = W2[0] @ z + b2[0]
    d2 = y - t
    d1 = (1 - z**2) * W2[0] * d2
    grads = net.gradients(x, t, "sse")
    assert net.deltas[1][0] == pytest.approx(d2)
    np.testing.assert_allclose(net.deltas[0], d1)
    assert grads[1][0][0, 0] == pytest.approx(d2 * z[0])
    assert grads[0][0][0, 0] == pytest.approx(d1[0] * x[0])


def test_deltas_follow_the_three_rules(rng):
    net = MLP.random([2, 3, 2, 1], ["tanh", "sigmoid", "identity"], seed=3)
    x, t = rng.normal(size=2), rng.normal(size=1)
    grads = net.gradients(x, t, "sse")
    tr = net.trace(x)
    d3 = tr.y - t                                           # rule 1
    s2 = 1 / (1 + np.exp(-tr.a[1]))
    d2 = s2 * (1 - s2) * (net.weights[2][0].T @ d3)         # rule 2
    d1 = (1 - np.tanh(tr.a[0]) ** 2) * (net.weights[1][0].T @ d2)
    for got, want in zip(net.deltas, [d1, d2, d3]):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(grads[0][0], np.outer(d1, x))  # rule 3


def test_extreme_activations_are_stable():
    net = MLP([(np.array([[1000.0]]), np.array([0.0])), (np.array([[1000.0]]), np.array([0.0]))],
              ["tanh", "sigmoid"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = net.forward([[-5.0], [5.0]])
        e = net.error([[-5.0], [5.0]], [[1.0], [0.0]], "bce")
        g = net.gradients([[-5.0], [5.0]], [[1.0], [0.0]], "bce")
    assert np.all(np.isfinite(y)) and e == pytest.approx(2000.0)
    assert all(np.all(np.isfinite(a)) for pair in g for a in pair)


def test_hessian_of_quadratic_error_is_exact(rng):
    net = MLP.random([2, 1], ["identity"], seed=0)
    X, t = rng.normal(size=(10, 2)), rng.normal(size=(10, 1))

    def grad(w):
        n = net.copy().set_params(w)
        return np.concatenate([np.concatenate([dW.ravel(), db]) for dW, db in n.gradients(X, t)])
    H = numerical_hessian(grad, net.get_params())
    Xa = np.hstack([X, np.ones((10, 1))])
    np.testing.assert_allclose(H, Xa.T @ Xa, atol=1e-6)


@pytest.mark.parametrize("bad,match", [
    (lambda: MLP([(np.ones((2, 3)), np.ones(3))], ["tanh"]), "one entry per row"),
    (lambda: MLP([(np.ones((2, 3)), np.ones(2)), (np.ones((1, 3)), np.ones(1))], ["tanh", "identity"]),
     "expects 3 inputs"),
    (lambda: MLP([(np.ones((2, 3)), np.ones(2))], ["tanh", "identity"]), "one activation per layer"),
    (lambda: MLP([(np.ones((2, 3)), np.ones(2))], ["swish"]), "unknown activation 'swish'"),
    (lambda: MLP([(np.ones((2, 3)), np.ones(2))], "tanh"), "one name per layer"),
    (lambda: MLP([(np.full((2, 3), np.nan), np.ones(2))], ["tanh"]), "W_1 contains NaN"),
    (lambda: MLP([], []), "at least one layer"),
    (lambda: MLP([(np.ones((2, 3)), np.ones(2)), (np.ones((1, 2)), np.ones(1))], ["softmax", "identity"]),
     "only supported as the output"),
    (lambda: MLP.random([2, 0, 1], ["tanh", "identity"]), "layer size must be positive"),
    (lambda: MLP.random([2, 3, 1], ["tanh", "identity"]).forward(np.ones(3)), "expects 2 inputs"),
    (lambda: MLP.random([2, 3, 1], ["tanh", "identity"]).forward([np.inf, 1.0]), "x contains inf"),
    (lambda: MLP.random([2, 3, 1], ["tanh", "identity"]).forward(np.ones((0, 2))), "x is empty"),
    (lambda: MLP.random([2, 3, 1], ["tanh", "identity"]).forward(["a", "b"]), "numeric"),
    (lambda: MLP.random([2, 3, 2], ["tanh", "identity"]).gradients(np.ones(2), np.ones(3)), "t has shape"),
    (lambda: MLP.random([2, 3, 1], ["tanh", "identity"]).gradients(np.ones(2), [1.0], "mae"), "unknown loss 'mae'"),
    (lambda: MLP.random([2, 3, 1], ["tanh", "identity"]).gradients(np.ones(2), [np.nan]), "t contains NaN"),
    (lambda: MLP.random([2, 3, 1], ["tanh", "identity"]).gradients(np.ones(2), [1.0], "bce"), "needs a sigmoid"),
])
def test_bad_input_raises_value_error_naming_the_problem(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


# ---------------------------------------------------------------- saturation (chapter 2)
from nnbook.nn.mlp import saturation  # noqa: E402


def test_saturation_matches_a_hand_count():
    rng = np.random.default_rng(0)
    net = MLP.random([3, 5, 4, 1], ["tanh", "tanh", "identity"], seed=1, scale=3.0)
    X = rng.normal(size=(50, 3))
    s = saturation(net, X, tol=0.1)
    a1 = X @ net.weights[0][0].T + net.weights[0][1]
    a2 = np.tanh(a1) @ net.weights[1][0].T + net.weights[1][1]
    for l, a in enumerate([a1, a2]):
        slope = 1 - np.tanh(a) ** 2            # tanh'(a) / tanh'(0)
        assert np.isclose(s.a_std[l], a.std())
        assert np.isclose(s.slope[l], slope.mean())
        assert np.isclose(s.saturated[l], np.mean(slope < 0.1))
    assert s.grad_norm is None


def test_saturation_grows_with_the_initial_scale_and_gradients_shrink():
    rng = np.random.default_rng(1)
    X, T = rng.normal(size=(200, 10)), rng.normal(size=(200, 1))
    small = saturation(MLP.random([10, 30, 30, 1], ["tanh", "tanh", "identity"], seed=0, scale=0.5), X, T)
    large = saturation(MLP.random([10, 30, 30, 1], ["tanh", "tanh", "identity"], seed=0, scale=8.0), X, T)
    assert np.all(small.saturated < 0.05) and np.all(large.saturated > 0.5)
    assert np.all(large.slope < small.slope)
    assert small.grad_norm.shape == (3,)
    # sigmoid: h'(0) = 1/4 is the reference slope; relu: the slope right of 0
    sig = saturation(MLP.random([10, 8, 1], ["sigmoid", "identity"], seed=0, scale=1e-6), X)
    assert np.isclose(sig.slope[0], 1.0) and sig.saturated[0] == 0.0
    relu = saturation(MLP.random([10, 8, 1], ["relu", "identity"], seed=0), X)
    assert 0.0 < relu.slope[0] < 1.0


def test_saturation_rejects_bad_input():
    net = MLP.random([2, 3, 1], ["tanh", "identity"], seed=0)
    with pytest.raises(ValueError, match="no hidden layer"):
        saturation(MLP.random([2, 1], ["identity"]), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="tol"):
        saturation(net, np.zeros((3, 2)), tol=1.5)
    with pytest.raises(ValueError, match="batch"):
        saturation(net, np.zeros(2))
    with pytest.raises(ValueError, match="MLP"):
        saturation("net", np.zeros((3, 2)))


# ------------------------------------------------------------------ named parameters for fit
def test_params_are_the_networks_own_arrays():
    net = MLP.random([2, 3, 1], ["tanh", "identity"], seed=0)
    p = net.params
    assert list(p) == ["W1", "b1", "W2", "b2"]
    p["W1"] += 1.0
    np.testing.assert_array_equal(net.weights[0][0], p["W1"])


@pytest.mark.parametrize("loss,out", [("sse", "identity"), ("bce", "sigmoid"), ("ce", "softmax")])
def test_loss_and_grads_is_the_error_and_backprop_keyed_by_name(loss, out, rng):
    K = 3 if loss == "ce" else 1
    net = MLP.random([2, 4, K], ["tanh", out], seed=1)
    X = rng.normal(size=(6, 2))
    T = np.eye(K)[rng.integers(0, K, 6)] if loss == "ce" else rng.uniform(0.1, 0.9, (6, 1))
    E, g = net.loss_and_grads(net.params, X, T, loss=loss)
    assert E == net.error(X, T, loss)
    for l, (dW, db) in enumerate(net.gradients(X, T, loss), start=1):
        np.testing.assert_array_equal(g[f"W{l}"], dW)
        np.testing.assert_array_equal(g[f"b{l}"], db)
    # other arrays of the same names: the network is not touched, the gradient is theirs
    before = net.get_params()
    keys = list(net.params)
    f = lambda arrays: (lambda r: (r[0], [r[1][k] for k in keys]))(
        net.loss_and_grads(dict(zip(keys, arrays)), X, T, loss=loss))
    other = [a + 0.1 for a in net.params.values()]
    assert gradcheck(f, other) < 1e-6
    np.testing.assert_array_equal(net.get_params(), before)


def test_loss_and_grads_names_bad_params():
    net = MLP.random([2, 3, 1], ["tanh", "identity"], seed=0)
    X, T = np.ones((2, 2)), np.ones((2, 1))
    with pytest.raises(ValueError, match=r"lacks the key\(s\)"):
        net.loss_and_grads({"W1": net.weights[0][0]}, X, T)
    bad = dict(net.params, W2=np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"params\['W2'\] has shape"):
        net.loss_and_grads(bad, X, T)
    with pytest.raises(ValueError, match="dict"):
        net.loss_and_grads([1, 2], X, T)
