import numpy as np
import pytest

from nnbook import MLP, gradcheck
from nnbook.data.datasets import moons
from nnbook.teach.regularization import batch_gd, penalty, penalty_gradients, sgd, train


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


# ------------------------------------------------------------------ chapter 4: equivalent networks
from nnbook.teach.regularization import (early_stopping_weights, equivalent_alpha,  # noqa: E402
                                         quadratic_gd, transform_inputs, transform_outputs,
                                         weight_decay_weights)


def _random_net(seed, sizes=(3, 5, 4, 2), out="identity"):
    net = MLP.random(list(sizes), ["tanh"] * (len(sizes) - 2) + [out], seed=seed)
    r = np.random.default_rng(seed + 100)
    for _, b in net.weights:
        b += r.normal(size=b.shape)
    return net


@pytest.mark.parametrize("seed", range(5))
def test_transform_inputs_leaves_the_function_unchanged(seed):
    r = np.random.default_rng(seed)
    net = _random_net(seed)
    X = r.normal(size=(20, 3))
    for a, b in [(r.uniform(0.3, 3) * r.choice([-1, 1]), r.normal()),
                 (r.uniform(0.3, 3, 3) * r.choice([-1, 1], 3), r.normal(size=3))]:
        new = transform_inputs(net, a, b)
        assert np.max(np.abs(new(a * X + b) - net(X))) < 1e-12
    assert net.weights[0][0] is not new.weights[0][0]  # the original is untouched


@pytest.mark.parametrize("seed", range(5))
def test_transform_outputs_scales_and_shifts_the_outputs(seed):
    r = np.random.default_rng(seed)
    net = _random_net(seed)
    X = r.normal(size=(20, 3))
    for c, d in [(r.uniform(0.3, 3) * r.choice([-1, 1]), r.normal()),
                 (r.uniform(0.3, 3, 2), r.normal(size=2))]:
        new = transform_outputs(net, c, d)
        assert np.max(np.abs(new(X) - (c * net(X) + d))) < 1e-12


def test_both_transformations_compose_and_scale_the_layer_penalties():
    net = _random_net(7, sizes=(2, 6, 1))
    a, b, c, d = 2.5, -1.0, 3.0, 0.5
    new = transform_outputs(transform_inputs(net, a, b), c, d)
    X = np.random.default_rng(0).normal(size=(30, 2))
    assert np.max(np.abs(new(a * X + b) - (c * net(X) + d))) < 1e-12
    # penalty on W_1 scales by 1/a^2, on W_2 by c^2; biases do not scale
    p = lambda n, ld: penalty(n, layer_decay=ld)
    assert p(new, [1.0, 0.0]) == pytest.approx(p(net, [1.0, 0.0]) / a**2, rel=1e-12)
    assert p(new, [0.0, 1.0]) == pytest.approx(p(net, [0.0, 1.0]) * c**2, rel=1e-12)
    assert p(new, [a**2 * 0.3, 0.7 / c**2]) == pytest.approx(p(net, [0.3, 0.7]), rel=1e-12)
    assert penalty(new, 1.0) != pytest.approx(penalty(net, 1.0))


