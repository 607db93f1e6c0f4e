r"""Teaching helpers for Part II (convolutional networks): filtering images with
:func:`nnbook.kernels.conv.conv2d`, receptive fields, parameter counts, the digits CNN, and its evaluation.

The convolution itself is :func:`nnbook.kernels.conv.conv2d` (cross-correlation, as in every framework);
the layers and the model are :mod:`nnbook.nn.layers`; training is :func:`nnbook.train.fit.fit`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..checks import (ArgumentTypeError, as_float_array, check_bool, check_int, check_name,
                      check_positive, int_pair)
from ..nn.activations import softmax
from ..nn.layers import (BatchNorm2d, Conv2D, Dense, Dropout, Flatten, Pool2D, ReLU, Sequential,
                     check_labels, softmax_cross_entropy)

__all__ = ["KERNELS", "kernel", "filter_image", "receptive_field", "dense_params", "conv_params",
           "equivariance_gap", "kernel_gradient_terms", "digits_cnn", "accuracy",
           "confusion_matrix", "CNNRun", "Evaluation", "train_digits_cnn", "evaluate_digits_cnn",
           "tile", "neighbour_correlation"]

#: 3x3 kernels for the chapter's filter explorer (applied as cross-correlation).
KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], float),
    "box blur": np.full((3, 3), 1 / 9),
    "Gaussian blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], float) / 16,
    "vertical edges (Sobel x)": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float),
    "horizontal edges (Sobel y)": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], float),
    "Laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], float),
}


def kernel(name: str) -> np.ndarray:
    """A copy of the preset 3x3 kernel ``name`` (one of :data:`KERNELS`)."""
    known = {k.lower(): k for k in KERNELS}
    return KERNELS[known[check_name(name, known, "kernel")]].copy()


def filter_image(image, kern, stride=1, padding=0, true_convolution: bool = False) -> np.ndarray:
    r"""Filter one grey image with one kernel using :func:`nnbook.kernels.conv.conv2d`.

    Parameters
    ----------
    image : array_like, shape (H, W)
    kern : array_like, shape (KH, KW)
    stride, padding : int or (int, int)
    true_convolution : bool
        If True, flip the kernel in both axes first: :math:`(I * K)(i, j) = \sum_{m,n}
        I(i-m, j-n) K(m, n)` is cross-correlation with the flipped kernel.

    Returns
    -------
    ndarray, shape (Ho, Wo)
    """
    true_convolution = check_bool(true_convolution, "true_convolution")
    from ..kernels.conv import conv2d

    image = as_float_array(image, "image", ndim=(2,))
    kern = as_float_array(kern, "kernel", ndim=(2,))
    if true_convolution:
        kern = kern[::-1, ::-1]
    return conv2d(image[None, None], np.ascontiguousarray(kern)[None, None],
                  stride=stride, padding=padding)[0, 0]


def receptive_field(layers: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    r"""Receptive-field size and jump (input pixels between neighbouring units) after each layer.

    For a stack of windows :math:`k_l` with strides :math:`s_l` (convolutions or pooling),
    :math:`r_l = r_{l-1} + (k_l - 1)\,j_{l-1}` and :math:`j_l = j_{l-1} s_l`, starting from
    :math:`r_0 = j_0 = 1`.

    Parameters
    ----------
    layers : sequence of (k, stride)

    Returns
    -------
    r : ndarray of int, shape (L,)
        Receptive-field side length after each layer.
    jump : ndarray of int, shape (L,)
    """
    if not isinstance(layers, (list, tuple)) or not layers:
        raise ValueError("layers must be a non-empty list of (k, stride) pairs")
    r, j, rs, js = 1, 1, [], []
    for i, spec in enumerate(layers):
        if not isinstance(spec, (list, tuple)) or len(spec) != 2:
            raise ValueError(f"layer {i} must be a (k, stride) pair, got {spec!r}")
        k, s = (check_positive(v, f"layer {i} {n}", integer=True) for v, n in zip(spec, ("k", "stride")))
        r += (k - 1) * j
        j *= s
        rs.append(r)
        js.append(j)
    return np.array(rs), np.array(js)


def dense_params(n_in: int, n_out: int, bias: bool = True) -> int:
    """Number of parameters of a fully connected layer from ``n_in`` inputs to ``n_out`` units."""
    bias = check_bool(bias, "bias")
    check_positive(n_in, "n_in", integer=True)
    check_positive(n_out, "n_out", integer=True)
    return n_in * n_out + (n_out if bias else 0)


def conv_params(c_in: int, c_out: int, k, bias: bool = True) -> int:
    """Number of parameters of a convolution layer: ``c_out`` filters of ``c_in x kh x kw`` (+ biases)."""
    bias = check_bool(bias, "bias")
    check_positive(c_in, "c_in", integer=True)
    check_positive(c_out, "c_out", integer=True)
    kh, kw = int_pair(k, "k", minimum=1)
    return c_out * c_in * kh * kw + (c_out if bias else 0)


def equivariance_gap(image, kern, shift: tuple[int, int]) -> tuple[float, float]:
    r"""How far filtering commutes with a translation.

    Compares filter(shift(I)) with shift(filter(I)) for a circular shift by ``shift = (dy, dx)``
    pixels, on the output pixels that the wrap-around does not touch: with the valid filter's
    output of ``Ho`` rows, output row ``i`` of both is the same sum of the same pixels exactly
    when ``0 <= i - dy < Ho``, so rows ``max(dy, 0)`` to ``Ho + min(dy, 0) - 1`` (and the same
    for the columns) are compared.

    Returns
    -------
    gap : float
        Largest absolute difference over those pixels (0 up to round-off: equivariance).
    scale : float
        Largest absolute value of the filtered image, for comparison.

    Raises
    ------
    ValueError
        If the kernel is larger than the image, or the shift is so large (``|dy| >= Ho`` or
        ``|dx| >= Wo``) that every output pixel wraps around.
    """
    image = as_float_array(image, "image", ndim=(2,))
    kern = as_float_array(kern, "kernel", ndim=(2,))
    if not isinstance(shift, (tuple, list)) or len(shift) != 2:
        raise ArgumentTypeError(f"shift must be a pair (dy, dx) of ints, got {shift!r}")
    dy, dx = (check_int(v, "shift") for v in shift)
    b = filter_image(image, kern)       # raises if the kernel is larger than the image
    h, w = b.shape
    if abs(dy) >= h or abs(dx) >= w:
        raise ValueError(f"shift {tuple(shift)} is too large for the {h}x{w} output of a "
                         f"{kern.shape[0]}x{kern.shape[1]} kernel on an image of shape "
                         f"{image.shape}: every output pixel wraps around (need |dy| < {h} "
                         f"and |dx| < {w})")
    a = filter_image(np.roll(image, (dy, dx), axis=(0, 1)), kern)
    b = np.roll(b, (dy, dx), axis=(0, 1))
    rows = slice(max(dy, 0), h + min(dy, 0))
    cols = slice(max(dx, 0), w + min(dx, 0))
    return float(np.max(np.abs(a[rows, cols] - b[rows, cols]))), float(np.max(np.abs(b)))


def kernel_gradient_terms(dy, x, kshape: tuple[int, int], stride: int = 1) -> np.ndarray:
    r"""The kernel gradient of one filter on one image, term by term (weight sharing made visible).

    Each output position :math:`(p, q)` contributes
    :math:`\delta_{pq}\, x[p s : p s + K_H,\; q s : q s + K_W]` to
    :math:`\partial E/\partial K`; the gradient is the *sum* of these terms over all positions
    because the same kernel is used at every position.

    Parameters
    ----------
    dy : array_like, shape (Ho, Wo)
        :math:`\partial E/\partial a_{pq}` for the filter's output map.
    x : array_like, shape (H, W)
        The input image (already padded, if the layer pads).
    kshape : (int, int)
    stride : int

    Returns
    -------
    ndarray, shape (Ho, Wo, KH, KW)
        ``terms[p, q]``; ``terms.sum(axis=(0, 1))`` is the kernel gradient.
    """
    from ..kernels.conv import output_size

    dy = as_float_array(dy, "dy", ndim=(2,))
    x = as_float_array(x, "x", ndim=(2,))
    kh, kw = int_pair(kshape, "kshape", minimum=1)
    check_positive(stride, "stride", integer=True)
    ho, wo = output_size(x.shape[0], kh, stride), output_size(x.shape[1], kw, stride)
    if dy.shape != (ho, wo):
        raise ValueError(f"dy must have shape {(ho, wo)} for this input, kernel and stride, got {dy.shape}")
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw))[::stride, ::stride]
    return dy[:, :, None, None] * windows


def digits_cnn(channels: tuple[int, int] = (8, 16), dropout: float = 0.0, batchnorm: bool = False,
               pool: str = "max", hidden: int = 0) -> Sequential:
    """The chapter's CNN for 8x8 digit images ``(N, 1, 8, 8)`` -> 10 logits.

    ``conv 3x3 (pad 1) -> [bn] -> relu -> pool 2x2 -> conv 3x3 (pad 1) -> [bn] -> relu -> pool 2x2
    -> flatten -> [dense hidden -> relu] -> [dropout] -> dense 10``.

    Parameters
    ----------
    channels : (int, int)
        Filters in the two convolution layers.
    dropout : float
        Dropout probability before the output layer (0: no dropout layer).
    batchnorm : bool
        Batch normalization after each convolution.
    pool : str
        ``"max"``, ``"avg"`` or ``"min"`` pooling.
    hidden : int
        Units of an extra dense hidden layer (0: none).
    """
    if not isinstance(channels, (tuple, list)) or len(channels) != 2:
        raise ArgumentTypeError(f"channels must be a pair (filters of conv1, of conv2), got "
                                f"{channels!r}")
    c1, c2 = (check_positive(c, "channels", integer=True) for c in channels)
    batchnorm = check_bool(batchnorm, "batchnorm")
    layers: list = [Conv2D(1, c1, 3, padding=1)]
    layers += [BatchNorm2d(c1)] if batchnorm else []
    layers += [ReLU(), Pool2D(2, mode=pool), Conv2D(c1, c2, 3, padding=1)]
    layers += [BatchNorm2d(c2)] if batchnorm else []
    layers += [ReLU(), Pool2D(2, mode=pool), Flatten()]
    width = c2 * 2 * 2
    if hidden:
        layers += [Dense(width, check_positive(hidden, "hidden", integer=True)), ReLU()]
        width = hidden
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Dense(width, 10))
    return Sequential(layers, input_shape=(1, 8, 8))


def tile(maps, ncols: int, pad: int = 1, normalize: bool = True) -> np.ndarray:
    """Arrange ``n`` small images in a mosaic with ``ncols`` columns (for filters and feature maps).

    Parameters
    ----------
    maps : array_like, shape (n, h, w)
    ncols : int
    pad : int
        Pixels of NaN (drawn as background) between tiles.
    normalize : bool
        Scale each tile by its largest absolute value (so every tile uses the full colour range,
        with 0 kept at 0).

    Returns
    -------
    ndarray, shape (rows * (h + pad) - pad, ncols * (w + pad) - pad)
    """
    normalize = check_bool(normalize, "normalize")
    maps = as_float_array(maps, "maps", ndim=(3,))
    check_positive(ncols, "ncols", integer=True)
    check_positive(pad, "pad", integer=True, allow_zero=True)
    n, h, w = maps.shape
    rows = -(-n // ncols)
    out = np.full((rows * (h + pad) - pad, ncols * (w + pad) - pad), np.nan)
    for i, m in enumerate(maps):
        scale = np.max(np.abs(m)) if normalize else 1.0
        r, c = divmod(i, ncols)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = m / (scale or 1.0)
    return out


def neighbour_correlation(maps) -> float:
    """Correlation coefficient between spatially adjacent entries of small maps or filters.

    Every pair of horizontally or vertically adjacent entries ``(a[..., i, j], a[..., i, j + 1])``
    and ``(a[..., i, j], a[..., i + 1, j])`` of every map is one sample; the result is Pearson's
    correlation over all pairs. Independent random weights give about 0; smooth filters and
    feature maps give clearly positive values.

    Parameters
    ----------
    maps : array_like, shape (..., H, W)
        Any number of maps (filters of shape ``(F, K, K)``, feature maps ``(N, C, H, W)``), with
        ``H, W >= 2``.

    Returns
    -------
    float in [-1, 1]
    """
    a = as_float_array(maps, "maps")
    if a.ndim < 2 or a.shape[-1] < 2 or a.shape[-2] < 2:
        raise ValueError(f"maps must have shape (..., H, W) with H, W >= 2, got {a.shape}")
    first = np.concatenate([a[..., :, :-1].ravel(), a[..., :-1, :].ravel()])
    second = np.concatenate([a[..., :, 1:].ravel(), a[..., 1:, :].ravel()])
    if first.std() == 0 or second.std() == 0:
        raise ValueError("maps are constant: the correlation is undefined")
    return float(np.corrcoef(first, second)[0, 1])


def accuracy(y_true, y_pred) -> float:
    """Fraction of equal labels."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or y_true.size == 0:
        raise ValueError(f"y_true and y_pred must be non-empty vectors of equal length, got "
                         f"{y_true.shape} and {y_pred.shape}")
    return float(np.mean(y_true == y_pred))


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """``C[i, j]`` = number of examples of class ``i`` predicted as ``j``; shape (K, K)."""
    check_positive(n_classes, "n_classes", integer=True)
    y_true = check_labels(y_true, len(np.asarray(y_true)), n_classes)
    y_pred = check_labels(y_pred, len(y_true), n_classes)
    C = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(C, (y_true, y_pred), 1)
    return C


