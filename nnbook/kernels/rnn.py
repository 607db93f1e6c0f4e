r"""Vanilla recurrent networks: forward pass, backpropagation through time, state Jacobians.

The network of the book (notation of chapter 9), for :math:`t = 1, \dots, T`:

.. math::

    \mathbf a^{(t)} = W_{hh}\mathbf h^{(t-1)} + W_{xh}\mathbf x^{(t)} + \mathbf b_h,\qquad
    \mathbf h^{(t)} = f(\mathbf a^{(t)}),\qquad
    \mathbf o^{(t)} = W_{hy}\mathbf h^{(t)} + \mathbf b_y,\qquad
    \hat{\mathbf y}^{(t)} = g(\mathbf o^{(t)}),

with the error summed over time steps (and over the sequences of a batch),
:math:`E = \sum_t E^{(t)}`. Parameters are a ``dict`` of arrays (the shape the shared optimizers
of :mod:`nnbook.train.optimizers` step in place)::

    {"Wxh": (Dh, Dx), "Whh": (Dh, Dh), "Why": (Dy, Dh), "bh": (Dh,), "by": (Dy,)}

* :func:`rnn_params` -- a seeded parameter dict of the right shapes;
* :func:`rnn_forward` -- every intermediate ``a``, ``h``, ``o``, ``y``;
* :func:`rnn_bptt` -- the error and its gradient (BPTT), optionally the gradient
  :math:`\partial E/\partial\mathbf h^{(t)}` that reaches every time step;
* :func:`state_jacobians` -- :math:`\partial\mathbf h^{(t)}/\partial\mathbf h^{(t-1)}
  = \mathrm{diag}(f'(\mathbf a^{(t)}))\,W_{hh}` for every ``t``.

Inputs ``X`` are ``(T, Dx)`` for one sequence or ``(T, B, Dx)`` for a batch of ``B`` sequences
(time first, as PyTorch's default). Targets ``Y`` are ``(T, Dy)``/``(T, B, Dy)``, or, with
``loss_at="last"`` (sequence-to-one), ``(Dy,)``/``(B, Dy)``. With ``loss="ce"`` they may also be
integer class indices (one dimension fewer).

Output/loss pairs are the canonical ones, whose output delta is
:math:`\partial E^{(t)}/\partial\mathbf o^{(t)} = \hat{\mathbf y}^{(t)} - \mathbf y^{(t)}`:
``"identity"``/``"sse"``, ``"softmax"``/``"ce"``, ``"sigmoid"``/``"bce"``.

The public functions validate and normalize their input in Python (:class:`ValueError` naming the
problem); the time loops run in private ``@njit(cache=True)`` kernels on ``(T, B, D)`` float64
arrays. This module also holds the pieces the gated cells of :mod:`nnbook.kernels.gated` share (target
handling, output layer and loss, stable sigmoid/tanh loops).
"""
from __future__ import annotations

import contextlib
import math
from typing import Mapping

import numpy as np
from numba import njit

from ..checks import (ArgumentTypeError, as_float_array, check_bool, check_keys, check_name,
                      check_real, check_seed)
from . import threads
from .threads import single_threaded_blas, split_batch

__all__ = ["rnn_params", "rnn_forward", "rnn_bptt", "state_jacobians", "RNN_SHAPES",
           "ACTIVATION_CODES", "OUTPUT_LOSS"]

#: parameter name -> shape in terms of the sizes Dx, Dh, Dy
RNN_SHAPES = {"Wxh": ("Dh", "Dx"), "Whh": ("Dh", "Dh"), "Why": ("Dy", "Dh"), "bh": ("Dh",),
              "by": ("Dy",)}
#: hidden activations of the vanilla RNN and their kernel codes
ACTIVATION_CODES = {"tanh": 0, "relu": 1, "sigmoid": 2, "identity": 3}
#: output activation -> the loss it pairs with (canonical pairs: delta = y - t)
OUTPUT_LOSS = {"identity": "sse", "softmax": "ce", "sigmoid": "bce"}
_OUTPUT_CODES = {"identity": 0, "softmax": 1, "sigmoid": 2}
_LOSS_AT = ("all", "last")
_FLOAT_KINDS = (np.float64,)


# ----------------------------------------------------------------------------------------------
# validation (Python; runs before any kernel)
# ----------------------------------------------------------------------------------------------
_F64 = np.dtype(np.float64)


_SMALL = 4096  # OpenBLAS computes a dot product of up to 10000 entries on one thread


def _sq(x: np.ndarray) -> float:
    """A number that is finite if every entry of ``x`` is (and, rarely, inf when it is not).

    For a small array ``x.x`` (NaN and inf propagate; BLAS raises no floating-point warnings; twice
    as fast as ``isfinite`` on tiny arrays). A larger one gets the exact test: BLAS would thread the
    dot product, and its threads stall for milliseconds on a busy machine.
    """
    if x.size <= _SMALL:
        return np.vdot(x, x)
    return 0.0 if np.isfinite(x).all() else math.inf


