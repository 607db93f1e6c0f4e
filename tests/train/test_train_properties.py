"""Property-based and bad-input tests of nnbook.train (issue 17): optimizers change nothing when
they raise, clip_grad_norm without overflow, gradcheck and the numerical Hessian, fit's arguments,
and divergence (Diverged naming the epoch, parameters at their last finite values)."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnbook import MLP, SGD, Adam, Diverged, fit, gradcheck
from nnbook.train.gradcheck import numerical_gradient, numerical_hessian
from nnbook.train.mlp import fit_mlp
from nnbook.train.optimizers import clip_grad_norm, global_norm

FEW = settings(max_examples=30, deadline=None)


def _params():
    return {"W": np.array([[1.0, 2.0], [3.0, 4.0]]), "b": np.array([0.5, -0.5])}


def _snapshot(params, opt):
    return ({k: v.copy() for k, v in params.items()}, opt.t,
            {n: {k: a.copy() for k, a in st_.items()} for n, st_ in opt.state.items()})


def _unchanged(params, opt, snap):
    p0, t0, s0 = snap
    assert opt.t == t0
    assert all(np.array_equal(params[k], p0[k]) for k in p0)
    assert opt.state.keys() == s0.keys()
    for n in s0:
        assert all(np.array_equal(opt.state[n][k], s0[n][k]) for k in s0[n])


BAD_GRADS = [
    ({"W": np.ones((2, 2)), "b": np.array(["a", "b"])}, "'b'"),
    ({"W": np.ones((2, 2)), "b": np.array([1, 2], dtype=object)}, "'b'"),
    ({"W": np.ones((2, 2)), "b": np.array([1 + 1j, 2])}, "'b'"),
    ({"W": np.ones((2, 2)), "b": np.array([1.0, np.nan])}, "'b'"),
    ({"W": np.ones((2, 2)), "b": np.ones(3)}, "'b'"),
    ({"W": np.ones((2, 2))}, "'b'"),
    ({"W": np.ones((2, 2)), "b": np.ones(2), "c": np.ones(1)}, "'c'"),
]


@pytest.mark.parametrize("make", [lambda: SGD(0.1, momentum=0.9), lambda: Adam(0.1)])
@pytest.mark.parametrize("grads, name", BAD_GRADS)
def test_optimizer_step_with_bad_gradients_changes_nothing(make, grads, name):
    params, opt = _params(), make()
    opt.step(params, {"W": np.ones((2, 2)), "b": np.ones(2)})  # some state to protect
    snap = _snapshot(params, opt)
    with pytest.raises((ValueError, TypeError), match=name):
        opt.step(params, grads)
    _unchanged(params, opt, snap)
    opt.step(params, {"W": np.ones((2, 2)), "b": np.ones(2)})  # a valid call still works
    assert opt.t == snap[1] + 1


@pytest.mark.parametrize("make", [lambda: SGD(0.1, momentum=0.9), lambda: Adam(0.1)])
def test_read_only_second_parameter_and_new_shapes_change_nothing(make):
    params, opt = _params(), make()
    opt.step(params, {"W": np.ones((2, 2)), "b": np.ones(2)})
    snap = _snapshot(params, opt)
    params["b"].flags.writeable = False
    with pytest.raises(ValueError, match="'b' is read-only"):
        opt.step(params, {"W": np.ones((2, 2)), "b": np.ones(2)})
    _unchanged(params, opt, snap)
    params["b"] = params["b"].copy()
    bigger = {"W": np.ones((3, 3)), "b": params["b"]}
    with pytest.raises(ValueError, match="'W' has shape"):
        opt.step(bigger, {"W": np.ones((3, 3)), "b": np.ones(2)})
    _unchanged(params, opt, snap)


@pytest.mark.parametrize("call, name", [
    (lambda: Adam(betas=(0.9,)), "betas"),
    (lambda: Adam(betas=0.9), "betas"),
    (lambda: Adam(betas=(0.9, 0.99, 0.999)), "betas"),
    (lambda: Adam(betas=(0.9, "x")), "betas"),
    (lambda: SGD(lr="0.1"), "lr"),
    (lambda: SGD(lr=True), "lr"),
])
def test_optimizer_constructor_names_the_argument(call, name):
    with pytest.raises((ValueError, TypeError), match=name):
        call()


@FEW
@given(st.lists(hnp.arrays(np.float64, st.integers(1, 4),
                           elements=st.floats(-1e300, 1e300, allow_nan=False)),
                min_size=1, max_size=3),
       st.floats(1e-3, 1e3))
def test_clip_grad_norm_keeps_direction_and_caps_the_norm(arrays, theta):
    grads = {f"g{i}": a for i, a in enumerate(arrays)}
    clipped, norm = clip_grad_norm(grads, theta)
    assert np.isfinite(norm)
    big = max(np.abs(a).max() for a in arrays)
    if big > 0:  # the norm is right even where the sum of squares overflows
        want = big * np.sqrt(sum(np.sum((a / big) ** 2) for a in arrays))
        assert norm == pytest.approx(want, rel=1e-12)
    new = global_norm(clipped)
    assert new <= theta * (1 + 1e-9) or new == pytest.approx(norm)
    if norm > theta:
        assert new == pytest.approx(theta, rel=1e-9)
        for k in grads:  # same direction
            np.testing.assert_allclose(clipped[k], grads[k] * (theta / norm), rtol=1e-9,
                                       atol=1e-300)  # subnormal results lose digits


def test_clip_grad_norm_of_huge_and_integer_gradients():
    clipped, norm = clip_grad_norm({"a": np.array([3e200, 4e200])}, 1.0)
    assert norm == pytest.approx(5e200)
    np.testing.assert_allclose(clipped["a"], [0.6, 0.8])
    clipped, norm = clip_grad_norm({"a": np.array([3, 4])}, 1.0)
    assert norm == 5.0 and clipped["a"].dtype == np.float64
    np.testing.assert_allclose(clipped["a"], [0.6, 0.8])


def test_gradcheck_reports_nan_in_any_array():
    params = [np.array([1.0, 2.0]), np.array([3.0])]

    def f(p):
        return float(np.sum(p[0] ** 2) + np.sum(p[1] ** 2)), [2 * p[0], np.array([np.nan])]
    assert np.isnan(gradcheck(f, params))

    def good(p):
        return float(np.sum(p[0] ** 2) + np.sum(p[1] ** 2)), [2 * p[0], 2 * p[1]]
    assert gradcheck(good, params) < 1e-8
    with pytest.raises(ValueError, match="params"):
        gradcheck(good, [])


def test_numerical_hessian_and_gradient_check_what_f_returns():
    with pytest.raises(ValueError, match="grad"):
        numerical_hessian(lambda w: float(w @ w), np.ones(3))
    H = numerical_hessian(lambda w: 2 * w, np.ones(3))
    np.testing.assert_allclose(H, 2 * np.eye(3), atol=1e-6)
    with pytest.raises((ValueError, TypeError), match="f must return a real scalar"):
        numerical_gradient(lambda p: p * 2, np.ones(2))


def _quadratic(params, x, rng=None):
    return float(np.sum(params["w"] ** 2)), {"w": 2 * params["w"]}


@pytest.mark.parametrize("kwargs, name", [
    (dict(batch_axis=0.0), "batch_axis"),
    (dict(seed=-1), "seed"),
    (dict(seed="1"), "seed"),
    (dict(decay_per="Epochs"), "decay_per"),
    (dict(progress="no"), "progress"),
    (dict(evaluate=3), "evaluate"),
])
def test_fit_names_bad_arguments(kwargs, name):
    params = {"w": np.ones(2)}
    with pytest.raises((ValueError, TypeError), match=name):
        fit(_quadratic, params, SGD(0.1), (np.ones((4, 1)),), 2, **kwargs)
    np.testing.assert_array_equal(params["w"], 1.0)


@pytest.mark.parametrize("lag, name", [
    (lambda p, x, rng: (np.ones(2), {"w": 2 * p["w"]}), "scalar loss"),
    (lambda p, x, rng: (1.0, [2 * p["w"]]), "dict"),
    (lambda p, x, rng: (1.0, {"w": np.array(["a", "b"])}), "'w'"),
    (lambda p, x, rng: 1.0, "pair"),
    ("not callable", "loss_and_grads"),
])
def test_fit_names_what_loss_and_grads_got_wrong(lag, name):
    params = {"w": np.ones(2)}
    with pytest.raises((ValueError, TypeError), match=name):
        fit(lag, params, SGD(0.1), (np.ones((4, 1)),), 2)
    np.testing.assert_array_equal(params["w"], 1.0)


def test_fit_evaluate_keys_changing_is_caught_after_the_first_epoch():
    calls = []

    def evaluate(p):
        calls.append(1)
        return {"a": 1.0} if len(calls) == 1 else {"b": 1.0}
    with pytest.raises(ValueError, match=r"keys \['b'\] after epoch 1 .*same keys"):
        fit(_quadratic, {"w": np.ones(2)}, SGD(0.1), (np.ones((4, 1)),), 50, evaluate=evaluate)
    assert len(calls) == 2  # after the first epoch, not after all fifty


@FEW
@given(st.floats(1e150, 1e300), st.sampled_from(["sgd", "adam"]))
def test_fit_refuses_a_step_that_overflows_and_keeps_the_last_finite_values(size, which):
    def lag(params, x, rng=None):  # finite loss and gradient, but a step of lr * 1e300 ...
        return 1.0, {"w": np.full(2, size)}
    params = {"w": np.array([1e308, -1e308])}
    opt = SGD(1e300) if which == "sgd" else Adam(1e300)
    with pytest.raises(Diverged, match="epoch 1"):
        fit(lag, params, opt, (np.ones((3, 1)),), 3)
    np.testing.assert_array_equal(params["w"], [1e308, -1e308])  # untouched, still finite
    assert opt.t == 0


def test_fit_mlp_divergence_names_the_epoch_and_keeps_finite_weights():
    net = MLP.random([1, 8, 1], ["tanh", "identity"], seed=0)
    X = np.linspace(-1, 1, 20)[:, None]
    T = 3 * X
    seen = []
    with pytest.raises(Diverged, match=r"epoch \d+") as info, warnings.catch_warnings():
        warnings.simplefilter("error")   # divergence is said by Diverged, not by NumPy warnings
        fit_mlp(net, X, T, "sse", lr=5.0, epochs=200, keep_weights=True)
    seen.append(str(info.value))
    assert all(np.all(np.isfinite(W)) and np.all(np.isfinite(b)) for W, b in net.weights)
    with pytest.raises(ValueError, match="T must lie in"):
        fit_mlp(MLP.random([1, 2, 1], ["tanh", "sigmoid"]), X, np.full((20, 1), 2.0), "bce",
                lr=0.1, epochs=1)
    with pytest.raises((ValueError, TypeError), match="keep_weights"):
        fit_mlp(net, X, T, "sse", lr=0.1, epochs=1, keep_weights="yes")
