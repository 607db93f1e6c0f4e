r"""Optimizers that step any set of *named* parameter arrays, shared by Parts II-IV.

A model's parameters are a ``dict[str, ndarray]`` (``{"conv1.w": ..., "conv1.b": ..., ...}`` for the
CNN, ``{"Wxh": ..., "Whh": ..., ...}`` for an RNN, ``{"Wq": ..., ...}`` for attention), and its
gradients a dict with the same keys and shapes. Every optimizer here updates such a dict *in place*:

>>> opt = Adam(lr=1e-3)                                  # doctest: +SKIP
>>> opt.step(params, grads)                              # doctest: +SKIP

* :class:`SGD`: :math:`\mathbf v \leftarrow \mu\mathbf v + \mathbf g`,
  :math:`\mathbf w \leftarrow \mathbf w - \eta\mathbf v` (PyTorch's convention; :math:`\mu = 0` is
  plain gradient descent);
* :class:`Adam` (Kingma & Ba, 2015): bias-corrected first and second moment estimates,
  :math:`\mathbf w \leftarrow \mathbf w - \eta\,\hat{\mathbf m}/(\sqrt{\hat{\mathbf v}} + \epsilon)`;
* ``weight_decay`` :math:`\lambda` adds :math:`\lambda\mathbf w` to the gradient of the arrays that
  ``decay`` selects (L2 regularization, as in chapter 4). The rule is explicit, never guessed from
  names: by default *every* array is decayed, biases included (Part I's ``fit_mlp(weight_decay=...)``
  and PyTorch's ``weight_decay`` do the same); ``decay={"W1", "W2"}`` decays exactly the arrays
  named, and ``decay=lambda name: ...`` those for which the predicate is true. Given as a dict,
  ``weight_decay`` sets each named array's own coefficient (Part I's weight decay and per-layer
  decay are such a dict, :func:`nnbook.train.mlp.mlp_weight_decay`);
* ``warmup`` :math:`n_w` (every optimizer) raises the learning rate linearly over the first
  :math:`n_w` steps, :math:`\eta_t = \eta\min(1, t/n_w)` (Vaswani et al., 2017; Transformers
  trained with large steps need it, chapter 13); 0, the default, is no warm-up;
* :func:`clip_grad_norm` rescales all gradients together when their global norm exceeds
  :math:`\theta` (chapter on BPTT), keeping their direction.

These are the book's only optimizers, and :func:`nnbook.fit` is the one training loop that drives
them, in every part (Part I's MLP through :func:`nnbook.train.mlp.fit_mlp`).
"""
from __future__ import annotations

from typing import Callable, Collection, Mapping, Union

import numpy as np

from ..checks import ArgumentTypeError, check_positive, check_real

__all__ = ["Diverged", "Optimizer", "SGD", "Adam", "clip_grad_norm", "global_norm", "check_grads"]

Params = Mapping[str, np.ndarray]
Decay = Union[None, Collection[str], Callable[[str], bool]]


class Diverged(ValueError):
    """Training blew up: a loss, a gradient or a step stopped being finite.

    Raised by :func:`nnbook.fit` (naming the epoch) and by an optimizer's ``step`` that would
    write NaN or inf into a parameter; either way the parameters keep their last finite values.
    """


