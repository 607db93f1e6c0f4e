"""What a model costs (chapter 12): multiplications and sequential steps counted, and wall time."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..checks import check_positive

__all__ = ["attention_cost", "recurrent_cost", "best_time"]


def attention_cost(T: int, d_model: int, d_head: int, n_out: int) -> dict[str, int]:
    r"""Multiplications and sequential steps of one forward pass of :class:`SelfAttentionModel`.

    Per sequence: the three projections :math:`3TDk`, the logits :math:`T^2k`, the weighted sums
    :math:`T^2k` and the output layer :math:`Tk\,n_{out}`, with :math:`k` = ``d_head`` (all heads
    together). Every one is a matrix product over all positions at once, so the number of steps
    that must follow one another does not grow with :math:`T`: it is 1 (one layer).
    """
    for name, v in (("T", T), ("d_model", d_model), ("d_head", d_head), ("n_out", n_out)):
        check_positive(v, name, integer=True)
    mult = 3 * T * d_model * d_head + 2 * T * T * d_head + T * d_head * n_out
    return {"multiplications": int(mult), "sequential_steps": 1}


def recurrent_cost(T_steps: int, n_in: int, n_hidden: int, n_out: int,
                   gates: int = 4) -> dict[str, int]:
    r"""Multiplications and sequential steps of a gated recurrent net run for ``T_steps`` steps.

    Each step multiplies the input and the previous state into ``gates`` blocks (4 for an LSTM),
    :math:`g H (D + H)`, plus the output layer :math:`H\,n_{out}`; step :math:`t` needs the state
    of step :math:`t-1`, so all ``T_steps`` steps are sequential.
    """
    for name, v in (("T_steps", T_steps), ("n_in", n_in), ("n_hidden", n_hidden),
                    ("n_out", n_out), ("gates", gates)):
        check_positive(v, name, integer=True)
    mult = T_steps * (gates * n_hidden * (n_in + n_hidden) + n_hidden * n_out)
    return {"multiplications": int(mult), "sequential_steps": int(T_steps)}


def best_time(fn: Callable[[], object], repeats: int = 5) -> float:
    """Shortest wall time of ``repeats`` calls of ``fn()`` in seconds (timings are noisy: the
    minimum is the least disturbed by other work on the machine)."""
    import time

    check_positive(repeats, "repeats", integer=True)
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return float(best)


# --------------------------------------------------------------------------- a recurrent baseline
