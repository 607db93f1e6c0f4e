r"""Training Part I's :class:`~nnbook.MLP` through the one loop, :func:`nnbook.fit`.

Part I sums the error over patterns. Batch gradient descent takes one step
:math:`\mathbf w \leftarrow \mathbf w - \eta\nabla E(\mathbf w)` per epoch; stochastic (on-line)
gradient descent steps on one pattern (or a mini-batch) at a time,
:math:`\mathbf w \leftarrow \mathbf w - \eta\nabla E_n(\mathbf w)`, visiting the patterns in a fresh
seeded order every epoch. Both are :class:`nnbook.SGD` steps driven by :func:`nnbook.fit` on the
network's named parameters (:attr:`MLP.params`, :meth:`MLP.loss_and_grads`).

Regularizers (chapter 4), both weight decay of the shared optimizers (:func:`mlp_weight_decay`):

* ``weight_decay`` :math:`\lambda`: adds :math:`\tfrac{\lambda}{2}\lVert\mathbf w\rVert^2` over every
  weight *and bias* (the simple regularizer);
* ``layer_decay`` :math:`[\alpha_1,\dots,\alpha_L]`: adds :math:`\sum_l\tfrac{\alpha_l}{2}\lVert W_l\rVert^2`,
  weights only, biases free (the consistent regularizer).

The penalty belongs to the whole (summed) error, so a mini-batch step applies the batch's share of
it (``fit(..., decay_per="epoch")``): one epoch applies it once, whatever the batch size.
"""
from __future__ import annotations

import itertools
from functools import partial
from typing import Sequence

import numpy as np

from ..checks import (as_float_array, check_bool, check_name, check_positive, check_seed,
                      check_unit_interval)
from ..nn.losses import LOSSES, check_pairing
from ..nn.mlp import MLP, check_net
from .fit import Diverged, EarlyStopping, TrainLog, fit
from .optimizers import SGD

__all__ = ["penalty", "mlp_weight_decay", "fit_mlp"]


def _check_decay(net: MLP, weight_decay: float, layer_decay) -> list[float] | None:
    check_positive(weight_decay, "weight_decay", allow_zero=True)
    if layer_decay is None:
        return None
    layer_decay = list(layer_decay)
    if len(layer_decay) != len(net.weights):
        raise ValueError(f"layer_decay needs one coefficient per layer ({len(net.weights)}), "
                         f"got {len(layer_decay)}")
    for a in layer_decay:
        check_positive(a, "every layer_decay coefficient", allow_zero=True)
    return [float(a) for a in layer_decay]


def penalty(net: MLP, weight_decay: float = 0.0, layer_decay: Sequence[float] | None = None) -> float:
    r"""The regularization term: :math:`\tfrac{\lambda}{2}\lVert\mathbf w\rVert^2 + \sum_l \tfrac{\alpha_l}{2}\lVert W_l\rVert^2`."""
    layer_decay = _check_decay(net, weight_decay, layer_decay)
    total = 0.5 * weight_decay * sum(np.sum(W**2) + np.sum(b**2) for W, b in net.weights)
    if layer_decay is not None:
        total += sum(0.5 * a * np.sum(W**2) for a, (W, _) in zip(layer_decay, net.weights))
    return float(total)


def mlp_weight_decay(net: MLP, weight_decay: float = 0.0,
                     layer_decay: Sequence[float] | None = None) -> dict[str, float]:
    r"""The gradient of :func:`penalty` as per-parameter weight decay for the shared optimizers.

    :math:`\partial\Omega/\partial W_l = (\lambda + \alpha_l) W_l` and
    :math:`\partial\Omega/\partial \mathbf b_l = \lambda\mathbf b_l`, so the coefficients are
    ``{"W1": λ + α_1, "b1": λ, ...}``, keyed like :attr:`MLP.params`.
    """
    layer_decay = _check_decay(net, weight_decay, layer_decay)
    alphas = layer_decay or [0.0] * len(net.weights)
    coefs: dict[str, float] = {}
    for l, a in enumerate(alphas, start=1):
        coefs[f"W{l}"], coefs[f"b{l}"] = weight_decay + a, float(weight_decay)
    return coefs


