"""Weight-space symmetries: same function, different weights, and input validation."""
import math

import numpy as np
import pytest

from nnbook import MLP
from nnbook.teach.symmetry import (apply_symmetry, equivalent_networks, is_odd, n_equivalent,
                                   permute_units, sign_flip, swap_units)


def generic(sizes, acts, seed=0):
    """A network with nonzero random biases too (so that no two units coincide)."""
    net = MLP.random(sizes, acts, seed=seed)
    rng = np.random.default_rng(seed + 100)
    for W, b in net.weights:
        b += rng.normal(size=b.shape)
    return net


@pytest.fixture
def x(rng):
    return rng.normal(size=(50, 2)) * 2


@pytest.mark.parametrize("out", ["identity", "sigmoid", "softmax"])
def test_sign_flip_keeps_the_function(x, out):
    net = generic([2, 4, 3], ["tanh", out])
    for unit in range(4):
        flipped = sign_flip(net, 1, unit)
        assert np.max(np.abs(flipped(x) - net(x))) < 1e-12
        assert not np.allclose(flipped.get_params(), net.get_params())
        W, b = net.weights[0]
        assert np.array_equal(flipped.weights[0][0][unit], -W[unit])
        assert flipped.weights[0][1][unit] == -b[unit]
        assert np.array_equal(flipped.weights[1][0][:, unit], -net.weights[1][0][:, unit])
    # net is not modified
    assert np.array_equal(net.get_params(), generic([2, 4, 3], ["tanh", out]).get_params())


@pytest.mark.parametrize("hidden", ["tanh", "sigmoid", "relu", "identity"])
def test_swap_and_permute_keep_the_function_for_any_activation(x, hidden):
    net = generic([2, 4, 1], [hidden, "identity"])
    swapped = swap_units(net, 1, 0, 3)
    assert np.max(np.abs(swapped(x) - net(x))) < 1e-12
    assert np.array_equal(swapped.weights[0][0][0], net.weights[0][0][3])
    assert np.array_equal(swapped.weights[1][0][:, 3], net.weights[1][0][:, 0])
    perm = permute_units(net, 1, [2, 0, 3, 1])
    assert np.max(np.abs(perm(x) - net(x))) < 1e-12
    assert np.array_equal(swap_units(swapped, 1, 0, 3).get_params(), net.get_params())


def test_symmetries_of_a_middle_layer_in_a_deep_network(x):
    net = generic([2, 3, 4, 2], ["relu", "tanh", "identity"])
    for other in (sign_flip(net, 2, 1), swap_units(net, 2, 0, 2), swap_units(net, 1, 0, 1)):
        assert np.max(np.abs(other(x) - net(x))) < 1e-12
        assert other.sizes == net.sizes and other.activations == net.activations


@pytest.mark.parametrize("M", [1, 2, 3, 4])
def test_equivalent_networks_count_distinct_and_same_function(x, M):
    net = generic([2, M, 2], ["tanh", "identity"], seed=M)
    nets = equivalent_networks(net, 1)
    assert len(nets) == math.factorial(M) * 2 ** M == n_equivalent(M)
    params = np.array([n.get_params() for n in nets])
    assert len({p.tobytes() for p in params}) == len(nets)
    assert np.array_equal(params[0], net.get_params())      # identity first
    y = net(x)
    assert max(np.max(np.abs(n(x) - y)) for n in nets) < 1e-12


def test_equivalent_networks_without_sign_flips(x):
    net = generic([2, 3, 1], ["sigmoid", "identity"])
    nets = equivalent_networks(net, 1)
    assert len(nets) == 6 == n_equivalent(3, odd=False)
    assert len({n.get_params().tobytes() for n in nets}) == 6
    assert max(np.max(np.abs(n(x) - net(x))) for n in nets) < 1e-12
    assert len(equivalent_networks(generic([2, 3, 1], ["tanh", "identity"]), 1, signs=False)) == 6


