r"""Teaching helpers for the chapters on recurrent networks and backpropagation through time.

The recurrent computations themselves live in :mod:`nnbook.kernels.rnn` (``rnn_forward``, ``rnn_bptt``,
``state_jacobians``); this module only arranges, measures and draws them:

* :func:`draw_unfolded`, :func:`draw_folded`, :func:`draw_rnn_step` -- the recurrent network
  folded, at one time step, and unfolded in time, with the input/output patterns of
  :data:`CONFIGURATIONS` (many-to-many of equal and unequal length, many-to-one, one-to-many);
* :func:`parameter_counts` -- weights of an MLP on a flattened sequence versus an RNN;
* :func:`worked_example`, :func:`bptt_trace`, :func:`bptt_steps` -- the :math:`T = 2` example of the
  BPTT chapter, every :math:`\mathbf a, \mathbf h, \mathbf o, \boldsymbol\delta` laid out in order;
* :func:`jacobian_product`, :func:`jacobian_product_norms`, :func:`nonnormal_matrix`,
  :func:`scaled_orthogonal`, :func:`spectral_radius` -- the product
  :math:`\partial\mathbf h^{(t)}/\partial\mathbf h^{(k)} = J^{(t)} J^{(t-1)}\cdots J^{(k+1)}` and its norm;
* :func:`sine_sequences`, :func:`teacher_forcing_inputs`, :func:`free_run`,
  :func:`scheduled_inputs`, :func:`inverse_sigmoid_decay`, :func:`next_value_loss`,
  :func:`train_next_value` -- next-value prediction trained with teacher forcing or scheduled
  sampling (Bengio et al., 2015) and run freely;
* :func:`fit_until_diverged` -- :func:`nnbook.train.fit.fit` that records a curve and stops quietly
  when training blows up (for the gradient-clipping experiment).

Shapes follow :mod:`nnbook.kernels.rnn`: a sequence is ``(T, D)``, a batch of sequences ``(T, B, D)``.
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from ..checks import (ArgumentTypeError, as_float_array, check_int, check_name, check_positive,
                      check_real, check_seed)
from ..nn.activations import derivative
from ..kernels.rnn import RNN_SHAPES, check_params, rnn_bptt, rnn_forward

__all__ = ["CONFIGURATIONS", "configuration", "parameter_counts", "worked_example", "bptt_trace",
           "bptt_steps", "BPTTStep", "jacobian_product", "jacobian_product_norms",
           "spectral_radius", "nonnormal_matrix", "scaled_orthogonal", "sine_sequences",
           "teacher_forcing_inputs", "free_run", "scheduled_inputs", "inverse_sigmoid_decay",
           "next_value_loss", "train_next_value", "fit_until_diverged"]

# --------------------------------------------------------------------------------------------
# input/output configurations and diagrams
# --------------------------------------------------------------------------------------------

#: name -> (description, example task)
CONFIGURATIONS = {
    "many-to-many (equal)": "an output at every step: tagging each word, next-value prediction",
    "many-to-one": "one output after the whole sequence: the sentiment of a review",
    "one-to-many": "one input, a sequence out: a caption from one image",
    "many-to-many (unequal)": "read all inputs, then emit outputs: translation (encoder-decoder)",
}


def configuration(name: str, T: int, n_out: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Which time steps receive an input and which emit an output, for a configuration.

    Parameters
    ----------
    name : str
        A key of :data:`CONFIGURATIONS`.
    T : int
        Number of time steps drawn (>= 2).
    n_out : int, optional
        For ``"many-to-many (unequal)"``: how many of the ``T`` steps emit outputs after the
        inputs end (default ``T // 2``; the first ``T - n_out`` steps read inputs).

    Returns
    -------
    inputs, outputs : ndarray of bool, shape (T,)
    """
    name = check_name(name, CONFIGURATIONS, "configuration")
    check_positive(T, "T", integer=True)
    if T < 2:
        raise ValueError(f"T must be at least 2 to show a configuration, got {T}")
    inputs, outputs = np.zeros(T, bool), np.zeros(T, bool)
    if name == "many-to-many (equal)":
        inputs[:] = outputs[:] = True
    elif name == "many-to-one":
        inputs[:] = True
        outputs[-1] = True
    elif name == "one-to-many":
        inputs[0] = True
        outputs[:] = True
    else:
        n_out = T // 2 if n_out is None else int(check_positive(n_out, "n_out", integer=True))
        if n_out >= T:
            raise ValueError(f"n_out must be smaller than T={T}, got {n_out}")
        inputs[:T - n_out] = True
        outputs[T - n_out:] = True
    return inputs, outputs


