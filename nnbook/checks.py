"""Shared input validation: the one module with the package's rules (DESIGN.md, "Input validation").

Every public function of :mod:`nnbook` validates its input here first, so that bad input raises a
:class:`ValueError` (or, for a wrong type, :class:`ArgumentTypeError`, both a ``TypeError`` and a
``ValueError``) whose message names the argument (never a silent wrong answer, never a crash deep
inside NumPy or Numba), before anything is computed or changed.

* names: :func:`check_name` (strings, case-insensitive); flags: :func:`check_bool` (real bools);
* numbers: :func:`check_int` (no bools, no floats), :func:`check_seed`, :func:`check_real`,
  :func:`check_positive`, :func:`int_pair`; arrays: :func:`as_float_array` (float64 out),
  :func:`as_kernel_array` (float32 or float64 kept: only the conv/pool kernels),
  :func:`check_finite`, :func:`check_unit_interval`;
* named parameter arrays (the dicts every model and optimizer trades): :func:`check_keys`,
  :func:`check_param_arrays`.

The dtype rule: the conv/pool kernels keep float32 (float32 in, float32 out); everything else
computes in and returns float64.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (a bool where an int is meant, a string where a number is).

    Both a :class:`TypeError` and a :class:`ValueError`, so code that catches the
    ``ValueError`` every other check raises keeps working.
    """


def as_float_array(x, name: str, *, ndim: tuple[int, ...] | None = None,
                   allow_empty: bool = False) -> np.ndarray:
    """Return ``x`` as a float64 array after checking it.

    Parameters
    ----------
    x : array_like
        The value to check.
    name : str
        The argument name used in error messages.
    ndim : tuple of int, optional
        Allowed numbers of dimensions.
    allow_empty : bool
        Whether a zero-size array is acceptable.

    Raises
    ------
    ValueError
        If ``x`` is not numeric, has a disallowed number of dimensions, is empty, or contains
        NaN or infinity.
    """
    arr = _float64(x, name)
    if ndim is not None and arr.ndim not in ndim:
        allowed = " or ".join(str(d) for d in ndim)
        raise ValueError(f"{name} must have {allowed} dimension(s), got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if not np.all(np.isfinite(arr)):
        bad = "NaN" if np.any(np.isnan(arr)) else "inf"
        raise ValueError(f"{name} contains {bad}; every value must be finite")
    return arr


def _asarray(x, name: str) -> np.ndarray:
    """``np.asarray(x)``, with a message naming the argument when that fails (ragged lists)."""
    try:
        return np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} could not be converted to an array: {exc}") from None


def _float64(x, name: str) -> np.ndarray:
    """``x`` as a float64 array if it is numeric and real (no pass over the values)."""
    arr = _asarray(x, name)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"{name} must be real, got complex dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def check_keys(params, keys: Iterable[str], name: str = "params") -> None:
    """Check that ``params`` is a dict (any mapping) with exactly the keys ``keys``.

    The one rule for the named parameter arrays of every model (``MLP``, ``Sequential``, the
    recurrent cells, the attention models, ``TransformerLM``): a missing key and an unexpected
    one (a typo) are both errors, named in the message.

    Raises
    ------
    ArgumentTypeError
        If ``params`` is not a mapping.
    ValueError
        If a key is missing or unexpected.
    """
    keys = list(keys)
    if not isinstance(params, Mapping):
        raise ArgumentTypeError(f"{name} must be a dict of arrays with the keys {keys}, got "
                                f"{type(params).__name__}")
    if params.keys() == set(keys):
        return
    missing = [k for k in keys if k not in params]
    extra = [k for k in params if k not in keys]
    found = [f"lacks the key(s) {missing}"] if missing else []
    found += [f"has unexpected key(s) {extra}"] if extra else []
    raise ValueError(f"{name} " + " and ".join(found) + f"; expected exactly {keys}")


def check_param_arrays(params, shapes: Mapping[str, tuple[int, ...]], name: str = "params", *,
                       allow_empty: bool = False) -> dict[str, np.ndarray]:
    """Check named parameter arrays against their shapes; return them as float64 arrays.

    Parameters
    ----------
    params : dict of array_like
        The parameters, ``{key: array}``.
    shapes : dict of tuple of int
        The keys ``params`` must have exactly (:func:`check_keys`) and each array's shape.
    name : str
        The argument name used in error messages (``params['W1'] has shape ...``).
    allow_empty : bool
        Whether zero-size arrays are acceptable (a layer without weights).

    Returns
    -------
    dict of ndarray
        ``{key: float64 array}`` in the order of ``shapes``; float64 arrays are the caller's own
        (no copy), so an optimizer that updates them in place trains the model.

    Raises
    ------
    ValueError
        Naming the key: missing or unexpected keys, a wrong shape, a non-numeric or complex
        array, an empty one, NaN or infinity.
    """
    check_keys(params, shapes, name)
    out = {}
    total = 0.0  # finite only if every entry is (an overflowing sum falls through to the exact check)
    with np.errstate(over="ignore", invalid="ignore"):
        for key, shape in shapes.items():
            v, label = params[key], f"{name}[{key!r}]"
            a = v if type(v) is np.ndarray and v.dtype == np.float64 else _float64(v, label)
            if a.shape != tuple(shape):
                raise ValueError(f"{label} has shape {a.shape}, expected {tuple(shape)}")
            if a.size == 0 and not allow_empty:
                raise ValueError(f"{label} is empty (shape {a.shape})")
            total += float(a.sum())
            out[key] = a
    if not math.isfinite(total):
        for key, a in out.items():
            check_finite(a, f"{name}[{key!r}]")
    return out


