"""The one training loop of the book: mini-batches, an optimizer, optional clipping, a log.

Every trainable model (Part I's MLP through :func:`nnbook.train.mlp.fit_mlp`, the CNN, the RNNs,
attention) is trained by :func:`fit`.
It needs only

* ``params``: a ``dict[str, ndarray]`` of the model's parameters (updated in place), and
* ``loss_and_grads(params, *batch, rng) -> (loss, grads)``: the summed or mean loss on one
  mini-batch and its gradients keyed like ``params`` (``rng`` is a seeded generator for dropout and
  the like; ignore it if the model is deterministic).

Mini-batches are drawn along ``batch_axis`` of every data array (0 for images ``(N, ...)``, 1 for
sequences ``(T, B, ...)``) in a fresh seeded order every epoch, so two runs give identical numbers.
After every epoch (and before the first) ``evaluate(params)`` may return metrics and
``snapshot(params, epoch)`` may record anything (filters, attention maps) for an epoch slider.
:class:`EarlyStopping` is a rule on one of ``evaluate``'s values: stop once it has not improved for
``patience`` epochs, and put back the parameters of its best epoch.

Long runs show a progress bar in Jupyter; in the book build (``NNBOOK_BUILD=1``) and outside a
kernel nothing is displayed or printed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..checks import (ArgumentTypeError, check_bool, check_int, check_name, check_positive,
                      check_seed)
from .optimizers import Diverged, Optimizer, check_grads, clip_grad_norm, global_norm

__all__ = ["TrainLog", "fit", "Diverged", "EarlyStopping", "Progress", "minibatches"]


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
    stopped_epoch : int
        The last epoch that ran (smaller than the ``epochs`` asked for if early stopping fired).
    best_epoch : int or None
        With :class:`EarlyStopping`: the epoch whose parameters ``fit`` kept (the best value of
        the monitored metric). Otherwise None; :meth:`best` finds it for any metric.
    """
    loss: np.ndarray
    grad_norm: np.ndarray
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    snapshots: list = field(default_factory=list, repr=False)
    clipped: int = 0
    steps: int = 0
    stopped_epoch: int = 0
    best_epoch: int | None = None

    def best(self, metric: str, mode: str = "min") -> int:
        """The first epoch (0 = before training) with the lowest (``mode="max"``: highest) ``metric``."""
        if metric not in self.metrics:
            raise ValueError(f"no metric {metric!r} was recorded; evaluate returned "
                             f"{sorted(self.metrics)}")
        values = self.metrics[metric]
        return int(np.argmin(values) if _check_mode(mode) == "min" else np.argmax(values))


def _check_mode(mode: str) -> str:
    return check_name(mode, ("min", "max"), "mode")


