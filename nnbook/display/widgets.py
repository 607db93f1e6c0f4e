"""Experiments that are live in Jupyter and still work in the static HTML book.

One helper, :func:`experiment`, takes a *pure* draw function and its controls:

>>> experiment(draw, {"lr": Slider([0.01, 0.05, 0.1], label="learning rate η"),
...                   "method": Dropdown(["GD", "SGD"]),
...                   "show_path": Checkbox(True, label="show the path")},
...            alt="Gradient descent on a quadratic bowl")   # doctest: +SKIP

``draw(**values)`` returns a matplotlib ``Figure`` for one combination of control values.

* In Jupyter (and under nbval) it shows ipywidgets controls that redraw on change.
* When the book is built (the environment variable ``NNBOOK_BUILD=1``, which the book's Sphinx
  extension ``_ext/nnbook_build.py`` sets before any notebook runs) it renders *every* combination
  once, stores each frame as a 64-colour palette PNG, and emits plain HTML: native, labelled,
  keyboard-operable ``<input type="range">``, ``<select>`` and checkbox controls, an ``<img>``,
  and the frames as JSON. ``_static/nnbook-experiments.js`` (a few lines, no dependencies) swaps
  the frame when a control moves. No kernel, no CDN.

The number of combinations is bounded (``max_frames``, 200 by default) so that a page stays small.
"""
from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ..checks import ArgumentTypeError, check_bool, check_int, check_real

__all__ = ["Slider", "Dropdown", "Checkbox", "experiment", "is_static", "render_frame"]

MAX_FRAMES = 200


def _fmt(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "on" if v else "off"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}"
    return str(v)


def _check_values(kind: str, values) -> None:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or not len(values):
        raise ArgumentTypeError(f"{kind} values must be a non-empty list of values, got {values!r}")


@dataclass
class Slider:
    """A slider over a finite list of values (numbers, shown with ``fmt``).

    Parameters
    ----------
    values : sequence
        The values the slider can take, in order.
    value : optional
        The initial value (default: the middle one).
    label : str, optional
        Text label (defaults to the control's name).
    fmt : callable, optional
        Formats a value for display.
    """
    values: Sequence[Any]
    value: Any = None
    label: str | None = None
    fmt: Callable[[Any], str] = _fmt

    @classmethod
    def range(cls, start: float, stop: float, step: float, **kwargs) -> "Slider":
        """Values ``start, start+step, ...`` up to ``stop`` (included when a whole number of steps
        reaches it; never beyond it), rounded to 10 decimals."""
        start, stop = check_real(start, "start"), check_real(stop, "stop")
        step = check_real(step, "step")
        if step <= 0 or stop < start:
            raise ValueError(f"Slider.range needs start <= stop and step > 0, got {start}, {stop}, {step}")
        n = int(math.floor((stop - start) / step + 1e-9))  # 1e-9: 0.3 / 0.1 = 2.9999999999999996
        values = [round(start + i * step, 10) for i in range(n + 1)]
        return cls([v for v in values if v <= stop], **kwargs)

    def __post_init__(self):
        _check_values("Slider", self.values)

    def options(self) -> list:
        return list(self.values)


@dataclass
class Dropdown:
    """A choice among labelled options (``{label: value}`` or a list of values)."""
    values: Any
    value: Any = None
    label: str | None = None
    fmt: Callable[[Any], str] = _fmt

    def __post_init__(self):
        _check_values("Dropdown", self.values)

    def options(self) -> list:
        return list(self.values.values()) if isinstance(self.values, dict) else list(self.values)

    def labels(self) -> list[str]:
        if isinstance(self.values, dict):
            return [str(k) for k in self.values]
        return [self.fmt(v) for v in self.values]


@dataclass
class Checkbox:
    """An on/off switch."""
    value: bool = False
    label: str | None = None
    fmt: Callable[[Any], str] = field(default=_fmt)

    def __post_init__(self):
        check_bool(self.value, "Checkbox value")

    def options(self) -> list:
        return [False, True]


Control = Slider | Dropdown | Checkbox


def is_static() -> bool:
    """True when frames should be precomputed (the book build), False in a live session."""
    return os.environ.get("NNBOOK_BUILD", "") == "1"


def _initial_index(name: str, c: Control) -> int:
    opts = c.options()
    if not opts:
        raise ValueError(f"control {name!r} has no values")
    if c.value is None:
        return len(opts) // 2 if isinstance(c, Slider) else 0
    for i, v in enumerate(opts):
        if v is c.value or (type(v) is type(c.value) and v == c.value) or \
                (isinstance(v, (int, float)) and not isinstance(v, bool)
                 and isinstance(c.value, (int, float)) and v == c.value):
            return i
    raise ValueError(f"control {name!r}: initial value {c.value!r} is not one of its values")


def _check_controls(controls: dict[str, Control], max_frames: int) -> int:
    max_frames = check_int(max_frames, "max_frames", minimum=1)
    if not isinstance(controls, dict) or not controls:
        raise ValueError("controls must be a non-empty dict of name -> Slider/Dropdown/Checkbox")
    n = 1
    for name, c in controls.items():
        if not isinstance(c, (Slider, Dropdown, Checkbox)):
            raise ValueError(f"control {name!r} must be a Slider, Dropdown or Checkbox, got {c!r}")
        _initial_index(name, c)
        n *= len(c.options())
    if n > max_frames:
        sizes = " x ".join(str(len(c.options())) for c in controls.values())
        raise ValueError(f"{sizes} = {n} combinations exceeds max_frames={max_frames}; "
                         "use fewer values per control")
    return n


