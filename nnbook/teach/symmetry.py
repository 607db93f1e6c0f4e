r"""Weight-space symmetries of a layered network (chapter 1).

Two transformations of one hidden layer change the weights but not the function the network
computes:

* **interchange** (any activation): permute the units of the layer, moving each unit's incoming
  weights and bias (a row of :math:`W_l` and an entry of :math:`\mathbf b_l`) *and* its outgoing
  weights (a column of :math:`W_{l+1}`) together; the next layer sums over the units, and a sum
  does not care about their order;
* **sign flip** (odd activations only, :math:`h(-a) = -h(a)`, e.g. ``tanh``): negate the incoming
  weights and bias of a unit and its outgoing weights; the unit's output changes sign and the
  outgoing weights change it back.

Together they give :math:`M!\,2^M` weight vectors with the same input-output function for a
layer of :math:`M` tanh units (:func:`equivalent_networks`).

Layers are numbered as in the book: layer ``l`` (1-based) has weights ``net.weights[l - 1]``; a
hidden layer is one with ``1 <= l <= L - 1`` (it has a layer above it).
"""
from __future__ import annotations

import itertools
import math
from typing import Sequence

import numpy as np

from ..checks import check_bool, check_name
from ..nn.mlp import MLP, check_net

__all__ = ["ODD_ACTIVATIONS", "is_odd", "apply_symmetry", "sign_flip", "swap_units",
           "permute_units", "equivalent_networks", "n_equivalent", "convert_hidden"]

#: Activations with :math:`h(-a) = -h(a)`, for which the sign-flip symmetry holds.
ODD_ACTIVATIONS = frozenset({"tanh", "identity"})

#: Largest number of networks :func:`equivalent_networks` builds by default.
MAX_NETWORKS = 100_000


def is_odd(name: str) -> bool:
    """Whether the activation ``name`` is odd, :math:`h(-a) = -h(a)`."""
    return str(name).lower() in ODD_ACTIVATIONS


def _check_layer(net: MLP, layer) -> int:
    """Check ``layer`` is a hidden layer of ``net``; return its number of units M."""
    check_net(net)
    L = len(net.weights)
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
        raise ValueError(f"layer must be an integer, got {layer!r}")
    if L < 2:
        raise ValueError("the network has no hidden layer (only one layer of weights), so there "
                         "are no hidden units to permute or flip")
    if not 1 <= layer <= L - 1:
        raise ValueError(f"layer {layer} is not a hidden layer: the hidden layers of this "
                         f"{L}-layer network are 1..{L - 1} (layer {L} is the output layer)")
    return net.weights[layer - 1][0].shape[0]