def parameter_counts(T: int, Dx: int, Dh: int, Dy: int) -> dict[str, int]:
    r"""Parameters of two models of a length-``T`` sequence with an output at every step.

    * ``"mlp"``: one hidden layer of ``Dh`` units on the flattened sequence (``T * Dx`` inputs) and
      ``T * Dy`` outputs: :math:`D_h(T D_x + 1) + T D_y (D_h + 1)`, growing with ``T``;
    * ``"rnn"``: :math:`D_h D_x + D_h^2 + D_y D_h + D_h + D_y`, the same for every ``T``.

    Returns
    -------
    dict
        ``{"mlp": int, "rnn": int}``.
    """
    T, Dx, Dh, Dy = (int(check_positive(v, n, integer=True))
                     for v, n in ((T, "T"), (Dx, "Dx"), (Dh, "Dh"), (Dy, "Dy")))
    return {"mlp": Dh * (T * Dx + 1) + T * Dy * (Dh + 1),
            "rnn": Dh * Dx + Dh * Dh + Dy * Dh + Dh + Dy}


# --------------------------------------------------------------------------------------------
# the T = 2 worked example, step by step
# --------------------------------------------------------------------------------------------

def worked_example() -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    r"""The 2-2-1 tanh RNN of the BPTT chapter, with its length-2 sequence.

    Returns
    -------
    params : dict
        ``Wxh`` (2, 2), ``Whh`` (2, 2), ``Why`` (1, 2), ``bh`` (2,), ``by`` (1,).
    X : ndarray, shape (2, 2)
        :math:`\mathbf x^{(1)} = (1, 0)^\top`, :math:`\mathbf x^{(2)} = (0, 1)^\top`.
    Y : ndarray, shape (2, 1)
        Targets 0.5 and 0.9.
    """
    params = {"Wxh": np.array([[0.5, 0.1], [0.2, 0.4]]), "Whh": np.array([[0.3, 0.6], [0.7, 0.1]]),
              "Why": np.array([[0.8, 0.4]]), "bh": np.array([0.1, 0.1]), "by": np.array([0.0])}
    return params, np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.5], [0.9]])


def bptt_trace(params: Mapping[str, np.ndarray], X, Y, h0=None, activation: str = "tanh",
               output: str = "identity", loss: str = "sse") -> dict[str, np.ndarray]:
    r"""Every forward and backward quantity of BPTT for one sequence.

    The forward values come from :func:`nnbook.kernels.rnn.rnn_forward`, the gradients and
    :math:`\partial E/\partial\mathbf h^{(t)}` from :func:`nnbook.kernels.rnn.rnn_bptt`; the hidden error
    signals are :math:`\boldsymbol\delta_h^{(t)} = \partial E/\partial\mathbf a^{(t)}
    = \partial E/\partial\mathbf h^{(t)} \odot f'(\mathbf a^{(t)})`.

    Parameters
    ----------
    params : dict
        ``Wxh`` (Dh, Dx), ``Whh`` (Dh, Dh), ``Why`` (Dy, Dh), ``bh`` (Dh,), ``by`` (Dy,).
    X : array_like, shape (T, Dx)
    Y : array_like, shape (T, Dy)
    h0 : array_like, shape (Dh,), optional

    Returns
    -------
    dict
        ``a``, ``h`` (T, Dh); ``o``, ``y`` (T, Dy); ``delta_o`` (T, Dy) with
        :math:`\boldsymbol\delta_o^{(t)} = \partial E/\partial \mathbf o^{(t)}`; ``dE_dh`` and
        ``delta_h`` (T, Dh);
        ``E_t`` (T,) per-step errors; ``E`` the total; ``grads`` the parameter gradients;
        ``x`` (T, Dx) the inputs; ``h0`` (Dh,).
    """
    X = as_float_array(X, "X", ndim=(2,))
    Y = as_float_array(Y, "Y", ndim=(2,))
    loss = check_name(loss, ("sse", "ce"), "loss")
    fw = rnn_forward(params, X, h0=h0, activation=activation, output=output)
    E, grads, state = rnn_bptt(params, X, Y, h0=h0, activation=activation, output=output,
                               loss=loss, return_state_grads=True)
    delta_h = state["dh"] * derivative(activation, fw["a"])
    yhat = fw["y"]
    E_t = (0.5 * np.sum((yhat - Y) ** 2, axis=1) if loss == "sse"
           else -np.sum(Y * np.log(yhat), axis=1))
    Dh = params["Whh"].shape[0]
    return {"a": fw["a"], "h": fw["h"], "o": fw["o"], "y": yhat, "delta_o": yhat - Y,
            "dE_dh": state["dh"], "delta_h": delta_h, "E_t": E_t, "E": float(E), "grads": grads,
            "x": X, "h0": np.zeros(Dh) if h0 is None else np.asarray(h0, float)}


