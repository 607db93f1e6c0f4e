"""Tests of nnbook.nn.transformer (and gelu, the warm-up, the chapter-13 lab helpers).

Every backward against central differences; the forward against a plain-NumPy reference written
here independently (loops over heads, explicit formulas); PyTorch when it is installed.
"""
import math

import numpy as np
import pytest

import nnbook
from nnbook import Adam, SGD, fit
from nnbook.nn.activations import derivative, gelu
from nnbook.nn.transformer import (BLOCK_KEYS, TransformerLM, block_params, layer_norm,
                                layer_norm_backward, transformer_block, transformer_block_backward)
from nnbook.teach import transformer_lab as lab


# --------------------------------------------------------------------------- helpers
def numgrad(f, arr, eps=1e-6):
    g = np.zeros_like(arr)
    for i in np.ndindex(arr.shape):
        old = arr[i]
        arr[i] = old + eps
        fp = f()
        arr[i] = old - eps
        fm = f()
        arr[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


def perturbed_block(D=6, F=10, seed=0):
    rng = np.random.default_rng(seed)
    p = block_params(D, F, seed=seed)
    for k in p:                       # make gains, shifts and biases non-trivial
        p[k] = p[k] + 0.2 * rng.normal(size=p[k].shape)
    return p


def ref_layer_norm(x, g, b, eps=1e-5):
    out = np.empty_like(x)
    for idx in np.ndindex(x.shape[:-1]):
        row = x[idx]
        mu = sum(row) / len(row)
        var = sum((v - mu) ** 2 for v in row) / len(row)
        out[idx] = [(v - mu) / math.sqrt(var + eps) * gi + bi for v, gi, bi in zip(row, g, b)]
    return out


def ref_block(X, p, H, mask, act, norm):
    """The block written out: heads in a loop, softmax by hand, no nnbook function."""
    def mha(Z):
        T, D = Z.shape
        dk = D // H
        Q, K, V = Z @ p["Wq"] + p["bq"], Z @ p["Wk"] + p["bk"], Z @ p["Wv"] + p["bv"]
        heads, As = [], []
        for h in range(H):
            s = slice(h * dk, (h + 1) * dk)
            E = Q[:, s] @ K[:, s].T / math.sqrt(dk)
            if mask is not None:
                E = np.where(mask, E, -np.inf)
            E = np.exp(E - E.max(axis=1, keepdims=True))
            A = E / E.sum(axis=1, keepdims=True)
            heads.append(A @ V[:, s])
            As.append(A)
        return np.hstack(heads) @ p["Wo"] + p["bo"], np.stack(As)

    def ffn(Z):
        a = Z @ p["W1"] + p["b1"]
        h = np.maximum(a, 0) if act == "relu" else 0.5 * a * (1 + np.vectorize(math.erf)(a / math.sqrt(2)))
        return h @ p["W2"] + p["b2"]

    Ys, As = [], []
    for Xb in X.reshape(-1, *X.shape[-2:]):
        if norm == "pre":
            Z, A = mha(ref_layer_norm(Xb, p["ln1_g"], p["ln1_b"]))
            Hs = Xb + Z
            Y = Hs + ffn(ref_layer_norm(Hs, p["ln2_g"], p["ln2_b"]))
        else:
            Z, A = mha(Xb)
            Hs = ref_layer_norm(Xb + Z, p["ln1_g"], p["ln1_b"])
            Y = ref_layer_norm(Hs + ffn(Hs), p["ln2_g"], p["ln2_b"])
        Ys.append(Y)
        As.append(A)
    return (np.stack(Ys).reshape(X.shape),
            np.stack(As).reshape(X.shape[:-2] + (H,) + (X.shape[-2],) * 2))


# --------------------------------------------------------------------------- gelu, layer norm
def test_gelu_values_and_derivative():
    a = np.linspace(-6, 6, 41)
    ref = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in a])
    assert np.allclose(gelu(a), ref, atol=1e-15)
    num = (gelu(a + 1e-6) - gelu(a - 1e-6)) / 2e-6
    assert np.allclose(derivative("gelu", a), num, atol=1e-8)
    assert "gelu" in nnbook.nn.activations.ACTIVATIONS


