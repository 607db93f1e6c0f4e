r"""The Transformer block and a small decoder-only language model (chapter 13).

Conventions are those of :mod:`nnbook.nn.attention`: tokens are *rows*, weights multiply from the
right (:math:`XW`), leading axes are a batch, a mask is boolean with ``True`` where a query may
attend.

* :func:`layer_norm` normalizes every token over its features (the last axis),
  :math:`y = \gamma\odot(x - m)/\sqrt{s^2 + \epsilon} + \beta`, as
  ``torch.nn.functional.layer_norm``.
* :func:`transformer_block` is the **pre-norm** block of Xiong et al. (2020),

  .. math::

      H = X + \mathrm{MHA}(\mathrm{LN}_1(X)), \qquad
      Y = H + \mathrm{act}(\mathrm{LN}_2(H) W_1 + \mathbf b_1) W_2 + \mathbf b_2,

  numerically ``torch.nn.TransformerEncoderLayer(D, n_heads, D_ff, dropout=0, activation=...,
  batch_first=True, norm_first=True)``; ``norm="post"`` gives the original block of Vaswani et al.
  (2017), :math:`H = \mathrm{LN}_1(X + \mathrm{MHA}(X))`, :math:`Y = \mathrm{LN}_2(H + \mathrm{FFN}(H))`.
  The attention is :func:`nnbook.nn.attention.multi_head_attention` with biases (a column of ones
  appended to its input carries them).
* :class:`TransformerLM` stacks blocks on token embeddings plus the sinusoidal positional
  encodings of :func:`nnbook.nn.attention.positional_encoding`, with a causal mask, and is trained by
  :func:`nnbook.train.fit.fit` through :meth:`TransformerLM.loss_and_grads`.

Every backward returns the gradients of a scalar loss given its gradient with respect to the
output; ``tests/test_transformer.py`` checks each against central differences, a NumPy reference
written independently, and PyTorch when it is installed.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import erf

from ..checks import (as_float_array, check_int, check_keys, check_name, check_param_arrays,
                      check_positive)
from ..kernels.threads import blas_threads
from .activations import derivative, gelu, relu, softmax
from .attention import (causal_mask, multi_head_attention, multi_head_attention_backward,
                        positional_encoding)
from .layers import softmax_cross_entropy

__all__ = ["layer_norm", "layer_norm_backward", "transformer_block", "transformer_block_backward",
           "block_shapes", "block_params", "TransformerLM", "BLOCK_KEYS"]

#: The parameter names of one block, in a fixed order.
BLOCK_KEYS = ("Wq", "Wk", "Wv", "Wo", "bq", "bk", "bv", "bo", "ln1_g", "ln1_b", "ln2_g", "ln2_b",
              "W1", "b1", "W2", "b2")
_ACTS = {"relu": relu, "gelu": gelu}
_NORMS = ("pre", "post")


# --------------------------------------------------------------------------- layer norm
#: The most tokens one call of :meth:`TransformerLM.generate` produces (one forward pass each;
#: a longer text: call it again with the tail as the prompt).
MAX_GENERATE = 100_000


def _ln_check(x, gamma, eps):
    x = as_float_array(x, "x")
    if x.ndim == 0:
        raise ValueError("x must have at least one axis (the features are its last axis), got a "
                         "scalar")
    gamma = as_float_array(gamma, "gamma", ndim=(1,))
    if gamma.shape[0] != x.shape[-1]:
        raise ValueError(f"gamma has {gamma.shape[0]} entries but x of shape {x.shape} has "
                         f"{x.shape[-1]} features on its last axis")
    check_positive(eps, "eps")
    return x, gamma


def _ln_stats(x, eps):
    mu = x.mean(axis=-1, keepdims=True)
    xc = x - mu
    rstd = 1.0 / np.sqrt((xc * xc).mean(axis=-1, keepdims=True) + eps)
    return xc * rstd, rstd


def layer_norm(x: ArrayLike, gamma: ArrayLike, beta: ArrayLike, eps: float = 1e-5) -> np.ndarray:
    r"""Layer normalization over the last axis.

    Each row :math:`\mathbf x` (one token's features) is centred and scaled by its *own* mean and
    (biased) variance, then scaled and shifted by the learned :math:`\boldsymbol\gamma`,
    :math:`\boldsymbol\beta`: :math:`y_i = \gamma_i (x_i - m)/\sqrt{s^2+\epsilon} + \beta_i`, with :math:`m` and :math:`s^2`
    the mean and (biased) variance of the row.
    Unlike batch norm nothing is averaged over the batch or the sequence, so training and
    generation compute the same thing and a token never depends on another through the norm.

    Parameters
    ----------
    x : array_like, shape (..., D)
    gamma, beta : array_like, shape (D,)
    eps : float
        Added to the variance (PyTorch's default ``1e-5``).

    Returns
    -------
    ndarray, shape of ``x``
    """
    x, gamma = _ln_check(x, gamma, eps)
    beta = as_float_array(beta, "beta", ndim=(1,))
    if beta.shape != gamma.shape:
        raise ValueError(f"beta of shape {beta.shape} must match gamma of shape {gamma.shape}")
    xhat, _ = _ln_stats(x, eps)
    return xhat * gamma + beta


def layer_norm_backward(dy: ArrayLike, x: ArrayLike, gamma: ArrayLike,
                        eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Gradients through :func:`layer_norm` given :math:`\partial E/\partial\mathbf y`.

    With :math:`\hat{\mathbf x} = (\mathbf x - m)/\sqrt{s^2+\epsilon}` and
    :math:`\mathbf g = \boldsymbol\gamma\odot\partial E/\partial\mathbf y` (per row of ``D``),

    .. math::

        \frac{\partial E}{\partial\mathbf x} = \frac{1}{\sqrt{s^2+\epsilon}}
        \Bigl(\mathbf g - \overline{\mathbf g} - \hat{\mathbf x}\,\overline{\mathbf g\odot\hat{\mathbf x}}\Bigr),

    bars being means over the row; :math:`\partial E/\partial\boldsymbol\gamma` and
    :math:`\partial E/\partial\boldsymbol\beta` sum :math:`\hat{\mathbf x}\odot\partial E/\partial\mathbf y`
    and :math:`\partial E/\partial\mathbf y` over every leading axis.

    Returns
    -------
    dx : ndarray, shape of ``x``
    dgamma, dbeta : ndarray, shape (D,)
    """
    x, gamma = _ln_check(x, gamma, eps)
    dy = as_float_array(dy, "dy")
    if dy.shape != x.shape:
        raise ValueError(f"dy has shape {dy.shape}, x has shape {x.shape}; they must agree")
    return _ln_backward(dy, x, gamma, eps)


def _ln_backward(dy, x, gamma, eps):
    xhat, rstd = _ln_stats(x, eps)
    g = dy * gamma
    dx = rstd * (g - g.mean(axis=-1, keepdims=True)
                 - xhat * (g * xhat).mean(axis=-1, keepdims=True))
    D = x.shape[-1]
    return (dx, (dy * xhat).reshape(-1, D).sum(axis=0), dy.reshape(-1, D).sum(axis=0))


# --------------------------------------------------------------------------- one block
def block_shapes(D: int, D_ff: int) -> dict[str, tuple[int, ...]]:
    """The shape of every parameter of one block of width ``D`` and MLP width ``D_ff``."""
    shapes = {k: (D, D) for k in ("Wq", "Wk", "Wv", "Wo")}
    shapes.update({k: (D,) for k in ("bq", "bk", "bv", "bo", "ln1_g", "ln1_b", "ln2_g", "ln2_b",
                                     "b2")})
    shapes.update(W1=(D, D_ff), b1=(D_ff,), W2=(D_ff, D))
    return {k: shapes[k] for k in BLOCK_KEYS}


def block_params(D: int, D_ff: int, seed: int = 0, residual_scale: float = 1.0) -> dict[str, np.ndarray]:
    r"""Seeded parameters of one block.

    Weights are normal with standard deviation :math:`1/\sqrt{\text{fan-in}}`; the two that write
    into the residual stream (``Wo``, ``W2``) are further multiplied by ``residual_scale``. Biases
    and shifts are 0, the layer-norm gains 1.
    """
    check_positive(D, "D", integer=True)
    check_positive(D_ff, "D_ff", integer=True)
    check_positive(residual_scale, "residual_scale")
    rng = np.random.default_rng(seed)
    p = {}
    for k, shape in block_shapes(D, D_ff).items():
        if k.startswith("W"):
            std = 1.0 / np.sqrt(shape[0]) * (residual_scale if k in ("Wo", "W2") else 1.0)
            p[k] = rng.normal(0.0, std, size=shape)
        elif k.endswith("_g"):
            p[k] = np.ones(shape)
        else:
            p[k] = np.zeros(shape)
    return p


def _check_block(X, params, n_heads, activation, norm):
    X = as_float_array(X, "X")
    if X.ndim < 2:
        raise ValueError(f"X must have shape (..., T, D), got {X.shape}")
    check_keys(params, BLOCK_KEYS)
    D = X.shape[-1]
    H = check_positive(n_heads, "n_heads", integer=True)
    if D % H:
        raise ValueError(f"the width D={D} does not split into n_heads={H} equal heads")
    W1 = np.asarray(params["W1"])
    D_ff = W1.shape[1] if W1.ndim == 2 else -1
    p = check_param_arrays(params, block_shapes(D, max(D_ff, 1)))
    act = check_name(activation, _ACTS, "activation")
    norm = check_name(norm, _NORMS, "norm")
    return X, p, int(H), act, norm


def _ones(X):
    return np.concatenate([X, np.ones(X.shape[:-1] + (1,))], axis=-1)


def _aug(p):
    """The attention weights with their biases as an extra row (for the column of ones)."""
    return [np.vstack([p[w], p[b][None, :]]) for w, b in (("Wq", "bq"), ("Wk", "bk"), ("Wv", "bv"))]


def _mha(Xn, p, H, mask):
    Xa = _ones(Xn)
    Wq, Wk, Wv = _aug(p)
    Z, A = multi_head_attention(Xa, Wq, Wk, Wv, p["Wo"], H, mask=mask)
    return Z + p["bo"], A, Xa


def _mha_backward(dZ, Xa, p, A, H, grads):
    Wq, Wk, Wv = _aug(p)
    dXa, dWq, dWk, dWv, dWo = multi_head_attention_backward(dZ, Xa, Wq, Wk, Wv, p["Wo"], A, H)
    for (w, b), dW in zip((("Wq", "bq"), ("Wk", "bk"), ("Wv", "bv")), (dWq, dWk, dWv)):
        grads[w], grads[b] = dW[:-1], dW[-1]
    grads["Wo"] = dWo
    grads["bo"] = dZ.reshape(-1, dZ.shape[-1]).sum(axis=0)
    return dXa[..., :-1]


def _flat(Z):
    return Z.reshape(-1, Z.shape[-1])


def _block_forward(X, p, H, mask, act, norm, eps=1e-5):
    """Forward pass of a validated block; returns ``(Y, A, cache)``."""
    c = {"X": X}
    if norm == "pre":
        c["Xn1"] = layer_norm(X, p["ln1_g"], p["ln1_b"], eps)
        Z, A, c["Xa"] = _mha(c["Xn1"], p, H, mask)
        c["H"] = Hs = X + Z
        c["Xn2"] = Xn2 = layer_norm(Hs, p["ln2_g"], p["ln2_b"], eps)
    else:
        Z, A, c["Xa"] = _mha(X, p, H, mask)
        c["S1"] = X + Z
        c["H"] = Hs = Xn2 = layer_norm(c["S1"], p["ln1_g"], p["ln1_b"], eps)
    c["Z1"] = Z1 = Xn2 @ p["W1"] + p["b1"]
    if act == "gelu":   # keep Phi(Z1) for the backward pass: h'(a) = Phi(a) + a phi(a)
        c["Phi"] = Phi = 0.5 * (1.0 + erf(Z1 * np.sqrt(0.5)))
        c["U"] = U = Z1 * Phi
    else:
        c["U"] = U = relu(Z1)
    F = U @ p["W2"] + p["b2"]
    if norm == "pre":
        Y = Hs + F
    else:
        c["S2"] = Hs + F
        Y = layer_norm(c["S2"], p["ln2_g"], p["ln2_b"], eps)
    c["A"] = A
    return Y, A, c


def _block_backward(dY, p, H, act, norm, c, eps=1e-5):
    """Backward pass from a forward cache; returns ``(dX, grads)``."""
    g = {}
    if norm == "post":
        dS2, g["ln2_g"], g["ln2_b"] = _ln_backward(dY, c["S2"], p["ln2_g"], eps)
        dF = dH = dS2
    else:
        dF = dH = dY
    g["b2"] = _flat(dF).sum(axis=0)
    g["W2"] = _flat(c["U"]).T @ _flat(dF)
    if act == "gelu":
        Z1 = c["Z1"]
        dact = c["Phi"] + Z1 * np.exp(-0.5 * Z1 * Z1) * (1.0 / np.sqrt(2.0 * np.pi))
    else:
        dact = derivative(act, c["Z1"])
    dZ1 = (dF @ p["W2"].T) * dact
    g["b1"] = _flat(dZ1).sum(axis=0)
    g["W1"] = _flat(c["H"] if norm == "post" else c["Xn2"]).T @ _flat(dZ1)
    dXn2 = dZ1 @ p["W1"].T
    if norm == "pre":
        d, g["ln2_g"], g["ln2_b"] = _ln_backward(dXn2, c["H"], p["ln2_g"], eps)
        dH = dH + d
        dXn1 = _mha_backward(dH, c["Xa"], p, c["A"], H, g)
        d, g["ln1_g"], g["ln1_b"] = _ln_backward(dXn1, c["X"], p["ln1_g"], eps)
        dX = dH + d
    else:
        dH = dH + dXn2
        dS1, g["ln1_g"], g["ln1_b"] = _ln_backward(dH, c["S1"], p["ln1_g"], eps)
        dX = dS1 + _mha_backward(dS1, c["Xa"], p, c["A"], H, g)
    return dX, {k: g[k] for k in BLOCK_KEYS}


def transformer_block(X: ArrayLike, params: Mapping[str, ArrayLike], n_heads: int,
                      mask: ArrayLike | None = None, activation: str = "relu",
                      norm: str = "pre") -> tuple[np.ndarray, np.ndarray]:
    r"""One Transformer block: multi-head self-attention and a position-wise MLP, each with a
    residual connection and a layer norm.

    Parameters
    ----------
    X : array_like, shape (..., T, D)
        Tokens as rows; leading axes are a batch.
    params : dict
        ``Wq, Wk, Wv, Wo`` (D, D); ``bq, bk, bv, bo`` (D,); ``ln1_g, ln1_b, ln2_g, ln2_b`` (D,);
        ``W1`` (D, D_ff), ``b1`` (D_ff,), ``W2`` (D_ff, D), ``b2`` (D,) (see :func:`block_params`).
    n_heads : int
        Must divide D; each head has :math:`d_k = d_v = D/n_{\text{heads}}`.
    mask : array_like of bool, optional
        ``True`` where a query may attend, broadcastable to (..., n_heads, T, T)
        (e.g. :func:`nnbook.nn.attention.causal_mask`).
    activation : {"relu", "gelu"}
        The MLP's nonlinearity (GELU exact, with erf).
    norm : {"pre", "post"}
        Where the layer norms sit: ``"pre"`` (default) normalizes each sub-layer's *input* and
        keeps the residual path an identity; ``"post"`` normalizes after each residual sum.

    Returns
    -------
    Y : ndarray, shape (..., T, D)
    A : ndarray, shape (..., n_heads, T, T)
        Each head's attention weights.

    Raises
    ------
    ValueError
        Naming the problem: a missing parameter or a wrong shape, D not divisible by ``n_heads``,
        an unknown activation or norm, NaN or inf, a mask that does not fit.
    """
    X, p, H, act, norm = _check_block(X, params, n_heads, activation, norm)
    Y, A, _ = _block_forward(X, p, H, mask, act, norm)
    return Y, A


def transformer_block_backward(dY: ArrayLike, X: ArrayLike, params: Mapping[str, ArrayLike],
                               n_heads: int, mask: ArrayLike | None = None,
                               activation: str = "relu", norm: str = "pre"
                               ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    r"""Gradients through :func:`transformer_block` given :math:`\partial E/\partial Y`.

    The forward pass is recomputed from ``X`` (nothing is cached between calls).

    Returns
    -------
    dX : ndarray, shape of ``X``
    grads : dict
        The keys of ``params``, each summed over the batch axes.
    """
    X, p, H, act, norm = _check_block(X, params, n_heads, activation, norm)
    dY = as_float_array(dY, "dY")
    if dY.shape != X.shape:
        raise ValueError(f"dY has shape {dY.shape}, but the block's output has shape {X.shape}")
    _, _, cache = _block_forward(X, p, H, mask, act, norm)
    return _block_backward(dY, p, H, act, norm, cache)


# --------------------------------------------------------------------------- the language model
class TransformerLM:
    r"""A decoder-only Transformer language model over ``n_tokens`` symbols.

    Token :math:`x_t` becomes :math:`\mathbf e_{x_t} + \mathbf p_t` (a learned embedding plus the
    fixed sinusoidal :math:`\mathrm{PE}`), ``n_layers`` blocks with a causal mask follow, then (for
    pre-norm) a final layer norm and a linear map to the ``n_tokens`` logits of the next token.

    Parameters
    ----------
    n_tokens : int
        Vocabulary size.
    T : int
        Longest context (the positional encodings are made for ``T`` positions).
    d_model : int
        Width :math:`D` of the residual stream.
    n_heads : int
        Heads per block (must divide ``d_model``).
    n_layers : int
        Number of blocks.
    d_ff : int
        Width :math:`D_{\text{ff}}` of the position-wise MLP.
    activation : {"gelu", "relu"}
    norm : {"pre", "post"}
        Pre-norm blocks (and a final layer norm), or the original post-norm blocks (no final norm).

    Parameter names: ``emb`` (n_tokens, D); ``l{i}.Wq`` ... for block ``i`` (:data:`BLOCK_KEYS`);
    ``lnf_g``, ``lnf_b`` (pre-norm only); ``W_out`` (D, n_tokens), ``b_out`` (n_tokens,).
    """

    def __init__(self, n_tokens: int, T: int, d_model: int, n_heads: int, n_layers: int,
                 d_ff: int, activation: str = "gelu", norm: str = "pre"):
        for name, v in (("n_tokens", n_tokens), ("T", T), ("d_model", d_model),
                        ("n_heads", n_heads), ("n_layers", n_layers), ("d_ff", d_ff)):
            check_positive(v, name, integer=True)
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} does not split into n_heads={n_heads} equal heads")
        self.n_tokens, self.T, self.D = int(n_tokens), int(T), int(d_model)
        self.n_heads, self.n_layers, self.d_ff = int(n_heads), int(n_layers), int(d_ff)
        self.activation = check_name(activation, _ACTS, "activation")
        self.norm = check_name(norm, _NORMS, "norm")
        self.PE = positional_encoding(self.T, self.D)
        self._masks: dict[int, np.ndarray] = {}

    def __repr__(self) -> str:
        return (f"TransformerLM(n_tokens={self.n_tokens}, T={self.T}, d_model={self.D}, "
                f"n_heads={self.n_heads}, n_layers={self.n_layers}, d_ff={self.d_ff}, "
                f"activation={self.activation!r}, norm={self.norm!r})")

    # ---------------------------------------------------------------- parameters
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Every parameter's shape, by name."""
        s = {"emb": (self.n_tokens, self.D)}
        for i in range(self.n_layers):
            s.update({f"l{i}.{k}": v for k, v in block_shapes(self.D, self.d_ff).items()})
        if self.norm == "pre":
            s.update(lnf_g=(self.D,), lnf_b=(self.D,))
        s.update(W_out=(self.D, self.n_tokens), b_out=(self.n_tokens,))
        return s

    def init(self, seed: int = 0) -> dict[str, np.ndarray]:
        r"""Seeded parameters: embeddings :math:`\mathcal N(0, 1)` (the size of the positional
        encodings), blocks from :func:`block_params` with the residual writes scaled by
        :math:`1/\sqrt{2 n_{\text{layers}}}` (for pre-norm), output weights
        :math:`\mathcal N(0, 1/D)`."""
        rng = np.random.default_rng(seed)
        p = {"emb": rng.normal(size=(self.n_tokens, self.D))}
        scale = 1.0 / np.sqrt(2 * self.n_layers) if self.norm == "pre" else 1.0
        for i in range(self.n_layers):
            blk = block_params(self.D, self.d_ff, seed=int(rng.integers(2**31)), residual_scale=scale)
            p.update({f"l{i}.{k}": v for k, v in blk.items()})
        if self.norm == "pre":
            p["lnf_g"], p["lnf_b"] = np.ones(self.D), np.zeros(self.D)
        p["W_out"] = rng.normal(0.0, 1.0 / np.sqrt(self.D), size=(self.D, self.n_tokens))
        p["b_out"] = np.zeros(self.n_tokens)
        return p

    def n_params(self, params: Mapping[str, np.ndarray] | None = None) -> int:
        """Number of adaptive parameters :math:`|\\mathbf w|`."""
        return int(sum(int(np.prod(s)) for s in self.shapes().values()))

    def _check_params(self, params) -> dict[str, np.ndarray]:
        return check_param_arrays(params, self.shapes())

    def _check_tokens(self, X, name="X", allow_1d=False):
        X = np.asarray(X)
        if X.dtype == bool or not np.issubdtype(X.dtype, np.integer):
            raise ValueError(f"{name} must hold integer token ids, got dtype {X.dtype}")
        if X.ndim != 2 and not (allow_1d and X.ndim == 1):
            raise ValueError(f"{name} must have shape (B, T'), got {X.shape}")
        if X.shape[-1] == 0:
            raise ValueError(f"{name} holds no tokens")
        if X.shape[-1] > self.T:
            raise ValueError(f"{name} has {X.shape[-1]} positions, more than the model's T={self.T}")
        if X.min() < 0 or X.max() >= self.n_tokens:
            raise ValueError(f"{name} has token ids from {X.min()} to {X.max()}, outside "
                             f"0..{self.n_tokens - 1}")
        return X

    def _mask(self, T):
        if T not in self._masks:
            self._masks[T] = causal_mask(T)
        return self._masks[T]

    # ---------------------------------------------------------------- passes
    def _forward(self, params, X, keep=False):
        T = X.shape[1]
        Z = params["emb"][X] + self.PE[:T]
        caches, attn = [], []
        for i in range(self.n_layers):
            p = {k: params[f"l{i}.{k}"] for k in BLOCK_KEYS}
            Z, A, c = _block_forward(Z, p, self.n_heads, self._mask(T), self.activation, self.norm)
            attn.append(A)
            if keep:
                caches.append(c)
        Zf = Z
        if self.norm == "pre":
            Zf = layer_norm(Z, params["lnf_g"], params["lnf_b"])
        logits = Zf @ params["W_out"] + params["b_out"]
        return logits, {"Z": Z, "Zf": Zf, "blocks": caches, "A": attn}

    def forward(self, params: Mapping[str, np.ndarray], X: ArrayLike) -> np.ndarray:
        """Logits of the next token at every position.

        Parameters
        ----------
        X : array_like of int, shape (B, T') with T' <= T

        Returns
        -------
        ndarray, shape (B, T', n_tokens)
        """
        params = self._check_params(params)
        X = self._check_tokens(X)
        with blas_threads(1):
            return self._forward(params, X)[0]

    def attention_maps(self, params: Mapping[str, np.ndarray], X: ArrayLike) -> np.ndarray:
        """Every head's causal attention weights, shape (n_layers, B, n_heads, T', T')."""
        params = self._check_params(params)
        X = self._check_tokens(X)
        with blas_threads(1):
            return np.stack(self._forward(params, X)[1]["A"])

    def _check_pair(self, params, X, Y) -> tuple[dict, np.ndarray, np.ndarray]:
        """Checked parameters, and inputs ``X`` and targets ``Y`` of the same shape."""
        params = self._check_params(params)
        X = self._check_tokens(X)
        Y = self._check_tokens(Y, "Y")
        if Y.shape != X.shape:
            raise ValueError(f"Y has shape {Y.shape}, X has shape {X.shape}; they must agree")
        return params, X, Y

    def loss(self, params: Mapping[str, np.ndarray], X: ArrayLike, Y: ArrayLike) -> float:
        """Mean cross-entropy of the next-token predictions, in nats per token."""
        params, X, Y = self._check_pair(params, X, Y)
        with blas_threads(1):
            logits = self._forward(params, X)[0]
        return softmax_cross_entropy(logits.reshape(-1, self.n_tokens), Y.ravel())[0]

    def loss_and_grads(self, params: Mapping[str, np.ndarray], X: ArrayLike, Y: ArrayLike,
                       rng: np.random.Generator | None = None
                       ) -> tuple[float, dict[str, np.ndarray]]:
        """Mean cross-entropy (nats per token) of predicting ``Y`` from ``X``, and its gradients.

        ``X`` and ``Y`` are int (B, T'); usually ``Y`` is ``X`` shifted one position to the left
        (the text is its own label). ``rng`` is accepted for :func:`nnbook.train.fit.fit` and unused
        (no dropout). The signature is that of ``fit``'s ``loss_and_grads``.
        """
        params, X, Y = self._check_pair(params, X, Y)
        with blas_threads(1):
            return self._loss_and_grads(params, X, Y)

    def _loss_and_grads(self, params, X, Y):
        B, T = X.shape
        logits, c = self._forward(params, X, keep=True)
        loss, dlog = softmax_cross_entropy(logits.reshape(-1, self.n_tokens), Y.ravel())
        g = {"b_out": dlog.sum(axis=0), "W_out": _flat(c["Zf"]).T @ dlog}
        dZ = (dlog @ params["W_out"].T).reshape(B, T, self.D)
        if self.norm == "pre":
            dZ, g["lnf_g"], g["lnf_b"] = _ln_backward(dZ, c["Z"], params["lnf_g"], 1e-5)
        for i in reversed(range(self.n_layers)):
            p = {k: params[f"l{i}.{k}"] for k in BLOCK_KEYS}
            dZ, gb = _block_backward(dZ, p, self.n_heads, self.activation, self.norm, c["blocks"][i])
            g.update({f"l{i}.{k}": v for k, v in gb.items()})
        g["emb"] = np.zeros_like(params["emb"])
        np.add.at(g["emb"], X.ravel(), dZ.reshape(-1, self.D))
        return loss, {k: g[k] for k in params}

    def next_distribution(self, params: Mapping[str, np.ndarray], context: ArrayLike,
                          temperature: float = 1.0) -> np.ndarray:
        r"""The distribution of the next token after ``context`` (1-D, at most T tokens):
        :math:`\mathrm{softmax}(\mathbf a/\mathcal T)` of the last position's logits."""
        check_positive(temperature, "temperature")
        params = self._check_params(params)
        ctx = self._check_tokens(np.asarray(context)[None, :] if np.ndim(context) == 1 else context,
                                 "context")
        with blas_threads(1):
            return softmax(self._forward(params, ctx)[0][:, -1] / temperature)[0]

    def generate(self, params: Mapping[str, np.ndarray], prompt: ArrayLike, n: int,
                 temperature: float = 1.0, seed: int = 0) -> np.ndarray:
        r"""Sample ``n`` tokens after ``prompt``, one at a time (seeded).

        Each new token is drawn from :math:`\mathrm{softmax}(\mathbf a/\mathcal T)` of the logits
        at the last position, then appended and fed back. The context is the prompt plus what has
        been generated; once it exceeds ``T`` tokens only the last ``T`` are fed in (a sliding
        window). A prompt itself longer than ``T`` raises ``ValueError``.

        Parameters
        ----------
        prompt : array_like of int, shape (T0,), 1 <= T0 <= T
        n : int
            Number of tokens to generate, 0 to ``MAX_GENERATE`` (100,000).
        temperature : float
            :math:`\mathcal T > 0`; below 1 sharpens, above 1 flattens the distribution.
        seed : int

        Returns
        -------
        ndarray of int, shape (T0 + n,)
            The prompt followed by the new tokens.
        """
        params = self._check_params(params)
        prompt = self._check_tokens(prompt, "prompt", allow_1d=True)
        if prompt.ndim != 1:
            raise ValueError(f"prompt must be one sequence of token ids, got shape {prompt.shape}")
        check_int(n, "n", minimum=0, maximum=MAX_GENERATE)
        check_positive(temperature, "temperature")
        rng = np.random.default_rng(seed)
        out = list(int(t) for t in prompt)
        with blas_threads(1):
            for _ in range(n):
                ctx = np.asarray(out[-self.T:])[None, :]
                a = self._forward(params, ctx)[0][0, -1]
                pr = softmax(a / temperature)
                k = int(np.searchsorted(np.cumsum(pr), rng.random() * pr.sum(), side="right"))
                out.append(min(k, self.n_tokens - 1))
        return np.asarray(out, dtype=np.int64)
