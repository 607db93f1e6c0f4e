import warnings

import numpy as np
import pytest

import rnn_reference as ref
from rnn_reference import check_fd, targets
from nnbook import numerical_gradient
from nnbook.kernels.rnn import rnn_bptt, rnn_forward, rnn_params, state_jacobians

KEYS = ["Wxh", "Whh", "Why", "bh", "by"]
PAIRS = [("identity", "sse"), ("softmax", "ce"), ("sigmoid", "bce")]


def make(Dx, Dh, Dy, T, B, rng, scale=1.0):
    p = rnn_params(Dx, Dh, Dy, seed=int(rng.integers(1000)), scale=scale)
    p["bh"] = 0.3 * rng.normal(size=Dh)
    p["by"] = 0.3 * rng.normal(size=Dy)
    shape = (T, Dx) if B is None else (T, B, Dx)
    return p, rng.normal(size=shape)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "identity"])
@pytest.mark.parametrize("output,loss", PAIRS)
@pytest.mark.parametrize("B", [None, 3])
def test_bptt_matches_finite_differences(activation, output, loss, B, rng):
    p, X = make(3, 4, 3, 5, B, rng)
    Y = targets(loss, 5, B, 3, rng)
    h0 = rng.normal(size=4 if B is None else (B, 4))
    check_fd(lambda q: rnn_bptt(q, X, Y, h0, activation, output, loss), p)


@pytest.mark.parametrize("output,loss", PAIRS)
@pytest.mark.parametrize("B", [None, 2])
def test_bptt_loss_at_last_matches_finite_differences(output, loss, B, rng):
    p, X = make(2, 3, 3, 6, B, rng)
    Y = targets(loss, 6, B, 3, rng, last=True)
    check_fd(lambda q: rnn_bptt(q, X, Y, output=output, loss=loss, loss_at="last"), p)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("output,loss", PAIRS)
@pytest.mark.parametrize("loss_at", ["all", "last"])
@pytest.mark.parametrize("B", [None, 4])
def test_matches_numpy_reference(activation, output, loss, loss_at, B, rng):
    Dh = 20 if B else 5  # B * Dh >= 256 takes the BLAS branch of the kernels
    B = 16 if B else None
    p, X = make(3, Dh, 4, 7, B, rng)
    Y = targets(loss, 7, B, 4, rng, last=loss_at == "last")
    h0 = rng.normal(size=Dh if B is None else (B, Dh))
    E, g = rnn_bptt(p, X, Y, h0, activation, output, loss, loss_at)
    E_ref, g_ref = ref.rnn_bptt(p, X, Y, h0, activation=activation, output=output, loss=loss,
                                loss_at=loss_at)
    assert E == pytest.approx(E_ref, rel=1e-12)
    for k in KEYS:
        np.testing.assert_allclose(g[k], g_ref[k], rtol=1e-10, atol=1e-12)
    fw = rnn_forward(p, X, h0, activation, output)
    for b in range(1 if B is None else B):
        one = ref.rnn_forward(p, X if B is None else X[:, b], h0 if B is None else h0[b],
                              activation, output)
        for k in "ahoy":
            got = fw[k] if B is None else fw[k][:, b]
            np.testing.assert_allclose(got, one[k], rtol=1e-12, atol=1e-14)


