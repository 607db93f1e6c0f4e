import numpy as np
import pytest

from nnbook import MLP, gradcheck
from nnbook.data import moons
from nnbook.optim import batch_gd, penalty, penalty_gradients, sgd, train


def test_batch_gd_decreases_error_and_is_deterministic():
    X, t = moons(100, seed=1)
    h1 = batch_gd(MLP.random([2, 6, 1], ["tanh", "sigmoid"], seed=0), X, t, "bce", 0.02, 50)
    h2 = batch_gd(MLP.random([2, 6, 1], ["tanh", "sigmoid"], seed=0), X, t, "bce", 0.02, 50)
    np.testing.assert_array_equal(h1, h2)
    assert h1.shape == (51,) and h1[-1] < h1[0]


def test_sgd_is_seeded_and_shuffles():
    X, t = moons(60, seed=2)
    run = lambda seed: sgd(MLP.random([2, 5, 1], ["tanh", "sigmoid"], seed=0), X, t, "bce", 0.05, 10, seed=seed)
    np.testing.assert_array_equal(run(3), run(3))
    assert not np.array_equal(run(3), run(4))
    assert run(3)[-1] < run(3)[0]


def test_one_batch_epoch_is_one_gradient_step(rng):
    net = MLP.random([3, 2], ["identity"], seed=0)
    X, T = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    before = net.copy()
    train(net, X, T, "sse", 0.1, 1)
    g = before.gradients(X, T)
    np.testing.assert_allclose(net.weights[0][0], before.weights[0][0] - 0.1 * g[0][0])


@pytest.mark.parametrize("wd,ld", [(0.3, None), (0.0, [0.5, 2.0]), (0.1, [0.2, 0.0])])
def test_penalty_gradients_match_finite_differences(wd, ld):
    net = MLP.random([2, 3, 1], ["tanh", "identity"], seed=0)
    for _, b in net.weights:
        b += 0.5

    def f(w):
        n = MLP(w, net.activations)
        return penalty(n, wd, ld), penalty_gradients(n, wd, ld)
    assert gradcheck(f, net.weights) < 1e-8


def test_early_stopping_restores_best_weights():
    X, t = moons(80, noise=0.35, seed=0)
    Xv, tv = moons(200, noise=0.35, seed=1)
    net = MLP.random([2, 30, 1], ["tanh", "sigmoid"], seed=0)
    h = train(net, X, t, "bce", 0.05, 400, X_val=Xv, T_val=tv, early_stopping=20)
    assert h.stopped_epoch - h.best_epoch == 20 or h.stopped_epoch == 400
    assert net.error(Xv, tv, "bce") == pytest.approx(h.val_error[h.best_epoch])
    assert h.val_error[h.best_epoch] == h.val_error.min()


def test_bad_training_input():
    net = MLP.random([2, 3, 1], ["tanh", "identity"], seed=0)
    X, t = np.ones((4, 2)), np.ones((4, 1))
    with pytest.raises(ValueError, match="lr must be positive"):
        train(net, X, t, "sse", 0.0, 1)
    with pytest.raises(ValueError, match="epochs must be an integer"):
        train(net, X, t, "sse", 0.1, 1.5)
    with pytest.raises(ValueError, match="one coefficient per layer"):
        train(net, X, t, "sse", 0.1, 1, layer_decay=[1.0])
    with pytest.raises(ValueError, match="needs validation data"):
        train(net, X, t, "sse", 0.1, 1, early_stopping=3)
    with pytest.raises(ValueError, match="X must have 2"):
        train(net, np.ones(2), t, "sse", 0.1, 1)
