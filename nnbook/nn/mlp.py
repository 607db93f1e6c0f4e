r"""The multilayer perceptron of Part I.

Layer :math:`l` computes :math:`\mathbf a^{(l)} = W_l \mathbf z^{(l-1)} + \mathbf b_l` and
:math:`\mathbf z^{(l)} = h_l(\mathbf a^{(l)})`, with :math:`\mathbf z^{(0)} = \mathbf x` and
:math:`\mathbf y = \mathbf z^{(L)}`. ``W_l`` has shape ``(n_out, n_in)``: row ``j`` holds the weights
:math:`w_{j\cdot}^{(l)}` into unit ``j``, exactly as in the notes; ``b_l`` has shape ``(n_out,)`` and
holds the biases :math:`w_{j0}^{(l)}`.

Backpropagation uses the three rules of chapter 3:

1. output units: :math:`\delta_k = \partial E_n/\partial a_k` (``y - t`` for canonical pairings);
2. hidden units: :math:`\delta_j = h'(a_j)\sum_k w_{kj}\delta_k`;
3. gradients: :math:`\partial E_n/\partial w_{ji} = \delta_j z_i` (and :math:`\delta_j` for a bias).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..checks import (as_float_array, check_keys, check_name, check_param_arrays, check_positive,
                      check_seed)
from .activations import ACTIVATIONS, activation, derivative
from .losses import LOSSES, check_pairing, loss_from_activations, output_delta

__all__ = ["MLP", "Trace", "Saturation", "saturation"]

Weights = list[tuple[np.ndarray, np.ndarray]]


@dataclass
class Trace:
    """Everything a forward pass computed.

    Attributes
    ----------
    a : list of ndarray
        Pre-activations :math:`\\mathbf a^{(l)}` for l = 1..L, each (n_l,) or (N, n_l).
    z : list of ndarray
        Unit outputs :math:`\\mathbf z^{(l)}` for l = 0..L (``z[0]`` is the input, ``z[-1]`` is y).
    """
    a: list[np.ndarray]
    z: list[np.ndarray]

    @property
    def y(self) -> np.ndarray:
        return self.z[-1]


class MLP:
    """A fully connected feed-forward network.

    Parameters
    ----------
    weights : sequence of (W, b)
        ``W_l`` of shape ``(n_l, n_{l-1})`` and ``b_l`` of shape ``(n_l,)``.
    activations : sequence of str
        One activation name per layer, from ``identity``, ``sigmoid``, ``tanh``, ``relu``,
        ``softmax`` (softmax only on the output layer).

    Examples
    --------
    >>> import numpy as np
    >>> from nnbook import MLP
    >>> net = MLP([(np.array([[0.8, -0.5]]), np.array([0.2])),
    ...            (np.array([[1.0]]), np.array([-0.3]))], ["tanh", "sigmoid"])
    >>> net.sizes
    [2, 1, 1]
    """

    def __init__(self, weights: Sequence[tuple[np.ndarray, np.ndarray]],
                 activations: Sequence[str]):
        if isinstance(activations, str):
            raise ValueError("activations must be a list with one name per layer, got a string")
        weights = list(weights)
        activations = list(activations)
        if not weights:
            raise ValueError("weights is empty: a network needs at least one layer")
        if len(activations) != len(weights):
            raise ValueError(f"got {len(weights)} layers of weights but {len(activations)} "
                             "activations; give one activation per layer")
        checked: Weights = []
        for l, pair in enumerate(weights, start=1):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(f"layer {l}: weights must be a (W, b) pair")
            W = as_float_array(pair[0], f"W_{l}", ndim=(2,)).copy()
            b = as_float_array(pair[1], f"b_{l}", ndim=(1,)).copy()
            if b.shape[0] != W.shape[0]:
                raise ValueError(f"layer {l}: b_{l} has shape {b.shape} but W_{l} has shape "
                                 f"{W.shape}; b needs one entry per row of W (n_out = {W.shape[0]})")
            if checked and W.shape[1] != checked[-1][0].shape[0]:
                raise ValueError(f"layer {l}: W_{l} has shape {W.shape}, so it expects "
                                 f"{W.shape[1]} inputs, but layer {l - 1} has "
                                 f"{checked[-1][0].shape[0]} units")
            checked.append((W, b))
        names = [check_name(h, ACTIVATIONS, "activation") for h in activations]
        if "softmax" in names[:-1]:
            raise ValueError("softmax is only supported as the output activation")
        self.weights: Weights = checked
        self.activations: list[str] = names
        self.deltas: list[np.ndarray] | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def random(cls, sizes: Sequence[int], activations: Sequence[str], seed: int = 0,
               scale: float = 1.0) -> "MLP":
        """A network with weights drawn from :math:`\\mathcal N(0, \\text{scale}^2/n_{in})`.

        Parameters
        ----------
        sizes : sequence of int
            Units per layer, inputs first: ``[D, M_1, ..., K]``.
        activations : sequence of str
            One per layer (``len(sizes) - 1`` names).
        seed : int
            Seed of the NumPy generator (same seed, same network).
        scale : float
            Multiplies the standard deviation. Biases start at zero.
        """
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least an input and an output size, got {sizes}")
        for s in sizes:
            check_positive(s, "every layer size", integer=True)
        check_positive(scale, "scale")
        rng = np.random.default_rng(check_seed(seed))
        weights = [(rng.normal(0.0, scale / np.sqrt(n_in), size=(n_out, n_in)), np.zeros(n_out))
                   for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        return cls(weights, activations)

    def copy(self) -> "MLP":
        """An independent copy (weights copied)."""
        return MLP([(W.copy(), b.copy()) for W, b in self.weights], self.activations)

    # ------------------------------------------------------------------ properties
    @property
    def sizes(self) -> list[int]:
        """Units per layer, inputs first."""
        return [self.weights[0][0].shape[1]] + [W.shape[0] for W, _ in self.weights]

    @property
    def n_params(self) -> int:
        """Number of adaptive parameters (weights and biases)."""
        return int(sum(W.size + b.size for W, b in self.weights))

    def get_params(self) -> np.ndarray:
        """All parameters as one vector, layer by layer, ``W_l`` (row-major) then ``b_l``."""
        return np.concatenate([np.concatenate([W.ravel(), b]) for W, b in self.weights])

    def set_params(self, w: np.ndarray) -> "MLP":
        """Load a vector from :meth:`get_params` into the weights (in place); returns self."""
        w = as_float_array(w, "w", ndim=(1,))
        if w.size != self.n_params:
            raise ValueError(f"w has {w.size} entries but the network has {self.n_params} parameters")
        i = 0
        for W, b in self.weights:
            W[...] = w[i:i + W.size].reshape(W.shape)
            i += W.size
            b[...] = w[i:i + b.size]
            i += b.size
        return self

    @property
    def params(self) -> dict[str, np.ndarray]:
        """The weights and biases as named arrays ``{"W1": W_1, "b1": b_1, "W2": ...}``.

        These are the network's own arrays, not copies: an optimizer of :mod:`nnbook.train`
        that updates them in place (through :func:`nnbook.fit`) trains the network.
        """
        return _named(self.weights)

    def _with_params(self, params) -> "MLP":
        """This network if ``params`` are its own arrays, else a twin that uses ``params`` (no copy)."""
        own = self.params
        check_keys(params, own)
        if all(params[k] is v for k, v in own.items()):
            return self
        p = check_param_arrays(params, {k: v.shape for k, v in own.items()})
        twin = object.__new__(MLP)
        twin.weights = [(p[f"W{l}"], p[f"b{l}"]) for l in range(1, len(self.weights) + 1)]
        twin.activations, twin.deltas = self.activations, None
        return twin

    def __repr__(self) -> str:
        return (f"MLP(sizes={self.sizes}, activations={self.activations}, "
                f"n_params={self.n_params})")

    # ------------------------------------------------------------------ forward
    def _check_x(self, x) -> np.ndarray:
        x = as_float_array(x, "x", ndim=(1, 2))
        D = self.sizes[0]
        if x.shape[-1] != D:
            raise ValueError(f"x has {x.shape[-1]} features (shape {x.shape}) but the network "
                             f"expects {D} inputs")
        return x

    def _check_t(self, t, x: np.ndarray) -> np.ndarray:
        K = self.sizes[-1]
        t = as_float_array(t, "t", ndim=(0, 1, 2))
        want = x.shape[:-1] + (K,)
        if t.shape != want:
            if t.size == int(np.prod(want)) and K == 1:
                t = t.reshape(want)  # scalar or (N,) targets for a single output
            else:
                raise ValueError(f"t has shape {t.shape} but the outputs have shape {want}")
        return t

    def trace(self, x) -> Trace:
        """Forward pass keeping every activation ``a`` and unit output ``z`` (see :class:`Trace`)."""
        x = self._check_x(x)
        a_list, z_list = [], [x]
        z = x
        for (W, b), h in zip(self.weights, self.activations):
            a = z @ W.T + b
            z = activation(h)(a)
            a_list.append(a)
            z_list.append(z)
        return Trace(a_list, z_list)

    def forward(self, x) -> np.ndarray:
        """Network outputs: ``x`` of shape (D,) gives (K,); (N, D) gives (N, K)."""
        return self.trace(x).y

    __call__ = forward

    def error(self, x, t, loss: str = "sse") -> float:
        """The error ``loss`` of the network on inputs ``x`` and targets ``t`` (summed over patterns).

        Computed from the output activations, so it is exact even for saturated outputs.
        """
        x = self._check_x(x)
        t = self._check_t(t, x)
        loss = check_name(loss, LOSSES, "loss")
        check_pairing(loss, self.activations[-1])  # the same rule as gradients
        return loss_from_activations(loss, self.trace(x).a[-1], t, self.activations[-1])

    # ------------------------------------------------------------------ backward
    def backward(self, tr: Trace, t: np.ndarray, loss: str) -> list[np.ndarray]:
        """The deltas :math:`\\delta^{(l)}` of every layer for a stored forward ``tr``."""
        L = len(self.weights)
        deltas: list[np.ndarray] = [None] * L  # type: ignore[list-item]
        deltas[-1] = output_delta(loss, tr.a[-1], t, self.activations[-1])
        for l in range(L - 2, -1, -1):
            W_next = self.weights[l + 1][0]
            deltas[l] = derivative(self.activations[l], tr.a[l]) * (deltas[l + 1] @ W_next)
        return deltas

    def gradients(self, x, t, loss: str = "sse") -> Weights:
        """Gradient of the error with respect to every weight and bias, by backpropagation.

        Parameters
        ----------
        x : array_like, shape (D,) or (N, D)
        t : array_like, shape (K,) or (N, K)  (a scalar or (N,) is accepted when K = 1)
        loss : {"sse", "bce", "ce"}

        Returns
        -------
        list of (dW_l, db_l)
            Shaped like :attr:`weights`. For a batch the gradients are summed over patterns,
            matching an error that is summed over patterns.

        Notes
        -----
        A single-pattern call stores the deltas of every layer in :attr:`deltas`.
        """
        x = self._check_x(x)
        t = self._check_t(t, x)
        _, grads = self._backprop(x, t, check_name(loss, LOSSES, "loss"))
        return grads

    def _backprop(self, x: np.ndarray, t: np.ndarray, loss: str) -> tuple[Trace, Weights]:
        """Forward and backward pass on checked input: the trace and the (dW, db) of every layer."""
        tr = self.trace(x)
        deltas = self.backward(tr, t, loss)
        if x.ndim == 1:
            self.deltas = [d.copy() for d in deltas]
            return tr, [(np.outer(d, z), d.copy()) for d, z in zip(deltas, tr.z[:-1])]
        return tr, [(d.T @ z, d.sum(axis=0)) for d, z in zip(deltas, tr.z[:-1])]

    def loss_and_grads(self, params: dict[str, np.ndarray], x, t, rng=None, *,
                       loss: str = "sse") -> tuple[float, dict[str, np.ndarray]]:
        """The error on ``(x, t)`` and its gradients, keyed like :attr:`params`, for :func:`nnbook.fit`.

        Parameters
        ----------
        params : dict of str -> ndarray
            :attr:`params` (the network's own arrays) or arrays of the same names and shapes.
        x : array_like, shape (N, D)
        t : array_like, shape (N, K)
        rng : numpy.random.Generator, optional
            Unused (the network is deterministic); part of the signature ``fit`` calls.
        loss : {"sse", "bce", "ce"}
            Bind it for ``fit``, e.g. ``functools.partial(net.loss_and_grads, loss="bce")``.

        Returns
        -------
        error : float
            Summed over the patterns (Part I's convention), as :meth:`error`.
        grads : dict of str -> ndarray
            ``{"W1": dE/dW_1, "b1": dE/db_1, ...}``, the same numbers as :meth:`gradients`.
        """
        net = self._with_params(params)
        x = net._check_x(x)
        t = net._check_t(t, x)
        loss = check_name(loss, LOSSES, "loss")
        tr, grads = net._backprop(x, t, loss)
        error = loss_from_activations(loss, tr.a[-1], t, net.activations[-1])
        return float(error), _named(grads)


def _named(pairs: Weights) -> dict[str, np.ndarray]:
    """``[(W_1, b_1), ...]`` as ``{"W1": W_1, "b1": b_1, ...}`` (the same arrays)."""
    named: dict[str, np.ndarray] = {}
    for l, (W, b) in enumerate(pairs, start=1):
        named[f"W{l}"], named[f"b{l}"] = W, b
    return named


@dataclass
class Saturation:
    """How far the hidden units of a network sit in the flat tails of their activation.

    One entry per hidden layer (layers 1..L-1).

    Attributes
    ----------
    a_std : ndarray, shape (L-1,)
        Standard deviation of the pre-activations :math:`a^{(l)}_j` over patterns and units.
    slope : ndarray, shape (L-1,)
        Mean of :math:`h'(a)/h'(0)`: 1 for units working in their linear middle, 0 when all
        are saturated.
    saturated : ndarray, shape (L-1,)
        Fraction of (pattern, unit) pairs with :math:`h'(a) < \\text{tol}\\cdot h'(0)`.
    grad_norm : ndarray, shape (L,) or None
        Norm of the error gradient with respect to each weight matrix :math:`W_l` (only when
        targets were given).
    """
    a_std: np.ndarray
    slope: np.ndarray
    saturated: np.ndarray
    grad_norm: np.ndarray | None = None


def saturation(net: MLP, X, T=None, loss: str = "sse", tol: float = 0.05) -> Saturation:
    r"""Measure saturation of the hidden units of ``net`` on the inputs ``X``.

    A unit is *saturated* on a pattern when its slope :math:`h'(a)` has fallen below ``tol`` times
    its largest value :math:`h'(0)` (tanh: :math:`|a| \gtrsim 2.2` for ``tol = 0.05``). Rule 2 of
    backpropagation multiplies every delta by :math:`h'(a)`, so saturated units pass almost no
    error signal down and their incoming weights learn slowly.

    Parameters
    ----------
    net : MLP
        Hidden layers must use an elementwise activation (``tanh``, ``sigmoid``, ``relu``,
        ``identity``).
    X : array_like, shape (N, D)
    T : array_like, shape (N, K), optional
        Targets; when given, the gradient norm of each layer is reported as well.
    loss : {"sse", "bce", "ce"}
    tol : float in (0, 1)

    Returns
    -------
    Saturation
    """
    check_net(net)
    if len(net.weights) < 2:
        raise ValueError("the network has no hidden layer, so there is nothing to saturate")
    check_positive(tol, "tol")
    if tol >= 1:
        raise ValueError(f"tol must be below 1 (a fraction of h'(0)), got {tol}")
    X = net._check_x(X)
    if X.ndim != 2:
        raise ValueError(f"X must be a batch of shape (N, D), got shape {X.shape}")
    tr = net.trace(X)
    a_std, slope, sat = [], [], []
    for h, a in zip(net.activations[:-1], tr.a[:-1]):
        peak = float(np.max(derivative(h, np.array([0.0, 1e-12]))))  # relu: the right slope
        rel = derivative(h, a) / peak
        a_std.append(float(np.std(a)))
        slope.append(float(np.mean(rel)))
        sat.append(float(np.mean(rel < tol)))
    grad_norm = None
    if T is not None:
        grads = net.gradients(X, T, loss)
        grad_norm = np.array([float(np.linalg.norm(dW)) for dW, _ in grads])
    return Saturation(np.array(a_std), np.array(slope), np.array(sat), grad_norm)


def check_net(net, name: str = "net") -> MLP:
    """Check that ``net`` is an :class:`MLP`; return it."""
    if not isinstance(net, MLP):
        raise ValueError(f"{name} must be an MLP (nnbook.MLP), got {type(net).__name__}")
    return net
