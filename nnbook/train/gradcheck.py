"""Finite-difference checks of gradients (and a numerical Hessian).

Central differences :math:`[f(w + \\epsilon e_i) - f(w - \\epsilon e_i)] / 2\\epsilon` have an
error of order :math:`\\epsilon^2`, so with :math:`\\epsilon = 10^{-6}` an exact gradient agrees to
about 1e-9 (round-off dominates below that).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..checks import as_float_array, check_positive

__all__ = ["gradcheck", "numerical_gradient", "numerical_hessian", "flatten", "unflatten"]


def flatten(params: Any) -> list[np.ndarray]:
    """The arrays of a (nested) list/tuple of arrays, in order (e.g. ``net.weights``)."""
    if isinstance(params, np.ndarray):
        return [params]
    if isinstance(params, (list, tuple)):
        return [a for p in params for a in flatten(p)]
    raise ValueError(f"params must be arrays or (nested) lists of arrays, got {type(params).__name__}")


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
    check_positive(eps, "eps")
    flat = [as_float_array(p, "params").copy() for p in flatten(params)]
    grads = []
    for k, p in enumerate(flat):
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + eps
            fp = f(unflatten(flat, params))
            p[idx] = old - eps
            fm = f(unflatten(flat, params))
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
        ``max |analytic - numerical|`` over every parameter.
    """
    _, analytic = f(params)
    a_flat = flatten(analytic)
    p_flat = flatten(params)
    if [a.shape for a in a_flat] != [np.shape(p) for p in p_flat]:
        raise ValueError("the gradients returned by f are not shaped like params")
    numeric = flatten(numerical_gradient(lambda p: f(p)[0], params, eps))
    return float(max(np.max(np.abs(np.asarray(a) - n)) for a, n in zip(a_flat, numeric)))


def numerical_hessian(grad: Callable[[np.ndarray], np.ndarray], w: np.ndarray,
                      eps: float = 1e-5) -> np.ndarray:
    """Hessian by central differences of an analytic gradient ``grad(w)`` (w a vector).

    The result is symmetrised, :math:`(H + H^T)/2`.
    """
    w = as_float_array(w, "w", ndim=(1,))
    check_positive(eps, "eps")
    n = w.size
    H = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = eps
        H[:, i] = (np.asarray(grad(w + e)) - np.asarray(grad(w - e))) / (2 * eps)
    return 0.5 * (H + H.T)
