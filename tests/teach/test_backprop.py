import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nnbook import MLP  # noqa: E402
from nnbook.display.backprop_plots import draw_backprop  # noqa: E402
from nnbook.teach.backprop import (backprop_steps, delta_from_above,  # noqa: E402
                                   derivative_from_output, gradient_errors, multiply_counts,
                                   numerical_deltas)

PAIRS = [("sse", "identity"), ("sse", "sigmoid"), ("sse", "tanh"), ("bce", "sigmoid"),
         ("ce", "softmax")]


def make(sizes, hidden, out, seed, rng):
    net = MLP.random(sizes, [hidden] * (len(sizes) - 2) + [out], seed=seed)
    for _, b in net.weights:
        b += 0.3 * rng.normal(size=b.shape)
    x = rng.normal(size=sizes[0])
    return net, x


def target(loss, K, rng):
    if loss == "ce":
        return np.eye(K)[rng.integers(K)]
    if loss == "bce":
        return (rng.uniform(size=K) > 0.5).astype(float)
    return rng.normal(size=K)


@pytest.mark.parametrize("hidden", ["tanh", "sigmoid", "relu", "identity"])
@pytest.mark.parametrize("loss,out", PAIRS)
def test_steps_reproduce_trace_gradients_and_deltas(hidden, loss, out, rng):
    sizes = [3, 4, 2, 3] if out == "softmax" else [2, 3, 2, 1]
    net, x = make(sizes, hidden, out, 1, rng)
    t = target(loss, sizes[-1], rng)
    steps = backprop_steps(net, x, t, loss)
    L = len(net.weights)
    assert len(steps) == 4 * L
    assert [s.phase for s in steps] == ["forward"] * 2 * L + ["backward"] * 2 * L
    assert [(s.kind, s.layer) for s in steps[:2 * L]] == \
        [(k, l) for l in range(1, L + 1) for k in ("a", "z")]
    assert [(s.kind, s.layer) for s in steps[2 * L:]] == \
        [(k, l) for l in range(L, 0, -1) for k in ("delta", "grad")]
    tr = net.trace(x)
    grads = net.gradients(x, t, loss)
    for s in steps:
        if s.kind == "a":
            np.testing.assert_allclose(s.value, tr.a[s.layer - 1])
        elif s.kind == "z":
            np.testing.assert_allclose(s.value, tr.z[s.layer])
        elif s.kind == "delta":
            np.testing.assert_allclose(s.value, net.deltas[s.layer - 1])
        else:
            np.testing.assert_allclose(s.value, grads[s.layer - 1][0])
            np.testing.assert_allclose(s.bias, grads[s.layer - 1][1])
    assert steps[2 * L].rule.startswith("rule 1")
    assert all(s.rule.startswith("rule 2") for s in steps[2 * L + 2::2])
    assert all(s.rule.startswith("rule 3") for s in steps[2 * L + 1::2])


def test_steps_on_the_one_unit_chain_follow_the_hand_chain_rule():
    w = [(0.6, -0.2), (-1.2, 0.3), (1.5, 0.1)]
    net = MLP([(np.array([[a]]), np.array([b])) for a, b in w], ["tanh", "tanh", "identity"])
    x, t = 1.0, 0.5
    z1 = np.tanh(0.6 * x - 0.2)
    z2 = np.tanh(-1.2 * z1 + 0.3)
    y = 1.5 * z2 + 0.1
    d3 = y - t
    d2 = (1 - z2 ** 2) * 1.5 * d3
    d1 = (1 - z1 ** 2) * -1.2 * d2
    got = {(s.kind, s.layer): s for s in backprop_steps(net, [x], t)}
    assert got[("z", 3)].value[0] == pytest.approx(y)
    assert got[("delta", 1)].value[0] == pytest.approx(d1)
    assert got[("grad", 2)].value[0, 0] == pytest.approx(d2 * z1)
    assert got[("grad", 1)].value[0, 0] == pytest.approx(d1 * x)
    assert got[("grad", 3)].bias[0] == pytest.approx(d3)