def check_grads(params: Params, grads: Params, *, finite: bool = True) -> None:
    """Check that ``grads`` has exactly the keys of ``params``, matching shapes, finite values.

    Every parameter must be a writeable floating-point ndarray and every gradient a real
    (integer or floating-point) array: object, string, boolean and complex gradients raise (a
    complex gradient would otherwise lose its imaginary part without a word).

    Raises
    ------
    ValueError
        Naming the missing or extra key, the shape that disagrees, or the gradient that holds
        NaN or inf.
    """
    if not isinstance(params, Mapping) or not isinstance(grads, Mapping):
        raise ArgumentTypeError("params and grads must be dicts of arrays keyed by parameter name, "
                                f"got {type(params).__name__} and {type(grads).__name__}")
    missing = sorted(set(params) - set(grads), key=str)
    extra = sorted(set(grads) - set(params), key=str)
    if missing:
        raise ValueError(f"grads lacks the parameter(s) {missing}")
    if extra:
        raise ValueError(f"grads has key(s) {extra} that are not parameters")
    for k, p in params.items():
        g = grads[k]
        if not isinstance(p, np.ndarray) or not np.issubdtype(p.dtype, np.floating):
            raise ArgumentTypeError(f"parameter {k!r} must be a floating-point ndarray, got "
                                    f"{type(p).__name__} {getattr(p, 'dtype', '')}")
        if not p.flags.writeable:
            raise ValueError(f"parameter {k!r} is read-only; the optimizer updates it in place")
        dtype = getattr(g, "dtype", None)
        if dtype is None:
            try:
                dtype = np.asarray(g).dtype
            except Exception:  # ragged lists and the like
                dtype = np.dtype(object)
        if not (np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)):
            raise ArgumentTypeError(f"gradient {k!r} must be a real array, got dtype {dtype}")
        if np.shape(g) != p.shape:
            raise ValueError(f"gradient {k!r} has shape {np.shape(g)}, parameter has {p.shape}")
        if finite and not np.all(np.isfinite(g)):
            raise ValueError(f"gradient {k!r} contains NaN or inf")


def global_norm(grads: Params) -> float:
    r"""The norm of all gradients taken as one vector, :math:`\sqrt{\sum_k \lVert g_k\rVert^2}`.

    Without overflow: if the sum of squares overflows (gradients of size 1e200), every array is
    divided by the largest magnitude first, so the true norm (1e200, not inf) comes back.
    """
    with np.errstate(over="ignore"):
        norm = float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64)))
                                 for g in grads.values())))
    if np.isfinite(norm):
        return norm
    arrays = [np.asarray(g, dtype=np.float64) for g in grads.values()]
    big = max((float(np.max(np.abs(a))) for a in arrays if a.size), default=0.0)
    if big == 0.0 or not np.isfinite(big):
        return big
    with np.errstate(under="ignore"):
        total = sum(float(np.sum(np.square(a / big))) for a in arrays)
    return big * float(np.sqrt(total))


def clip_grad_norm(grads: Params, theta: float) -> tuple[dict[str, np.ndarray], float]:
    r"""Clip gradients by their global norm (Pascanu et al., 2013).

    If :math:`\lVert\mathbf g\rVert > \theta`, every array is multiplied by
    :math:`\theta/\lVert\mathbf g\rVert`: the direction of the full gradient is kept and its norm
    becomes :math:`\theta`. Otherwise the gradients are returned unchanged.

    Parameters
    ----------
    grads : dict of str -> ndarray
        Gradients keyed by parameter name (any shapes).
    theta : float
        The threshold, > 0.

    Returns
    -------
    clipped : dict of str -> ndarray
        New arrays (the input is not modified), same keys, shapes and dtypes (integer gradients
        come back as float64).
    norm : float
        The global norm *before* clipping.
    """
    check_positive(theta, "theta")
    if not isinstance(grads, Mapping) or not grads:
        raise ArgumentTypeError("grads must be a non-empty dict of arrays")
    arrays = {}
    for k, g in grads.items():
        g = np.asarray(g)
        if not (np.issubdtype(g.dtype, np.floating) or np.issubdtype(g.dtype, np.integer)):
            raise ArgumentTypeError(f"gradient {k!r} must be a real array, got dtype {g.dtype}")
        if not np.all(np.isfinite(g)):
            raise ValueError(f"gradient {k!r} contains NaN or inf")
        arrays[k] = g
    norm = global_norm(arrays)
    scale = theta / norm if norm > theta else 1.0
    # integer gradients become float64 (3 * 0.2 is not an integer); floats keep their dtype
    arrays = {k: g if np.issubdtype(g.dtype, np.floating) else g.astype(np.float64)
              for k, g in arrays.items()}
    return {k: g * np.asarray(scale, dtype=g.dtype) for k, g in arrays.items()}, norm


