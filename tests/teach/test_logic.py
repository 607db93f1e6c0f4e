import itertools

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from nnbook.display import logic_plots as LP
from nnbook.teach import logic as L

matplotlib.use("Agg")
X2 = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
AND, OR, XOR = [0, 0, 0, 1], [0, 1, 1, 1], [0, 1, 1, 0]


def ref_inputs(n):
    """Binary counting order, written out with itertools (x1 most significant)."""
    return np.array(list(itertools.product([0, 1], repeat=n)))


def ref_dnf(x, table):
    """Reference evaluation of a DNF: OR over the 1-rows of 'x equals that row'."""
    rows = ref_inputs(len(x))
    return int(any(table[r] == 1 and np.array_equal(rows[r], x) for r in range(len(rows))))


def test_step_is_heaviside_with_step_at_zero():
    z = np.array([-2.0, -1e-12, 0.0, 1e-12, 3.0])
    assert L.step(z).tolist() == [0, 0, 1, 1, 1]
    assert L.step(z).dtype.kind == "i"
    assert int(L.step(0.0)) == 1 and L.step(-0.5).shape == ()
    assert L.step(np.zeros((2, 3))).shape == (2, 3)


def test_all_inputs_order():
    for n in range(1, 7):
        np.testing.assert_array_equal(L.all_inputs(n), ref_inputs(n))


def test_perceptron_single_and_batch():
    p = L.Perceptron([1, 1], -1.5)
    assert p(X2).tolist() == AND
    assert int(p([1, 1])) == 1 and p([1, 1]).shape == ()
    np.testing.assert_allclose(p.net(X2), [-1.5, -0.5, -0.5, 0.5])
    assert "Perceptron" in repr(p) and p.n_inputs == 2


@pytest.mark.parametrize("name,fn", [
    ("and", lambda x: int(all(x))), ("or", lambda x: int(any(x))),
    ("nand", lambda x: 1 - int(all(x))), ("nor", lambda x: 1 - int(any(x)))])
@pytest.mark.parametrize("n", range(1, 9))
def test_n_input_gates(name, fn, n):
    g = L.gate(name, n)
    X = ref_inputs(n)
    assert g(X).tolist() == [fn(x) for x in X]
    # the weights and biases of chapter 6
    sign = 1 if name in ("and", "or") else -1
    np.testing.assert_array_equal(g.w, sign * np.ones(n))
    bias = {"and": -n + 0.5, "or": -0.5, "nand": n - 0.5, "nor": 0.5}[name]
    assert g.b == bias
    # margin: the weighted sum is never closer than 0.5 to the threshold
    assert np.min(np.abs(g.net(X))) == 0.5


def test_default_n_and_not():
    assert L.gate("AND").n_inputs == 2
    assert L.gate("not")([[0], [1]]).tolist() == [1, 0]
    assert L.gate("not", 1).b == 0.5


def test_xor_two_layer_network():
    net = L.ThresholdNetwork([L.gate("or"), L.gate("nand")], L.gate("and"))
    assert net(X2).tolist() == XOR
    assert net.hidden_outputs(X2).tolist() == [[0, 1], [1, 1], [1, 1], [1, 0]]
    assert net.sizes == [2, 2, 1] and net.W1.shape == (2, 2) and net.W2.shape == (1, 2)
    assert int(net([0, 1])) == 1


def test_composition_and_or_not():
    # (x1 AND x2) OR NOT x3: h1 sees x1, x2 (weight 0 on x3), h2 sees only x3
    h1 = L.Perceptron([1, 1, 0], -1.5)
    h2 = L.Perceptron([0, 0, -1], 0.5)
    net = L.ThresholdNetwork([h1, h2], L.gate("or"))
    expect = [int((x[0] and x[1]) or not x[2]) for x in ref_inputs(3)]
    assert L.truth_table(net, 3).tolist() == expect
    assert L.truth_table(lambda x: (x[0] & x[1]) | (1 - x[2]), 3).tolist() == expect


def test_dnf_reproduces_all_256_functions_of_3_inputs():
    X = ref_inputs(3)
    for code in range(256):
        table = [(code >> (7 - r)) & 1 for r in range(8)]
        net = L.dnf_network(table)
        assert net(X).tolist() == table, code
        assert len(net.hidden) == sum(table)
        assert [ref_dnf(x, table) for x in X] == table