def test_bad_transformations():
    net = _random_net(0)
    with pytest.raises(ValueError, match="a must be non-zero"):
        transform_inputs(net, 0.0, 1.0)
    with pytest.raises(ValueError, match="a must be non-zero"):
        transform_inputs(net, [1.0, 0.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="c must be non-zero"):
        transform_outputs(net, 0, 1.0)
    with pytest.raises(ValueError, match="b contains NaN"):
        transform_inputs(net, 1.0, np.nan)
    with pytest.raises(ValueError, match="d contains inf"):
        transform_outputs(net, 1.0, np.inf)
    with pytest.raises(ValueError, match="a has 2 entries"):
        transform_inputs(net, [1.0, 2.0], 0.0)
    with pytest.raises(ValueError, match="c has 3 entries"):
        transform_outputs(net, [1.0, 2.0, 3.0], 0.0)
    with pytest.raises(ValueError, match="linear"):
        transform_outputs(_random_net(0, out="sigmoid"), 2.0, 0.0)
    with pytest.raises(ValueError, match="net must be an MLP"):
        transform_inputs("net", 1.0, 0.0)


# ------------------------------------------------------------------ chapter 4: layer decay in train
@pytest.mark.parametrize("wd,ld", [(0.0, [0.5, 2.0]), (0.2, [0.3, 0.0])])
def test_train_step_is_the_gradient_of_the_regularized_objective(wd, ld, rng):
    """One batch epoch moves the weights by -lr times the finite-difference gradient."""
    net = _random_net(3, sizes=(2, 4, 1))
    X, T = rng.normal(size=(10, 2)), rng.normal(size=(10, 1))
    lr = 1e-3
    from nnbook import numerical_gradient

    objective = lambda w: (MLP(w, net.activations).error(X, T, "sse")
                           + penalty(MLP(w, net.activations), wd, ld))
    g = numerical_gradient(objective, net.weights)
    before = net.get_params()
    h = train(net, X, T, "sse", lr, 1, weight_decay=wd, layer_decay=ld)
    step = (before - net.get_params()) / lr
    g_flat = np.concatenate([np.concatenate([gW.ravel(), gb]) for gW, gb in g])
    np.testing.assert_allclose(step, g_flat, atol=1e-7)
    start = net.copy().set_params(before)
    assert h.objective[0] == pytest.approx(objective(start.weights))


def test_layer_decay_leaves_biases_free(rng):
    net = _random_net(4, sizes=(2, 3, 1))
    X, T = rng.normal(size=(5, 2)), rng.normal(size=(5, 1))
    plain, decayed = net.copy(), net.copy()
    train(plain, X, T, "sse", 0.01, 1)
    train(decayed, X, T, "sse", 0.01, 1, layer_decay=[5.0, 5.0])
    for (_, b1), (_, b2) in zip(plain.weights, decayed.weights):
        np.testing.assert_array_equal(b1, b2)
    assert not np.allclose(plain.weights[0][0], decayed.weights[0][0])


# ------------------------------------------------------------------ chapter 4: early stopping = decay
def test_early_stopping_formula_matches_gradient_descent():
    lambdas = np.array([0.01, 0.1, 0.5, 1.0, 3.0])
    w_star = np.array([1.0, -2.0, 0.5, 3.0, -1.0])
    path = quadratic_gd(lambdas, w_star, 0.3, 200)
    assert path.shape == (201, 5) and np.all(path[0] == 0)
    for tau in [0, 1, 2, 17, 200]:
        np.testing.assert_allclose(path[tau], early_stopping_weights(lambdas, w_star, 0.3, tau),
                                   rtol=1e-12, atol=1e-14)


def test_weight_decay_weights_minimise_the_regularized_quadratic():
    lambdas, w_star, alpha = np.array([0.2, 1.0, 4.0]), np.array([1.0, -1.0, 2.0]), 0.7
    w = weight_decay_weights(lambdas, w_star, alpha)
    np.testing.assert_allclose(lambdas * (w - w_star) + alpha * w, 0, atol=1e-15)
    np.testing.assert_array_equal(weight_decay_weights(lambdas, w_star, 0.0), w_star)
    # long gradient descent on E + alpha/2 |w|^2 converges there too
    w_gd = np.zeros(3)
    for _ in range(2000):
        w_gd -= 0.1 * (lambdas * (w_gd - w_star) + alpha * w_gd)
    np.testing.assert_allclose(w_gd, w, atol=1e-12)


def test_equivalent_alpha_matches_flat_directions():
    lr, tau = 0.05, 400
    alpha = equivalent_alpha(lr, tau)
    assert alpha == pytest.approx(1 / (lr * tau))
    lam = np.array([1e-6])
    ratio = early_stopping_weights(lam, 1.0, lr, tau) / weight_decay_weights(lam, 1.0, alpha)
    assert ratio[0] == pytest.approx(1.0, rel=1e-3)
    # 1/tau is wrong by the factor eta in that limit
    ratio_tau = early_stopping_weights(lam, 1.0, lr, tau) / weight_decay_weights(lam, 1.0, 1 / tau)
    assert ratio_tau[0] == pytest.approx(lr, rel=1e-3)


def test_bad_quadratic_input():
    with pytest.raises(ValueError, match="lambdas .* must be positive"):
        early_stopping_weights([1.0, -1.0], [1.0, 1.0], 0.1, 3)
    with pytest.raises(ValueError, match="same length"):
        weight_decay_weights([1.0, 2.0], [1.0, 1.0, 1.0], 0.1)
    with pytest.raises(ValueError, match="tau must be an integer"):
        early_stopping_weights([1.0], [1.0], 0.1, 2.5)
    with pytest.raises(ValueError, match="alpha must be non-negative"):
        weight_decay_weights([1.0], [1.0], -0.1)
    with pytest.raises(ValueError, match="lr must be positive"):
        quadratic_gd([1.0], [1.0], 0.0, 3)
    with pytest.raises(ValueError, match="w_star contains NaN"):
        quadratic_gd([1.0], [np.nan], 0.1, 3)


# ---------------------------------------------------------------- restarts and the M sweep (ch 4-5)
from nnbook.data.datasets import noisy_sine  # noqa: E402
from nnbook.teach.regularization import hidden_unit_sweep, restarts  # noqa: E402


def test_restarts_are_the_same_as_training_each_seed_by_hand():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    t = np.array([[0], [1], [1], [0]], float)
    runs = restarts([2, 2, 1], ["sigmoid", "sigmoid"], X, t, "bce", 0.5, 30, seeds=[3, 4], scale=2.0)
    for (net, hist), seed in zip(runs, [3, 4]):
        ref = MLP.random([2, 2, 1], ["sigmoid", "sigmoid"], seed=seed, scale=2.0)
        h = train(ref, X, t, "bce", 0.5, 30)
        np.testing.assert_array_equal(net.get_params(), ref.get_params())
        np.testing.assert_array_equal(hist.train_error, h.train_error)
    with pytest.raises(ValueError, match="seeds"):
        restarts([2, 2, 1], ["sigmoid", "sigmoid"], X, t, "bce", 0.5, 3, seeds=[])


def test_hidden_unit_sweep_records_per_pattern_errors():
    X, t = noisy_sine(12, noise=0.2, seed=0)
    Xv, tv = noisy_sine(30, noise=0.2, seed=1)
    sw = hidden_unit_sweep([1, 3], X, t, Xv, tv, "sse", 0.05, 40, n_restarts=2, seed=5)
    assert sw.val_error.shape == sw.train_error.shape == (2, 2)
    for i, M in enumerate([1, 3]):
        for r in range(2):
            net = sw.nets[i][r]
            assert net.sizes == [1, M, 1]
            assert np.isclose(sw.val_error[i, r], 0.5 * np.mean((net(Xv) - tv) ** 2))
            ref = MLP.random([1, M, 1], ["tanh", "identity"], seed=5 + r)
            train(ref, X, t, "sse", 0.05, 40)
            np.testing.assert_array_equal(ref.get_params(), net.get_params())
    i, r = sw.best
    assert sw.val_error[i, r] == sw.val_error.min()
    with pytest.raises(ValueError, match="M"):
        hidden_unit_sweep([0], X, t, Xv, tv, "sse", 0.05, 1, n_restarts=1)
    with pytest.raises(ValueError, match="n_restarts"):
        hidden_unit_sweep([2], X, t, Xv, tv, "sse", 0.05, 1, n_restarts=0)
    with pytest.raises(ValueError, match="Ms is empty"):
        hidden_unit_sweep([], X, t, Xv, tv, "sse", 0.05, 1, n_restarts=1)


def test_restarts_with_bfgs_are_bfgs_from_each_seed():
    from nnbook.teach.quadratic import bfgs

    X, t = noisy_sine(12, noise=0.2, seed=0)
    runs = restarts([1, 2, 1], ["tanh", "identity"], X, t, "sse", 0.0, 200, seeds=[0, 1],
                    method="bfgs")
    for net, hist in runs:
        assert hist.train_error[1] < hist.train_error[0]
        assert np.isclose(hist.train_error[1], net.error(X, t))
    for (net, hist), seed in zip(runs, [0, 1]):
        ref = MLP.random([1, 2, 1], ["tanh", "identity"], seed=seed)
        assert bfgs(ref, X, t, "sse", maxiter=200) == hist.stopped_epoch
        np.testing.assert_array_equal(ref.get_params(), net.get_params())
    Xv, tv = noisy_sine(20, noise=0.2, seed=1)
    sw = hidden_unit_sweep([2], X, t, Xv, tv, "sse", 0.0, 200, n_restarts=2, method="bfgs")
    np.testing.assert_array_equal(sw.nets[0][0].get_params(), runs[0][0].get_params())
    with pytest.raises(ValueError, match="method"):
        restarts([1, 2, 1], ["tanh", "identity"], X, t, "sse", 0.1, 5, seeds=[0], method="newton")
    with pytest.raises(ValueError, match="no training options"):
        restarts([1, 2, 1], ["tanh", "identity"], X, t, "sse", 0.1, 5, seeds=[0], method="bfgs",
                 batch_size=2)
