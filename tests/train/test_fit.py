"""nnbook.train.fit: the one training loop's options (early stopping, decay per epoch, full batches)."""
import numpy as np
import pytest

from nnbook import MLP, SGD, Adam, EarlyStopping, fit
from nnbook.data.datasets import moons
from nnbook.train.fit import minibatches
from nnbook.train.mlp import fit_mlp, mlp_weight_decay, penalty


def _quadratic(target):
    """loss_and_grads of 0.5 * sum((w - target)^2) summed over a batch of copies."""
    def loss_and_grads(params, X, rng=None):
        d = params["w"] - target
        return 0.5 * len(X) * float(d @ d), {"w": len(X) * d}
    return loss_and_grads


def test_a_full_batch_keeps_its_order_and_draws_nothing():
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    (batch,) = minibatches(5, 5, rng)
    np.testing.assert_array_equal(batch, np.arange(5))
    assert rng.bit_generator.state == state
    assert sorted(np.concatenate(minibatches(5, 2, rng))) == list(range(5))


def test_early_stopping_stops_after_patience_and_restores_the_best():
    values = iter([5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 9.0, 9.0])
    params = {"w": np.zeros(2)}
    log = fit(_quadratic(np.ones(2)), params, SGD(0.1), (np.zeros(4),), 20,
              evaluate=lambda p: {"v": next(values), "w0": float(p["w"][0])},
              early_stopping=EarlyStopping("v", patience=3))
    assert log.best_epoch == 2 and log.stopped_epoch == 5
    assert len(log.loss) == 5 and len(log.metrics["v"]) == 6
    assert params["w"][0] == pytest.approx(log.metrics["w0"][2])  # the best epoch's weights are back
    assert log.best("v") == 2 and log.best("w0", mode="max") == 5


def test_early_stopping_mode_max_and_bad_rules():
    values = iter([0.1, 0.5, 0.4, 0.3])
    log = fit(_quadratic(np.ones(1)), {"w": np.zeros(1)}, SGD(0.1), (np.zeros(2),), 10,
              evaluate=lambda p: {"acc": next(values)},
              early_stopping=EarlyStopping("acc", 2, mode="max"))
    assert (log.best_epoch, log.stopped_epoch) == (1, 3)
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping("acc", 0)
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping("acc", 2, mode="best")
    with pytest.raises(ValueError, match="give evaluate"):
        fit(_quadratic(np.ones(1)), {"w": np.zeros(1)}, SGD(0.1), (np.zeros(2),), 1,
            early_stopping=EarlyStopping("acc", 2))
    with pytest.raises(ValueError, match="watches 'acc'"):
        fit(_quadratic(np.ones(1)), {"w": np.zeros(1)}, SGD(0.1), (np.zeros(2),), 1,
            evaluate=lambda p: {"loss": 1.0}, early_stopping=EarlyStopping("acc", 2))
    with pytest.raises(ValueError, match="no metric 'nope'"):
        log.best("nope")


def test_decay_per_epoch_applies_each_batch_its_share():
    """Two batches of a 4-example set: each step decays by half of lambda * w."""
    lam, lr = 0.3, 0.1
    params = {"w": np.array([2.0])}
    fit(lambda p, X, rng=None: (0.0, {"w": np.zeros(1)}), params, SGD(lr, weight_decay={"w": lam}),
        (np.zeros(4),), 1, 2, decay_per="epoch")
    assert params["w"][0] == pytest.approx(2.0 * (1 - lr * lam / 2) ** 2)
    params = {"w": np.array([2.0])}
    fit(lambda p, X, rng=None: (0.0, {"w": np.zeros(1)}), params, SGD(lr, weight_decay={"w": lam}),
        (np.zeros(4),), 1, 2)
    assert params["w"][0] == pytest.approx(2.0 * (1 - lr * lam) ** 2)
    with pytest.raises(ValueError, match="decay_per"):
        fit(_quadratic(np.ones(1)), {"w": np.zeros(1)}, SGD(0.1), (np.zeros(2),), 1, decay_per="batch")


def test_weight_decay_as_a_dict_is_explicit():
    opt = SGD(0.1, weight_decay={"emb": 0.5, "W": 0.0})
    assert opt.coefficient("emb") == 0.5 and opt.coefficient("b") == 0.0 and opt.coefficient("W") == 0.0
    params, grads = {"emb": np.ones(2), "b": np.ones(2)}, {"emb": np.zeros(2), "b": np.zeros(2)}
    with pytest.raises(ValueError, match="not parameters"):
        opt.step(params, grads)
    Adam(1e-3, weight_decay={"emb": 0.5}).step(params, grads)
    np.testing.assert_array_equal(params["b"], np.ones(2))
    assert params["emb"][0] < 1.0
    with pytest.raises(ValueError, match="weight_decay"):
        SGD(0.1, weight_decay={"w": -1.0})


def _old_part_one_loop(net, X, T, loss, lr, epochs, batch_size, wd, ld, seed):
    """Part I's former trainer, written out: the numbers fit_mlp must reproduce bit for bit."""
    rng = np.random.default_rng(seed)
    N, errors = len(X), [net.error(X, T, loss)]
    alphas = ld or [0.0] * len(net.weights)
    for _ in range(epochs):
        batches = ([np.arange(N)] if batch_size is None else
                   [o[i:i + batch_size] for o in [rng.permutation(N)] for i in range(0, N, batch_size)])
        for idx in batches:
            grads = net.gradients(X[idx], T[idx], loss)
            pen = [((wd + a) * W, wd * b) for a, (W, b) in zip(alphas, net.weights)]
            for (W, b), (dW, db), (pW, pb) in zip(net.weights, grads, pen):
                share = len(idx) / N
                W -= lr * (dW + share * pW)
                b -= lr * (db + share * pb)
        errors.append(net.error(X, T, loss))
    return np.array(errors)


@pytest.mark.parametrize("batch_size,wd,ld", [(None, 0.0, None), (None, 0.01, [0.1, 0.0]),
                                              (7, 0.0, None), (7, 0.02, [0.05, 0.3]), (1, 0.0, None)])
def test_fit_mlp_reproduces_the_part_one_loop_bit_for_bit(batch_size, wd, ld):
    X, t = moons(30, seed=4)
    a, b = (MLP.random([2, 5, 1], ["tanh", "sigmoid"], seed=1) for _ in range(2))
    log = fit_mlp(a, X, t, "bce", 0.05, 6, batch_size=batch_size, weight_decay=wd, layer_decay=ld,
                  seed=3)
    ref = _old_part_one_loop(b, X, t.reshape(-1, 1), "bce", 0.05, 6, batch_size, wd, ld, 3)
    np.testing.assert_array_equal(a.get_params(), b.get_params())
    np.testing.assert_array_equal(log.metrics["train_error"], ref)
    assert log.metrics["objective"][-1] == ref[-1] + penalty(a, wd, ld)


def test_mlp_weight_decay_names_every_parameter():
    net = MLP.random([2, 3, 1], ["tanh", "identity"], seed=0)
    assert mlp_weight_decay(net, 0.1, [0.2, 0.3]) == pytest.approx(
        {"W1": 0.3, "b1": 0.1, "W2": 0.4, "b2": 0.1})
    assert mlp_weight_decay(net).keys() == net.params.keys()
