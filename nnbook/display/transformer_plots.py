"""Drawings for chapter 13 (the Transformer): text panels, learning curves, attention maps of
characters, gradient norms per layer. Pure functions of their inputs; each returns a Figure or
draws on the axes it is given."""
from __future__ import annotations

import textwrap

import numpy as np

from .plotting import COLORS

__all__ = ["draw_text", "draw_curves", "draw_char_attention", "draw_layer_norms", "show_chars"]


def show_chars(text: str) -> str:
    """Text with newlines and spaces made visible for axis labels (``⏎``, ``␣``)."""
    return text.replace("\n", "\u23ce").replace(" ", "\u2423")


def draw_text(ax, text: str, width: int = 58, max_lines: int = 7, title: str | None = None,
              fontsize: float = 8.5) -> None:
    """Wrap ``text`` (newlines shown as ``⏎``) into a box on ``ax`` with the axis hidden."""
    lines = textwrap.wrap(text.replace("\n", " \u23ce "), width=width, drop_whitespace=False)
    ax.axis("off")
    ax.text(0.0, 1.0, "\n".join(lines[:max_lines]), family="monospace", fontsize=fontsize,
            va="top", ha="left", transform=ax.transAxes)
    if title:
        ax.set_title(title, loc="left", fontsize=9)


def draw_curves(ax, curves: dict, x=None, hlines: dict | None = None, xlabel: str = "epoch",
                ylabel: str = "validation bits per character", marker: str | None = "o") -> None:
    """Several curves (name -> values) in the book's colours, optional labelled horizontal lines."""
    for i, (name, y) in enumerate(curves.items()):
        xs = np.arange(len(y)) if x is None else x
        ax.plot(xs, y, marker=marker, ms=3, color=COLORS[i % len(COLORS)], label=name)
    for j, (name, v) in enumerate((hlines or {}).items()):
        ax.axhline(v, ls="--", lw=1, color=COLORS[(len(curves) + j) % len(COLORS)], label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7.5)


def draw_char_attention(ax, A: np.ndarray, chars: str, cmap: str = "viridis") -> None:
    """A (T, T) attention map with the characters as tick labels (queries down, keys across)."""
    T = A.shape[0]
    ax.imshow(A, cmap=cmap, vmin=0, vmax=1, aspect="equal")
    labels = list(show_chars(chars))
    ax.set_xticks(range(T))
    ax.set_yticks(range(T))
    ax.set_xticklabels(labels, fontsize=6.5, family="monospace")
    ax.set_yticklabels(labels, fontsize=6.5, family="monospace")
    ax.tick_params(length=0)
    ax.grid(False)
    ax.set_xlabel("key (attended character)")
    ax.set_ylabel("query (position)")


def draw_layer_norms(ax, norms: dict, ylabel: str = "gradient norm") -> None:
    """Per-layer values (name -> array over layers), log scale, layers numbered from 1."""
    for i, (name, v) in enumerate(norms.items()):
        v = np.asarray(v)
        ax.semilogy(np.arange(1, len(v) + 1), v, marker="o", color=COLORS[i], label=name)
    ax.set_xlabel("block (1 = nearest the input)")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
