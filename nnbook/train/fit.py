"""The one training loop of Parts II-IV: mini-batches, an optimizer, optional clipping, a log.

Every trainable model of the later parts (the CNN, the RNNs, attention) is trained by :func:`fit`.
It needs only

* ``params``: a ``dict[str, ndarray]`` of the model's parameters (updated in place), and
* ``loss_and_grads(params, *batch, rng) -> (loss, grads)``: the summed or mean loss on one
  mini-batch and its gradients keyed like ``params`` (``rng`` is a seeded generator for dropout and
  the like; ignore it if the model is deterministic).

Mini-batches are drawn along ``batch_axis`` of every data array (0 for images ``(N, ...)``, 1 for
sequences ``(T, B, ...)``) in a fresh seeded order every epoch, so two runs give identical numbers.
After every epoch (and before the first) ``evaluate(params)`` may return metrics and
``snapshot(params, epoch)`` may record anything (filters, attention maps) for an epoch slider.

Long runs show a progress bar in Jupyter; in the book build (``NNBOOK_BUILD=1``) and outside a
kernel nothing is displayed or printed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..checks import check_positive
from .optimizers import Optimizer, check_grads, clip_grad_norm, global_norm

__all__ = ["TrainLog", "fit", "Diverged", "Progress", "minibatches"]


class Diverged(ValueError):
    """Raised by :func:`fit` when the loss or a gradient stops being finite (training blew up)."""


@dataclass
class TrainLog:
    """What :func:`fit` recorded.

    Attributes
    ----------
    loss : ndarray, shape (epochs,)
        Mean of the mini-batch losses during each epoch.
    grad_norm : ndarray, shape (epochs,)
        Mean global gradient norm (before clipping) during each epoch.
    metrics : dict of str -> ndarray, shape (epochs + 1,)
        ``evaluate``'s values, index 0 before training, index ``e`` after epoch ``e``.
    snapshots : list
        ``snapshot``'s values, index 0 before training, index ``e`` after epoch ``e``.
    clipped : int
        How many steps were clipped.
    steps : int
        How many optimizer steps were taken.
    """
    loss: np.ndarray
    grad_norm: np.ndarray
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    snapshots: list = field(default_factory=list, repr=False)
    clipped: int = 0
    steps: int = 0


class Progress:
    """A progress bar in Jupyter; silent in the book build, under plain Python and when disabled."""

    def __init__(self, total: int, description: str = "training", enabled: bool = True):
        self.bar = None
        if not enabled or os.environ.get("NNBOOK_BUILD") == "1" or total <= 1:
            return
        try:
            from IPython import get_ipython
            if get_ipython() is None or not hasattr(get_ipython(), "kernel"):
                return
            import ipywidgets
            from IPython.display import display
        except ImportError:  # pragma: no cover
            return
        self.bar = ipywidgets.IntProgress(value=0, min=0, max=total, description=description)
        display(self.bar)

    def update(self, value: int, text: str | None = None) -> None:
        if self.bar is not None:
            self.bar.value = value
            if text:
                self.bar.description = text

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def minibatches(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A seeded random partition of ``range(n)`` into batches of ``batch_size`` (the last may be smaller)."""
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def fit(loss_and_grads: Callable[..., tuple[float, Mapping[str, np.ndarray]]],
        params: dict[str, np.ndarray], optimizer: Optimizer, data: tuple, epochs: int,
        batch_size: int | None = None, *, batch_axis: int = 0, seed: int = 0,
        clip: float | None = None, evaluate: Callable[[dict], Mapping[str, float]] | None = None,
        snapshot: Callable[[dict, int], Any] | None = None, progress: bool = True) -> TrainLog:
    """Train ``params`` in place by mini-batch steps of ``optimizer``.

    Parameters
    ----------
    loss_and_grads : callable
        ``loss_and_grads(params, *batch, rng=rng) -> (loss, grads)``; ``batch`` holds one slice of
        every array in ``data``.
    params : dict of str -> ndarray
        Updated in place.
    optimizer : Optimizer
        :class:`~nnbook.train.optimizers.SGD`, :class:`~nnbook.train.optimizers.Adam`, ...
    data : tuple of ndarray
        Arrays sharing their length along ``batch_axis`` (e.g. ``(X, y)``).
    epochs : int
        Passes through the data (0 only evaluates).
    batch_size : int, optional
        Mini-batch size (default: the whole data set, i.e. batch gradient descent).
    batch_axis : int
        The axis of every data array that indexes examples (1 for sequences ``(T, B, D)``).
    seed : int
        Seeds the batch order and the ``rng`` passed to ``loss_and_grads``.
    clip : float, optional
        Clip the global gradient norm at this threshold before each step.
    evaluate : callable, optional
        ``evaluate(params) -> {"name": value}``, recorded before training and after each epoch.
    snapshot : callable, optional
        ``snapshot(params, epoch) -> anything``, recorded before training and after each epoch.
    progress : bool
        Show a progress bar in Jupyter (never in the book build).

    Returns
    -------
    TrainLog
    """
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be an nnbook optimizer (SGD, Adam), got {type(optimizer).__name__}")
    if not isinstance(params, dict) or not params:
        raise ValueError("params must be a non-empty dict of arrays keyed by name")
    check_positive(epochs, "epochs", integer=True, allow_zero=True)
    if not isinstance(data, tuple) or not data:
        raise ValueError("data must be a non-empty tuple of arrays, e.g. (X, y)")
    sizes = {np.shape(d)[batch_axis] if np.ndim(d) > batch_axis else None for d in data}
    if len(sizes) != 1 or None in sizes:
        raise ValueError(f"every data array needs the same length along axis {batch_axis}, "
                         f"got shapes {[np.shape(d) for d in data]}")
    n = sizes.pop()
    if n == 0:
        raise ValueError("data holds no examples")
    batch_size = n if batch_size is None else check_positive(batch_size, "batch_size", integer=True)
    if clip is not None:
        check_positive(clip, "clip")

    rng = np.random.default_rng(seed)
    log = TrainLog(loss=np.zeros(epochs), grad_norm=np.zeros(epochs))
    metric_rows: list[Mapping[str, float]] = []

    def record(epoch: int) -> None:
        if evaluate is not None:
            metric_rows.append(dict(evaluate(params)))
        if snapshot is not None:
            log.snapshots.append(snapshot(params, epoch))

    record(0)
    bar = Progress(epochs, enabled=progress)
    for epoch in range(1, epochs + 1):
        losses, norms = [], []
        for idx in minibatches(n, batch_size, rng):
            batch = tuple(np.take(d, idx, axis=batch_axis) for d in data)
            loss, grads = loss_and_grads(params, *batch, rng=rng)
            if not np.isfinite(loss):
                raise Diverged(f"the loss became {loss} in epoch {epoch}: lower the learning "
                               "rate or clip the gradients")
            if not all(np.all(np.isfinite(g)) for g in grads.values()):
                raise Diverged(f"a gradient became NaN or inf in epoch {epoch}: lower the "
                               "learning rate or clip the gradients")
            check_grads(params, grads)
            norm = global_norm(grads)
            if clip is not None and norm > clip:
                grads, _ = clip_grad_norm(grads, clip)
                log.clipped += 1
            optimizer.step(params, grads)
            log.steps += 1
            losses.append(float(loss))
            norms.append(norm)
        log.loss[epoch - 1] = np.mean(losses)
        log.grad_norm[epoch - 1] = np.mean(norms)
        record(epoch)
        bar.update(epoch, f"epoch {epoch}/{epochs}")
    bar.close()
    if metric_rows:
        log.metrics = {k: np.array([row[k] for row in metric_rows]) for k in metric_rows[0]}
    return log
