r"""Gated recurrent cells: the LSTM and the GRU, forward and backward (BPTT), on Numba kernels.

**LSTM** (Hochreiter & Schmidhuber, 1997, with the forget gate of Gers, Schmidhuber & Cummins,
2000). Gate blocks are stacked in PyTorch's order *i, f, g, o* (input gate, forget gate, candidate,
output gate; the book's chapter 11 writes the output gate :math:`\mathbf q`); :math:`\sigma` is the
logistic sigmoid, :math:`\odot` the elementwise product:

.. math::

    \mathbf a^{(t)} &= W_x\mathbf x^{(t)} + W_h\mathbf h^{(t-1)} + \mathbf b
    = [\mathbf a_i; \mathbf a_f; \mathbf a_g; \mathbf a_q],\\
    \mathbf i &= \sigma(\mathbf a_i),\ \mathbf f = \sigma(\mathbf a_f),\
    \mathbf g = \tanh(\mathbf a_g),\ \mathbf q = \sigma(\mathbf a_q),\\
    \mathbf c^{(t)} &= \mathbf f\odot\mathbf c^{(t-1)} + \mathbf i\odot\mathbf g,\qquad
    \mathbf h^{(t)} = \mathbf q\odot\tanh(\mathbf c^{(t)}).

Parameters: ``{"Wx": (4Dh, Dx), "Wh": (4Dh, Dh), "b": (4Dh,), "Why": (Dy, Dh), "by": (Dy,)}``
(PyTorch's two biases ``bias_ih + bias_hh`` are one ``b`` here).

**GRU** (Cho et al., 2014), exactly ``torch.nn.GRU``'s equations, gate blocks *r, z, n* (PyTorch's
names; the book writes the update gate :math:`\mathbf u`, as here, since :math:`\mathbf z` is a
unit's output there):

.. math::

    \mathbf r &= \sigma(W_{xr}\mathbf x + \mathbf b_{xr} + W_{hr}\mathbf h^{(t-1)} + \mathbf b_{hr}),\qquad
    \mathbf u = \sigma(W_{xu}\mathbf x + \mathbf b_{xu} + W_{hu}\mathbf h^{(t-1)} + \mathbf b_{hu}),\\
    \mathbf n &= \tanh\big(W_{xn}\mathbf x + \mathbf b_{xn}
    + \mathbf r\odot(W_{hn}\mathbf h^{(t-1)} + \mathbf b_{hn})\big),\qquad
    \mathbf h^{(t)} = (1-\mathbf u)\odot\mathbf n + \mathbf u\odot\mathbf h^{(t-1)}.

Parameters: ``{"Wx": (3Dh, Dx), "Wh": (3Dh, Dh), "bx": (3Dh,), "bh": (3Dh,), "Why": (Dy, Dh),
"by": (Dy,)}``.

Both cells share the conventions of :mod:`nnbook.kernels.rnn`: ``X`` is (T, Dx) or (T, B, Dx), the output
layer :math:`\mathbf o^{(t)} = W_{hy}\mathbf h^{(t)} + \mathbf b_y`, canonical output/loss pairs,
the error summed over steps and sequences, ``loss_at="last"`` for sequence-to-one targets, and
``return_state_grads=True`` for the gradient reaching every earlier state.
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
from numba import njit

from ..checks import check_bool, check_name, check_real
from .rnn import (_OUTPUT_CODES, _check_draw, _check_sizes, _sigmoid, _tanh, blas_guard, check_output_loss,
                  check_params, check_sequence, check_state, check_targets, input_step,
                  matmul_acc, output_backward, outputs, rows, run_split, seqs, squeeze,
                  step_inputs, use_blas, weight_grads)

__all__ = ["lstm_params", "lstm_forward", "lstm_bptt", "gru_params", "gru_forward", "gru_bptt",
           "LSTM_SHAPES", "GRU_SHAPES"]

LSTM_SHAPES = {"Wx": ("4Dh", "Dx"), "Wh": ("4Dh", "Dh"), "b": ("4Dh",), "Why": ("Dy", "Dh"),
               "by": ("Dy",)}
GRU_SHAPES = {"Wx": ("3Dh", "Dx"), "Wh": ("3Dh", "Dh"), "bx": ("3Dh",), "bh": ("3Dh",),
              "Why": ("Dy", "Dh"), "by": ("Dy",)}


def lstm_params(Dx: int, Dh: int, Dy: int, seed: int = 0, scale: float = 1.0,
                forget_bias: float = 0.0) -> dict:
    r"""Random LSTM parameters, keyed and shaped as :func:`lstm_forward` expects.

    Weights :math:`\mathcal N(0, \mathrm{scale}^2/\text{fan-in})`; biases zero except the forget
    block of ``b``, set to ``forget_bias`` (a positive value keeps the cell state by default).

    Returns
    -------
    dict
        ``{"Wx": (4Dh, Dx), "Wh": (4Dh, Dh), "b": (4Dh,), "Why": (Dy, Dh), "by": (Dy,)}``.
    """
    _check_sizes(Dx=Dx, Dh=Dh, Dy=Dy)
    seed, scale = _check_draw(seed, scale)
    forget_bias = check_real(forget_bias, "forget_bias")
    rng = np.random.default_rng(seed)
    b = np.zeros(4 * Dh)
    b[Dh:2 * Dh] = forget_bias
    return {"Wx": rng.normal(0, scale / math.sqrt(Dx), (4 * Dh, Dx)),
            "Wh": rng.normal(0, scale / math.sqrt(Dh), (4 * Dh, Dh)), "b": b,
            "Why": rng.normal(0, scale / math.sqrt(Dh), (Dy, Dh)), "by": np.zeros(Dy)}


def gru_params(Dx: int, Dh: int, Dy: int, seed: int = 0, scale: float = 1.0) -> dict:
    r"""Random GRU parameters, keyed and shaped as :func:`gru_forward` expects.

    Weights :math:`\mathcal N(0, \mathrm{scale}^2/\text{fan-in})`, biases zero.

    Returns
    -------
    dict
        ``{"Wx": (3Dh, Dx), "Wh": (3Dh, Dh), "bx": (3Dh,), "bh": (3Dh,), "Why": (Dy, Dh),
        "by": (Dy,)}``.
    """
    _check_sizes(Dx=Dx, Dh=Dh, Dy=Dy)
    seed, scale = _check_draw(seed, scale)
    rng = np.random.default_rng(seed)
    return {"Wx": rng.normal(0, scale / math.sqrt(Dx), (3 * Dh, Dx)),
            "Wh": rng.normal(0, scale / math.sqrt(Dh), (3 * Dh, Dh)),
            "bx": np.zeros(3 * Dh), "bh": np.zeros(3 * Dh),
            "Why": rng.normal(0, scale / math.sqrt(Dh), (Dy, Dh)), "by": np.zeros(Dy)}


# ----------------------------------------------------------------------------------------------
# LSTM kernels
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def _lstm_states(Wx, Wh, b, X, h0, c0, keep_z):
    """Forward recurrence. Returns ``Z`` (pre-activations; for a batch all T steps only if
    ``keep_z``), ``G`` (gate values i, f, g, o), both (T, B, 4Dh), and ``C``, ``TC``
    (= tanh C), ``H``, each (T, B, Dh)."""
    T, B, Dx = X.shape
    M = Wh.shape[0]
    Dh = M // 4
    blas = use_blas(B, M, Dh)
    Z = step_inputs(X, Wx, blas, keep_z)
    G = np.empty((T, B, M))
    C = np.empty((T, B, Dh))
    TC = np.empty((T, B, Dh))
    H = np.empty((T, B, Dh))
    WT = np.ascontiguousarray(Wh.T)
    WxT = np.ascontiguousarray(Wx.T)
    for t in range(T):
        Zt = input_step(Z, X, WxT, t, blas)
        matmul_acc(h0 if t == 0 else H[t - 1], WT, Zt, blas)
        cp = c0 if t == 0 else C[t - 1]
        for bb in range(B):
            z = Zt[bb]
            g = G[t, bb]
            for j in range(M):
                z[j] += b[j]
            for j in range(Dh):
                g[j] = _sigmoid(z[j])
                g[Dh + j] = _sigmoid(z[Dh + j])
                g[2 * Dh + j] = _tanh(z[2 * Dh + j])
                g[3 * Dh + j] = _sigmoid(z[3 * Dh + j])
                c = g[Dh + j] * cp[bb, j] + g[j] * g[2 * Dh + j]
                C[t, bb, j] = c
                tc = _tanh(c)
                TC[t, bb, j] = tc
                H[t, bb, j] = g[3 * Dh + j] * tc
    return Z, G, C, TC, H


@njit(cache=True)
def _lstm_forward_kernel(Wx, Wh, b, Why, by, X, h0, c0, out):
    Z, G, C, TC, H = _lstm_states(Wx, Wh, b, X, h0, c0, True)
    O, Yh = outputs(H, Why, by, out)
    return Z, G, C, H, O, Yh


@njit(cache=True)
def _lstm_bptt_kernel(Wx, Wh, b, Why, by, X, Y, mask, h0, c0, out, loss):
    Z, G, C, TC, H = _lstm_states(Wx, Wh, b, X, h0, c0, False)
    T, B, Dh = H.shape
    M = 4 * Dh
    Dx = X.shape[2]
    Dy = Why.shape[0]
    E, D, dH = output_backward(H, Why, by, Y, mask, out, loss)
    dC = np.empty((T, B, Dh))
    dZ = G  # each step's deltas overwrite its gate values, read just before
    ch = np.zeros((B, Dh))  # W_h^T dz(t+1): the part of dE/dh(t) from step t+1
    cc = np.zeros((B, Dh))  # f(t+1) * dE/dc(t+1): the part of dE/dc(t) from step t+1
    blas = use_blas(B, Dh, M)
    for t in range(T - 1, -1, -1):
        cp = c0 if t == 0 else C[t - 1]
        for bb in range(B):
            g = G[t, bb]
            dz = dZ[t, bb]
            for j in range(Dh):
                dh = dH[t, bb, j] + ch[bb, j]
                dH[t, bb, j] = dh
                i, f, gg, q, tc = g[j], g[Dh + j], g[2 * Dh + j], g[3 * Dh + j], TC[t, bb, j]
                dc = cc[bb, j] + dh * q * (1.0 - tc * tc)
                dC[t, bb, j] = dc
                dz[j] = dc * gg * i * (1.0 - i)
                dz[Dh + j] = dc * cp[bb, j] * f * (1.0 - f)
                dz[2 * Dh + j] = dc * i * (1.0 - gg * gg)
                dz[3 * Dh + j] = dh * tc * q * (1.0 - q)
                cc[bb, j] = dc * f
        ch[:] = 0.0
        matmul_acc(dZ[t], Wh, ch, blas)
    dZ2 = dZ.reshape(T * B, M)
    dWx, dWh, dWhy = weight_grads(dZ, dZ, X, H, D, h0)
    db = dZ2.sum(axis=0)
    dby = D.reshape(T * B, Dy).sum(axis=0)
    return E, dWx, dWh, db, dWhy, dby, dH, dC, ch, cc


@njit(cache=True, nogil=True)
def _lstm_bptt_part(Wx, Wh, b, Why, by, X, Y, mask, h0, c0, out, loss, lo, hi):
    return _lstm_bptt_kernel(Wx, Wh, b, Why, by, seqs(X, lo, hi), seqs(Y, lo, hi), mask,
                             rows(h0, lo, hi), rows(c0, lo, hi), out, loss)


# ----------------------------------------------------------------------------------------------
# GRU kernels
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def _gru_states(Wx, Wh, bx, bh, X, h0):
    """Forward recurrence. Returns ``R``, ``Zg``, ``N``, ``HN`` (= W_hn h(t-1) + b_hn) and ``H``,
    each (T, B, Dh)."""
    T, B, Dx = X.shape
    M = Wh.shape[0]
    Dh = M // 3
    blas = use_blas(B, M, Dh)
    GX = step_inputs(X, Wx, blas, False)
    R = np.empty((T, B, Dh))
    Zg = np.empty((T, B, Dh))
    N = np.empty((T, B, Dh))
    HN = np.empty((T, B, Dh))
    H = np.empty((T, B, Dh))
    WT = np.ascontiguousarray(Wh.T)
    WxT = np.ascontiguousarray(Wx.T)
    gh = np.empty((B, M))
    for t in range(T):
        hp = h0 if t == 0 else H[t - 1]
        GXt = input_step(GX, X, WxT, t, blas)
        for bb in range(B):
            gh[bb] = bh
        matmul_acc(hp, WT, gh, blas)
        for bb in range(B):
            gx = GXt[bb]
            for j in range(Dh):
                r = _sigmoid(gx[j] + bx[j] + gh[bb, j])
                z = _sigmoid(gx[Dh + j] + bx[Dh + j] + gh[bb, Dh + j])
                hn = gh[bb, 2 * Dh + j]
                n = _tanh(gx[2 * Dh + j] + bx[2 * Dh + j] + r * hn)
                R[t, bb, j] = r
                Zg[t, bb, j] = z
                N[t, bb, j] = n
                HN[t, bb, j] = hn
                H[t, bb, j] = (1.0 - z) * n + z * hp[bb, j]
    return R, Zg, N, HN, H


@njit(cache=True)
def _gru_forward_kernel(Wx, Wh, bx, bh, Why, by, X, h0, out):
    R, Zg, N, HN, H = _gru_states(Wx, Wh, bx, bh, X, h0)
    O, Yh = outputs(H, Why, by, out)
    return R, Zg, N, HN, H, O, Yh


@njit(cache=True)
def _gru_bptt_kernel(Wx, Wh, bx, bh, Why, by, X, Y, mask, h0, out, loss):
    R, Zg, N, HN, H = _gru_states(Wx, Wh, bx, bh, X, h0)
    T, B, Dh = H.shape
    M = 3 * Dh
    Dx = X.shape[2]
    Dy = Why.shape[0]
    E, D, dH = output_backward(H, Why, by, Y, mask, out, loss)
    dGX = np.empty((T, B, M))  # dE/d(W_x x + b_x), blocks r, z, n
    dGH = np.empty((T, B, M))  # dE/d(W_h h(t-1) + b_h), blocks r, z, n
    carry = np.zeros((B, Dh))
    blas = use_blas(B, Dh, M)
    for t in range(T - 1, -1, -1):
        hp = h0 if t == 0 else H[t - 1]
        for bb in range(B):
            gx = dGX[t, bb]
            gh = dGH[t, bb]
            for j in range(Dh):
                dh = dH[t, bb, j] + carry[bb, j]
                dH[t, bb, j] = dh
                r, z, n = R[t, bb, j], Zg[t, bb, j], N[t, bb, j]
                dan = dh * (1.0 - z) * (1.0 - n * n)
                daz = dh * (hp[bb, j] - n) * z * (1.0 - z)
                dar = dan * HN[t, bb, j] * r * (1.0 - r)
                gx[j] = dar
                gx[Dh + j] = daz
                gx[2 * Dh + j] = dan
                gh[j] = dar
                gh[Dh + j] = daz
                gh[2 * Dh + j] = dan * r
                carry[bb, j] = dh * z
        matmul_acc(dGH[t], Wh, carry, blas)
    dWx, dWh, dWhy = weight_grads(dGX, dGH, X, H, D, h0)
    return (E, dWx, dWh, dGX.reshape(T * B, M).sum(axis=0), dGH.reshape(T * B, M).sum(axis=0),
            dWhy, D.reshape(T * B, Dy).sum(axis=0), dH, carry)


@njit(cache=True, nogil=True)
def _gru_bptt_part(Wx, Wh, bx, bh, Why, by, X, Y, mask, h0, out, loss, lo, hi):
    return _gru_bptt_kernel(Wx, Wh, bx, bh, Why, by, seqs(X, lo, hi), seqs(Y, lo, hi), mask,
                            rows(h0, lo, hi), out, loss)


# ----------------------------------------------------------------------------------------------
# public functions
# ----------------------------------------------------------------------------------------------
def _prepare(params, shapes, cell, X, states):
    p, s = check_params(params, shapes, cell)
    X, single = check_sequence(X, s["Dx"])
    st = [check_state(v, name, X.shape[1], s["Dh"], single) for name, v in states]
    return p, s, X, single, st


def _out_code(output) -> int:
    return _OUTPUT_CODES[check_name(output, _OUTPUT_CODES, "output")]


def lstm_forward(params: Mapping[str, np.ndarray], X, h0=None, c0=None,
                 output: str = "identity") -> dict:
    r"""Run an LSTM over a sequence (or a batch of sequences).

    Parameters
    ----------
    params : dict
        ``{"Wx": (4Dh, Dx), "Wh": (4Dh, Dh), "b": (4Dh,), "Why": (Dy, Dh), "by": (Dy,)}``,
        gate blocks in the order i, f, g, o.
    X : array_like, shape (T, Dx) or (T, B, Dx)
    h0, c0 : array_like, shape (Dh,) or (B, Dh), optional
        Initial hidden and cell states (zeros by default).
    output : {"identity", "softmax", "sigmoid"}

    Returns
    -------
    dict
        ``z``, ``gates``: (T, [B,] 4Dh) -- gate pre-activations and values, blocks i, f, g, o;
        ``i``, ``f``, ``g``, ``og`` (the output gate; ``o`` is the network output as in
        :func:`nnbook.kernels.rnn.rnn_forward`), ``c``, ``h``: (T, [B,] Dh); ``o``, ``y``: (T, [B,] Dy).
        Index ``t - 1`` holds step ``t``.
    """
    p, s, X, single, (h0, c0) = _prepare(params, LSTM_SHAPES, "LSTM", X,
                                         (("h0", h0), ("c0", c0)))
    with blas_guard(X, 4 * s["Dh"], s["Dh"]):  # no split (see nnbook.kernels.rnn.run_split)
        Z, G, C, H, O, Yh = _lstm_forward_kernel(p["Wx"], p["Wh"], p["b"], p["Why"], p["by"], X,
                                                 h0, c0, _out_code(output))
    Dh = s["Dh"]
    Z, G = squeeze(Z, single), squeeze(G, single)
    return {"z": Z, "gates": G, "i": G[..., :Dh], "f": G[..., Dh:2 * Dh],
            "g": G[..., 2 * Dh:3 * Dh], "og": G[..., 3 * Dh:], "c": squeeze(C, single),
            "h": squeeze(H, single), "o": squeeze(O, single), "y": squeeze(Yh, single)}


def lstm_bptt(params: Mapping[str, np.ndarray], X, Y, h0=None, c0=None,
              output: str = "identity", loss: str = "sse", loss_at: str = "all",
              return_state_grads: bool = False):
    r"""Error and gradients of an LSTM by backpropagation through time.

    With :math:`\bar{\mathbf h}^{(t)} = \partial E/\partial\mathbf h^{(t)}` and
    :math:`\bar{\mathbf c}^{(t)} = \partial E/\partial\mathbf c^{(t)}` (total derivatives):

    .. math::

        \bar{\mathbf c}^{(t)} = \bar{\mathbf c}^{(t+1)}\odot\mathbf f^{(t+1)}
        + \bar{\mathbf h}^{(t)}\odot\mathbf q^{(t)}\odot(1-\tanh^2\mathbf c^{(t)}),

    where :math:`\bar{\mathbf h}^{(t)}` already holds what reaches :math:`\mathbf h^{(t)}` from
    step :math:`t+1` through the gates, the candidate and :math:`W_h`. Along the *direct* cell path
    alone the gradient is multiplied by the forget gates only: :math:`\mathrm{diag}(\mathbf f^{(t)})`
    is the direct part of :math:`\partial\mathbf c^{(t)}/\partial\mathbf c^{(t-1)}`, not the whole
    Jacobian, which adds the indirect paths through :math:`\mathbf h^{(t-1)}` (chapter 11).

    Parameters
    ----------
    params, X, h0, c0, output
        As in :func:`lstm_forward`.
    Y, loss, loss_at
        As in :func:`nnbook.kernels.rnn.rnn_bptt`.
    return_state_grads : bool
        Also return ``{"dh": dE/dh(t), "dc": dE/dc(t)}`` for t = 1..T, (T, [B,] Dh), and
        ``"dh0"``, ``"dc0"``: the gradients reaching the initial states.

    Returns
    -------
    E : float
    grads : dict
        Keyed and shaped like ``params``.
    state_grads : dict
        Only if ``return_state_grads``.
    """
    return_state_grads = check_bool(return_state_grads, "return_state_grads")
    p, s, X, single, (h0, c0) = _prepare(params, LSTM_SHAPES, "LSTM", X,
                                         (("h0", h0), ("c0", c0)))
    out, lcode = check_output_loss(output, loss)
    Yf, mask = check_targets(Y, X.shape[0], X.shape[1], s["Dy"], single, lcode, loss_at)
    E, dWx, dWh, db, dWhy, dby, dH, dC, dh0, dc0 = run_split(
        _lstm_bptt_part, (p["Wx"], p["Wh"], p["b"], p["Why"], p["by"], X, Yf, mask, h0, c0, out,
                          lcode),
        X, 4 * s["Dh"], s["Dh"], s["Dy"], "ssssss" + ("ttbb" if return_state_grads else "----"))
    grads = {"Wx": dWx, "Wh": dWh, "b": db, "Why": dWhy, "by": dby}
    if return_state_grads:
        return E, grads, {"dh": squeeze(dH, single), "dc": squeeze(dC, single),
                          "dh0": dh0[0] if single else dh0, "dc0": dc0[0] if single else dc0}
    return E, grads


def gru_forward(params: Mapping[str, np.ndarray], X, h0=None, output: str = "identity") -> dict:
    r"""Run a GRU (``torch.nn.GRU``'s equations) over a sequence or a batch.

    Parameters
    ----------
    params : dict
        ``{"Wx": (3Dh, Dx), "Wh": (3Dh, Dh), "bx": (3Dh,), "bh": (3Dh,), "Why": (Dy, Dh),
        "by": (Dy,)}``, gate blocks in the order r, z, n.
    X : array_like, shape (T, Dx) or (T, B, Dx)
    h0 : array_like, shape (Dh,) or (B, Dh), optional
    output : {"identity", "softmax", "sigmoid"}

    Returns
    -------
    dict
        ``r``, ``z``, ``n``: gate values; ``hn``: :math:`W_{hn}\mathbf h^{(t-1)} + \mathbf b_{hn}`
        (what the reset gate scales); ``h``: states; all (T, [B,] Dh); ``o``, ``y``: (T, [B,] Dy).
    """
    p, s, X, single, (h0,) = _prepare(params, GRU_SHAPES, "GRU", X, (("h0", h0),))
    with blas_guard(X, 3 * s["Dh"], s["Dh"]):  # no split (see nnbook.kernels.rnn.run_split)
        R, Zg, N, HN, H, O, Yh = _gru_forward_kernel(p["Wx"], p["Wh"], p["bx"], p["bh"],
                                                     p["Why"], p["by"], X, h0, _out_code(output))
    return {k: squeeze(v, single) for k, v in
            zip(("r", "z", "n", "hn", "h", "o", "y"), (R, Zg, N, HN, H, O, Yh))}


def gru_bptt(params: Mapping[str, np.ndarray], X, Y, h0=None, output: str = "identity",
             loss: str = "sse", loss_at: str = "all", return_state_grads: bool = False):
    r"""Error and gradients of a GRU by backpropagation through time.

    Along the direct path :math:`\partial\mathbf h^{(t)}/\partial\mathbf h^{(t-1)}` contains
    :math:`\mathrm{diag}(\mathbf z^{(t)})` (the book writes the update gate :math:`\mathbf u`) plus the
    indirect paths through the gates and the candidate: the update gate plays the forget gate's part.

    Parameters
    ----------
    params, X, h0, output
        As in :func:`gru_forward`.
    Y, loss, loss_at
        As in :func:`nnbook.kernels.rnn.rnn_bptt`.
    return_state_grads : bool
        Also return ``{"dh": dE/dh(t) (T, [B,] Dh), "dh0": dE/dh(0)}``.

    Returns
    -------
    E : float
    grads : dict
        Keyed and shaped like ``params``.
    state_grads : dict
        Only if ``return_state_grads``.
    """
    return_state_grads = check_bool(return_state_grads, "return_state_grads")
    p, s, X, single, (h0,) = _prepare(params, GRU_SHAPES, "GRU", X, (("h0", h0),))
    out, lcode = check_output_loss(output, loss)
    Yf, mask = check_targets(Y, X.shape[0], X.shape[1], s["Dy"], single, lcode, loss_at)
    E, dWx, dWh, dbx, dbh, dWhy, dby, dH, dh0 = run_split(
        _gru_bptt_part, (p["Wx"], p["Wh"], p["bx"], p["bh"], p["Why"], p["by"], X, Yf, mask, h0,
                         out, lcode),
        X, 3 * s["Dh"], s["Dh"], s["Dy"], "sssssss" + ("tb" if return_state_grads else "--"))
    grads = {"Wx": dWx, "Wh": dWh, "bx": dbx, "bh": dbh, "Why": dWhy, "by": dby}
    if return_state_grads:
        return E, grads, {"dh": squeeze(dH, single), "dh0": dh0[0] if single else dh0}
    return E, grads