def test_layer_norm_matches_reference_and_normalizes():
    rng = np.random.default_rng(1)
    x = rng.normal(3.0, 2.0, size=(2, 3, 5))
    g, b = rng.normal(size=5), rng.normal(size=5)
    assert np.allclose(layer_norm(x, g, b), ref_layer_norm(x, g, b), atol=1e-12)
    y = layer_norm(x, np.ones(5), np.zeros(5))
    assert np.allclose(y.mean(axis=-1), 0, atol=1e-12)
    assert np.allclose(y.var(axis=-1), 1 / (1 + 1e-5 / x.var(axis=-1)), atol=1e-10)


def test_layer_norm_backward_finite_differences():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 5))
    g, b, dy = rng.normal(size=5), rng.normal(size=5), rng.normal(size=(2, 3, 5))
    f = lambda: float(np.sum(layer_norm(x, g, b) * dy))
    dx, dg, db = layer_norm_backward(dy, x, g)
    assert np.allclose(dx, numgrad(f, x), atol=1e-8)
    assert np.allclose(dg, numgrad(f, g), atol=1e-8)
    assert np.allclose(db, numgrad(f, b), atol=1e-8)


# --------------------------------------------------------------------------- the block
@pytest.mark.parametrize("norm,act,masked", [("pre", "relu", True), ("pre", "gelu", False),
                                             ("post", "gelu", True)])
def test_block_forward_matches_reference(norm, act, masked):
    rng = np.random.default_rng(3)
    p = perturbed_block()
    X = rng.normal(size=(2, 4, 6))
    mask = np.tril(np.ones((4, 4), bool)) if masked else None
    Y, A = transformer_block(X, p, 2, mask=mask, activation=act, norm=norm)
    Yr, Ar = ref_block(X, p, 2, mask, act, norm)
    assert Y.shape == X.shape and A.shape == (2, 2, 4, 4)
    assert np.allclose(Y, Yr, atol=1e-12)
    assert np.allclose(A, Ar, atol=1e-14)


@pytest.mark.parametrize("norm,act", [("pre", "gelu"), ("post", "relu")])
def test_block_backward_finite_differences(norm, act):
    rng = np.random.default_rng(4)
    p = perturbed_block(seed=4)
    X = rng.normal(size=(2, 4, 6))
    dY = rng.normal(size=X.shape)
    mask = np.tril(np.ones((4, 4), bool))
    f = lambda: float(np.sum(transformer_block(X, p, 2, mask=mask, activation=act, norm=norm)[0] * dY))
    dX, grads = transformer_block_backward(dY, X, p, 2, mask=mask, activation=act, norm=norm)
    assert set(grads) == set(BLOCK_KEYS)
    for k in BLOCK_KEYS:
        num = numgrad(f, p[k])
        assert np.allclose(grads[k], num, atol=1e-7, rtol=1e-6), k
    assert np.allclose(dX, numgrad(f, X), atol=1e-7, rtol=1e-6)


def test_block_leaves_inputs_unchanged():
    rng = np.random.default_rng(5)
    p = perturbed_block()
    X = rng.normal(size=(3, 6))
    dY = rng.normal(size=X.shape)
    copies = {k: v.copy() for k, v in p.items()}
    X0, dY0 = X.copy(), dY.copy()
    transformer_block(X, p, 3)
    transformer_block_backward(dY, X, p, 3)
    assert np.array_equal(X, X0) and np.array_equal(dY, dY0)
    assert all(np.array_equal(p[k], copies[k]) for k in p)