def test_dnf_weights_follow_the_minterm_rule():
    net = L.dnf_network([0, 1, 1, 0, 1, 0, 0, 1])  # 3-input parity
    np.testing.assert_array_equal(net.W1, [[-1, -1, 1], [-1, 1, -1], [1, -1, -1], [1, 1, 1]])
    np.testing.assert_array_equal(net.b1, [-0.5, -0.5, -0.5, -2.5])
    np.testing.assert_array_equal(net.W2, [[1, 1, 1, 1]])
    np.testing.assert_array_equal(net.b2, [-0.5])
    # each minterm fires on exactly its own row
    H = net.hidden_outputs(ref_inputs(3))
    np.testing.assert_array_equal(H.sum(axis=0), [1, 1, 1, 1])
    np.testing.assert_array_equal(np.flatnonzero(H.any(axis=1)), [1, 2, 4, 7])


@pytest.mark.parametrize("n", range(1, 9))
def test_dnf_random_functions(n, rng):
    X = ref_inputs(n)
    for _ in range(5):
        table = rng.integers(0, 2, size=2 ** n)
        net = L.dnf_network(table)
        np.testing.assert_array_equal(net(X), table)
        np.testing.assert_array_equal(L.truth_table(net, n), table)
        assert len(net.hidden) == table.sum()


def test_dnf_constant_functions():
    zero = L.dnf_network([0] * 8)
    assert zero.hidden == [] and zero.n_inputs == 3
    assert L.truth_table(zero, 3).tolist() == [0] * 8
    one = L.dnf_network([True] * 4)
    assert L.truth_table(one, 2).tolist() == [1] * 4 and len(one.hidden) == 4
    assert L.dnf_network([0.0, 1.0]).hidden[0].w.tolist() == [1.0]


def test_truth_table_of_callables():
    assert L.truth_table(lambda x: x[0] ^ x[1], 2).tolist() == XOR
    assert L.truth_table(lambda x: bool(x.sum() >= 2), 3).tolist() == [0, 0, 0, 1, 0, 1, 1, 1]
    assert L.truth_table(L.gate("and"), 2).tolist() == AND