class BPTTStep(tuple):
    """``(phase, t, name, formula, value)`` of one step of :func:`bptt_steps`."""
    __slots__ = ()

    def __new__(cls, phase, t, name, formula, value):
        return super().__new__(cls, (phase, t, name, formula, value))

    phase = property(lambda s: s[0])
    t = property(lambda s: s[1])
    name = property(lambda s: s[2])
    formula = property(lambda s: s[3])
    value = property(lambda s: s[4])


def bptt_steps(trace: Mapping) -> list[BPTTStep]:
    r"""The order in which BPTT computes things, from a :func:`bptt_trace`.

    Forward, for :math:`t = 1..T`: :math:`\mathbf a^{(t)}`, :math:`\mathbf h^{(t)}`,
    :math:`\mathbf o^{(t)}`. Backward, for :math:`t = T..1`: :math:`\boldsymbol\delta_o^{(t)}`, then
    :math:`\boldsymbol\delta_h^{(t)}` (which needs :math:`\boldsymbol\delta_h^{(t+1)}`).
    """
    T = len(trace["a"])
    steps = []
    for t in range(1, T + 1):
        steps.append(BPTTStep("forward", t, "a", rf"\mathbf{{a}}^{{({t})}} = W_{{hh}}\mathbf{{h}}^{{({t - 1})}}"
                              rf" + W_{{xh}}\mathbf{{x}}^{{({t})}} + \mathbf{{b}}_h", trace["a"][t - 1]))
        steps.append(BPTTStep("forward", t, "h", rf"\mathbf{{h}}^{{({t})}} = \tanh\mathbf{{a}}^{{({t})}}",
                              trace["h"][t - 1]))
        steps.append(BPTTStep("forward", t, "o", rf"\mathbf{{o}}^{{({t})}} = W_{{hy}}\mathbf{{h}}^{{({t})}}"
                              r" + \mathbf{b}_y", trace["o"][t - 1]))
    for t in range(T, 0, -1):
        steps.append(BPTTStep("backward", t, "delta_o",
                              rf"\delta_o^{{({t})}} = \hat y^{{({t})}} - y^{{({t})}}", trace["delta_o"][t - 1]))
        future = rf" + W_{{hh}}^\top\delta_h^{{({t + 1})}}" if t < T else ""
        steps.append(BPTTStep("backward", t, "delta_h",
                              rf"\delta_h^{{({t})}} = f'(\mathbf{{a}}^{{({t})}}) \odot (W_{{hy}}^\top"
                              rf"\delta_o^{{({t})}}{future})", trace["delta_h"][t - 1]))
    return steps


def _check_jacobians(jacobians) -> np.ndarray:
    J = as_float_array(jacobians, "jacobians", ndim=(3,))
    if J.shape[1] != J.shape[2]:
        raise ValueError(f"jacobians must have shape (T, Dh, Dh), got {J.shape}")
    return J


