"""Drawings of perceptrons and threshold networks (chapters 5-6)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..teach.logic import Perceptron, ThresholdNetwork, _check_table, all_inputs

__all__ = ["plot_decision", "draw_threshold_network"]


def plot_decision(ax, p: Perceptron, targets=None, title: str | None = None,
                  lim: tuple[float, float] = (-0.6, 1.6)):
    """Draw a 2-input perceptron's decision line over the four binary inputs.

    The half-plane where the unit fires (``a >= 0``) is shaded; the four points are filled when
    the unit outputs 1 and hollow when it outputs 0. If ``targets`` (4,) are given, points the
    unit gets wrong are marked with a red ring.

    Parameters
    ----------
    ax : matplotlib Axes
    p : Perceptron with 2 inputs
    targets : array_like, shape (4,), optional
    title : str, optional
    lim : (float, float)
        Axis limits for both axes.
    """
    from ..display.plotting import COLORS

    if not isinstance(p, Perceptron) or p.n_inputs != 2:
        raise ValueError("plot_decision needs a Perceptron with 2 inputs")
    X = all_inputs(2)
    g = np.linspace(lim[0], lim[1], 241)
    G1, G2 = np.meshgrid(g, g)
    A = p.w[0] * G1 + p.w[1] * G2 + p.b
    ax.contourf(G1, G2, (A >= 0).astype(float), levels=[-0.5, 0.5, 1.5],
                colors=["white", "#d6e6f4"])
    if np.any(p.w != 0):
        ax.contour(G1, G2, A, levels=[0.0], colors=[COLORS[0]], linewidths=2)
    y = p(X)
    for (x1, x2), yy in zip(X, y):
        ax.scatter([x1], [x2], s=110, zorder=3, edgecolors="0.1", linewidths=1.2,
                   facecolors=COLORS[0] if yy else "white")
    if targets is not None:
        targets = _check_table(targets, "targets")[0]
        if targets.shape[0] != 4:
            raise ValueError("targets must have 4 entries (one per input row)")
        for (x1, x2), yy, tt in zip(X, y, targets):
            if yy != tt:
                ax.scatter([x1], [x2], s=330, zorder=2, facecolors="none",
                           edgecolors=COLORS[1], linewidths=2)
    ax.set_xlim(*lim)
    ax.set_ylim(*lim)
    ax.set_xticks([0, 1])
    ax.set_yticks([0, 1])
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.grid(False)
    if title:
        ax.set_title(title)


def draw_threshold_network(ax, net: ThresholdNetwork, input_labels: Sequence[str] | None = None,
                           hidden_labels: Sequence[str] | None = None, output_label: str = "y",
                           weight_labels: bool = False, show_biases: bool = True,
                           max_width: float = 1.6):
    """Draw a :class:`ThresholdNetwork` with :func:`nnbook.display.diagram.draw_network`.

    Line colour shows the weight's sign (blue +, orange -); each hidden and output unit is
    annotated with its bias :math:`w_{j0}` just above it.
    Needs at least one hidden unit (the constant network has nothing to draw).
    """
    from ..display.diagram import draw_network

    if not isinstance(net, ThresholdNetwork):
        raise ValueError("net must be a ThresholdNetwork")
    H = len(net.hidden)
    if H == 0:
        raise ValueError("the network has no hidden units (constant output); nothing to draw")
    n = net.n_inputs
    labels = [list(input_labels or [f"$x_{i + 1}$" for i in range(n)]),
              list(hidden_labels or [f"$h_{j + 1}$" for j in range(H)]), [output_label]]
    pos = draw_network(ax, net.sizes, weights=[net.W1, net.W2], unit_labels=labels,
                       weight_labels=weight_labels, max_width=max_width)
    if show_biases:
        for (l, j), (x, y) in pos.items():
            if l == 0:
                continue
            b = net.b1[j] if l == 1 else net.b2[0]
            ax.text(x, y + 0.21, f"{b:+g}".replace("-", "\u2212"), fontsize=7, ha="center",
                    va="bottom", color="0.2", zorder=4,
                    bbox=dict(fc="white", ec="none", pad=0.3, alpha=0.8))
    return pos
