"""Tests of nnbook.teach.sequences: the teaching helpers of the RNN and BPTT chapters."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nnbook import MLP  # noqa: E402
from nnbook.kernels.rnn import rnn_bptt, rnn_forward, rnn_params, state_jacobians  # noqa: E402
from nnbook.display.sequence_plots import (draw_bptt_step, draw_folded,  # noqa: E402
                                           draw_rnn_step, draw_unfolded)
from nnbook.teach.sequences import (CONFIGURATIONS, bptt_steps, bptt_trace,  # noqa: E402
                                    configuration, fit_until_diverged, free_run,
                                    inverse_sigmoid_decay, jacobian_product,
                                    jacobian_product_norms, next_value_loss, nonnormal_matrix,
                                    parameter_counts, scaled_orthogonal, scheduled_inputs,
                                    sine_sequences, spectral_radius, teacher_forcing_inputs,
                                    train_next_value, worked_example)
from nnbook.display.sequence_plots import draw_folded, draw_rnn_step, draw_unfolded


# ------------------------------------------------------------------ configurations and counts

@pytest.mark.parametrize("name", list(CONFIGURATIONS))
def test_configurations_have_inputs_and_outputs(name):
    ins, outs = configuration(name, 6)
    assert ins.shape == outs.shape == (6,) and ins.any() and outs.any()


def test_configuration_patterns():
    assert configuration("many-to-one", 4)[1].tolist() == [False, False, False, True]
    assert configuration("one-to-many", 3)[0].tolist() == [True, False, False]
    ins, outs = configuration("many-to-many (unequal)", 7, n_out=3)
    assert ins.tolist() == [True] * 4 + [False] * 3 and outs.tolist() == [False] * 4 + [True] * 3


@pytest.mark.parametrize("args, match", [(("sideways", 4), "unknown configuration"),
                                         (("many-to-one", 1), "at least 2"),
                                         (("many-to-many (unequal)", 4, 4), "n_out"),
                                         (("many-to-one", 2.5), "integer")])
def test_configuration_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        configuration(*args)


@pytest.mark.parametrize("T, Dx, Dh, Dy", [(1, 1, 1, 1), (4, 3, 5, 2), (10, 100, 50, 1)])
def test_parameter_counts_match_the_models(T, Dx, Dh, Dy):
    c = parameter_counts(T, Dx, Dh, Dy)
    assert c["mlp"] == MLP.random([T * Dx, Dh, T * Dy], ["tanh", "identity"]).n_params
    assert c["rnn"] == sum(v.size for v in rnn_params(Dx, Dh, Dy).values())


def test_parameter_counts_bad_input():
    with pytest.raises(ValueError, match="Dh"):
        parameter_counts(3, 2, 0, 1)


def test_drawings_run():
    fig, axes = plt.subplots(1, 4)
    pos = draw_unfolded(axes[0], 3, loss=True, highlight=[("h", 2)])
    assert ("h", 0) in pos and ("E", 3) in pos and len([k for k in pos if k[0] == "x"]) == 3
    ins, outs = configuration("many-to-one", 4)
    pos = draw_unfolded(axes[1], 4, ins, outs, show_h0=False)
    assert [k for k in pos if k[0] == "y"] == [("y", 4)] and ("h", 0) not in pos
    draw_folded(axes[2])
    pos = draw_rnn_step(axes[3], 2, 3, 1, params=rnn_params(2, 3, 1))
    assert len(pos) == 6
    plt.close(fig)
    with pytest.raises(ValueError, match="shape"):
        draw_unfolded(plt.gca(), 3, inputs=[True, False])
    plt.close("all")


# ------------------------------------------------------------------ the T = 2 worked example

def test_worked_example_forward_and_deltas():
    params, X, Y = worked_example()
    tr = bptt_trace(params, X, Y)
    # by hand, without nnbook
    h1 = np.tanh(np.array([0.6, 0.3]))
    h2 = np.tanh(params["Whh"] @ h1 + np.array([0.1, 0.4]) + 0.1)
    y = np.array([0.8 * h1[0] + 0.4 * h1[1], 0.8 * h2[0] + 0.4 * h2[1]])
    d2 = params["Why"][0] * (y[1] - 0.9) * (1 - h2 ** 2)
    d1 = (params["Why"][0] * (y[0] - 0.5) + params["Whh"].T @ d2) * (1 - h1 ** 2)
    np.testing.assert_allclose(tr["h"], [h1, h2], atol=1e-14)
    np.testing.assert_allclose(tr["y"][:, 0], y, atol=1e-14)
    np.testing.assert_allclose(tr["delta_h"], [d1, d2], atol=1e-14)
    np.testing.assert_allclose(tr["E_t"], 0.5 * (y - [0.5, 0.9]) ** 2, atol=1e-15)
    assert tr["E"] == pytest.approx(tr["E_t"].sum(), abs=1e-15)
    # the values usually printed with three decimals agree to that precision
    np.testing.assert_allclose(tr["h"], [[0.537, 0.291], [0.490, 0.719]], atol=6e-4)
    np.testing.assert_allclose(tr["delta_h"], [[-0.0236, -0.0606], [-0.1339, -0.0426]], atol=3e-3)


def test_bptt_trace_deltas_are_dE_da_by_finite_differences():
    params = rnn_params(3, 4, 2, seed=5)
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    tr = bptt_trace(params, X, Y)
    # perturb a^(t) alone: an extra input that is on only at step t, with weight eps on unit j
    T, eps = len(X), 1e-6
    Xe = np.hstack([X, np.eye(T)])
    num = np.zeros((T, 4))
    for t in range(T):
        for j in range(4):
            E = []
            for s in (eps, -eps):
                p = dict(params, Wxh=np.hstack([params["Wxh"], np.zeros((4, T))]))
                p["Wxh"][j, 3 + t] = s
                E.append(rnn_bptt(p, Xe, Y)[0])
            num[t, j] = (E[0] - E[1]) / (2 * eps)
    np.testing.assert_allclose(tr["delta_h"], num, atol=1e-8)
    np.testing.assert_allclose(tr["delta_o"], tr["y"] - Y)


def test_bptt_trace_cross_entropy():
    params = rnn_params(2, 3, 4, seed=2)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 2))
    Y = np.eye(4)[[0, 3, 1]]
    tr = bptt_trace(params, X, Y, output="softmax", loss="ce")
    assert tr["E"] == pytest.approx(tr["E_t"].sum())
    with pytest.raises(ValueError, match="loss"):
        bptt_trace(params, X, Y, loss="hinge")


def test_bptt_steps_order_and_stepper():
    tr = bptt_trace(*worked_example())
    steps = bptt_steps(tr)
    assert [(s.phase, s.t, s.name) for s in steps] == [
        ("forward", 1, "a"), ("forward", 1, "h"), ("forward", 1, "o"),
        ("forward", 2, "a"), ("forward", 2, "h"), ("forward", 2, "o"),
        ("backward", 2, "delta_o"), ("backward", 2, "delta_h"),
        ("backward", 1, "delta_o"), ("backward", 1, "delta_h")]
    assert "W_{hh}^\\top" in steps[-1].formula and "W_{hh}^\\top" not in steps[7].formula
    fig, ax = plt.subplots()
    assert draw_bptt_step(ax, tr, 0) is None
    assert draw_bptt_step(ax, tr, 10).name == "delta_h"
    with pytest.raises(ValueError, match="step"):
        draw_bptt_step(ax, tr, 11)
    plt.close(fig)


# ------------------------------------------------------------------ Jacobian products

def _numerical_state_jacobian(params, X, t, k, eps=1e-6):
    """d h(t) / d h(k) by central differences, rerunning the network from a perturbed h(k)."""
    hk = rnn_forward(params, X)["h"][k - 1] if k else np.zeros(params["Whh"].shape[0])
    cols = []
    for j in range(len(hk)):
        e = np.zeros_like(hk)
        e[j] = eps
        hp = rnn_forward(params, X[k:t], h0=hk + e)["h"][-1]
        hm = rnn_forward(params, X[k:t], h0=hk - e)["h"][-1]
        cols.append((hp - hm) / (2 * eps))
    return np.array(cols).T


@pytest.mark.parametrize("t, k", [(5, 4), (5, 2), (6, 0), (3, 1)])
def test_jacobian_product_is_dh_t_dh_k(t, k):
    params = rnn_params(2, 3, 1, seed=3, scale=1.5)
    X = np.random.default_rng(0).normal(size=(6, 2))
    J = state_jacobians(params, X)
    np.testing.assert_allclose(jacobian_product(J, t, k), _numerical_state_jacobian(params, X, t, k),
                               atol=1e-8)


def test_jacobian_product_order_matters():
    params = rnn_params(2, 3, 1, seed=3, scale=1.5)
    X = np.random.default_rng(0).normal(size=(4, 2))
    J = state_jacobians(params, X)
    wrong = J[1] @ J[2] @ J[3]          # earliest on the left
    assert not np.allclose(jacobian_product(J, 4, 1), wrong)
    np.testing.assert_allclose(jacobian_product(J, 4, 4), np.eye(3))


def test_jacobian_product_norms():
    params = rnn_params(2, 3, 1, seed=4)
    J = state_jacobians(params, np.random.default_rng(2).normal(size=(7, 2)))
    norms = jacobian_product_norms(J, t=6)
    assert norms.shape == (7,) and norms[0] == pytest.approx(1.0)
    for s in range(7):
        assert norms[s] == pytest.approx(np.linalg.norm(jacobian_product(J, 6, 6 - s), 2))
    fro = jacobian_product_norms(J, ord="fro")
    assert fro[0] == pytest.approx(np.sqrt(3)) and fro.shape == (8,)


@pytest.mark.parametrize("call, match", [
    (lambda: jacobian_product(np.zeros((3, 2, 3)), 2, 1), "shape"),
    (lambda: jacobian_product(np.zeros((3, 2, 2)), 2, 3), "k <= t"),
    (lambda: jacobian_product(np.zeros((3, 2, 2)), 4, 0), "k <= t"),
    (lambda: jacobian_product_norms(np.zeros((3, 2, 2)), t=5), "t must"),
    (lambda: jacobian_product_norms(np.zeros((3, 2, 2)), ord=1), "ord"),
    (lambda: jacobian_product_norms(np.full((3, 2, 2), np.nan)), "NaN"),
    (lambda: spectral_radius(np.zeros((2, 3))), "square"),
    (lambda: nonnormal_matrix(np.inf, 1.0), "rho"),
    (lambda: scaled_orthogonal(3, -1.0), "scale"),
])
def test_jacobian_helpers_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_nonnormal_matrix_grows_transiently_with_spectral_radius_below_one():
    W = nonnormal_matrix(0.9, 5.0)
    assert spectral_radius(W) == pytest.approx(0.9)
    powers = [np.linalg.norm(np.linalg.matrix_power(W, n), 2) for n in range(1, 60)]
    assert max(powers) > 10 and powers[-1] < powers[int(np.argmax(powers))]
    n = 7
    np.testing.assert_allclose(np.linalg.matrix_power(W, n),
                               0.9 ** (n - 1) * np.array([[0.9, n * 5.0], [0.0, 0.9]]))


def test_scaled_orthogonal_singular_values():
    W = scaled_orthogonal(5, 1.3, rng=7)
    np.testing.assert_allclose(np.linalg.svd(W, compute_uv=False), 1.3)
    np.testing.assert_array_equal(W, scaled_orthogonal(5, 1.3, rng=7))


# ------------------------------------------------------------------ teacher forcing and sampling

def test_sine_sequences():
    S = sine_sequences(5, 12, seed=3)
    assert S.shape == (13, 5, 1) and np.abs(S).max() <= 1
    np.testing.assert_array_equal(S, sine_sequences(5, 12, seed=3))
    assert not np.array_equal(S, sine_sequences(5, 12, seed=4))
    with pytest.raises(ValueError, match="periods"):
        sine_sequences(2, 5, periods=(5.0, 2.0))


def test_teacher_forcing_inputs():
    Y = np.arange(12.0).reshape(4, 3, 1)
    X = teacher_forcing_inputs(Y, np.full((3, 1), -1.0))
    assert X.shape == Y.shape and (X[0] == -1).all()
    np.testing.assert_array_equal(X[1:], Y[:-1])


def test_free_run_feeds_predictions_back():
    params = rnn_params(1, 6, 1, seed=0)
    prompt = sine_sequences(3, 4, seed=1)
    gen = free_run(params, prompt, 5)
    assert gen.shape == (5, 3, 1)
    full = rnn_forward(params, np.concatenate([prompt, gen[:-1]]))["y"]
    np.testing.assert_allclose(gen, full[len(prompt) - 1:], atol=1e-13)
    one = free_run(params, prompt[:, 0], 5)
    np.testing.assert_allclose(one, gen[:, 0], atol=1e-13)


def test_scheduled_inputs_limits():
    params = rnn_params(1, 6, 1, seed=0)
    S = sine_sequences(4, 8, seed=2)
    Y, first = S[1:], S[0]
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(scheduled_inputs(params, Y, first, 1.0, rng),
                                  teacher_forcing_inputs(Y, first))
    X0 = scheduled_inputs(params, Y, first, 0.0, rng)
    np.testing.assert_allclose(X0[1:], free_run(params, first[None], len(Y) - 1), atol=1e-13)
    Xh = scheduled_inputs(params, Y, first, 0.5, np.random.default_rng(1))
    truth = np.isclose(Xh[1:], Y[:-1])
    assert truth.any() and not truth.all()
    np.testing.assert_array_equal(Xh, scheduled_inputs(params, Y, first, 0.5, np.random.default_rng(1)))


@pytest.mark.parametrize("call, match", [
    (lambda p: free_run(p, np.zeros((3, 2)), 4), "Dx == Dy"),
    (lambda p: free_run(dict(p, Whh=np.zeros((2, 2))), np.zeros((3, 1)), 4), "Whh"),
    (lambda p: free_run(p, np.zeros((3, 1)), 0), "steps"),
    (lambda p: scheduled_inputs(p, np.zeros((3, 2, 1)), np.zeros(1), 1.5, None), "p_truth"),
    (lambda p: free_run(p, np.full((3, 1), np.inf), 2), "inf"),
])
def test_generation_bad_input(call, match):
    params = rnn_params(1, 4, 1, seed=0)
    if "Dx == Dy" in match:
        params = rnn_params(2, 4, 1, seed=0)
    with pytest.raises(ValueError, match=match):
        call(params)


def test_inverse_sigmoid_decay():
    eps = inverse_sigmoid_decay(np.arange(0, 200, 10), 20.0)
    assert eps[0] == pytest.approx(20 / 21) and np.all(np.diff(eps) < 0) and eps[-1] < 0.05
    with pytest.raises(ValueError, match="at least 1"):
        inverse_sigmoid_decay(3, 0.5)


# ------------------------------------------------------------------ training helpers

def test_next_value_loss_is_mean_bptt_and_matches_finite_differences():
    from nnbook import gradcheck
    params = rnn_params(1, 3, 1, seed=1)
    S = sine_sequences(4, 6, seed=0)
    f = next_value_loss(1.0)
    E, grads = f(params, S)
    E_ref, g_ref = rnn_bptt(params, S[:-1], S[1:])
    assert E == pytest.approx(E_ref / 4)
    np.testing.assert_allclose(grads["Whh"], g_ref["Whh"] / 4)
    keys = list(params)
    err = gradcheck(lambda arrs: (lambda r: (r[0], [r[1][k] for k in keys]))(
        f(dict(zip(keys, arrs)), S)), [params[k] for k in keys])
    assert err < 1e-8
    with pytest.raises(ValueError, match="p_truth"):
        next_value_loss(-0.1)


def test_train_next_value_lowers_the_error_and_is_deterministic():
    from nnbook import Adam
    S = sine_sequences(16, 12, seed=0)
    runs = []
    for _ in range(2):
        p = rnn_params(1, 6, 1, seed=0)
        runs.append((train_next_value(p, S, 4, Adam(lr=0.02), p_truth=lambda e: 1.0 - 0.2 * e,
                                      batch_size=8), p))
    losses, p = runs[0]
    assert losses.shape == (4,) and losses[-1] < losses[0]
    np.testing.assert_array_equal(losses, runs[1][0])
    np.testing.assert_array_equal(p["Whh"], runs[1][1]["Whh"])
    with pytest.raises(ValueError, match="epochs"):
        train_next_value(p, S, 0, Adam())


def test_fit_until_diverged():
    from nnbook import SGD
    S = sine_sequences(32, 20, seed=0)

    def ev(p):
        return float(np.mean((rnn_forward(p, S[:-1])["y"] - S[1:]) ** 2))

    p = rnn_params(1, 8, 1, seed=0)
    vals, div = fit_until_diverged(next_value_loss(), p, SGD(lr=0.005), (S,), 3, 8,
                                   evaluate=ev, batch_axis=1, clip=1.0)
    assert div is None and vals.shape == (4,) and vals[-1] < vals[0]
    p = rnn_params(1, 8, 1, seed=0)
    vals, div = fit_until_diverged(next_value_loss(), p, SGD(lr=5.0), (S,), 20, 8,
                                   evaluate=ev, batch_axis=1)
    assert div is not None and 1 <= div <= 20 and len(vals) == div
    with pytest.raises(ValueError, match="batch"):   # an ordinary error is not swallowed
        fit_until_diverged(next_value_loss(), rnn_params(1, 8, 1), SGD(lr=0.1), (S,), 2, 0,
                           evaluate=ev, batch_axis=1)