def _finite(x: np.ndarray) -> bool:
    # x.x may overflow for huge finite values: only a non-finite result needs the exact test
    return math.isfinite(_sq(x)) or bool(np.isfinite(x).all())


def _not_finite(x: np.ndarray, name: str) -> ValueError:
    bad = "NaN" if np.isnan(x).any() else "inf"
    return ValueError(f"{name} contains {bad}; every value must be finite")


def _arr(x, name: str, ndim: tuple[int, ...]) -> np.ndarray:
    """Fast path of :func:`as_float_array` for float64 ndarrays (the common case).

    Called on every step of a training loop, often on tiny arrays, so it is kept lean.
    """
    if type(x) is np.ndarray and x.dtype == _F64 and x.ndim in ndim:
        if x.size == 0:
            raise ValueError(f"{name} is empty (shape {x.shape})")
        if not _finite(x):
            raise _not_finite(x, name)
        return x
    return as_float_array(x, name, ndim=ndim)


_PARSED: dict = {}


def _parse(shapes: Mapping[str, tuple[str, ...]]) -> list:
    """``[(key, ndim, [(multiple, size name), ...]), ...]`` for a shape table (cached)."""
    spec = _PARSED.get(id(shapes))
    if spec is None:
        spec = [(k, len(dims), [(int(d[0]), d[1:]) if d[0].isdigit() else (1, d) for d in dims])
                for k, dims in shapes.items()]
        _PARSED[id(shapes)] = spec
    return spec


def check_params(params, shapes: Mapping[str, tuple[str, ...]], cell: str) -> dict:
    """Check a parameter dict against named shapes; return ``{key: float64 array}`` and sizes.

    ``shapes`` maps each key to a tuple of size names (``"Dh"``, ``"4Dh"``, ...). The sizes are
    read off the arrays, and every array must agree with them.

    Returns
    -------
    (dict, dict)
        The arrays (float64, C-contiguous) and the sizes ``{"Dx": ..., "Dh": ..., "Dy": ...}``.
    """
    check_keys(params, shapes, f"{cell} params")
    out = {}
    sizes: dict[str, int] = {}
    total = 0.0  # sum of the x.x of every array: finite only if every array is (see _finite)
    for key, nd, dims in _parse(shapes):
        a = params[key]
        if type(a) is np.ndarray and a.dtype == _F64 and a.ndim == nd and a.size:
            total += _sq(a)
        else:
            a = _arr(a, f"params[{key!r}]", (nd,))
        for n, (mult, base) in zip(a.shape, dims):
            if n % mult:
                raise ValueError(f"params[{key!r}] has shape {a.shape}; its size {mult}{base} "
                                 f"must be a multiple of {mult}")
            val = n // mult
            if sizes.setdefault(base, val) != val:
                raise ValueError(f"params[{key!r}] has shape {a.shape} (expected "
                                 f"{_fmt(shapes[key])}), which disagrees with {base} = "
                                 f"{sizes[base]} from the other parameters")
        out[key] = a if a.flags.c_contiguous else np.ascontiguousarray(a)
    if not math.isfinite(total):
        for key, a in out.items():
            if not _finite(a):
                raise _not_finite(a, f"params[{key!r}]")
    return out, sizes


def _fmt(dims) -> str:
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def check_sequence(X, Dx: int) -> tuple[np.ndarray, bool]:
    """``X`` as a C-contiguous ``(T, B, Dx)`` array and whether it was one sequence ``(T, Dx)``."""
    try:
        shape = np.shape(X)
    except ValueError as exc:  # a ragged list
        raise ValueError(f"X could not be converted to an array: {exc}") from None
    if len(shape) not in (2, 3):
        raise ValueError(f"X must be (T, Dx) for one sequence or (T, B, Dx) for a batch, got "
                         f"shape {shape}")
    if shape[0] == 0:
        raise ValueError("X has T = 0 time steps; a sequence needs at least one")
    X = _arr(X, "X", (2, 3))
    if X.shape[-1] != Dx:
        raise ValueError(f"X has {X.shape[-1]} features per step but the input weights expect "
                         f"Dx = {Dx}")
    single = X.ndim == 2
    if single:
        X = X[:, None, :]
    return (X if X.flags.c_contiguous else np.ascontiguousarray(X)), single


def check_state(h0, name: str, B: int, Dh: int, single: bool) -> np.ndarray:
    """An initial state (zeros when None) as a C-contiguous ``(B, Dh)`` array."""
    if h0 is None:
        return np.zeros((B, Dh))
    h0 = _arr(h0, name, (1, 2))
    if h0.ndim == 1:
        if h0.shape[0] != Dh:
            raise ValueError(f"{name} has shape {h0.shape} but the hidden size is Dh = {Dh}")
        return np.ascontiguousarray(np.broadcast_to(h0, (B, Dh)))
    if single or h0.shape != (B, Dh):
        want = f"({Dh},)" if single else f"({Dh},) or ({B}, {Dh})"
        raise ValueError(f"{name} has shape {h0.shape}; expected {want} for X of this shape")
    return h0 if h0.flags.c_contiguous else np.ascontiguousarray(h0)


