"""Training: the shared optimizers, the one training loop (:func:`nnbook.fit`), gradient checking.

May import: :mod:`nnbook.checks`, :mod:`nnbook.kernels`, :mod:`nnbook.nn`.
"""
from .._lazy import lazy_getattr

__getattr__ = lazy_getattr(__name__)