@pytest.mark.parametrize("hidden", ["tanh", "sigmoid", "relu", "identity"])
def test_delta_from_above_matches_mlp_on_a_full_network(hidden, rng):
    net, x = make([2, 3, 4, 2], hidden, "identity", 2, rng)
    t = rng.normal(size=2)
    net.gradients(x, t)
    tr = net.trace(x)
    for l in (0, 1):  # hidden layers 1 and 2
        W_above = net.weights[l + 1][0]
        got = delta_from_above(net.deltas[l + 1], W_above, tr.a[l], hidden)
        np.testing.assert_allclose(got, net.deltas[l], atol=1e-15)
        if hidden != "relu":  # from z (relu: the same except exactly at 0)
            np.testing.assert_allclose(delta_from_above(net.deltas[l + 1], W_above, activation=hidden,
                                                        z=tr.z[l + 1]), net.deltas[l], atol=1e-15)
        # partial information: one unit's column only
        j = 1
        one = delta_from_above(net.deltas[l + 1], W_above[:, [j]], tr.a[l][[j]], hidden)
        assert one.shape == (1,)
        assert one[0] == pytest.approx(net.deltas[l][j], abs=1e-15)


def test_delta_from_above_batch(rng):
    net = MLP.random([3, 4, 2], ["tanh", "identity"], seed=3)
    X, T = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    tr = net.trace(X)
    deltas = net.backward(tr, T, "sse")
    np.testing.assert_allclose(delta_from_above(deltas[1], net.weights[1][0], tr.a[0], "tanh"),
                               deltas[0])


def test_delta_from_above_with_z_uses_one_minus_z_squared():
    d = delta_from_above([0.5, -0.2], [[0.8], [0.1]], activation="tanh", z=[0.7])
    assert d[0] == pytest.approx((1 - 0.49) * (0.8 * 0.5 - 0.1 * 0.2))
    d = delta_from_above([0.5, -0.2], [[0.8], [0.1]], [0.887], "tanh")
    assert d[0] == pytest.approx((1 - np.tanh(0.887) ** 2) * 0.38)


def test_derivative_from_output_agrees_with_derivative_of_a(rng):
    from nnbook.nn.activations import activation, derivative
    a = rng.normal(size=7) * 2
    for name in ["identity", "sigmoid", "tanh", "relu"]:
        np.testing.assert_allclose(derivative_from_output(name, activation(name)(a)),
                                   derivative(name, a), atol=1e-15)


@pytest.mark.parametrize("loss,out", PAIRS)
def test_numerical_deltas_match_backprop(loss, out, rng):
    sizes = [2, 3, 3] if out == "softmax" else [2, 3, 2, 1]
    net, x = make(sizes, "tanh", out, 4, rng)
    t = target(loss, sizes[-1], rng)
    net.gradients(x, t, loss)
    num = numerical_deltas(net, x, t, loss)
    for d, n in zip(net.deltas, num):
        np.testing.assert_allclose(d, n, atol=1e-8)


def test_draw_backprop_reveals_values_step_by_step():
    net = MLP.random([2, 3, 1], ["tanh", "identity"], seed=0)
    fig, ax = plt.subplots()
    assert draw_backprop(ax, net, [0.5, -1.0], 0.3, upto=0) is None
    n0 = len(ax.texts)
    plt.close(fig)
    fig, ax = plt.subplots()
    last = draw_backprop(ax, net, [0.5, -1.0], 0.3)
    assert last.kind == "grad" and last.layer == 1
    assert len(ax.texts) > n0
    assert any("δ=" in t.get_text() for t in ax.texts)
    plt.close(fig)