def test_block_bad_input():
    p = perturbed_block()
    X = np.zeros((4, 6))
    with pytest.raises(ValueError, match="n_heads"):
        transformer_block(X, p, 4)
    with pytest.raises(ValueError, match="activation"):
        transformer_block(X, p, 2, activation="tanh")
    with pytest.raises(ValueError, match="norm"):
        transformer_block(X, p, 2, norm="middle")
    bad = dict(p, W1=np.zeros((5, 10)))
    with pytest.raises(ValueError, match="W1"):
        transformer_block(X, bad, 2)
    with pytest.raises(ValueError, match="lacks"):
        transformer_block(X, {k: v for k, v in p.items() if k != "bo"}, 2)
    Xn = X.copy()
    Xn[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        transformer_block(Xn, p, 2)
    with pytest.raises(ValueError, match="dY"):
        transformer_block_backward(np.zeros((3, 6)), X, p, 2)
    with pytest.raises(ValueError, match="gamma"):
        layer_norm(X, np.ones(5), np.zeros(5))


def test_block_against_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    D, F, H = 8, 16, 2
    p = perturbed_block(D, F, seed=6)
    X = rng.normal(size=(3, 5, D))
    mask = np.tril(np.ones((5, 5), bool))
    for act in ("relu", "gelu"):
        layer = torch.nn.TransformerEncoderLayer(D, H, F, dropout=0.0, activation=act,
                                                 batch_first=True, norm_first=True,
                                                 layer_norm_eps=1e-5, dtype=torch.float64)
        with torch.no_grad():
            layer.self_attn.in_proj_weight.copy_(torch.tensor(
                np.vstack([p["Wq"].T, p["Wk"].T, p["Wv"].T])))
            layer.self_attn.in_proj_bias.copy_(torch.tensor(np.concatenate([p["bq"], p["bk"], p["bv"]])))
            layer.self_attn.out_proj.weight.copy_(torch.tensor(p["Wo"].T))
            layer.self_attn.out_proj.bias.copy_(torch.tensor(p["bo"]))
            layer.linear1.weight.copy_(torch.tensor(p["W1"].T))
            layer.linear1.bias.copy_(torch.tensor(p["b1"]))
            layer.linear2.weight.copy_(torch.tensor(p["W2"].T))
            layer.linear2.bias.copy_(torch.tensor(p["b2"]))
            for i in (1, 2):
                getattr(layer, f"norm{i}").weight.copy_(torch.tensor(p[f"ln{i}_g"]))
                getattr(layer, f"norm{i}").bias.copy_(torch.tensor(p[f"ln{i}_b"]))
        Xt = torch.tensor(X, requires_grad=True)
        # torch's mask: True = NOT allowed
        Yt = layer(Xt, src_mask=torch.tensor(~mask))
        Y, _ = transformer_block(X, p, H, mask=mask, activation=act)
        assert np.allclose(Y, Yt.detach().numpy(), atol=1e-10)
        dY = rng.normal(size=X.shape)
        (Yt * torch.tensor(dY)).sum().backward()
        dX, grads = transformer_block_backward(dY, X, p, H, mask=mask, activation=act)
        assert np.allclose(dX, Xt.grad.numpy(), atol=1e-10)
        assert np.allclose(grads["W1"], layer.linear1.weight.grad.numpy().T, atol=1e-10)
        assert np.allclose(grads["Wo"], layer.self_attn.out_proj.weight.grad.numpy().T, atol=1e-10)


# --------------------------------------------------------------------------- the language model
@pytest.mark.parametrize("norm", ["pre", "post"])
def test_lm_gradients_finite_differences(norm):
    rng = np.random.default_rng(7)
    m = TransformerLM(7, 5, 4, 2, 2, 6, norm=norm)
    P = m.init(1)
    for k in P:
        P[k] = P[k] + 0.1 * rng.normal(size=P[k].shape)
    X, Y = rng.integers(0, 7, size=(2, 4)), rng.integers(0, 7, size=(2, 4))
    loss, g = m.loss_and_grads(P, X, Y)
    assert set(g) == set(P) and np.isclose(loss, m.loss(P, X, Y))
    for k in P:
        num = numgrad(lambda: m.loss(P, X, Y), P[k])
        assert np.allclose(g[k], num, atol=1e-8, rtol=1e-6), k


def test_lm_forward_is_causal_and_loss_is_cross_entropy():
    rng = np.random.default_rng(8)
    m = TransformerLM(9, 6, 8, 2, 1, 12)
    P = m.init(0)
    X = rng.integers(0, 9, size=(2, 6))
    logits = m.forward(P, X)
    assert logits.shape == (2, 6, 9)
    X2 = X.copy()
    X2[:, 4:] = (X2[:, 4:] + 1) % 9              # change the future: the past is unaffected
    assert np.allclose(m.forward(P, X2)[:, :4], logits[:, :4], atol=1e-13)
    assert np.allclose(m.forward(P, X[:, :3]), logits[:, :3], atol=1e-13)
    Y = rng.integers(0, 9, size=(2, 6))
    lp = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    ce = -np.mean([lp[b, t, Y[b, t]] for b in range(2) for t in range(6)])
    assert np.isclose(m.loss(P, X, Y), ce)
    A = m.attention_maps(P, X)
    assert A.shape == (1, 2, 2, 6, 6) and np.all(np.triu(A[0, 0, 0], 1) == 0)


def test_lm_generate_is_seeded_and_validates():
    m = TransformerLM(9, 6, 8, 2, 1, 12)
    P = m.init(0)
    a = m.generate(P, [1, 2], 10, temperature=0.7, seed=3)
    assert a.shape == (12,) and list(a[:2]) == [1, 2] and a.max() < 9
    assert np.array_equal(a, m.generate(P, [1, 2], 10, temperature=0.7, seed=3))
    p = m.next_distribution(P, [1, 2, 3])
    assert np.isclose(p.sum(), 1) and p.shape == (9,)
    with pytest.raises(ValueError, match="T=6"):
        m.generate(P, np.arange(7) % 9, 2)
    with pytest.raises(ValueError, match="outside"):
        m.generate(P, [9], 2)
    with pytest.raises(ValueError, match="temperature"):
        m.generate(P, [1], 2, temperature=0)
    with pytest.raises(ValueError, match="integer"):
        m.forward(P, np.zeros((1, 3)))
    with pytest.raises(ValueError, match="n_heads"):
        TransformerLM(9, 6, 8, 3, 1, 12)
    bad = dict(P)
    bad["emb"] = np.full_like(P["emb"], np.nan)
    with pytest.raises(ValueError, match="emb"):
        m.forward(bad, [[1, 2]])
    with pytest.raises(ValueError, match="Y"):
        m.loss_and_grads(P, [[1, 2]], [[1, 2, 3]])


def test_lm_params_unchanged_and_trains_with_fit():
    rng = np.random.default_rng(9)
    m = TransformerLM(5, 8, 8, 2, 1, 16)
    P = m.init(0)
    P0 = {k: v.copy() for k, v in P.items()}
    X = np.tile(np.arange(8) % 5, (16, 1))             # a periodic sequence: easy to learn
    Y = (X + 1) % 5
    X0 = X.copy()
    m.loss_and_grads(P, X, Y)
    assert all(np.array_equal(P[k], P0[k]) for k in P) and np.array_equal(X, X0)
    log = fit(m.loss_and_grads, P, Adam(lr=1e-2, warmup=5), (X, Y), epochs=30, batch_size=8,
              clip=1.0)
    assert log.loss[-1] < 0.2 * log.loss[0]
    assert m.n_params() == sum(v.size for v in P.values())


def test_warmup_ramps_learning_rate():
    p = {"w": np.zeros(1)}
    opt = SGD(lr=1.0, warmup=4)
    seen = []
    for _ in range(6):
        opt.step(p, {"w": np.ones(1)})
        seen.append(opt.lr_now)
    assert np.allclose(seen, [0.25, 0.5, 0.75, 1, 1, 1])
    assert np.isclose(p["w"][0], -(0.25 + 0.5 + 0.75 + 1 + 1 + 1))
    a = Adam(lr=0.1)
    a.step(p, {"w": np.ones(1)})
    assert a.lr_now == 0.1
    with pytest.raises(ValueError, match="warmup"):
        Adam(lr=0.1, warmup=-1)


# --------------------------------------------------------------------------- the lab
def test_clean_markdown_strips_code_math_and_roles():
    md = ("# Title\n\nSome *prose* with $x^2$ math, a {glue:text}`v:.2f` value and `code`, "
          "and a [link](http://x.y) here, long enough to keep.\n\n```python\nprint(1)\n```\n\n"
          "$$\na = b\n$$\n\n:::{exercise}\n:label: ex-1\nAn exercise sentence that is long "
          "enough to be kept in the corpus.\n:::\n")
    out = lab.clean_markdown(md)
    assert "print" not in out and "x^2" not in out and "glue" not in out and "http" not in out
    assert "label" not in out and "Some prose with math" in out and "link here" in out
    assert "An exercise sentence" in out
    assert set(out) <= set(lab.VOCAB)


def test_frozen_corpus_is_clean_prose_and_shipped_with_the_package():
    import tomllib
    from pathlib import Path
    text = lab.frozen_corpus()
    assert len(text) > 100_000 and set(text) <= set(lab.VOCAB)
    paragraphs = text.split("\n")
    assert all(len(p) > 40 and p == p.strip() for p in paragraphs)  # one paragraph per line
    assert "```" not in text and "{glue" not in text and "{cite" not in text
    root = Path(__file__).resolve().parents[2]
    data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert lab.FROZEN_CORPUS.name in data["nnbook.data"]
    assert lab.FROZEN_CORPUS.parent == root / "nnbook" / "data"


def test_book_corpus_finds_the_book_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the book folder: the default is the book next to the package
    text = lab.book_corpus(exclude=("errata.md",))
    assert "backpropagation" in text.lower() and "transformer" in text.lower()
    (tmp_path / "a.md").write_text("# A\n\nA paragraph of ordinary prose that is long enough.\n")
    assert lab.book_corpus(tmp_path) == "A paragraph of ordinary prose that is long enough."
    with pytest.raises(ValueError, match="no chapters"):
        lab.book_corpus(tmp_path / "empty")


def test_corpus_split_and_baselines():
    text = "the cat sat on the mat. " * 200
    ids = lab.encode(text)
    assert lab.decode(ids) == text
    tr, va = lab.split_blocks(ids, block=100, every=5, offset=2)
    assert len(va) == 10 and sum(map(len, tr)) + sum(map(len, va)) == len(ids)
    uni = lab.unigram_bits(tr, va)
    k, vals = lab.tune_bigram_k(tr, va)
    assert min(vals) < uni < np.log2(len(lab.VOCAB))
    # add-k bigram by hand for one pair
    C = np.zeros((96, 96))
    for b in tr:
        for x, y in zip(b[:-1], b[1:]):
            C[x, y] += 1
    pr = (C + 1.0) / (C + 1.0).sum(axis=1, keepdims=True)
    ref = -np.mean([np.log2(pr[x, y]) for b in va for x, y in zip(b[:-1], b[1:])])
    assert np.isclose(lab.bigram_bits(tr, va, k=1.0), ref)
    X, Y = lab.windows(tr, 10, n=5, seed=0)
    assert X.shape == (5, 10) and np.array_equal(X[:, 1:], Y[:, :-1])
    with pytest.raises(ValueError, match="vocabulary"):
        lab.encode("caf\u00e9")


def test_char_lstm_gradients_and_loss():
    rng = np.random.default_rng(10)
    m = lab.CharLSTM(96, 4)
    P = m.init(0)
    X, Y = rng.integers(0, 96, size=(2, 3)), rng.integers(0, 96, size=(2, 3))
    loss, g = m.loss_and_grads(P, X, Y)
    assert np.isclose(loss, m.loss(P, X, Y))
    num = numgrad(lambda: m.loss(P, X, Y), P["Wh"])
    assert np.allclose(g["Wh"], num, atol=1e-8)
    assert m.n_params() == sum(v.size for v in P.values())


def test_head_patterns_on_known_maps():
    ids = lab.encode("ab cd ef").reshape(1, -1)          # T = 8
    T = ids.shape[1]
    prev = np.zeros((T, T))
    prev[0, 0] = 1
    prev[np.arange(1, T), np.arange(T - 1)] = 1           # every query looks one back
    A = np.stack([prev, np.eye(T)])[None, None]           # (1, 1, 2, T, T)
    out = lab.head_patterns(A, ids)
    assert np.allclose(out["previous"][0], [1, 0]) and np.allclose(out["self"][0], [1 / T, 1])
    # queries inside a word after its first letter: "b", "d", "f" (and the spaces after b, d)
    assert out["word_start"].shape == (1, 2)
    assert np.isclose(out["distance"][0, 0], (T - 1) / T)
    ent = lab.entropy_bits(np.zeros((3, 4)))
    assert np.allclose(ent, 2.0)
