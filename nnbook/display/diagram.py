"""Drawings of layered networks (units as circles, weights as lines), for figures and experiments."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.patches import Circle

__all__ = ["draw_network"]


def draw_network(ax, sizes: Sequence[int], weights: Sequence[np.ndarray] | None = None,
                 unit_labels: Sequence[Sequence[str]] | None = None,
                 layer_names: Sequence[str] | None = None, highlight: Sequence[tuple[int, int]] = (),
                 bias: bool = False, weight_labels: bool = False, max_width: float = 4.0):
    """Draw a fully connected feed-forward network on ``ax``.

    Parameters
    ----------
    ax : matplotlib Axes
    sizes : sequence of int
        Units per layer, inputs first, e.g. ``[3, 4, 2]``.
    weights : sequence of ndarray, optional
        ``W_l`` of shape ``(sizes[l], sizes[l-1])``. Line width grows with ``|w|``; colour shows the
        sign (blue positive, orange negative). Without weights all lines are thin and grey.
    unit_labels : sequence of sequence of str, optional
        Text inside (or next to) each unit, layer by layer.
    layer_names : sequence of str, optional
        A caption under each layer.
    highlight : sequence of (layer, unit)
        Units to fill with a highlight colour.
    bias : bool
        Draw a bias unit (labelled 1) above each non-output layer.
    weight_labels : bool
        Write the value of each weight on its line (small networks only).
    max_width : float
        Line width of the largest weight.

    Returns
    -------
    dict
        ``{(layer, unit): (x, y)}`` centres of the units, for further annotation.
    """
    from .plotting import COLORS

    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes needs at least two positive layer sizes, got {sizes}")
    if weights is not None:
        if len(weights) != len(sizes) - 1:
            raise ValueError(f"weights needs {len(sizes) - 1} matrices, got {len(weights)}")
        for l, W in enumerate(weights, start=1):
            if np.shape(W) != (sizes[l], sizes[l - 1]):
                raise ValueError(f"W_{l} must have shape {(sizes[l], sizes[l - 1])}, got {np.shape(W)}")
    tallest = max(sizes) + (1 if bias else 0)
    dx = 1.8  # horizontal distance between layers (vertical distance between units is 1)
    pos: dict[tuple[int, int], tuple[float, float]] = {}
    for l, n in enumerate(sizes):
        for j in range(n):
            pos[(l, j)] = (dx * l, (n - 1) / 2.0 - j)
    wmax = max((np.max(np.abs(W)) for W in weights), default=1.0) if weights is not None else 1.0
    wmax = wmax or 1.0
    r = 0.18
    for l in range(1, len(sizes)):
        srcs = [(pos[(l - 1, i)], i) for i in range(sizes[l - 1])]
        if bias:
            srcs.append(((dx * (l - 1), (sizes[l - 1] - 1) / 2.0 + 1.0), -1))
        for j in range(sizes[l]):
            x1, y1 = pos[(l, j)]
            for (x0, y0), i in srcs:
                if weights is not None and i >= 0:
                    w = float(weights[l - 1][j, i])
                    color = COLORS[0] if w >= 0 else COLORS[1]
                    lw = 0.4 + max_width * abs(w) / wmax
                else:
                    w, color, lw = None, "0.6", 0.8
                ax.plot([x0 + r, x1 - r], [y0, y1], color=color, lw=lw, zorder=1,
                        ls=":" if i < 0 else "-")
                if weight_labels and w is not None:
                    t = 0.3
                    ax.text(x0 + r + t * (x1 - x0 - 2 * r), y0 + t * (y1 - y0), f"{w:.2g}",
                            fontsize=7, ha="center", va="center", zorder=3,
                            bbox=dict(fc="white", ec="none", pad=0.5))
    hl = set(highlight)
    for (l, j), (x, y) in pos.items():
        fc = COLORS[4] if (l, j) in hl else ("#e8f1fa" if 0 < l < len(sizes) - 1 else "#f4f4f4")
        ax.add_patch(Circle(
            (x, y), r, fc=fc, ec="0.2", lw=1.0, zorder=2))
        if unit_labels is not None and j < len(unit_labels[l]):
            ax.text(x, y, unit_labels[l][j], ha="center", va="center", fontsize=8, zorder=4)
    if bias:
        for l in range(len(sizes) - 1):
            x, y = dx * l, (sizes[l] - 1) / 2.0 + 1.0
            ax.add_patch(Circle(
                (x, y), r * 0.8, fc="white", ec="0.4", lw=0.8, ls="--", zorder=2))
            ax.text(x, y, "1", ha="center", va="center", fontsize=8, zorder=4)
    if layer_names is not None:
        for l, name in enumerate(layer_names):
            ax.text(dx * l, -(max(sizes) - 1) / 2.0 - 0.4, name, ha="center", va="top", fontsize=9)
    ax.set_xlim(-0.5, dx * (len(sizes) - 1) + 0.5)
    ax.set_ylim(-(max(sizes) - 1) / 2.0 - (0.9 if layer_names is not None else 0.4), (tallest - 1) / 2.0 + (1.3 if bias else 0.6))
    ax.set_aspect("equal")
    ax.axis("off")
    return pos