def test_xor_is_not_separable_but_and_or_are():
    grid = np.linspace(-3, 3, 61)
    assert L.separable_by_grid(X2, XOR, grid).shape == (0, 3)
    assert L.separable_by_grid(X2, [1, 0, 0, 1], grid).shape == (0, 3)  # XNOR
    for t in (AND, OR, [1, 1, 1, 0], [1, 0, 0, 0]):
        sols = L.separable_by_grid(X2, t, grid)
        assert len(sols) > 0
        for w1, w2, b in sols[:: max(1, len(sols) // 50)]:
            assert L.Perceptron([w1, w2], b)(X2).tolist() == list(t)
    # (1, 1, -1.5) is the AND of the notes and lies on the grid
    assert any(np.allclose(s, [1, 1, -1.5]) for s in L.separable_by_grid(X2, AND, grid))


def test_exactly_14_of_16_two_input_functions_are_separable():
    grid = np.arange(-2, 2.01, 0.5)
    count = sum(len(L.separable_by_grid(X2, [(c >> (3 - r)) & 1 for r in range(4)], grid)) > 0
                for c in range(16))
    assert count == 14


@pytest.mark.parametrize("t", [AND, OR, [1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 1, 0]])
def test_learning_rule_converges_on_separable(t):
    for seed in range(3):
        r = L.perceptron_learn(X2, t, epochs=100, lr=1.0, seed=seed)
        assert r.converged and r.errors[-1] == 0 and r.epochs == len(r.errors)
        assert r.perceptron(X2).tolist() == t
        assert len(r.history) == r.epochs + 1


@pytest.mark.parametrize("t", [XOR, [1, 0, 0, 1]])
def test_learning_rule_never_converges_on_xor(t):
    for seed in range(3):
        r = L.perceptron_learn(X2, t, epochs=500, lr=0.5, seed=seed)
        assert not r.converged and r.epochs == 500 and min(r.errors) >= 1


def test_learning_rule_hand_trace():
    # one pattern, target 1, start at zero: step(0) = 1 is already right -> converged at once
    r = L.perceptron_learn([[1.0, 1.0]], [1], epochs=5)
    assert r.converged and r.epochs == 1 and r.errors == [0]
    # target 0: one update w = -x, b = -1, then right
    r = L.perceptron_learn([[1.0, 2.0]], [0], epochs=5, lr=0.5)
    np.testing.assert_allclose(r.perceptron.w, [-0.5, -1.0])
    assert r.perceptron.b == -0.5 and r.errors == [1, 0]


def test_drawing_helpers():
    fig, (a, b) = plt.subplots(1, 2)
    LP.plot_decision(a, L.gate("and"), targets=XOR, title="t")
    LP.plot_decision(a, L.Perceptron([0, 0], 1.0))  # no line: constant unit
    pos = LP.draw_threshold_network(b, L.dnf_network([0, 1, 1, 0]))
    assert (1, 1) in pos and (2, 0) in pos
    plt.close(fig)


@pytest.mark.parametrize("call,match", [
    (lambda: L.dnf_network([0, 1, 1]), "length 3"),
    (lambda: L.dnf_network([1]), "length 1"),
    (lambda: L.dnf_network([0, 2, 1, 0]), "only 0 and 1"),
    (lambda: L.dnf_network([0, 0.5]), "only 0 and 1"),
    (lambda: L.dnf_network([[0, 1], [1, 0]]), "dimension"),
    (lambda: L.dnf_network([0, np.nan]), "NaN"),
    (lambda: L.Perceptron([1, np.inf], 0), "inf"),
    (lambda: L.Perceptron([1, 1], np.nan), "NaN"),
    (lambda: L.Perceptron([1, 1], [1, 2]), "single number"),
    (lambda: L.Perceptron([[1, 1]], 0), "dimension"),
    (lambda: L.Perceptron([1, 1], 0)([1, 0, 1]), "3 input"),
    (lambda: L.Perceptron([1, 1], 0)(np.zeros((4, 3))), "3 input"),
    (lambda: L.Perceptron([1, 1], 0)([1, "a"]), "numeric"),
    (lambda: L.step([0, np.inf]), "inf"),
    (lambda: L.gate("xor"), "unknown gate"),
    (lambda: L.gate("not", 2), "exactly 1 input"),
    (lambda: L.gate("and", 0), "positive"),
    (lambda: L.gate("and", 2.5), "integer"),
    (lambda: L.ThresholdNetwork([L.gate("and"), L.gate("or", 3)], L.gate("and")), "inputs"),
    (lambda: L.ThresholdNetwork([L.gate("and")], L.gate("and")), "output has 2 inputs"),
    (lambda: L.ThresholdNetwork([], L.Perceptron([], -0.5)), "needs n_inputs"),
    (lambda: L.ThresholdNetwork([L.gate("or"), L.gate("nand")], L.gate("and"))([1, 0, 0]), "3 input"),
    (lambda: L.truth_table(lambda x: 2, 2), "only 0 and 1"),
    (lambda: L.truth_table(lambda x: [0, 1], 2), "8 values for 4"),
    (lambda: L.truth_table(3, 2), "callable"),
    (lambda: L.truth_table(L.gate("and"), 3), "3 input"),
    (lambda: L.all_inputs(0), "positive"),
    (lambda: L.perceptron_learn(X2, [0, 1, 1], epochs=5), "3 targets"),
    (lambda: L.perceptron_learn(X2, [0, 1, 1, 3], epochs=5), "only 0 and 1"),
    (lambda: L.perceptron_learn(X2, AND, epochs=0), "positive"),
    (lambda: L.perceptron_learn(X2, AND, lr=-1.0), "positive"),
    (lambda: L.separable_by_grid(X2, XOR, np.linspace(-1, 1, 1000)), "coarser grid"),
    (lambda: L.separable_by_grid(X2, [0, 1], [0.0, 1.0]), "2 targets"),
    (lambda: LP.draw_threshold_network(plt.gca(), L.dnf_network([0, 0])), "no hidden units"),
    (lambda: LP.plot_decision(plt.gca(), L.gate("and", 3)), "2 inputs"),
])
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
    plt.close("all")
