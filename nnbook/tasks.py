"""Synthetic sequence tasks whose correct answer (and often the correct alignment) is known.

Generated from a seed, nothing downloaded. Used by the chapters on gated recurrent networks and on
attention.

* :func:`adding_problem` -- the adding problem of Hochreiter & Schmidhuber (1997), in the form
  most papers now use: sum the two marked numbers of a long sequence (a sequence-to-one task whose
  answer depends on inputs far back in time);
* :func:`reverse_digits` -- reverse a digit sequence (known anti-diagonal alignment);
* training helpers for the recurrent cells of :mod:`nnbook.rnn` and :mod:`nnbook.gated` on such
  tasks: :func:`init_model`, :func:`sequence_loss` (a ``loss_and_grads`` for
  :func:`nnbook.training.fit`), :func:`predict`, :func:`state_grad_norms` and
  :func:`train_sequence_model`, which drives :func:`~nnbook.training.fit` with
  :class:`~nnbook.optimizers.Adam` and records the test error and the gradient that reaches every
  earlier time step after each epoch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from ._checks import as_float_array, check_name, check_positive

#: mean squared error of always answering 1, the best constant, on the adding problem:
#: the variance of a sum of two independent U(0, 1) numbers, 2/12
ADDING_BASELINE_MSE = 1.0 / 6.0


def adding_problem(n: int, T: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""The adding problem: add the two marked numbers of a sequence of length ``T``.

    Every step carries two inputs: a number :math:`v^{(t)} \sim U(0, 1)` and a marker
    :math:`m^{(t)} \in \{0, 1\}`. Exactly two steps are marked, one uniformly among the first
    ``T // 2`` steps and one among the rest, and the target after the last step is the sum of the
    two marked numbers. The first marked number must therefore be kept for at least
    ``T - T // 2`` steps, through inputs that do not matter.

    This is the form of Le, Jaitly & Hinton (2015) and Arjovsky, Shah & Bengio (2016). The
    original task of Hochreiter & Schmidhuber (1997) draws numbers from [-1, 1], marks one of the
    first ten steps and one of the first ``T/2 - 1``, varies the length slightly and asks for
    :math:`0.5 + (X_1 + X_2)/4`.

    Parameters
    ----------
    n : int
        Number of sequences.
    T : int
        Length of every sequence, at least 2.
    seed : int
        Seed of ``np.random.default_rng``.

    Returns
    -------
    X : ndarray, shape (T, n, 2)
        Time first, as the recurrent kernels expect: ``X[t, b] = (v, m)``.
    y : ndarray, shape (n, 1)
        The sums, in [0, 2).
    """
    check_positive(n, "n", integer=True)
    check_positive(T, "T", integer=True)
    if T < 2:
        raise ValueError(f"the adding problem needs T >= 2 steps to mark two of them, got T = {T}")
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, size=(T, n))
    first = rng.integers(0, T // 2, size=n)
    second = rng.integers(T // 2, T, size=n)
    marks = np.zeros((T, n))
    cols = np.arange(n)
    marks[first, cols] = 1.0
    marks[second, cols] = 1.0
    X = np.stack([values, marks], axis=-1)
    y = (values[first, cols] + values[second, cols])[:, None]
    return X, y


def reverse_digits(n: int, T: int, n_digits: int = 10,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random digit sequences and their reversals: the target at position t is input T-1-t.

    The true alignment is the anti-diagonal: output t must look at input ``T - 1 - t`` only.

    Parameters
    ----------
    n : int
        Number of sequences.
    T : int
        Length of each sequence.
    n_digits : int
        Size of the alphabet (tokens 0..n_digits-1).
    seed : int
        Seed of the generator.

    Returns
    -------
    X : ndarray of int, shape (n, T)
        The input sequences, uniformly random tokens.
    Y : ndarray of int, shape (n, T)
        ``X[:, ::-1]``.
    """
    for name, v in (("n", n), ("T", T), ("n_digits", n_digits)):
        check_positive(v, name, integer=True)
    X = np.random.default_rng(seed).integers(0, n_digits, size=(n, T))
    return X, X[:, ::-1].copy()


# ----------------------------------------------------------------------------------------------
# training a recurrent cell on a sequence task
# ----------------------------------------------------------------------------------------------
#: the recurrent cells these helpers train: a vanilla (tanh) RNN, an LSTM and a GRU
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
        :mod:`nnbook.gated`).
    """
    cell = check_name(cell, CELLS, "cell")
    if cell == "rnn":
        from .rnn import rnn_bptt, rnn_forward, rnn_params
        return rnn_params, rnn_forward, rnn_bptt
    from . import gated
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
    """A ``loss_and_grads(params, X, Y, rng=None)`` for :func:`nnbook.training.fit`.

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
    if loss_at not in ("last", "all"):
        raise ValueError(f"unknown loss_at {loss_at!r}; expected 'last' or 'all'")

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
    _, forward, _ = cell_functions(cell)
    y = forward(params, X, output=output)["y"]
    return y[-1] if last else y


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
        :func:`~nnbook.training.fit`'s record (training loss per epoch, ...).
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

    :func:`nnbook.training.fit` with :class:`~nnbook.optimizers.Adam`, mini-batches of sequences,
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
        As in :func:`~nnbook.training.fit` (``seed`` also seeds the initial weights).
    n_probe : int
        Test sequences used for the gradient norms.
    forget_bias : float
        LSTM only, see :func:`init_model`.

    Returns
    -------
    SequenceRun
    """
    from .optimizers import Adam
    from .training import fit

    (X, y), (Xt, yt) = [(as_float_array(a, "X", ndim=(3,)), as_float_array(b, "y", ndim=(2,)))
                        for a, b in (train, test)]
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
