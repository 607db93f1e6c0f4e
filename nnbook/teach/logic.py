r"""Logic functions with threshold units (chapters 5 and 6).

A *perceptron* (threshold unit) computes the weighted sum
:math:`a = \sum_{i=1}^{n} w_i x_i + w_0` of its inputs and fires when it is non-negative:
:math:`y = \operatorname{step}(a)`, with :math:`\operatorname{step}(a) = 1` for :math:`a \ge 0` and
``0`` otherwise. Inputs and outputs of logic functions are ``0`` (false) and ``1`` (true).

Truth tables are listed in *binary counting order*: row ``r`` (``0 <= r < 2**n``) has
:math:`x_1` as the most significant bit, so for ``n = 3`` the rows are
``000, 001, 010, 011, 100, 101, 110, 111`` (see :func:`all_inputs`).

:func:`dnf_network` turns any truth table into a two-layer threshold network: one *minterm*
neuron per row whose output is 1 (weights :math:`\pm 1`, bias :math:`-k + 0.5` with :math:`k` the
number of un-negated inputs) feeding an OR neuron.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ..checks import as_float_array, check_int, check_name, check_positive

__all__ = ["step", "Perceptron", "gate", "ThresholdNetwork", "dnf_network", "truth_table",
           "all_inputs", "perceptron_learn", "LearningResult", "separable_by_grid", "GATES"]

#: The gates :func:`gate` knows.
GATES = ("and", "or", "nand", "nor", "not")


def step(z) -> np.ndarray:
    """Heaviside step, elementwise: 1 where ``z >= 0``, else 0.

    Parameters
    ----------
    z : array_like
        Any shape; finite numbers.

    Returns
    -------
    ndarray of int
        Same shape as ``z`` (a 0-d array for a scalar), values 0 and 1.
    """
    z = as_float_array(z, "z", allow_empty=True)
    return (z >= 0).astype(np.int64)


def _as_inputs(X, n: int, name: str = "X") -> tuple[np.ndarray, bool]:
    """Check ``X`` is (N, n) or (n,); return it as (N, n) float and whether it was a single row."""
    X = as_float_array(X, name, ndim=(1, 2), allow_empty=True)
    single = X.ndim == 1
    if single:
        X = X[None, :]
    if X.shape[1] != n:
        raise ValueError(f"{name} has {X.shape[1]} input(s) per pattern (shape "
                         f"{X.shape if not single else X.shape[1:]}), but the unit expects {n}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} has no patterns (shape {X.shape})")
    return X, single


class Perceptron:
    """A threshold unit :math:`y = \\operatorname{step}(\\mathbf w^\\top \\mathbf x + b)`.

    Parameters
    ----------
    w : array_like, shape (n,)
        Input weights :math:`w_1, \\dots, w_n` (finite). ``n = 0`` gives a constant unit.
    b : float
        Bias :math:`w_0` (finite).

    Examples
    --------
    >>> p = Perceptron([1, 1], -1.5)          # AND
    >>> p([[0, 0], [0, 1], [1, 0], [1, 1]]).tolist()
    [0, 0, 0, 1]
    """

    def __init__(self, w, b: float):
        w = as_float_array(w, "w", ndim=(1,), allow_empty=True)
        b_arr = as_float_array(b, "b", ndim=(0, 1))
        if b_arr.size != 1:
            raise ValueError(f"b must be a single number, got shape {b_arr.shape}")
        self.w = w.copy()
        self.b = float(b_arr.reshape(()))

    @property
    def n_inputs(self) -> int:
        """Number of inputs ``n``."""
        return int(self.w.shape[0])

    def net(self, X) -> np.ndarray:
        """Weighted sum :math:`a = \\mathbf w^\\top \\mathbf x + b`.

        Parameters
        ----------
        X : array_like, shape (N, n) or (n,)

        Returns
        -------
        ndarray of float, shape (N,) or () for a single pattern
        """
        X, single = _as_inputs(X, self.n_inputs)
        a = X @ self.w + self.b
        return a[0] if single else a

    def __call__(self, X) -> np.ndarray:
        """Output ``step(a)``: ndarray of int, shape (N,) or () for a single pattern."""
        return step(self.net(X))

    def __repr__(self) -> str:
        return f"Perceptron(w={self.w.tolist()}, b={self.b:g})"


def gate(name: str, n: int | None = None) -> Perceptron:
    """A logic gate as one perceptron.

    ===========  ===================  ===============
    gate         weights :math:`w_i`  bias :math:`w_0`
    ===========  ===================  ===============
    ``and``      +1                   :math:`-n + 0.5`
    ``or``       +1                   :math:`-0.5`
    ``nand``     -1                   :math:`n - 0.5`
    ``nor``      -1                   :math:`0.5`
    ``not``      -1 (one input)       :math:`0.5`
    ===========  ===================  ===============

    Parameters
    ----------
    name : {"and", "or", "nand", "nor", "not"}
        Case-insensitive.
    n : int, optional
        Number of inputs, ``n >= 1`` (default 2; ``"not"`` has exactly one input).

    Returns
    -------
    Perceptron
    """
    name = check_name(name, GATES, "gate")
    if n is not None:
        n = check_int(n, "n", minimum=1)
    if name == "not":
        if n not in (None, 1):
            raise ValueError(f"the 'not' gate has exactly 1 input, got n={n!r}")
        return Perceptron([-1.0], 0.5)
    n = 2 if n is None else n
    check_positive(n, "n", integer=True)
    ones = np.ones(int(n))
    if name == "and":
        return Perceptron(ones, -n + 0.5)
    if name == "or":
        return Perceptron(ones, -0.5)
    if name == "nand":
        return Perceptron(-ones, n - 0.5)
    return Perceptron(-ones, 0.5)  # nor


class ThresholdNetwork:
    """Two layers of threshold units: hidden perceptrons feeding one output perceptron.

    Parameters
    ----------
    hidden : list of Perceptron
        The hidden units; all take the same ``n`` inputs. May be empty (then give ``n_inputs``
        and an output unit with zero inputs: a constant network).
    output : Perceptron
        The output unit, with one input per hidden unit.
    n_inputs : int, optional
        Number of network inputs; needed only when ``hidden`` is empty.

    Attributes
    ----------
    W1 : ndarray, shape (H, n)   hidden weights, row ``j`` for hidden unit ``j``
    b1 : ndarray, shape (H,)     hidden biases
    W2 : ndarray, shape (1, H)   output weights
    b2 : ndarray, shape (1,)     output bias
    """

    def __init__(self, hidden: Sequence[Perceptron], output: Perceptron,
                 n_inputs: int | None = None):
        hidden = list(hidden)
        for j, p in enumerate(hidden):
            if not isinstance(p, Perceptron):
                raise ValueError(f"hidden[{j}] must be a Perceptron, got {type(p).__name__}")
        if not isinstance(output, Perceptron):
            raise ValueError(f"output must be a Perceptron, got {type(output).__name__}")
        if hidden:
            n = hidden[0].n_inputs
            for j, p in enumerate(hidden):
                if p.n_inputs != n:
                    raise ValueError(f"hidden[{j}] has {p.n_inputs} inputs but hidden[0] has {n}")
            if n_inputs is not None and n_inputs != n:
                raise ValueError(f"n_inputs={n_inputs} disagrees with the hidden units' {n} inputs")
        else:
            if n_inputs is None:
                raise ValueError("a network without hidden units needs n_inputs")
            check_positive(n_inputs, "n_inputs", integer=True)
            n = int(n_inputs)
        if output.n_inputs != len(hidden):
            raise ValueError(f"output has {output.n_inputs} inputs but there are "
                             f"{len(hidden)} hidden units")
        self.hidden, self.output, self.n_inputs = hidden, output, n

    @property
    def W1(self) -> np.ndarray:
        return np.array([p.w for p in self.hidden]).reshape(len(self.hidden), self.n_inputs)

    @property
    def b1(self) -> np.ndarray:
        return np.array([p.b for p in self.hidden], dtype=float)

    @property
    def W2(self) -> np.ndarray:
        return self.output.w[None, :].copy()

    @property
    def b2(self) -> np.ndarray:
        return np.array([self.output.b])

    @property
    def sizes(self) -> list[int]:
        """``[n, H, 1]``."""
        return [self.n_inputs, len(self.hidden), 1]

    def hidden_outputs(self, X) -> np.ndarray:
        """Hidden unit outputs, int array of shape (N, H) (or (H,) for one pattern)."""
        X, single = _as_inputs(X, self.n_inputs)
        Z = step(X @ self.W1.T + self.b1).reshape(X.shape[0], len(self.hidden))
        return Z[0] if single else Z

    def __call__(self, X) -> np.ndarray:
        """Network output: int array of shape (N,) (or () for one pattern)."""
        X, single = _as_inputs(X, self.n_inputs)
        y = self.output(self.hidden_outputs(X))
        return y[0] if single else y

    def __repr__(self) -> str:
        return f"ThresholdNetwork(sizes={self.sizes})"


MAX_INPUTS = 24  # 2**24 rows of 24 ints are already 3 GB


def all_inputs(n: int) -> np.ndarray:
    """All ``2**n`` binary inputs in binary counting order (``x_1`` most significant).

    Returns
    -------
    ndarray of int, shape (2**n, n)
    """
    check_int(n, "n", minimum=1, maximum=MAX_INPUTS)
    r = np.arange(2 ** n)[:, None]
    return (r >> np.arange(n - 1, -1, -1)[None, :]) & 1


def _check_table(table, name: str = "truth_table") -> tuple[np.ndarray, int]:
    t = as_float_array(table, name, ndim=(1,))
    L = t.shape[0]
    n = L.bit_length() - 1
    if L < 2 or L != 2 ** n:
        raise ValueError(f"{name} has length {L}; it must list 2**n outputs (2, 4, 8, ...), "
                         "one per input row")
    bad = ~np.isin(t, (0.0, 1.0))
    if np.any(bad):
        raise ValueError(f"{name} must contain only 0 and 1; found {t[bad][0]!r} "
                         f"at row {int(np.flatnonzero(bad)[0])}")
    return t.astype(np.int64), n


def dnf_network(truth_table) -> ThresholdNetwork:
    """The disjunctive-normal-form network of a Boolean function.

    For every row ``r`` whose output is 1 there is one *minterm* neuron with weights
    :math:`w_{ji} = +1` where :math:`x_i = 1` in that row and :math:`-1` where :math:`x_i = 0`,
    and bias :math:`w_{j0} = -k + 0.5`, with :math:`k` the number of ones in the row. It fires
    on that row only. The output neuron is an OR of the minterm neurons (weights 1, bias -0.5).

    The always-zero function has no minterms: the network then has no hidden units and its output
    unit is the constant ``step(-0.5) = 0``.

    Parameters
    ----------
    truth_table : array_like, shape (2**n,)
        Outputs (0/1 or bool) in binary counting order, ``x_1`` most significant, ``n >= 1``.

    Returns
    -------
    ThresholdNetwork
        ``n`` inputs, one hidden unit per 1 in the table (in row order), one output.
    """
    t, n = _check_table(truth_table)
    rows = all_inputs(n)[t == 1]
    hidden = [Perceptron(2.0 * r - 1.0, -float(r.sum()) + 0.5) for r in rows]
    return ThresholdNetwork(hidden, Perceptron(np.ones(len(hidden)), -0.5), n_inputs=n)


def truth_table(f: Callable, n: int) -> np.ndarray:
    """Evaluate ``f`` on all ``2**n`` binary inputs, in binary counting order.

    Parameters
    ----------
    f : Perceptron, ThresholdNetwork or callable
        Perceptrons and networks are called once on the (2**n, n) input matrix; any other callable
        is called once per row with ``x`` an int array of shape (n,) and must return 0/1 or a bool.
    n : int
        Number of inputs, ``n >= 1``.

    Returns
    -------
    ndarray of int, shape (2**n,)
    """
    if not callable(f):
        raise ValueError(f"f must be callable, got {type(f).__name__}")
    X = all_inputs(n)
    if isinstance(f, (Perceptron, ThresholdNetwork)):
        out = f(X)
    else:
        out = [f(x) for x in X]
    try:
        out = np.asarray(out, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError("f must return one 0/1 value per input row") from None
    if out.shape[0] != 2 ** n:
        raise ValueError(f"f returned {out.shape[0]} values for {2 ** n} input rows")
    return _check_table(out, "f's outputs")[0]


@dataclass
class LearningResult:
    """What :func:`perceptron_learn` returns.

    Attributes
    ----------
    perceptron : Perceptron       the final unit
    converged : bool              whether an epoch passed with no mistakes
    epochs : int                  epochs run
    errors : list of int          mistakes made during each epoch
    history : list of Perceptron  the unit at the end of each epoch (``history[0]`` = start)
    """
    perceptron: Perceptron
    converged: bool
    epochs: int
    errors: list[int] = field(default_factory=list)
    history: list[Perceptron] = field(default_factory=list)


def _check_patterns(X, t) -> tuple[np.ndarray, np.ndarray]:
    """Validate patterns ``X`` (N, n) and their 0/1 targets ``t`` (N,)."""
    X = as_float_array(X, "X", ndim=(2,))
    t = as_float_array(t, "t", ndim=(1,))
    if t.shape[0] != X.shape[0]:
        raise ValueError(f"t has {t.shape[0]} targets but X has {X.shape[0]} patterns")
    if not np.all(np.isin(t, (0.0, 1.0))):
        raise ValueError("t must contain only 0 and 1")
    return X, t


def perceptron_learn(X, t, epochs: int = 100, lr: float = 1.0, seed: int = 0) -> LearningResult:
    """Rosenblatt's perceptron learning rule.

    Starting from :math:`\\mathbf w = 0, b = 0`, each epoch visits the patterns in a random order
    (seeded) and after each one updates :math:`\\mathbf w \\leftarrow \\mathbf w + \\eta (t - y)
    \\mathbf x` and :math:`b \\leftarrow b + \\eta (t - y)`. Learning stops (converged) after the
    first epoch without mistakes. For linearly separable targets this is guaranteed to happen
    (perceptron convergence theorem); otherwise it never does.

    Parameters
    ----------
    X : array_like, shape (N, n)
    t : array_like, shape (N,)
        Targets, 0 or 1.
    epochs : int
        Maximum number of epochs (>= 1).
    lr : float
        Learning rate :math:`\\eta > 0`.
    seed : int
        Seed of the pattern order.

    Returns
    -------
    LearningResult
    """
    X, t = _check_patterns(X, t)
    check_positive(epochs, "epochs", integer=True)
    check_positive(lr, "lr")
    rng = np.random.default_rng(seed)
    w, b = np.zeros(X.shape[1]), 0.0
    errors: list[int] = []
    history = [Perceptron(w, b)]
    converged = False
    for _ in range(epochs):
        mistakes = 0
        for i in rng.permutation(X.shape[0]):
            y = 1 if X[i] @ w + b >= 0 else 0
            if y != t[i]:
                mistakes += 1
                w = w + lr * (t[i] - y) * X[i]
                b = b + lr * (t[i] - y)
        errors.append(mistakes)
        history.append(Perceptron(w, b))
        if mistakes == 0:
            converged = True
            break
    return LearningResult(Perceptron(w, b), converged, len(errors), errors, history)


def separable_by_grid(X, t, grid) -> np.ndarray:
    """All weight vectors on a grid whose perceptron reproduces the targets exactly.

    Every combination ``(w_1, ..., w_n, b)`` with each entry taken from ``grid`` is tried.
    An empty answer does not *prove* that no line exists (a finer grid might find one); for XOR
    the proof is algebraic (chapter 5).

    Parameters
    ----------
    X : array_like, shape (N, n)
    t : array_like, shape (N,)
        Targets, 0 or 1.
    grid : array_like, shape (G,)
        Candidate values for every weight and the bias. ``G**(n+1)`` must stay below 2e7.

    Returns
    -------
    ndarray, shape (M, n + 1)
        The separating ``(w_1, ..., w_n, b)``, one per row; ``M = 0`` if none.
    """
    X, t = _check_patterns(X, t)
    grid = as_float_array(grid, "grid", ndim=(1,))
    n = X.shape[1]
    total = grid.size ** (n + 1)
    if total > 2e7:
        raise ValueError(f"grid of {grid.size} values gives {total} combinations for {n} inputs; "
                         "use a coarser grid (at most 2e7)")
    P = np.stack(np.meshgrid(*([grid] * (n + 1)), indexing="ij"), axis=-1).reshape(-1, n + 1)
    ok = np.ones(P.shape[0], dtype=bool)
    for x, tt in zip(X, t):  # pattern by pattern keeps memory at O(G**(n+1))
        ok &= ((P[:, :n] @ x + P[:, n]) >= 0) == (tt == 1)
    return P[ok]
