import numpy as np
import pytest

from nnbook import MLP
from nnbook.teach.quadratic import (beta_ml, eigen_analysis, gd_on_quadratic, hessian,
                                    quadratic_model, rotated_hessian, stability_limit)


def _flat_grad(net, X, T, loss):
    return np.concatenate([np.concatenate([dW.ravel(), db]) for dW, db in net.gradients(X, T, loss)])


def test_hessian_of_linear_regression_is_xtx(rng):
    # E = 1/2 sum_n (w^T x_n + b - t_n)^2  =>  H = A^T A with A = [X, 1] (weights then bias)
    X, t = rng.normal(size=(20, 3)), rng.normal(size=(20, 1))
    net = MLP([(rng.normal(size=(1, 3)), rng.normal(size=1))], ["identity"])
    A = np.hstack([X, np.ones((20, 1))])
    np.testing.assert_allclose(hessian(net, X, t, "sse"), A.T @ A, rtol=1e-9, atol=1e-8)


def test_hessian_is_symmetric_and_matches_second_differences(rng):
    net = MLP.random([2, 3, 1], ["tanh", "sigmoid"], seed=1)
    X, t = rng.normal(size=(7, 2)), (rng.uniform(size=(7, 1)) > 0.5).astype(float)
    H = hessian(net, X, t, "bce")
    np.testing.assert_array_equal(H, H.T)
    w, work, h = net.get_params(), net.copy(), 1e-4

    def E(v):
        return work.set_params(v).error(X, t, "bce")
    for i, j in [(0, 0), (1, 4), (3, 8), (12, 12)]:
        ei, ej = np.eye(w.size)[i] * h, np.eye(w.size)[j] * h
        fd = (E(w + ei + ej) - E(w + ei - ej) - E(w - ei + ej) + E(w - ei - ej)) / (4 * h * h)
        assert H[i, j] == pytest.approx(fd, rel=1e-4, abs=1e-5)


def test_quadratic_model_error_is_third_order(rng):
    net = MLP.random([1, 3, 1], ["tanh", "identity"], seed=2)
    X, t = rng.uniform(size=(15, 1)), rng.normal(size=(15, 1))
    w = net.get_params()
    model = quadratic_model(net.error(X, t), _flat_grad(net, X, t, "sse"), hessian(net, X, t), w)
    assert model(w) == pytest.approx(net.error(X, t))
    d = rng.normal(size=w.size)
    d /= np.linalg.norm(d)
    work = net.copy()
    errs = [abs(work.set_params(w + s * d).error(X, t) - model(w + s * d)) for s in (1e-1, 5e-2)]
    # halving the distance divides a third-order remainder by about 8
    assert 6.0 < errs[0] / errs[1] < 10.0
    # the model's gradient agrees with the true gradient to second order
    g_true = _flat_grad(work.set_params(w + 1e-3 * d), X, t, "sse")
    assert np.max(np.abs(model.gradient(w + 1e-3 * d) - g_true)) < 1e-4


def test_quadratic_model_batch_call_and_newton_step(rng):
    A = rng.normal(size=(4, 4))
    H = A @ A.T + np.eye(4)
    b, w_hat = rng.normal(size=4), rng.normal(size=4)
    m = quadratic_model(2.0, b, H, w_hat)
    pts = rng.normal(size=(3, 5, 4))
    vals = m(pts)
    assert vals.shape == (3, 5)
    assert vals[1, 2] == pytest.approx(m(pts[1, 2]))
    w_min = m.newton_step()
    np.testing.assert_allclose(m.gradient(w_min), 0.0, atol=1e-10)


def test_eigen_analysis_and_condition_number():
    H = rotated_hessian([1.0, 25.0], angle=0.3)
    ea = eigen_analysis(H)
    np.testing.assert_allclose(ea.eigenvalues, [1.0, 25.0])
    assert ea.condition_number == pytest.approx(25.0)
    assert ea.positive_definite
    np.testing.assert_allclose(H @ ea.eigenvectors, ea.eigenvectors * ea.eigenvalues, atol=1e-12)
    np.testing.assert_allclose(abs(ea.eigenvectors[:, 0] @ [np.cos(0.3), np.sin(0.3)]), 1.0)
    saddle = eigen_analysis(np.diag([2.0, -1.0]))
    assert not saddle.positive_definite and saddle.condition_number == pytest.approx(2.0)
    assert eigen_analysis(np.diag([0.0, 1.0])).condition_number == np.inf


