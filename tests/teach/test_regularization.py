"""nnbook.teach.regularization: equivalent networks and early stopping against weight decay (chapter 4)."""
import numpy as np
import pytest

from nnbook.train.mlp import penalty


# ------------------------------------------------------------------ chapter 4: equivalent networks
from nnbook.teach.regularization import (early_stopping_weights, equivalent_alpha,
                                         quadratic_gd, transform_inputs, transform_outputs,
                                         weight_decay_weights)



@pytest.mark.parametrize("seed", range(5))
def test_transform_inputs_leaves_the_function_unchanged(seed, random_net):
    r = np.random.default_rng(seed)
    net = random_net(seed)
    X = r.normal(size=(20, 3))
    for a, b in [(r.uniform(0.3, 3) * r.choice([-1, 1]), r.normal()),
                 (r.uniform(0.3, 3, 3) * r.choice([-1, 1], 3), r.normal(size=3))]:
        new = transform_inputs(net, a, b)
        assert np.max(np.abs(new(a * X + b) - net(X))) < 1e-12
    assert net.weights[0][0] is not new.weights[0][0]  # the original is untouched


@pytest.mark.parametrize("seed", range(5))
def test_transform_outputs_scales_and_shifts_the_outputs(seed, random_net):
    r = np.random.default_rng(seed)
    net = random_net(seed)
    X = r.normal(size=(20, 3))
    for c, d in [(r.uniform(0.3, 3) * r.choice([-1, 1]), r.normal()),
                 (r.uniform(0.3, 3, 2), r.normal(size=2))]:
        new = transform_outputs(net, c, d)
        assert np.max(np.abs(new(X) - (c * net(X) + d))) < 1e-12


def test_both_transformations_compose_and_scale_the_layer_penalties(random_net):
    net = random_net(7, sizes=(2, 6, 1))
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


def test_bad_transformations(random_net):
    net = random_net(0)
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
        transform_outputs(random_net(0, out="sigmoid"), 2.0, 0.0)
    with pytest.raises(ValueError, match="net must be an MLP"):
        transform_inputs("net", 1.0, 0.0)


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
