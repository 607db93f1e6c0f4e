r"""Chapter 4's regularization helpers: equivalent networks and the quadratic that relates early
stopping to weight decay. (Training itself, with weight decay and early stopping as options, is
:func:`nnbook.train.mlp.fit_mlp`; the penalty is :func:`nnbook.train.mlp.penalty`.)

Equivalent networks: :func:`transform_inputs` and :func:`transform_outputs` build the network that
computes the same function on linearly transformed inputs, or a linearly transformed output, so
that a regularizer can be tested for consistency.

Early stopping and weight decay on a quadratic: :func:`quadratic_gd` runs gradient descent on
:math:`E = \tfrac12\sum_j\lambda_j(w_j-w^\star_j)^2` from :math:`\mathbf w = 0`;
:func:`early_stopping_weights` is its closed form after :math:`\tau` steps and
:func:`weight_decay_weights` the minimiser of :math:`E + \tfrac{\alpha}{2}\lVert\mathbf w\rVert^2`.
"""
from __future__ import annotations

import numpy as np

from ..checks import as_float_array, check_positive
from ..nn.mlp import MLP, check_net

__all__ = ["transform_inputs", "transform_outputs", "quadratic_gd", "early_stopping_weights",
           "weight_decay_weights", "equivalent_alpha"]


def _per_unit(value, name: str, n: int, what: str, nonzero: bool) -> np.ndarray:
    """A scalar or a length-``n`` vector as a float vector of length ``n`` (checked)."""
    arr = as_float_array(value, name, ndim=(0, 1))
    if arr.ndim == 1 and arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} entries but the network has {n} {what}; "
                         f"give a scalar or one value per {what[:-1]}")
    if nonzero and np.any(arr == 0):
        raise ValueError(f"{name} must be non-zero (a zero scale cannot be undone)")
    return np.broadcast_to(arr, (n,)).copy()


def transform_inputs(net: MLP, a, b) -> MLP:
    r"""The network that, fed :math:`\tilde x_i = a_i x_i + b_i`, computes what ``net`` computes on ``x``.

    Only the first layer changes:
    :math:`\tilde w^{(1)}_{ji} = w^{(1)}_{ji}/a_i` and
    :math:`\tilde w^{(1)}_{j0} = w^{(1)}_{j0} - \sum_i w^{(1)}_{ji} b_i/a_i`, so every
    pre-activation :math:`a^{(1)}_j`, and hence every output, is unchanged.

    Parameters
    ----------
    net : MLP
        Not modified.
    a : float or array_like, shape (D,)
        Scale of the inputs (non-zero, finite); a scalar applies to every input.
    b : float or array_like, shape (D,)
        Shift of the inputs (finite).

    Returns
    -------
    MLP
        A new network with ``new(a * x + b) == net(x)`` (up to round-off).
    """
    check_net(net)
    D = net.sizes[0]
    a = _per_unit(a, "a", D, "inputs", nonzero=True)
    b = _per_unit(b, "b", D, "inputs", nonzero=False)
    new = net.copy()
    W, bias = new.weights[0]
    W_new = W / a[None, :]
    new.weights[0] = (W_new, bias - W_new @ b)
    return new


def transform_outputs(net: MLP, c, d) -> MLP:
    r"""The network whose outputs are :math:`\tilde y_k = c_k y_k + d_k`, for a linear output layer.

    Only the last layer changes: :math:`\tilde w^{(L)}_{kj} = c_k w^{(L)}_{kj}` and
    :math:`\tilde w^{(L)}_{k0} = c_k w^{(L)}_{k0} + d_k`.

    Parameters
    ----------
    net : MLP
        Must have an ``identity`` output activation. Not modified.
    c : float or array_like, shape (K,)
        Scale of the outputs (non-zero, finite).
    d : float or array_like, shape (K,)
        Shift of the outputs (finite).

    Returns
    -------
    MLP
        A new network with ``new(x) == c * net(x) + d`` (up to round-off).
    """
    check_net(net)
    if net.activations[-1] != "identity":
        raise ValueError("transform_outputs needs a linear ('identity') output layer, got "
                         f"{net.activations[-1]!r}: a non-linear output cannot absorb c*y + d")
    K = net.sizes[-1]
    c = _per_unit(c, "c", K, "outputs", nonzero=True)
    d = _per_unit(d, "d", K, "outputs", nonzero=False)
    new = net.copy()
    W, bias = new.weights[-1]
    new.weights[-1] = (c[:, None] * W, c * bias + d)
    return new


