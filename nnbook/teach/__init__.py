"""The chapters' teaching helpers: one module per idea a chapter demonstrates (symmetries,
approximation by bumps, quadratic error surfaces, regularization, backprop traces, invariance,
logic, sequence demos, CNN demos, costs).

May import: :mod:`nnbook.checks`, :mod:`nnbook.kernels`, :mod:`nnbook.nn`, :mod:`nnbook.train`,
:mod:`nnbook.data.datasets`. Never :mod:`nnbook.display`: drawing lives there.
"""
from .._lazy import lazy_getattr

__getattr__ = lazy_getattr(__name__)
