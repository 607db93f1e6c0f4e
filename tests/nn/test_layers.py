"""nnbook.nn.layers: every backward against central differences, dropout, batch norm, Sequential."""
import numpy as np
import pytest

from nnbook import numerical_gradient
from nnbook.nn.layers import (BatchNorm2d, Conv2D, Dense, Dropout, Dropout2d, Flatten,
                              GlobalAvgPool, Pool2D, ReLU, Sequential, softmax_cross_entropy)
from nnbook.train.optimizers import Adam
from nnbook.train.fit import fit


def _layer_check(layer, x, train=True, seed=0, tol=1e-6):
    """Compare a layer's backward with central differences of <y, R> in its input and parameters."""
    rng = np.random.default_rng(seed)
    p = layer.init(np.random.default_rng(1))
    y, _ = layer.forward(p, x, train, np.random.default_rng(2))
    R = rng.normal(size=y.shape)
    keys = list(p)

    def f(arrs):
        xx, pp = arrs[0], dict(zip(keys, arrs[1:]))
        return float(np.sum(layer.forward(pp, xx, train, np.random.default_rng(2))[0] * R))

    _, cache = layer.forward(p, x, train, np.random.default_rng(2))
    dx, grads = layer.backward(p, R, cache)
    num = numerical_gradient(f, [x] + [p[k] for k in keys])
    assert set(grads) == set(keys)
    assert np.max(np.abs(dx - num[0])) < tol, np.max(np.abs(dx - num[0]))
    for k, n in zip(keys, num[1:]):
        assert grads[k].shape == p[k].shape
        assert np.max(np.abs(grads[k] - n)) < tol, (k, np.max(np.abs(grads[k] - n)))


@pytest.mark.parametrize("stride,padding", [(1, 0), (1, 1), (2, 1), ((2, 1), (0, 1))])
def test_conv2d_layer_gradients(stride, padding):
    x = np.random.default_rng(0).normal(size=(2, 2, 6, 5))
    _layer_check(Conv2D(2, 3, (3, 2), stride=stride, padding=padding), x)


@pytest.mark.parametrize("mode", ["max", "avg", "min"])
@pytest.mark.parametrize("k,stride", [(2, None), (3, 1), (2, 1)])
def test_pool_layer_gradients(mode, k, stride):
    x = np.random.default_rng(1).normal(size=(2, 2, 6, 6))  # no ties, so max/min are differentiable
    _layer_check(Pool2D(k, stride, mode=mode), x)


def test_relu_flatten_gap_dense_gradients():
    x = np.random.default_rng(2).normal(size=(3, 2, 4, 4))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink
    _layer_check(ReLU(), x)
    _layer_check(Flatten(), x)
    _layer_check(GlobalAvgPool(), x)
    _layer_check(Dense(7, 4), np.random.default_rng(3).normal(size=(5, 7)))


def test_dropout_gradient_uses_the_same_mask():
    x = np.random.default_rng(4).normal(size=(4, 3, 2, 2))
    _layer_check(Dropout(0.4), x, train=True)
    _layer_check(Dropout(0.4), x, train=False)


@pytest.mark.parametrize("shape", [(4, 3, 3, 2), (6, 3)])
@pytest.mark.parametrize("train", [True, False])
def test_batchnorm_gradients(shape, train):
    x = np.random.default_rng(5).normal(1.5, 2.0, size=shape)
    bn = BatchNorm2d(3)
    bn.running_mean, bn.running_var = np.array([0.3, -0.2, 1.0]), np.array([1.5, 0.7, 2.0])

    def run():  # init() resets the running statistics; keep them fixed for the check
        p = {"gamma": np.array([1.2, 0.8, -0.5]), "beta": np.array([0.1, -0.3, 0.2])}
        return p
    bn.init = lambda rng: run()
    mean, var = bn.running_mean.copy(), bn.running_var.copy()
    _layer_check(bn, x, train=train, tol=1e-5)
    if not train:
        assert np.array_equal(bn.running_mean, mean) and np.array_equal(bn.running_var, var)


