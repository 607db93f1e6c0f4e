"""Layers and models: activations, losses, the MLP, the CNN layers, attention, and the models built
from them.

May import: :mod:`nnbook.checks`, :mod:`nnbook.kernels`.
"""
from .._lazy import lazy_getattr

__getattr__ = lazy_getattr(__name__)
