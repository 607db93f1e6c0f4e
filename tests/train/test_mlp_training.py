"""nnbook.train.mlp: Part I's MLP trained through fit and the shared SGD (weight decay, layer decay, early stopping)."""
import numpy as np
import pytest

from nnbook import MLP, gradcheck
from nnbook.data.datasets import moons
from nnbook.train.mlp import fit_mlp, mlp_weight_decay, penalty


def test_batch_fit_mlp_decreases_error_and_is_deterministic():
    X, t = moons(100, seed=1)
    h1 = fit_mlp(MLP.random([2, 6, 1], ["tanh", "sigmoid"], seed=0), X, t, "bce", 0.02, 50).metrics["train_error"]
    h2 = fit_mlp(MLP.random([2, 6, 1], ["tanh", "sigmoid"], seed=0), X, t, "bce", 0.02, 50).metrics["train_error"]
    np.testing.assert_array_equal(h1, h2)
    assert h1.shape == (51,) and h1[-1] < h1[0]


def test_online_fit_mlp_is_seeded_and_shuffles():
    X, t = moons(60, seed=2)
    run = lambda seed: fit_mlp(MLP.random([2, 5, 1], ["tanh", "sigmoid"], seed=0), X, t, "bce", 0.05, 10,
                                batch_size=1, seed=seed).metrics["train_error"]
    np.testing.assert_array_equal(run(3), run(3))
    assert not np.array_equal(run(3), run(4))
    assert run(3)[-1] < run(3)[0]


def test_one_batch_epoch_is_one_gradient_step(rng):
    net = MLP.random([3, 2], ["identity"], seed=0)
    X, T = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    before = net.copy()
    fit_mlp(net, X, T, "sse", 0.1, 1)
    g = before.gradients(X, T)
    np.testing.assert_allclose(net.weights[0][0], before.weights[0][0] - 0.1 * g[0][0])


@pytest.mark.parametrize("wd,ld", [(0.3, None), (0.0, [0.5, 2.0]), (0.1, [0.2, 0.0])])
def test_weight_decay_is_the_gradient_of_the_penalty(wd, ld):
    net = MLP.random([2, 3, 1], ["tanh", "identity"], seed=0)
    for _, b in net.weights:
        b += 0.5

    def f(w):
        n = MLP(w, net.activations)
        coef = mlp_weight_decay(n, wd, ld)
        grads = [(coef[f"W{l}"] * W, coef[f"b{l}"] * b) for l, (W, b) in enumerate(n.weights, 1)]
        return penalty(n, wd, ld), grads
    assert gradcheck(f, net.weights) < 1e-8


def test_early_stopping_restores_best_weights():
    X, t = moons(80, noise=0.35, seed=0)
    Xv, tv = moons(200, noise=0.35, seed=1)
    net = MLP.random([2, 30, 1], ["tanh", "sigmoid"], seed=0)
    h = fit_mlp(net, X, t, "bce", 0.05, 400, X_val=Xv, T_val=tv, early_stopping=20)
    assert h.stopped_epoch - h.best_epoch == 20 or h.stopped_epoch == 400
    assert net.error(Xv, tv, "bce") == pytest.approx(h.metrics["val_error"][h.best_epoch])
    assert h.metrics["val_error"][h.best_epoch] == h.metrics["val_error"].min()


def test_bad_training_input():
    net = MLP.random([2, 3, 1], ["tanh", "identity"], seed=0)
    X, t = np.ones((4, 2)), np.ones((4, 1))
    with pytest.raises(ValueError, match="lr must be positive"):
        fit_mlp(net, X, t, "sse", 0.0, 1)
    with pytest.raises(ValueError, match="epochs must be an integer"):
        fit_mlp(net, X, t, "sse", 0.1, 1.5)
    with pytest.raises(ValueError, match="one coefficient per layer"):
        fit_mlp(net, X, t, "sse", 0.1, 1, layer_decay=[1.0])
    with pytest.raises(ValueError, match="needs validation data"):
        fit_mlp(net, X, t, "sse", 0.1, 1, early_stopping=3)
    with pytest.raises(ValueError, match="X must have 2"):
        fit_mlp(net, np.ones(2), t, "sse", 0.1, 1)



# ------------------------------------------------------------------ chapter 4: layer decay in fit_mlp
@pytest.mark.parametrize("wd,ld", [(0.0, [0.5, 2.0]), (0.2, [0.3, 0.0])])
def test_train_step_is_the_gradient_of_the_regularized_objective(wd, ld, rng, random_net):
    """One batch epoch moves the weights by -lr times the finite-difference gradient."""
    net = random_net(3, sizes=(2, 4, 1))
    X, T = rng.normal(size=(10, 2)), rng.normal(size=(10, 1))
    lr = 1e-3
    from nnbook import numerical_gradient

    objective = lambda w: (MLP(w, net.activations).error(X, T, "sse")
                           + penalty(MLP(w, net.activations), wd, ld))
    g = numerical_gradient(objective, net.weights)
    before = net.get_params()
    h = fit_mlp(net, X, T, "sse", lr, 1, weight_decay=wd, layer_decay=ld)
    step = (before - net.get_params()) / lr
    g_flat = np.concatenate([np.concatenate([gW.ravel(), gb]) for gW, gb in g])
    np.testing.assert_allclose(step, g_flat, atol=1e-7)
    start = net.copy().set_params(before)
    assert h.metrics["objective"][0] == pytest.approx(objective(start.weights))


def test_layer_decay_leaves_biases_free(rng, random_net):
    net = random_net(4, sizes=(2, 3, 1))
    X, T = rng.normal(size=(5, 2)), rng.normal(size=(5, 1))
    plain, decayed = net.copy(), net.copy()
    fit_mlp(plain, X, T, "sse", 0.01, 1)
    fit_mlp(decayed, X, T, "sse", 0.01, 1, layer_decay=[5.0, 5.0])
    for (_, b1), (_, b2) in zip(plain.weights, decayed.weights):
        np.testing.assert_array_equal(b1, b2)
    assert not np.allclose(plain.weights[0][0], decayed.weights[0][0])