def check_output_loss(output, loss) -> tuple[int, int]:
    """Kernel codes of a canonical (output activation, loss) pair."""
    output = check_name(output, _OUTPUT_CODES, "output")
    loss = check_name(loss, ("sse", "ce", "bce"), "loss")
    if OUTPUT_LOSS[output] != loss:
        want = [o for o, l in OUTPUT_LOSS.items() if l == loss][0]
        raise ValueError(f"loss {loss!r} pairs with output {want!r}, got output {output!r} "
                         "(only the canonical pairs identity/sse, softmax/ce, sigmoid/bce)")
    return _OUTPUT_CODES[output], ("sse", "ce", "bce").index(loss)


def check_targets(Y, T: int, B: int, Dy: int, single: bool, loss: int,
                  loss_at: str) -> tuple[np.ndarray, np.ndarray]:
    """Targets as a ``(T, B, Dy)`` array and the per-step weights ``(T,)`` (1 where E counts)."""
    last = check_name(loss_at, _LOSS_AT, "loss_at") == "last"
    lead = (() if last else (T,)) + (() if single else (B,))
    arr = np.asarray(Y) if not isinstance(Y, np.ndarray) else Y
    if loss == 1 and arr.ndim == len(lead) and (np.issubdtype(arr.dtype, np.integer)
                                                or arr.dtype == bool):
        if arr.shape != lead:
            raise ValueError(f"class indices Y have shape {arr.shape}; expected {lead}")
        if arr.size and (arr.min() < 0 or arr.max() >= Dy):
            raise ValueError(f"class indices Y must lie in 0..{Dy - 1} (Dy = {Dy} outputs)")
        Yf = np.zeros(lead + (Dy,))
        np.put_along_axis(Yf, arr.astype(np.intp)[..., None], 1.0, axis=-1)
    else:
        Yf = _arr(Y, "Y", (len(lead) + 1,)) if arr.ndim == len(lead) + 1 else None
        if Yf is None or Yf.shape != lead + (Dy,):
            extra = " or integer class indices of shape " + str(lead) if loss == 1 else ""
            where = " (loss_at='last': one target per sequence)" if last else ""
            raise ValueError(f"Y has shape {arr.shape}; expected {lead + (Dy,)}{extra}{where}")
        if loss and np.any((Yf < 0) | (Yf > 1)):  # bce and ce: 0/1 targets or probabilities
            raise ValueError(f"{('sse', 'ce', 'bce')[loss]} targets Y must lie in [0, 1]")
    Yf = Yf.reshape(((1,) if last else (T,)) + (B, Dy))
    mask = np.ones(T)
    if last:
        Yf = np.concatenate([np.zeros((T - 1, B, Dy)), Yf]) if T > 1 else Yf
        mask[:-1] = 0.0
    return np.ascontiguousarray(Yf), mask


def squeeze(arr: np.ndarray, single: bool) -> np.ndarray:
    """Drop the batch axis (axis 1) of a kernel result when the input was one sequence."""
    return arr[:, 0] if single else arr


def blas_guard(X: np.ndarray, M: int, Dh: int):
    """Context for a kernel call: a batch (B > 1) calls SciPy's BLAS, kept on one thread there
    (:func:`nnbook.kernels.threads.single_threaded_blas`); one sequence calls no BLAS at all."""
    T, B = X.shape[:2]
    if B == 1:
        return contextlib.nullcontext()
    return single_threaded_blas(float(T * B) * M * max(Dh, X.shape[2]))


PART_SEQUENCES = 8  # sequences per part at least, unless one sequence alone is a part's work