# ---------------------------------------------------------------------- bad input
def test_bad_input_raises_value_error_naming_the_problem():
    net = MLP.random([2, 3, 1], ["tanh", "identity"], seed=0)
    with pytest.raises(ValueError, match="MLP"):
        backprop_steps("not a net", [1, 2], 0.0)
    with pytest.raises(ValueError, match="single pattern"):
        backprop_steps(net, np.zeros((4, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="features"):
        backprop_steps(net, [1, 2, 3], 0.0)
    with pytest.raises(ValueError, match="t has shape"):
        backprop_steps(net, [1, 2], [0.0, 1.0])
    with pytest.raises(ValueError, match="loss"):
        backprop_steps(net, [1, 2], 0.0, loss="hinge")
    with pytest.raises(ValueError, match="NaN"):
        backprop_steps(net, [np.nan, 2], 0.0)
    with pytest.raises(ValueError, match="exactly one"):
        delta_from_above([1.0], [[1.0]], activation="tanh")
    with pytest.raises(ValueError, match="exactly one"):
        delta_from_above([1.0], [[1.0]], [0.1], "tanh", z=[0.1])
    with pytest.raises(ValueError, match="units above"):
        delta_from_above([1.0, 2.0, 3.0], [[0.8], [0.1]], [0.3], "tanh")
    with pytest.raises(ValueError, match="columns"):
        delta_from_above([1.0, 2.0], [[0.8], [0.1]], [0.3, 0.4], "tanh")
    with pytest.raises(ValueError, match="W_above must have 2"):
        delta_from_above([1.0, 2.0], [0.8, 0.1], [0.3], "tanh")
    with pytest.raises(ValueError, match="same number of patterns"):
        delta_from_above(np.ones((3, 2)), [[0.8], [0.1]], np.ones((4, 1)), "tanh")
    with pytest.raises(ValueError, match="activation"):
        delta_from_above([1.0], [[1.0]], [0.1], "swish")
    with pytest.raises(ValueError, match="softmax"):
        delta_from_above([1.0], [[1.0]], [0.1], "softmax")
    with pytest.raises(ValueError, match="tanh output"):
        delta_from_above([1.0], [[1.0]], activation="tanh", z=[1.5])
    with pytest.raises(ValueError, match="sigmoid output"):
        derivative_from_output("sigmoid", [-0.1])
    with pytest.raises(ValueError, match="eps"):
        numerical_deltas(net, [1, 2], 0.0, eps=0)
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="upto"):
        draw_backprop(ax, net, [1, 2], 0.0, upto=99)
    with pytest.raises(ValueError, match="upto"):
        draw_backprop(ax, net, [1, 2], 0.0, upto=True)
    plt.close(fig)


def test_gradient_errors_max_is_gradcheck(rng):
    from nnbook import gradcheck
    net, x = make([2, 3, 2, 1], "tanh", "identity", 5, rng)
    t = rng.normal(size=1)

    def f(w):
        n = MLP(w, net.activations)
        return n.error(x, t), n.gradients(x, t)
    for eps in (1e-2, 1e-6):
        errs = gradient_errors(net, x, t, eps=eps)
        assert errs.shape == (net.n_params,)
        assert errs.max() == pytest.approx(gradcheck(f, net.weights, eps), rel=1e-12)
    assert gradient_errors(net, x, t, eps=1e-2).max() > gradient_errors(net, x, t, eps=1e-5).max()
    with pytest.raises(ValueError, match="eps"):
        gradient_errors(net, x, t, eps=-1.0)


def test_multiply_counts():
    c = multiply_counts([2, 3, 2, 1])
    assert c["weights"] == 6 + 6 + 2
    assert c["params"] == 14 + 6
    assert c["forward"] == 14
    assert c["backprop"] == 14 + (6 + 2) + 14
    assert c["finite_differences"] == 2 * 20 * 14
    # backprop grows linearly in W, finite differences quadratically
    small, big = multiply_counts([10, 10, 1]), multiply_counts([10, 1000, 1])
    assert big["backprop"] / small["backprop"] == pytest.approx(big["weights"] / small["weights"],
                                                                rel=0.2)
    with pytest.raises(ValueError, match="sizes"):
        multiply_counts([3])
    with pytest.raises(ValueError, match="layer size"):
        multiply_counts([3, 0, 1])
