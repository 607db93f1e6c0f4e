"""The shared optimizers and training loop of Parts II-IV."""
import numpy as np
import pytest

from nnbook.train.optimizers import SGD, Adam, clip_grad_norm, global_norm
from nnbook.train.fit import fit


def quad():
    """E = 1/2 sum_k ||A_k w_k - c_k||^2 over two named arrays."""
    rng = np.random.default_rng(0)
    A = {"W": rng.normal(size=(3, 3)) + 3 * np.eye(3), "b": np.array([[2.0]])}
    c = {"W": rng.normal(size=(3, 2)), "b": np.array([[1.0]])}
    params = {"W": np.zeros((3, 2)), "b": np.zeros((1, 1))}

    def loss_and_grads(p, *batch, rng=None):
        r = {k: A[k] @ p[k] - c[k] for k in p}
        return 0.5 * sum(np.sum(v**2) for v in r.values()), {k: A[k].T @ r[k] for k in p}

    opt = {k: np.linalg.solve(A[k], c[k]) for k in A}
    return params, loss_and_grads, opt


def test_sgd_step_is_w_minus_lr_g():
    p = {"W": np.ones((2, 2))}
    SGD(lr=0.5).step(p, {"W": np.full((2, 2), 2.0)})
    assert np.allclose(p["W"], 0.0)


def test_momentum_matches_hand_recursion():
    p = {"w": np.array([1.0])}
    opt = SGD(lr=0.1, momentum=0.9)
    w, v = 1.0, 0.0
    for _ in range(5):
        g = 2 * w
        opt.step(p, {"w": np.array([2 * p["w"][0]])})
        v = 0.9 * v + g
        w = w - 0.1 * v
    assert p["w"][0] == pytest.approx(w, rel=1e-14)


def test_adam_first_step_has_size_lr():
    # with bias correction, the first step is lr * g / (|g| + eps) = lr * sign(g)
    p = {"w": np.array([0.0, 0.0])}
    Adam(lr=0.01).step(p, {"w": np.array([3.0, -1e-3])})
    assert np.allclose(p["w"], [-0.01, 0.01], rtol=1e-4)


@pytest.mark.parametrize("opt", [SGD(lr=0.05), SGD(lr=0.02, momentum=0.9), Adam(lr=0.05)])
def test_optimizers_reach_the_minimum(opt):
    params, lg, best = quad()
    fit(lg, params, opt, (np.zeros(1),), epochs=3000, progress=False)
    for k in params:
        assert np.allclose(params[k], best[k], atol=1e-4)


def test_weight_decay_default_decays_every_array_whatever_its_name():
    # the rule is explicit, not a name heuristic: by default every array is decayed (as Part I's
    # train(weight_decay=...) and PyTorch), a "b", an "emb" and a batch-norm "bn.beta" alike
    names = ("W", "b", "emb", "bias", "bn.beta")
    for opt in (SGD(lr=0.1, weight_decay=1.0), Adam(lr=0.1, weight_decay=1.0)):
        p = {k: np.ones(2) for k in names}
        opt.step(p, {k: np.zeros(2) for k in names})
        assert all(opt.decays(k) for k in names)
        assert all(np.all(p[k] < 1.0) for k in names)
    p = {k: np.ones(2) for k in names}
    SGD(lr=0.1, weight_decay=1.0).step(p, {k: np.zeros(2) for k in names})
    assert all(np.allclose(p[k], 0.9) for k in names)          # w - lr * lambda * w


def test_weight_decay_named_set_decays_exactly_those_arrays():
    p = {"W": np.ones(2), "b": np.ones(2), "emb": np.ones(2)}
    opt = SGD(lr=0.1, weight_decay=1.0, decay={"W", "emb"})
    opt.step(p, {k: np.zeros(2) for k in p})
    assert np.allclose(p["W"], 0.9) and np.allclose(p["emb"], 0.9) and np.allclose(p["b"], 1.0)
    assert [opt.decays(k) for k in ("W", "b", "emb")] == [True, False, True]
    # a list works as a set; the empty set decays nothing
    p2 = {"W": np.ones(2)}
    SGD(lr=0.1, weight_decay=1.0, decay=[]).step(p2, {"W": np.zeros(2)})
    assert np.allclose(p2["W"], 1.0)


def test_weight_decay_predicate_decides_by_name():
    p = {"conv1.w": np.ones(2), "conv1.b": np.ones(2), "dense1.w": np.ones(2)}
    Adam(lr=0.1, weight_decay=0.5, decay=lambda name: name.endswith(".w")).step(
        p, {k: np.zeros(2) for k in p})
    assert np.all(p["conv1.w"] < 1) and np.all(p["dense1.w"] < 1)
    assert np.array_equal(p["conv1.b"], np.ones(2))