def test_batch_equals_single_runs(rng):
    p, X = make(2, 6, 3, 9, 5, rng)
    Y = targets("ce", 9, 5, 3, rng)
    E, g, s = rnn_bptt(p, X, Y, output="softmax", loss="ce", return_state_grads=True)
    runs = [rnn_bptt(p, X[:, b], Y[:, b], output="softmax", loss="ce", return_state_grads=True)
            for b in range(5)]
    assert E == pytest.approx(sum(r[0] for r in runs), rel=1e-13)
    for k in KEYS:
        np.testing.assert_allclose(g[k], sum(r[1][k] for r in runs), rtol=1e-12, atol=1e-14)
    for b in range(5):
        np.testing.assert_allclose(s["dh"][:, b], runs[b][2]["dh"], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(s["dh0"][b], runs[b][2]["dh0"], rtol=1e-12, atol=1e-15)
    fw = rnn_forward(p, X, output="softmax")
    for b in range(5):
        np.testing.assert_allclose(fw["y"][:, b], rnn_forward(p, X[:, b], output="softmax")["y"])
        np.testing.assert_allclose(fw["y"][:, b].sum(axis=-1), 1.0)


def test_class_indices_equal_one_hot(rng):
    p, X = make(2, 4, 3, 6, 2, rng)
    idx = rng.integers(3, size=(6, 2))
    E1, g1 = rnn_bptt(p, X, idx, output="softmax", loss="ce")
    E2, g2 = rnn_bptt(p, X, np.eye(3)[idx], output="softmax", loss="ce")
    assert E1 == E2
    E3, _ = rnn_bptt(p, X, idx[-1], output="softmax", loss="ce", loss_at="last")
    E4, _ = rnn_bptt(p, X, np.eye(3)[idx[-1]], output="softmax", loss="ce", loss_at="last")
    assert E3 == E4
    for k in KEYS:
        np.testing.assert_array_equal(g1[k], g2[k])


def test_state_grads_are_dE_dh(rng):
    """dh[t] equals the reference's dE/dh(t); dh0 equals finite differences in h0."""
    p, X = make(2, 4, 2, 8, None, rng)
    Y = targets("sse", 8, None, 2, rng)
    h0 = rng.normal(size=4)
    _, _, s = rnn_bptt(p, X, Y, h0, return_state_grads=True)
    _, _, dh_ref = ref.rnn_bptt_one(X, Y, h0, p)
    np.testing.assert_allclose(s["dh"], dh_ref, rtol=1e-12, atol=1e-15)
    num = numerical_gradient(lambda h: rnn_bptt(p, X, Y, h)[0], h0)
    np.testing.assert_allclose(s["dh0"], num, atol=1e-8)
    # loss at the last step only: dE/dh(t) shrinks (tanh, small weights) going back in time
    q = rnn_params(2, 4, 1, seed=1, scale=0.5)
    _, _, s = rnn_bptt(q, X, [1.0], loss_at="last", return_state_grads=True)
    norms = np.linalg.norm(s["dh"], axis=1)
    assert np.all(np.diff(norms) > 0)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "identity"])
@pytest.mark.parametrize("B", [None, 2])
def test_state_jacobians_match_finite_differences(activation, B, rng):
    p, X = make(2, 3, 1, 4, B, rng)
    J = state_jacobians(p, X, activation=activation)
    h = rnn_forward(p, X, activation=activation)["h"]
    assert J.shape == ((4, 3, 3) if B is None else (4, 2, 3, 3))
    for t in range(1, 4):
        for b in range(1 if B is None else B):
            x = X[t] if B is None else X[t, b]
            hp = h[t - 1] if B is None else h[t - 1, b]
            num = np.empty((3, 3))
            for j in range(3):
                e = np.zeros(3)
                e[j] = 1e-6
                step = [rnn_forward(p, x[None], hp + s * e, activation)["h"][0] for s in (1, -1)]
                num[:, j] = (step[0] - step[1]) / 2e-6
            np.testing.assert_allclose(J[t] if B is None else J[t, b], num, atol=1e-8)


# the T = 2 worked example (chapter on BPTT): written out by hand, independent of the kernels
EX = {"Wxh": np.array([[0.5, 0.1], [0.2, 0.4]]), "Whh": np.array([[0.3, 0.6], [0.7, 0.1]]),
      "Why": np.array([[0.8, 0.4]]), "bh": np.array([0.1, 0.1]), "by": np.array([0.0])}
EX_X = np.array([[1.0, 0.0], [0.0, 1.0]])
EX_Y = np.array([[0.5], [0.9]])