def test_unchecked_flip_changes_a_sigmoid_network(x):
    net = generic([2, 3, 1], ["sigmoid", "identity"])
    bad = sign_flip(net, 1, 0, require_odd=False)
    assert np.max(np.abs(bad(x) - net(x))) > 1e-3


def test_is_odd():
    assert is_odd("tanh") and is_odd("identity") and is_odd("TANH")
    assert not is_odd("sigmoid") and not is_odd("relu")
    a = np.linspace(-3, 3, 7)
    assert np.allclose(np.tanh(-a), -np.tanh(a))


def test_bad_input_raises_value_error():
    net = generic([2, 3, 1], ["tanh", "identity"])
    relu = generic([2, 3, 1], ["relu", "identity"])
    cases = [
        (lambda: sign_flip(relu, 1, 0), "odd"),
        (lambda: equivalent_networks(relu, 1, signs=True), "odd"),
        (lambda: sign_flip(net, 2, 0), "not a hidden layer"),
        (lambda: sign_flip(net, 0, 0), "not a hidden layer"),
        (lambda: sign_flip(net, 1, 3), "out of range"),
        (lambda: sign_flip(net, 1, -1), "out of range"),
        (lambda: sign_flip(net, 1, 1.0), "integer"),
        (lambda: swap_units(net, 1, 0, 5), "out of range"),
        (lambda: swap_units(net, True, 0, 1), "integer"),
        (lambda: permute_units(net, 1, [0, 0, 1]), "permutation"),
        (lambda: permute_units(net, 1, [0, 1]), "permutation"),
        (lambda: apply_symmetry(net, 1, [0, 1, 2], [1, 2, 1]), r"\+1 or -1"),
        (lambda: sign_flip(MLP.random([2, 1], ["identity"]), 1, 0), "no hidden layer"),
        (lambda: sign_flip("net", 1, 0), "MLP"),
        (lambda: equivalent_networks(generic([1, 8, 1], ["tanh", "identity"]), 1), "max_networks"),
        (lambda: n_equivalent(0), "positive integer"),
    ]
    for call, words in cases:
        with pytest.raises(ValueError, match=words):
            call()


# ---------------------------------------------------------------- tanh <-> sigmoid (appendix)
from nnbook.teach.symmetry import convert_hidden  # noqa: E402


def test_convert_hidden_keeps_the_function_and_shifts_the_next_biases():
    net = MLP.random([3, 4, 5, 2], ["tanh", "tanh", "identity"], seed=3, scale=2.0)
    X = np.random.default_rng(0).normal(size=(40, 3))
    sig = convert_hidden(net, 2, "sigmoid")
    assert sig.activations == ["tanh", "sigmoid", "identity"]
    np.testing.assert_allclose(sig(X), net(X), rtol=0, atol=1e-12)
    V, c = net.weights[2]
    np.testing.assert_allclose(sig.weights[2][1], c - V.sum(axis=1))      # next biases move
    np.testing.assert_allclose(sig.weights[1][0], 2 * net.weights[1][0])
    back = convert_hidden(sig, 2, "tanh")
    np.testing.assert_allclose(back.get_params(), net.get_params(), atol=1e-12)
    # without the bias shift the outputs are off by the constant -sum_j w_kj
    wrong = sig.copy()
    wrong.weights[2] = (wrong.weights[2][0], c.copy())
    np.testing.assert_allclose(wrong(X) - net(X), np.broadcast_to(V.sum(axis=1), (40, 2)), atol=1e-12)


def test_convert_hidden_rejects_bad_input():
    net = MLP.random([2, 3, 1], ["relu", "identity"], seed=0)
    with pytest.raises(ValueError, match="needs tanh units"):
        convert_hidden(net, 1, "sigmoid")
    with pytest.raises(ValueError, match="unknown to"):
        convert_hidden(net, 1, "relu")
    with pytest.raises(ValueError, match="not a hidden layer"):
        convert_hidden(net, 2, "tanh")