@dataclass(frozen=True)
class EarlyStopping:
    """Stop training once ``metric`` (a key of ``evaluate``'s values) has not improved for
    ``patience`` epochs, and restore the parameters of its best epoch.

    Parameters
    ----------
    metric : str
        The value to watch, e.g. ``"val_error"``.
    patience : int
        Epochs without a strict improvement after which training stops (>= 1).
    mode : {"min", "max"}
        Whether lower (an error) or higher (an accuracy) is better.
    restore_best : bool
        Put back the parameters of the best epoch when training ends (stopped early or not).
    """
    metric: str
    patience: int
    mode: str = "min"
    restore_best: bool = True

    def __post_init__(self):
        if not isinstance(self.metric, str):
            raise ValueError(f"EarlyStopping.metric must be the name of an evaluate value, got "
                             f"{self.metric!r}")
        check_positive(self.patience, "patience", integer=True)
        object.__setattr__(self, "mode", _check_mode(self.mode))
        check_bool(self.restore_best, "restore_best")

    def improved(self, value: float, best: float) -> bool:
        return value < best if self.mode == "min" else value > best


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
    """A seeded random partition of ``range(n)`` into batches of ``batch_size`` (the last may be smaller).

    A batch that holds the whole data set keeps its order and draws nothing from ``rng``.
    """
    if batch_size >= n:
        return [np.arange(n)]
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def fit(loss_and_grads: Callable[..., tuple[float, Mapping[str, np.ndarray]]],
        params: dict[str, np.ndarray], optimizer: Optimizer, data: tuple, epochs: int,
        batch_size: int | None = None, *, batch_axis: int = 0, seed: int = 0,
        clip: float | None = None, evaluate: Callable[[dict], Mapping[str, float]] | None = None,
        snapshot: Callable[[dict, int], Any] | None = None,
        early_stopping: EarlyStopping | None = None, decay_per: str = "step",
        progress: bool = True) -> TrainLog:
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
        Mini-batch size (default: the whole data set, i.e. batch gradient descent, which takes
        the examples in their given order; smaller batches are drawn in a fresh seeded order).
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
    early_stopping : EarlyStopping, optional
        A rule on one of ``evaluate``'s values (which ``evaluate`` must then return).
    decay_per : {"step", "epoch"}
        What the optimizer's weight decay belongs to. ``"step"`` (for a loss averaged over a
        mini-batch, as in Parts II-IV and PyTorch): the full decay at every step. ``"epoch"`` (for
        an error summed over the data set, as in Part I): each step applies the batch's share of
        it, ``len(batch) / n``, so that an epoch applies it once in total.
    progress : bool
        Show a progress bar in Jupyter (never in the book build).

    Returns
    -------
    TrainLog

    Raises
    ------
    Diverged
        If a loss or a gradient is not finite, or a step would write NaN or inf into a parameter;
        the message names the epoch, and the parameters keep their last finite values (a step
        is checked in full before anything is written).
    ValueError, TypeError
        For bad arguments, or a ``loss_and_grads`` that does not return ``(scalar, dict)`` with
        real gradients shaped like ``params``; raised before anything changes.
    """
    if not callable(loss_and_grads):
        raise ArgumentTypeError("loss_and_grads must be a function (params, *batch, rng) -> "
                                f"(loss, grads), got {type(loss_and_grads).__name__}")
    if not isinstance(optimizer, Optimizer):
        raise ArgumentTypeError("optimizer must be an nnbook optimizer (SGD, Adam), got "
                                f"{type(optimizer).__name__}")
    if not isinstance(params, dict) or not params:
        raise ArgumentTypeError("params must be a non-empty dict of arrays keyed by name")
    for k, p in params.items():
        if not isinstance(p, np.ndarray) or not np.issubdtype(p.dtype, np.floating):
            raise ArgumentTypeError(f"params[{k!r}] must be a floating-point ndarray, got "
                                    f"{type(p).__name__} {getattr(p, 'dtype', '')}")
        if not np.all(np.isfinite(p)):
            raise ValueError(f"params[{k!r}] contains NaN or inf; every value must be finite")
    check_positive(epochs, "epochs", integer=True, allow_zero=True)
    batch_axis = check_int(batch_axis, "batch_axis", minimum=0)
    seed = check_seed(seed)
    if evaluate is not None and not callable(evaluate):
        raise ArgumentTypeError(f"evaluate must be a function, got {type(evaluate).__name__}")
    if snapshot is not None and not callable(snapshot):
        raise ArgumentTypeError(f"snapshot must be a function, got {type(snapshot).__name__}")
    if not isinstance(data, tuple) or not data:
        raise ArgumentTypeError("data must be a non-empty tuple of arrays, e.g. (X, y)")
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
    decay_per = check_name(decay_per, ("step", "epoch"), "decay_per")
    progress = check_bool(progress, "progress")
    if early_stopping is not None:
        if not isinstance(early_stopping, EarlyStopping):
            raise ValueError("early_stopping must be an EarlyStopping rule, got "
                             f"{type(early_stopping).__name__}")
        if evaluate is None:
            raise ValueError(f"early_stopping watches {early_stopping.metric!r}, a value of "
                             "evaluate: give evaluate")

    rng = np.random.default_rng(seed)
    log = TrainLog(loss=np.zeros(epochs), grad_norm=np.zeros(epochs))
    metric_rows: list[Mapping[str, float]] = []

    def record(epoch: int) -> None:
        if evaluate is not None:
            row = dict(evaluate(params))
            if metric_rows and row.keys() != metric_rows[0].keys():
                raise ValueError(f"evaluate returned the keys {sorted(row)} after epoch {epoch} "
                                 f"but {sorted(metric_rows[0])} before training; return the same "
                                 "keys every time")
            metric_rows.append(row)
        if snapshot is not None:
            log.snapshots.append(snapshot(params, epoch))

    record(0)
    best = None
    if early_stopping is not None:
        best = _Best(early_stopping, metric_rows[0], params)
    bar = Progress(epochs, enabled=progress)
    for epoch in range(1, epochs + 1):
        losses, norms = [], []
        for idx in minibatches(n, batch_size, rng):
            batch = tuple(np.take(d, idx, axis=batch_axis) for d in data)
            loss, grads = _checked(loss_and_grads(params, *batch, rng=rng))
            if not np.isfinite(loss):
                raise Diverged(f"the loss became {loss} in epoch {epoch}: lower the learning "
                               "rate or clip the gradients")
            check_grads(params, grads, finite=False)
            if not all(np.all(np.isfinite(g)) for g in grads.values()):
                raise Diverged(f"a gradient became NaN or inf in epoch {epoch}: lower the "
                               "learning rate or clip the gradients")
            norm = global_norm(grads)
            if clip is not None and norm > clip:
                grads, _ = clip_grad_norm(grads, clip)
                log.clipped += 1
            try:  # a step that would overflow a parameter changes nothing and raises Diverged
                optimizer.step(params, grads,
                               decay_scale=len(idx) / n if decay_per == "epoch" else 1.0)
            except Diverged as exc:
                raise Diverged(f"epoch {epoch}: {exc}") from None
            log.steps += 1
            losses.append(float(loss))
            norms.append(norm)
        log.loss[epoch - 1] = np.mean(losses)
        log.grad_norm[epoch - 1] = np.mean(norms)
        record(epoch)
        log.stopped_epoch = epoch
        bar.update(epoch, f"epoch {epoch}/{epochs}")
        if best is not None and best.update(epoch, metric_rows[-1], params):
            break
    bar.close()
    log.loss = log.loss[:log.stopped_epoch]
    log.grad_norm = log.grad_norm[:log.stopped_epoch]
    if metric_rows:
        log.metrics = {k: np.array([row[k] for row in metric_rows]) for k in metric_rows[0]}
    if best is not None:
        log.best_epoch = best.epoch
        if early_stopping.restore_best:
            for k, v in best.params.items():
                params[k][...] = v
    return log


def _checked(result) -> tuple[float, Mapping[str, np.ndarray]]:
    """``loss_and_grads``'s result as (a float loss, a dict of gradients), or a clear error."""
    if not isinstance(result, tuple) or len(result) != 2:
        raise ArgumentTypeError("loss_and_grads must return a pair (loss, grads), got "
                                f"{type(result).__name__}")
    loss, grads = result
    if (np.ndim(loss) != 0 or isinstance(loss, (bool, np.bool_, str, bytes))
            or np.iscomplexobj(loss)):
        raise ArgumentTypeError(f"loss_and_grads must return a scalar loss, got {loss!r:.80}")
    try:
        loss = float(loss)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"loss_and_grads must return a real scalar loss, got "
                                f"{loss!r:.80}") from None
    if not isinstance(grads, Mapping):
        raise ArgumentTypeError("loss_and_grads must return its gradients as a dict keyed like "
                                f"params, got {type(grads).__name__}")
    return loss, grads


class _Best:
    """The best epoch so far of an :class:`EarlyStopping` rule, with a copy of its parameters."""

    def __init__(self, rule: EarlyStopping, first: Mapping[str, float], params: dict):
        if rule.metric not in first:
            raise ValueError(f"early_stopping watches {rule.metric!r}, but evaluate returned "
                             f"{sorted(first)}")
        self.rule, self.epoch, self.value = rule, 0, first[rule.metric]
        self.params = {k: np.array(v, copy=True) for k, v in params.items()}

    def update(self, epoch: int, row: Mapping[str, float], params: dict) -> bool:
        """Record ``epoch`` if it improved; True when patience has run out."""
        if self.rule.improved(row[self.rule.metric], self.value):
            self.epoch, self.value = epoch, row[self.rule.metric]
            self.params = {k: np.array(v, copy=True) for k, v in params.items()}
        return epoch - self.epoch >= self.rule.patience
