"""Drawing a backpropagation trace on the network (chapter 3)."""
from __future__ import annotations

import numpy as np

from ..checks import check_positive
from ..nn.mlp import MLP
from ..teach.backprop import backprop_steps

__all__ = ["draw_backprop"]


def _fmt(v: float, digits: int) -> str:
    s = f"{v:.{digits}f}"
    return "0." + "0" * digits if s.lstrip("-") == "0." + "0" * digits else s


def draw_backprop(ax, net: MLP, x, t, loss: str = "sse", upto: int | None = None,
                  digits: int = 3, gradients: bool = True):
    r"""Draw ``net`` with the a, z and delta values known after the first ``upto`` steps.

    The steps are those of :func:`backprop_steps`. Each unit gets a small label under it
    (``a``, ``z`` -- ``y`` for the output -- and :math:`\delta`, each once it has been computed);
    the units touched by the latest step are highlighted; once the gradient step of a layer has
    run (and ``gradients`` is true), each weight of that layer shows its gradient
    :math:`\delta_j z_i` near its upper end.

    Parameters
    ----------
    ax : matplotlib Axes
    net : MLP
    x, t : array_like
        One pattern and its target (as for :func:`backprop_steps`).
    loss : {"sse", "bce", "ce"}
    upto : int, optional
        How many steps have run, 0..4L (default: all of them).
    digits : int
        Decimals shown.
    gradients : bool
        Write the weight gradients on the connections.

    Returns
    -------
    Step or None
        The latest step shown (None when ``upto`` is 0), e.g. for a title.
    """
    from ..display.diagram import draw_network

    steps = backprop_steps(net, x, t, loss)
    if upto is None:
        upto = len(steps)
    if isinstance(upto, bool) or not isinstance(upto, (int, np.integer)) \
            or not 0 <= upto <= len(steps):
        raise ValueError(f"upto must be an integer from 0 to {len(steps)}, got {upto!r}")
    check_positive(digits, "digits", integer=True, allow_zero=True)
    done = steps[:upto]
    current = done[-1] if done else None
    sizes = net.sizes
    L = len(sizes) - 1
    D, K = sizes[0], sizes[-1]
    labels = [[f"$x_{i + 1}$" for i in range(D)]]
    labels += [[f"{j + 1}" for j in range(n)] for n in sizes[1:-1]]
    labels += [[f"$y_{k + 1}$" if K > 1 else "$y$" for k in range(K)]]
    highlight = []
    if current is not None:
        highlight = [(current.layer, j) for j in range(sizes[current.layer])]
    names = ["input"] + [f"hidden {l}" for l in range(1, L)] + ["output"]
    pos = draw_network(ax, sizes, weights=[W for W, _ in net.weights], unit_labels=labels,
                       highlight=highlight)
    bottom = -(max(sizes) - 1) / 2.0
    for l, name in enumerate(names):  # below the value labels of the lowest unit
        ax.text(pos[(l, 0)][0], bottom - 0.8, name, ha="center", va="top", fontsize=8)
    ax.set_ylim(bottom - 1.1, -bottom + 0.45)
    known: dict[tuple[int, str], np.ndarray] = {}
    for s in done:
        known[(s.layer, s.kind)] = s.value
    xv = np.asarray(x, dtype=float).ravel()
    box = dict(fc="white", ec="none", alpha=0.85, pad=0.4)
    for i in range(D):
        px, py = pos[(0, i)]
        ax.text(px, py - 0.22, f"{_fmt(xv[i], digits)}", ha="center", va="top", fontsize=6.5,
                zorder=5, bbox=box)
    for l in range(1, L + 1):
        for j in range(sizes[l]):
            lines = []
            if (l, "a") in known:
                lines.append(f"a={_fmt(known[(l, 'a')][j], digits)}")
            if (l, "z") in known:
                lines.append(("y=" if l == L else "z=") + _fmt(known[(l, "z")][j], digits))
            if (l, "delta") in known:
                lines.append(f"δ={_fmt(known[(l, 'delta')][j], digits)}")
            if lines:
                px, py = pos[(l, j)]
                ax.text(px, py - 0.22, "\n".join(lines), ha="center", va="top", fontsize=6.5,
                        zorder=5, bbox=box, linespacing=1.1)
        if gradients and (l, "grad") in known:
            G = known[(l, "grad")]
            for j in range(sizes[l]):
                x1, y1 = pos[(l, j)]
                for i in range(sizes[l - 1]):
                    x0, y0 = pos[(l - 1, i)]
                    # stagger the labels of different sources along the lines so they never meet
                    n_src = sizes[l - 1]
                    f = 0.55 if n_src == 1 else 0.3 + 0.32 * i / (n_src - 1)
                    ax.text(x0 + f * (x1 - x0), y0 + f * (y1 - y0), _fmt(G[j, i], digits),
                            fontsize=5.5, ha="center", va="center", zorder=4, color="#8a3b00",
                            bbox=dict(fc="#fff4e6", ec="none", pad=0.3))
    tv = np.atleast_1d(np.asarray(t, dtype=float)).ravel()
    for k in range(K):
        px, py = pos[(L, k)]
        ax.text(px + 0.25, py, f"t={_fmt(tv[k], digits)}", ha="left", va="center", fontsize=6.5,
                zorder=5)
    return current
