"""The Numba kernels and their validation (Parts II-III): convolution, pooling, the recurrent cells,
and the threading/BLAS plumbing they share.

May import: :mod:`nnbook.checks`. Nothing else of nnbook.
"""
from .._lazy import lazy_getattr

__getattr__ = lazy_getattr(__name__)
