"""A one-layer self-attention model trained by :func:`nnbook.fit` (chapter 12)."""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..checks import check_bool, check_param_arrays, check_positive, check_seed
from .attention import multi_head_attention, multi_head_attention_backward, positional_encoding
from .layers import softmax_cross_entropy
from .tokens import check_tokens, token_accuracy

__all__ = ["SelfAttentionModel"]


class SelfAttentionModel:
    r"""A one-layer self-attention network that maps a token sequence to a token sequence.

    For integer tokens :math:`x_1,\dots,x_T` from a vocabulary of ``n_tokens``:

    1. embed: :math:`\mathbf z_t = E_{x_t} + \mathbf p_t` with a learned embedding table
       :math:`E` (``n_tokens`` x D) and the sinusoidal :func:`positional_encoding` :math:`\mathbf p_t`
       (fixed, or omitted with ``positions=False``);
    2. attend: :func:`multi_head_attention` with ``n_heads`` heads and output projection
       :math:`W^{(o)}` (D_h x ``n_tokens``), plus a bias :math:`\mathbf b`; the result is the
       logits of a softmax over the vocabulary at every position;
    3. the loss is the cross-entropy averaged over all positions of all sequences.

    Parameters are a ``dict`` (``"emb"``, ``"Wq"``, ``"Wk"``, ``"Wv"``, ``"Wo"``, ``"bo"``) for
    :func:`nnbook.train.fit.fit`; :meth:`loss_and_grads` has the signature ``fit`` expects, with
    sequences along axis 0 (``batch_axis=0``).

    Parameters
    ----------
    n_tokens : int
        Vocabulary size.
    T : int
        Sequence length the positional encodings are made for.
    d_model : int
        Embedding width D.
    d_head : int
        Query/key/value width of each head.
    n_heads : int
        Number of heads.
    positions : bool
        Add positional encodings (without them the model is permutation-equivariant).
    """

    def __init__(self, n_tokens: int, T: int, d_model: int = 32, d_head: int = 16,
                 n_heads: int = 1, positions: bool = True):
        for name, v in (("n_tokens", n_tokens), ("T", T), ("d_model", d_model),
                        ("d_head", d_head), ("n_heads", n_heads)):
            check_positive(v, name, integer=True)
        self.n_tokens, self.T, self.d_model = int(n_tokens), int(T), int(d_model)
        positions = check_bool(positions, "positions")
        self.d_head, self.n_heads, self.positions = int(d_head), int(n_heads), positions
        self.P = positional_encoding(self.T, self.d_model) if positions else np.zeros((T, d_model))

    def init(self, seed: int = 0) -> dict[str, np.ndarray]:
        """Random parameters: normal with standard deviation 1/sqrt(fan-in), zero bias."""
        rng = np.random.default_rng(check_seed(seed))
        D, k, V = self.d_model, self.d_head * self.n_heads, self.n_tokens
        return {"emb": rng.normal(0, 1, (V, D)),
                "Wq": rng.normal(0, D ** -0.5, (D, k)), "Wk": rng.normal(0, D ** -0.5, (D, k)),
                "Wv": rng.normal(0, D ** -0.5, (D, k)), "Wo": rng.normal(0, k ** -0.5, (k, V)),
                "bo": np.zeros(V)}

    def _check_params(self, params) -> dict[str, np.ndarray]:
        """The parameters as float64 arrays, after checking their names, shapes and values."""
        D, k, V = self.d_model, self.d_head * self.n_heads, self.n_tokens
        shapes = {"emb": (V, D), "Wq": (D, k), "Wk": (D, k), "Wv": (D, k), "Wo": (k, V),
                  "bo": (V,)}
        return check_param_arrays(params, shapes)

    def _tokens(self, X) -> np.ndarray:
        return check_tokens(X, self.T, self.n_tokens)

    def _embed(self, params, X):
        return params["emb"][X] + self.P

    def forward(self, params: dict, X: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Logits (B, T, n_tokens) and attention weights (B, n_heads, T, T) for tokens (B, T)."""
        params = self._check_params(params)
        X = self._tokens(X)
        Y, A = multi_head_attention(self._embed(params, X), params["Wq"], params["Wk"],
                                    params["Wv"], params["Wo"], self.n_heads)
        return Y + params["bo"], A

    def predict(self, params: dict, X: ArrayLike) -> np.ndarray:
        """The most probable token at every position, (B, T)."""
        return np.argmax(self.forward(params, X)[0], axis=-1)

    def accuracy(self, params: dict, X: ArrayLike, Y: ArrayLike) -> tuple[float, float]:
        """Fraction of tokens right, and fraction of whole sequences right."""
        return token_accuracy(self.predict(params, X), self._tokens(Y))

    def loss_and_grads(self, params: dict, X: ArrayLike, Y: ArrayLike,
                       rng=None) -> tuple[float, dict[str, np.ndarray]]:
        r"""Mean cross-entropy over all B*T positions, and its gradient for every parameter.

        Parameters
        ----------
        params : dict of str -> ndarray
        X : array_like of int, shape (B, T)
            Input tokens.
        Y : array_like of int, shape (B, T)
            Target tokens.
        rng : ignored (the model is deterministic; ``fit`` passes one).
        """
        params = self._check_params(params)
        X, Y = self._tokens(X), self._tokens(Y)
        Z = self._embed(params, X)
        out, A = multi_head_attention(Z, params["Wq"], params["Wk"], params["Wv"],
                                      params["Wo"], self.n_heads)
        logits = out + params["bo"]
        loss, dlogits = softmax_cross_entropy(logits.reshape(-1, logits.shape[-1]), Y.reshape(-1))
        dlogits = dlogits.reshape(logits.shape)
        dZ, dWq, dWk, dWv, dWo = multi_head_attention_backward(
            dlogits, Z, params["Wq"], params["Wk"], params["Wv"], params["Wo"], A, self.n_heads)
        demb = np.zeros_like(params["emb"])
        np.add.at(demb, X, dZ)
        return loss, {"emb": demb, "Wq": dWq, "Wk": dWk, "Wv": dWv, "Wo": dWo,
                      "bo": dlogits.sum(axis=(0, 1))}


# --------------------------------------------------------------------------- teaching helpers