def run_split(kernel, args: tuple, X: np.ndarray, M: int, Dh: int, Dy: int, kinds: str) -> tuple:
    """Call a BPTT part kernel ``kernel(*args, lo, hi)`` over the batch of ``X`` and join the
    parts' results.

    The sequences of a batch are independent, so :func:`nnbook.kernels.threads.split_batch` may cut the
    batch in two halves, each running forward and backward on its own (at the same time on two
    cores when one is free). ``kinds`` says, result by result, how the halves' values join:
    ``"s"`` summed (first half plus second: a fixed order, so the sum is the same whether the
    halves ran at the same time or one after the other), ``"t"`` concatenated along axis 1
    (``(T, B, ...)`` arrays), ``"b"`` along axis 0 (``(B, ...)``), ``"-"`` dropped (``None``: a
    result the caller does not want, which is then not copied). ``M`` is the size of the gate
    pre-activations (Dh, 4Dh, 3Dh).

    The forward functions are not split: joining the halves' (T, B, ...) arrays, every one of
    which they return, cost more than the split saved (LSTM (8, 128, 1000, 32): 540 ms with the
    halves at the same time and 1040 ms one after the other, against 430 ms in one call).
    """
    T, B, Dx = X.shape
    per_sequence = 3.0 * T * (M * (Dx + Dh) + Dy * Dh)  # multiply-adds of forward + backward
    # a part is one sequence (the loop path, no BLAS) when one sequence is work enough, else at
    # least PART_SEQUENCES of them (parts of 2-7 sequences took BLAS calls too small to pay)
    minimum = 1 if per_sequence >= threads.PART_WORK else PART_SEQUENCES
    with blas_guard(X, M, Dh):
        parts = split_batch(kernel, args, B, 1, per_sequence * B, minimum)
    if len(parts) == 1:
        return tuple(None if k == "-" else v for k, v in zip(kinds, parts[0]))
    out = []
    for k, values in zip(kinds, zip(*parts)):
        if k == "s":  # partial sums added in part order: the same whatever ran them
            total = values[0]
            for v in values[1:]:
                total = total + v
            out.append(total)
        elif k == "t":
            out.append(np.concatenate(values, axis=1))
        elif k == "b":
            out.append(np.concatenate(values, axis=0))
        else:
            out.append(None)
    return tuple(out)


def rnn_params(Dx: int, Dh: int, Dy: int, seed: int = 0, scale: float = 1.0) -> dict:
    r"""Random parameters of a vanilla RNN, keyed and shaped as :func:`rnn_forward` expects.

    Weights are drawn :math:`\mathcal N(0, \mathrm{scale}^2/\text{fan-in})` (fan-in ``Dx`` for
    ``Wxh``, ``Dh`` for ``Whh`` and ``Why``); biases are zero.

    Parameters
    ----------
    Dx, Dh, Dy : int
        Input, hidden and output sizes.
    seed : int
        Seed of ``np.random.default_rng``.
    scale : float
        Multiplies every weight (e.g. to study how the size of ``Whh`` affects gradients).

    Returns
    -------
    dict
        ``{"Wxh": (Dh, Dx), "Whh": (Dh, Dh), "Why": (Dy, Dh), "bh": (Dh,), "by": (Dy,)}``.
    """
    sizes = _check_sizes(Dx=Dx, Dh=Dh, Dy=Dy)
    seed, scale = _check_draw(seed, scale)
    rng = np.random.default_rng(seed)
    return {"Wxh": rng.normal(0, scale / math.sqrt(Dx), (Dh, Dx)),
            "Whh": rng.normal(0, scale / math.sqrt(Dh), (Dh, Dh)),
            "Why": rng.normal(0, scale / math.sqrt(Dh), (Dy, Dh)),
            "bh": np.zeros(Dh), "by": np.zeros(sizes["Dy"])}


def _check_sizes(**sizes) -> dict:
    for k, v in sizes.items():
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise ArgumentTypeError(f"{k} must be a positive integer, got {v!r}")
        if v < 1:
            raise ValueError(f"{k} must be a positive integer, got {v!r}")
    return sizes


def _check_draw(seed, scale) -> tuple[int, float]:
    """The seed and weight scale of a ``*_params`` function (a non-negative int; finite >= 0)."""
    return check_seed(seed), check_real(scale, "scale", minimum=0.0)


# ----------------------------------------------------------------------------------------------
# kernels
# ----------------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _sigmoid(x):
    # no branch (a sign test mispredicts on random data and doubles the cost); for x < -709
    # exp overflows to inf inside the kernel (no warning) and 1/(1 + inf) = 0, the right limit
    return 1.0 / (1.0 + math.exp(-x))


@njit(cache=True, inline="always")
def _tanh(x):
    # about three times faster than math.tanh (libm, ~15 ns): one exp and a division. Near 0,
    # where 1 - 2/(1 + e^{2x}) cancels, the odd Taylor series (relative error < 1e-16 there)
    if abs(x) < 0.0625:
        x2 = x * x
        return x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0 + x2 * (
            62.0 / 2835.0 + x2 * (-1382.0 / 155925.0))))))
    return 1.0 - 2.0 / (1.0 + math.exp(2.0 * x))