@pytest.mark.parametrize("ratio", [1.0, 10.0, 100.0])
def test_gd_on_quadratic_converges_iff_lr_below_two_over_lambda_max(ratio):
    H = rotated_hessian([1.0, ratio], angle=0.4)
    limit = stability_limit(H)
    assert limit == pytest.approx(2.0 / ratio)
    w_star, w0 = np.array([1.0, -2.0]), np.array([3.0, 1.0])
    steps = int(60 * ratio) + 60
    ok = gd_on_quadratic(H, w_star, w0, 0.95 * limit, steps)
    assert ok.shape == (steps + 1, 2)
    np.testing.assert_array_equal(ok[0], w0)
    assert np.linalg.norm(ok[-1] - w_star) < 1e-2 * np.linalg.norm(w0 - w_star)
    bad = gd_on_quadratic(H, w_star, w0, 1.05 * limit, 200)
    assert np.linalg.norm(bad[-1] - w_star) > 10 * np.linalg.norm(w0 - w_star)


def test_gd_on_quadratic_step_is_a_gradient_step():
    H = np.array([[3.0, 1.0], [1.0, 2.0]])
    w_star, w0 = np.array([0.5, 0.5]), np.array([2.0, -1.0])
    path = gd_on_quadratic(H, w_star, w0, 0.1, 1)
    np.testing.assert_allclose(path[1], w0 - 0.1 * H @ (w0 - w_star))


def test_beta_ml_formula():
    y = np.array([[0.0, 1.0], [2.0, 3.0], [1.0, 1.0]])
    t = np.array([[1.0, 1.0], [2.0, 1.0], [1.0, 0.0]])
    # squared residuals 1, 0, 0, 4, 0, 1: sum 6 over N*K = 6 entries -> 1/beta = 1
    assert beta_ml(y, t) == pytest.approx(1.0)
    assert beta_ml([0.0, 0.0, 0.0, 0.0], [1.0, -1.0, 2.0, 0.0]) == pytest.approx(4 / 6)


def test_beta_ml_recovers_the_noise_level():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(20000, 2))
    t = y + rng.normal(0.0, 0.3, size=y.shape)
    assert beta_ml(y, t) == pytest.approx(1 / 0.09, rel=0.03)


def test_bad_input_raises_value_error_naming_the_problem():
    H = np.eye(2)
    with pytest.raises(ValueError, match="square"):
        eigen_analysis(np.ones((2, 3)))
    with pytest.raises(ValueError, match="symmetric"):
        eigen_analysis([[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="NaN"):
        eigen_analysis([[np.nan, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="w0"):
        gd_on_quadratic(H, [0.0, 0.0], [1.0, 2.0, 3.0], 0.1, 5)
    with pytest.raises(ValueError, match="lr"):
        gd_on_quadratic(H, [0.0, 0.0], [1.0, 2.0], -0.1, 5)
    with pytest.raises(ValueError, match="steps"):
        gd_on_quadratic(H, [0.0, 0.0], [1.0, 2.0], 0.1, 2.5)
    with pytest.raises(ValueError, match="diverged"):
        gd_on_quadratic(H, [0.0, 0.0], [1.0, 2.0], 1000.0, 200)
    with pytest.raises(ValueError, match="positive definite"):
        stability_limit(np.diag([1.0, -1.0]))
    with pytest.raises(ValueError, match="same shape"):
        beta_ml([[1.0, 2.0]], [1.0, 2.0])
    with pytest.raises(ValueError, match="infinite"):
        beta_ml([1.0, 2.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="grad"):
        quadratic_model(0.0, [1.0], H, [0.0, 0.0])
    with pytest.raises(ValueError, match="MLP"):
        hessian("net", np.zeros((2, 1)), np.zeros((2, 1)))
    net = MLP.random([2, 1], ["identity"])
    with pytest.raises(ValueError, match="features"):
        hessian(net, np.zeros((3, 4)), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="loss"):
        hessian(net, np.zeros((3, 2)), np.zeros((3, 1)), "mse")
    with pytest.raises(ValueError, match="singular"):
        quadratic_model(0.0, [1.0, 1.0], np.diag([1.0, 0.0]), [0.0, 0.0]).newton_step()


def test_bfgs_reaches_a_minimum_with_positive_definite_hessian():
    from nnbook.data.datasets import noisy_sine
    from nnbook.teach.quadratic import bfgs, flat_gradient
    X, t = noisy_sine(200, 0.15, seed=0)
    net = MLP.random([1, 2, 1], ["tanh", "identity"], seed=1)
    before = net.error(X, t)
    nit = bfgs(net, X, t, "sse", maxiter=500)
    assert 0 < nit <= 500 and net.error(X, t) < before
    assert np.max(np.abs(flat_gradient(net, X, t))) < 1e-6
    assert eigen_analysis(hessian(net, X, t)).positive_definite
    with pytest.raises(ValueError, match="maxiter"):
        bfgs(net, X, t, maxiter=0)