def test_worked_example_T2_exactly():
    tanh = np.tanh
    # forward, scalar by scalar
    a11, a12 = 0.5 * 1 + 0.1 * 0 + 0.1, 0.2 * 1 + 0.4 * 0 + 0.1
    h11, h12 = tanh(a11), tanh(a12)
    y1 = 0.8 * h11 + 0.4 * h12
    a21 = 0.3 * h11 + 0.6 * h12 + 0.1 * 1 + 0.1
    a22 = 0.7 * h11 + 0.1 * h12 + 0.4 * 1 + 0.1
    h21, h22 = tanh(a21), tanh(a22)
    y2 = 0.8 * h21 + 0.4 * h22
    E = 0.5 * (y1 - 0.5) ** 2 + 0.5 * (y2 - 0.9) ** 2
    # backward
    do1, do2 = y1 - 0.5, y2 - 0.9
    d21, d22 = 0.8 * do2 * (1 - h21 ** 2), 0.4 * do2 * (1 - h22 ** 2)
    d11 = (0.8 * do1 + 0.3 * d21 + 0.7 * d22) * (1 - h11 ** 2)
    d12 = (0.4 * do1 + 0.6 * d21 + 0.1 * d22) * (1 - h12 ** 2)
    want = {"Why": [[do1 * h11 + do2 * h21, do1 * h12 + do2 * h22]], "by": [do1 + do2],
            "Wxh": [[d11, d21], [d12, d22]],
            "Whh": [[d21 * h11, d21 * h12], [d22 * h11, d22 * h12]],
            "bh": [d11 + d21, d12 + d22]}
    got_E, got = rnn_bptt(EX, EX_X, EX_Y)
    assert got_E == pytest.approx(E, rel=1e-14)
    for k, v in want.items():
        np.testing.assert_allclose(got[k], v, rtol=1e-13)
    fw = rnn_forward(EX, EX_X)
    np.testing.assert_allclose(fw["h"], [[h11, h12], [h21, h22]], rtol=1e-14)
    np.testing.assert_allclose(fw["a"], [[a11, a12], [a21, a22]], rtol=1e-14)
    # the values printed with early rounding agree to about 3 decimals only
    assert E == pytest.approx(0.025348, abs=1e-4) and abs(E - 0.025348) > 4e-5
    np.testing.assert_allclose(got["Whh"], [[-0.0719, -0.0390], [-0.0229, -0.0124]], atol=2e-4)
    np.testing.assert_allclose(got["bh"], [-0.1575, -0.1032], atol=3e-4)
    np.testing.assert_allclose(got["Why"], [[-0.0833, -0.1451]], atol=1e-4)


