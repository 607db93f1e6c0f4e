"""Bad input to nnbook.data raises an error naming the argument (issue 17); generated valid
fractions always give two non-empty, disjoint parts that cover the data."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbook.data.datasets import digits, moons, noisy_sine, sample_image, split, split3


@pytest.mark.parametrize("call, name", [
    (lambda: digits(classes=(11,)), "classes"),
    (lambda: digits(classes="a"), "classes"),
    (lambda: digits(classes=()), "classes"),
    (lambda: digits(classes=(1, 1)), "classes"),
    (lambda: digits(classes=(1.0, 2)), "classes"),
    (lambda: split(np.ones((10, 2)), np.ones(10), "0.5"), "fraction"),
    (lambda: split(np.ones((10, 2)), np.ones(10), 0.01), "fraction"),
    (lambda: split(np.ones((10, 2)), np.ones(10), 0.5, seed=1.5), "seed"),
    (lambda: split3(np.ones((10, 2)), np.ones(10), "0.2"), "val_fraction"),
    (lambda: sample_image(scale=1000), "scale"),
    (lambda: sample_image("China", gray="yes"), "gray"),
    (lambda: noisy_sine(noise=np.inf), "noise"),
    (lambda: noisy_sine(noise=-1.0), "noise"),
    (lambda: moons(noise="x"), "noise"),
])
def test_bad_data_arguments_name_the_argument(call, name):
    with pytest.raises((ValueError, TypeError), match=name):
        call()


def test_digits_classes_select_and_order_one_hot_columns():
    X, T, y = digits(classes=[3, np.int64(1)])
    assert set(np.unique(y)) == {1, 3} and T.shape == (len(y), 2)
    np.testing.assert_array_equal(T[:, 0], y == 3)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 40), st.floats(0.01, 0.99), st.integers(0, 1000))
def test_split_gives_two_nonempty_disjoint_parts_or_names_fraction(n, fraction, seed):
    X = np.arange(n, dtype=float)[:, None]
    k = int(round(fraction * n))
    if min(k, n - k) < 1:
        with pytest.raises(ValueError, match="fraction"):
            split(X, X[:, 0], fraction, seed)
        return
    Xa, Ta, Xb, Tb = split(X, X[:, 0], fraction, seed)
    assert len(Xa) == k and len(Xb) == n - k
    assert sorted(np.concatenate([Xa[:, 0], Xb[:, 0]])) == list(range(n))
