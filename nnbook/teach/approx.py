r"""A constructive view of universal approximation (chapter 1).

One logistic-sigmoid hidden unit with input weight :math:`s` and bias :math:`-s\,c` is a soft
step at :math:`x = c`: :math:`\sigma(s(x - c))` rises from 0 to 1 over a width of about
:math:`4/s`. Two such steps, added with output weights :math:`+h` and :math:`-h`, make a bump of
height :math:`h` between their edges. A row of bumps, each as tall as the target function at its
centre, is a staircase that approximates any continuous function on an interval, and the error
goes to zero as the bumps get narrower *and* the steps get steeper.

Everything here builds an ordinary :class:`~nnbook.MLP` (1 input, sigmoid hidden layer,
identity output), so the approximations are networks in the book's sense.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..checks import as_float_array, check_positive
from ..nn.mlp import MLP, check_net

__all__ = ["step_unit", "bump_network", "bump_edges", "fit_bumps", "max_error"]


def _check_interval(interval) -> tuple[float, float]:
    iv = as_float_array(interval, "interval", ndim=(1,))
    if iv.shape != (2,) or not iv[0] < iv[1]:
        raise ValueError(f"interval must be (lo, hi) with lo < hi, got {tuple(np.ravel(interval))}")
    return float(iv[0]), float(iv[1])


def step_unit(edge: float, steepness: float) -> tuple[float, float]:
    r"""Input weight and bias of a sigmoid unit that is a soft step at ``edge``.

    :math:`\sigma(w x + w_0)` with :math:`w = s` and :math:`w_0 = -s\,c` equals 1/2 at
    :math:`x = c` and tends to the unit step :math:`[x > c]` as :math:`s \to \infty`.

    Parameters
    ----------
    edge : float
        Where the step happens, :math:`c`.
    steepness : float
        The input weight :math:`s > 0` (slope of the step at its edge is :math:`s/4`).

    Returns
    -------
    (w, w0) : tuple of float
    """
    edge = float(as_float_array(edge, "edge", ndim=(0,)))
    check_positive(steepness, "steepness")
    return float(steepness), -float(steepness) * edge


def bump_network(edges, heights, steepness: float) -> MLP:
    r"""A 1-input network that is a row of soft bumps.

    Bump ``b`` runs from ``edges[b]`` to ``edges[b + 1]`` with height ``heights[b]``; it is made
    of two sigmoid units, a step up at the left edge (output weight ``+heights[b]``) and a step
    at the right edge (output weight ``-heights[b]``):

    .. math::
        y(x) = \sum_{b=0}^{B-1} h_b\,\bigl[\sigma(s(x - e_b)) - \sigma(s(x - e_{b+1}))\bigr].

    Parameters
    ----------
    edges : array_like, shape (B + 1,)
        Strictly increasing bump edges (neighbouring bumps share an edge).
    heights : array_like, shape (B,)
        Height of each bump.
    steepness : float
        Input weight of every step unit (larger is sharper).

    Returns
    -------
    MLP
        Sizes ``[1, 2B, 1]``, activations ``["sigmoid", "identity"]``; hidden units ``2b`` and
        ``2b + 1`` are the left and right steps of bump ``b``.
    """
    e = as_float_array(edges, "edges", ndim=(1,), allow_empty=True)
    if e.size < 2:
        raise ValueError(f"edges needs at least 2 values (one bump), got {e.size}")
    h = as_float_array(heights, "heights", ndim=(1,))
    check_positive(steepness, "steepness")
    if not np.all(np.diff(e) > 0):
        raise ValueError("edges must be strictly increasing")
    if h.size != e.size - 1:
        raise ValueError(f"{e.size} edges make {e.size - 1} bumps, but got {h.size} heights")
    s = float(steepness)
    centres = np.empty(2 * h.size)
    centres[0::2], centres[1::2] = e[:-1], e[1:]
    out = np.empty(2 * h.size)
    out[0::2], out[1::2] = h, -h
    W1 = np.full((2 * h.size, 1), s)
    b1 = -s * centres
    return MLP([(W1, b1), (out[None, :], np.zeros(1))], ["sigmoid", "identity"])


def bump_edges(n_bumps: int, interval, steepness: float, margin: float | None = None) -> np.ndarray:
    r"""Edges of ``n_bumps`` equal bumps covering ``interval``, outer edges pushed outward.

    The inner edges split the interval evenly. A soft step is only half-way up at its edge, so
    the first and last edges are moved ``margin`` outside the interval (default
    :math:`10/s`, where :math:`\sigma(-10) \approx 4.5\times10^{-5}`); otherwise the network would
    reach only half the target at the interval's ends.

    Returns
    -------
    ndarray, shape (n_bumps + 1,)
    """
    check_positive(n_bumps, "n_bumps", integer=True)
    lo, hi = _check_interval(interval)
    check_positive(steepness, "steepness")
    if margin is None:
        margin = 10.0 / float(steepness)
    check_positive(margin, "margin", allow_zero=True)
    e = np.linspace(lo, hi, int(n_bumps) + 1)
    e[0] -= margin
    e[-1] += margin
    return e


def _evaluate(f: Callable, x: np.ndarray, name: str = "f") -> np.ndarray:
    if not callable(f):
        raise ValueError(f"{name} must be callable, got {type(f).__name__}")
    y = as_float_array(f(x), f"{name}(x)", allow_empty=True)
    if y.shape != x.shape:
        raise ValueError(f"{name} must map an array of shape {x.shape} to the same shape "
                         f"(elementwise), got {y.shape}")
    return y


def fit_bumps(f: Callable[[np.ndarray], np.ndarray], n_bumps: int, interval=(0.0, 1.0),
              steepness: float = 100.0, margin: float | None = None) -> MLP:
    r"""Approximate ``f`` on ``interval`` by ``n_bumps`` bumps whose heights are ``f`` at their centres.

    Parameters
    ----------
    f : callable
        Vectorised target, ``f(x)`` with ``x`` of shape (n,) returns shape (n,).
    n_bumps : int
        Number of bumps B (the network has 2B hidden units).
    interval : (lo, hi)
        Where the approximation should hold.
    steepness : float
        Input weight of the step units.
    margin : float, optional
        See :func:`bump_edges`.

    Returns
    -------
    MLP
        The network of :func:`bump_network`; measure it with :func:`max_error`.
    """
    lo, hi = _check_interval(interval)
    e = bump_edges(n_bumps, (lo, hi), steepness, margin)
    inner = np.linspace(lo, hi, int(n_bumps) + 1)
    centres = 0.5 * (inner[:-1] + inner[1:])
    return bump_network(e, _evaluate(f, centres), steepness)


def max_error(net: MLP, f: Callable[[np.ndarray], np.ndarray], interval=(0.0, 1.0),
              n: int = 4001) -> float:
    r"""Largest :math:`|y(x) - f(x)|` over ``n`` evenly spaced points of ``interval`` (ends included).

    ``net`` must have one input and one output.
    """
    check_net(net)
    if net.sizes[0] != 1 or net.sizes[-1] != 1:
        raise ValueError(f"net must have 1 input and 1 output, got sizes {net.sizes}")
    lo, hi = _check_interval(interval)
    check_positive(n, "n", integer=True)
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    x = np.linspace(lo, hi, int(n))
    return float(np.max(np.abs(net.forward(x[:, None])[:, 0] - _evaluate(f, x))))
