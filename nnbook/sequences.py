r"""Teaching helpers for the chapters on recurrent networks and backpropagation through time.

The recurrent computations themselves live in :mod:`nnbook.rnn` (``rnn_forward``, ``rnn_bptt``,
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
* :func:`fit_until_diverged` -- :func:`nnbook.training.fit` that records a curve and stops quietly
  when training blows up (for the gradient-clipping experiment).

Shapes follow :mod:`nnbook.rnn`: a sequence is ``(T, D)``, a batch of sequences ``(T, B, D)``.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from ._checks import as_float_array, check_name, check_positive
from .activations import derivative
from .rnn import RNN_SHAPES, check_params, rnn_bptt, rnn_forward

__all__ = ["CONFIGURATIONS", "configuration", "draw_unfolded", "draw_folded", "draw_rnn_step",
           "parameter_counts", "worked_example", "bptt_trace", "bptt_steps", "BPTTStep",
           "draw_bptt_step", "jacobian_product", "jacobian_product_norms", "spectral_radius",
           "nonnormal_matrix", "scaled_orthogonal", "sine_sequences", "teacher_forcing_inputs",
           "free_run", "scheduled_inputs", "inverse_sigmoid_decay", "next_value_loss",
           "train_next_value", "fit_until_diverged"]

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


def _box(ax, x, y, text, fc, w=0.62, h=0.42, fontsize=9, ec="0.25", lw=1.0):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.03",
                                fc=fc, ec=ec, lw=lw, zorder=2))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=3)


def _arrow(ax, p0, p1, color, label=None, lw=1.4, label_offset=(0.0, 0.0), ls="-", fontsize=8):
    ax.annotate("", xy=p1, xytext=p0, zorder=1,
                arrowprops=dict(arrowstyle="-|>", color=color, lw=lw, ls=ls,
                                shrinkA=0, shrinkB=0, mutation_scale=10))
    if label:
        mx, my = (p0[0] + p1[0]) / 2 + label_offset[0], (p0[1] + p1[1]) / 2 + label_offset[1]
        ax.text(mx, my, label, fontsize=fontsize, color=color, ha="center", va="center",
                zorder=4, bbox=dict(fc="white", ec="none", pad=0.3))


def draw_unfolded(ax, T: int = 3, inputs: Sequence[bool] | None = None,
                  outputs: Sequence[bool] | None = None, *, texts: Mapping | None = None,
                  highlight: Sequence[tuple[str, int]] = (), weight_labels: bool = True,
                  show_h0: bool = True, loss: bool = False, fontsize: int = 9,
                  row_gap: float = 1.2, step_gap: float = 1.6, box_width: float = 0.62) -> dict:
    r"""Draw a one-hidden-layer RNN unfolded over ``T`` time steps.

    Rows from bottom to top: inputs :math:`\mathbf x^{(t)}`, hidden states :math:`\mathbf h^{(t)}`,
    outputs :math:`\hat{\mathbf y}^{(t)}` (and, with ``loss``, the per-step errors
    :math:`E^{(t)}`). The same three matrices label every arrow of their kind: the weights are
    shared across time.

    Parameters
    ----------
    ax : matplotlib Axes
    T : int
        Number of time steps.
    inputs, outputs : sequence of bool, shape (T,), optional
        Which steps have an input / an output (default: all); see :func:`configuration`.
    texts : dict, optional
        ``{(row, t): str}`` replacing the label of a node; rows are ``"x"``, ``"h"``, ``"y"``,
        ``"E"`` and ``t`` runs from 1 to T (``("h", 0)`` is the initial state).
    highlight : sequence of (row, t)
        Nodes drawn in the highlight colour.
    weight_labels : bool
        Write :math:`W_{xh}`, :math:`W_{hh}`, :math:`W_{hy}` on the arrows.
    show_h0 : bool
        Draw the initial state :math:`\mathbf h^{(0)}`.
    loss : bool
        Add a row of per-step errors above the outputs.
    fontsize : int
        Size of the node labels.
    row_gap, step_gap : float
        Vertical distance between the rows and horizontal distance between the time steps.
    box_width : float
        Width of every node.

    Returns
    -------
    dict
        ``{(row, t): (x, y)}`` node centres, for further annotation.
    """
    from .plotting import COLORS

    T = int(check_positive(T, "T", integer=True))
    inputs = np.ones(T, bool) if inputs is None else np.asarray(inputs, bool)
    outputs = np.ones(T, bool) if outputs is None else np.asarray(outputs, bool)
    if inputs.shape != (T,) or outputs.shape != (T,):
        raise ValueError(f"inputs and outputs must have shape ({T},), got {inputs.shape} and "
                         f"{outputs.shape}")
    texts = dict(texts or {})
    hl = set(highlight)
    dx, hw = float(step_gap), box_width / 2
    rows = {"x": 0.0, "h": row_gap, "y": 2 * row_gap, "E": 2 * row_gap + 1.0}
    colors = {"x": COLORS[0], "h": COLORS[1], "y": COLORS[2]}
    fills = {"x": "#e3eef8", "h": "#fbe6d9", "y": "#dff2ec", "E": "#f4f4f4"}
    default = {"x": "$\\mathbf{{x}}^{{({t})}}$", "h": "$\\mathbf{{h}}^{{({t})}}$",
               "y": "$\\hat{{\\mathbf{{y}}}}^{{({t})}}$", "E": "$E^{{({t})}}$"}
    pos = {}

    def node(row, t, x):
        y = rows[row]
        pos[(row, t)] = (x, y)
        fc = COLORS[4] if (row, t) in hl else fills[row]
        _box(ax, x, y, texts.get((row, t), default[row].format(t=t)), fc, w=box_width,
             fontsize=fontsize)

    x0 = 0.0
    if show_h0:
        node("h", 0, x0)
    for t in range(1, T + 1):
        x = x0 + dx * t
        node("h", t, x)
        lab = weight_labels and t == 1
        if show_h0 or t > 1:
            _arrow(ax, (x - dx + hw, rows["h"]), (x - hw, rows["h"]), colors["h"],
                   "$W_{hh}$" if weight_labels else None, label_offset=(0, 0.2))
        if inputs[t - 1]:
            node("x", t, x)
            _arrow(ax, (x, rows["x"] + 0.21), (x, rows["h"] - 0.21), colors["x"],
                   "$W_{xh}$" if lab or (weight_labels and not inputs[:t - 1].any()) else None,
                   label_offset=(0.3, 0))
        if outputs[t - 1]:
            node("y", t, x)
            _arrow(ax, (x, rows["h"] + 0.21), (x, rows["y"] - 0.21), colors["y"],
                   "$W_{hy}$" if weight_labels and not outputs[:t - 1].any() else None,
                   label_offset=(0.3, 0))
            if loss:
                node("E", t, x)
                _arrow(ax, (x, rows["y"] + 0.21), (x, rows["E"] - 0.21), "0.4")
    top = rows["E"] if loss else rows["y"]
    margin = hw + 0.19
    ax.set_xlim(x0 - margin + (0.0 if show_h0 else dx), x0 + dx * T + margin)
    ax.set_ylim(-0.45, top + 0.45)
    ax.set_aspect("equal")
    ax.axis("off")
    return pos


def draw_folded(ax) -> None:
    r"""Draw the recurrent network folded: :math:`\mathbf x \to \mathbf h \to \hat{\mathbf y}` with a
    loop on :math:`\mathbf h` through a one-step delay."""
    from matplotlib.patches import FancyArrowPatch

    from .plotting import COLORS

    _box(ax, 0, 0, "$\\mathbf{x}^{(t)}$", "#e3eef8")
    _box(ax, 0, 1.2, "$\\mathbf{h}^{(t)}$", "#fbe6d9")
    _box(ax, 0, 2.4, "$\\hat{\\mathbf{y}}^{(t)}$", "#dff2ec")
    _arrow(ax, (0, 0.21), (0, 0.99), COLORS[0], "$W_{xh}$", label_offset=(0.35, 0))
    _arrow(ax, (0, 1.41), (0, 2.19), COLORS[2], "$W_{hy}$", label_offset=(0.35, 0))
    ax.add_patch(FancyArrowPatch((0.31, 1.3), (0.31, 1.1), connectionstyle="arc3,rad=-2.2",
                                 arrowstyle="-|>", mutation_scale=10, color=COLORS[1], lw=1.4))
    ax.text(1.05, 1.2, "$W_{hh}$\n(delay 1)", fontsize=8, color=COLORS[1], va="center")
    ax.set_xlim(-0.8, 1.7)
    ax.set_ylim(-0.45, 2.85)
    ax.set_aspect("equal")
    ax.axis("off")


def draw_rnn_step(ax, Dx: int, Dh: int, Dy: int, params: Mapping | None = None) -> dict:
    r"""One time step as a layered network (:func:`nnbook.diagram.draw_network`), with the recurrent
    connections :math:`W_{hh}` drawn as loops that bring :math:`\mathbf h^{(t-1)}` into each hidden
    unit.

    Parameters
    ----------
    ax : matplotlib Axes
    Dx, Dh, Dy : int
        Input, hidden and output sizes.
    params : dict, optional
        RNN parameters; when given, line widths and colours show ``Wxh`` and ``Why``.

    Returns
    -------
    dict
        The unit centres returned by :func:`~nnbook.diagram.draw_network`.
    """
    from matplotlib.patches import FancyArrowPatch

    from .diagram import draw_network
    from .plotting import COLORS

    sizes = [int(check_positive(d, n, integer=True)) for d, n in ((Dx, "Dx"), (Dh, "Dh"), (Dy, "Dy"))]
    weights = None if params is None else [np.asarray(params["Wxh"]), np.asarray(params["Why"])]
    labels = [[f"$x_{i + 1}$" for i in range(Dx)], [f"$h_{j + 1}$" for j in range(Dh)],
              [f"$\\hat y_{k + 1}$" for k in range(Dy)]]
    pos = draw_network(ax, sizes, weights=weights, unit_labels=labels,
                       layer_names=["input $\\mathbf{x}^{(t)}$", "state $\\mathbf{h}^{(t)}$",
                                    "output $\\hat{\\mathbf{y}}^{(t)}$"])
    for j in range(Dh):
        x, y = pos[(1, j)]
        ax.add_patch(FancyArrowPatch((x - 0.12, y + 0.16), (x + 0.12, y + 0.16),
                                     connectionstyle="arc3,rad=-1.6", arrowstyle="-|>",
                                     mutation_scale=8, color=COLORS[1], lw=1.0, ls="--"))
    ax.text(pos[(1, 0)][0], pos[(1, 0)][1] + 0.62, "$W_{hh}$: from $\\mathbf{h}^{(t-1)}$",
            ha="center", fontsize=8, color=COLORS[1])
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, max(hi, pos[(1, 0)][1] + 0.85))
    return pos


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

    The forward values come from :func:`nnbook.rnn.rnn_forward`, the gradients and
    :math:`\partial E/\partial\mathbf h^{(t)}` from :func:`nnbook.rnn.rnn_bptt`; the hidden error
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


def draw_bptt_step(ax, trace: Mapping, step: int, digits: int = 4) -> BPTTStep | None:
    r"""The unfolded network of a :func:`bptt_trace` with the values known after ``step`` steps of
    :func:`bptt_steps` (0: nothing computed yet) written next to each node; the node of the current
    step is highlighted. Returns the current step (``None`` for step 0)."""
    steps = bptt_steps(trace)
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or not 0 <= step <= len(steps):
        raise ValueError(f"step must be an integer in 0..{len(steps)}, got {step!r}")
    T = len(trace["a"])
    row_of = {"a": "h", "h": "h", "o": "y", "delta_o": "y", "delta_h": "h"}
    symbol = {"a": "a", "h": "h", "o": "o", "delta_o": "δo", "delta_h": "δh"}

    def fmt(v, d=digits):
        return "(" + ", ".join(f"{x:.{d}f}" if d else f"{x:g}" for x in np.atleast_1d(v)) + ")"

    known: dict[tuple[str, int], list[str]] = {}
    for s in steps[:step]:
        known.setdefault((row_of[s.name], s.t), []).append(f"{symbol[s.name]} = {fmt(s.value)}")
    cur = steps[step - 1] if step else None
    texts = {("x", t): f"$\\mathbf{{x}}^{{({t})}}$ {fmt(x, 0)}"
             for t, x in enumerate(trace["x"], start=1)}
    pos = draw_unfolded(ax, T, texts=texts, highlight=[(row_of[cur.name], cur.t)] if cur else [],
                        fontsize=8, row_gap=2.0, step_gap=2.6, box_width=0.9)
    for (row, t), lines in known.items():
        x, y = pos[(row, t)]
        below = row == "h"
        ax.text(x, y + (-0.3 if below else 0.3), "\n".join(lines), ha="center",
                va="top" if below else "bottom", fontsize=6.5, color="0.1", zorder=5,
                bbox=dict(fc="white", ec="0.7", pad=1.0, alpha=0.9))
    ax.set_ylim(-0.45, 2 * 2.0 + 1.0)
    return cur


# --------------------------------------------------------------------------------------------
# products of state Jacobians
# --------------------------------------------------------------------------------------------

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
        returned by :func:`nnbook.rnn.state_jacobians`.
    t, k : int
        ``0 <= k <= t <= T``; ``k == t`` gives the identity.

    Returns
    -------
    ndarray, shape (Dh, Dh)
    """
    J = _check_jacobians(jacobians)
    T = J.shape[0]
    if not (isinstance(t, (int, np.integer)) and isinstance(k, (int, np.integer)) and 0 <= k <= t <= T):
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
    t = T if t is None else t
    if not (isinstance(t, (int, np.integer)) and 0 <= t <= T):
        raise ValueError(f"t must be an integer in 0..{T}, got {t!r}")
    if ord not in (2, "fro"):
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
        Time first, as :mod:`nnbook.rnn` expects; for next-value prediction use
        ``S[:-1]`` as inputs (teacher forcing) and ``S[1:]`` as targets.
    """
    n, T = (int(check_positive(v, k, integer=True)) for v, k in ((n, "n"), (T, "T")))
    check_positive(noise, "noise", allow_zero=True)
    lo, hi = periods
    if not 0 < lo <= hi:
        raise ValueError(f"periods must satisfy 0 < low <= high, got {periods}")
    rng = np.random.default_rng(seed)
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
    first = np.broadcast_to(as_float_array(first, "first"), Y.shape[1:])
    return np.concatenate([first[None], Y[:-1]], axis=0)


def _rnn_sizes(params) -> dict:
    """Validate RNN parameters (:func:`nnbook.rnn.check_params`); return the sizes Dx, Dh, Dy."""
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
    calls :func:`nnbook.rnn.rnn_forward` on one time step from the previous state.

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
    if not 0.0 <= float(p_truth) <= 1.0:
        raise ValueError(f"p_truth must lie in [0, 1], got {p_truth}")
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
    r"""A ``loss_and_grads(params, S, rng)`` for :func:`nnbook.training.fit` that trains a network
    to predict the next value of the sequences ``S`` (shape ``(T + 1, B, D)``).

    The targets are ``S[1:]``; the inputs are built by :func:`scheduled_inputs` with probability
    ``p_truth`` of feeding the true previous value (1: teacher forcing). The loss is the
    sum-of-squares error over the steps, averaged over the ``B`` sequences
    (:func:`nnbook.tasks.sequence_loss`).
    """
    from .tasks import sequence_loss

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
    :func:`nnbook.training.fit` epoch at a time so that the probability of feeding the truth can
    follow a schedule (scheduled sampling, Bengio et al., 2015).

    Parameters
    ----------
    params : dict
        RNN parameters with ``Dx == Dy == D``; updated in place.
    S : array_like, shape (T + 1, N, D)
        Training sequences (e.g. :func:`sine_sequences`).
    epochs : int
    optimizer : nnbook.optimizers.Optimizer
    p_truth : float or callable
        The probability of feeding the true previous value, or ``p_truth(epoch)`` for epochs
        ``0, 1, ...`` (e.g. ``lambda e: inverse_sigmoid_decay(e, k)``); 1 is teacher forcing.
    batch_size, clip, seed
        As in :func:`~nnbook.training.fit` (epoch ``e`` uses seed ``seed + e``).

    Returns
    -------
    ndarray, shape (epochs,)
        The mean mini-batch loss of every epoch.
    """
    from .training import fit

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
    r""":func:`nnbook.training.fit` that stops quietly when training diverges.

    ``evaluate(params) -> float`` is recorded before training and after every epoch. If the loss
    or a gradient overflows, :func:`~nnbook.training.fit` raises
    :class:`~nnbook.training.Diverged`; if the parameters overflow, the kernels reject them with a
    :class:`ValueError`. This function then returns what was recorded so far and the epoch
    (1-based) in which training diverged. Other errors propagate.

    Returns
    -------
    values : ndarray, shape (n,)
        ``evaluate`` before training and after each completed epoch.
    diverged : int or None
        The epoch in which training blew up, or None.
    """
    from .training import Diverged, fit

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