class Optimizer:
    """Base class: keeps per-parameter state keyed by name and applies weight decay.

    Parameters
    ----------
    lr : float
        Learning rate :math:`\\eta` > 0.
    weight_decay : float or dict of str -> float
        L2 coefficient :math:`\\lambda` >= 0, added as :math:`\\lambda\\mathbf w` to the gradient
        of the arrays ``decay`` selects; or a dict giving each named array its own coefficient
        (arrays it leaves out are not decayed; ``decay`` must then be None).
    decay : None, collection of str, or callable, optional
        Which arrays a float ``weight_decay`` acts on; it does not matter while ``weight_decay`` is 0.

        * ``None`` (default): every array of ``params``, biases, embeddings and batch-norm
          gains/shifts included.
        * a set (list, tuple, ...) of parameter names: exactly these arrays; a name that is not a
          key of ``params`` raises ``ValueError`` at :meth:`step` (so a typo cannot silently turn
          decay off).
        * a callable ``decay(name) -> bool``: the arrays whose name it accepts.
    warmup : int
        Linear learning-rate warm-up: step :math:`t` (counting from 1) uses
        :math:`\\eta\\min(1, t/\\text{warmup})`; 0 (default) uses :math:`\\eta` from the first step.

    Attributes
    ----------
    lr_now : float
        The learning rate the last step used.
    """

    def __init__(self, lr: float, weight_decay: float | Mapping[str, float] = 0.0,
                 decay: Decay = None, warmup: int = 0):
        self.lr = float(check_positive(lr, "lr"))
        self.warmup = int(check_positive(warmup, "warmup", integer=True, allow_zero=True))
        self.lr_now = self.lr
        if isinstance(weight_decay, Mapping):
            if decay is not None:
                raise ValueError("weight_decay given as a dict already names the decayed arrays; "
                                 "leave decay=None")
            self.weight_decay = {str(k): float(check_positive(v, f"weight_decay[{k!r}]",
                                                              allow_zero=True))
                                 for k, v in weight_decay.items()}
        else:
            self.weight_decay = float(check_positive(weight_decay, "weight_decay", allow_zero=True))
        self.decay = _check_decay(decay)
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self.t = 0

    def decays(self, name: str) -> bool:
        """Whether the array called ``name`` is decayed (by the rule ``decay``, whatever ``weight_decay``)."""
        if self.decay is None:
            return True
        if isinstance(self.decay, frozenset):
            return name in self.decay
        return bool(self.decay(name))

    def coefficient(self, name: str) -> float:
        """The L2 coefficient applied to the array called ``name`` (0 if it is not decayed)."""
        if isinstance(self.weight_decay, dict):
            return self.weight_decay.get(name, 0.0)
        return self.weight_decay if self.weight_decay and self.decays(name) else 0.0

    def _grad(self, name: str, p: np.ndarray, g: np.ndarray, decay_scale: float) -> np.ndarray:
        coef = self.coefficient(name)
        if not coef:
            return g
        if decay_scale == 1.0:
            return g + coef * p
        return g + decay_scale * (coef * p)

    def step(self, params: Params, grads: Params, decay_scale: float = 1.0) -> None:
        """Update every array of ``params`` in place from ``grads`` (same keys and shapes).

        ``decay_scale`` multiplies the weight-decay term of this step: :func:`nnbook.fit` passes a
        mini-batch's share of the data set when the decay belongs to a whole epoch (a summed
        error, as in Part I), so that one epoch applies it once in total.
        """
        # everything is checked before anything changes: a step that raises leaves the
        # parameters, the state and the step counter as they were
        check_grads(params, grads)
        decay_scale = check_real(decay_scale, "decay_scale", minimum=0.0)
        if isinstance(self.weight_decay, dict) and not set(self.weight_decay) <= set(params):
            raise ValueError(f"weight_decay names {sorted(set(self.weight_decay) - set(params))}, "
                             f"which are not parameters (the parameters are {sorted(params)})")
        if isinstance(self.decay, frozenset) and not self.decay <= set(params):
            raise ValueError(f"decay names {sorted(self.decay - set(params))}, which are not "
                             f"parameters (the parameters are {sorted(params)})")
        for name, p in params.items():
            for key, st in self.state.get(name, {}).items():
                if st.shape != p.shape:
                    raise ValueError(f"parameter {name!r} has shape {p.shape} but the optimizer's "
                                     f"state {key!r} for it has {st.shape} (a new model under "
                                     "the same names? use a fresh optimizer)")
        updates, new = {}, {}
        t = self.t + 1
        lr_before, self.lr_now = self.lr_now, (self.lr * min(1.0, t / self.warmup) if self.warmup
                                               else self.lr)
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused just below
            for name, p in params.items():
                g = self._grad(name, p, np.asarray(grads[name], dtype=p.dtype), decay_scale)
                updates[name] = self._update(name, p, g, t)
                new[name] = p - updates[name][0]
        bad = [name for name, v in new.items() if not np.all(np.isfinite(v))]
        if bad:
            self.lr_now = lr_before
            raise Diverged(f"a step would make parameter(s) {bad} NaN or inf (overflow); they "
                           "keep their last finite values: lower the learning rate or clip")
        self.t = t
        for name, p in params.items():
            state = updates[name][1]
            if state is not None:
                self.state[name] = state
            p[...] = new[name]

    def _update(self, name: str, p: np.ndarray, g: np.ndarray, t: int):  # pragma: no cover
        """``(delta, new_state)`` of step ``t`` for one parameter, changing nothing itself
        (``new_state`` None: no state)."""
        raise NotImplementedError