def jacobian_product(jacobians, t: int, k: int) -> np.ndarray:
    r""":math:`\partial\mathbf h^{(t)}/\partial\mathbf h^{(k)} = J^{(t)} J^{(t-1)} \cdots J^{(k+1)}`.

    The latest step's Jacobian stands on the *left*: the chain rule applies
    :math:`J^{(k+1)}` to a perturbation of :math:`\mathbf h^{(k)}` first.

    Parameters
    ----------
    jacobians : array_like, shape (T, Dh, Dh)
        ``jacobians[i - 1]`` :math:`= J^{(i)} = \partial\mathbf h^{(i)}/\partial\mathbf h^{(i-1)}`, as
        returned by :func:`nnbook.kernels.rnn.state_jacobians`.
    t, k : int
        ``0 <= k <= t <= T``; ``k == t`` gives the identity.

    Returns
    -------
    ndarray, shape (Dh, Dh)
    """
    J = _check_jacobians(jacobians)
    T = J.shape[0]
    t, k = check_int(t, "t"), check_int(k, "k")  # a bool is not a step number
    if not 0 <= k <= t <= T:
        raise ValueError(f"need integers 0 <= k <= t <= T={T}, got t={t!r}, k={k!r}")
    P = np.eye(J.shape[1])
    for i in range(k + 1, t + 1):
        P = J[i - 1] @ P
    return P


def jacobian_product_norms(jacobians, t: int | None = None, ord=2) -> np.ndarray:
    r"""Norms of :math:`\partial\mathbf h^{(t)}/\partial\mathbf h^{(t-s)}` for every lag
    :math:`s = t - k = 0, 1, \dots, t`.

    Parameters
    ----------
    jacobians : array_like, shape (T, Dh, Dh)
        See :func:`jacobian_product`.
    t : int, optional
        The later time step (default ``T``).
    ord : {2, "fro"}
        Matrix norm: 2 is the largest singular value (the default), ``"fro"`` the Frobenius norm.

    Returns
    -------
    ndarray, shape (t + 1,)
        Entry ``s`` is the norm for lag ``s`` (entry 0 is the norm of the identity).
    """
    J = _check_jacobians(jacobians)
    T = J.shape[0]
    t = T if t is None else check_int(t, "t", minimum=0, maximum=T)  # a bool is not a step
    if isinstance(ord, str):
        ord = check_name(ord, ("fro",), "ord")
    elif isinstance(ord, (bool, np.bool_)) or ord != 2:
        raise ValueError(f"ord must be 2 or 'fro', got {ord!r}")
    out = np.empty(t + 1)
    P = np.eye(J.shape[1])
    out[0] = np.linalg.norm(P, ord)
    for s in range(1, t + 1):        # P = J^(t) ... J^(t-s+1): extend on the right
        P = P @ J[t - s]
        out[s] = np.linalg.norm(P, ord)
    return out


def spectral_radius(W) -> float:
    """Largest absolute eigenvalue of a square matrix."""
    W = as_float_array(W, "W", ndim=(2,))
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be square, got shape {W.shape}")
    return float(np.max(np.abs(np.linalg.eigvals(W))))


def nonnormal_matrix(rho: float, coupling: float) -> np.ndarray:
    r"""The 2x2 matrix :math:`\begin{pmatrix}\rho & c\\ 0 & \rho\end{pmatrix}`.

    Both eigenvalues equal ``rho``, but for ``coupling`` :math:`c \ne 0` the matrix is not normal:
    its powers :math:`W^n = \rho^{n-1}\begin{pmatrix}\rho & nc\\ 0 & \rho\end{pmatrix}` can grow
    for a while even when :math:`|\rho| < 1`.
    """
    for v, n in ((rho, "rho"), (coupling, "coupling")):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v):
            raise ValueError(f"{n} must be a finite number, got {v!r}")
    return np.array([[float(rho), float(coupling)], [0.0, float(rho)]])