def render_frame(fig, dpi: int = 100, colors: int = 64) -> bytes:
    """A figure as a palette PNG (``colors`` colours); closes the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure
    from PIL import Image

    if not isinstance(fig, Figure):
        raise ArgumentTypeError(f"fig must be a matplotlib Figure (what draw returns), got "
                                f"{type(fig).__name__}")
    check_int(dpi, "dpi", minimum=1)
    check_int(colors, "colors", minimum=2, maximum=256)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    pal = img.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    pal.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _drawn(draw, values: dict):
    """``draw(**values)``, which must be a matplotlib Figure."""
    from matplotlib.figure import Figure

    fig = draw(**values)
    if not isinstance(fig, Figure):
        raise ArgumentTypeError(f"draw must return a matplotlib Figure, got {type(fig).__name__} "
                                f"for {values}")
    return fig


def _static_html(draw, controls: dict[str, Control], alt: str, dpi: int) -> str:
    names = list(controls)
    opts = [controls[n].options() for n in names]
    uid = hashlib.sha1((alt + "|" + "|".join(names)).encode()).hexdigest()[:10]
    frames: list[str] = []
    seen: dict[str, int] = {}
    order: list[int] = []
    for combo in itertools.product(*opts):
        png = render_frame(_drawn(draw, dict(zip(names, combo))), dpi=dpi)
        b64 = base64.b64encode(png).decode("ascii")
        if b64 not in seen:
            seen[b64] = len(frames)
            frames.append(b64)
        order.append(seen[b64])
    shape = [len(o) for o in opts]
    init = [_initial_index(n, controls[n]) for n in names]
    strides = [int(np.prod(shape[i + 1:])) for i in range(len(shape))]
    first = order[sum(i * s for i, s in zip(init, strides))]

    parts = []
    for k, (name, c) in enumerate(zip(names, controls.values())):
        cid = f"nnx-{uid}-{k}"
        label = html.escape(c.label or name)
        if isinstance(c, Slider):
            labels = [c.fmt(v) for v in c.options()]
            parts.append(
                f'<span class="nnbook-exp-control"><label for="{cid}">{label}</label> '
                f'<input type="range" id="{cid}" min="0" max="{len(labels) - 1}" step="1" '
                f'value="{init[k]}" data-labels="{html.escape(json.dumps(labels))}" '
                f'aria-valuetext="{html.escape(labels[init[k]])}"> '
                f'<output for="{cid}">{html.escape(labels[init[k]])}</output></span>')
        elif isinstance(c, Dropdown):
            options = "".join(
                f'<option value="{i}"{" selected" if i == init[k] else ""}>{html.escape(t)}</option>'
                for i, t in enumerate(c.labels()))
            parts.append(f'<span class="nnbook-exp-control"><label for="{cid}">{label}</label> '
                         f'<select id="{cid}">{options}</select></span>')
        else:
            checked = " checked" if init[k] == 1 else ""
            parts.append(f'<span class="nnbook-exp-control"><input type="checkbox" id="{cid}"'
                         f'{checked}> <label for="{cid}">{label}</label></span>')
    data = json.dumps({"shape": shape, "order": order, "frames": frames}, separators=(",", ":"))
    return (f'<div class="nnbook-exp" id="nnx-{uid}" data-frame="{first}">'
            f'<div class="nnbook-exp-controls">{"".join(parts)}</div>'
            f'<img class="nnbook-exp-frame" alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{frames[first]}">'
            f'<script type="application/json" class="nnbook-exp-data">{data}</script></div>')


def _live(draw, controls: dict[str, Control]):
    """Show ipywidgets controls that redraw ``draw`` on every change; returns the widget box."""
    import ipywidgets as w
    import matplotlib.pyplot as plt
    from IPython.display import display

    ws = {}
    for name, c in controls.items():
        label = c.label or name
        style = {"description_width": "initial"}
        if isinstance(c, Slider):
            ws[name] = w.SelectionSlider(options=[(c.fmt(v), v) for v in c.options()],
                                         value=c.options()[_initial_index(name, c)],
                                         description=label, style=style, continuous_update=False)
        elif isinstance(c, Dropdown):
            ws[name] = w.Dropdown(options=list(zip(c.labels(), c.options())),
                                  value=c.options()[_initial_index(name, c)],
                                  description=label, style=style)
        else:
            ws[name] = w.Checkbox(value=bool(c.value), description=label, style=style)

    def show(**values):
        fig = _drawn(draw, values)
        display(fig)
        plt.close(fig)

    out = w.interactive_output(show, ws)
    box = w.VBox([w.HBox(list(ws.values()), layout=w.Layout(flex_flow="row wrap")), out])
    display(box)
    return box


def experiment(draw: Callable[..., Any], controls: dict[str, Control], alt: str,
               max_frames: int = MAX_FRAMES, dpi: int = 100) -> None:
    """Show an interactive experiment: live ipywidgets in Jupyter, precomputed frames in the book.

    Parameters
    ----------
    draw : callable
        ``draw(**values) -> matplotlib.figure.Figure``, pure (same values, same figure).
    controls : dict
        Control name (the keyword passed to ``draw``) to :class:`Slider`, :class:`Dropdown` or
        :class:`Checkbox`.
    alt : str
        Alternative text describing the figure, for readers who cannot see it.
    max_frames : int
        Largest number of control combinations allowed (each is one frame in the HTML).
    dpi : int
        Resolution of the static frames.
    """
    if not isinstance(alt, str) or not alt.strip():
        raise ValueError("alt must describe the figure (non-empty text)")
    if not callable(draw):
        raise ValueError("draw must be callable")
    _check_controls(controls, max_frames)
    if is_static():
        from IPython.display import HTML, display
        display(HTML(_static_html(draw, controls, alt, dpi)))
    else:
        _live(draw, controls)
