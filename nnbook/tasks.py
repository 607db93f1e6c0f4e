"""Synthetic sequence tasks whose correct answer (and often the correct alignment) is known.

Generated from a seed, nothing downloaded. Used by the chapters on gated recurrent networks and on
attention.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_positive


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
