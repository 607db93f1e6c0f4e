r"""Invariance to transformations of the input (chapter 4).

Tools for the small 8x8 digit images of :func:`nnbook.data.datasets.digits` (rows of 64 pixels, row-major,
row 0 at the top):

* :func:`shift_images` translates images by whole or fractional pixels (bilinear interpolation,
  zero fill), or circularly;
* :func:`augment_shifts` builds an augmented training set of shifted copies;
* :func:`tangent_vectors` is the derivative of an image along a translation, by central
  differences: the tangent vector :math:`\boldsymbol\tau_n = \partial s(\mathbf x_n, \xi)/\partial\xi`
  at :math:`\xi = 0` used by tangent propagation;
* :func:`output_tangent` is the directional derivative of a network's outputs along such a vector
  (forward-mode differentiation), and :func:`tangent_penalty` the tangent-propagation regularizer
  :math:`\Omega = \tfrac12\sum_n\sum_k (\sum_i J_{nki}\tau_{ni})^2`;
* :func:`fourier_magnitude` is a feature that is exactly invariant to circular shifts.
"""
from __future__ import annotations

import numpy as np

from ..checks import as_float_array, check_bool, check_name, check_positive
from ..nn.activations import activation, derivative
from ..nn.mlp import MLP, check_net

__all__ = ["shift_images", "augment_shifts", "tangent_vectors", "output_tangent",
           "tangent_penalty", "fourier_magnitude"]


def _check_images(X, size: int) -> tuple[np.ndarray, bool]:
    check_positive(size, "size", integer=True)
    X = as_float_array(X, "X", ndim=(1, 2))
    single = X.ndim == 1
    if single:
        X = X[None, :]
    if X.shape[1] != size * size:
        raise ValueError(f"X has {X.shape[1]} pixels per image but size={size} needs {size * size}")
    return X, single


def _check_shift(v, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {v!r}")
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v!r}")
    return float(v)


def _shift_axis(img: np.ndarray, s: float, axis: int) -> np.ndarray:
    """Shift (N, size, size) images by ``s`` pixels along ``axis`` (1 rows, 2 columns), zero fill.

    The new pixel ``c`` is the old image at position ``c - s``, linearly interpolated.
    """
    if s == 0:
        return img.copy()
    i0 = int(np.floor(s))
    f = s - i0
    n = img.shape[axis]

    def moved(k):  # out[c] = img[c - k], zero where c - k is outside
        out = np.zeros_like(img)
        if abs(k) >= n:
            return out
        src = [slice(None)] * 3
        dst = [slice(None)] * 3
        if k >= 0:
            src[axis], dst[axis] = slice(0, n - k), slice(k, n)
        else:
            src[axis], dst[axis] = slice(-k, n), slice(0, n + k)
        out[tuple(dst)] = img[tuple(src)]
        return out

    result = (1.0 - f) * moved(i0)
    if f > 0:
        result += f * moved(i0 + 1)
    return result


def shift_images(X, dx: float, dy: float, size: int = 8, wrap: bool = False) -> np.ndarray:
    """Translate square images ``dx`` pixels to the right and ``dy`` pixels down.

    Parameters
    ----------
    X : array_like, shape (N, size*size) or (size*size,)
        Images as rows, row-major (row 0 at the top).
    dx, dy : float
        The shift; fractional shifts interpolate bilinearly.
    size : int
        Side of the square images (8 for the scikit-learn digits).
    wrap : bool
        ``False``: pixels shifted out are lost and zeros come in. ``True``: a circular shift
        (whole pixels only).

    Returns
    -------
    ndarray, same shape as ``X``
    """
    wrap = check_bool(wrap, "wrap")
    X, single = _check_images(X, size)
    dx, dy = _check_shift(dx, "dx"), _check_shift(dy, "dy")
    img = X.reshape(-1, size, size)
    if wrap:
        if dx != round(dx) or dy != round(dy):
            raise ValueError(f"wrap=True needs whole-pixel shifts, got dx={dx}, dy={dy}")
        out = np.roll(img, (int(round(dy)), int(round(dx))), axis=(1, 2))
    else:
        out = _shift_axis(_shift_axis(img, dx, 2), dy, 1)
    out = out.reshape(-1, size * size)
    return out[0] if single else out