# ---------------------------------------------------------------------------- early stopping vs decay
def _check_quadratic(lambdas, w_star, lr=None):
    lambdas = as_float_array(lambdas, "lambdas", ndim=(0, 1))
    if np.any(lambdas <= 0):
        raise ValueError("lambdas (the Hessian eigenvalues) must be positive at a minimum")
    w_star = as_float_array(w_star, "w_star", ndim=(0, 1))
    try:
        lambdas, w_star = np.broadcast_arrays(lambdas, w_star)
    except ValueError:
        raise ValueError(f"lambdas (shape {lambdas.shape}) and w_star (shape {w_star.shape}) "
                         "must have the same length") from None
    if lr is not None:
        check_positive(lr, "lr")
    return lambdas.astype(float), w_star.astype(float)


def quadratic_gd(lambdas, w_star, lr: float, steps: int) -> np.ndarray:
    r"""Plain gradient descent on :math:`E(\mathbf w)=\tfrac12\sum_j\lambda_j(w_j-w^\star_j)^2` from 0.

    The quadratic is written in the eigenbasis of its Hessian, so :math:`\lambda_j` are the
    eigenvalues and every component descends on its own:
    :math:`w_j \leftarrow w_j - \eta\lambda_j(w_j - w^\star_j)`.

    Parameters
    ----------
    lambdas : array_like, shape (J,)
        Positive curvatures :math:`\lambda_j`.
    w_star : array_like, shape (J,)
        The minimum :math:`\mathbf w^\star`.
    lr : float
        Learning rate :math:`\eta`.
    steps : int
        Number of updates :math:`\tau`.

    Returns
    -------
    ndarray, shape (steps + 1, J)
        Row :math:`\tau` holds :math:`\mathbf w^{(\tau)}`; row 0 is the start, zero.
    """
    lambdas, w_star = _check_quadratic(lambdas, w_star, lr)
    check_positive(steps, "steps", integer=True, allow_zero=True)
    w = np.zeros_like(w_star)
    out = np.empty((steps + 1,) + w.shape)
    out[0] = w
    for tau in range(1, steps + 1):
        w = w - lr * lambdas * (w - w_star)
        out[tau] = w
    return out


def early_stopping_weights(lambdas, w_star, lr: float, tau) -> np.ndarray:
    r"""Closed form of :func:`quadratic_gd` after ``tau`` steps:
    :math:`w^{(\tau)}_j = w^\star_j\,[1 - (1-\eta\lambda_j)^\tau]`.

    Parameters
    ----------
    lambdas, w_star : array_like, shape (J,)
    lr : float
        Learning rate :math:`\eta`.
    tau : int
        Number of gradient steps (non-negative integer).

    Returns
    -------
    ndarray, shape (J,)
    """
    lambdas, w_star = _check_quadratic(lambdas, w_star, lr)
    check_positive(tau, "tau", integer=True, allow_zero=True)
    return w_star * (1.0 - (1.0 - lr * lambdas) ** int(tau))


def weight_decay_weights(lambdas, w_star, alpha: float) -> np.ndarray:
    r"""Minimiser of :math:`E(\mathbf w) + \tfrac{\alpha}{2}\lVert\mathbf w\rVert^2` for the quadratic
    :math:`E`: :math:`w_j = w^\star_j\,\lambda_j/(\lambda_j+\alpha)`.

    Parameters
    ----------
    lambdas, w_star : array_like, shape (J,)
    alpha : float
        Weight-decay coefficient (non-negative).

    Returns
    -------
    ndarray, shape (J,)
    """
    lambdas, w_star = _check_quadratic(lambdas, w_star)
    check_positive(alpha, "alpha", allow_zero=True)
    return w_star * lambdas / (lambdas + alpha)


def equivalent_alpha(lr: float, tau: int) -> float:
    r"""The weight decay that ``tau`` steps of gradient descent at rate ``lr`` resemble:
    :math:`\alpha = 1/(\eta\tau)`.

    For a flat direction (:math:`\eta\lambda_j \ll 1`, :math:`\lambda_j \ll \alpha`) early stopping
    gives :math:`w^{(\tau)}_j \approx \eta\tau\lambda_j w^\star_j` and weight decay
    :math:`\lambda_j w^\star_j/\alpha`; they agree when :math:`\alpha\,\eta\tau = 1`.
    """
    check_positive(lr, "lr")
    check_positive(tau, "tau", integer=True)
    return 1.0 / (lr * tau)
