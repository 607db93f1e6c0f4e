"""The recurrent baseline of chapter 12: an LSTM that reads a sequence, then writes its answer."""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..checks import check_positive
from .sequence_model import init_model, predict, sequence_loss
from .tokens import check_tokens, token_accuracy

__all__ = ["ReadThenWriteLSTM"]


class ReadThenWriteLSTM:
    r"""The LSTM of Part III set up for a sequence-to-sequence task of equal length.

    A recurrent network produces output :math:`t` after reading inputs :math:`1..t` only, so it
    cannot emit the first digit of a reversed sequence before it has read the last. This baseline
    therefore runs for :math:`2T` steps: it **reads** the :math:`T` input tokens (one-hot), then
    receives :math:`T` copies of an extra *blank* token and **writes** the answer during those
    steps. Everything it needs must be carried across in its state vectors
    :math:`\mathbf h, \mathbf c` (an encoder that must hold the whole sequence). During the reading
    steps its target is the blank symbol, so the softmax output has ``n_tokens + 1`` classes.

    This class only arranges inputs and targets. The parameters are
    :func:`nnbook.nn.sequence_model.init_model`, the loss and gradients :func:`nnbook.nn.sequence_model.sequence_loss`
    (cross-entropy summed over the :math:`2T` steps, averaged over sequences, through
    :func:`nnbook.kernels.gated.lstm_bptt`) and the outputs :func:`nnbook.nn.sequence_model.predict`
    (:func:`nnbook.kernels.gated.lstm_forward`). :meth:`loss_and_grads` takes token arrays ``(B, T)``, like
    :meth:`SelfAttentionModel.loss_and_grads`, so both models train on the same data with
    :func:`nnbook.train.fit.fit` (``batch_axis=0``).

    Parameters
    ----------
    n_tokens : int
        Vocabulary size (the blank is token ``n_tokens``).
    T : int
        Length of the sequences to reverse.
    n_hidden : int
        Size of :math:`\mathbf h` and :math:`\mathbf c`.
    """

    def __init__(self, n_tokens: int, T: int, n_hidden: int = 64):

        for name, v in (("n_tokens", n_tokens), ("T", T), ("n_hidden", n_hidden)):
            check_positive(v, name, integer=True)
        self.n_tokens, self.T, self.n_hidden = int(n_tokens), int(T), int(n_hidden)
        self._loss = sequence_loss("lstm", loss_at="all", output="softmax", loss="ce")

    def init(self, seed: int = 0, forget_bias: float = 1.0) -> dict[str, np.ndarray]:
        """LSTM parameters, ``n_tokens + 1`` inputs and outputs (:func:`nnbook.nn.sequence_model.init_model`)."""

        V = self.n_tokens + 1
        return init_model("lstm", V, self.n_hidden, V, seed=seed, forget_bias=forget_bias)

    def _tokens(self, X) -> np.ndarray:
        return check_tokens(X, self.T, self.n_tokens)

    def inputs(self, X: ArrayLike) -> np.ndarray:
        """One-hot inputs (2T, B, n_tokens + 1): the tokens, then T blanks."""
        X = self._tokens(X)
        B, T, V = X.shape[0], self.T, self.n_tokens
        I = np.zeros((2 * T, B, V + 1))
        I[np.arange(T)[:, None], np.arange(B)[None, :], X.T] = 1.0
        I[T:, :, V] = 1.0
        return I

    def targets(self, Y: ArrayLike) -> np.ndarray:
        """Class indices (2T, B): the blank while reading, then the target tokens."""
        Y = self._tokens(Y)
        return np.concatenate([np.full((self.T, Y.shape[0]), self.n_tokens), Y.T])

    def loss_and_grads(self, params: dict, X: ArrayLike, Y: ArrayLike,
                       rng=None) -> tuple[float, dict[str, np.ndarray]]:
        """Cross-entropy over the 2T steps, averaged over the B sequences, and its gradients."""
        return self._loss(params, self.inputs(X), self.targets(Y))

    def forward(self, params: dict, X: ArrayLike) -> np.ndarray:
        """Output probabilities of the writing steps, (B, T, n_tokens + 1)."""

        y = predict("lstm", params, self.inputs(X), output="softmax", last=False)
        return np.swapaxes(y[self.T:], 0, 1)

    def predict(self, params: dict, X: ArrayLike) -> np.ndarray:
        """The most probable token at every output position, (B, T)."""
        return np.argmax(self.forward(params, X), axis=-1)

    def accuracy(self, params: dict, X: ArrayLike, Y: ArrayLike) -> tuple[float, float]:
        """Fraction of tokens right, and fraction of whole sequences right."""
        return token_accuracy(self.predict(params, X), self._tokens(Y))