@dataclass
class CNNRun:
    """A trained model with its parameters and what :func:`nnbook.train.fit.fit` recorded.

    ``val_accuracy`` is the validation accuracy after the last epoch, or None when the run was
    trained without a validation set. A run never holds a test figure: that comes from
    :func:`evaluate_digits_cnn`, once, for the model finally chosen.
    """
    model: Sequential
    params: dict[str, np.ndarray]
    log: Any
    val_accuracy: float | None
    snapshots: list = field(default_factory=list, repr=False)


@dataclass
class Evaluation:
    """What :func:`evaluate_digits_cnn` measured on one labelled set of N images.

    Attributes
    ----------
    accuracy : float
        Fraction of correct predictions.
    loss : float
        Mean cross-entropy.
    predictions : ndarray of int, shape (N,)
    probabilities : ndarray, shape (N, 10)
        Softmax outputs (inference mode).
    """
    accuracy: float
    loss: float
    predictions: np.ndarray
    probabilities: np.ndarray = field(repr=False)


def _measure(model: Sequential, params, X, y) -> tuple[float, float, np.ndarray]:
    """Mean cross-entropy, accuracy and logits (N, 10) of ``model`` on a labelled set
    (inference mode): what a training epoch records and the final test reports."""
    logits = model.forward(params, X)[0]
    return softmax_cross_entropy(logits, y)[0], accuracy(y, logits.argmax(1)), logits


