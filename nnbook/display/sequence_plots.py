"""Drawings of recurrent networks (chapters 9-10): unfolded and folded graphs, one step, a BPTT step."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..checks import check_positive
from ..teach.sequences import BPTTStep, bptt_steps

__all__ = ["draw_unfolded", "draw_folded", "draw_rnn_step", "draw_bptt_step"]


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
    from ..display.plotting import COLORS

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

    from ..display.plotting import COLORS

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
    r"""One time step as a layered network (:func:`nnbook.display.diagram.draw_network`), with the recurrent
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
        The unit centres returned by :func:`~nnbook.display.diagram.draw_network`.
    """
    from matplotlib.patches import FancyArrowPatch

    from ..display.diagram import draw_network
    from ..display.plotting import COLORS

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