def scaled_orthogonal(n: int, scale: float, rng: np.random.Generator | int = 0) -> np.ndarray:
    """``scale`` times a random orthogonal ``(n, n)`` matrix: every singular value equals ``scale``."""
    n = int(check_positive(n, "n", integer=True))
    check_positive(scale, "scale", allow_zero=True)
    rng = np.random.default_rng(rng)
    Q, R = np.linalg.qr(rng.normal(size=(n, n)))
    return scale * Q * np.sign(np.diag(R))


# --------------------------------------------------------------------------------------------
# teacher forcing, free running, scheduled sampling
# --------------------------------------------------------------------------------------------

def sine_sequences(n: int, T: int, seed: int = 0, periods: tuple[float, float] = (8.0, 16.0),
                   noise: float = 0.0) -> np.ndarray:
    r"""``n`` sine waves :math:`s_t = \sin(2\pi t/P + \phi)` of ``T + 1`` samples each, with a period
    :math:`P` drawn uniformly from ``periods`` and a uniform phase :math:`\phi`; optional Gaussian
    noise of standard deviation ``noise``.

    Returns
    -------
    ndarray, shape (T + 1, n, 1)
        Time first, as :mod:`nnbook.kernels.rnn` expects; for next-value prediction use
        ``S[:-1]`` as inputs (teacher forcing) and ``S[1:]`` as targets.
    """
    n, T = (int(check_positive(v, k, integer=True)) for v, k in ((n, "n"), (T, "T")))
    check_positive(noise, "noise", allow_zero=True)
    if not isinstance(periods, (tuple, list)) or len(periods) != 2:
        raise ArgumentTypeError(f"periods must be a pair (low, high), got {periods!r}")
    lo, hi = (check_real(v, "periods") for v in periods)
    if not 0 < lo <= hi:
        raise ValueError(f"periods must satisfy 0 < low <= high, got {periods}")
    rng = np.random.default_rng(check_seed(seed))
    P = rng.uniform(lo, hi, n)
    phi = rng.uniform(0, 2 * np.pi, n)
    t = np.arange(T + 1)[:, None]
    S = np.sin(2 * np.pi * t / P[None, :] + phi[None, :])
    if noise:
        S = S + rng.normal(0.0, noise, S.shape)
    return S[:, :, None]


def teacher_forcing_inputs(Y, first) -> np.ndarray:
    r"""Inputs under teacher forcing: :math:`\mathbf x^{(1)} =` ``first`` and
    :math:`\mathbf x^{(t)} = \mathbf y^{(t-1)}` (the true previous target) for :math:`t \ge 2`.

    Parameters
    ----------
    Y : array_like, shape (T, D) or (T, B, D)
    first : array_like, shape (D,) or (B, D)

    Returns
    -------
    ndarray, same shape as ``Y``
    """
    Y = as_float_array(Y, "Y", ndim=(2, 3))
    first = as_float_array(first, "first", ndim=(1, 2))
    if first.shape[-1] != Y.shape[-1] or (first.ndim == 2 and first.shape != Y.shape[1:]):
        want = f"({Y.shape[-1]},)" + ("" if Y.ndim == 2 else f" or {Y.shape[1:]}")
        raise ValueError(f"first has shape {first.shape}; for Y of shape {Y.shape} it must be "
                         f"{want}")
    first = np.broadcast_to(first, Y.shape[1:])
    return np.concatenate([first[None], Y[:-1]], axis=0)


def _rnn_sizes(params) -> dict:
    """Validate RNN parameters (:func:`nnbook.kernels.rnn.check_params`); return the sizes Dx, Dh, Dy."""
    return check_params(params, RNN_SHAPES, "RNN")[1]


def _same_size(params) -> None:
    sizes = _rnn_sizes(params)
    if sizes["Dx"] != sizes["Dy"]:
        raise ValueError("feeding predictions back as inputs needs Dx == Dy, got "
                         f"Dx={sizes['Dx']}, Dy={sizes['Dy']}")