def test_batchnorm_normalizes_per_channel_over_n_h_w():
    x = np.random.default_rng(6).normal(size=(8, 4, 5, 5)) * np.array([1, 3, 0.1, 10])[None, :, None, None] \
        + np.array([0, 5, -2, 1])[None, :, None, None]
    bn = BatchNorm2d(4)
    y, _ = bn.forward(bn.init(None), x, True, None)
    assert np.allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    v = x.var(axis=(0, 2, 3))
    assert np.allclose(y.var(axis=(0, 2, 3)), v / (v + 1e-5))  # eps keeps it just under 1
    # running statistics: (1 - m) * init + m * batch, unbiased variance
    m = x.size // 4
    assert np.allclose(bn.running_mean, 0.1 * x.mean(axis=(0, 2, 3)))
    assert np.allclose(bn.running_var, 0.9 + 0.1 * x.var(axis=(0, 2, 3)) * m / (m - 1))
    for _ in range(200):
        bn.forward({"gamma": np.ones(4), "beta": np.zeros(4)}, x, True, None)
    y_eval, _ = bn.forward({"gamma": np.ones(4), "beta": np.zeros(4)}, x, False, None)
    assert np.allclose(y_eval.mean(axis=(0, 2, 3)), 0, atol=1e-6)
    assert np.allclose(y_eval.var(axis=(0, 2, 3)), v / (v * m / (m - 1) + 1e-5), rtol=1e-6)  # unbiased running var


def _identity_at_inference_and_needs_rng_in_training(d, x):
    y_inf, _ = d.forward({}, x, False, None)
    assert y_inf is x
    with pytest.raises(ValueError, match="rng"):
        d.forward({}, x, True, None)


def test_dropout_scaling_and_inference():
    x = np.ones((200, 500))
    d = Dropout(0.3)
    y, mask = d.forward({}, x, True, np.random.default_rng(0))
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01
    assert np.allclose(y[kept], 1 / 0.7)
    assert abs(y.mean() - 1.0) < 0.01
    _identity_at_inference_and_needs_rng_in_training(d, x)
    for bad in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="dropout probability|non-negative"):
            Dropout(bad)


def test_dropout2d_gradient_uses_the_same_mask():
    x = np.random.default_rng(8).normal(size=(4, 3, 3, 2))
    _layer_check(Dropout2d(0.4), x, train=True)
    _layer_check(Dropout2d(0.4), x, train=False)


def test_dropout2d_zeroes_whole_maps_and_keeps_the_mean():
    x = np.ones((400, 50, 3, 4))
    d = Dropout2d(0.3)
    y, mask = d.forward({}, x, True, np.random.default_rng(0))
    assert mask.shape == (400, 50, 1, 1)
    per_map = y.reshape(400, 50, -1)
    # every map is either all zero or all 1/(1-p): whole maps are dropped
    assert np.all((per_map.min(axis=2) == per_map.max(axis=2)))
    kept = per_map[:, :, 0] != 0
    assert abs(kept.mean() - 0.7) < 0.01
    assert np.allclose(per_map[kept], 1 / 0.7)
    assert abs(y.mean() - 1.0) < 0.02
    _identity_at_inference_and_needs_rng_in_training(d, x)
    with pytest.raises(ValueError, match="feature maps"):
        d.forward({}, np.ones((3, 4)), True, np.random.default_rng(0))
    with pytest.raises(ValueError, match="dropout probability"):
        Dropout2d(1.0)


def test_softmax_cross_entropy_gradient_and_stability():
    rng = np.random.default_rng(7)
    a, y = rng.normal(size=(5, 4)), np.array([0, 3, 1, 1, 2])
    loss, d = softmax_cross_entropy(a, y)
    num = numerical_gradient(lambda z: softmax_cross_entropy(z, y)[0], a)
    assert np.max(np.abs(d - num)) < 1e-8
    p = np.exp(a) / np.exp(a).sum(1, keepdims=True)
    assert np.isclose(loss, -np.mean(np.log(p[np.arange(5), y])))
    big, _ = softmax_cross_entropy(np.array([[1000.0, 0.0], [0.0, -1000.0]]), np.array([1, 1]))
    assert np.isclose(big, 1000.0 / 2 + 1000.0 / 2)
    for bad_y, msg in ((np.array([0, 4, 1, 1, 2]), "0..3"), (np.array([0.5, 1, 1, 1, 2]), "integer"),
                       (np.array([0, 1]), "vector of 5")):
        with pytest.raises(ValueError, match=msg):
            softmax_cross_entropy(a, bad_y)


