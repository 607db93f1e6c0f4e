"""Drawing attention matrices (chapter 12)."""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..checks import as_float_array

__all__ = ["draw_attention"]


def draw_attention(ax, A: ArrayLike, xlabels=None, ylabels=None, true: ArrayLike | None = None,
                   title: str | None = None, annotate: bool = False):
    """Draw an attention matrix as a heat map (rows: queries/outputs, columns: keys/inputs).

    Parameters
    ----------
    ax : matplotlib Axes
    A : array_like, shape (N, M)
        Weights in [0, 1] (the colour scale is fixed to [0, 1] so maps can be compared).
    xlabels, ylabels : sequence of str, optional
        Tick labels of the M inputs and N outputs.
    true : array_like of int, shape (N,), optional
        The correct input position for every output; drawn as open squares over the map.
    title : str, optional
    annotate : bool
        Write every weight into its cell (for small maps).

    Returns
    -------
    The image (for a colour bar).
    """
    A = as_float_array(A, "A", ndim=(2,))
    N, M = A.shape
    im = ax.imshow(A, vmin=0.0, vmax=1.0, cmap="viridis", aspect="equal")
    ax.set_xticks(range(M), xlabels if xlabels is not None else range(1, M + 1))
    ax.set_yticks(range(N), ylabels if ylabels is not None else range(1, N + 1))
    ax.set_xlabel("input (key) position $m$")
    ax.set_ylabel("output (query) position $n$")
    ax.tick_params(length=0)
    ax.grid(False)
    for side in ax.spines.values():
        side.set_visible(False)
    if annotate:
        for n in range(N):
            for m in range(M):
                ax.text(m, n, f"{A[n, m]:.2f}", ha="center", va="center", fontsize=7,
                        color="black" if A[n, m] > 0.6 else "white")
    if true is not None:
        true = np.asarray(true)
        ax.plot(true, np.arange(N), "s", ms=11, mfc="none", mec="#D55E00", mew=1.8,
                label="true alignment")
    if title:
        ax.set_title(title)
    return im
