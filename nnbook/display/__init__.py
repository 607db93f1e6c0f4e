"""What draws and displays: the figure style, network diagrams, the chapters' drawings, the
experiments (live widgets in Jupyter, static frames in the HTML book) and ``glue``.

The top layer: may import every other part of nnbook.
"""
from .._lazy import lazy_getattr

__getattr__ = lazy_getattr(__name__)
