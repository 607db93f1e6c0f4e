"""Training one architecture from several random starts (chapters 4-5): the error surface is not
convex, so which minimum gradient descent finds depends on where it starts."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..checks import as_float_array, check_int, check_name, check_positive, check_seed
from ..nn.mlp import MLP
from ..train.fit import TrainLog
from ..train.mlp import fit_mlp

__all__ = ["restarts", "Sweep", "hidden_unit_sweep"]


def restarts(sizes: Sequence[int], activations: Sequence[str], X, T, loss: str, lr: float,
             epochs: int, seeds: Sequence[int], scale: float = 1.0, method: str = "gd",
             **train_kwargs) -> list[tuple[MLP, TrainLog]]:
    """Train one architecture from several random starting points.

    Each run starts from ``MLP.random(sizes, activations, seed=s, scale=scale)`` and is trained
    in place with the same data and settings; only the starting weights differ. ``method="gd"``
    trains by :func:`~nnbook.train.mlp.fit_mlp` (gradient descent); ``method="bfgs"`` runs the quasi-Newton method
    :func:`nnbook.teach.quadratic.bfgs` for at most ``epochs`` iterations (``lr`` is then unused), close
    to convergence, which is what comparing minima needs.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, inputs first: ``[D, M, K]`` for a two-layer network.
    activations : sequence of str
        One per layer.
    X : array_like, shape (N, D)
    T : array_like, shape (N, K)
    loss, lr, epochs
        As for :func:`~nnbook.train.mlp.fit_mlp`.
    seeds : sequence of int
        One seed per restart (at least one).
    scale : float
        Standard-deviation multiplier of the random start (see :meth:`MLP.random`).
    method : {"gd", "bfgs"}
    **train_kwargs
        Passed to :func:`~nnbook.train.mlp.fit_mlp` (``batch_size``, ``weight_decay``, ``X_val``, ``T_val``, ...);
        only with ``method="gd"``.

    Returns
    -------
    list of (MLP, TrainLog)
        One trained network and its log per seed, in the order of ``seeds``. With BFGS the log's
        ``metrics["train_error"]`` holds the error before and after (``stopped_epoch`` is the
        iteration count).
    """
    from .quadratic import bfgs

    seeds = [check_seed(s, "seeds") for s in seeds]
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed")
    method = check_name(method, ("gd", "bfgs"), "method")
    if method == "bfgs" and train_kwargs:
        raise ValueError(f"method='bfgs' takes no training options, got {sorted(train_kwargs)}")
    runs = []
    for s in seeds:
        net = MLP.random(sizes, activations, seed=s, scale=scale)
        if method == "gd":
            runs.append((net, fit_mlp(net, X, T, loss, lr, epochs, **train_kwargs)))
        else:
            before = net.error(X, T, loss)
            n_iter = bfgs(net, X, T, loss, maxiter=epochs)
            errors = np.array([before, net.error(X, T, loss)])
            runs.append((net, TrainLog(loss=errors[1:], grad_norm=np.full(1, np.nan),
                                      metrics={"train_error": errors, "objective": errors.copy()},
                                      stopped_epoch=int(n_iter))))
    return runs


@dataclass
class Sweep:
    """What :func:`hidden_unit_sweep` measured: one row per number of hidden units M.

    Attributes
    ----------
    Ms : ndarray of int, shape (m,)
    train_error, val_error : ndarray, shape (m, R)
        Error per pattern (data error divided by the number of patterns) after training, for
        each M and each of the R restarts.
    nets : list of list of MLP
        ``nets[i][r]``: the trained network for ``Ms[i]`` and restart ``r``.
    """
    Ms: np.ndarray
    train_error: np.ndarray
    val_error: np.ndarray
    nets: list = field(repr=False)

    @property
    def best(self) -> tuple[int, int]:
        """Index ``(i, r)`` of the run with the lowest validation error."""
        i, r = np.unravel_index(int(np.argmin(self.val_error)), self.val_error.shape)
        return int(i), int(r)


def hidden_unit_sweep(Ms: Sequence[int], X, T, X_val, T_val, loss: str, lr: float, epochs: int,
                      n_restarts: int, hidden: str = "tanh", output: str = "identity",
                      scale: float = 1.0, seed: int = 0, method: str = "gd",
                      **train_kwargs) -> Sweep:
    """Train D-M-K networks for several M, each from ``n_restarts`` random starts.

    This is the laborious recipe for choosing the number of hidden units by validation: the
    error surface is not convex, so each M is tried from several starting points.

    Parameters
    ----------
    Ms : sequence of int
        Numbers of hidden units to try (each >= 1).
    X, T : array_like, shapes (N, D) and (N, K)
        Training data.
    X_val, T_val : array_like, shapes (N_val, D) and (N_val, K)
        Validation data.
    loss, lr, epochs
        As for :func:`~nnbook.train.mlp.fit_mlp` (batch gradient descent unless ``batch_size`` is given); with
        ``method="bfgs"``, ``epochs`` is the largest number of BFGS iterations.
    n_restarts : int
        Random starts per M; restart ``r`` of every M uses the seed ``seed + r``.
    hidden, output : str
        Activations of the hidden and the output layer.
    scale : float
        Standard-deviation multiplier of the random starts.
    method : {"gd", "bfgs"}
        How each network is trained (see :func:`restarts`).
    **train_kwargs
        Passed on to :func:`~nnbook.train.mlp.fit_mlp`.

    Returns
    -------
    Sweep
    """
    Ms = [check_int(m, "Ms", minimum=1) for m in Ms]
    if not Ms:
        raise ValueError("Ms is empty: give at least one number of hidden units")
    for m in Ms:
        check_positive(m, "every M", integer=True)
    check_positive(n_restarts, "n_restarts", integer=True)
    X = as_float_array(X, "X", ndim=(2,))
    X_val = as_float_array(X_val, "X_val", ndim=(2,))
    T = as_float_array(T, "T", ndim=(1, 2)).reshape(len(X), -1)
    T_val = as_float_array(T_val, "T_val", ndim=(1, 2)).reshape(len(X_val), -1)
    sizes = lambda m: [X.shape[1], m, T.shape[1]]
    seeds = [seed + r for r in range(n_restarts)]
    tr_err = np.empty((len(Ms), n_restarts))
    va_err = np.empty((len(Ms), n_restarts))
    nets = []
    for i, m in enumerate(Ms):
        runs = restarts(sizes(m), [hidden, output], X, T, loss, lr, epochs, seeds, scale=scale,
                        method=method, **train_kwargs)
        nets.append([net for net, _ in runs])
        for r, (net, _) in enumerate(runs):
            tr_err[i, r] = net.error(X, T, loss) / len(X)
            va_err[i, r] = net.error(X_val, T_val, loss) / len(X_val)
    return Sweep(np.array(Ms), tr_err, va_err, nets)
