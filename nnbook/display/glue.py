"""``glue``: how a chapter hands a computed value to its prose.

Where MyST-NB is installed (the book build, nbval, ``make lab``) this *is* MyST-NB's ``glue``: the
value's display form is shown (or, with ``display=False``, stored under a hidden mime type) with
the metadata from which the build fills ``{glue:text}`` roles. Where it is not (Google Colab, a
JupyterHub: the launch buttons open the reader's copies, whose prose already carries the numbers),
the same output is produced without it, so the chapters run unchanged everywhere and a run there
can still be compared with the build's (``build_tests/test_launch.py``; a test checks that both
produce identical outputs).

    from nnbook.display.glue import glue
    glue("loss", 0.0254)          # shows 0.0254; the prose says {glue:text}`loss:.4f`
"""
from __future__ import annotations

from typing import Any

__all__ = ["glue", "HAVE_MYST_NB", "HIDDEN_PREFIX"]

try:
    from myst_nb import glue as _myst_glue
except ImportError:  # not installed: nnbook's own output, the same as MyST-NB's
    _myst_glue = None

HAVE_MYST_NB = _myst_glue is not None
HIDDEN_PREFIX = "application/papermill.record/"  # MyST-NB's mime prefix of display=False glues


def glue(name: str, variable: Any, display: bool = True) -> None:
    """Glue ``variable`` under ``name`` for the prose, and show it if ``display``.

    Parameters
    ----------
    name : str
        The name the prose refers to (``{glue:text}`name```).
    variable : Any
        The value; what is stored is its display form (e.g. its ``text/plain``).
    display : bool
        Show the value in the cell's output as well.
    """
    from ..checks import check_bool  # here, so that importing glue stays light

    display = check_bool(display, "display")
    if _myst_glue is not None:
        _myst_glue(name, variable, display=display)
        return
    from IPython.core.formatters import format_display_data
    from IPython.display import display as show

    bundle, metadata = format_display_data(variable)
    prefix = "" if display else HIDDEN_PREFIX
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    show({prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)