def free_run(params: Mapping[str, np.ndarray], prompt, steps: int, h0=None,
             activation: str = "tanh") -> np.ndarray:
    r"""Generate by feeding each prediction back as the next input (inputs and outputs share
    dimension ``D``).

    The ``prompt`` (true values) is read first under teacher forcing; then for ``steps`` steps the
    prediction :math:`\hat{\mathbf y}^{(t)}` becomes the input :math:`\mathbf x^{(t+1)}`. Every step
    calls :func:`nnbook.kernels.rnn.rnn_forward` on one time step from the previous state.

    Parameters
    ----------
    params : dict
        RNN parameters with ``Dx == Dy``.
    prompt : array_like, shape (P, D) or (P, B, D)
        ``P >= 1`` true values.
    steps : int
        Number of values to generate.

    Returns
    -------
    ndarray, shape (steps, D) or (steps, B, D)
        The generated values: entry 0 is the prediction made after the last prompt value.
    """
    _same_size(params)
    prompt = as_float_array(prompt, "prompt", ndim=(2, 3))
    steps = int(check_positive(steps, "steps", integer=True))
    fw = rnn_forward(params, prompt, h0=h0, activation=activation)
    h, y = fw["h"][-1], fw["y"][-1]
    out = np.empty((steps,) + prompt.shape[1:])
    for s in range(steps):
        out[s] = y
        if s + 1 < steps:
            fw = rnn_forward(params, y[None], h0=h, activation=activation)
            h, y = fw["h"][-1], fw["y"][-1]
    return out


def scheduled_inputs(params: Mapping[str, np.ndarray], Y, first, p_truth: float,
                     rng: np.random.Generator, activation: str = "tanh") -> np.ndarray:
    r"""Inputs for one scheduled-sampling pass (Bengio et al., 2015).

    Step by step, the input :math:`\mathbf x^{(t)}` (:math:`t \ge 2`) is the true previous value
    :math:`\mathbf y^{(t-1)}` with probability ``p_truth`` and the model's own prediction
    :math:`\hat{\mathbf y}^{(t-1)}` otherwise, drawn independently for every sequence and step.
    ``p_truth = 1`` is teacher forcing, ``p_truth = 0`` free running. As in the paper, the returned
    inputs are then treated as constants: a gradient is computed by BPTT on them, without
    differentiating through the sampling.

    Parameters
    ----------
    params : dict
        RNN parameters with ``Dx == Dy``.
    Y : array_like, shape (T, B, D)
        True values (the targets).
    first : array_like, shape (B, D) or (D,)
        The input of step 1.
    p_truth : float
        In [0, 1].
    rng : numpy Generator

    Returns
    -------
    ndarray, shape (T, B, D)
    """
    _same_size(params)
    Y = as_float_array(Y, "Y", ndim=(3,))
    p_truth = check_real(p_truth, "p_truth", minimum=0.0, maximum=1.0)
    if not isinstance(rng, np.random.Generator):
        raise ArgumentTypeError("rng must be a numpy Generator (np.random.default_rng(seed)), got "
                                f"{type(rng).__name__}")
    X = teacher_forcing_inputs(Y, first)
    if p_truth == 1.0:
        return X
    h = None
    for t in range(Y.shape[0] - 1):
        fw = rnn_forward(params, X[t:t + 1], h0=h, activation=activation)
        h = fw["h"][-1]
        use_model = rng.uniform(size=Y.shape[1]) >= p_truth
        X[t + 1, use_model] = fw["y"][-1][use_model]
    return X


def inverse_sigmoid_decay(i, k: float) -> np.ndarray:
    r"""Bengio et al.'s (2015) inverse-sigmoid schedule :math:`\epsilon_i = k/(k + e^{i/k})` for the
    probability of feeding the truth at training step (or epoch) ``i``; ``k >= 1`` sets how long
    teacher forcing lasts."""
    check_positive(k, "k")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    i = as_float_array(i, "i")
    return k / (k + np.exp(i / k))


