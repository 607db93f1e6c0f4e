"""Synthetic sequence tasks whose correct answer (and often the correct alignment) is known.

Generated from a seed, nothing downloaded. Used by the chapters on gated recurrent networks and on
attention.

* :func:`adding_problem` -- the adding problem of Hochreiter & Schmidhuber (1997), in the form
  most papers now use: sum the two marked numbers of a long sequence (a sequence-to-one task whose
  answer depends on inputs far back in time);
* :func:`reverse_digits` -- reverse a digit sequence (known anti-diagonal alignment).

A recurrent cell becomes a model for these tasks in :mod:`nnbook.nn.sequence_model`; chapter 11
trains it and records its gradients with :mod:`nnbook.teach.sequence_runs`.
"""
from __future__ import annotations

import numpy as np

from ..checks import check_positive

__all__ = ["ADDING_BASELINE_MSE", "adding_problem", "reverse_digits"]

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
