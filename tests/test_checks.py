"""The shared rules of nnbook.checks (issue 17): one name rule, one flag rule, integers that are
integers, messages that name the argument; property-based over generated values."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbook.checks import (ArgumentTypeError, as_float_array, check_bool, check_int, check_name,
                           check_real, check_seed, int_pair)

FEW = settings(max_examples=50, deadline=None)


def test_argument_type_error_is_both_kinds():
    assert issubclass(ArgumentTypeError, TypeError) and issubclass(ArgumentTypeError, ValueError)


@FEW
@given(st.sampled_from(["sse", "ce", "bce"]), st.lists(st.booleans(), min_size=3, max_size=3))
def test_names_are_case_insensitive(name, upper):
    mixed = "".join(c.upper() if u else c for c, u in zip(name, upper))
    assert check_name(mixed, ("sse", "ce", "bce"), "loss") == name


@FEW
@given(st.one_of(st.integers(), st.floats(), st.none(), st.text(max_size=3)))
def test_non_strings_and_unknown_names_raise_naming_the_argument(value):
    with pytest.raises(ValueError, match="loss"):
        check_name(value, ("sse", "ce", "bce"), "loss")


@FEW
@given(st.one_of(st.integers(), st.floats(), st.text(max_size=3), st.none()))
def test_only_real_bools_are_flags(value):
    with pytest.raises(TypeError, match="flag"):
        check_bool(value, "flag")
    assert check_bool(True, "flag") is True and check_bool(np.bool_(False), "flag") is False


@FEW
@given(st.one_of(st.booleans(), st.floats(), st.text(max_size=2)))
def test_integers_are_never_bools_floats_or_strings(value):
    with pytest.raises(TypeError, match="n must be an integer"):
        check_int(value, "n")


@FEW
@given(st.integers(-10 ** 30, 10 ** 30))
def test_integers_and_seeds(value):
    assert check_int(np.int64(min(max(value, -2 ** 63), 2 ** 63 - 1)), "n") is not None
    if value < 0:
        with pytest.raises(ValueError, match="seed"):
            check_seed(value)
    else:
        assert check_seed(value) == value


@FEW
@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5)))
def test_reals_are_finite(value):
    if np.isfinite(value):
        assert check_real(value, "x") == float(value)
    else:
        with pytest.raises(ValueError, match="x must be finite"):
            check_real(value, "x")


def test_arrays_name_the_argument():
    for bad, what in (([[1, 2], [3]], "could not be converted"), (["a"], "numeric"),
                      ([1j], "real"), ([np.nan], "NaN"), ([], "empty")):
        with pytest.raises(ValueError, match=f"X .*{what}|X {what}|X is {what}"):
            as_float_array(bad, "X")
    with pytest.raises(ValueError, match="stride must be at most"):
        int_pair(2 ** 63, "stride", minimum=1)