def fit_mlp(net: MLP, X, T, loss: str, lr: float, epochs: int, batch_size: int | None = None,
            weight_decay: float = 0.0, layer_decay: Sequence[float] | None = None,
            X_val=None, T_val=None, early_stopping: int | None = None, seed: int = 0,
            keep_weights: bool = False) -> TrainLog:
    """Train ``net`` in place by gradient descent (:class:`nnbook.SGD` through :func:`nnbook.fit`)
    on the summed error plus the penalty.

    Parameters
    ----------
    net : MLP
        Trained in place.
    X : array_like, shape (N, D)
    T : array_like, shape (N, K) (or (N,) for one output)
    loss : {"sse", "bce", "ce"}
    lr : float
        Learning rate :math:`\\eta`.
    epochs : int
        Passes through the training set.
    batch_size : int, optional
        ``None``: batch gradient descent (one step per epoch, patterns in their order). ``1``:
        on-line SGD. Otherwise mini-batches of that size, in a seeded random order.
    weight_decay, layer_decay
        See the module docstring.
    X_val, T_val : array_like, optional
        Validation data, evaluated after every epoch.
    early_stopping : int, optional
        Patience: stop once the validation error has not improved for this many epochs, and
        restore the weights of the best epoch (:class:`nnbook.train.fit.EarlyStopping` on
        ``"val_error"``). Needs validation data.
    seed : int
        Seed for the order of the patterns.
    keep_weights : bool
        Record a copy of the parameter vector (:meth:`MLP.get_params`) before training and after
        every epoch in ``snapshots``.

    Returns
    -------
    TrainLog
        ``metrics["train_error"]`` (data error on the training set, no penalty),
        ``metrics["objective"]`` (plus the penalty: what is minimised) and, with validation data,
        ``metrics["val_error"]``; index 0 is before the first update. ``stopped_epoch`` is the
        last epoch that ran; ``best("val_error")`` the epoch of the lowest validation error.

    Raises
    ------
    nnbook.Diverged
        If the error or a gradient stops being finite; ``net`` keeps the last finite weights.
    """
    check_net(net)
    X = as_float_array(X, "X", ndim=(2,))
    T = net._check_t(T, X)
    loss = check_name(loss, LOSSES, "loss")
    check_pairing(loss, net.activations[-1])
    if loss != "sse":
        check_unit_interval(T, "T")
    keep_weights = check_bool(keep_weights, "keep_weights")
    seed = check_seed(seed)
    decay = mlp_weight_decay(net, weight_decay, layer_decay)
    has_val = X_val is not None or T_val is not None
    if has_val:
        if X_val is None or T_val is None:
            raise ValueError("give both X_val and T_val, or neither")
        X_val = as_float_array(X_val, "X_val", ndim=(2,))
        T_val = net._check_t(T_val, X_val)
        if loss != "sse":
            check_unit_interval(T_val, "T_val")
    rule = None
    if early_stopping is not None:
        check_positive(early_stopping, "early_stopping", integer=True)
        if not has_val:
            raise ValueError("early_stopping needs validation data (X_val, T_val)")
        rule = EarlyStopping("val_error", int(early_stopping))

    epochs_evaluated = itertools.count()   # 0 before training, then the epoch just finished

    def evaluate(params):
        # weights that grew too large make the error overflow: that is divergence, said once by
        # Diverged (the weights keep their last finite values), not by NumPy's warnings
        with np.errstate(over="ignore", invalid="ignore"):
            e = net.error(X, T, loss)
            row = {"train_error": e, "objective": e + penalty(net, weight_decay, layer_decay)}
            if has_val:
                row["val_error"] = net.error(X_val, T_val, loss)
        epoch = next(epochs_evaluated)
        bad = [k for k, v in row.items() if not np.isfinite(v)]
        if bad:
            raise Diverged(f"the {bad[0].replace('_', ' ')} became {row[bad[0]]} after epoch "
                           f"{epoch}: lower the learning rate")
        return row

    return fit(partial(net.loss_and_grads, loss=loss), net.params,
               SGD(lr, weight_decay=decay), (X, T), epochs, batch_size, seed=seed,
               evaluate=evaluate, early_stopping=rule, decay_per="epoch",
               snapshot=(lambda params, epoch: net.get_params()) if keep_weights else None,
               progress=False)
