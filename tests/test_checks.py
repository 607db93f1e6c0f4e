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


# ---------------------------------------------------------------- named parameter arrays
from nnbook.checks import check_keys, check_param_arrays  # noqa: E402

SHAPES = {"W": (2, 3), "b": (3,)}


@FEW
@given(st.sets(st.sampled_from(["W", "b", "w", "B", "W1"]), max_size=4))
def test_keys_must_match_exactly_and_the_message_names_the_odd_ones(keys):
    params = {k: np.zeros(SHAPES.get(k, (1,))) for k in keys}
    if keys == {"W", "b"}:
        check_keys(params, SHAPES)
        return
    with pytest.raises(ValueError) as err:
        check_keys(params, SHAPES)
    for k in {"W", "b"} - keys:
        assert "lacks" in str(err.value) and repr(k) in str(err.value)
    for k in keys - {"W", "b"}:
        assert "unexpected" in str(err.value) and repr(k) in str(err.value)


@pytest.mark.parametrize("bad", [None, [np.zeros((2, 3))], "W", np.zeros(3)])
def test_params_that_are_not_a_dict_are_a_type_error(bad):
    with pytest.raises(ArgumentTypeError, match="params must be a dict"):
        check_keys(bad, SHAPES)


def test_param_arrays_are_float64_views_and_every_fault_is_named():
    W, b = np.ones((2, 3)), np.zeros(3)
    out = check_param_arrays({"b": b, "W": W}, SHAPES)
    assert list(out) == ["W", "b"] and out["W"] is W and out["b"] is b   # no copy: trainable
    assert check_param_arrays({"W": W.astype(np.float32), "b": [0, 0, 0]}, SHAPES)["b"].dtype \
        == np.float64
    for bad, msg in [({"W": np.ones((3, 2)), "b": b}, r"params\['W'\] has shape \(3, 2\), "
                      r"expected \(2, 3\)"),
                     ({"W": W, "b": np.array([0, np.nan, 0])}, r"params\['b'\] contains NaN"),
                     ({"W": np.full((2, 3), np.inf), "b": b}, r"params\['W'\] contains inf"),
                     ({"W": W, "b": ["a", "b", "c"]}, r"params\['b'\] must be numeric"),
                     ({"W": W + 1j, "b": b}, r"params\['W'\] must be real")]:
        with pytest.raises(ValueError, match=msg):
            check_param_arrays(bad, SHAPES)
    # finite entries whose sum overflows are fine
    big = {"W": np.full((2, 3), 1e308), "b": b}
    assert check_param_arrays(big, SHAPES)["W"] is big["W"]


def _models():
    """Every model of the package that takes named parameter arrays, with valid params and a
    call that uses them."""
    from nnbook import (MLP, SelfAttentionModel, Sequential, TransformerLM, gru_bptt, gru_params,
                        lstm_bptt, lstm_params, rnn_bptt, rnn_params, transformer_block)
    from nnbook.nn.layers import Dense
    from nnbook.nn.transformer import block_params
    X3, Y3 = np.ones((4, 2)), np.ones((4, 1))
    mlp = MLP.random([2, 3, 1], ["tanh", "identity"], seed=0)
    seq = Sequential([Dense(2, 3)], input_shape=(2,))
    sam = SelfAttentionModel(n_tokens=5, T=4, d_model=4, d_head=2)
    lm = TransformerLM(n_tokens=5, T=4, d_model=4, n_heads=2, n_layers=1, d_ff=8)
    tok = np.array([[1, 2, 3, 4]])
    Xb = np.ones((3, 4))
    return [
        ("MLP", mlp.params, lambda p: mlp.loss_and_grads(p, np.ones((2, 2)), np.ones((2, 1)))),
        ("Sequential", seq.init(0), lambda p: seq.forward(p, np.ones((2, 2)))),
        ("rnn_bptt", rnn_params(2, 3, 1), lambda p: rnn_bptt(p, X3, Y3)),
        ("lstm_bptt", lstm_params(2, 3, 1), lambda p: lstm_bptt(p, X3, Y3)),
        ("gru_bptt", gru_params(2, 3, 1), lambda p: gru_bptt(p, X3, Y3)),
        ("SelfAttentionModel", sam.init(0), lambda p: sam.forward(p, tok)),
        ("TransformerLM", lm.init(0), lambda p: lm.forward(p, tok)),
        ("transformer_block", block_params(4, 8, seed=0),
         lambda p: transformer_block(Xb, p, 2)),
    ]


@pytest.mark.parametrize("case", range(8))
def test_every_model_applies_the_one_rule_for_named_parameters(case):
    name, params, call = _models()[case]
    call(params)
    first = next(iter(params))
    faults = [({**params, "typo": np.zeros(1)}, r"unexpected key\(s\) \['typo'\]"),
              ({k: v for k, v in params.items() if k != first}, rf"lacks the key\(s\) \['{first}'\]"),
              (list(params.values()), "params must be a dict"),
              ({**params, first: np.full(np.shape(params[first]), np.nan)},
               rf"params\['{first}'\] contains NaN"),
              ({**params, first: np.zeros(np.shape(params[first]) + (2,))},
               rf"params\['{first}'\] (has shape|must have 2 dim)")]
    for bad, msg in faults:
        with pytest.raises(ValueError, match=msg):
            call(bad)
    call(params)    # a valid call after every failing one still works


def test_the_last_exceptions_to_the_rules_follow_them():
    """The audit's leftovers (issue 17): a bool is not a step number, names are case-insensitive
    everywhere, a loss refuses the pairing output_delta refuses, and the GELU and layer norm
    check their input like every other function."""
    import nnbook as nb
    from nnbook.kernels.threads import blas_threads
    from nnbook.teach.sequences import jacobian_product_norms
    J = np.stack([np.eye(2) * 0.5] * 4)
    with pytest.raises(TypeError, match="t must be an integer"):
        jacobian_product_norms(J, True)
    assert np.allclose(jacobian_product_norms(J, ord="FRO"), jacobian_product_norms(J, ord="fro"))
    with pytest.raises(ValueError, match="ord"):
        jacobian_product_norms(J, ord=True)
    with blas_threads(1, library="NumPy"):
        pass
    with pytest.raises(ValueError, match="needs a softmax output"):
        nb.loss_from_activations("ce", np.array([[0.1, 0.2]]), np.array([[1.0, 0.0]]),
                                 output="sigmoid")
    for bad in (None, np.array([1 + 1j]), "x"):
        with pytest.raises((TypeError, ValueError), match="a must be"):
            nb.gelu(bad)
    with pytest.raises(ValueError, match="x must have at least one axis"):
        nb.layer_norm(1.0, np.ones(1), np.zeros(1))
    lm = nb.TransformerLM(n_tokens=5, T=4, d_model=4, n_heads=2, n_layers=1, d_ff=8)
    with pytest.raises(ValueError, match="n must be at most 100000"):
        lm.generate(lm.init(0), [1], 10 ** 6)
