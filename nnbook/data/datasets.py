"""Small datasets: generated (seeded) or bundled with scikit-learn. Nothing is downloaded."""
from __future__ import annotations

import numpy as np

from ..checks import (ArgumentTypeError, check_bool, check_int, check_name, check_positive,
                      check_real, check_seed)

__all__ = ["moons", "digits", "noisy_sine", "split", "split3", "digits_images",
           "digits_image_splits", "sample_image"]


def moons(n: int = 200, noise: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half-moons (scikit-learn's ``make_moons``).

    Returns
    -------
    X : ndarray, shape (n, 2)
    t : ndarray, shape (n, 1), values 0/1
    """
    from sklearn.datasets import make_moons

    check_positive(n, "n", integer=True)
    noise = check_real(noise, "noise", minimum=0.0)
    X, t = make_moons(n_samples=n, noise=noise, random_state=check_seed(seed))
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
    classes = tuple(range(10)) if classes is None else _check_classes(classes)
    keep = np.isin(y, classes)
    X, y = X[keep], y[keep]
    T = (y[:, None] == np.array(classes)[None, :]).astype(float)
    return X, T, y


def _check_classes(classes) -> tuple[int, ...]:
    """A non-empty collection of distinct digits 0..9."""
    if isinstance(classes, (str, bytes)) or not hasattr(classes, "__iter__"):
        raise ArgumentTypeError(f"classes must be a sequence of digits 0..9, got {classes!r}")
    classes = tuple(check_int(c, "classes", minimum=0, maximum=9) for c in classes)
    if not classes:
        raise ValueError("classes is empty; give at least one digit 0..9")
    if len(set(classes)) != len(classes):
        raise ValueError(f"classes repeats a digit: {classes}")
    return classes


def noisy_sine(n: int = 30, noise: float = 0.15, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""Regression data :math:`t = \sin(2\pi x) + \epsilon`, :math:`x\in[0,1]`, :math:`\epsilon\sim\mathcal N(0,\text{noise}^2)`.

    Returns ``X`` of shape (n, 1) and ``t`` of shape (n, 1).
    """
    check_positive(n, "n", integer=True)
    noise = check_real(noise, "noise", minimum=0.0)
    rng = np.random.default_rng(check_seed(seed))
    x = np.sort(rng.uniform(0.0, 1.0, n))
    t = np.sin(2 * np.pi * x) + rng.normal(0.0, noise, n)
    return x[:, None], t[:, None]


def split(X: np.ndarray, T: np.ndarray, fraction: float = 0.5, seed: int = 0):
    """Shuffle and split into ``(X_a, T_a, X_b, T_b)``, ``fraction`` of the rows in the first part."""
    fraction = check_real(fraction, "fraction")
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    if len(X) != len(T):
        raise ValueError(f"X has {len(X)} rows but T has {len(T)}")
    k = int(round(fraction * len(X)))
    if min(k, len(X) - k) < 1:
        raise ValueError(f"fraction={fraction} of {len(X)} rows leaves a part empty; each part "
                         "needs a row")
    seed = check_seed(seed)
    a, b = _partition(len(X), (k, len(X) - k), seed)
    return X[a], T[a], X[b], T[b]


def _partition(n: int, sizes: tuple[int, ...], seed: int) -> list[np.ndarray]:
    """Row indices of consecutive parts of one seeded shuffle of ``range(n)`` (the one shuffle
    behind :func:`split` and :func:`split3`)."""
    idx = np.random.default_rng(seed).permutation(n)
    return np.split(idx, np.cumsum(sizes)[:-1])


def split3(X: np.ndarray, T: np.ndarray, val_fraction: float = 0.2, test_fraction: float = 0.2,
           seed: int = 0):
    """Shuffle and split into disjoint training, validation and test parts.

    Parameters
    ----------
    X : ndarray, shape (N, ...)
    T : ndarray, shape (N, ...)
    val_fraction, test_fraction : float
        Shares of the rows in the validation and the test part (each rounded to whole rows, both
        parts non-empty, their sum below 1); the training part gets the rest.
    seed : int
        Seeds the shuffle.

    Returns
    -------
    X_train, T_train, X_val, T_val, X_test, T_test : ndarray
        Rows of ``X`` and ``T``; every row lands in exactly one part.
    """
    for name, f in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < check_real(f, name) < 1:
            raise ValueError(f"{name} must be in (0, 1), got {f!r}")
    seed = check_seed(seed)
    if val_fraction + test_fraction >= 1:
        raise ValueError(f"val_fraction + test_fraction must be below 1, got "
                         f"{val_fraction} + {test_fraction}")
    if len(X) != len(T):
        raise ValueError(f"X has {len(X)} rows but T has {len(T)}")
    n = len(X)
    n_val, n_test = int(round(val_fraction * n)), int(round(test_fraction * n))
    if min(n_val, n_test, n - n_val - n_test) < 1:
        raise ValueError(f"{n} rows are too few for these fractions: every part needs a row")
    tr, va, te = _partition(n, (n - n_val - n_test, n_val, n_test), seed)
    return X[tr], T[tr], X[va], T[va], X[te], T[te]


def digits_images(test_fraction: float = 0.25, seed: int = 0):
    """The 8x8 digits as images for a CNN, split into seeded, disjoint training and test sets.

    For model selection use :func:`digits_image_splits`, which also holds out a validation set.

    Returns
    -------
    X_train : ndarray, shape (N_train, 1, 8, 8), pixel values in [0, 1]
    y_train : ndarray of int, shape (N_train,)
    X_test : ndarray, shape (N_test, 1, 8, 8)
    y_test : ndarray of int, shape (N_test,)
    """
    X, _, y = digits()
    Xtr, ytr, Xte, yte = split(X.reshape(-1, 1, 8, 8), y, 1.0 - test_fraction, seed)
    return Xtr, ytr.astype(np.int64), Xte, yte.astype(np.int64)


def digits_image_splits(val_fraction: float = 0.2, test_fraction: float = 0.2, seed: int = 0):
    """The 8x8 digits as images for a CNN, in seeded, disjoint training, validation and test sets.

    Choices (architecture, optimizer, epochs, ...) are judged on the validation set; the test set
    is kept for one final measurement of the chosen model. See :func:`split3`.

    Returns
    -------
    X_train : ndarray, shape (N_train, 1, 8, 8), pixel values in [0, 1]
    y_train : ndarray of int, shape (N_train,)
    X_val : ndarray, shape (N_val, 1, 8, 8)
    y_val : ndarray of int, shape (N_val,)
    X_test : ndarray, shape (N_test, 1, 8, 8)
    y_test : ndarray of int, shape (N_test,)
    """
    X, _, y = digits()
    return split3(X.reshape(-1, 1, 8, 8), y.astype(np.int64), val_fraction, test_fraction, seed)


def sample_image(name: str = "china", gray: bool = True, scale: int = 1) -> np.ndarray:
    """One of scikit-learn's bundled photographs (``"china"`` or ``"flower"``, 427x640, no download).

    Parameters
    ----------
    gray : bool
        Return the luminance (0.299 R + 0.587 G + 0.114 B) instead of the three colour channels.
    scale : int
        Shrink by averaging ``scale x scale`` blocks (the edges that do not fill a block are cut).

    Returns
    -------
    ndarray, shape (H, W) if gray else (H, W, 3), values in [0, 1]
    """
    from sklearn.datasets import load_sample_image

    name = check_name(name, ("china", "flower"), "sample image name")
    gray = check_bool(gray, "gray")
    check_positive(scale, "scale", integer=True)
    if scale > 427:  # the photographs are 427 x 640
        raise ValueError(f"scale={scale} is larger than the image (427 x 640): nothing is left")
    img = load_sample_image(f"{name}.jpg").astype(float) / 255.0
    if gray:
        img = img @ np.array([0.299, 0.587, 0.114])
    h, w = (img.shape[0] // scale) * scale, (img.shape[1] // scale) * scale
    img = img[:h, :w]
    return img.reshape(h // scale, scale, w // scale, scale, *img.shape[2:]).mean(axis=(1, 3))