def test_stable_at_large_activations(rng):
    p, X = make(2, 3, 4, 3, 2, rng)
    p["Why"] = 1000.0 * np.sign(p["Why"])
    p["Whh"] = 1000.0 * np.sign(p["Whh"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for output, loss in PAIRS:
            E, g = rnn_bptt(p, X, targets(loss, 3, 2, 4, rng), output=output, loss=loss)
            assert np.isfinite(E) and all(np.all(np.isfinite(v)) for v in g.values())
            for act in ("sigmoid", "relu"):
                y = rnn_forward(p, X, activation=act, output=output)["y"]
                assert np.all(np.isfinite(y))


def test_params_helper_shapes_and_seed():
    p = rnn_params(3, 5, 2, seed=4)
    assert {k: v.shape for k, v in p.items()} == {"Wxh": (5, 3), "Whh": (5, 5), "Why": (2, 5),
                                                   "bh": (5,), "by": (2,)}
    np.testing.assert_array_equal(p["Whh"], rnn_params(3, 5, 2, seed=4)["Whh"])
    assert np.std(rnn_params(3, 400, 2, scale=2.0)["Whh"]) == pytest.approx(0.1, rel=0.02)
    with pytest.raises(ValueError, match="Dh must be a positive integer"):
        rnn_params(3, 0, 2)


def test_integer_and_list_inputs_are_accepted():
    E, g = rnn_bptt({k: v.tolist() for k, v in EX.items()}, EX_X.astype(int).tolist(),
                    EX_Y.tolist())
    assert E == pytest.approx(rnn_bptt(EX, EX_X, EX_Y)[0])


@pytest.mark.parametrize("change,match", [
    (dict(X=np.zeros((0, 2))), "T = 0"),
    (dict(X=np.zeros((2, 3))), "Dx = 2"),
    (dict(X=np.zeros(2)), "X must be"),
    (dict(X=np.array([[np.nan, 0], [0, 1]])), "X contains NaN"),
    (dict(Y=np.zeros((3, 1))), "Y has shape"),
    (dict(Y=np.array([[np.inf], [0]])), "Y contains inf"),
    (dict(h0=np.zeros(3)), "h0 has shape"),
    (dict(h0=np.zeros((1, 2))), "h0 has shape"),
    (dict(h0=np.array([0.0, np.nan])), "h0 contains NaN"),
    (dict(activation="softsign"), "unknown activation"),
    (dict(output="relu"), "unknown output"),
    (dict(loss="hinge"), "unknown loss"),
    (dict(output="softmax"), "pairs with"),
    (dict(loss_at="first"), "unknown loss_at"),
    (dict(params={**EX, "extra": np.zeros(1)}), "unexpected key"),
    (dict(params={k: v for k, v in EX.items() if k != "bh"}), "lacks the key"),
    (dict(params={**EX, "Whh": np.zeros((3, 3))}), "Whh"),
    (dict(params={**EX, "by": np.zeros(2)}), "by"),
    (dict(params={**EX, "Why": np.array([[np.nan, 0.0]])}), "Why.*NaN"),
    (dict(params=[1, 2]), "params must be a dict"),
])
def test_bad_input_raises_value_error(change, match):
    kw = dict(params=EX, X=EX_X, Y=EX_Y, h0=None, activation="tanh", output="identity",
              loss="sse", loss_at="all")
    kw.update(change)
    with pytest.raises(ValueError, match=match):
        rnn_bptt(**kw)


def test_bad_batched_input_and_class_indices():
    X = np.zeros((4, 3, 2))
    with pytest.raises(ValueError, match="h0 has shape"):
        rnn_forward(EX, X, h0=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="Y has shape"):
        rnn_bptt(EX, X, np.zeros((4, 2, 1)))
    p = {**EX, "Why": np.ones((3, 2)), "by": np.zeros(3)}
    with pytest.raises(ValueError, match="class indices"):
        rnn_bptt(p, X, np.full((4, 3), 3), output="softmax", loss="ce")
    with pytest.raises(ValueError, match="bce targets"):
        rnn_bptt(p, X, np.full((4, 3, 3), 2.0), output="sigmoid", loss="bce")
    with pytest.raises(ValueError, match="loss_at='last'"):
        rnn_bptt(p, X, np.zeros((4, 3, 3)), loss_at="last")
    with pytest.raises(ValueError, match="unknown activation"):
        state_jacobians(EX, X, activation="swish")



@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_against_torch_rnn(nonlinearity, rng):
    torch = pytest.importorskip("torch")
    Dx, Dh, Dy, T, B = 3, 5, 2, 6, 4
    p, X = make(Dx, Dh, Dy, T, B, rng)
    h0 = rng.normal(size=(B, Dh))
    Y = rng.normal(size=(T, B, Dy))
    rnn = torch.nn.RNN(Dx, Dh, nonlinearity=nonlinearity).double()
    lin = torch.nn.Linear(Dh, Dy).double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.tensor(p["Wxh"]))
        rnn.weight_hh_l0.copy_(torch.tensor(p["Whh"]))
        rnn.bias_ih_l0.copy_(torch.tensor(p["bh"]))
        rnn.bias_hh_l0.zero_()
        lin.weight.copy_(torch.tensor(p["Why"]))
        lin.bias.copy_(torch.tensor(p["by"]))
    hs, _ = rnn(torch.tensor(X), torch.tensor(h0)[None])
    E_t = 0.5 * ((lin(hs) - torch.tensor(Y)) ** 2).sum()
    E_t.backward()
    E, g = rnn_bptt(p, X, Y, h0, activation=nonlinearity)
    assert E == pytest.approx(E_t.item(), rel=1e-12)
    np.testing.assert_allclose(rnn_forward(p, X, h0, nonlinearity)["h"], hs.detach().numpy(),
                               rtol=1e-12, atol=1e-14)
    for k, tp in [("Wxh", rnn.weight_ih_l0), ("Whh", rnn.weight_hh_l0), ("bh", rnn.bias_ih_l0),
                  ("Why", lin.weight), ("by", lin.bias)]:
        np.testing.assert_allclose(g[k], tp.grad.numpy(), rtol=1e-10, atol=1e-12)