def next_value_loss(p_truth: float = 1.0) -> Callable:
    r"""A ``loss_and_grads(params, S, rng)`` for :func:`nnbook.train.fit.fit` that trains a network
    to predict the next value of the sequences ``S`` (shape ``(T + 1, B, D)``).

    The targets are ``S[1:]``; the inputs are built by :func:`scheduled_inputs` with probability
    ``p_truth`` of feeding the true previous value (1: teacher forcing). The loss is the
    sum-of-squares error over the steps, averaged over the ``B`` sequences
    (:func:`nnbook.nn.sequence_model.sequence_loss`).
    """
    from ..nn.sequence_model import sequence_loss

    if not 0.0 <= float(p_truth) <= 1.0:
        raise ValueError(f"p_truth must lie in [0, 1], got {p_truth}")
    mean_sse = sequence_loss("rnn", loss_at="all")

    def loss_and_grads(params, S, rng=None):
        rng = np.random.default_rng(0) if rng is None else rng
        X = scheduled_inputs(params, S[1:], S[0], p_truth, rng)
        return mean_sse(params, X, S[1:])

    return loss_and_grads


def train_next_value(params: dict, S, epochs: int, optimizer, p_truth=1.0, batch_size: int = 16,
                     clip: float | None = 1.0, seed: int = 0) -> np.ndarray:
    r"""Train ``params`` in place to predict the next value of the sequences ``S``, one
    :func:`nnbook.train.fit.fit` epoch at a time so that the probability of feeding the truth can
    follow a schedule (scheduled sampling, Bengio et al., 2015).

    Parameters
    ----------
    params : dict
        RNN parameters with ``Dx == Dy == D``; updated in place.
    S : array_like, shape (T + 1, N, D)
        Training sequences (e.g. :func:`sine_sequences`).
    epochs : int
    optimizer : nnbook.train.optimizers.Optimizer
    p_truth : float or callable
        The probability of feeding the true previous value, or ``p_truth(epoch)`` for epochs
        ``0, 1, ...`` (e.g. ``lambda e: inverse_sigmoid_decay(e, k)``); 1 is teacher forcing.
    batch_size, clip, seed
        As in :func:`~nnbook.train.fit.fit` (epoch ``e`` uses seed ``seed + e``).

    Returns
    -------
    ndarray, shape (epochs,)
        The mean mini-batch loss of every epoch.
    """
    from ..train.fit import fit

    S = as_float_array(S, "S", ndim=(3,))
    epochs = int(check_positive(epochs, "epochs", integer=True))
    schedule = p_truth if callable(p_truth) else (lambda e: p_truth)
    losses = np.empty(epochs)
    for e in range(epochs):
        log = fit(next_value_loss(float(schedule(e))), params, optimizer, (S,), 1, batch_size,
                  batch_axis=1, seed=seed + e, clip=clip, progress=False)
        losses[e] = log.loss[0]
    return losses


def fit_until_diverged(loss_and_grads: Callable, params: dict, optimizer, data: tuple,
                       epochs: int, batch_size: int | None = None, *, evaluate: Callable,
                       **kwargs) -> tuple[np.ndarray, int | None]:
    r""":func:`nnbook.train.fit.fit` that stops quietly when training diverges.

    ``evaluate(params) -> float`` is recorded before training and after every epoch. If the loss
    or a gradient overflows, or a step would overflow a parameter, :func:`~nnbook.train.fit.fit`
    raises :class:`~nnbook.train.fit.Diverged` (the parameters keep their last finite values); a
    :class:`ValueError` with non-finite parameters (given so) counts as divergence too. This
    function then returns what was recorded so far and the epoch (1-based) in which training
    diverged. Other errors propagate.

    Returns
    -------
    values : ndarray, shape (n,)
        ``evaluate`` before training and after each completed epoch.
    diverged : int or None
        The epoch in which training blew up, or None.
    """
    from ..train.fit import Diverged, fit

    values: list[float] = []

    def record(p):
        with np.errstate(over="ignore", invalid="ignore"):
            values.append(float(evaluate(p)))
        return {"value": values[-1]}

    try:
        with np.errstate(over="ignore", invalid="ignore"):
            fit(loss_and_grads, params, optimizer, data, epochs, batch_size, evaluate=record,
                progress=False, **kwargs)
    except Diverged:
        return np.array(values), len(values)
    except ValueError:
        if all(np.all(np.isfinite(p)) for p in params.values()):
            raise
        return np.array(values), len(values)
    return np.array(values), None
