"""2-D convolution (cross-correlation, as deep-learning frameworks compute it) and its gradients.

``conv2d`` has the semantics of ``torch.nn.functional.conv2d``: for input ``x`` of shape
``(N, C, H, W)`` and filters ``w`` of shape ``(F, C, KH, KW)``,

.. math:: y_{n f i j} = b_f + \\sum_{c, u, v} w_{f c u v}\\, \\tilde x_{n, c, s_h i + u, s_w j + v}

where :math:`\\tilde x` is ``x`` with ``padding`` zeros on each side. The output has
``output_size(H, KH, sh, ph)`` rows and ``output_size(W, KW, sw, pw)`` columns.

How it is computed: a Numba kernel gathers every receptive field into the columns of a matrix
(*im2col*), one BLAS matrix product does every dot product with every filter, and the backward pass
runs the same product transposed and scatters the column gradients back (*col2im*). See the
"kernel pattern" section of ``DESIGN.md`` for the layout and threading decisions and the figures.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._checks import as_kernel_array, check_positive, int_pair

__all__ = ["conv2d", "conv2d_backward", "output_size"]


def output_size(n: int, k: int, stride: int = 1, padding: int = 0) -> int:
    """Length of a convolution or pooling output along one axis.

    :math:`\\lfloor (n + 2p - k) / s \\rfloor + 1` for input length ``n``, kernel length ``k``,
    stride ``s`` and zero padding ``p`` on each side.

    Raises
    ------
    ValueError
        If a value is not an integer, ``n``, ``k`` or ``stride`` is below 1, ``padding`` is
        negative, or the kernel is longer than the padded input.
    """
    for v, name in ((n, "n"), (k, "k"), (stride, "stride")):
        check_positive(v, name, integer=True)
    check_positive(padding, "padding", integer=True, allow_zero=True)
    if k > n + 2 * padding:
        raise ValueError(f"kernel size {k} is larger than the padded input {n} + 2*{padding}")
    return (n + 2 * padding - k) // stride + 1


def _check(x, w, stride, padding):
    """Validate the common arguments; return contiguous x, w and the geometry."""
    x = as_kernel_array(x, "x", ndim=4)
    w = as_kernel_array(w, "w", ndim=4, dtype=x.dtype)
    sh, sw = int_pair(stride, "stride", minimum=1)
    ph, pw = int_pair(padding, "padding", minimum=0)
    N, C, H, W = x.shape
    F, Cw, KH, KW = w.shape
    if Cw != C:
        raise ValueError(f"channel mismatch: x has {C} channels (shape {x.shape}) but w expects "
                         f"{Cw} (shape {w.shape})")
    if KH > H + 2 * ph or KW > W + 2 * pw:
        raise ValueError(f"kernel {KH}x{KW} is larger than the padded input "
                         f"{H + 2 * ph}x{W + 2 * pw} (H, W = {H}, {W}; padding {ph}, {pw})")
    Ho, Wo = (H + 2 * ph - KH) // sh + 1, (W + 2 * pw - KW) // sw + 1
    return np.ascontiguousarray(x), np.ascontiguousarray(w), (sh, sw, ph, pw, Ho, Wo)


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None,
           stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0) -> np.ndarray:
    """2-D cross-correlation of a batch of images with a bank of filters, plus a bias.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W), float32 or float64
        Input images (any memory layout).
    w : ndarray, shape (F, C, KH, KW), same dtype as ``x``
        Filters.
    b : ndarray, shape (F,), optional
        One bias per filter (zero if omitted).
    stride, padding : int or (int, int)
        Step between receptive fields and zeros added on each side, for (rows, columns).

    Returns
    -------
    ndarray, shape (N, F, Ho, Wo), dtype of ``x``
        ``Ho = output_size(H, KH, stride, padding)``, and the same for ``Wo``.

    Raises
    ------
    ValueError
        Wrong number of dimensions, channel mismatch, a kernel larger than the padded input,
        stride < 1, negative padding, NaN or inf, integer or mixed dtypes, a bias of the wrong
        shape.
    """
    x, w, geo = _check(x, w, stride, padding)
    F = w.shape[0]
    if b is not None:
        b = as_kernel_array(b, "b", ndim=1, dtype=x.dtype)
        if b.shape != (F,):
            raise ValueError(f"b must have shape ({F},) (one bias per filter), got {b.shape}")
    else:
        b = np.zeros(F, dtype=x.dtype)
    sh, sw, ph, pw, Ho, Wo = geo
    N = x.shape[0]
    cols = _im2col(x, w.shape[2], w.shape[3], sh, sw, ph, pw, Ho, Wo)
    ymat = np.dot(w.reshape(F, -1), cols)                  # (F, N*Ho*Wo)
    return _unfold_output(ymat, np.ascontiguousarray(b), N, Ho, Wo)


def conv2d_backward(dy: np.ndarray, x: np.ndarray, w: np.ndarray,
                    stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a scalar loss through :func:`conv2d`.

    Parameters
    ----------
    dy : ndarray, shape (N, F, Ho, Wo)
        Gradient of the loss with respect to the output ``conv2d(x, w, b, stride, padding)``.
    x, w, stride, padding
        The arguments of the forward call (the bias does not enter any gradient).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, KH, KW)
        Weight sharing: each filter entry sums its contributions over every position and image.
    db : ndarray, shape (F,)
        ``dy`` summed over images and positions.

    Raises
    ------
    ValueError
        Everything :func:`conv2d` rejects, and a ``dy`` of the wrong shape or dtype.
    """
    x, w, geo = _check(x, w, stride, padding)
    sh, sw, ph, pw, Ho, Wo = geo
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    dy = as_kernel_array(dy, "dy", ndim=4, dtype=x.dtype)
    if dy.shape != (N, F, Ho, Wo):
        raise ValueError(f"dy must have the output shape {(N, F, Ho, Wo)}, got {dy.shape}")
    dymat = _fold_output(np.ascontiguousarray(dy))       # (F, N*Ho*Wo)
    cols = _im2col(x, KH, KW, sh, sw, ph, pw, Ho, Wo)      # (C*KH*KW, N*Ho*Wo)
    dw = np.dot(dymat, cols.T).reshape(w.shape)
    dcols = np.dot(w.reshape(F, -1).T, dymat)
    dx = _col2im(dcols, N, C, H, W, KH, KW, sh, sw, ph, pw, Ho, Wo)
    db = dymat.sum(axis=1)
    return dx, dw, db


