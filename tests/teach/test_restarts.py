"""nnbook.teach.restarts: one architecture from several random starts, and the hidden-unit sweep."""
import numpy as np
import pytest

from nnbook import MLP
from nnbook.train.mlp import fit_mlp
from nnbook.data.datasets import noisy_sine  # noqa: E402
from nnbook.teach.restarts import hidden_unit_sweep, restarts  # noqa: E402


def test_restarts_are_the_same_as_training_each_seed_by_hand():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    t = np.array([[0], [1], [1], [0]], float)
    runs = restarts([2, 2, 1], ["sigmoid", "sigmoid"], X, t, "bce", 0.5, 30, seeds=[3, 4], scale=2.0)
    for (net, hist), seed in zip(runs, [3, 4]):
        ref = MLP.random([2, 2, 1], ["sigmoid", "sigmoid"], seed=seed, scale=2.0)
        h = fit_mlp(ref, X, t, "bce", 0.5, 30)
        np.testing.assert_array_equal(net.get_params(), ref.get_params())
        np.testing.assert_array_equal(hist.metrics["train_error"], h.metrics["train_error"])
    with pytest.raises(ValueError, match="seeds"):
        restarts([2, 2, 1], ["sigmoid", "sigmoid"], X, t, "bce", 0.5, 3, seeds=[])


def test_hidden_unit_sweep_records_per_pattern_errors():
    X, t = noisy_sine(12, noise=0.2, seed=0)
    Xv, tv = noisy_sine(30, noise=0.2, seed=1)
    sw = hidden_unit_sweep([1, 3], X, t, Xv, tv, "sse", 0.05, 40, n_restarts=2, seed=5)
    assert sw.val_error.shape == sw.train_error.shape == (2, 2)
    for i, M in enumerate([1, 3]):
        for r in range(2):
            net = sw.nets[i][r]
            assert net.sizes == [1, M, 1]
            assert np.isclose(sw.val_error[i, r], 0.5 * np.mean((net(Xv) - tv) ** 2))
            ref = MLP.random([1, M, 1], ["tanh", "identity"], seed=5 + r)
            fit_mlp(ref, X, t, "sse", 0.05, 40)
            np.testing.assert_array_equal(ref.get_params(), net.get_params())
    i, r = sw.best
    assert sw.val_error[i, r] == sw.val_error.min()
    with pytest.raises(ValueError, match="M"):
        hidden_unit_sweep([0], X, t, Xv, tv, "sse", 0.05, 1, n_restarts=1)
    with pytest.raises(ValueError, match="n_restarts"):
        hidden_unit_sweep([2], X, t, Xv, tv, "sse", 0.05, 1, n_restarts=0)
    with pytest.raises(ValueError, match="Ms is empty"):
        hidden_unit_sweep([], X, t, Xv, tv, "sse", 0.05, 1, n_restarts=1)


def test_restarts_with_bfgs_are_bfgs_from_each_seed():
    from nnbook.teach.quadratic import bfgs

    X, t = noisy_sine(12, noise=0.2, seed=0)
    runs = restarts([1, 2, 1], ["tanh", "identity"], X, t, "sse", 0.0, 200, seeds=[0, 1],
                    method="bfgs")
    for net, hist in runs:
        assert hist.metrics["train_error"][1] < hist.metrics["train_error"][0]
        assert np.isclose(hist.metrics["train_error"][1], net.error(X, t))
    for (net, hist), seed in zip(runs, [0, 1]):
        ref = MLP.random([1, 2, 1], ["tanh", "identity"], seed=seed)
        assert bfgs(ref, X, t, "sse", maxiter=200) == hist.stopped_epoch
        np.testing.assert_array_equal(ref.get_params(), net.get_params())
    Xv, tv = noisy_sine(20, noise=0.2, seed=1)
    sw = hidden_unit_sweep([2], X, t, Xv, tv, "sse", 0.0, 200, n_restarts=2, method="bfgs")
    np.testing.assert_array_equal(sw.nets[0][0].get_params(), runs[0][0].get_params())
    with pytest.raises(ValueError, match="method"):
        restarts([1, 2, 1], ["tanh", "identity"], X, t, "sse", 0.1, 5, seeds=[0], method="newton")
    with pytest.raises(ValueError, match="no training options"):
        restarts([1, 2, 1], ["tanh", "identity"], X, t, "sse", 0.1, 5, seeds=[0], method="bfgs",
                 batch_size=2)