def _check_decay(decay: Decay) -> frozenset[str] | Callable[[str], bool] | None:
    """Validate the ``decay`` rule: None, a collection of names (as a frozenset) or a callable."""
    if decay is None or callable(decay):
        return decay
    if isinstance(decay, (str, bytes)) or not isinstance(decay, Collection):
        raise ValueError("decay must be None (every array), a collection of parameter names such "
                         f"as {{'W'}}, or a callable name -> bool, got {decay!r}")
    bad = [k for k in decay if not isinstance(k, str)]
    if bad:
        raise ValueError(f"decay must name parameters by str, got {bad!r}")
    return frozenset(decay)


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with (heavy-ball) momentum :math:`\mu`.

    :math:`\mathbf v \leftarrow \mu\mathbf v + \mathbf g`, :math:`\mathbf w \leftarrow \mathbf w - \eta\mathbf v`.
    """

    def __init__(self, lr: float, momentum: float = 0.0,
                 weight_decay: float | Mapping[str, float] = 0.0, decay: Decay = None,
                 warmup: int = 0):
        super().__init__(lr, weight_decay, decay, warmup)
        check_positive(momentum, "momentum", allow_zero=True)
        if momentum >= 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.momentum = float(momentum)

    def _update(self, name, p, g, t):
        if not self.momentum:
            return self.lr_now * g, None
        v = self.state.get(name, {}).get("v")
        v = g.copy() if v is None else self.momentum * v + g
        return self.lr_now * v, {"v": v}


class Adam(Optimizer):
    r"""Adam: :math:`\mathbf m \leftarrow \beta_1\mathbf m + (1-\beta_1)\mathbf g`,
    :math:`\mathbf v \leftarrow \beta_2\mathbf v + (1-\beta_2)\mathbf g^2`,
    :math:`\mathbf w \leftarrow \mathbf w - \eta\,\hat{\mathbf m}/(\sqrt{\hat{\mathbf v}}+\epsilon)`
    with :math:`\hat{\mathbf m} = \mathbf m/(1-\beta_1^t)`, :math:`\hat{\mathbf v} = \mathbf v/(1-\beta_2^t)`.
    """

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float | Mapping[str, float] = 0.0,
                 decay: Decay = None, warmup: int = 0):
        super().__init__(lr, weight_decay, decay, warmup)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ArgumentTypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        for b in betas:
            check_real(b, "betas")
            if not 0 <= b < 1:
                raise ValueError(f"Adam betas must lie in [0, 1), got {betas}")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(check_positive(eps, "eps"))

    def _update(self, name, p, g, t):
        b1, b2 = self.betas
        st = self.state.get(name) or {"m": np.zeros_like(p), "v": np.zeros_like(p)}
        m = b1 * st["m"] + (1 - b1) * g
        v = b2 * st["v"] + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        return self.lr_now * m_hat / (np.sqrt(v_hat) + self.eps), {"m": m, "v": v}
