"""Slow plain-NumPy references for the recurrent kernels of nnbook.kernels.rnn and nnbook.kernels.gated.

One sequence at a time, one time step at a time, written straight from the equations, with no
shared code from the package. Batches are handled by looping over sequences and summing.
"""
from __future__ import annotations

import numpy as np

from nnbook import gradcheck


def sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def act(name, a):
    return {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0.0), "sigmoid": sigmoid,
            "identity": lambda v: v}[name](a)


def act_prime(name, a):
    if name == "tanh":
        return 1.0 - np.tanh(a) ** 2
    if name == "relu":
        return (a > 0).astype(float)
    if name == "sigmoid":
        return sigmoid(a) * (1.0 - sigmoid(a))
    return np.ones_like(a)


def out_act(name, o):
    if name == "identity":
        return o.copy()
    if name == "sigmoid":
        return sigmoid(o)
    e = np.exp(o - o.max())
    return e / e.sum()


def step_loss(loss, o, y, t):
    if loss == "sse":
        return 0.5 * np.sum((y - t) ** 2)
    if loss == "ce":
        m = o.max()
        return -np.sum(t * (o - m - np.log(np.sum(np.exp(o - m)))))
    sp = lambda v: np.logaddexp(0.0, v)  # noqa: E731
    return np.sum(t * sp(-o) + (1 - t) * sp(o))


def _batched(fn, X, Y, h0, **kw):
    """Run a single-sequence reference over every sequence of a (T, B, D) batch and sum."""
    if X.ndim == 2:
        return fn(X, Y, h0, **kw)
    E, grads = 0.0, None
    last = kw.get("loss_at", "all") == "last"
    for b in range(X.shape[1]):
        e, g = fn(X[:, b], Y[b] if last else Y[:, b], None if h0 is None else h0[b], **kw)
        E += e
        grads = g if grads is None else {k: grads[k] + g[k] for k in grads}
    return E, grads


def rnn_forward(p, X, h0=None, activation="tanh", output="identity"):
    T = X.shape[0]
    Dh = p["Whh"].shape[0]
    h = np.zeros(Dh) if h0 is None else h0
    out = {"a": [], "h": [], "o": [], "y": []}
    for t in range(T):
        a = p["Whh"] @ h + p["Wxh"] @ X[t] + p["bh"]
        h = act(activation, a)
        o = p["Why"] @ h + p["by"]
        for k, v in zip("ahoy", (a, h, o, out_act(output, o))):
            out[k].append(v)
    return {k: np.array(v) for k, v in out.items()}


def _targets(Y, T, loss_at):
    if loss_at == "all":
        return list(Y), [True] * T
    return [None] * (T - 1) + [Y], [False] * (T - 1) + [True]


def rnn_bptt_one(X, Y, h0, p, activation="tanh", output="identity", loss="sse", loss_at="all"):
    T = X.shape[0]
    Dh = p["Whh"].shape[0]
    h0 = np.zeros(Dh) if h0 is None else h0
    f = rnn_forward(p, X, h0, activation, output)
    tg, on = _targets(Y, T, loss_at)
    g = {k: np.zeros_like(v) for k, v in p.items()}
    E = 0.0
    delta_next = np.zeros(Dh)
    dh_all = np.zeros((T, Dh))
    for t in range(T - 1, -1, -1):
        dh = p["Whh"].T @ delta_next
        if on[t]:
            E += step_loss(loss, f["o"][t], f["y"][t], tg[t])
            do = f["y"][t] - tg[t]
            g["Why"] += np.outer(do, f["h"][t])
            g["by"] += do
            dh = dh + p["Why"].T @ do
        dh_all[t] = dh
        delta = dh * act_prime(activation, f["a"][t])
        hp = f["h"][t - 1] if t > 0 else h0
        g["Wxh"] += np.outer(delta, X[t])
        g["Whh"] += np.outer(delta, hp)
        g["bh"] += delta
        delta_next = delta
    return E, g, dh_all


def rnn_bptt(p, X, Y, h0=None, **kw):
    return _batched(lambda x, y, h, **k: rnn_bptt_one(x, y, h, p, **k)[:2], X, Y, h0, **kw)


def lstm_forward(p, X, h0=None, c0=None):
    Dh = p["Wh"].shape[1]
    h = np.zeros(Dh) if h0 is None else h0
    c = np.zeros(Dh) if c0 is None else c0
    out = {k: [] for k in ("i", "f", "g", "og", "c", "h", "o")}
    for x in X:
        z = p["Wx"] @ x + p["Wh"] @ h + p["b"]
        i, f, g, o = (sigmoid(z[:Dh]), sigmoid(z[Dh:2 * Dh]), np.tanh(z[2 * Dh:3 * Dh]),
                      sigmoid(z[3 * Dh:]))
        c = f * c + i * g
        h = o * np.tanh(c)
        for k, v in zip(("i", "f", "g", "og", "c", "h", "o"),
                        (i, f, g, o, c, h, p["Why"] @ h + p["by"])):
            out[k].append(v)
    return {k: np.array(v) for k, v in out.items()}


