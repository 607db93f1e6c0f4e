"""What a model costs (chapter 12): multiplications and sequential steps counted, and wall time."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..checks import check_positive
from ..kernels.threads import blas_threads as limited_blas

__all__ = ["attention_cost", "recurrent_cost", "best_time"]


def attention_cost(T: int, d_model: int, d_head: int, n_out: int) -> dict[str, int]:
    r"""Multiplications and sequential steps of one forward pass of :class:`SelfAttentionModel`.

    Per sequence, counting the multiplications of the matrix products (softmax and embedding
    aside): the three projections :math:`3TDd_k`, the scores :math:`T^2d_k`, the weighted sums
    :math:`T^2d_v` (:math:`d_v = d_k`) and the output layer :math:`Td_v\,n_{out}`, with
    :math:`D` = ``d_model`` and :math:`d_k` = ``d_head`` (all heads together). Every one is a
    matrix product over all positions at once, so the number of steps that must follow one another
    does not grow with :math:`T`: it is 1 (one layer).
    """
    for name, v in (("T", T), ("d_model", d_model), ("d_head", d_head), ("n_out", n_out)):
        check_positive(v, name, integer=True)
    mult = 3 * T * d_model * d_head + 2 * T * T * d_head + T * d_head * n_out
    return {"multiplications": int(mult), "sequential_steps": 1}


def recurrent_cost(T_steps: int, n_in: int, n_hidden: int, n_out: int,
                   gates: int = 4) -> dict[str, int]:
    r"""Multiplications and sequential steps of a gated recurrent net run for ``T_steps`` steps.

    Each step multiplies the input and the previous state into ``gates`` blocks (4 for an LSTM),
    :math:`g D_h (D_x + D_h)` with :math:`D_h` = ``n_hidden`` and :math:`D_x` = ``n_in``, plus the
    output layer :math:`D_h\,n_{out}` (the element-wise gate products aside); step :math:`t` needs
    the state of step :math:`t-1`, so all ``T_steps`` steps are sequential.
    """
    for name, v in (("T_steps", T_steps), ("n_in", n_in), ("n_hidden", n_hidden),
                    ("n_out", n_out), ("gates", gates)):
        check_positive(v, name, integer=True)
    mult = T_steps * (gates * n_hidden * (n_in + n_hidden) + n_hidden * n_out)
    return {"multiplications": int(mult), "sequential_steps": int(T_steps)}


def best_time(fn: Callable[[], object], repeats: int = 5, blas_threads: int | None = 1) -> float:
    """Shortest wall time of ``repeats`` calls of ``fn()`` in seconds (timings are noisy: the
    minimum is the least disturbed by other work on the machine).

    ``blas_threads`` limits every BLAS library (NumPy's and SciPy's OpenBLAS) to that many threads
    while ``fn`` runs (``None``: leave them as they are). The default, 1, compares like with like:
    the compiled kernels already run their products on one thread
    (:mod:`nnbook.kernels.threads`), and on a shared machine multi-threaded BLAS threads spin and
    wait for busy cores, so a NumPy product of a few milliseconds was measured at several hundred
    (chapter 12's attention forward pass at T = 256: 0.45 s instead of about 0.01 s).
    """
    import contextlib
    import time
    check_positive(repeats, "repeats", integer=True)
    if blas_threads is not None:
        check_positive(blas_threads, "blas_threads", integer=True)
    best = np.inf
    with (contextlib.nullcontext() if blas_threads is None else limited_blas(blas_threads, "all")):
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
    return float(best)


# --------------------------------------------------------------------------- a recurrent baseline