@njit(cache=True)
def _im2col(x, KH, KW, sh, sw, ph, pw, Ho, Wo):
    """cols[(c, u, v), (n, i, j)] = padded x[n, c, sh*i + u, sw*j + v]."""
    N, C, H, W = x.shape
    P = Ho * Wo
    cols = np.empty((C * KH * KW, N * P), dtype=x.dtype)
    for c in range(C):
        for u in range(KH):
            for v in range(KW):
                r = (c * KH + u) * KW + v
                for n in range(N):
                    for i in range(Ho):
                        h = sh * i + u - ph
                        base = n * P + i * Wo
                        if h < 0 or h >= H:
                            for j in range(Wo):
                                cols[r, base + j] = 0.0
                        else:
                            for j in range(Wo):
                                col = sw * j + v - pw
                                if col >= 0 and col < W:
                                    cols[r, base + j] = x[n, c, h, col]
                                else:
                                    cols[r, base + j] = 0.0
    return cols


@njit(cache=True)
def _col2im(dcols, N, C, H, W, KH, KW, sh, sw, ph, pw, Ho, Wo):
    """Adjoint of :func:`_im2col`: add each column entry back to the input pixel it came from."""
    P = Ho * Wo
    dx = np.zeros((N, C, H, W), dtype=dcols.dtype)
    for c in range(C):
        for u in range(KH):
            for v in range(KW):
                r = (c * KH + u) * KW + v
                for n in range(N):
                    for i in range(Ho):
                        h = sh * i + u - ph
                        if h < 0 or h >= H:
                            continue
                        base = n * P + i * Wo
                        for j in range(Wo):
                            col = sw * j + v - pw
                            if col >= 0 and col < W:
                                dx[n, c, h, col] += dcols[r, base + j]
    return dx


@njit(cache=True)
def _unfold_output(ymat, b, N, Ho, Wo):
    """(F, N*Ho*Wo) product plus bias -> (N, F, Ho, Wo)."""
    F = ymat.shape[0]
    P = Ho * Wo
    y = np.empty((N, F, Ho, Wo), dtype=ymat.dtype)
    yf = y.reshape(N, F, P)
    for n in range(N):
        for f in range(F):
            for p in range(P):
                yf[n, f, p] = ymat[f, n * P + p] + b[f]
    return y


@njit(cache=True)
def _fold_output(dy):
    """(N, F, Ho, Wo) -> (F, N*Ho*Wo), the layout of the product."""
    N, F, Ho, Wo = dy.shape
    P = Ho * Wo
    out = np.empty((F, N * P), dtype=dy.dtype)
    dyf = dy.reshape(N, F, P)
    for n in range(N):
        for f in range(F):
            for p in range(P):
                out[f, n * P + p] = dyf[n, f, p]
    return out