def lstm_bptt_one(X, Y, h0, p, output="identity", loss="sse", loss_at="all", c0=None):
    T = X.shape[0]
    Dh = p["Wh"].shape[1]
    h0 = np.zeros(Dh) if h0 is None else h0
    c0 = np.zeros(Dh) if c0 is None else c0
    f = lstm_forward(p, X, h0, c0)
    tg, on = _targets(Y, T, loss_at)
    g = {k: np.zeros_like(v) for k, v in p.items()}
    E = 0.0
    dh_next = np.zeros(Dh)
    dc_next = np.zeros(Dh)
    for t in range(T - 1, -1, -1):
        dh = dh_next.copy()
        if on[t]:
            y = out_act(output, f["o"][t])
            E += step_loss(loss, f["o"][t], y, tg[t])
            do = y - tg[t]
            g["Why"] += np.outer(do, f["h"][t])
            g["by"] += do
            dh += p["Why"].T @ do
        i, fg, gg, og, c = f["i"][t], f["f"][t], f["g"][t], f["og"][t], f["c"][t]
        cp = f["c"][t - 1] if t > 0 else c0
        hp = f["h"][t - 1] if t > 0 else h0
        dc = dc_next + dh * og * (1 - np.tanh(c) ** 2)
        dz = np.concatenate([dc * gg * i * (1 - i), dc * cp * fg * (1 - fg), dc * i * (1 - gg ** 2),
                             dh * np.tanh(c) * og * (1 - og)])
        g["Wx"] += np.outer(dz, X[t])
        g["Wh"] += np.outer(dz, hp)
        g["b"] += dz
        dh_next = p["Wh"].T @ dz
        dc_next = dc * fg
    return E, g


def lstm_bptt(p, X, Y, h0=None, **kw):
    return _batched(lambda x, y, h, **k: lstm_bptt_one(x, y, h, p, **k), X, Y, h0, **kw)


def gru_forward(p, X, h0=None):
    Dh = p["Wh"].shape[1]
    h = np.zeros(Dh) if h0 is None else h0
    out = {k: [] for k in ("r", "z", "n", "h", "o")}
    for x in X:
        gx = p["Wx"] @ x + p["bx"]
        gh = p["Wh"] @ h + p["bh"]
        r = sigmoid(gx[:Dh] + gh[:Dh])
        z = sigmoid(gx[Dh:2 * Dh] + gh[Dh:2 * Dh])
        n = np.tanh(gx[2 * Dh:] + r * gh[2 * Dh:])
        h = (1 - z) * n + z * h
        for k, v in zip(("r", "z", "n", "h", "o"), (r, z, n, h, p["Why"] @ h + p["by"])):
            out[k].append(v)
    return {k: np.array(v) for k, v in out.items()}


def gru_bptt_one(X, Y, h0, p, output="identity", loss="sse", loss_at="all"):
    T = X.shape[0]
    Dh = p["Wh"].shape[1]
    h0 = np.zeros(Dh) if h0 is None else h0
    f = gru_forward(p, X, h0)
    tg, on = _targets(Y, T, loss_at)
    g = {k: np.zeros_like(v) for k, v in p.items()}
    E = 0.0
    dh_next = np.zeros(Dh)
    for t in range(T - 1, -1, -1):
        dh = dh_next.copy()
        if on[t]:
            y = out_act(output, f["o"][t])
            E += step_loss(loss, f["o"][t], y, tg[t])
            do = y - tg[t]
            g["Why"] += np.outer(do, f["h"][t])
            g["by"] += do
            dh += p["Why"].T @ do
        r, z, n = f["r"][t], f["z"][t], f["n"][t]
        hp = f["h"][t - 1] if t > 0 else h0
        ghn = p["Wh"][2 * Dh:] @ hp + p["bh"][2 * Dh:]
        dan = dh * (1 - z) * (1 - n ** 2)
        daz = dh * (hp - n) * z * (1 - z)
        dar = dan * ghn * r * (1 - r)
        gx = np.concatenate([dar, daz, dan])
        gh = np.concatenate([dar, daz, dan * r])
        g["Wx"] += np.outer(gx, X[t])
        g["bx"] += gx
        g["Wh"] += np.outer(gh, hp)
        g["bh"] += gh
        dh_next = dh * z + p["Wh"].T @ gh
    return E, g


def gru_bptt(p, X, Y, h0=None, **kw):
    return _batched(lambda x, y, h, **k: gru_bptt_one(x, y, h, p, **k), X, Y, h0, **kw)


# ---- helpers shared by tests/test_rnn.py and tests/test_gated.py ----------------------------
def targets(loss, T, B, Dy, rng, last=False):
    """Random targets for ``loss``: (T, [B,] Dy), or ([B,] Dy) when only the last step counts."""
    lead = (() if last else (T,)) + (() if B is None else (B,))
    if loss == "ce":
        return np.eye(Dy)[rng.integers(Dy, size=lead)]
    if loss == "bce":
        return rng.uniform(size=lead + (Dy,))
    return rng.normal(size=lead + (Dy,))


def check_fd(f, p, tol=1e-7):
    """Assert that ``f(params) -> (E, grads)`` (dicts keyed like ``p``) agrees with central
    differences to ``tol``."""
    keys = list(p)

    def g(arrs):
        E, grads = f(dict(zip(keys, arrs)))
        return E, [grads[k] for k in keys]
    assert gradcheck(g, [p[k] for k in keys]) < tol
