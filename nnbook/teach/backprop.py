r"""Backpropagation, one step at a time: teaching helpers for chapter 3.

:class:`~nnbook.MLP` already implements backpropagation (``trace``, ``backward``, ``gradients``).
This module lays the same computation out as an ordered list of small steps, so that a chapter can
show it, tabulate it, or walk through it with a slider:

* :func:`backprop_steps` -- every forward quantity (:math:`\mathbf a^{(l)}`, :math:`\mathbf z^{(l)}`)
  and then every backward quantity (:math:`\boldsymbol\delta^{(l)}` and the gradients of layer
  :math:`l`), each with the rule that produced it;
* :func:`delta_from_above` -- rule 2 for one layer, usable with partial values (only some units);
* :func:`derivative_from_output` -- :math:`h'(a)` written in terms of the unit output :math:`z`;
* :func:`numerical_deltas` -- :math:`\delta_j` by central differences (perturb the bias of unit j);
* :func:`gradient_errors` -- per-parameter gap between backprop and central differences;
* :func:`multiply_counts` -- the cost of a gradient by backprop and by finite differences;
* :func:`draw_backprop` -- a network diagram annotated with the a, z and delta revealed so far.

The three rules (notation of the book):

1. output units: :math:`\delta_k = \partial E_n/\partial a_k` (:math:`y_k - t_k` for canonical pairs);
2. hidden units: :math:`\delta_j = h'(a_j)\sum_k w_{kj}\delta_k`;
3. gradients: :math:`\partial E_n/\partial w_{ji} = \delta_j z_i` (and :math:`\delta_j` for a bias).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..checks import as_float_array, check_name, check_positive
from ..nn.activations import ACTIVATIONS, derivative
from ..train.gradcheck import numerical_gradient
from ..nn.losses import LOSSES
from ..nn.mlp import MLP, check_net

__all__ = ["Step", "backprop_steps", "delta_from_above", "derivative_from_output",
           "numerical_deltas", "gradient_errors", "multiply_counts"]

_TEX = {"sigmoid": "\\sigma", "tanh": "\\tanh", "relu": "\\mathrm{relu}",
        "softmax": "\\mathrm{softmax}"}
_RULE_NAMES = {"a": "forward: weighted sum", "z": "forward: activation",
               "delta_out": "rule 1: output delta", "delta_hidden": "rule 2: hidden delta",
               "grad": "rule 3: gradient"}


@dataclass(frozen=True)
class Step:
    r"""One computation of a forward or backward pass.

    Attributes
    ----------
    phase : {"forward", "backward"}
    kind : {"a", "z", "delta", "grad"}
        What is computed: pre-activations, unit outputs, deltas, or the gradients of a layer.
    layer : int
        The layer ``l`` (1..L) the quantity belongs to.
    rule : str
        Which rule produced it (e.g. ``"rule 2: hidden delta"``).
    formula : str
        The computation in matplotlib/LaTeX math, e.g. ``r"\delta^{(2)} = h'(a^{(2)}) \odot ..."``.
    value : ndarray
        ``a``, ``z`` or ``delta``: shape (n_l,). ``grad``: the weight gradient, shape (n_l, n_{l-1}).
    bias : ndarray or None
        For ``grad`` steps, the bias gradient, shape (n_l,) (equal to the deltas); else None.
    """
    phase: str
    kind: str
    layer: int
    rule: str
    formula: str
    value: np.ndarray
    bias: np.ndarray | None = None


def _check_pattern(net, x, t, loss):
    """Validate a network and one pattern ``x`` (D,), its target ``t`` and the loss name."""
    net = check_net(net)
    x = net._check_x(x)
    if x.ndim != 1:
        raise ValueError(f"x must be a single pattern of shape (D,), got shape {x.shape}")
    return net, x, net._check_t(t, x), check_name(loss, LOSSES, "loss")


def backprop_steps(net: MLP, x, t, loss: str = "sse") -> list[Step]:
    r"""The forward and backward pass for one pattern, as an ordered list of :class:`Step`.

    The order is the order of the algorithm: forward, for l = 1..L, :math:`\mathbf a^{(l)}` then
    :math:`\mathbf z^{(l)}`; backward, for l = L..1, :math:`\boldsymbol\delta^{(l)}` (rule 1 for the
    output layer, rule 2 below it) then the gradients of layer l (rule 3). A network with L layers
    gives 4L steps.

    Parameters
    ----------
    net : MLP
    x : array_like, shape (D,)
        One input pattern.
    t : array_like, shape (K,) (a scalar is accepted when K = 1)
        Its target.
    loss : {"sse", "bce", "ce"}

    Returns
    -------
    list of Step
        The values agree with ``net.trace(x)``, ``net.gradients(x, t, loss)`` and ``net.deltas``.
    """
    net, x, t, loss = _check_pattern(net, x, t, loss)
    tr = net.trace(x)
    deltas = net.backward(tr, t, loss)
    L = len(net.weights)
    steps: list[Step] = []
    for l in range(1, L + 1):
        h = net.activations[l - 1]
        below = "x" if l == 1 else f"z^{{({l - 1})}}"
        steps.append(Step("forward", "a", l, _RULE_NAMES["a"],
                          f"a^{{({l})}} = W_{{{l}}}\\,{below} + b_{{{l}}}", tr.a[l - 1].copy()))
        out = "y" if l == L else f"z^{{({l})}}"
        steps.append(Step("forward", "z", l, _RULE_NAMES["z"],
                          f"{out} = " + (f"a^{{({l})}}" if h == "identity"
                                         else f"{_TEX[h]}(a^{{({l})}})"), tr.z[l].copy()))
    for l in range(L, 0, -1):
        if l == L:
            formula = (f"\\delta^{{({l})}} = y - t" if _canonical(loss, net.activations[-1])
                       else f"\\delta^{{({l})}} = \\partial E / \\partial a^{{({l})}}")
            rule = _RULE_NAMES["delta_out"]
        else:
            formula = (f"\\delta^{{({l})}} = h'(a^{{({l})}}) \\odot "
                       f"W_{{{l + 1}}}^\\top \\delta^{{({l + 1})}}")
            rule = _RULE_NAMES["delta_hidden"]
        d = deltas[l - 1]
        steps.append(Step("backward", "delta", l, rule, formula, d.copy()))
        below = "x" if l == 1 else f"z^{{({l - 1})}}"
        steps.append(Step("backward", "grad", l, _RULE_NAMES["grad"],
                          f"\\partial E / \\partial W_{{{l}}} = \\delta^{{({l})}} {{{below}}}^\\top",
                          np.outer(d, tr.z[l - 1]), d.copy()))
    return steps


def _canonical(loss: str, out: str) -> bool:
    return (loss, out) in {("sse", "identity"), ("bce", "sigmoid"), ("ce", "softmax")}


def derivative_from_output(activation: str, z) -> np.ndarray:
    r""":math:`h'(a)` expressed through the unit output :math:`z = h(a)`.

    ``tanh``: :math:`1 - z^2`; ``sigmoid``: :math:`z(1 - z)`; ``identity``: 1; ``relu``: 1 where
    :math:`z > 0`, else 0. This is what a backward pass can use when it stored only ``z``.

    Parameters
    ----------
    activation : {"identity", "sigmoid", "tanh", "relu"}
    z : array_like
        Unit outputs; must lie in the range of the activation ((-1, 1) for tanh, (0, 1) for
        sigmoid, >= 0 for relu), otherwise no ``a`` could have produced them.
    """
    name = check_name(activation, ACTIVATIONS, "activation")
    z = as_float_array(z, "z", ndim=(0, 1, 2))
    if name == "softmax":
        raise ValueError("softmax has no elementwise derivative; it is only an output activation")
    if name == "tanh":
        if np.any(np.abs(z) > 1):
            raise ValueError("z is outside [-1, 1], so it cannot be a tanh output")
        return 1.0 - z ** 2
    if name == "sigmoid":
        if np.any((z < 0) | (z > 1)):
            raise ValueError("z is outside [0, 1], so it cannot be a sigmoid output")
        return z * (1.0 - z)
    if name == "relu":
        if np.any(z < 0):
            raise ValueError("z is negative, so it cannot be a relu output")
        return (z > 0).astype(float)
    return np.ones_like(z)


def delta_from_above(deltas_above, W_above, a=None, activation: str = "tanh", *,
                     z=None) -> np.ndarray:
    r"""Rule 2 for one layer: :math:`\delta_j = h'(a_j) \sum_k w_{kj} \delta_k`.

    Works with partial information: ``W_above`` may hold only the columns of the units of
    interest (e.g. one column for one hidden unit), as long as ``a`` (or ``z``) has one entry per
    column.

    Parameters
    ----------
    deltas_above : array_like, shape (K,) or (N, K)
        The deltas :math:`\delta_k` of the layer above.
    W_above : array_like, shape (K, M)
        Weights from this layer (M units, or the M units of interest) to the layer above:
        ``W_above[k, j]`` is :math:`w_{kj}`.
    a : array_like, shape (M,) or (N, M), optional
        Pre-activations of this layer; :math:`h'(a)` is evaluated from them.
    activation : {"identity", "sigmoid", "tanh", "relu"}
        The activation :math:`h` of this layer.
    z : array_like, shape (M,) or (N, M), optional (keyword only)
        Unit outputs of this layer instead of ``a``; :math:`h'` is then written in terms of ``z``
        (:func:`derivative_from_output`). Give exactly one of ``a`` and ``z``.

    Returns
    -------
    ndarray, shape (M,) or (N, M)
        The deltas of this layer.
    """
    name = check_name(activation, ACTIVATIONS, "activation")
    if name == "softmax":
        raise ValueError("softmax is only an output activation; rule 2 needs a hidden activation")
    if (a is None) == (z is None):
        raise ValueError("give exactly one of a (pre-activations) and z (unit outputs)")
    d = as_float_array(deltas_above, "deltas_above", ndim=(1, 2))
    W = as_float_array(W_above, "W_above", ndim=(2,))
    K, M = W.shape
    if d.shape[-1] != K:
        raise ValueError(f"deltas_above has {d.shape[-1]} entries per pattern but W_above has "
                         f"shape {W.shape}, i.e. {K} units above")
    which = "a" if a is not None else "z"
    v = as_float_array(a if a is not None else z, which, ndim=(1, 2))
    if v.shape[-1] != M:
        raise ValueError(f"{which} has {v.shape[-1]} entries per pattern but W_above has "
                         f"{M} columns (one per unit of this layer)")
    if v.shape[:-1] != d.shape[:-1]:
        raise ValueError(f"{which} has shape {v.shape} but deltas_above has shape {d.shape}: "
                         "they need the same number of patterns")
    hprime = derivative(name, v) if a is not None else derivative_from_output(name, v)
    return hprime * (d @ W)


def numerical_deltas(net: MLP, x, t, loss: str = "sse", eps: float = 1e-6) -> list[np.ndarray]:
    r"""The deltas :math:`\delta^{(l)}_j = \partial E_n/\partial a^{(l)}_j` by central differences.

    Since :math:`a_j = \sum_i w_{ji} z_i + w_{j0}`, nudging the bias :math:`w_{j0}` nudges
    :math:`a_j` by the same amount and nothing else, so :math:`\delta_j = \partial E_n/\partial
    w_{j0}`; this differentiates the error with respect to every bias numerically. It never uses
    rules 1 or 2, so it checks them.

    Parameters
    ----------
    net : MLP
    x : array_like, shape (D,)
    t : array_like, shape (K,) (or a scalar when K = 1)
    loss : {"sse", "bce", "ce"}
    eps : float
        Step of the central differences.

    Returns
    -------
    list of ndarray
        One array of shape (n_l,) per layer, like ``net.deltas``.
    """
    net, x, t, loss = _check_pattern(net, x, t, loss)
    check_positive(eps, "eps")
    Ws = [W for W, _ in net.weights]

    def error(biases):
        return MLP(list(zip(Ws, biases)), net.activations).error(x, t, loss)
    return numerical_gradient(error, [b.copy() for _, b in net.weights], eps)


def gradient_errors(net: MLP, x, t, loss: str = "sse", eps: float = 1e-6) -> np.ndarray:
    r"""Per-parameter :math:`|\text{backprop} - \text{central difference}|`.

    The largest entry is what :func:`nnbook.train.gradcheck` returns for the same network and step.

    Parameters
    ----------
    net : MLP
    x : array_like, shape (D,) or (N, D)
    t : array_like, shape (K,) or (N, K)
    loss : {"sse", "bce", "ce"}
    eps : float
        Step of the central differences.

    Returns
    -------
    ndarray, shape (net.n_params,)
        In the order of :meth:`MLP.get_params` (layer by layer, ``W_l`` row-major, then ``b_l``).
    """
    net = check_net(net)
    x = net._check_x(x)
    t = net._check_t(t, x)
    loss = check_name(loss, LOSSES, "loss")
    check_positive(eps, "eps")

    def error(weights):
        return MLP(weights, net.activations).error(x, t, loss)
    numeric = numerical_gradient(error, [(W.copy(), b.copy()) for W, b in net.weights], eps)
    analytic = net.gradients(x, t, loss)
    flat = [np.concatenate([np.ravel(W), b]) for W, b in analytic]
    nflat = [np.concatenate([np.ravel(W), b]) for W, b in numeric]
    return np.abs(np.concatenate(flat) - np.concatenate(nflat))


def multiply_counts(sizes) -> dict[str, int]:
    r"""Multiplications needed for one pattern's gradient, by backprop and by finite differences.

    With :math:`P` the number of weights (without biases): a forward pass multiplies each weight
    once (:math:`P`); the backward pass multiplies each weight once more to send the deltas down
    (:math:`\sum_{l \ge 2} |W_l|`) and forms one product :math:`\delta_j z_i` per weight
    (:math:`P`). Central differences need two forward passes per parameter (weights and biases,
    ``n_params``), each costing :math:`P`. Activation derivatives (one per unit) are not counted.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, inputs first.

    Returns
    -------
    dict
        ``weights`` (P), ``params`` (P plus biases), ``forward``, ``backprop`` (forward plus
        backward) and ``finite_differences``.
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output size, got {sizes}")
    for n in sizes:
        check_positive(n, "every layer size", integer=True)
    layer = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    W = sum(layer)
    params = W + sum(sizes[1:])
    backward = sum(layer[1:]) + W
    return {"weights": W, "params": params, "forward": W, "backprop": W + backward,
            "finite_differences": 2 * params * W}
