"""2-D convolution (cross-correlation, as deep-learning frameworks compute it) and its gradients.

``conv2d`` has the semantics of ``torch.nn.functional.conv2d``: for input ``x`` of shape
``(N, C, H, W)`` and filters ``w`` of shape ``(F, C, KH, KW)``,

.. math:: y_{n f i j} = b_f + \\sum_{c, u, v} w_{f c u v}\\, \\tilde x_{n, c, s_h i + u, s_w j + v}

where :math:`\\tilde x` is ``x`` with ``padding`` zeros on each side. The output has
``output_size(H, KH, sh, ph)`` rows and ``output_size(W, KW, sw, pw)`` columns.

How it is computed: a Numba kernel takes a few images (or a band of rows of a large image) at a
time, gathers their receptive fields into the columns of a cache-sized matrix (*im2col*), and lets
one BLAS product take every dot product with every filter; the backward pass runs the products
transposed and scatters the column gradients back (*col2im*). With stride 1 (``_forward_s1``,
``_backward_s1``) each output row takes the padded width ``Wp`` of columns, so that each im2col
row of an image is one contiguous segment of its padded channel: one copy per (channel, kernel
offset) instead of one per output row, and the bias enters the product as a row of ones.
``DESIGN.md`` ("The kernel pattern in practice") gives the layout and threading decisions and the
measured figures.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..checks import as_kernel_array, check_finite, check_positive, int_pair
from .threads import single_threaded_blas, split_batch

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


def _finite(*named):
    """:func:`checks.check_finite` of each ``(array, name)``, the sums taken under one
    ``np.errstate`` (entering one costs about 1 us, a share of a small call's ~20 us)."""
    with np.errstate(over="ignore", invalid="ignore"):
        totals = [a.sum() for a, _ in named]
    if not math.isfinite(sum(float(t) for t in totals)):  # NaN or inf somewhere, or an overflow
        for (a, name), total in zip(named, totals):
            check_finite(a, name, total)


def _check(x, w, stride, padding):
    """Validate the common arguments but finiteness (the caller's :func:`_finite`); return
    contiguous x, w and the geometry."""
    x = as_kernel_array(x, "x", ndim=4, finite=False)
    w = as_kernel_array(w, "w", ndim=4, dtype=x.dtype, finite=False)
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
        b = as_kernel_array(b, "b", ndim=1, dtype=x.dtype, finite=False)
        if b.shape != (F,):
            raise ValueError(f"b must have shape ({F},) (one bias per filter), got {b.shape}")
        _finite((x, "x"), (w, "w"), (b, "b"))
        b = np.ascontiguousarray(b)
    else:
        _finite((x, "x"), (w, "w"))
        b = np.zeros(F, dtype=x.dtype)
    sh, sw, ph, pw, Ho, Wo = geo
    N, C, W = x.shape[0], x.shape[1], x.shape[3]
    KH, KW = w.shape[2:]
    s1 = sh == sw == 1
    Wc = W + 2 * pw if s1 else Wo  # columns per output row in a chunk
    (G, R), mnk = _chunk(N, Ho, Wc), F * C * KH * KW * Ho * Wc
    y = np.empty((N, F, Ho, Wo), dtype=x.dtype)
    with single_threaded_blas(mnk * G * R / Ho):
        if s1:
            w2b = np.concatenate((w.reshape(F, -1), b[:, None]), axis=1)
            split_batch(_forward_s1, (x, w2b, y, KH, KW, ph, pw, G, R), N, G, mnk * N)
        else:
            split_batch(_forward, (x, w.reshape(F, -1), b, y, KH, KW, sh, sw, ph, pw, G, R), N,
                        G, mnk * N)
    return y


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
    dy = as_kernel_array(dy, "dy", ndim=4, dtype=x.dtype, finite=False)
    if dy.shape != (N, F, Ho, Wo):
        raise ValueError(f"dy must have the output shape {(N, F, Ho, Wo)}, got {dy.shape}")
    _finite((x, "x"), (w, "w"), (dy, "dy"))
    s1 = sh == sw == 1
    Wc = W + 2 * pw if s1 else Wo  # columns per output row in a chunk
    (G, R), mnk = _chunk(N, Ho, Wc), F * C * KH * KW * Ho * Wc
    dx = np.zeros_like(x)
    dy, w2 = np.ascontiguousarray(dy), w.reshape(F, -1)
    with single_threaded_blas(mnk * G * R / Ho):
        if s1:
            parts = split_batch(_backward_s1, (dy, x, w2, dx, KH, KW, ph, pw, G, R), N, G,
                                3 * mnk * N)
            parts = [(p[:, :-1], p[:, -1]) for p in parts]  # [dw | db]
        else:
            parts = split_batch(_backward, (dy, x, w2, dx, KH, KW, sh, sw, ph, pw, G, R), N, G,
                                3 * mnk * N)
    dw, db = parts[0]
    for dw_part, db_part in parts[1:]:  # the parts' sums added in part order (threads.run_parts)
        dw, db = dw + dw_part, db + db_part
    return dx, np.ascontiguousarray(dw).reshape(w.shape), np.ascontiguousarray(db)


def _chunk(N: int, Ho: int, Wo: int) -> tuple[int, int]:
    """Images G and output rows R per chunk: about CHUNK_COLUMNS columns, so that a chunk's
    im2col block stays in cache (several small images, or a band of rows of a large one).
    ``Wo`` is the columns per output row: the padded width ``Wp`` for the stride-1 kernels."""
    G = max(1, min(N, CHUNK_COLUMNS // (Ho * Wo)))
    if Ho * Wo <= 2 * CHUNK_COLUMNS:  # whole images (bands would only add overhead)
        return G, Ho
    bands = -(-Ho * Wo // CHUNK_COLUMNS)
    return 1, -(-Ho // bands)


CHUNK_COLUMNS = 1024


@njit(cache=True, inline="always")
def _columns_inside(v, sw, pw, W, Wo):
    """For kernel column v: the offset ``off = v - pw`` and the range ``jlo <= j < jhi`` of output
    columns whose input column ``sw*j + off`` lies inside the image (the rest read padding)."""
    off = v - pw
    jlo = min(Wo, max(0, -(off // sw)))
    return off, jlo, max(jlo, min(Wo, (W - 1 - off) // sw + 1))


@njit(cache=True, inline="always")
def _gather(x, cols, n0, n1, i0, i1, KH, KW, sh, sw, ph, pw, Wo):
    """im2col of output rows i0..i1-1 of images n0..n1-1:
    cols[(c, u, v), (n - n0, i - i0, j)] = padded x[n, c, sh*i+u, sw*j+v]."""
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    P = (i1 - i0) * Wo
    for c in range(C):
        for u in range(KH):
            for v in range(KW):
                crow = cols[(c * KH + u) * KW + v]
                off, jlo, jhi = _columns_inside(v, sw, pw, W, Wo)
                for n in range(n0, n1):
                    for i in range(i0, i1):
                        h = sh * i + u - ph
                        base = (n - n0) * P + (i - i0) * Wo
                        if h < 0 or h >= H:
                            crow[base:base + Wo] = 0.0
                            continue
                        crow[base:base + jlo] = 0.0
                        xrow = x[n, c, h]
                        if sw == 1:  # a contiguous copy (vectorizes)
                            crow[base + jlo:base + jhi] = xrow[jlo + off:jhi + off]
                        else:
                            for j in range(jlo, jhi):
                                crow[base + j] = xrow[sw * j + off]
                        crow[base + jhi:base + Wo] = 0.0


@njit(cache=True, inline="always")
def _scatter(dcols, dx, n0, n1, i0, i1, KH, KW, sh, sw, ph, pw, Wo):
    """col2im, the adjoint of :func:`_gather`: add each column entry back to its input pixel."""
    C, H, W = dx.shape[1], dx.shape[2], dx.shape[3]
    P = (i1 - i0) * Wo
    for c in range(C):
        for u in range(KH):
            for v in range(KW):
                crow = dcols[(c * KH + u) * KW + v]
                off, jlo, jhi = _columns_inside(v, sw, pw, W, Wo)
                for n in range(n0, n1):
                    for i in range(i0, i1):
                        h = sh * i + u - ph
                        if h < 0 or h >= H:
                            continue
                        base = (n - n0) * P + (i - i0) * Wo
                        xrow = dx[n, c, h]
                        if sw == 1:
                            for j in range(jlo, jhi):
                                xrow[j + off] += crow[base + j]
                        else:
                            for j in range(jlo, jhi):
                                xrow[sw * j + off] += crow[base + j]


@njit(cache=True, inline="always")
def _im2col_block(x, buf, CKK, n0, n1, i0, i1, KH, KW, sh, sw, ph, pw, Wo):
    """The im2col block of one chunk (output rows i0..i1-1 of images n0..n1-1) in ``buf``:
    shape (C*KH*KW, (n1-n0) * P), with P = (i1-i0) * Wo output positions per image."""
    P = (i1 - i0) * Wo
    cols = buf[:CKK * (n1 - n0) * P].reshape((CKK, (n1 - n0) * P))
    _gather(x, cols, n0, n1, i0, i1, KH, KW, sh, sw, ph, pw, Wo)
    return cols, P


@njit(cache=True, nogil=True)
def _forward(x, w2, b, y, KH, KW, sh, sw, ph, pw, G, R, lo, hi):
    """y[lo:hi] = conv2d(x, w, b)[lo:hi]: per chunk (G images, or R output rows of one image),
    im2col into a cache-sized block and one product with the filters w2 (F, C*KH*KW)."""
    F, CKK = w2.shape
    Ho, Wo = y.shape[2], y.shape[3]
    buf = np.empty(CKK * G * R * Wo, dtype=x.dtype)
    for n0 in range(lo, hi, G):
        n1 = min(hi, n0 + G)
        for i0 in range(0, Ho, R):
            i1 = min(Ho, i0 + R)
            cols, P = _im2col_block(x, buf, CKK, n0, n1, i0, i1, KH, KW, sh, sw, ph, pw, Wo)
            out = np.dot(w2, cols)                                 # (F, g*P)
            for n in range(n0, n1):
                for f in range(F):
                    bf = b[f]
                    yrow = y[n, f].reshape(Ho * Wo)[i0 * Wo:i1 * Wo]
                    for p in range(P):
                        yrow[p] = out[f, (n - n0) * P + p] + bf
    return 0


@njit(cache=True, nogil=True)
def _backward(dy, x, w2, dx, KH, KW, sh, sw, ph, pw, G, R, lo, hi):
    """dx[lo:hi] and the images lo..hi-1's share of (dw (F, C*KH*KW), db), chunk by chunk:
    dw += dY cols^T, db += dY summed, and dcols = W^T dY scattered back into dx."""
    F, CKK = w2.shape
    Ho, Wo = dy.shape[2], dy.shape[3]
    dw = np.zeros((F, CKK), dtype=x.dtype)
    db = np.zeros(F, dtype=x.dtype)
    w2t = w2.T
    buf = np.empty(CKK * G * R * Wo, dtype=x.dtype)
    dybuf = np.empty(F * G * R * Wo, dtype=x.dtype)
    for n0 in range(lo, hi, G):
        n1 = min(hi, n0 + G)
        for i0 in range(0, Ho, R):
            i1 = min(Ho, i0 + R)
            cols, P = _im2col_block(x, buf, CKK, n0, n1, i0, i1, KH, KW, sh, sw, ph, pw, Wo)
            dyc = dybuf[:F * (n1 - n0) * P].reshape((F, (n1 - n0) * P))
            for f in range(F):
                s = 0.0
                for n in range(n0, n1):
                    dyrow = dy[n, f].reshape(Ho * Wo)[i0 * Wo:i1 * Wo]
                    for p in range(P):
                        v = dyrow[p]
                        dyc[f, (n - n0) * P + p] = v
                        s += v
                db[f] += s
            dw += np.dot(dyc, cols.T)
            _scatter(np.dot(w2t, dyc), dx, n0, n1, i0, i1, KH, KW, sh, sw, ph, pw, Wo)
    return dw, db


# ---------------------------------------------------------------------------------------------
# Stride 1: each im2col row of an image is one contiguous segment of its padded channel

@njit(cache=True, inline="always")
def _sources(x, xp, n0, n1, ph, pw):
    """Copy images n0..n1-1 into the zero-bordered buffers ``xp[n - n0]`` (C, Hp*Wp) when there is
    padding (the borders are never written, so they stay zero); without padding ``xp`` is empty
    and :func:`_source` reads ``x`` itself."""
    if xp.shape[2] == 0:
        return
    H, W = x.shape[2], x.shape[3]
    Wp = W + 2 * pw
    for n in range(n0, n1):
        dst = xp[n - n0]
        for c in range(x.shape[1]):
            for h in range(H):
                base = (h + ph) * Wp + pw
                dst[c, base:base + W] = x[n, c, h]


@njit(cache=True, inline="always")
def _source(x, xp, n, k):
    """Image n as its flattened padded channels, shape (C, Hp*Wp): ``xp[k]`` or ``x[n]``."""
    if xp.shape[2] == 0:
        return x[n].reshape((x.shape[1], x.shape[2] * x.shape[3]))
    return xp[k]


@njit(cache=True, inline="always")
def _copy(dst, src):
    """``dst[:len(src)] = src`` and zeros after, as a loop over two views: 3-5x faster in Numba
    than the same slice assignment or one indexing both arrays at offsets (measured)."""
    n = len(src)
    for p in range(n):
        dst[p] = src[p]
    for p in range(n, len(dst)):
        dst[p] = 0.0


@njit(cache=True, inline="always")
def _add(dst, src):
    """``dst += src``, the loop :func:`_copy` uses."""
    for p in range(len(src)):
        dst[p] += src[p]


@njit(cache=True, inline="always")
def _gather_segments(src, cols, k, S, i0, i1, KH, KW, Wp, Wo):
    """Stride-1 im2col of output rows i0..i1-1 of one image (the k-th of its chunk) from its
    flattened padded channels ``src`` (C, Hp*Wp), one contiguous copy per (c, u, v):
    ``cols[(c, u, v), k*S + p] = src[c, (i0 + u)*Wp + v + p]`` for ``p < L = (i1-i0-1)*Wp + Wo``
    and 0 for ``L <= p < S = (i1-i0)*Wp``. Column ``p = (i - i0)*Wp + j`` stands for output
    (i, j); the columns j >= Wo of all rows but the last read the start of the next input row:
    wasted work whose output is dropped (forward) and whose dy is set to 0 (backward)."""
    L = (i1 - i0 - 1) * Wp + Wo
    base = k * S
    for c in range(src.shape[0]):
        for u in range(KH):
            for v in range(KW):
                o = (i0 + u) * Wp + v
                _copy(cols[(c * KH + u) * KW + v, base:base + S], src[c, o:o + L])


@njit(cache=True, inline="always")
def _scatter_segments(dcols, dsrc, k, S, i0, i1, KH, KW, Wp, Wo):
    """The adjoint of :func:`_gather_segments`: ``dsrc[c, (i0 + u)*Wp + v + p] +=
    dcols[(c, u, v), k*S + p]`` for ``p < L``, one contiguous vector addition per (c, u, v)."""
    L = (i1 - i0 - 1) * Wp + Wo
    base = k * S
    for c in range(dsrc.shape[0]):
        for u in range(KH):
            for v in range(KW):
                o = (i0 + u) * Wp + v
                _add(dsrc[c, o:o + L], dcols[(c * KH + u) * KW + v, base:base + L])


@njit(cache=True, inline="always")
def _segment_block(x, xp, buf, K1, n0, n1, i0, i1, KH, KW, Wp, Wo):
    """The chunk's (K1, g*S) block of :func:`_gather_segments` columns in ``buf``, with its last
    row K1 - 1 = C*KH*KW all ones: the bias's input in the forward product, db's in dW's."""
    S = (i1 - i0) * Wp
    cols = buf[:K1 * (n1 - n0) * S].reshape((K1, (n1 - n0) * S))
    for n in range(n0, n1):
        _gather_segments(_source(x, xp, n, n - n0), cols, n - n0, S, i0, i1, KH, KW, Wp, Wo)
    cols[K1 - 1] = 1.0
    return cols, S


@njit(cache=True, nogil=True)
def _forward_s1(x, w2b, y, KH, KW, ph, pw, G, R, lo, hi):
    """:func:`_forward` for stride 1, the chunks gathered by :func:`_gather_segments`: each output
    row costs ``Wp`` columns of the product instead of ``Wo``, the gather C*KH*KW copies per
    image (band) instead of C*KH*KW*Ho. ``w2b`` (F, C*KH*KW + 1) holds the filters and the bias,
    which the product adds (the block's row of ones)."""
    F, K1 = w2b.shape
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    Ho, Wo = y.shape[2], y.shape[3]
    Wp = W + 2 * pw
    padded = ph > 0 or pw > 0
    xp = np.zeros((G if padded else 0, C, (H + 2 * ph) * Wp if padded else 0), dtype=x.dtype)
    buf = np.empty(K1 * G * R * Wp, dtype=x.dtype)
    obuf = np.empty(F * G * R * Wp, dtype=x.dtype)
    for n0 in range(lo, hi, G):
        n1 = min(hi, n0 + G)
        _sources(x, xp, n0, n1, ph, pw)
        for i0 in range(0, Ho, R):
            i1 = min(Ho, i0 + R)
            cols, S = _segment_block(x, xp, buf, K1, n0, n1, i0, i1, KH, KW, Wp, Wo)
            out = obuf[:F * (n1 - n0) * S].reshape((F, (n1 - n0) * S))
            np.dot(w2b, cols, out)
            for n in range(n0, n1):
                for f in range(F):
                    for i in range(i0, i1):
                        base = (n - n0) * S + (i - i0) * Wp
                        _copy(y[n, f, i], out[f, base:base + Wo])
    return 0


@njit(cache=True, nogil=True)
def _backward_s1(dy, x, w2, dx, KH, KW, ph, pw, G, R, lo, hi):
    """:func:`_backward` for stride 1: the chunks of :func:`_forward_s1`, dy copied into their
    columns with zeros in the wasted ones, ``[dw | db] += dY [cols; 1]^T`` in one product, and
    :func:`_scatter_segments` into ``dx`` (through a padded buffer when there is padding).
    Returns the part's (F, C*KH*KW + 1) sums ``[dw | db]``."""
    F, CKK = w2.shape
    K1 = CKK + 1
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    Ho, Wo = dy.shape[2], dy.shape[3]
    Hp, Wp = H + 2 * ph, W + 2 * pw
    padded = ph > 0 or pw > 0
    xp = np.zeros((G if padded else 0, C, Hp * Wp if padded else 0), dtype=x.dtype)
    dxp = np.empty_like(xp)
    dwb = np.zeros((F, K1), dtype=x.dtype)
    w2t = w2.T
    buf = np.empty(K1 * G * R * Wp, dtype=x.dtype)
    dbuf = np.empty(CKK * G * R * Wp, dtype=x.dtype)
    dybuf = np.empty(F * G * R * Wp, dtype=x.dtype)
    for n0 in range(lo, hi, G):
        n1 = min(hi, n0 + G)
        _sources(x, xp, n0, n1, ph, pw)
        dxp[:] = 0.0
        for i0 in range(0, Ho, R):
            i1 = min(Ho, i0 + R)
            cols, S = _segment_block(x, xp, buf, K1, n0, n1, i0, i1, KH, KW, Wp, Wo)
            dyc = dybuf[:F * (n1 - n0) * S].reshape((F, (n1 - n0) * S))
            for n in range(n0, n1):
                for f in range(F):
                    for i in range(i0, i1):
                        base = (n - n0) * S + (i - i0) * Wp
                        _copy(dyc[f, base:base + Wp], dy[n, f, i])
            dwb += np.dot(dyc, cols.T)
            dcols = dbuf[:CKK * (n1 - n0) * S].reshape((CKK, (n1 - n0) * S))
            np.dot(w2t, dyc, dcols)
            for n in range(n0, n1):
                _scatter_segments(dcols, _source(dx, dxp, n, n - n0), n - n0, S, i0, i1, KH,
                                  KW, Wp, Wo)
        if padded:
            for n in range(n0, n1):
                for c in range(C):
                    for h in range(H):
                        base = (h + ph) * Wp + pw
                        _copy(dx[n, c, h], dxp[n - n0, c, base:base + W])
    return dwb
