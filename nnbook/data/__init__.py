"""Data sets (generated or bundled with a package; nothing downloaded) and sequence tasks with known
answers.

May import: :mod:`nnbook.checks`.
"""
from .._lazy import lazy_getattr

__getattr__ = lazy_getattr(__name__)