def _small_model(**kw):
    return Sequential([Conv2D(1, 3, 3, padding=1), BatchNorm2d(3), ReLU(), Pool2D(2),
                       Conv2D(3, 2, 2), ReLU(), Flatten(), Dropout(0.25), Dense(8, 3)],
                      input_shape=(1, 6, 6), **kw)


def test_sequential_flat_named_params():
    model = _small_model()
    params = model.init(seed=0)
    assert list(params) == ["conv1.w", "conv1.b", "bn1.gamma", "bn1.beta", "conv2.w", "conv2.b",
                            "dense1.w", "dense1.b"]
    assert model.names == ["conv1", "bn1", "relu1", "pool1", "conv2", "relu2", "flatten1",
                           "dropout1", "dense1"]
    assert params["conv1.w"].shape == (3, 1, 3, 3) and params["dense1.w"].shape == (3, 8)
    assert model.shapes[-1] == (3,) and model.shapes[3] == (3, 3, 3)
    assert model.n_params(params) == 27 + 3 + 6 + 24 + 2 + 24 + 3
    again = model.init(seed=0)
    assert all(np.array_equal(params[k], again[k]) for k in params)


def test_sequential_loss_and_grads_match_finite_differences():
    model = _small_model()
    params = model.init(seed=1)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(4, 1, 6, 6)), np.array([0, 2, 1, 2])
    keys = list(params)
    loss, grads = model.loss_and_grads(params, X, y, rng=np.random.default_rng(5))
    num = numerical_gradient(
        lambda arrs: model.loss_and_grads(dict(zip(keys, arrs)), X, y, rng=np.random.default_rng(5))[0],
        [params[k] for k in keys])
    for k, n in zip(keys, num):
        assert np.max(np.abs(grads[k] - n)) < 1e-6, k


def test_sequential_trains_with_fit_and_adam():
    model = Sequential([Conv2D(1, 4, 3), ReLU(), GlobalAvgPool(), Dense(4, 2)], input_shape=(1, 5, 5))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 1, 5, 5))
    X[:20, :, 2, :] += 2.0  # class 0: a bright horizontal bar
    y = np.repeat([0, 1], 20)
    params = model.init(seed=0)
    before = model.loss(params, X, y)
    log = fit(model.loss_and_grads, params, Adam(0.05), (X, y), epochs=30, batch_size=10, seed=0)
    assert log.loss[-1] < before
    assert np.mean(model.predict(params, X) == y) > 0.9


def test_bad_input_raises_value_error():
    model = _small_model()
    params = model.init(seed=0)
    X, y = np.zeros((2, 1, 6, 6)), np.array([0, 1])
    with pytest.raises(ValueError, match="shape"):
        model.forward(params, np.zeros((2, 2, 6, 6)))
    with pytest.raises(ValueError, match="NaN"):
        model.forward(params, np.full((2, 1, 6, 6), np.nan))
    with pytest.raises(ValueError, match=r"lacks the key\(s\) \['conv1.b'\]"):
        model.forward({k: v for k, v in params.items() if k != "conv1.b"}, X)
    with pytest.raises(ValueError, match="Layer"):
        Sequential([Conv2D(1, 2, 3), "relu"])
    with pytest.raises(ValueError, match="Dense expects 5"):
        Sequential([Flatten(), Dense(5, 2)], input_shape=(1, 2, 2))
    with pytest.raises(ValueError, match="channel"):
        Conv2D(2, 3, 3).forward(Conv2D(2, 3, 3).init(np.random.default_rng(0)), X, True, None)
    with pytest.raises(ValueError, match="positive|at least"):
        Conv2D(1, 0, 3)
    with pytest.raises(ValueError, match="pooling mode"):
        Pool2D(2, mode="median")
    with pytest.raises(ValueError, match="labels"):
        model.loss_and_grads(params, X, np.array([0, 7]))
    with pytest.raises(ValueError, match="BatchNorm2d expects"):
        BatchNorm2d(3).forward({"gamma": np.ones(3), "beta": np.zeros(3)}, np.zeros((2, 4, 3, 3)), True, None)
