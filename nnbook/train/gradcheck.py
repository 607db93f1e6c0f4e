"""Finite-difference checks of gradients (and a numerical Hessian).

Central differences :math:`[f(w + \\epsilon e_i) - f(w - \\epsilon e_i)] / 2\\epsilon` have an
error of order :math:`\\epsilon^2`, so with :math:`\\epsilon = 10^{-6}` an exact gradient agrees to
about 1e-9 (round-off dominates below that).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..checks import ArgumentTypeError, as_float_array, check_positive

__all__ = ["gradcheck", "numerical_gradient", "numerical_hessian", "flatten", "unflatten"]


def flatten(params: Any) -> list[np.ndarray]:
    """The arrays of a (nested) list/tuple of arrays, in order (e.g. ``net.weights``)."""
    if isinstance(params, np.ndarray):
        return [params]
    if isinstance(params, (list, tuple)):
        return [a for p in params for a in flatten(p)]
    raise ArgumentTypeError(f"params must be arrays or (nested) lists of arrays, got "
                            f"{type(params).__name__}")


def _scalar(value, name: str) -> float:
    """``f``'s value as a float, or an error naming ``f`` (an array or a string is not a value)."""
    if np.ndim(value) != 0 or isinstance(value, (str, bytes, bool, np.bool_)) or np.iscomplexobj(value):
        raise ArgumentTypeError(f"{name} must return a real scalar, got {value!r:.80}")
    return float(value)


def unflatten(arrays: list[np.ndarray], like: Any) -> Any:
    """Rebuild the nesting of ``like`` from a flat list of arrays (inverse of :func:`flatten`)."""
    it = iter(arrays)

    def build(p):
        if isinstance(p, np.ndarray):
            return next(it)
        return type(p)(build(q) for q in p)
    return build(like)


def numerical_gradient(f: Callable[[Any], float], params: Any, eps: float = 1e-6) -> Any:
    """Central-difference gradient of the scalar ``f(params)``, nested like ``params``.

    ``params`` is not modified (``f`` receives perturbed copies).
    """
    if not callable(f):
        raise ArgumentTypeError(f"f must be a function of params, got {type(f).__name__}")
    check_positive(eps, "eps")
    flat = [as_float_array(p, "params").copy() for p in flatten(params)]
    if not flat:
        raise ValueError("params holds no arrays: nothing to differentiate")
    grads = []
    for k, p in enumerate(flat):
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + eps
            fp = _scalar(f(unflatten(flat, params)), "f")
            p[idx] = old - eps
            fm = _scalar(f(unflatten(flat, params)), "f")
            p[idx] = old
            g[idx] = (fp - fm) / (2 * eps)
        grads.append(g)
    return unflatten(grads, params)


def gradcheck(f: Callable[[Any], tuple[float, Any]], params: Any, eps: float = 1e-6) -> float:
    """Largest absolute difference between an analytic gradient and central differences.

    Parameters
    ----------
    f : callable
        ``f(params) -> (value, grads)``: the scalar value and its analytic gradient, nested like
        ``params`` (for an :class:`~nnbook.MLP`, ``grads`` is what ``gradients`` returns).
    params : ndarray or (nested) list/tuple of ndarray
        The point at which to check (e.g. ``net.weights``).
    eps : float
        Step of the central differences.

    Returns
    -------
    float
        ``max |analytic - numerical|`` over every parameter; NaN if any analytic or numerical
        entry is NaN (a NaN never counts as a match).
    """
    if not callable(f):
        raise ArgumentTypeError(f"f must be a function params -> (value, grads), got "
                                f"{type(f).__name__}")
    p_flat = flatten(params)
    if not p_flat:
        raise ValueError("params holds no arrays: nothing to check")
    out = f(params)
    if not isinstance(out, tuple) or len(out) != 2:
        raise ArgumentTypeError("f must return a pair (value, grads)")
    a_flat = flatten(out[1])
    if [np.shape(a) for a in a_flat] != [np.shape(p) for p in p_flat]:
        raise ValueError("the gradients returned by f are not shaped like params")
    numeric = flatten(numerical_gradient(lambda p: f(p)[0], params, eps))
    # np.max propagates NaN within an array, and so must the maximum across arrays
    return float(np.max([np.max(np.abs(np.asarray(a, dtype=float) - n))
                         for a, n in zip(a_flat, numeric)]))


def numerical_hessian(grad: Callable[[np.ndarray], np.ndarray], w: np.ndarray,
                      eps: float = 1e-5) -> np.ndarray:
    """Hessian by central differences of an analytic gradient ``grad(w)`` (w a vector).

    The result is symmetrised, :math:`(H + H^T)/2`.
    """
    if not callable(grad):
        raise ArgumentTypeError(f"grad must be a function w -> gradient, got {type(grad).__name__}")
    w = as_float_array(w, "w", ndim=(1,))
    check_positive(eps, "eps")
    n = w.size
    H = np.empty((n, n))

    def g(v):
        out = as_float_array(grad(v), "grad(w)")
        if out.shape != (n,):  # a scalar would broadcast into a column of the "Hessian"
            raise ValueError(f"grad must return a vector shaped like w, ({n},); got shape "
                             f"{out.shape}")
        return out
    for i in range(n):
        e = np.zeros(n)
        e[i] = eps
        H[:, i] = (g(w + e) - g(w - e)) / (2 * eps)
    return 0.5 * (H + H.T)
