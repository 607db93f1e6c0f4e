"""Activation functions and their derivatives, numerically stable.

Each activation is a function of the pre-activation ``a`` (any shape). ``derivative(name, a)``
returns the elementwise derivative :math:`h'(a)`; for softmax, which couples the units of a
pattern, :func:`softmax_jacobian` gives the full Jacobian instead.

Stability: the logistic sigmoid never evaluates ``exp`` of a large positive number, and softmax
subtracts the largest activation first, so |a| = 1000 gives no overflow warning and no NaN.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..checks import as_real_array, check_name

__all__ = ["identity", "sigmoid", "tanh", "relu", "gelu", "softmax", "log_softmax", "softplus",
           "derivative", "softmax_jacobian", "ACTIVATIONS", "activation"]


def identity(a: np.ndarray) -> np.ndarray:
    """:math:`h(a) = a`."""
    return as_real_array(a, "a").copy()


def sigmoid(a: np.ndarray) -> np.ndarray:
    r"""Logistic sigmoid :math:`\sigma(a) = 1/(1+e^{-a})`, stable for any finite ``a``.

    For :math:`a \ge 0` it uses :math:`1/(1+e^{-a})`, for :math:`a<0` the equal form
    :math:`e^{a}/(1+e^{a})`, so ``exp`` only ever sees non-positive arguments.
    """
    a = as_real_array(a, "a")
    e = np.exp(-np.abs(a))  # in (0, 1]: never overflows
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def tanh(a: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent (NumPy's is already stable)."""
    return np.tanh(as_real_array(a, "a"))


def relu(a: np.ndarray) -> np.ndarray:
    r""":math:`\max(0, a)`."""
    return np.maximum(as_real_array(a, "a"), 0.0)


def gelu(a: np.ndarray) -> np.ndarray:
    r"""Gaussian error linear unit (exact form), :math:`a\,\Phi(a) = \tfrac a2\bigl(1 + \operatorname{erf}(a/\sqrt2)\bigr)`.

    :math:`\Phi` is the standard normal distribution function (Hendrycks & Gimpel, 2016); this is
    PyTorch's ``gelu`` with ``approximate="none"``.
    """
    from scipy.special import erf

    a = as_real_array(a, "a")
    return 0.5 * a * (1.0 + erf(a / np.sqrt(2.0)))


def softmax(a: np.ndarray) -> np.ndarray:
    r"""Softmax over the last axis, :math:`y_k = e^{a_k}/\sum_j e^{a_j}`.

    Shifting by :math:`\max_j a_j` leaves the result unchanged and keeps every exponent
    :math:`\le 0`.
    """
    a = as_real_array(a, "a")
    e = np.exp(a - np.max(a, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def log_softmax(a: np.ndarray) -> np.ndarray:
    r""":math:`\ln \mathrm{softmax}(a)` computed as :math:`a - \mathrm{logsumexp}(a)` (no log of 0)."""
    a = as_real_array(a, "a")
    m = np.max(a, axis=-1, keepdims=True)
    return a - m - np.log(np.sum(np.exp(a - m), axis=-1, keepdims=True))


def softplus(a: np.ndarray) -> np.ndarray:
    r""":math:`\ln(1+e^{a})` without overflow: :math:`\max(a,0) + \ln(1+e^{-|a|})`."""
    a = as_real_array(a, "a")
    return np.maximum(a, 0.0) + np.log1p(np.exp(-np.abs(a)))


def _d_identity(a):
    return np.ones_like(as_real_array(a, "a"))


def _d_sigmoid(a):
    s = sigmoid(a)
    return s * (1.0 - s)


def _d_tanh(a):
    return 1.0 - np.tanh(as_real_array(a, "a")) ** 2


def _d_relu(a):
    # The derivative at exactly 0 is taken as 0 (a subgradient).
    return (as_real_array(a, "a") > 0).astype(float)


def _d_gelu(a):
    # d/da [a Phi(a)] = Phi(a) + a phi(a)
    from scipy.special import erf

    a = np.asarray(a, dtype=float)
    return 0.5 * (1.0 + erf(a / np.sqrt(2.0))) + a * np.exp(-0.5 * a * a) / np.sqrt(2.0 * np.pi)


def softmax_jacobian(a: np.ndarray) -> np.ndarray:
    r"""Jacobian of softmax for one pattern: :math:`\partial y_k/\partial a_j = y_k(I_{kj} - y_j)`.

    Parameters
    ----------
    a : ndarray, shape (K,) or (N, K)

    Returns
    -------
    ndarray, shape (K, K) or (N, K, K)
    """
    y = softmax(a)
    eye = np.eye(y.shape[-1])
    return y[..., :, None] * (eye - y[..., None, :])


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": identity, "sigmoid": sigmoid, "tanh": tanh, "relu": relu, "softmax": softmax,
    "gelu": gelu,
}
_DERIVATIVES = {"identity": _d_identity, "sigmoid": _d_sigmoid, "tanh": _d_tanh, "relu": _d_relu,
                "gelu": _d_gelu}


def activation(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """Look an activation function up by name (``ValueError`` for an unknown name)."""
    return ACTIVATIONS[check_name(name, ACTIVATIONS, "activation")]


def derivative(name: str, a: np.ndarray) -> np.ndarray:
    """Elementwise derivative :math:`h'(a)` of the named activation.

    Softmax has no elementwise derivative (each output depends on every activation of the
    pattern); use :func:`softmax_jacobian` for it.
    """
    name = check_name(name, ACTIVATIONS, "activation")
    if name == "softmax":
        raise ValueError("softmax has no elementwise derivative; use softmax_jacobian(a)")
    return _DERIVATIVES[name](a)