def _check_unit(unit, M: int, layer: int, name: str = "unit") -> int:
    if isinstance(unit, bool) or not isinstance(unit, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {unit!r}")
    if not 0 <= unit < M:
        raise ValueError(f"{name} {unit} is out of range: hidden layer {layer} has {M} units, "
                         f"indexed 0..{M - 1}")
    return int(unit)


def _check_odd(net: MLP, layer: int) -> None:
    h = net.activations[layer - 1]
    if not is_odd(h):
        raise ValueError(f"sign flips need an odd activation (h(-a) = -h(a)), but hidden layer "
                         f"{layer} uses {h!r}; odd activations: {sorted(ODD_ACTIVATIONS)}")


def apply_symmetry(net: MLP, layer: int, perm: Sequence[int], signs: Sequence[float] | None = None,
                   require_odd: bool = True) -> MLP:
    r"""Permute and sign-flip the units of hidden layer ``layer``; return a new network.

    New unit ``j`` is old unit ``perm[j]`` multiplied by ``signs[j]``:

    .. math::
        \tilde W_l[j, :] = s_j W_l[\pi_j, :],\quad \tilde b_l[j] = s_j b_l[\pi_j],\quad
        \tilde W_{l+1}[:, j] = s_j W_{l+1}[:, \pi_j].

    Parameters
    ----------
    net : MLP
        The network (not modified).
    layer : int
        A hidden layer, ``1 <= layer <= L - 1``.
    perm : sequence of int, length M
        A permutation of ``0..M-1``.
    signs : sequence of {+1, -1}, length M, optional
        Sign of each new unit (default: all +1, a pure interchange).
    require_odd : bool
        If True (default), any -1 in ``signs`` needs an odd activation in the layer. Set it to
        False only to demonstrate what goes wrong without one.

    Returns
    -------
    MLP
        A new network with the same sizes and activations.
    """
    require_odd = check_bool(require_odd, "require_odd")
    M = _check_layer(net, layer)
    try:
        p = [int(i) for i in perm]
    except (TypeError, ValueError):
        raise ValueError(f"perm must be a sequence of integers, got {perm!r}") from None
    if sorted(p) != list(range(M)):
        raise ValueError(f"perm must be a permutation of 0..{M - 1} (hidden layer {layer} has "
                         f"{M} units), got {list(perm)!r}")
    if signs is None:
        s = np.ones(M)
    else:
        s = np.asarray(signs, dtype=float)
        if s.shape != (M,) or not np.all(np.isin(s, (-1.0, 1.0))):
            raise ValueError(f"signs must be {M} values, each +1 or -1, got {signs!r}")
    if require_odd and np.any(s < 0):
        _check_odd(net, layer)
    new = net.copy()
    W, b = net.weights[layer - 1]
    V, c = net.weights[layer]
    new.weights[layer - 1] = (s[:, None] * W[p, :], s * b[p])
    new.weights[layer] = (V[:, p] * s[None, :], c.copy())
    return new


def sign_flip(net: MLP, layer: int, unit: int, require_odd: bool = True) -> MLP:
    r"""Negate the incoming weights, bias and outgoing weights of one hidden unit.

    For an odd activation the network function is unchanged:
    :math:`(-v)\,h(-a) = v\,h(a)`.

    Parameters
    ----------
    net : MLP
    layer : int
        Hidden layer, ``1 <= layer <= L - 1``.
    unit : int
        Unit index in that layer, ``0 <= unit < M`` (0-based, like NumPy).
    require_odd : bool
        Raise ``ValueError`` unless the layer's activation is odd (default). ``False`` applies the
        flip anyway, to show how the function changes for e.g. a sigmoid.

    Returns
    -------
    MLP
        A new network.
    """
    require_odd = check_bool(require_odd, "require_odd")
    M = _check_layer(net, layer)
    unit = _check_unit(unit, M, layer)
    signs = np.ones(M)
    signs[unit] = -1.0
    return apply_symmetry(net, layer, range(M), signs, require_odd=require_odd)


def swap_units(net: MLP, layer: int, i: int, j: int) -> MLP:
    """Interchange hidden units ``i`` and ``j`` of ``layer`` (all their weights); any activation.

    Returns
    -------
    MLP
        A new network computing the same function.
    """
    M = _check_layer(net, layer)
    i = _check_unit(i, M, layer, "i")
    j = _check_unit(j, M, layer, "j")
    perm = list(range(M))
    perm[i], perm[j] = perm[j], perm[i]
    return apply_symmetry(net, layer, perm)


def permute_units(net: MLP, layer: int, perm: Sequence[int]) -> MLP:
    """Reorder the units of hidden layer ``layer``: new unit ``j`` is old unit ``perm[j]``."""
    return apply_symmetry(net, layer, perm)


def n_equivalent(M: int, odd: bool = True) -> int:
    r"""Size of the symmetry group of a layer of ``M`` units: :math:`M!\,2^M` (odd) or :math:`M!`."""
    odd = check_bool(odd, "odd")
    if isinstance(M, bool) or not isinstance(M, (int, np.integer)) or M < 1:
        raise ValueError(f"M must be a positive integer, got {M!r}")
    return math.factorial(int(M)) * (2 ** int(M) if odd else 1)


def equivalent_networks(net: MLP, layer: int, signs: bool | None = None,
                        max_networks: int = MAX_NETWORKS) -> list[MLP]:
    r"""Every network obtained from ``net`` by permuting and sign-flipping one hidden layer.

    Parameters
    ----------
    net : MLP
    layer : int
        Hidden layer, ``1 <= layer <= L - 1``, with M units.
    signs : bool, optional
        Include sign flips. Default: True for an odd activation, False otherwise. Asking for sign
        flips with a non-odd activation raises ``ValueError``.
    max_networks : int
        Refuse (``ValueError``) to build more networks than this.

    Returns
    -------
    list of MLP
        :math:`M!\,2^M` networks (:math:`M!` without sign flips), the identity first. Permutations
        vary slowest, sign patterns fastest. For generic weights (no two units alike, no zero
        weights) all their weight vectors are distinct and all compute the same function.
    """
    M = _check_layer(net, layer)
    odd = is_odd(net.activations[layer - 1])
    if signs is None:
        signs = odd
    elif check_bool(signs, "signs") and not odd:
        _check_odd(net, layer)
    count = n_equivalent(M, odd=bool(signs))
    if count > max_networks:
        raise ValueError(f"hidden layer {layer} has M = {M} units, giving {count} equivalent "
                         f"networks, more than max_networks={max_networks}")
    patterns = list(itertools.product((1.0, -1.0), repeat=M)) if signs else [(1.0,) * M]
    return [apply_symmetry(net, layer, perm, s)
            for perm in itertools.permutations(range(M)) for s in patterns]


def convert_hidden(net: MLP, layer: int, to: str) -> MLP:
    r"""The same function with hidden layer ``layer`` switched between tanh and sigmoid units.

    Uses :math:`\tanh a = 2\sigma(2a) - 1`. For ``to="sigmoid"`` (the layer must be tanh) the
    incoming weights and biases are doubled, the outgoing weights doubled, and every bias of the
    next layer loses the sum of the old outgoing weights of its row:

    .. math::
        \tilde W_l = 2W_l,\quad \tilde{\mathbf b}_l = 2\mathbf b_l,\quad
        \tilde W_{l+1} = 2W_{l+1},\quad \tilde b_{l+1,k} = b_{l+1,k} - \sum_j w^{(l+1)}_{kj}.

    ``to="tanh"`` (the layer must be sigmoid) is the inverse, from
    :math:`\sigma(a) = \tfrac12\bigl(1 + \tanh(a/2)\bigr)`: halve the three weight sets and add
    :math:`\tfrac12\sum_j w^{(l+1)}_{kj}` to the next layer's biases.

    Parameters
    ----------
    net : MLP
        Not modified.
    layer : int
        A hidden layer, ``1 <= layer <= L - 1``.
    to : {"sigmoid", "tanh"}

    Returns
    -------
    MLP
        A new network computing the same function.
    """
    _check_layer(net, layer)
    to = check_name(to, ("sigmoid", "tanh"), "to")
    src = "tanh" if to == "sigmoid" else "sigmoid"
    if net.activations[layer - 1] != src:
        raise ValueError(f"converting to {to} needs {src} units, but hidden layer {layer} uses "
                         f"{net.activations[layer - 1]!r}")
    factor = 2.0 if to == "sigmoid" else 0.5
    W, b = net.weights[layer - 1]
    V, c = net.weights[layer]
    shift = -V.sum(axis=1) if to == "sigmoid" else 0.5 * V.sum(axis=1)
    new = net.copy()
    new.weights[layer - 1] = (factor * W, factor * b)
    new.weights[layer] = (factor * V, c + shift)
    new.activations[layer - 1] = to
    return new
