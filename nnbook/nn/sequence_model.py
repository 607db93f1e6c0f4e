"""A recurrent cell (RNN, LSTM, GRU) as a sequence model: parameters, loss and gradients, outputs.

One interface over the three kernels of :mod:`nnbook.kernels.rnn` and :mod:`nnbook.kernels.gated`, so
that :func:`nnbook.fit` can train any of them on a sequence task (chapters 11-12).
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from ..checks import as_float_array, check_bool, check_name

__all__ = ["CELLS", "cell_functions", "init_model", "sequence_loss", "predict"]


CELLS = ("rnn", "lstm", "gru")


def cell_functions(cell: str) -> tuple[Callable, Callable, Callable]:
    """The parameter constructor, forward pass and BPTT of a cell: ``(make, forward, bptt)``.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"}

    Returns
    -------
    tuple of callables
        ``rnn_params, rnn_forward, rnn_bptt`` (or the ``lstm_``/``gru_`` ones of
        :mod:`nnbook.kernels.gated`).
    """
    cell = check_name(cell, CELLS, "cell")
    if cell == "rnn":
        from ..kernels.rnn import rnn_bptt, rnn_forward, rnn_params
        return rnn_params, rnn_forward, rnn_bptt
    from ..kernels import gated
    return (getattr(gated, f"{cell}_params"), getattr(gated, f"{cell}_forward"),
            getattr(gated, f"{cell}_bptt"))


def init_model(cell: str, Dx: int, Dh: int, Dy: int, seed: int = 0,
               forget_bias: float = 1.0) -> dict[str, np.ndarray]:
    """Seeded parameters of a recurrent cell with a linear read-out.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"}
    Dx, Dh, Dy : int
        Input, hidden and output sizes.
    seed : int
        Seed of the initial weights.
    forget_bias : float
        LSTM only: the bias of the forget gate, so that the gate starts at
        :math:`\\sigma(\\text{forget\\_bias})` and the cell starts out remembering (1 is the usual
        choice, Gers et al. 2000; Jozefowicz et al. 2015). Ignored by the other cells.

    Returns
    -------
    dict of str -> ndarray
        Keyed and shaped as the cell's kernels expect.
    """
    make, _, _ = cell_functions(cell)
    if cell.lower() == "lstm":
        forget_bias = float(as_float_array(forget_bias, "forget_bias", ndim=(0,)))
        return make(Dx, Dh, Dy, seed=seed, forget_bias=forget_bias)
    return make(Dx, Dh, Dy, seed=seed)


def _targets(Y: np.ndarray, loss_at: str) -> np.ndarray:
    """Sequence-to-one targets travel time-first as ``(1, B, Dy)`` (so that :func:`fit` can
    slice every data array along axis 1); the kernels want ``(B, Dy)``."""
    return Y[0] if loss_at == "last" else Y


def sequence_loss(cell: str, *, loss_at: str = "last", output: str = "identity",
                  loss: str = "sse") -> Callable:
    """A ``loss_and_grads(params, X, Y, rng=None)`` for :func:`nnbook.train.fit.fit`.

    The loss is the cell's BPTT error divided by the number of sequences ``B`` in the batch (a
    mean over sequences, so the learning rate does not depend on the batch size); so are the
    gradients.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"}
    loss_at : {"last", "all"}
        ``"last"`` (sequence-to-one): ``Y`` has shape ``(1, B, Dy)``, time first like ``X``
        ``(T, B, Dx)``, so that ``fit(..., batch_axis=1)`` slices both; ``"all"``: ``Y`` is
        ``(T, B, Dy)`` (or ``(T, B)`` class indices with ``loss="ce"``).
    output, loss : str
        A canonical pair of the kernels (``"identity"``/``"sse"``, ``"softmax"``/``"ce"``).

    Returns
    -------
    callable
    """
    _, _, bptt = cell_functions(cell)
    loss_at = check_name(loss_at, ("last", "all"), "loss_at")

    def loss_and_grads(params: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray,
                       rng=None) -> tuple[float, dict[str, np.ndarray]]:
        B = X.shape[1] if np.ndim(X) == 3 else 1
        E, grads = bptt(params, X, _targets(Y, loss_at), output=output, loss=loss,
                        loss_at=loss_at)
        return E / B, {k: g / B for k, g in grads.items()}

    return loss_and_grads


def predict(cell: str, params: Mapping[str, np.ndarray], X: np.ndarray,
            output: str = "identity", last: bool = True) -> np.ndarray:
    """The model's outputs: after the last step ``(B, Dy)`` or at every step ``(T, B, Dy)``.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"}
    params : dict
        The cell's parameters.
    X : ndarray, shape (T, B, Dx)
    output : str
        The output activation.
    last : bool
        Only the outputs after the last step.
    """
    last = check_bool(last, "last")
    _, forward, _ = cell_functions(cell)
    y = forward(params, X, output=output)["y"]
    return y[-1] if last else y