def augment_shifts(X, T, shifts, size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The training set followed by one shifted copy per ``(dx, dy)`` in ``shifts``.

    Parameters
    ----------
    X : array_like, shape (N, size*size)
    T : array_like, shape (N, K)
        Targets; every copy keeps the target of its original (the label is invariant).
    shifts : sequence of (dx, dy)

    Returns
    -------
    X_aug : ndarray, shape ((1 + len(shifts)) * N, size*size)
    T_aug : ndarray, shape ((1 + len(shifts)) * N, K)
    """
    X, _ = _check_images(X, size)
    T = as_float_array(T, "T", ndim=(1, 2))
    if len(T) != len(X):
        raise ValueError(f"X has {len(X)} images but T has {len(T)} rows")
    shifts = list(shifts)
    for s in shifts:
        if not isinstance(s, (tuple, list)) or len(s) != 2:
            raise ValueError(f"every shift must be a (dx, dy) pair, got {s!r}")
    Xs = [X] + [shift_images(X, dx, dy, size) for dx, dy in shifts]
    return np.concatenate(Xs), np.concatenate([T] * len(Xs))


def tangent_vectors(X, direction: str = "x", eps: float = 0.5, size: int = 8) -> np.ndarray:
    r"""Tangent vectors of images under translation, by central differences.

    :math:`\boldsymbol\tau = [s(\mathbf x, \epsilon) - s(\mathbf x, -\epsilon)]/2\epsilon`, where
    :math:`s(\mathbf x, \xi)` shifts by :math:`\xi` pixels (right for ``"x"``, down for ``"y"``).
    With bilinear interpolation and :math:`0 < \epsilon \le 1` this is exactly minus the central
    pixel difference, :math:`-(x_{c+1} - x_{c-1})/2` (zero outside the image).

    Returns
    -------
    ndarray, same shape as ``X``
    """
    X, single = _check_images(X, size)
    direction = check_name(direction, ("x", "y"), "direction")
    check_positive(eps, "eps")
    if direction == "x":
        plus, minus = shift_images(X, eps, 0, size), shift_images(X, -eps, 0, size)
    else:
        plus, minus = shift_images(X, 0, eps, size), shift_images(X, 0, -eps, size)
    V = (plus - minus) / (2 * eps)
    return V[0] if single else V


def output_tangent(net: MLP, X, V) -> np.ndarray:
    r"""Directional derivative of the outputs, :math:`\sum_i (\partial y_k/\partial x_i)\, v_i`.

    Forward-mode differentiation: alongside the forward pass, propagate
    :math:`\dot{\mathbf a}^{(l)} = W_l\dot{\mathbf z}^{(l-1)}` and
    :math:`\dot{\mathbf z}^{(l)} = h'(\mathbf a^{(l)})\odot\dot{\mathbf a}^{(l)}`, starting from
    :math:`\dot{\mathbf z}^{(0)} = \mathbf v` (softmax uses its full Jacobian).

    Parameters
    ----------
    net : MLP
    X : array_like, shape (N, D) or (D,)
    V : array_like, same shape as ``X``
        One direction per pattern (e.g. from :func:`tangent_vectors`).

    Returns
    -------
    ndarray, shape (N, K) or (K,)
    """
    check_net(net)
    X = net._check_x(X)
    V = as_float_array(V, "V", ndim=(1, 2))
    if V.shape != X.shape:
        raise ValueError(f"V has shape {V.shape} but X has shape {X.shape}; give one direction per pattern")
    tr = net.trace(X)
    zdot = V
    for (W, _), h, a, z in zip(net.weights, net.activations, tr.a, tr.z[1:]):
        adot = zdot @ W.T
        if h == "softmax":
            zdot = z * (adot - np.sum(z * adot, axis=-1, keepdims=True))
        else:
            zdot = derivative(h, a) * adot
    return zdot


def tangent_penalty(net: MLP, X, V) -> float:
    r"""Tangent-propagation regularizer :math:`\Omega = \tfrac12\sum_n\lVert J_n\boldsymbol\tau_n\rVert^2`.

    Small when the outputs hardly change as the inputs move along their tangent vectors ``V``.
    """
    return float(0.5 * np.sum(output_tangent(net, X, V) ** 2))


def fourier_magnitude(X, size: int = 8) -> np.ndarray:
    """Magnitudes of the 2-D discrete Fourier transform of each image, flattened.

    A circular shift multiplies every Fourier coefficient by a phase factor of modulus one, so
    these features do not change when an image is shifted circularly (``shift_images(..., wrap=True)``).

    Returns
    -------
    ndarray, shape (N, size*size) or (size*size,)
    """
    X, single = _check_images(X, size)
    F = np.abs(np.fft.fft2(X.reshape(-1, size, size))).reshape(-1, size * size)
    return F[0] if single else F
