import warnings

import numpy as np
import pytest

from nnbook.nn import activations as act
from nnbook import loss, loss_from_activations, output_delta
from nnbook.train.gradcheck import numerical_gradient


def test_sse_bce_ce_values():
    assert loss("sse", [1.0, 2.0], [0.0, 0.0]) == pytest.approx(2.5)
    assert loss("bce", [0.25], [1.0]) == pytest.approx(-np.log(0.25))
    assert loss("bce", [0.25], [0.0]) == pytest.approx(-np.log(0.75))
    assert loss("ce", [0.2, 0.5, 0.3], [0, 1, 0]) == pytest.approx(-np.log(0.5))


@pytest.mark.parametrize("name,out", [("sse", "identity"), ("sse", "sigmoid"), ("sse", "tanh"),
                                      ("sse", "softmax"), ("sse", "relu"), ("bce", "sigmoid"),
                                      ("ce", "softmax")])
def test_output_delta_is_derivative_of_error(name, out, rng):
    a = rng.normal(size=4) + 0.1
    t = rng.uniform(size=4) if name != "ce" else np.eye(4)[1]
    num = numerical_gradient(lambda v: loss_from_activations(name, v, t, out), a)
    np.testing.assert_allclose(output_delta(name, a, t, out), num, atol=1e-8)


@pytest.mark.parametrize("name,out", [("sse", "identity"), ("bce", "sigmoid"), ("ce", "softmax")])
def test_canonical_pairs_give_y_minus_t(name, out, rng):
    a = rng.normal(size=(3, 4))
    t = (rng.uniform(size=(3, 4)) > 0.5).astype(float)
    np.testing.assert_allclose(output_delta(name, a, t, out), act.activation(out)(a) - t)


def test_losses_stable_at_extreme_logits():
    a = np.array([[1000.0], [-1000.0]])
    t = np.array([[0.0], [1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        e = loss_from_activations("bce", a, t)
        e_prob = loss("bce", act.sigmoid(a), t)
        ce = loss_from_activations("ce", np.array([1000.0, 0.0, -1000.0]), np.array([0.0, 0.0, 1.0]))
    assert e == pytest.approx(2000.0)        # exact: -ln sigma(-1000) = 1000 each
    assert np.isfinite(e_prob) and e_prob > 700  # clipped, finite, no warning
    assert ce == pytest.approx(2000.0)


def test_bad_loss_input():
    with pytest.raises(ValueError, match="unknown loss 'mse'"):
        loss("mse", [1.0], [1.0])
    with pytest.raises(ValueError, match="same shape"):
        loss("sse", [1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        loss("sse", [np.nan], [1.0])
    with pytest.raises(ValueError, match="probabilities"):
        loss("bce", [1.5], [1.0])
    with pytest.raises(ValueError, match="needs a sigmoid output"):
        output_delta("bce", np.zeros(2), np.zeros(2), "identity")
