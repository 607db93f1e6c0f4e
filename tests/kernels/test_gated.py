import warnings

import numpy as np
import pytest

import rnn_reference as ref
from rnn_reference import check_fd, targets
from nnbook import numerical_gradient
from nnbook.kernels.gated import (gru_bptt, gru_forward, gru_params, lstm_bptt, lstm_forward,
                                  lstm_params)

PAIRS = [("identity", "sse"), ("softmax", "ce"), ("sigmoid", "bce")]
CELLS = {"lstm": (lstm_params, lstm_forward, lstm_bptt, ref.lstm_bptt, ref.lstm_forward),
         "gru": (gru_params, gru_forward, gru_bptt, ref.gru_bptt, ref.gru_forward)}


def make(cell, Dx, Dh, Dy, T, B, rng, scale=1.0):
    p = CELLS[cell][0](Dx, Dh, Dy, seed=int(rng.integers(1000)), scale=scale)
    for k in p:
        if k.startswith("b"):
            p[k] = 0.3 * rng.normal(size=p[k].shape)
    return p, rng.normal(size=(T, Dx) if B is None else (T, B, Dx))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("output,loss", PAIRS)
@pytest.mark.parametrize("B", [None, 2])
@pytest.mark.parametrize("loss_at", ["all", "last"])
def test_bptt_matches_finite_differences(cell, output, loss, B, loss_at, rng):
    p, X = make(cell, 2, 3, 3, 4, B, rng)
    Y = targets(loss, 4, B, 3, rng, last=loss_at == "last")
    h0 = rng.normal(size=3 if B is None else (B, 3))
    bptt = CELLS[cell][2]
    check_fd(lambda q: bptt(q, X, Y, h0, output=output, loss=loss, loss_at=loss_at), p)


def test_lstm_c0_gradient_and_state_grads_match_finite_differences(rng):
    p, X = make("lstm", 2, 3, 2, 5, None, rng)
    Y = targets("sse", 5, None, 2, rng)
    h0, c0 = rng.normal(size=3), rng.normal(size=3)
    _, _, s = lstm_bptt(p, X, Y, h0, c0, return_state_grads=True)
    np.testing.assert_allclose(s["dc0"], numerical_gradient(
        lambda c: lstm_bptt(p, X, Y, h0, c)[0], c0), atol=1e-8)
    np.testing.assert_allclose(s["dh0"], numerical_gradient(
        lambda h: lstm_bptt(p, X, Y, h, c0)[0], h0), atol=1e-8)
    # dE/dc(t): the error as a function of c(t), re-running the remaining steps from (h(t), c(t))
    fw = lstm_forward(p, X, h0, c0)
    for t in range(4):
        def rest(c, t=t):  # the steps before t do not depend on c(t)
            h_t = fw["og"][t] * np.tanh(c)
            return 0.5 * np.sum((p["Why"] @ h_t + p["by"] - Y[t]) ** 2) + \
                lstm_bptt(p, X[t + 1:], Y[t + 1:], h_t, c)[0]
        np.testing.assert_allclose(s["dc"][t], numerical_gradient(rest, fw["c"][t]), atol=1e-8)
    # and dE/dh(t) from re-running the remaining steps from h(t)
    for t in range(4):
        def rest_h(h, t=t):
            return lstm_bptt(p, X[t + 1:], Y[t + 1:], h, fw["c"][t])[0] + \
                0.5 * np.sum((p["Why"] @ h + p["by"] - Y[t]) ** 2)
        np.testing.assert_allclose(s["dh"][t], numerical_gradient(rest_h, fw["h"][t]), atol=1e-8)


def test_gru_state_grads_match_finite_differences(rng):
    p, X = make("gru", 2, 3, 2, 5, None, rng)
    Y = targets("sse", 5, None, 2, rng)
    h0 = rng.normal(size=3)
    _, _, s = gru_bptt(p, X, Y, h0, return_state_grads=True)
    np.testing.assert_allclose(s["dh0"], numerical_gradient(
        lambda h: gru_bptt(p, X, Y, h)[0], h0), atol=1e-8)
    fw = gru_forward(p, X, h0)
    for t in range(4):
        def rest_h(h, t=t):
            return gru_bptt(p, X[t + 1:], Y[t + 1:], h)[0] + \
                0.5 * np.sum((p["Why"] @ h + p["by"] - Y[t]) ** 2)
        np.testing.assert_allclose(s["dh"][t], numerical_gradient(rest_h, fw["h"][t]), atol=1e-8)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("output,loss", PAIRS)
