"""Small datasets: generated (seeded) or bundled with scikit-learn. Nothing is downloaded."""
from __future__ import annotations

import numpy as np

from ._checks import check_positive

__all__ = ["moons", "digits", "noisy_sine", "split"]


def moons(n: int = 200, noise: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half-moons (scikit-learn's ``make_moons``).

    Returns
    -------
    X : ndarray, shape (n, 2)
    t : ndarray, shape (n, 1), values 0/1
    """
    from sklearn.datasets import make_moons

    check_positive(n, "n", integer=True)
    X, t = make_moons(n_samples=n, noise=noise, random_state=seed)
    return X.astype(float), t.astype(float)[:, None]


def digits(classes: tuple[int, ...] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 handwritten digits (1797 images, no download).

    Returns
    -------
    X : ndarray, shape (N, 64), pixel values scaled to [0, 1]
    T : ndarray, shape (N, C), one-hot targets over the selected classes
    labels : ndarray, shape (N,), the digit of each image
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    X, y = d.data / 16.0, d.target
    classes = tuple(range(10)) if classes is None else tuple(classes)
    keep = np.isin(y, classes)
    X, y = X[keep], y[keep]
    T = (y[:, None] == np.array(classes)[None, :]).astype(float)
    return X, T, y


def noisy_sine(n: int = 30, noise: float = 0.15, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""Regression data :math:`t = \sin(2\pi x) + \epsilon`, :math:`x\in[0,1]`, :math:`\epsilon\sim\mathcal N(0,\text{noise}^2)`.

    Returns ``X`` of shape (n, 1) and ``t`` of shape (n, 1).
    """
    check_positive(n, "n", integer=True)
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0.0, 1.0, n))
    t = np.sin(2 * np.pi * x) + rng.normal(0.0, noise, n)
    return x[:, None], t[:, None]


def split(X: np.ndarray, T: np.ndarray, fraction: float = 0.5, seed: int = 0):
    """Shuffle and split into ``(X_a, T_a, X_b, T_b)``, ``fraction`` of the rows in the first part."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    if len(X) != len(T):
        raise ValueError(f"X has {len(X)} rows but T has {len(T)}")
    idx = np.random.default_rng(seed).permutation(len(X))
    k = int(round(fraction * len(X)))
    return X[idx[:k]], T[idx[:k]], X[idx[k:]], T[idx[k:]]
