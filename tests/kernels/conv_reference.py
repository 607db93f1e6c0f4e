"""Slow plain-NumPy references for the Numba kernels of nnbook.kernels.conv and nnbook.kernels.pool.

Two independent ways to convolve (direct loops over output positions, and im2col + one matrix
product), with their backward passes, and direct-loop pooling. Written for clarity, not speed;
``bench/bench_conv.py`` times the im2col version as the NumPy baseline.
"""
from __future__ import annotations

import numpy as np


def _pair(v):
    return (v, v) if np.isscalar(v) else tuple(v)


def pad(x, padding):
    ph, pw = _pair(padding)
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def conv2d_direct(x, w, b=None, stride=1, padding=0):
    """y[n, f, i, j] = b[f] + sum(w[f] * xpad[n, :, sh*i : sh*i+KH, sw*j : sw*j+KW])."""
    sh, sw = _pair(stride)
    xp = pad(x, padding)
    N, _, Hp, Wp = xp.shape
    F, _, KH, KW = w.shape
    Ho, Wo = (Hp - KH) // sh + 1, (Wp - KW) // sw + 1
    y = np.zeros((N, F, Ho, Wo), dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    patch = xp[n, :, sh * i:sh * i + KH, sw * j:sw * j + KW]
                    y[n, f, i, j] = np.sum(patch * w[f]) + (0 if b is None else b[f])
    return y


def conv2d_direct_backward(dy, x, w, stride=1, padding=0):
    """The adjoint loops of :func:`conv2d_direct`: every output position adds back its share."""
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    xp = pad(x, padding)
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    F, _, KH, KW = w.shape
    N, _, Ho, Wo = dy.shape
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    g = dy[n, f, i, j]
                    sl = (n, slice(None), slice(sh * i, sh * i + KH), slice(sw * j, sw * j + KW))
                    dw[f] += g * xp[sl]
                    dxp[sl] += g * w[f]
    H, W = x.shape[2:]
    return dxp[:, :, ph:ph + H, pw:pw + W], dw, dy.sum(axis=(0, 2, 3))


def im2col(x, KH, KW, stride=1, padding=0):
    """Columns (C*KH*KW, N*Ho*Wo): one receptive field per column, with fancy indexing."""
    sh, sw = _pair(stride)
    xp = pad(x, padding)
    N, C, Hp, Wp = xp.shape
    Ho, Wo = (Hp - KH) // sh + 1, (Wp - KW) // sw + 1
    c, u, v = np.meshgrid(np.arange(C), np.arange(KH), np.arange(KW), indexing="ij")
    i, j = np.meshgrid(np.arange(Ho), np.arange(Wo), indexing="ij")
    rows = (u.reshape(-1, 1) + sh * i.reshape(1, -1))            # (CKK, P)
    cols = (v.reshape(-1, 1) + sw * j.reshape(1, -1))
    patches = xp[:, c.reshape(-1, 1), rows, cols]                 # (N, CKK, P)
    return patches.transpose(1, 0, 2).reshape(C * KH * KW, -1), (Ho, Wo)


def conv2d_im2col(x, w, b=None, stride=1, padding=0):
    """im2col + one matrix product; the NumPy baseline of the benchmark."""
    N = x.shape[0]
    F, _, KH, KW = w.shape
    cols, (Ho, Wo) = im2col(x, KH, KW, stride, padding)
    y = (w.reshape(F, -1) @ cols).reshape(F, N, Ho, Wo).transpose(1, 0, 2, 3)
    if b is not None:
        y = y + b.reshape(1, F, 1, 1)
    return np.ascontiguousarray(y)


def conv2d_im2col_backward(dy, x, w, stride=1, padding=0):
    """Backward by im2col: dw = dY cols^T, dcols = W^T dY scattered back with np.add.at."""
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    cols, (Ho, Wo) = im2col(x, KH, KW, stride, padding)
    dymat = dy.transpose(1, 0, 2, 3).reshape(F, -1)
    dw = (dymat @ cols.T).reshape(w.shape)
    dcols = (w.reshape(F, -1).T @ dymat).reshape(C, KH, KW, N, Ho, Wo)
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=x.dtype)
    for u in range(KH):
        for v in range(KW):
            dxp[:, :, u:u + sh * Ho:sh, v:v + sw * Wo:sw] += dcols[:, u, v].transpose(1, 0, 2, 3)
    return dxp[:, :, ph:ph + H, pw:pw + W], dw, dymat.sum(axis=1)


def pool2d_direct(x, k, stride=None, mode="max"):
    """Direct loops over windows; returns y and the (first, row-major) arg-extreme of each."""
    kh, kw = _pair(k)
    sh, sw = _pair(k if stride is None else stride)
    N, C, H, W = x.shape
    Ho, Wo = (H - kh) // sh + 1, (W - kw) // sw + 1
    y = np.zeros((N, C, Ho, Wo), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    win = x[n, c, sh * i:sh * i + kh, sw * j:sw * j + kw]
                    y[n, c, i, j] = {"max": np.max, "min": np.min, "avg": np.mean}[mode](win)
    return y


def pool2d_direct_backward(dy, x, k, stride=None, mode="max"):
    kh, kw = _pair(k)
    sh, sw = _pair(k if stride is None else stride)
    dx = np.zeros_like(x)
    N, C, Ho, Wo = dy.shape
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    sl = (n, c, slice(sh * i, sh * i + kh), slice(sw * j, sw * j + kw))
                    win = x[sl]
                    if mode == "avg":
                        dx[sl] += dy[n, c, i, j] / (kh * kw)
                    else:
                        flat = np.argmax(win) if mode == "max" else np.argmin(win)
                        u, v = divmod(int(flat), kw)
                        dx[n, c, sh * i + u, sw * j + v] += dy[n, c, i, j]
    return dx