@pytest.mark.parametrize("loss_at", ["all", "last"])
@pytest.mark.parametrize("B", [None, 16])
def test_matches_numpy_reference(cell, output, loss, loss_at, B, rng):
    Dh = 20 if B else 4  # B * Dh >= 256 takes the BLAS branch
    p, X = make(cell, 3, Dh, 4, 6, B, rng)
    Y = targets(loss, 6, B, 4, rng, last=loss_at == "last")
    h0 = rng.normal(size=Dh if B is None else (B, Dh))
    _, fwd, bptt, ref_bptt, ref_fwd = CELLS[cell]
    E, g = bptt(p, X, Y, h0, output=output, loss=loss, loss_at=loss_at)
    E_ref, g_ref = ref_bptt(p, X, Y, h0, output=output, loss=loss, loss_at=loss_at)
    assert E == pytest.approx(E_ref, rel=1e-12)
    for k in p:
        np.testing.assert_allclose(g[k], g_ref[k], rtol=1e-10, atol=1e-12)
    fw = fwd(p, X, h0)
    for b in range(1 if B is None else B):
        one = ref_fwd(p, X if B is None else X[:, b], h0 if B is None else h0[b])
        for k, v in one.items():
            got = fw[k] if B is None else fw[k][:, b]
            np.testing.assert_allclose(got, v, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_batch_equals_single_runs(cell, rng):
    p, X = make(cell, 2, 5, 3, 7, 4, rng)
    Y = rng.integers(3, size=(7, 4))
    bptt = CELLS[cell][2]
    E, g, s = bptt(p, X, Y, output="softmax", loss="ce", return_state_grads=True)
    runs = [bptt(p, X[:, b], Y[:, b], output="softmax", loss="ce", return_state_grads=True)
            for b in range(4)]
    assert E == pytest.approx(sum(r[0] for r in runs), rel=1e-13)
    for k in p:
        np.testing.assert_allclose(g[k], sum(r[1][k] for r in runs), rtol=1e-12, atol=1e-14)
    for b in range(4):
        for k in s:
            np.testing.assert_allclose(s[k][:, b] if s[k].ndim == 3 else s[k][b], runs[b][2][k],
                                       rtol=1e-12, atol=1e-15)


def test_lstm_forward_keys_and_cell_equation(rng):
    p, X = make("lstm", 2, 3, 2, 4, None, rng)
    fw = lstm_forward(p, X)
    assert set(fw) == {"z", "gates", "i", "f", "g", "og", "c", "h", "o", "y"}
    np.testing.assert_allclose(fw["c"][1:], fw["f"][1:] * fw["c"][:-1] + fw["i"][1:] * fw["g"][1:])
    np.testing.assert_allclose(fw["h"], fw["og"] * np.tanh(fw["c"]))
    np.testing.assert_allclose(fw["gates"][:, :3], ref.sigmoid(fw["z"][:, :3]))
    assert lstm_params(2, 3, 1, forget_bias=1.0)["b"].tolist() == [0] * 3 + [1] * 3 + [0] * 6


def test_gru_update_gate_one_keeps_the_state(rng):
    p, X = make("gru", 2, 3, 1, 5, None, rng)
    p["bh"][3:6] = 50.0  # z = sigma(large) ~ 1: h(t) = h(t-1)
    h0 = rng.normal(size=3)
    fw = gru_forward(p, X, h0)
    np.testing.assert_allclose(fw["h"], np.tile(h0, (5, 1)), atol=1e-15)
    assert set(fw) == {"r", "z", "n", "hn", "h", "o", "y"}


def test_stable_at_large_activations(rng):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for cell in ("lstm", "gru"):
            p, X = make(cell, 2, 3, 4, 3, 2, rng)
            for k in p:
                p[k] = 1000.0 * np.sign(p[k])
            for output, loss in PAIRS:
                E, g = CELLS[cell][2](p, X, targets(loss, 3, 2, 4, rng), output=output, loss=loss)
                assert np.isfinite(E) and all(np.all(np.isfinite(v)) for v in g.values())


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_bad_input_raises_value_error(cell, rng):
    p, X = make(cell, 2, 3, 1, 4, None, rng)
    Y = np.zeros((4, 1))
    _, fwd, bptt, _, _ = CELLS[cell]
    bad = [(dict(X=np.zeros((0, 2))), "T = 0"), (dict(X=np.zeros((4, 5))), "Dx = 2"),
           (dict(X=np.full((4, 2), np.inf)), "X contains inf"),
           (dict(Y=np.zeros((3, 1))), "Y has shape"), (dict(h0=np.zeros(4)), "h0 has shape"),
           (dict(output="tanh"), "unknown output"), (dict(loss="mse"), "unknown loss"),
           (dict(loss="ce"), "pairs with"), (dict(loss_at="middle"), "unknown loss_at"),
           (dict(params={**p, "W": p["Wx"]}), "unexpected key"),
           (dict(params={k: v for k, v in p.items() if k != "Wh"}), "lacks the key"),
           (dict(params={**p, "Wh": p["Wh"][:, :2]}), "Wh"),
           (dict(params={**p, "Wx": p["Wx"][:-1]}), "multiple of|Wx"),
           (dict(params={**p, "by": np.array([np.nan])}), "NaN")]
    if cell == "lstm":
        bad.append((dict(c0=np.zeros((2, 3))), "c0 has shape"))
    for change, match in bad:
        kw = {**dict(params=p, X=X, Y=Y), **change}
        with pytest.raises(ValueError, match=match):
            bptt(**kw)
    with pytest.raises(ValueError, match="unknown output"):
        fwd(p, X, output="softsign")
    with pytest.raises(ValueError, match="4 time|T = 0|X must be"):
        fwd(p, np.zeros(3))


def test_params_helpers():
    assert {k: v.shape for k, v in lstm_params(3, 5, 2).items()} == {
        "Wx": (20, 3), "Wh": (20, 5), "b": (20,), "Why": (2, 5), "by": (2,)}
    assert {k: v.shape for k, v in gru_params(3, 5, 2).items()} == {
        "Wx": (15, 3), "Wh": (15, 5), "bx": (15,), "bh": (15,), "Why": (2, 5), "by": (2,)}
    with pytest.raises(ValueError, match="Dy must be a positive integer"):
        gru_params(3, 5, 0)


def _torch_pair(torch, cell, p, Dx, Dh, Dy):
    mod = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(Dx, Dh).double()
    lin = torch.nn.Linear(Dh, Dy).double()
    with torch.no_grad():
        mod.weight_ih_l0.copy_(torch.tensor(p["Wx"]))
        mod.weight_hh_l0.copy_(torch.tensor(p["Wh"]))
        mod.bias_ih_l0.copy_(torch.tensor(p["b"] if cell == "lstm" else p["bx"]))
        mod.bias_hh_l0.copy_(torch.tensor(np.zeros_like(p["b"]) if cell == "lstm" else p["bh"]))
        lin.weight.copy_(torch.tensor(p["Why"]))
        lin.bias.copy_(torch.tensor(p["by"]))
    return mod, lin


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_against_torch(cell, rng):
    torch = pytest.importorskip("torch")
    Dx, Dh, Dy, T, B = 3, 4, 3, 6, 2
    p, X = make(cell, Dx, Dh, Dy, T, B, rng)
    h0 = rng.normal(size=(B, Dh))
    Y = rng.integers(Dy, size=(T, B))
    mod, lin = _torch_pair(torch, cell, p, Dx, Dh, Dy)
    state = torch.tensor(h0)[None]
    c0 = rng.normal(size=(B, Dh))
    hs, _ = mod(torch.tensor(X), (state, torch.tensor(c0)[None]) if cell == "lstm" else state)
    logits = lin(hs)
    E_t = torch.nn.functional.cross_entropy(logits.reshape(-1, Dy),
                                            torch.tensor(Y).reshape(-1), reduction="sum")
    E_t.backward()
    kw = dict(output="softmax", loss="ce")
    if cell == "lstm":
        E, g = lstm_bptt(p, X, Y, h0, c0, **kw)
        fw = lstm_forward(p, X, h0, c0)
        pairs = [("Wx", mod.weight_ih_l0), ("Wh", mod.weight_hh_l0), ("b", mod.bias_ih_l0)]
    else:
        E, g = gru_bptt(p, X, Y, h0, **kw)
        fw = gru_forward(p, X, h0)
        pairs = [("Wx", mod.weight_ih_l0), ("Wh", mod.weight_hh_l0), ("bx", mod.bias_ih_l0),
                 ("bh", mod.bias_hh_l0)]
    assert E == pytest.approx(E_t.item(), rel=1e-12)
    np.testing.assert_allclose(fw["h"], hs.detach().numpy(), rtol=1e-12, atol=1e-14)
    for k, tp in pairs + [("Why", lin.weight), ("by", lin.bias)]:
        np.testing.assert_allclose(g[k], tp.grad.numpy(), rtol=1e-10, atol=1e-12)
