"""A recurrent cell as a sequence model (nnbook.nn.sequence_model) trained and probed by nnbook.teach.sequence_runs."""
import numpy as np
import pytest

from nnbook import gradcheck
from nnbook.kernels.rnn import rnn_forward, state_jacobians
from nnbook.data.tasks import ADDING_BASELINE_MSE, adding_problem
from nnbook.nn.sequence_model import CELLS, cell_functions, init_model, predict, sequence_loss
from nnbook.teach.sequence_runs import state_grad_norms, train_sequence_model


# ---------------------------------------------------------------------------------- the helpers
@pytest.fixture(scope="module")
def small():
    X, y = adding_problem(3, 5, seed=0)
    return X, y[None]


@pytest.mark.parametrize("cell", CELLS)
def test_sequence_loss_is_the_batch_mean_and_its_gradient_checks(cell, small):
    X, Y = small
    params = init_model(cell, 2, 3, 1, seed=1)
    keys = list(params)
    f = sequence_loss(cell)

    def as_list(p):
        E, g = f(dict(zip(keys, p)), X, Y)
        return E, [g[k] for k in keys]

    assert gradcheck(as_list, [params[k] for k in keys]) < 1e-8
    # the mean over the batch of the one-sequence losses
    E = f(params, X, Y)[0]
    singles = [f(params, X[:, b:b + 1], Y[:, b:b + 1])[0] for b in range(X.shape[1])]
    assert np.isclose(E, np.mean(singles))
    # = half the squared error of the prediction after the last step
    assert np.isclose(E, 0.5 * np.mean((predict(cell, params, X) - Y[0]) ** 2))


def test_state_grad_norms_match_the_jacobian_product_for_the_rnn(small):
    X, Y = small
    params = init_model("rnn", 2, 4, 1, seed=2)
    norms = state_grad_norms("rnn", params, X, Y)
    T, B = X.shape[:2]
    expect = np.zeros(T)
    for b in range(B):
        x = X[:, b]
        out = rnn_forward(params, x)
        g = params["Why"].T @ (out["y"][-1] - Y[0, b])  # dE/dh(T)
        J = state_jacobians(params, x)
        for t in range(T - 1, -1, -1):  # g = dE/dh(t + 1) (index t)
            expect[t] += np.linalg.norm(g) / B
            g = J[t].T @ g
    assert np.allclose(norms, expect)


def test_init_model_sets_the_lstm_forget_bias():
    p = init_model("lstm", 2, 3, 1, forget_bias=2.5)
    assert np.all(p["b"][3:6] == 2.5) and not np.all(p["b"][:3] == 2.5)


def test_training_learns_the_short_adding_problem_and_is_deterministic():
    train, test = adding_problem(512, 4, seed=0), adding_problem(128, 4, seed=1)
    runs = [train_sequence_model("rnn", train, test, Dh=8, epochs=15, lr=0.02, seed=0)
            for _ in range(2)]
    r = runs[0]
    assert r.test_mse.shape == (16,) and r.grad_norms.shape == (16, 4)
    assert r.test_mse[-1] < 0.3 * ADDING_BASELINE_MSE
    assert np.array_equal(r.test_mse, runs[1].test_mse)
    assert all(np.array_equal(r.params[k], runs[1].params[k]) for k in r.params)


def test_bad_input_is_named():
    train = adding_problem(8, 4, seed=0)
    with pytest.raises(ValueError, match="cell"):
        init_model("transformer", 2, 3, 1)
    with pytest.raises(ValueError, match="loss_at"):
        sequence_loss("rnn", loss_at="first")
    with pytest.raises(ValueError, match="sequences"):
        train_sequence_model("rnn", train, (train[0], train[1][:5]), epochs=1)
    with pytest.raises(ValueError, match="disagree"):
        train_sequence_model("rnn", train, (train[0][:, :, :1], train[1]), epochs=1)
    assert CELLS == ("rnn", "lstm", "gru")


@pytest.mark.parametrize("cell", CELLS)
def test_predict_and_state_grad_norms_agree_with_the_kernels(cell, small):
    X, Y = small
    params = init_model(cell, 2, 3, 1, seed=3)
    _, _, bptt = cell_functions(cell)
    every = predict(cell, params, X, last=False)
    assert every.shape == (5, 3, 1)
    assert np.array_equal(every[-1], predict(cell, params, X))
    _, _, st = bptt(params, X, Y[0], loss_at="last", return_state_grads=True)
    expect = np.mean([np.linalg.norm(st["dh"][:, b], axis=-1) for b in range(3)], axis=0)
    assert np.allclose(state_grad_norms(cell, params, X, Y), expect)
    # the gradient reaching the last state is W_hy^T (y_hat - y) for every cell
    last = np.mean([np.linalg.norm(params["Why"].T @ (every[-1, b] - Y[0, b]))
                    for b in range(3)])
    assert np.isclose(state_grad_norms(cell, params, X, Y)[-1], last)


def test_the_gated_cells_train_too():
    train, test = adding_problem(256, 4, seed=0), adding_problem(64, 4, seed=1)
    r = train_sequence_model("lstm", train, test, Dh=4, epochs=3, lr=0.02, seed=0)
    assert r.cell == "lstm" and r.test_mse.shape == (4,)
    assert r.test_mse[-1] < r.test_mse[0]