@njit(cache=True, inline="always")
def _softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@njit(cache=True)
def output_loss_kernel(H, Why, by, Y, mask, out, loss):
    """Output layer, error and output deltas for hidden states ``H`` (T, B, Dh).

    Returns ``(O, Yhat, E, D)``: ``O``, ``Yhat`` (T, B, Dy), the error ``E`` summed over the
    steps with ``mask[t] = 1`` and the deltas ``D = mask * (Yhat - Y)`` (T, B, Dy).
    """
    T, B, Dh = H.shape
    Dy = Why.shape[0]
    O = product(H.reshape(T * B, Dh), np.ascontiguousarray(Why.T), B > 1).reshape(T, B, Dy)
    Yh = np.empty_like(O)
    D = np.empty_like(O)
    E = 0.0
    for t in range(T):
        w = mask[t]
        for b in range(B):
            o = O[t, b]
            y = Yh[t, b]
            tg = Y[t, b]
            if out == 0:
                for k in range(Dy):
                    o[k] += by[k]
                    y[k] = o[k]
            elif out == 2:
                for k in range(Dy):
                    o[k] += by[k]
                    y[k] = _sigmoid(o[k])
            else:
                m = -np.inf
                for k in range(Dy):
                    o[k] += by[k]
                    m = max(m, o[k])
                s = 0.0
                for k in range(Dy):
                    y[k] = math.exp(o[k] - m)
                    s += y[k]
                lse = m + math.log(s)
                for k in range(Dy):
                    y[k] /= s
            if w != 0.0:
                e = 0.0
                if loss == 0:
                    for k in range(Dy):
                        e += 0.5 * (y[k] - tg[k]) ** 2
                elif loss == 1:
                    for k in range(Dy):
                        if tg[k] != 0.0:
                            e -= tg[k] * (o[k] - lse)
                else:
                    for k in range(Dy):
                        e += tg[k] * _softplus(-o[k]) + (1.0 - tg[k]) * _softplus(o[k])
                E += w * e
            for k in range(Dy):
                D[t, b, k] = w * (y[k] - tg[k])
    return O, Yh, E, D


@njit(cache=True)
def use_blas(B, M, K):
    """Whether a (B, K) x (K, M) product per time step is worth a BLAS call."""
    return B * M >= 256 and B > 1


@njit(cache=True, fastmath={"contract"})
def matmul_acc(P, WT, out, blas):
    """``out += P @ WT`` for ``P`` (B, K), ``WT`` (K, M) (C-contiguous): BLAS or axpy loops.

    The loop form runs over contiguous rows of ``WT``, so its inner loop vectorizes; it is
    faster than a BLAS call for one sequence of a small network.
    """
    if blas:
        out += np.dot(P, WT)
        return
    B, K = P.shape
    M = WT.shape[1]
    k4 = K - K % 4
    for b in range(B):
        o = out[b]
        p = P[b]
        for k in range(0, k4, 4):  # four rows of WT per pass over ``o``
            p0, p1, p2, p3 = p[k], p[k + 1], p[k + 2], p[k + 3]
            w0, w1, w2, w3 = WT[k], WT[k + 1], WT[k + 2], WT[k + 3]
            for j in range(M):
                o[j] += w0[j] * p0 + w1[j] * p1 + w2[j] * p2 + w3[j] * p3
        for k in range(k4, K):
            pk = p[k]
            w = WT[k]
            for j in range(M):
                o[j] += w[j] * pk


@njit(cache=True)
def product(P, WT, blas):
    """``P @ WT`` as a new array, for ``P`` (N, K), ``WT`` (K, M) C-contiguous.

    With ``blas``, BLAS writes the result itself: adding it to a zeroed array (Numba's ``+=`` on
    a 2-D array) took 22 ms for a (16000, 128) result that ``np.dot`` alone writes in 0.8 ms. An
    inner size K below 8 (e.g. ``D @ Why`` with Dy = 1) takes the loop form, 0.6 ms there.
    """
    if blas and P.shape[1] >= 8:
        return np.dot(P, WT)
    out = np.zeros((P.shape[0], WT.shape[1]))
    matmul_acc(P, WT, out, False)
    return out


@njit(cache=True, fastmath={"contract"})
def tproduct_acc(P, Q, out, blas):
    """``out += P.T @ Q`` for ``P`` (N, M), ``Q`` (N, K): a sum of N outer products.

    Loop form (no BLAS) for one sequence: BLAS threads gain nothing on these sizes and stall
    badly when the machine is busy.
    """
    if blas:
        out += np.dot(P.T, Q)
        return
    N, M = P.shape
    K = Q.shape[1]
    n4 = N - N % 4
    for n in range(0, n4, 4):  # four outer products per pass over ``out``: a quarter the traffic
        q0, q1, q2, q3 = Q[n], Q[n + 1], Q[n + 2], Q[n + 3]
        for m in range(M):
            a0, a1, a2, a3 = P[n, m], P[n + 1, m], P[n + 2, m], P[n + 3, m]
            o = out[m]
            for k in range(K):
                o[k] += a0 * q0[k] + a1 * q1[k] + a2 * q2[k] + a3 * q3[k]
    for n in range(n4, N):
        q = Q[n]
        for m in range(M):
            a = P[n, m]
            o = out[m]
            for k in range(K):
                o[k] += a * q[k]


