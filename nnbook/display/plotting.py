"""One figure style for the whole book."""
from __future__ import annotations

import warnings

import numpy as np

__all__ = ["setup", "COLORS", "new_figure", "SEED"]

SEED = 0
#: A colour-blind-safe palette (Okabe & Ito), used in this order everywhere.
COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]


def setup() -> None:
    """Set the book's matplotlib style and make numerical warnings errors.

    Call it in the first code cell of every chapter. It

    * fixes the figure style (size, fonts, colour cycle, no top/right spines) and a non-interactive
      PNG backend for reproducible output;
    * turns NumPy ``RuntimeWarning`` (overflow, invalid value, division by zero) into errors, so a
      chapter that overflows fails loudly instead of printing a warning into the book.

    Randomness in the book is always drawn from explicitly seeded generators
    (``np.random.default_rng(seed)``), never from global state.
    """
    import matplotlib as mpl

    mpl.rcParams.update({
        "figure.figsize": (5.0, 3.2),
        "figure.dpi": 100,
        "savefig.dpi": 100,
        "font.size": 10,
        "axes.titlesize": 10,
        "axes.labelsize": 10,
        "legend.fontsize": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.prop_cycle": mpl.cycler(color=COLORS),
        "figure.constrained_layout.use": True,
        "svg.hashsalt": "nnbook",
    })
    warnings.simplefilter("error", RuntimeWarning)


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 5.0, height: float = 3.2, **kw):
    """``plt.subplots`` with the book's default size; returns ``(fig, ax)``."""
    import matplotlib.pyplot as plt

    return plt.subplots(nrows, ncols, figsize=(width, height), **kw)
