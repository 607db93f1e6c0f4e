import warnings

import numpy as np
import pytest

from nnbook.nn import activations as act
from nnbook.train.gradcheck import numerical_gradient

EXTREME = np.array([-1000.0, -50.0, -1.0, 0.0, 1.0, 50.0, 1000.0])


@pytest.mark.parametrize("name", ["identity", "sigmoid", "tanh", "relu"])
def test_derivative_matches_central_differences(name, rng):
    a = rng.normal(size=50) * 3
    a = a[np.abs(a) > 1e-3]  # keep away from relu's kink
    num = np.array([(act.activation(name)(x + 1e-6) - act.activation(name)(x - 1e-6)) / 2e-6 for x in a])
    assert np.max(np.abs(act.derivative(name, a) - num)) < 1e-8


def test_softmax_jacobian_matches_central_differences(rng):
    a = rng.normal(size=5)
    J = act.softmax_jacobian(a)
    for j in range(5):
        num = numerical_gradient(lambda v: act.softmax(v)[j], a)
        np.testing.assert_allclose(J[j], num, atol=1e-9)


def test_sigmoid_is_stable_and_exact_at_extremes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = act.sigmoid(EXTREME)
        d = act.derivative("sigmoid", EXTREME)
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(d))
    assert s[0] == 0.0 or s[0] < 1e-300
    assert s[-1] == 1.0 and s[3] == 0.5
    np.testing.assert_allclose(s[2], 1 / (1 + np.e), rtol=1e-15)
    np.testing.assert_allclose(s + act.sigmoid(-EXTREME), 1.0, rtol=1e-15)


def test_softmax_and_log_softmax_stable():
    a = np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = act.softmax(a)
        ly = act.log_softmax(a)
        sp = act.softplus(EXTREME)
    np.testing.assert_allclose(y.sum(axis=1), 1.0)
    np.testing.assert_allclose(y[1], 1 / 3)
    np.testing.assert_allclose(ly[0], [0.0, -1000.0, -2000.0])
    np.testing.assert_allclose(sp[-1], 1000.0)
    assert sp[0] < 1e-300 and np.all(np.isfinite(sp))


def test_softmax_is_shift_invariant(rng):
    a = rng.normal(size=(4, 6))
    np.testing.assert_allclose(act.softmax(a), act.softmax(a + 123.4), rtol=1e-12)


def test_tanh_is_rescaled_sigmoid(rng):
    a = rng.normal(size=20)
    np.testing.assert_allclose(act.tanh(a), 2 * act.sigmoid(2 * a) - 1, atol=1e-14)


def test_unknown_activation_names_the_problem():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        act.activation("swish")
    with pytest.raises(ValueError, match="softmax_jacobian"):
        act.derivative("softmax", np.zeros(3))