@njit(cache=True)
def weight_grads(dGX, dGH, X, H, D, h0):
    """Sums over steps and sequences of the outer products that give the weight gradients:
    ``dGX`` (T, B, M) with the inputs, ``dGH`` with the previous states, ``D`` with the states."""
    T, B, M = dGX.shape
    Dx = X.shape[2]
    Dh = H.shape[2]
    Dy = D.shape[2]
    big = B > 1
    H2 = H.reshape(T * B, Dh)
    dWx = np.zeros((M, Dx))
    tproduct_acc(dGX.reshape(T * B, M), X.reshape(T * B, Dx), dWx, big)
    dWh = np.zeros((M, Dh))
    tproduct_acc(dGH[0], h0, dWh, big)
    if T > 1:
        tproduct_acc(dGH.reshape(T * B, M)[B:], H2[: (T - 1) * B], dWh, big)
    dWhy = np.zeros((Dy, Dh))
    tproduct_acc(D.reshape(T * B, Dy), H2, dWhy, big)
    return dWx, dWh, dWhy


@njit(cache=True)
def input_projection(X, Wx):
    """``X @ Wx.T`` for every step at once, (T, B, M): the part of each step's pre-activation that
    does not depend on the state, computed as one product before the time loop."""
    T, B, Dx = X.shape
    M = Wx.shape[0]
    return product(X.reshape(T * B, Dx), np.ascontiguousarray(Wx.T), B > 1).reshape(T, B, M)


@njit(cache=True)
def step_inputs(X, Wx, blas, keep):
    """Room for the input projections ``X @ Wx.T`` of :func:`input_step`, (T, B, M).

    Without BLAS (one sequence) they are all computed here, as one product before the time loop.
    With BLAS (a batch) each step computes its own, into a block that stays in cache: one product
    over all T*B rows wrote a (T*B, M) array at about 1.4 GB/s (95 ms for the LSTM at
    (8, 128, 1000, 32), where the 1000 per-step products take 5 ms). Then only ``keep`` asks for
    all T steps to be kept; otherwise one step's block is reused.
    """
    if not blas:
        return input_projection(X, Wx)
    return np.empty((X.shape[0] if keep else 1, X.shape[1], Wx.shape[0]))


@njit(cache=True)
def input_step(Z, X, WxT, t, blas):
    """Block of step ``t`` of the room ``Z`` from :func:`step_inputs`, holding ``x(t) @ Wx.T``."""
    if not blas:
        return Z[t]
    z = Z[min(t, Z.shape[0] - 1)]
    np.dot(X[t], WxT, z)
    return z


@njit(cache=True)
def outputs(H, Why, by, out):
    """Output pre-activations and outputs (T, B, Dy) of states ``H`` (no targets, no error)."""
    T, B, Dh = H.shape
    O, Yh, E, D = output_loss_kernel(H, Why, by, np.zeros((T, B, Why.shape[0])), np.zeros(T),
                                     out, 0)
    return O, Yh


@njit(cache=True)
def output_backward(H, Why, by, Y, mask, out, loss):
    """Output layer, error and ``dE/dh(t)`` through each step's own output, for every step at
    once: returns ``(E, D, dH)`` with the output deltas ``D`` (T, B, Dy) and ``dH`` (T, B, Dh)."""
    T, B, Dh = H.shape
    O, Yh, E, D = output_loss_kernel(H, Why, by, Y, mask, out, loss)
    dH = product(D.reshape(T * B, Why.shape[0]), Why, B > 1).reshape(T, B, Dh)
    return E, D, dH


@njit(cache=True)
def seqs(A, lo, hi):
    """Sequences ``lo..hi-1`` of a (T, B, D) array, C-contiguous (``A`` itself for all of them)."""
    if lo == 0 and hi == A.shape[1]:
        return A
    return np.ascontiguousarray(A[:, lo:hi])


@njit(cache=True)
def rows(A, lo, hi):
    """Rows ``lo..hi-1`` of a (B, D) array, C-contiguous (``A`` itself for all of them)."""
    if lo == 0 and hi == A.shape[0]:
        return A
    return np.ascontiguousarray(A[lo:hi])


@njit(cache=True)
def _rnn_states(Wxh, Whh, bh, X, h0, act):
    """Forward recurrence: pre-activations ``A`` and states ``H``, both (T, B, Dh)."""
    T, B, Dx = X.shape
    Dh = Whh.shape[0]
    blas = use_blas(B, Dh, Dh)
    A = step_inputs(X, Wxh, blas, True)
    H = np.empty((T, B, Dh))
    WT = np.ascontiguousarray(Whh.T)  # WT[k, j] = Whh[j, k]: column k of Whh is contiguous
    WxT = np.ascontiguousarray(Wxh.T)
    for t in range(T):
        At = input_step(A, X, WxT, t, blas)
        matmul_acc(h0 if t == 0 else H[t - 1], WT, At, blas)
        for b in range(B):
            a = At[b]
            h = H[t, b]
            for j in range(Dh):
                a[j] += bh[j]
                if act == 0:
                    h[j] = _tanh(a[j])
                elif act == 1:
                    h[j] = a[j] if a[j] > 0.0 else 0.0
                elif act == 2:
                    h[j] = _sigmoid(a[j])
                else:
                    h[j] = a[j]
    return A, H


