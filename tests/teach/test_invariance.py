import numpy as np
import pytest

from nnbook import MLP, numerical_gradient
from nnbook.data.datasets import digits
from nnbook.teach.invariance import (augment_shifts, fourier_magnitude, output_tangent,
                                     shift_images, tangent_penalty, tangent_vectors)


def _image(rng, size=8):
    return rng.uniform(size=size * size)


def test_whole_pixel_shift_moves_pixels_and_fills_zeros(rng):
    x = _image(rng)
    img = x.reshape(8, 8)
    right = shift_images(x, 1, 0).reshape(8, 8)
    np.testing.assert_array_equal(right[:, 1:], img[:, :-1])
    np.testing.assert_array_equal(right[:, 0], 0)
    up = shift_images(x, 0, -2).reshape(8, 8)
    np.testing.assert_array_equal(up[:-2], img[2:])
    np.testing.assert_array_equal(up[-2:], 0)
    np.testing.assert_array_equal(shift_images(x, 0, 0), x)
    assert np.all(shift_images(x, 9, 0) == 0)


def test_fractional_shift_interpolates_linearly(rng):
    X = rng.uniform(size=(3, 64))
    half = shift_images(X, 0.25, -0.5)
    # reference: shift columns then rows by explicit mixing of whole-pixel shifts
    cols = 0.75 * X + 0.25 * shift_images(X, 1, 0)
    ref = 0.5 * shift_images(cols, 0, -1) + 0.5 * cols
    np.testing.assert_allclose(half, ref, atol=1e-15)


def test_wrap_is_circular_and_fourier_magnitude_invariant(rng):
    X = rng.uniform(size=(4, 64))
    Y = shift_images(X, 3, -2, wrap=True)
    np.testing.assert_array_equal(Y.reshape(4, 8, 8), np.roll(X.reshape(4, 8, 8), (-2, 3), (1, 2)))
    np.testing.assert_allclose(fourier_magnitude(Y), fourier_magnitude(X), atol=1e-12)
    assert np.max(np.abs(Y - X)) > 0.1


def test_augment_shifts_keeps_targets():
    X, T, _ = digits((0, 1))
    Xa, Ta = augment_shifts(X[:10], T[:10], [(1, 0), (0, -1)])
    assert Xa.shape == (30, 64) and Ta.shape == (30, 2)
    np.testing.assert_array_equal(Xa[10:20], shift_images(X[:10], 1, 0))
    np.testing.assert_array_equal(Ta[20:], T[:10])


def test_tangent_vector_is_central_pixel_difference(rng):
    x = _image(rng)
    img = np.pad(x.reshape(8, 8), 1)
    ref = -(img[1:-1, 2:] - img[1:-1, :-2]) / 2
    for eps in (0.1, 0.5, 1.0):
        np.testing.assert_allclose(tangent_vectors(x, "x", eps).reshape(8, 8), ref, atol=1e-14)
    refy = -(img[2:, 1:-1] - img[:-2, 1:-1]) / 2
    np.testing.assert_allclose(tangent_vectors(x, "y").reshape(8, 8), refy, atol=1e-14)


@pytest.mark.parametrize("acts", [["tanh", "softmax"], ["sigmoid", "tanh", "identity"],
                                  ["relu", "sigmoid"]])
def test_output_tangent_matches_finite_differences(acts, rng):
    sizes = [5] + [4] * (len(acts) - 1) + [3]
    net = MLP.random(sizes, acts, seed=1)
    X, V = rng.normal(size=(6, 5)), rng.normal(size=(6, 5))
    eps = 1e-6
    fd = (net(X + eps * V) - net(X - eps * V)) / (2 * eps)
    np.testing.assert_allclose(output_tangent(net, X, V), fd, atol=1e-8)
    np.testing.assert_allclose(output_tangent(net, X[0], V[0]), fd[0], atol=1e-8)
    # the penalty is half the squared directional derivative, summed
    assert tangent_penalty(net, X, V) == pytest.approx(0.5 * np.sum(fd**2), rel=1e-6)


def test_tangent_penalty_is_the_derivative_of_the_output_along_a_shift(rng):
    """Omega is (half the square of) d y(s(x, xi)) / d xi at xi = 0."""
    net = MLP.random([64, 6, 2], ["tanh", "softmax"], seed=0)
    x = digits()[0][5]
    V = tangent_vectors(x)
    f = lambda xi: net(shift_images(x, float(xi[0]), 0))[0]
    g = numerical_gradient(f, np.array([0.0]), eps=1e-6)  # central difference across the kink at 0
    assert output_tangent(net, x, V)[0] == pytest.approx(g[0], abs=1e-8)


def test_bad_invariance_input():
    net = MLP.random([64, 3, 2], ["tanh", "softmax"], seed=0)
    with pytest.raises(ValueError, match="X has 10 pixels"):
        shift_images(np.ones(10), 1, 0)
    with pytest.raises(ValueError, match="dx must be finite"):
        shift_images(np.ones(64), np.inf, 0)
    with pytest.raises(ValueError, match="whole-pixel"):
        shift_images(np.ones(64), 0.5, 0, wrap=True)
    with pytest.raises(ValueError, match="unknown direction"):
        tangent_vectors(np.ones(64), "z")
    with pytest.raises(ValueError, match="V has shape"):
        output_tangent(net, np.ones((2, 64)), np.ones((3, 64)))
    with pytest.raises(ValueError, match="T has 1 rows"):
        augment_shifts(np.ones((2, 64)), np.ones((1, 2)), [(1, 0)])
    with pytest.raises(ValueError, match="pair"):
        augment_shifts(np.ones((2, 64)), np.ones((2, 2)), [1])
