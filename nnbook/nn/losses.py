r"""Error functions and their output-layer deltas.

Conventions follow the notes: the error of a data set is the **sum** over patterns (and outputs).

========  ==========================================================  ======================
name      error                                                       canonical output
========  ==========================================================  ======================
``sse``   :math:`\tfrac12\sum_n\sum_k (y_{nk}-t_{nk})^2`                identity
``bce``   :math:`-\sum_n\sum_k [t\ln y + (1-t)\ln(1-y)]`                sigmoid
``ce``    :math:`-\sum_n\sum_k t_{nk}\ln y_{nk}`                        softmax
========  ==========================================================  ======================

With its canonical output activation each error gives the output delta
:math:`\delta_k = \partial E_n/\partial a_k = y_k - t_k`.
"""
from __future__ import annotations

import numpy as np

from ..checks import as_float_array, check_name, check_unit_interval
from .activations import (ACTIVATIONS, activation, derivative, log_softmax, softmax_jacobian, softplus)

__all__ = ["loss", "loss_from_activations", "output_delta", "LOSSES", "CANONICAL", "check_pairing"]

LOSSES = ("sse", "bce", "ce")
CANONICAL = {"sse": "identity", "bce": "sigmoid", "ce": "softmax"}
_TINY = np.finfo(float).tiny


def _check_pair(y, t, name: str = "y", loss: str = "sse"):
    """``y`` (or ``a``) and ``t`` as float arrays of one shape; ``bce``/``ce`` targets in [0, 1]."""
    y = as_float_array(y, name, ndim=(0, 1, 2))
    t = as_float_array(t, "t", ndim=(0, 1, 2))
    if y.shape != t.shape:
        raise ValueError(f"{name} and t must have the same shape, got {y.shape} and {t.shape}")
    if loss != "sse":  # a target of 2 or -1 would give a meaningless (even negative) error
        check_unit_interval(t, "t")
    return y, t


def loss(name: str, y, t) -> float:
    r"""Error of outputs ``y`` against targets ``t``, summed over every entry.

    Parameters
    ----------
    name : {"sse", "bce", "ce"}
    y : array_like, shape (K,) or (N, K)
        Network outputs. For ``bce`` and ``ce`` these are probabilities in [0, 1].
    t : array_like, same shape as ``y``
        Targets (0/1 for ``bce``, one-hot or class probabilities for ``ce``).

    Notes
    -----
    Probabilities of exactly 0 or 1 (a saturated sigmoid or softmax) are clipped to the smallest
    positive double before the logarithm, so the result stays finite and no warning is printed.
    Where the activations are available, :func:`loss_from_activations` is exact instead.
    """
    name = check_name(name, LOSSES, "loss")
    y, t = _check_pair(y, t, "y", name)
    if name == "sse":
        return float(0.5 * np.sum((y - t) ** 2))
    if np.any((y < 0) | (y > 1)):
        raise ValueError(f"loss {name!r} needs probabilities y in [0, 1]")
    if name == "bce":
        return float(-np.sum(t * np.log(np.maximum(y, _TINY))
                             + (1 - t) * np.log(np.maximum(1 - y, _TINY))))
    return float(-np.sum(t * np.log(np.maximum(y, _TINY))))


def loss_from_activations(name: str, a, t, output: str | None = None) -> float:
    r"""Error computed from the output *activations* ``a`` (logits), exact at any magnitude.

    ``bce`` with a sigmoid output uses :math:`\ln\sigma(a) = -\mathrm{softplus}(-a)`;
    ``ce`` with a softmax output uses log-softmax; so |a| = 1000 gives a finite, exact error.

    Parameters
    ----------
    name : {"sse", "bce", "ce"}
    a : array_like, shape (K,) or (N, K)
    t : array_like, same shape
    output : str, optional
        The output activation; defaults to the canonical one for ``name``.
    """
    name = check_name(name, LOSSES, "loss")
    output = CANONICAL[name] if output is None else check_name(output, ACTIVATIONS, "output")
    a, t = _check_pair(a, t, "a", name)
    check_pairing(name, output)  # the same rule as output_delta and MLP.gradients
    if name == "bce" and output == "sigmoid":
        return float(np.sum(t * softplus(-a) + (1 - t) * softplus(a)))
    if name == "ce" and output == "softmax":
        return float(-np.sum(t * log_softmax(np.atleast_1d(a))))
    return loss(name, activation(output)(a), t)


def check_pairing(name: str, output: str) -> None:
    """``bce`` needs a sigmoid output and ``ce`` a softmax output (``sse`` takes any)."""
    if name != "sse" and CANONICAL[name] != output:
        raise ValueError(f"loss {name!r} needs a {CANONICAL[name]} output layer, got {output!r}")


def output_delta(name: str, a: np.ndarray, t: np.ndarray, output: str) -> np.ndarray:
    r"""Output deltas :math:`\delta_k = \partial E_n / \partial a_k`, shape like ``a`` ((K,) or (N, K)).

    The canonical pairings (sse+identity, bce+sigmoid, ce+softmax) give :math:`y - t`. Sum-of-
    squares can be paired with any output activation (general chain rule, including the softmax
    Jacobian). ``bce`` needs a sigmoid output and ``ce`` a softmax output; other pairings raise
    ``ValueError`` because the error would not be defined for every output value.
    """
    name = check_name(name, LOSSES, "loss")
    output = check_name(output, ACTIVATIONS, "output")
    a, t = _check_pair(a, t, "a", name)
    check_pairing(name, output)
    y = activation(output)(a)
    if name in ("bce", "ce") or output == "identity":
        return y - t
    if output == "softmax":
        # delta_j = sum_k (y_k - t_k) dy_k/da_j
        return np.einsum("...k,...kj->...j", y - t, softmax_jacobian(a))
    return (y - t) * derivative(output, a)