@njit(cache=True)
def _rnn_forward_kernel(Wxh, Whh, Why, bh, by, X, h0, act, out):
    A, H = _rnn_states(Wxh, Whh, bh, X, h0, act)
    O, Yh = outputs(H, Why, by, out)
    return A, H, O, Yh


@njit(cache=True)
def _rnn_bptt_kernel(Wxh, Whh, Why, bh, by, X, Y, mask, h0, act, out, loss):
    A, H = _rnn_states(Wxh, Whh, bh, X, h0, act)
    T, B, Dh = H.shape
    Dx = X.shape[2]
    Dy = Why.shape[0]
    E, D, dH = output_backward(H, Why, by, Y, mask, out, loss)
    dA = A  # each step's deltas overwrite its pre-activations, read just before
    carry = np.zeros((B, Dh))  # W_hh^T delta(t+1): the part of dE/dh(t) coming from step t+1
    blas = use_blas(B, Dh, Dh)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            dh = dH[t, b]
            da = dA[t, b]
            h = H[t, b]
            a = A[t, b]
            for j in range(Dh):
                dh[j] += carry[b, j]
                if act == 0:
                    da[j] = dh[j] * (1.0 - h[j] * h[j])
                elif act == 1:
                    da[j] = dh[j] if a[j] > 0.0 else 0.0
                elif act == 2:
                    da[j] = dh[j] * h[j] * (1.0 - h[j])
                else:
                    da[j] = dh[j]
        carry[:] = 0.0
        matmul_acc(dA[t], Whh, carry, blas)
    dWxh, dWhh, dWhy = weight_grads(dA, dA, X, H, D, h0)
    dbh = dA.reshape(T * B, Dh).sum(axis=0)
    dby = D.reshape(T * B, Dy).sum(axis=0)
    return E, dWxh, dWhh, dWhy, dbh, dby, dH, carry


# The part kernels: sequences lo..hi-1 of the batch, without the GIL (nnbook.kernels.threads.split_batch)
@njit(cache=True, nogil=True)
def _rnn_bptt_part(Wxh, Whh, Why, bh, by, X, Y, mask, h0, act, out, loss, lo, hi):
    return _rnn_bptt_kernel(Wxh, Whh, Why, bh, by, seqs(X, lo, hi), seqs(Y, lo, hi), mask,
                            rows(h0, lo, hi), act, out, loss)


# ----------------------------------------------------------------------------------------------
# public functions
# ----------------------------------------------------------------------------------------------
def _prepare(params, X, h0, activation):
    p, s = check_params(params, RNN_SHAPES, "RNN")
    if type(activation) is not str or activation not in ACTIVATION_CODES:
        check_name(activation, ACTIVATION_CODES, "activation")
        activation = activation.lower()
    X, single = check_sequence(X, s["Dx"])
    h0 = check_state(h0, "h0", X.shape[1], s["Dh"], single)
    return p, s, X, single, h0, ACTIVATION_CODES[activation]


def rnn_forward(params: Mapping[str, np.ndarray], X, h0=None, activation: str = "tanh",
                output: str = "identity") -> dict:
    r"""Run a vanilla RNN over a sequence (or a batch of sequences).

    Parameters
    ----------
    params : dict
        ``{"Wxh": (Dh, Dx), "Whh": (Dh, Dh), "Why": (Dy, Dh), "bh": (Dh,), "by": (Dy,)}``.
    X : array_like, shape (T, Dx) or (T, B, Dx)
        The inputs :math:`\mathbf x^{(1)}, \dots, \mathbf x^{(T)}`.
    h0 : array_like, shape (Dh,) or (B, Dh), optional
        The initial state :math:`\mathbf h^{(0)}` (zeros by default).
    activation : {"tanh", "relu", "sigmoid", "identity"}
        The hidden activation :math:`f`.
    output : {"identity", "softmax", "sigmoid"}
        The output activation :math:`g`.

    Returns
    -------
    dict
        ``a``, ``h``: (T, Dh) or (T, B, Dh) -- pre-activations and states for t = 1..T
        (``h[t - 1]`` is :math:`\mathbf h^{(t)}`); ``o``, ``y``: (T, Dy) or (T, B, Dy) -- output
        pre-activations and outputs.
    """
    p, s, X, single, h0, act = _prepare(params, X, h0, activation)
    out = _OUTPUT_CODES[check_name(output, _OUTPUT_CODES, "output")]
    with blas_guard(X, s["Dh"], s["Dh"]):  # no split (see run_split)
        A, H, O, Yh = _rnn_forward_kernel(p["Wxh"], p["Whh"], p["Why"], p["bh"], p["by"], X, h0,
                                          act, out)
    return {"a": squeeze(A, single), "h": squeeze(H, single), "o": squeeze(O, single),
            "y": squeeze(Yh, single)}