def test_weight_decay_zero_ignores_the_rule_and_bad_rules_are_named():
    p = {"W": np.ones(2)}
    SGD(lr=0.1, decay={"W"}).step(p, {"W": np.zeros(2)})
    assert np.array_equal(p["W"], np.ones(2))
    with pytest.raises(ValueError, match="not parameters"):     # a typo cannot turn decay off
        SGD(lr=0.1, weight_decay=1.0, decay={"w"}).step(p, {"W": np.zeros(2)})
    with pytest.raises(ValueError, match="collection of parameter names"):
        SGD(lr=0.1, weight_decay=1.0, decay="W")                # a str would be read as letters
    with pytest.raises(ValueError, match="by str"):
        SGD(lr=0.1, weight_decay=1.0, decay={1})


def test_clip_keeps_direction_and_sets_norm():
    g = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    c, n = clip_grad_norm(g, 1.0)
    assert n == pytest.approx(5.0)
    assert global_norm(c) == pytest.approx(1.0)
    assert np.allclose(c["a"] / g["a"][0], [0.2, 0.0]) and c["b"][0, 0] == pytest.approx(0.8)
    same, n2 = clip_grad_norm(g, 10.0)
    assert n2 == pytest.approx(5.0) and np.array_equal(same["a"], g["a"])


def test_fit_is_deterministic_and_logs():
    params, lg, _ = quad()
    X = np.arange(10.0)
    seen = []

    def lg_batch(p, xb, rng):
        seen.append(tuple(xb))
        return lg(p)

    log = fit(lg_batch, params, SGD(lr=0.01), (X,), epochs=3, batch_size=4, seed=1,
              evaluate=lambda p: {"w00": p["W"][0, 0]}, snapshot=lambda p, e: e, progress=False)
    assert log.steps == 9 and log.loss.shape == (3,) and log.metrics["w00"].shape == (4,)
    assert log.snapshots == [0, 1, 2, 3]
    first = list(seen)
    seen.clear()
    params2, _, _ = quad()
    fit(lg_batch, params2, SGD(lr=0.01), (X,), epochs=3, batch_size=4, seed=1, progress=False)
    assert seen == first and sorted(sum(first[:3], ())) == list(X)


@pytest.mark.parametrize("bad, msg", [
    (lambda p: {"W": p["W"]}, "lacks"),
    (lambda p: {**p, "c": p["W"]}, "not parameters"),
    (lambda p: {"W": p["W"][:1], "b": p["b"]}, "shape"),
    (lambda p: {"W": p["W"] * np.nan, "b": p["b"]}, "NaN"),
])
def test_bad_gradients_are_named(bad, msg):
    p = {"W": np.ones((2, 2)), "b": np.ones(2)}
    with pytest.raises(ValueError, match=msg):
        Adam().step(p, bad(p))


def test_bad_hyperparameters():
    for make in (lambda: SGD(lr=0), lambda: SGD(lr=0.1, momentum=1.0),
                 lambda: Adam(betas=(1.0, 0.9)), lambda: Adam(eps=-1)):
        with pytest.raises(ValueError):
            make()
    with pytest.raises(ValueError, match="theta"):
        clip_grad_norm({"a": np.ones(2)}, 0)
    with pytest.raises(ValueError, match="same length"):
        fit(lambda p, *b, rng: (0.0, p), {"a": np.ones(1)}, SGD(lr=1), (np.ones(3), np.ones(4)), 1)


def test_diverging_loss_is_reported():
    with pytest.raises(ValueError, match="loss became"):
        fit(lambda p, x, rng: (np.inf, {"a": np.zeros(1)}), {"a": np.ones(1)}, SGD(lr=1),
            (np.ones(2),), 1, progress=False)


def test_divergence_has_its_own_error_class():
    from nnbook.train.fit import Diverged

    with pytest.raises(Diverged, match="loss became"):
        fit(lambda p, x, rng: (np.nan, {"a": np.zeros(1)}), {"a": np.ones(1)}, SGD(lr=1),
            (np.ones(2),), 1, progress=False)
    with pytest.raises(Diverged, match="gradient became"):
        fit(lambda p, x, rng: (1.0, {"a": np.array([np.inf])}), {"a": np.ones(1)}, SGD(lr=1),
            (np.ones(2),), 1, progress=False)
    assert issubclass(Diverged, ValueError)
