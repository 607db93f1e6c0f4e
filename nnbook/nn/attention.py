r"""Attention: scaled dot-product attention, self-attention, multiple heads, positions (Part IV).

Every output is a weighted average of value vectors,

.. math::

    \mathbf y_n = \sum_m a_{nm}\,\mathbf v_m, \qquad
    a_{nm} = \frac{\exp(s\,\mathbf q_n^\top\mathbf k_m)}{\sum_{m'}\exp(s\,\mathbf q_n^\top\mathbf k_{m'})},
    \qquad s = 1/\sqrt{d},

so each row of the attention matrix :math:`A` is non-negative and sums to one. In matrix form,
with the tokens as *rows*: :math:`Y = \mathrm{softmax}(s\,QK^\top)\,V`.

Conventions
-----------
* Tokens are rows: ``Q`` has shape ``(..., N, d)``, ``K`` ``(..., M, d)``, ``V`` ``(..., M, dv)``;
  any leading axes (a batch, heads) are carried along and must agree.
* Projections multiply from the right, :math:`Q = XW^{(q)}` with ``Wq`` of shape ``(D, dk)``, as in
  the Transformer literature (Vaswani et al., 2017).
* ``mask`` is boolean, broadcastable to ``(..., N, M)``; ``True`` means *may attend*. Masked
  positions get a weight of exactly zero; a query that may attend nowhere raises ``ValueError``.
* The softmax is :func:`nnbook.nn.activations.softmax` (the largest logit is subtracted first), so
  logits of :math:`10^4` neither overflow nor warn.

Every ``*_backward`` returns the gradients of a scalar loss given its gradient ``dY`` with respect
to the output; ``tests/test_attention.py`` checks each one against central differences.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..checks import as_float_array, check_positive
from .activations import softmax

__all__ = ["attention", "attention_backward", "self_attention", "self_attention_backward",
           "multi_head_attention", "multi_head_attention_backward", "positional_encoding",
           "causal_mask", "attention_logits"]


# --------------------------------------------------------------------------- validation
def _check_qkv(Q, K, V=None):
    Q = as_float_array(Q, "Q")
    K = as_float_array(K, "K")
    V = K[..., :0] if V is None else as_float_array(V, "V")
    for name, X in (("Q", Q), ("K", K), ("V", V)):
        if X.ndim < 2:
            raise ValueError(f"{name} must have at least 2 dimensions (tokens, features), "
                             f"got shape {X.shape}")
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError(f"Q of shape {Q.shape} and K of shape {K.shape} must share the last "
                         f"(feature) axis d, got {Q.shape[-1]} and {K.shape[-1]}")
    if K.shape[-2] != V.shape[-2]:
        raise ValueError(f"K of shape {K.shape} and V of shape {V.shape} must have the same "
                         f"number of tokens M, got {K.shape[-2]} and {V.shape[-2]}")
    if not (Q.shape[:-2] == K.shape[:-2] == V.shape[:-2]):
        raise ValueError(f"Q, K and V must have the same leading (batch) axes, got shapes "
                         f"{Q.shape}, {K.shape} and {V.shape}")
    return Q, K, V


def _scale(scale, d: int) -> float:
    if scale is None:
        return 1.0 / np.sqrt(d)
    return float(check_positive(scale, "scale"))


def _check_mask(mask, shape: tuple[int, ...]) -> np.ndarray | None:
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.dtype != bool:
        raise ValueError(f"mask must be boolean (True = may attend), got dtype {m.dtype}")
    try:
        m = np.broadcast_to(m, shape)
    except ValueError:
        raise ValueError(f"mask of shape {np.shape(mask)} does not fit the attention matrix of "
                         f"shape {shape}") from None
    empty = ~np.any(m, axis=-1)
    if np.any(empty):
        row = tuple(int(i) for i in np.argwhere(empty)[0])
        raise ValueError(f"mask leaves query {row} nothing to attend to (a fully masked row has "
                         "no softmax); every row needs at least one True")
    return m


def _swap(X: np.ndarray) -> np.ndarray:
    return np.swapaxes(X, -1, -2)


# --------------------------------------------------------------------------- attention
def attention_logits(Q: ArrayLike, K: ArrayLike, scale: float | None = None) -> np.ndarray:
    r"""The scaled similarities :math:`s\,QK^\top` before the softmax.

    Parameters
    ----------
    Q : array_like, shape (..., N, d)
    K : array_like, shape (..., M, d)
    scale : float, optional
        :math:`s`, default :math:`1/\sqrt d`.

    Returns
    -------
    ndarray, shape (..., N, M)
    """
    Q, K, _ = _check_qkv(Q, K)
    return _scale(scale, Q.shape[-1]) * (Q @ _swap(K))


def attention(Q: ArrayLike, K: ArrayLike, V: ArrayLike, mask: ArrayLike | None = None,
              scale: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Scaled dot-product attention :math:`Y = \mathrm{softmax}(s\,QK^\top)\,V`.

    Parameters
    ----------
    Q : array_like, shape (..., N, d)
        Queries, one row per output token.
    K : array_like, shape (..., M, d)
        Keys, one row per input token.
    V : array_like, shape (..., M, dv)
        Values, one row per input token.
    mask : array_like of bool, optional
        Broadcastable to (..., N, M); ``True`` where query ``n`` may attend to key ``m``.
    scale : float, optional
        Multiplies the dot products; default :math:`1/\sqrt d`.

    Returns
    -------
    Y : ndarray, shape (..., N, dv)
        The outputs :math:`\mathbf y_n = \sum_m a_{nm}\mathbf v_m`.
    A : ndarray, shape (..., N, M)
        The attention weights: non-negative, each row summing to 1, exactly 0 where masked.

    Raises
    ------
    ValueError
        If the shapes disagree (the message names them), the mask is not boolean or does not fit,
        a row of the mask is all ``False``, or an input holds NaN or inf.
    """
    Q, K, V = _check_qkv(Q, K, V)
    s = _scale(scale, Q.shape[-1])
    with np.errstate(over="ignore", invalid="ignore"):
        logits = s * (Q @ _swap(K))
    m = _check_mask(mask, logits.shape)
    if not np.isfinite(logits).all():  # finite but enormous scores: take the limit
        logits = _limit_logits(Q, K, s, m)
    if m is not None:
        logits = np.where(m, logits, -np.inf)   # exp(-inf) = 0 exactly, without a warning
    A = softmax(logits)
    return A @ V, A