def rnn_bptt(params: Mapping[str, np.ndarray], X, Y, h0=None, activation: str = "tanh",
             output: str = "identity", loss: str = "sse", loss_at: str = "all",
             return_state_grads: bool = False):
    r"""Error and gradients of a vanilla RNN by backpropagation through time.

    The backward recursion (``\odot`` elementwise):

    .. math::

        \frac{\partial E}{\partial\mathbf h^{(t)}} = W_{hy}^\top\boldsymbol\delta_o^{(t)}
        + W_{hh}^\top\boldsymbol\delta_h^{(t+1)},\qquad
        \boldsymbol\delta_h^{(t)} = \frac{\partial E}{\partial\mathbf h^{(t)}}\odot f'(\mathbf a^{(t)}),

    with :math:`\boldsymbol\delta_o^{(t)} = \hat{\mathbf y}^{(t)} - \mathbf y^{(t)}` and
    :math:`\boldsymbol\delta_h^{(T+1)} = 0`; then
    :math:`\partial E/\partial W_{xh} = \sum_t \boldsymbol\delta_h^{(t)}\mathbf x^{(t)\top}`,
    :math:`\partial E/\partial W_{hh} = \sum_t \boldsymbol\delta_h^{(t)}\mathbf h^{(t-1)\top}`,
    :math:`\partial E/\partial W_{hy} = \sum_t \boldsymbol\delta_o^{(t)}\mathbf h^{(t)\top}`, and the
    biases the sums of the deltas.

    Parameters
    ----------
    params, X, h0, activation, output
        As in :func:`rnn_forward`.
    Y : array_like
        Targets: (T, Dy) or (T, B, Dy); with ``loss_at="last"`` (Dy,) or (B, Dy). For
        ``loss="ce"`` one-hot rows (or class probabilities), or integer class indices of shape
        (T,)/(T, B) (``loss_at="last"``: () or (B,)).
    loss : {"sse", "ce", "bce"}
        Paired with ``output`` ``"identity"``, ``"softmax"``, ``"sigmoid"`` respectively.
    loss_at : {"all", "last"}
        Whether every step has a target (many-to-many) or only the last (many-to-one).
    return_state_grads : bool
        Also return ``{"dh": dE/dh(t) for t = 1..T, shape like h, "dh0": dE/dh(0)}``.

    Returns
    -------
    E : float
        The error summed over steps (and sequences).
    grads : dict
        Keyed and shaped like ``params``.
    state_grads : dict
        Only if ``return_state_grads``.
    """
    return_state_grads = check_bool(return_state_grads, "return_state_grads")
    p, s, X, single, h0, act = _prepare(params, X, h0, activation)
    out, lcode = check_output_loss(output, loss)
    T, B = X.shape[:2]
    Yf, mask = check_targets(Y, T, B, s["Dy"], single, lcode, loss_at)
    E, dWxh, dWhh, dWhy, dbh, dby, dH, dh0 = run_split(
        _rnn_bptt_part, (p["Wxh"], p["Whh"], p["Why"], p["bh"], p["by"], X, Yf, mask, h0, act, out,
                         lcode),
        X, s["Dh"], s["Dh"], s["Dy"], "ssssss" + ("tb" if return_state_grads else "--"))
    grads = {"Wxh": dWxh, "Whh": dWhh, "Why": dWhy, "bh": dbh, "by": dby}
    if return_state_grads:
        return E, grads, {"dh": squeeze(dH, single), "dh0": dh0[0] if single else dh0}
    return E, grads


def state_jacobians(params: Mapping[str, np.ndarray], X, h0=None,
                    activation: str = "tanh") -> np.ndarray:
    r"""The one-step Jacobians :math:`\partial\mathbf h^{(t)}/\partial\mathbf h^{(t-1)}
    = \mathrm{diag}(f'(\mathbf a^{(t)}))\,W_{hh}` for t = 1..T.

    Their product :math:`J^{(t)}J^{(t-1)}\cdots J^{(k+1)}` (later steps on the left) is
    :math:`\partial\mathbf h^{(t)}/\partial\mathbf h^{(k)}`.

    Parameters
    ----------
    params, X, h0, activation
        As in :func:`rnn_forward`.

    Returns
    -------
    ndarray, shape (T, Dh, Dh) (or (T, B, Dh, Dh) for a batch)
        Entry ``[t - 1, i, j]`` is :math:`\partial h_i^{(t)}/\partial h_j^{(t-1)}`.
    """
    p, s, X, single, h0, act = _prepare(params, X, h0, activation)
    with blas_guard(X, s["Dh"], s["Dh"]):
        A, H = _rnn_states(p["Wxh"], p["Whh"], p["bh"], X, h0, act)
    if act == 0:
        fp = 1.0 - H ** 2
    elif act == 1:
        fp = (A > 0).astype(float)
    elif act == 2:
        fp = H * (1.0 - H)
    else:
        fp = np.ones_like(H)
    return squeeze(fp[..., :, None] * p["Whh"], single)
