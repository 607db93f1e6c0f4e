"""Training a recurrent cell on a sequence task and watching its gradients (chapter 11)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..checks import ArgumentTypeError, as_float_array, check_positive
from ..nn.sequence_model import _targets, cell_functions, init_model, predict, sequence_loss

__all__ = ["state_grad_norms", "SequenceRun", "train_sequence_model"]


def state_grad_norms(cell: str, params: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray,
                     loss_at: str = "last", output: str = "identity",
                     loss: str = "sse") -> np.ndarray:
    r"""How much gradient reaches each time step: the mean over sequences of
    :math:`\lVert\partial E_b/\partial\mathbf h^{(t)}\rVert` for :math:`t = 1, \dots, T`.

    With the loss on the last step only, entry ``t - 1`` measures how strongly the error can
    still teach the state :math:`T - t` steps before the answer.

    Parameters
    ----------
    cell, loss_at, output, loss
        As in :func:`sequence_loss` (``Y`` in the same layout).
    params : dict
    X : ndarray, shape (T, B, Dx)
    Y : ndarray
        Targets, ``(1, B, Dy)`` for ``loss_at="last"``.

    Returns
    -------
    ndarray, shape (T,)
    """
    _, _, bptt = cell_functions(cell)
    _, _, states = bptt(params, X, _targets(Y, loss_at), output=output, loss=loss,
                        loss_at=loss_at, return_state_grads=True)
    dh = states["dh"]
    if dh.ndim == 2:
        dh = dh[:, None, :]
    return np.linalg.norm(dh, axis=-1).mean(axis=1)


@dataclass
class SequenceRun:
    """A recurrent cell trained by :func:`train_sequence_model`.

    Attributes
    ----------
    cell : str
    params : dict of str -> ndarray
        The trained parameters.
    log : TrainLog
        :func:`~nnbook.train.fit.fit`'s record (training loss per epoch, ...).
    test_mse : ndarray, shape (epochs + 1,)
        Mean squared error on the test set before training and after every epoch.
    grad_norms : ndarray, shape (epochs + 1, T)
        :func:`state_grad_norms` on the probe sequences, at the same moments.
    """
    cell: str
    params: dict
    log: object
    test_mse: np.ndarray
    grad_norms: np.ndarray = field(repr=False)


def train_sequence_model(cell: str, train: tuple[np.ndarray, np.ndarray],
                         test: tuple[np.ndarray, np.ndarray], Dh: int = 16, epochs: int = 20,
                         batch_size: int = 32, lr: float = 0.01, clip: float | None = 1.0,
                         seed: int = 0, n_probe: int = 64,
                         forget_bias: float = 1.0) -> SequenceRun:
    """Train a cell with a linear read-out on a sequence-to-one regression task.

    :func:`nnbook.train.fit.fit` with :class:`~nnbook.train.optimizers.Adam`, mini-batches of sequences,
    gradient clipping at ``clip``, the sum-of-squares error on the last step, and after every
    epoch the test error and the per-step gradient norms of :func:`state_grad_norms` on the first
    ``n_probe`` test sequences.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"}
    train, test : (X, y)
        ``X`` (T, N, Dx) and ``y`` (N, Dy), e.g. from :func:`adding_problem`.
    Dh : int
        Hidden size.
    epochs, batch_size, lr, clip, seed
        As in :func:`~nnbook.train.fit.fit` (``seed`` also seeds the initial weights).
    n_probe : int
        Test sequences used for the gradient norms.
    forget_bias : float
        LSTM only, see :func:`init_model`.

    Returns
    -------
    SequenceRun
    """
    from ..train.optimizers import Adam
    from ..train.fit import fit

    for name, pair in (("train", train), ("test", test)):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ArgumentTypeError(f"{name} must be a pair (X, y), got {type(pair).__name__}"
                                    + (f" of length {len(pair)}" if hasattr(pair, "__len__") else ""))
    (X, y), (Xt, yt) = [(as_float_array(a, f"{name}[0] (X)", ndim=(3,)),
                         as_float_array(b, f"{name}[1] (y)", ndim=(2,)))
                        for name, (a, b) in (("train", train), ("test", test))]
    for name, (a, b) in (("train", (X, y)), ("test", (Xt, yt))):
        if a.shape[1] != b.shape[0]:
            raise ValueError(f"{name}: X holds {a.shape[1]} sequences (axis 1) but y holds "
                             f"{b.shape[0]} targets")
    if Xt.shape[2] != X.shape[2] or yt.shape[1] != y.shape[1]:
        raise ValueError(f"train and test disagree in their sizes: X {X.shape} vs {Xt.shape}, "
                         f"y {y.shape} vs {yt.shape}")
    check_positive(n_probe, "n_probe", integer=True)
    params = init_model(cell, X.shape[2], Dh, y.shape[1], seed=seed, forget_bias=forget_bias)
    probe = (Xt[:, :n_probe], yt[None, :n_probe])

    def evaluate(p):
        return {"mse": float(np.mean((predict(cell, p, Xt) - yt) ** 2))}

    def snapshot(p, epoch):
        return state_grad_norms(cell, p, *probe)

    log = fit(sequence_loss(cell), params, Adam(lr=lr), (X, y[None]), epochs, batch_size,
              batch_axis=1, seed=seed, clip=clip, evaluate=evaluate, snapshot=snapshot,
              progress=False)
    return SequenceRun(cell.lower(), params, log, log.metrics["mse"], np.array(log.snapshots))
