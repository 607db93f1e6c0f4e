r"""Training by gradient descent.

The error is summed over patterns, as in the notes. Batch gradient descent takes one step
:math:`\mathbf w \leftarrow \mathbf w - \eta\nabla E(\mathbf w)` per epoch; stochastic (on-line)
gradient descent steps on one pattern (or a mini-batch) at a time,
:math:`\mathbf w \leftarrow \mathbf w - \eta\nabla E_n(\mathbf w)`, visiting the patterns in a fresh
seeded random order every epoch.

Regularizers (chapter 4):

* ``weight_decay`` :math:`\lambda`: adds :math:`\tfrac{\lambda}{2}\lVert\mathbf w\rVert^2` over every
  weight *and bias* (the simple regularizer);
* ``layer_decay`` :math:`[\alpha_1,\dots,\alpha_L]`: adds :math:`\sum_l\tfrac{\alpha_l}{2}\lVert W_l\rVert^2`,
  weights only, biases free (the consistent regularizer).

Equivalent networks (chapter 4): :func:`transform_inputs` and :func:`transform_outputs` build the
network that computes the same function on linearly transformed inputs, or a linearly transformed
output, so that a regularizer can be tested for consistency.

Early stopping and weight decay on a quadratic (chapter 4): :func:`quadratic_gd` runs gradient
descent on :math:`E = \tfrac12\sum_j\lambda_j(w_j-w^\star_j)^2` from :math:`\mathbf w = 0`;
:func:`early_stopping_weights` is its closed form after :math:`\tau` steps and
:func:`weight_decay_weights` the minimiser of :math:`E + \tfrac{\alpha}{2}\lVert\mathbf w\rVert^2`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..checks import as_float_array, check_name, check_positive
from ..nn.losses import LOSSES
from ..nn.mlp import MLP, check_net

__all__ = ["History", "train", "batch_gd", "sgd", "restarts", "Sweep", "hidden_unit_sweep",
           "penalty", "penalty_gradients",
           "transform_inputs", "transform_outputs", "quadratic_gd", "early_stopping_weights",
           "weight_decay_weights", "equivalent_alpha"]


@dataclass
class History:
    """What :func:`train` recorded. Index 0 is before the first update, index ``e`` after epoch ``e``.

    Attributes
    ----------
    train_error : ndarray
        Data error :math:`E(\\mathbf w)` on the training set (no penalty).
    objective : ndarray
        Training error plus the regularization penalty (what is being minimised).
    val_error : ndarray or None
        Error on the validation set, if one was given.
    best_epoch : int
        Epoch of the lowest validation error (of the lowest objective without validation data).
    stopped_epoch : int
        The last epoch that ran (smaller than ``epochs`` if early stopping fired).
    """
    train_error: np.ndarray
    objective: np.ndarray
    val_error: np.ndarray | None
    best_epoch: int
    stopped_epoch: int
    weights_history: list = field(default_factory=list, repr=False)


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


def penalty_gradients(net: MLP, weight_decay: float = 0.0,
                      layer_decay: Sequence[float] | None = None):
    """Gradient of :func:`penalty`, shaped like ``net.weights``."""
    layer_decay = _check_decay(net, weight_decay, layer_decay)
    alphas = layer_decay or [0.0] * len(net.weights)
    return [((weight_decay + a) * W, weight_decay * b) for a, (W, b) in zip(alphas, net.weights)]


def train(net: MLP, X, T, loss: str, lr: float, epochs: int, batch_size: int | None = None,
          weight_decay: float = 0.0, layer_decay: Sequence[float] | None = None,
          X_val=None, T_val=None, early_stopping: int | None = None, seed: int = 0,
          keep_weights: bool = False) -> History:
    """Train ``net`` in place by gradient descent on the summed error plus penalty.

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
        ``None``: batch gradient descent (one step per epoch). ``1``: on-line SGD. Otherwise
        mini-batches of that size, in a seeded random order.
    weight_decay, layer_decay
        See the module docstring.
    X_val, T_val : array_like, optional
        Validation data, evaluated after every epoch.
    early_stopping : int, optional
        Patience: stop once the validation error has not improved for this many epochs, and
        restore the weights of the best epoch. Needs validation data.
    seed : int
        Seed for the order of the patterns.
    keep_weights : bool
        Record a copy of the parameter vector after every epoch in ``weights_history``.
    """
    X = as_float_array(X, "X", ndim=(2,))
    T = net._check_t(T, X)
    loss = check_name(loss, LOSSES, "loss")
    check_positive(lr, "lr")
    check_positive(epochs, "epochs", integer=True, allow_zero=True)
    N = X.shape[0]
    if batch_size is not None:
        check_positive(batch_size, "batch_size", integer=True)
    layer_decay = _check_decay(net, weight_decay, layer_decay)
    has_val = X_val is not None or T_val is not None
    if has_val:
        if X_val is None or T_val is None:
            raise ValueError("give both X_val and T_val, or neither")
        X_val = as_float_array(X_val, "X_val", ndim=(2,))
        T_val = net._check_t(T_val, X_val)
    if early_stopping is not None:
        check_positive(early_stopping, "early_stopping", integer=True)
        if not has_val:
            raise ValueError("early_stopping needs validation data (X_val, T_val)")
    rng = np.random.default_rng(seed)

    def record():
        e = net.error(X, T, loss)
        train_err.append(e)
        objective.append(e + penalty(net, weight_decay, layer_decay))
        if has_val:
            val_err.append(net.error(X_val, T_val, loss))
        if keep_weights:
            weights_hist.append(net.get_params())

    train_err: list[float] = []
    objective: list[float] = []
    val_err: list[float] = []
    weights_hist: list[np.ndarray] = []
    record()
    best_params, best_epoch, stopped = net.get_params(), 0, 0
    for epoch in range(1, epochs + 1):
        if batch_size is None:
            batches = [np.arange(N)]
        else:
            order = rng.permutation(N)
            batches = [order[i:i + batch_size] for i in range(0, N, batch_size)]
        for idx in batches:
            grads = net.gradients(X[idx], T[idx], loss)
            pen = penalty_gradients(net, weight_decay, layer_decay)
            for (W, b), (dW, db), (pW, pb) in zip(net.weights, grads, pen):
                # the penalty is spread over the batches of an epoch so that one epoch applies it once
                share = len(idx) / N
                W -= lr * (dW + share * pW)
                b -= lr * (db + share * pb)
        record()
        stopped = epoch
        score = val_err if has_val else objective
        if score[-1] < score[best_epoch]:
            best_epoch, best_params = epoch, net.get_params()
        if early_stopping is not None and epoch - best_epoch >= early_stopping:
            break
    if early_stopping is not None:
        net.set_params(best_params)
    return History(np.array(train_err), np.array(objective), np.array(val_err) if has_val else None,
                   best_epoch, stopped, weights_hist)


def batch_gd(net: MLP, X, T, loss: str, lr: float, epochs: int, **kwargs) -> np.ndarray:
    """Batch gradient descent; returns the training error after each epoch (index 0: start)."""
    return train(net, X, T, loss, lr, epochs, batch_size=None, **kwargs).train_error


def sgd(net: MLP, X, T, loss: str, lr: float, epochs: int, seed: int = 0,
        batch_size: int = 1, **kwargs) -> np.ndarray:
    """Stochastic gradient descent (shuffled, seeded); returns the training error per epoch."""
    return train(net, X, T, loss, lr, epochs, batch_size=batch_size, seed=seed,
                 **kwargs).train_error



# ---------------------------------------------------------------------------- equivalent networks
def restarts(sizes: Sequence[int], activations: Sequence[str], X, T, loss: str, lr: float,
             epochs: int, seeds: Sequence[int], scale: float = 1.0, method: str = "gd",
             **train_kwargs) -> list[tuple[MLP, History]]:
    """Train one architecture from several random starting points.

    Each run starts from ``MLP.random(sizes, activations, seed=s, scale=scale)`` and is trained
    in place with the same data and settings; only the starting weights differ. ``method="gd"``
    trains by :func:`train` (gradient descent); ``method="bfgs"`` runs the quasi-Newton method
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
        As for :func:`train`.
    seeds : sequence of int
        One seed per restart (at least one).
    scale : float
        Standard-deviation multiplier of the random start (see :meth:`MLP.random`).
    method : {"gd", "bfgs"}
    **train_kwargs
        Passed to :func:`train` (``batch_size``, ``weight_decay``, ``X_val``, ``T_val``, ...);
        only with ``method="gd"``.

    Returns
    -------
    list of (MLP, History)
        One trained network and its history per seed, in the order of ``seeds``. With BFGS the
        history holds the error before and after (``stopped_epoch`` is the iteration count).
    """
    from .quadratic import bfgs  # quadratic imports this package's MLP; keep the import local

    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed")
    method = check_name(method, ("gd", "bfgs"), "method")
    if method == "bfgs" and train_kwargs:
        raise ValueError(f"method='bfgs' takes no training options, got {sorted(train_kwargs)}")
    runs = []
    for s in seeds:
        net = MLP.random(sizes, activations, seed=s, scale=scale)
        if method == "gd":
            runs.append((net, train(net, X, T, loss, lr, epochs, **train_kwargs)))
        else:
            before = net.error(X, T, loss)
            n_iter = bfgs(net, X, T, loss, maxiter=epochs)
            errors = np.array([before, net.error(X, T, loss)])
            runs.append((net, History(errors, errors.copy(), None, 1, int(n_iter))))
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
        As for :func:`train` (batch gradient descent unless ``batch_size`` is given); with
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
        Passed on to :func:`train`.

    Returns
    -------
    Sweep
    """
    Ms = [int(m) for m in Ms]
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