def _check_images(X, y, name: str) -> tuple[np.ndarray, np.ndarray]:
    X = as_float_array(X, f"X_{name}", ndim=(4,))
    y = check_labels(y, len(X), 10)
    return X, y


def train_digits_cnn(model: Sequential, data: tuple, optimizer, epochs: int, batch_size: int = 32,
                     seed: int = 0, snapshot=None) -> CNNRun:
    """Train ``model`` on digit images with :func:`nnbook.train.fit.fit`, watching a validation set.

    Records, before training and after every epoch, the mean cross-entropy and the accuracy on the
    training set (metrics ``train_loss``, ``train_acc``) and, if ``data`` holds a validation set,
    on it (``val_loss``, ``val_acc``), all in inference mode, and whatever
    ``snapshot(params, epoch)`` returns. The test set does not belong here: measure the finally
    chosen model on it once with :func:`evaluate_digits_cnn`.

    Parameters
    ----------
    model : Sequential
        A network for images ``(N, 1, 8, 8)`` with 10 outputs, e.g. :func:`digits_cnn`.
    data : tuple
        ``(X_train, y_train, X_val, y_val)``, or ``(X_train, y_train)`` to train without a
        validation set (e.g. the final model on training plus validation data). ``X_*`` has shape
        ``(N_*, 1, 8, 8)``, ``y_*`` holds integer labels 0..9 of shape ``(N_*,)``.
    optimizer : nnbook.train.optimizers.Optimizer
    epochs, batch_size, seed : int
        ``seed`` seeds the parameters, the batch order and dropout.
    snapshot : callable, optional
        ``snapshot(params, epoch) -> anything``, kept in ``CNNRun.snapshots``.

    Returns
    -------
    CNNRun
        ``log.metrics[name]`` has shape ``(epochs + 1,)``: index 0 before training, index ``e``
        after epoch ``e``. ``val_accuracy`` is ``log.metrics["val_acc"][-1]`` (None without a
        validation set).
    """
    from ..train.fit import fit

    if not isinstance(data, tuple) or len(data) not in (2, 4):
        raise ValueError("data must be (X_train, y_train, X_val, y_val) or (X_train, y_train)")
    sets = {"train": _check_images(*data[:2], "train")}
    if len(data) == 4:
        sets["val"] = _check_images(*data[2:], "val")
    Xtr, ytr = sets["train"]
    params = model.init(seed)

    def evaluate(p):
        out = {}
        for name, (X, y) in sets.items():
            out[f"{name}_loss"], out[f"{name}_acc"], _ = _measure(model, p, X, y)
        return out

    log = fit(model.loss_and_grads, params, optimizer, (Xtr, ytr), epochs, batch_size,
              seed=seed, evaluate=evaluate, snapshot=snapshot)
    val = float(log.metrics["val_acc"][-1]) if "val" in sets else None
    return CNNRun(model, params, log, val, log.snapshots)


def evaluate_digits_cnn(run: CNNRun, X, y) -> Evaluation:
    """Measure a trained run on a labelled set: the final, one-time test of the chosen model.

    Parameters
    ----------
    run : CNNRun
        From :func:`train_digits_cnn`.
    X : array_like, shape (N, 1, 8, 8)
    y : array_like of int, shape (N,)
        Labels 0..9.

    Returns
    -------
    Evaluation
        ``accuracy`` (fraction of correct predictions), ``loss`` (mean cross-entropy),
        ``predictions`` of shape ``(N,)`` and softmax ``probabilities`` of shape ``(N, 10)``,
        all in inference mode.
    """
    if not isinstance(run, CNNRun):
        raise ValueError(f"run must be a CNNRun from train_digits_cnn, got {type(run).__name__}")
    X, y = _check_images(X, y, "eval")
    loss, acc, logits = _measure(run.model, run.params, X, y)
    return Evaluation(acc, float(loss), logits.argmax(1), softmax(logits))