def as_real_array(x, name: str) -> np.ndarray:
    """``x`` as a float64 array, checking only that it is real (bool, integer or float): no pass
    over the data, for elementwise functions on hot paths (the activations), where NaN simply
    propagates. None, strings, objects and complex numbers raise."""
    arr = _asarray(x, name)
    if arr.dtype.kind not in "biuf":
        raise ArgumentTypeError(f"{name} must be a real number or array, got "
                                f"{type(x).__name__} of dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def check_name(name, known, what: str) -> str:
    """Check that ``name`` is one of ``known``; return it lower-cased.

    The one rule for every name argument of the package (``loss="CE"``, ``loss_at="LAST"``,
    ``mode="Max"``): a string, compared case-insensitively with the lower-case names ``known``.
    Anything else (a bool, a number, None) raises; ``what`` is the argument's name.
    """
    if not isinstance(name, str) or name.lower() not in known:
        raise ValueError(f"unknown {what} {name!r}; expected one of {sorted(known)}")
    return name.lower()


def check_bool(value, name: str) -> bool:
    """Check a flag is a real bool (``True``/``False`` or NumPy's): ``"no"``, 0 or 1 raise."""
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Check an integer argument (a bool or a float such as 2.0 or 2.9 raises); return an int."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ArgumentTypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        bound = {0: "a non-negative integer", 1: "a positive integer"}.get(minimum,
                                                                           f"at least {minimum}")
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value!r}")
    return value


def check_seed(seed, name: str = "seed") -> int:
    """A seed for ``np.random.default_rng``: a non-negative integer (no bool, float or string)."""
    return check_int(seed, name, minimum=0)


def check_real(value, name: str, *, minimum: float | None = None, maximum: float | None = None,
               finite: bool = True) -> float:
    """Check a real scalar (no bool, string, complex or array); optionally bounded (inclusive)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                      np.floating)):
        raise ArgumentTypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if np.isnan(value) or (finite and not np.isfinite(value)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value!r}")
    return value


def check_unit_interval(arr: np.ndarray, name: str) -> np.ndarray:
    """Check that every entry of ``arr`` (already a finite float array) lies in [0, 1]."""
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        raise ValueError(f"{name} must lie in [0, 1] (0/1 targets or probabilities), got values "
                         f"from {arr.min():g} to {arr.max():g}")
    return arr


def check_positive(value, name: str, *, integer: bool = False, allow_zero: bool = False):
    """Check a scalar hyper-parameter is finite and positive (or non-negative)."""
    if integer:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise ArgumentTypeError(f"{name} must be an integer, got {value!r}")
    elif (not isinstance(value, (int, float, np.integer, np.floating))
          or isinstance(value, (bool, np.bool_))):
        raise ArgumentTypeError(f"{name} must be a number, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return value


def check_finite(arr: np.ndarray, name: str, total: float | None = None) -> None:
    """Raise if ``arr`` holds NaN or infinity.

    ``total`` is the sum of every entry when the caller has it already (a kernel that reads every
    entry anyway can add them up in the same pass, e.g. :func:`nnbook.kernels.pool.pool2d`); otherwise it
    is computed here. The sum is finite only if every entry is (inf and NaN propagate); a
    non-finite sum of finite values (overflow) falls through to the exact check.
    """
    if total is None:
        with np.errstate(over="ignore", invalid="ignore"):
            total = arr.sum()
    if not np.isfinite(total) and not np.all(np.isfinite(arr)):
        bad = "NaN" if np.any(np.isnan(arr)) else "inf"
        raise ValueError(f"{name} contains {bad}; every value must be finite")


def as_kernel_array(x, name: str, *, ndim: int, dtype=None, finite: bool = True) -> np.ndarray:
    """Return ``x`` as a float32 or float64 array for a Numba kernel, after checking it.

    Unlike :func:`as_float_array` the dtype is kept (float32 stays float32) and nothing is
    converted: integer, boolean, complex or half-precision input raises, and so does a dtype that
    differs from ``dtype`` (when given), so that mixed precision never passes silently.
    ``finite=False`` leaves the NaN/inf check to the caller (:func:`check_finite`).

    Raises
    ------
    ValueError
        If ``x`` is not a float32/float64 array, differs from ``dtype``, does not have ``ndim``
        dimensions, is empty, or contains NaN or infinity.
    """
    arr = _asarray(x, name)
    if arr.dtype not in (np.float32, np.float64):
        raise ValueError(f"{name} must be a float32 or float64 array, got dtype {arr.dtype}")
    if dtype is not None and arr.dtype != dtype:
        raise ValueError(f"{name} has dtype {arr.dtype} but the other inputs are {np.dtype(dtype)}; "
                         "mixed precision is not allowed (convert explicitly)")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if finite:
        check_finite(arr, name)
    return arr


MAX_SIZE = 2 ** 31 - 1  # no kernel size, stride or padding beyond this (and no OverflowError)


def int_pair(value, name: str, *, minimum: int, maximum: int = MAX_SIZE) -> tuple[int, int]:
    """Check an int or an ``(h, w)`` pair of ints, each in ``minimum .. maximum``; return the pair."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or an (h, w) pair, got {value!r}")
    for v in pair:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ArgumentTypeError(f"{name} must be an int or an (h, w) pair of ints, got {value!r}")
        if v < minimum:
            raise ValueError(f"{name} must be at least {minimum}, got {value!r}")
        if v > maximum:
            raise ValueError(f"{name} must be at most {maximum}, got {value!r}")
    return int(pair[0]), int(pair[1])