def _limit_logits(Q: np.ndarray, K: np.ndarray, s: float, m) -> np.ndarray:
    r"""Scores shifted so that each row's largest is 0, computed without overflow.

    With :math:`c = s\max|Q|\max|K|` and the scores of the rescaled inputs :math:`S'`
    (entries at most d in size), the scores are :math:`cS'`; subtracting each row's maximum
    leaves 0 at the largest entries and :math:`c(S'-\max S')`, down to :math:`-\infty` when
    :math:`c` overflows, elsewhere. So queries of size 1e200 (or ``scale=1e308``) give the
    softmax's limit, a one-hot row (ties share the weight equally), instead of NaN.
    """
    a = float(np.max(np.abs(Q))) or 1.0
    b = float(np.max(np.abs(K))) or 1.0
    S = (Q / a) @ _swap(K / b)
    if m is not None:
        S = np.where(m, S, -np.inf)
    d = S - np.max(S, axis=-1, keepdims=True)
    with np.errstate(over="ignore", invalid="ignore"):
        c = s * a * b
        return np.where(d == 0, 0.0, c * d)


def attention_backward(dY: ArrayLike, Q: ArrayLike, K: ArrayLike, V: ArrayLike, A: ArrayLike,
                       scale: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Gradients of a loss through :func:`attention`, given :math:`\partial E/\partial Y`.

    With :math:`S = s\,QK^\top` and :math:`A = \mathrm{softmax}(S)` row by row:

    .. math::

        \frac{\partial E}{\partial V} = A^\top \frac{\partial E}{\partial Y},\quad
        G = \frac{\partial E}{\partial Y} V^\top,\quad
        \frac{\partial E}{\partial S} = A \odot \bigl(G - \mathrm{rowsum}(A\odot G)\bigr),\quad
        \frac{\partial E}{\partial Q} = s\,\frac{\partial E}{\partial S} K,\quad
        \frac{\partial E}{\partial K} = s\,\Bigl(\frac{\partial E}{\partial S}\Bigr)^{\!\top} Q.

    Masked weights are 0 in ``A``, so their logits receive no gradient: the mask is in ``A``.

    Parameters
    ----------
    dY : array_like, shape (..., N, dv)
    Q, K, V : array_like
        As passed to :func:`attention`.
    A : array_like, shape (..., N, M)
        The weights :func:`attention` returned.
    scale : float, optional
        The same scale as in the forward pass.

    Returns
    -------
    dQ : ndarray, shape (..., N, d)
    dK : ndarray, shape (..., M, d)
    dV : ndarray, shape (..., M, dv)
    """
    Q, K, V = _check_qkv(Q, K, V)
    dY = as_float_array(dY, "dY")
    A = as_float_array(A, "A")
    want_A = Q.shape[:-1] + (K.shape[-2],)
    if A.shape != want_A:
        raise ValueError(f"A has shape {A.shape}, but Q {Q.shape} and K {K.shape} give {want_A}")
    want_Y = Q.shape[:-1] + (V.shape[-1],)
    if dY.shape != want_Y:
        raise ValueError(f"dY has shape {dY.shape}, but the output of attention has {want_Y}")
    s = _scale(scale, Q.shape[-1])
    dV = _swap(A) @ dY
    G = dY @ _swap(V)
    dS = A * (G - np.sum(A * G, axis=-1, keepdims=True))
    return s * (dS @ K), s * (_swap(dS) @ Q), dV


# --------------------------------------------------------------------------- self-attention
def _check_x_w(X, named_W: dict, min_ndim: int = 2):
    X = as_float_array(X, "X")
    if X.ndim < min_ndim:
        raise ValueError(f"X must have shape (..., T, D), got {X.shape}")
    Ws = []
    for name, W in named_W.items():
        W = as_float_array(W, name, ndim=(2,))
        Ws.append(W)
    for name, W in zip(named_W, Ws):
        if name in ("Wq", "Wk", "Wv") and W.shape[0] != X.shape[-1]:
            raise ValueError(f"{name} of shape {W.shape} needs {X.shape[-1]} rows to multiply "
                             f"X of shape {X.shape}")
    return X, Ws


def _sum_batch(X: np.ndarray, dZ: np.ndarray) -> np.ndarray:
    """:math:`\\sum_{\\text{batch}} X^\\top dZ` for X (..., T, D), dZ (..., T, k) -> (D, k)."""
    return X.reshape(-1, X.shape[-1]).T @ dZ.reshape(-1, dZ.shape[-1])


def self_attention(X: ArrayLike, Wq: ArrayLike, Wk: ArrayLike, Wv: ArrayLike,
                   mask: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Self-attention: queries, keys and values all come from the same tokens ``X``.

    :math:`Q = XW^{(q)}`, :math:`K = XW^{(k)}`, :math:`V = XW^{(v)}`, then :func:`attention`
    with the scale :math:`1/\sqrt{d_k}`.

    Parameters
    ----------
    X : array_like, shape (..., T, D)
        The tokens as rows (leading axes are a batch).
    Wq, Wk : array_like, shape (D, dk)
    Wv : array_like, shape (D, dv)
    mask : array_like of bool, optional
        Broadcastable to (..., T, T), e.g. :func:`causal_mask`.

    Returns
    -------
    Y : ndarray, shape (..., T, dv)
    A : ndarray, shape (..., T, T)
    """
    X, (Wq, Wk, Wv) = _check_x_w(X, {"Wq": Wq, "Wk": Wk, "Wv": Wv})
    return attention(X @ Wq, X @ Wk, X @ Wv, mask=mask)


def self_attention_backward(dY: ArrayLike, X: ArrayLike, Wq: ArrayLike, Wk: ArrayLike,
                            Wv: ArrayLike, A: ArrayLike) -> tuple[np.ndarray, ...]:
    r"""Gradients through :func:`self_attention` given :math:`\partial E/\partial Y`.

    Returns
    -------
    dX : ndarray, shape (..., T, D)
        Sums the three paths, :math:`dQ\,W^{(q)\top} + dK\,W^{(k)\top} + dV\,W^{(v)\top}`.
    dWq, dWk, dWv : ndarray, shapes of ``Wq``, ``Wk``, ``Wv``
        Summed over any batch axes.
    """
    X, (Wq, Wk, Wv) = _check_x_w(X, {"Wq": Wq, "Wk": Wk, "Wv": Wv})
    Q, K, V = X @ Wq, X @ Wk, X @ Wv
    dQ, dK, dV = attention_backward(dY, Q, K, V, A)
    dX = dQ @ Wq.T + dK @ Wk.T + dV @ Wv.T
    return dX, _sum_batch(X, dQ), _sum_batch(X, dK), _sum_batch(X, dV)


# --------------------------------------------------------------------------- multiple heads
def _split_heads(Z: np.ndarray, H: int) -> np.ndarray:
    """(..., T, H*k) -> (..., H, T, k)."""
    return np.moveaxis(Z.reshape(Z.shape[:-1] + (H, Z.shape[-1] // H)), -2, -3)


def _merge_heads(Z: np.ndarray) -> np.ndarray:
    """(..., H, T, k) -> (..., T, H*k)."""
    Z = np.moveaxis(Z, -3, -2)
    return Z.reshape(Z.shape[:-2] + (-1,))


def _check_mha(X, Wq, Wk, Wv, Wo, n_heads):
    X, (Wq, Wk, Wv, Wo) = _check_x_w(X, {"Wq": Wq, "Wk": Wk, "Wv": Wv, "Wo": Wo})
    H = check_positive(n_heads, "n_heads", integer=True)
    if Wq.shape != Wk.shape:
        raise ValueError(f"Wq of shape {Wq.shape} and Wk of shape {Wk.shape} must agree")
    for name, W in (("Wq", Wq), ("Wv", Wv)):
        if W.shape[1] % H:
            raise ValueError(f"{name} of shape {W.shape}: its {W.shape[1]} columns do not split "
                             f"into n_heads={H} equal heads")
    if Wo.shape[0] != Wv.shape[1]:
        raise ValueError(f"Wo of shape {Wo.shape} needs {Wv.shape[1]} rows, one per column of "
                         f"the concatenated heads (Wv has shape {Wv.shape})")
    return X, Wq, Wk, Wv, Wo, int(H)


def multi_head_attention(X: ArrayLike, Wq: ArrayLike, Wk: ArrayLike, Wv: ArrayLike, Wo: ArrayLike,
                         n_heads: int, mask: ArrayLike | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
    r"""Multi-head self-attention: split into heads, attend, concatenate, project.

    The columns of :math:`XW^{(q)}`, :math:`XW^{(k)}`, :math:`XW^{(v)}` are cut into ``n_heads``
    equal blocks; head :math:`h` attends with its own block (scale :math:`1/\sqrt{d_k/H}`), the
    head outputs are concatenated side by side and multiplied by :math:`W^{(o)}`.

    Parameters
    ----------
    X : array_like, shape (..., T, D)
    Wq, Wk : array_like, shape (D, dk), dk divisible by ``n_heads``
    Wv : array_like, shape (D, dv), dv divisible by ``n_heads``
    Wo : array_like, shape (dv, D_out)
    n_heads : int
    mask : array_like of bool, optional
        Broadcastable to (..., n_heads, T, T); a (T, T) mask applies to every head.

    Returns
    -------
    Y : ndarray, shape (..., T, D_out)
    A : ndarray, shape (..., n_heads, T, T)
        One attention matrix per head.
    """
    X, Wq, Wk, Wv, Wo, H = _check_mha(X, Wq, Wk, Wv, Wo, n_heads)
    heads, A = attention(_split_heads(X @ Wq, H), _split_heads(X @ Wk, H),
                         _split_heads(X @ Wv, H), mask=mask)
    return _merge_heads(heads) @ Wo, A


def multi_head_attention_backward(dY: ArrayLike, X: ArrayLike, Wq: ArrayLike, Wk: ArrayLike,
                                  Wv: ArrayLike, Wo: ArrayLike, A: ArrayLike,
                                  n_heads: int) -> tuple[np.ndarray, ...]:
    r"""Gradients through :func:`multi_head_attention` given :math:`\partial E/\partial Y`.

    Returns
    -------
    dX : ndarray, shape (..., T, D)
    dWq, dWk, dWv, dWo : ndarray, the shapes of the weights (summed over batch axes)
    """
    X, Wq, Wk, Wv, Wo, H = _check_mha(X, Wq, Wk, Wv, Wo, n_heads)
    dY = as_float_array(dY, "dY")
    want = X.shape[:-1] + (Wo.shape[1],)
    if dY.shape != want:
        raise ValueError(f"dY has shape {dY.shape}, but the output has shape {want}")
    Q, K, V = (_split_heads(X @ W, H) for W in (Wq, Wk, Wv))
    concat = _merge_heads(A @ V)
    dWo = _sum_batch(concat, dY)
    dHeads = _split_heads(dY @ Wo.T, H)
    dQ, dK, dV = (_merge_heads(d) for d in attention_backward(dHeads, Q, K, V, A))
    dX = dQ @ Wq.T + dK @ Wk.T + dV @ Wv.T
    return dX, _sum_batch(X, dQ), _sum_batch(X, dK), _sum_batch(X, dV), dWo


# --------------------------------------------------------------------------- positions, masks
def positional_encoding(T: int, d: int, base: float = 10000.0) -> np.ndarray:
    r"""Sinusoidal positional encodings (Vaswani et al., 2017).

    Row :math:`t = 0,\dots,T-1` holds :math:`\sin(t\,\omega_i)` in column :math:`2i` and
    :math:`\cos(t\,\omega_i)` in column :math:`2i+1`, with :math:`\omega_i = \text{base}^{-2i/d}`.

    Parameters
    ----------
    T : int
        Number of positions.
    d : int
        Width of each encoding (odd ``d`` drops the last cosine column).
    base : float
        Sets the longest wavelength, :math:`2\pi\,\text{base}`.

    Returns
    -------
    ndarray, shape (T, d)
    """
    check_positive(T, "T", integer=True)
    check_positive(d, "d", integer=True)
    check_positive(base, "base")
    omega = float(base) ** (-np.arange(0, d, 2) / d)
    angle = np.arange(T)[:, None] * omega[None, :]
    P = np.empty((T, d))
    P[:, 0::2] = np.sin(angle)
    P[:, 1::2] = np.cos(angle[:, : d // 2])
    return P


def causal_mask(T: int) -> np.ndarray:
    """Boolean (T, T) mask, ``True`` on and below the diagonal: token t sees tokens 0..t only."""
    check_positive(T, "T", integer=True)
    return np.tril(np.ones((T, T), dtype=bool))


# --------------------------------------------------------------------------- a trainable model
