"""2-D pooling (max, average, min) over non-overlapping or overlapping windows, and its gradient.

``pool2d(x, k, stride)`` slides a ``k``-window over each channel of each image of ``x`` (shape
``(N, C, H, W)``), with step ``stride`` (default ``k``) and no padding, and keeps the window's
maximum, mean or minimum. Pooling has no parameters; its backward pass routes ``dy`` back to the
inputs: all of it to the (first) maximal or minimal entry of each window, or evenly spread for the
average. Ties go to the first entry in row-major order, as in PyTorch.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..checks import as_kernel_array, check_finite, check_name, int_pair
from .threads import split_batch

__all__ = ["pool2d", "pool2d_backward"]

_MODES = {"max": 0, "avg": 1, "min": 2}


def _check(x, k, stride, mode):
    # the finiteness of x is checked by the callers: where the kernel reads every entry of x,
    # the kernel adds them up in the same pass (no second pass over x; see checks.check_finite)
    x = as_kernel_array(x, "x", ndim=4, finite=False)
    kh, kw = int_pair(k, "k", minimum=1)
    sh, sw = int_pair(k if stride is None else stride, "stride", minimum=1)
    mode = check_name(mode, _MODES, "pooling mode")
    H, W = x.shape[2:]
    if kh > H or kw > W:
        raise ValueError(f"pooling window {kh}x{kw} is larger than the input {H}x{W}")
    Ho, Wo = (H - kh) // sh + 1, (W - kw) // sw + 1
    return np.ascontiguousarray(x), (kh, kw, sh, sw, Ho, Wo), _MODES[mode]


def pool2d(x: np.ndarray, k: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
           mode: str = "max") -> np.ndarray:
    """Max, average or min pooling of each channel.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W), float32 or float64
        Input feature maps (any memory layout).
    k : int or (int, int)
        Window size.
    stride : int or (int, int), optional
        Step between windows; defaults to ``k`` (non-overlapping windows).
    mode : {"max", "avg", "min"}

    Returns
    -------
    ndarray, shape (N, C, Ho, Wo), dtype of ``x``
        ``Ho = output_size(H, kh, sh)`` (no padding), and the same for ``Wo``.

    Raises
    ------
    ValueError
        Wrong number of dimensions, a window larger than the input, ``k`` or stride < 1, NaN or
        inf, an integer dtype, an unknown mode.
    """
    x, (kh, kw, sh, sw, Ho, Wo), m = _check(x, k, stride, mode)
    if kh == kw == 2:
        y = np.empty(x.shape[:2] + (Ho, Wo), dtype=x.dtype)
        total = _in_parts(_pool_forward_2x2, (x, y, sh, sw, m), x)
        check_finite(x, "x", total if _tiled(x, sh, sw, Ho, Wo) else None)
        return y
    check_finite(x, "x")
    y = np.empty(x.shape[:2] + (Ho, Wo), dtype=x.dtype)
    _in_parts(_pool_forward, (x, y, kh, kw, sh, sw, m), x)
    return y


def _in_parts(kernel, args: tuple, x) -> float:
    """Run a pooling kernel over the images of ``x`` in parts (``threads.split_batch``, one
    entry of ``x`` counted as one operation: a part reads at least ``PART_WORK`` entries, 16 MB
    in float64, about a millisecond); return the sum of the parts' sums (for the finiteness
    check only), added in part order. Every output entry depends on its own window only, so
    the parts change no bit of any result."""
    total = 0.0
    for t in split_batch(kernel, args, x.shape[0], 1, float(x.size)):
        total += t
    return total


def _bits(a: np.ndarray) -> np.ndarray:
    """``a`` (float32 or float64) seen as integers of the same width, sharing its memory."""
    return a.view(np.int64 if a.itemsize == 8 else np.int32)


def _tiled(x, sh: int, sw: int, Ho: int, Wo: int) -> bool:
    """Whether 2x2 windows at this stride cover every entry of ``x`` (so a kernel sum over the
    windows is a sum over all of ``x``)."""
    return sh == sw == 2 and x.shape[2] == 2 * Ho and x.shape[3] == 2 * Wo


def pool2d_backward(dy: np.ndarray, x: np.ndarray, k: int | tuple[int, int],
                    stride: int | tuple[int, int] | None = None, mode: str = "max") -> np.ndarray:
    """Gradient of a scalar loss with respect to the input of :func:`pool2d`.

    Parameters
    ----------
    dy : ndarray, shape (N, C, Ho, Wo)
        Gradient with respect to ``pool2d(x, k, stride, mode)``.
    x, k, stride, mode
        The arguments of the forward call.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        For max and min, each ``dy`` entry goes to the first extreme entry of its window; for the
        average it is spread evenly (``1 / (kh kw)`` each). Overlapping windows add up.

    Raises
    ------
    ValueError
        Everything :func:`pool2d` rejects, and a ``dy`` of the wrong shape or dtype.
    """
    x, (kh, kw, sh, sw, Ho, Wo), m = _check(x, k, stride, mode)
    # dy's finiteness too is checked after the 2x2 kernel, which adds dy up with x (one pass)
    dy = as_kernel_array(dy, "dy", ndim=4, dtype=x.dtype, finite=False)
    shape = x.shape[:2] + (Ho, Wo)
    if dy.shape != shape:
        raise ValueError(f"dy must have the output shape {shape}, got {dy.shape}")
    dy = np.ascontiguousarray(dy)
    if kh == kw == 2 and sh >= 2 and sw >= 2 and m != _MODES["avg"]:
        # each input entry is written once: zeroing is needed only where no window reaches
        tiled = _tiled(x, sh, sw, Ho, Wo)
        dx = np.empty_like(x) if tiled else np.zeros_like(x)
        total = _in_parts(_pool_backward_2x2, (dy, _bits(dy), x, _bits(dx), sh, sw, m), x)
        check_finite(dy, "dy", total)  # total: every dy, and the x of every window
        check_finite(x, "x", total if tiled else None)
        return dx
    check_finite(dy, "dy")
    check_finite(x, "x")
    dx = np.zeros_like(x)
    _in_parts(_pool_backward, (dy, x, dx, kh, kw, sh, sw, m), x)
    return dx


@njit(cache=True, nogil=True)
def _pool_forward(x, y, kh, kw, sh, sw, mode, lo, hi):
    """Images lo..hi-1 into ``y``, row by row: each output row starts from one window entry and
    takes the max, min or sum with the other kh*kw - 1 entries across the whole row at once (a
    loop over j that vectorizes)."""
    C, Ho, Wo = y.shape[1], y.shape[2], y.shape[3]
    scale = 1.0 / (kh * kw)
    for n in range(lo, hi):
        for c in range(C):
            for i in range(Ho):
                h0 = i * sh
                row = y[n, c, i]
                src = x[n, c, h0]
                for j in range(Wo):
                    row[j] = src[j * sw]
                for u in range(kh):
                    src = x[n, c, h0 + u]
                    for v in range(kw):
                        if u == 0 and v == 0:
                            continue
                        if mode == 0:
                            for j in range(Wo):
                                row[j] = max(row[j], src[j * sw + v])
                        elif mode == 2:
                            for j in range(Wo):
                                row[j] = min(row[j], src[j * sw + v])
                        else:
                            for j in range(Wo):
                                row[j] += src[j * sw + v]
                if mode == 1:
                    for j in range(Wo):
                        row[j] *= scale
    return 0.0


@njit(cache=True, nogil=True)
def _pool_forward_2x2(x, y, sh, sw, mode, lo, hi):
    """2x2 windows, any stride, images lo..hi-1 into ``y``: each window's extreme (or mean) in
    one expression, one output row at a time (same results, bit for bit, as
    :func:`_pool_forward`: the extreme is the same value, the mean adds in the same order).

    Returns the sum of the entries it read, in float64, for the finiteness check
    (:func:`nnbook.checks.check_finite`), which so needs no pass of its own over ``x``. The sum
    goes into one accumulator per output column (``acc``, in the dtype of ``x``; an overflow
    only sends the check to its exact pass), added up at the end: a single running total would
    chain every addition to the one before and keep the loop from being vectorized (2-3x
    slower). Stride 2 (the common case) has a loop nest of its own, :func:`_row_2x2`, with
    constant strides, which LLVM vectorizes (AVX-512 here; a runtime stride cost 25-35 %)."""
    N, C, Ho, Wo = y.shape
    quarter = x.dtype.type(0.25)
    acc = np.zeros(Wo, x.dtype)
    if sh == sw == 2:  # the common case: constant strides, vectorized
        for n in range(lo, hi):
            for c in range(C):
                for i in range(Ho):
                    _row_2x2(x[n, c, 2 * i], x[n, c, 2 * i + 1], y[n, c, i], acc, mode)
    else:
        for n in range(lo, hi):
            for c in range(C):
                for i in range(Ho):
                    r0, r1 = x[n, c, i * sh], x[n, c, i * sh + 1]
                    row = y[n, c, i]
                    for j in range(Wo):
                        w = j * sw
                        a, b, cc, d = r0[w], r0[w + 1], r1[w], r1[w + 1]
                        acc[j] += (a + b) + (cc + d)
                        if mode == 0:
                            row[j] = max(max(a, b), max(cc, d))
                        elif mode == 2:
                            row[j] = min(min(a, b), min(cc, d))
                        else:
                            row[j] = (((a + b) + cc) + d) * quarter
    total = 0.0
    for j in range(Wo):
        total += acc[j]
    return total


@njit(cache=True, nogil=True, inline="always")
def _row_2x2(r0, r1, row, acc, mode):
    """One output row of :func:`_pool_forward_2x2` at stride 2: ``row[j]`` is the max (mode 0),
    mean (1) or min (2) of ``r0[2j:2j+2]`` and ``r1[2j:2j+2]``; their sum goes to ``acc[j]``.
    The extreme through selects (``b if b > a else a``), which LLVM vectorizes, unlike the
    builtin max."""
    if mode == 0:
        for j in range(row.shape[0]):
            a, b, cc, d = r0[2 * j], r0[2 * j + 1], r1[2 * j], r1[2 * j + 1]
            acc[j] += (a + b) + (cc + d)
            m = b if b > a else a
            m = cc if cc > m else m
            row[j] = d if d > m else m
    elif mode == 2:
        for j in range(row.shape[0]):
            a, b, cc, d = r0[2 * j], r0[2 * j + 1], r1[2 * j], r1[2 * j + 1]
            acc[j] += (a + b) + (cc + d)
            m = b if b < a else a
            m = cc if cc < m else m
            row[j] = d if d < m else m
    else:
        quarter = r0.dtype.type(0.25)
        for j in range(row.shape[0]):
            a, b, cc, d = r0[2 * j], r0[2 * j + 1], r1[2 * j], r1[2 * j + 1]
            acc[j] += (a + b) + (cc + d)
            row[j] = (((a + b) + cc) + d) * quarter


@njit(cache=True, nogil=True)
def _pool_backward(dy, x, dx, kh, kw, sh, sw, mode, lo, hi):
    """Images lo..hi-1 into ``dx`` (zeroed), window by window: find the first extreme entry again
    and add dy to it (or spread dy evenly). (A row-at-a-time version like the forward kernel
    measured 2x slower here.)"""
    N, C, H, W = x.shape
    Ho, Wo = dy.shape[2], dy.shape[3]
    scale = 1.0 / (kh * kw)
    for n in range(lo, hi):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    h0, w0 = i * sh, j * sw
                    g = dy[n, c, i, j]
                    if mode == 1:
                        for u in range(kh):
                            for v in range(kw):
                                dx[n, c, h0 + u, w0 + v] += g * scale
                        continue
                    best = x[n, c, h0, w0]
                    bu, bv = 0, 0
                    for u in range(kh):
                        for v in range(kw):
                            val = x[n, c, h0 + u, w0 + v]
                            if (mode == 0 and val > best) or (mode == 2 and val < best):
                                best, bu, bv = val, u, v
                    dx[n, c, h0 + bu, w0 + bv] += g
    return 0.0


@njit(cache=True, nogil=True)
def _pool_backward_2x2(dy, dy_bits, x, dx_bits, sh, sw, mode, lo, hi):
    """Max or min over 2x2 windows that do not overlap (stride >= 2), images lo..hi-1, into
    ``dx`` (zeroed by the caller where no window reaches): the common case, without a branch on
    the data.

    ``dy_bits`` and ``dx_bits`` are ``dy`` and ``dx`` seen as integers of the same width
    (:func:`_bits`): the gradient is moved, not computed. For a window a b / c d (row-major) the
    first extreme entry is in the top row if the top row's extreme is at least as extreme as
    the bottom's, and within a row on the left if the left entry is at least as extreme as the
    right (ties to the first entry in row-major order, as :func:`_pool_backward`). Each of the
    three comparisons becomes an all-ones or all-zeros mask, and every entry of the window gets
    ``dy & mask`` (the bits of dy, or +0.0). Unlike float selects, these bitwise operations
    vectorize even when LLVM cannot prove the arrays apart, and the part of a row left over by
    the vector loop runs without branches (1.4-1.9x faster than selects, measured; a search with
    branches, as in :func:`_pool_backward`, mispredicts on most comparisons of random data).
    Returns the sum of ``dy`` and of the entries of ``x`` it read, for the finiteness checks of
    both (one accumulator per output column, as in :func:`_pool_forward_2x2`); ``dy`` (as
    floats) is passed for that sum only."""
    Wo = dy_bits.shape[3]
    acc = np.zeros(Wo, x.dtype)
    if sh == sw == 2:  # the common case: the strides as constants, so the loop vectorizes
        _backward_rows_2x2(dy, dy_bits, x, dx_bits, acc, 2, 2, mode, lo, hi)
    else:
        _backward_rows_2x2(dy, dy_bits, x, dx_bits, acc, sh, sw, mode, lo, hi)
    total = 0.0
    for j in range(Wo):
        total += acc[j]
    return total


@njit(cache=True, nogil=True, inline="always")
def _backward_rows_2x2(dy, dy_bits, x, dx_bits, acc, sh, sw, mode, lo, hi):
    """The loop nest of :func:`_pool_backward_2x2` over images lo..hi-1, adding each window's sum
    of x and its dy into ``acc[j]``. Inlined where it is called, so a call with the literal
    strides 2, 2 compiles with constant strides (a runtime stride cost 25-35 %)."""
    C, Ho, Wo = dy_bits.shape[1], dy_bits.shape[2], dy_bits.shape[3]
    zero = dy_bits.dtype.type(0)
    for n in range(lo, hi):
        for c in range(C):
            for i in range(Ho):
                r0, r1 = x[n, c, i * sh], x[n, c, i * sh + 1]
                d0, d1 = dx_bits[n, c, i * sh], dx_bits[n, c, i * sh + 1]
                g, gf = dy_bits[n, c, i], dy[n, c, i]
                for j in range(Wo):
                    acc[j] += _route(r0, r1, g, d0, d1, j, j * sw, mode, zero) + gf[j]


@njit(cache=True, nogil=True, inline="always")
def _route(r0, r1, g, d0, d1, j, w, mode, zero):
    """One window of :func:`_pool_backward_2x2`: rows r0, r1 of x from column w, dy bits g[j],
    into the dx bits d0, d1; returns the sum of the window's four entries."""
    a, b, cc, d = r0[w], r0[w + 1], r1[w], r1[w + 1]
    # (with selects instead of the builtin max/min LLVM vectorizes this loop, but it measured
    # no faster: rows of 14-16 windows, DESIGN.md "Pooling")
    if mode == 0:
        top, left0, left1 = max(a, b) >= max(cc, d), a >= b, cc >= d
    else:
        top, left0, left1 = min(a, b) <= min(cc, d), a <= b, cc <= d
    mtop = zero - g.dtype.type(top)  # all ones where true, else 0
    m0 = zero - g.dtype.type(left0)
    m1 = zero - g.dtype.type(left1)
    gt = g[j] & mtop
    gb = g[j] & ~mtop
    d0[w] = gt & m0
    d0[w + 1] = gt & ~m0
    d1[w] = gb & m1
    d1[w + 1] = gb & ~m1
    return (a + b) + (cc + d)
