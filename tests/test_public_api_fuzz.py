"""Every public function and class of ``nnbook.__all__`` (and the models' methods) answers garbage in any one argument with a
ValueError or TypeError, or with a result, never with another exception from deep inside NumPy,
Numba or the interpreter (KeyError, IndexError, ZeroDivisionError, OverflowError, ...), and
never with a hang (issue 17). Property-based: hypothesis picks the function, the argument and
the garbage; a valid call after each failing one must still work."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnbook as nb

rng = np.random.default_rng(0)
X4 = rng.normal(size=(2, 1, 5, 5))
W4 = rng.normal(size=(2, 1, 3, 3))
RP = nb.rnn_params(2, 3, 1)
LP = nb.lstm_params(2, 3, 1)
GP = nb.gru_params(2, 3, 1)
XS = rng.normal(size=(4, 2))
YS = rng.normal(size=(4, 1))
Q = rng.normal(size=(3, 4))
A = rng.normal(size=(2, 3))
T1 = np.eye(3)[[0, 2]]
NET = nb.MLP.random([2, 3, 1], ["tanh", "identity"], seed=0)
# the attention functions' and the Transformer's own valid inputs
Y_ATT, A_ATT = nb.attention(Q, Q, Q)
WI = np.eye(4)
_, A_SELF = nb.self_attention(Q, WI, WI, WI)
_, A_MHA = nb.multi_head_attention(Q, WI, WI, WI, WI, 2)
G4, B4 = np.ones(4), np.zeros(4)
BLOCK = nb.nn.transformer.block_params(4, 8, seed=0)
LM = nb.TransformerLM(n_tokens=5, T=4, d_model=4, n_heads=2, n_layers=1, d_ff=8)
LMP = LM.init(0)
TOK = np.array([[1, 2, 3, 4]])
SAM = nb.SelfAttentionModel(n_tokens=5, T=4, d_model=4, d_head=2)
SAMP = SAM.init(0)
RTW = nb.ReadThenWriteLSTM(n_tokens=5, T=3, n_hidden=4)
RTWP = RTW.init(0)
DIG = np.array([[1, 2, 3]])
SEQ = nb.Sequential([nb.nn.layers.Dense(2, 3)], input_shape=(2,))
SEQP = SEQ.init(0)
THREADS = nb.get_num_threads()
SEQ_TASK = (rng.normal(size=(5, 8, 1)), rng.normal(size=(8, 1)))   # X (T, B, Dx)


def _quadratic(params, x, rng=None):
    """A tiny loss_and_grads for fit: E = |w - mean(x)|^2 over the batch x."""
    d = params["w"] - x.mean(axis=0)
    return float(d @ d), {"w": 2 * d}

# function -> valid positional arguments (each is replaced by garbage in turn)
CALLS = {
    "sigmoid": (nb.sigmoid, (A,)),
    "softmax": (nb.softmax, (A,)),
    "derivative": (nb.derivative, ("tanh", A)),
    "loss": (nb.loss, ("ce", nb.softmax(A), T1)),
    "loss_from_activations": (nb.loss_from_activations, ("ce", A, T1)),
    "output_delta": (nb.output_delta, ("ce", A, T1, "softmax")),
    "attention": (nb.attention, (Q, Q, Q)),
    "self_attention": (nb.self_attention, (Q, np.eye(4), np.eye(4), np.eye(4))),
    "multi_head_attention": (nb.multi_head_attention, (Q, np.eye(4), np.eye(4), np.eye(4),
                                                       np.eye(4), 2)),
    "positional_encoding": (nb.positional_encoding, (5, 4)),
    "causal_mask": (nb.causal_mask, (4,)),
    "conv2d": (nb.conv2d, (X4, W4, None, 1, 1)),
    "conv2d_backward": (nb.conv2d_backward, (np.ones((2, 2, 3, 3)), X4, W4)),
    "output_size": (nb.output_size, (5, 3, 1, 0)),
    "pool2d": (nb.pool2d, (X4, 2, 2, "max")),
    "pool2d_backward": (nb.pool2d_backward, (np.ones((2, 1, 2, 2)), X4, 2)),
    "rnn_forward": (nb.rnn_forward, (RP, XS)),
    "rnn_bptt": (nb.rnn_bptt, (RP, XS, YS)),
    "rnn_params": (nb.rnn_params, (2, 3, 1, 0, 1.0)),
    "state_jacobians": (nb.state_jacobians, (RP, XS)),
    "lstm_forward": (nb.lstm_forward, (LP, XS)),
    "lstm_bptt": (nb.lstm_bptt, (LP, XS, YS)),
    "lstm_params": (nb.lstm_params, (2, 3, 1, 0, 1.0, 1.0)),
    "gru_forward": (nb.gru_forward, (GP, XS)),
    "gru_bptt": (nb.gru_bptt, (GP, XS, YS)),
    "gru_params": (nb.gru_params, (2, 3, 1, 0, 1.0)),
    "clip_grad_norm": (nb.clip_grad_norm, ({"a": np.ones(2)}, 1.0)),
    "numerical_gradient": (nb.numerical_gradient, (lambda p: float(np.sum(p ** 2)), np.ones(2))),
    "numerical_hessian": (nb.numerical_hessian, (lambda w: 2 * w, np.ones(2))),
    "gradcheck": (nb.gradcheck, (lambda p: (float(np.sum(p ** 2)), 2 * p), np.ones(2))),
    "MLP.random": (nb.MLP.random, ([2, 3, 1], ["tanh", "identity"], 0, 1.0)),
    "MLP.forward": (NET.forward, (np.ones((3, 2)),)),
    "MLP.gradients": (NET.gradients, (np.ones((3, 2)), np.ones((3, 1)), "sse")),
    "MLP.error": (NET.error, (np.ones((3, 2)), np.ones((3, 1)), "sse")),
    "fit_mlp": (lambda *a: nb.fit_mlp(NET.copy(), *a), (np.ones((3, 2)), np.ones((3, 1)), "sse",
                                                         0.1, 1)),
    "SGD": (nb.SGD, (0.1, 0.9)),
    "Adam": (nb.Adam, (0.1, (0.9, 0.999), 1e-8)),
    "EarlyStopping": (nb.EarlyStopping, ("val", 2, "min")),
    "adding_problem": (nb.adding_problem, (4, 5)),
    "reverse_digits": (nb.reverse_digits, (4, 5)),
    "tanh": (nb.tanh, (A,)),
    "relu": (nb.relu, (A,)),
    "gelu": (nb.gelu, (A,)),
    "attention_backward": (nb.attention_backward, (np.ones_like(Y_ATT), Q, Q, Q, A_ATT)),
    "self_attention_backward": (nb.self_attention_backward,
                                (np.ones((3, 4)), Q, WI, WI, WI, A_SELF)),
    "multi_head_attention_backward": (nb.multi_head_attention_backward,
                                      (np.ones((3, 4)), Q, WI, WI, WI, WI, A_MHA, 2)),
    "layer_norm": (nb.layer_norm, (Q, G4, B4, 1e-5)),
    "layer_norm_backward": (nb.layer_norm_backward, (np.ones((3, 4)), Q, G4, 1e-5)),
    "transformer_block": (nb.transformer_block, (Q, BLOCK, 2, None, "relu")),
    "transformer_block_backward": (nb.transformer_block_backward,
                                   (np.ones((3, 4)), Q, BLOCK, 2, None, "relu")),
    "TransformerLM": (nb.TransformerLM, (5, 4, 4, 2, 1, 8, "gelu")),
    "TransformerLM.forward": (LM.forward, (LMP, TOK)),
    "TransformerLM.loss_and_grads": (LM.loss_and_grads, (LMP, TOK, TOK)),
    "TransformerLM.generate": (LM.generate, (LMP, [1, 2], 2, 1.0, 0)),
    "SelfAttentionModel": (nb.SelfAttentionModel, (5, 4, 4, 2)),
    "SelfAttentionModel.loss_and_grads": (SAM.loss_and_grads, (SAMP, TOK, TOK)),
    "ReadThenWriteLSTM": (nb.ReadThenWriteLSTM, (5, 3, 4)),
    "ReadThenWriteLSTM.loss_and_grads": (RTW.loss_and_grads, (RTWP, DIG, DIG)),
    "Sequential.forward": (SEQ.forward, (SEQP, np.ones((3, 2)))),
    "fit": (lambda *a: nb.fit(_quadratic, {"w": np.zeros(2)}, *a),
            (nb.SGD(0.1), (np.ones((4, 2)),), 2, 2)),
    "train_sequence_model": (nb.train_sequence_model, ("rnn", SEQ_TASK, SEQ_TASK, 3, 1, 4)),
    "set_num_threads": (lambda n: (nb.set_num_threads(n), nb.set_num_threads(THREADS)),
                        (THREADS,)),
}

GARBAGE = [None, "x", "", True, -1, 0, 2 ** 63, 2.5, np.nan, np.inf, 1 + 2j, [], (), {},
           [[1.0, 2.0], [3.0]], np.array([np.nan]), np.array(["a", "b"]), np.zeros((0, 3)),
           np.ones((2, 2), dtype=np.float16), object()]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(CALLS)), st.data())
def test_garbage_in_any_argument_raises_value_or_type_error(name, data):
    fn, args = CALLS[name]
    i = data.draw(st.integers(0, len(args) - 1), label="argument")
    junk = data.draw(st.sampled_from(GARBAGE), label="garbage")
    bad = args[:i] + (junk,) + args[i + 1:]
    with np.errstate(all="ignore"):
        try:
            fn(*bad)
        except (ValueError, TypeError):
            pass
    fn(*args)  # a valid call after the failing one still works


@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_valid_call_works(name):
    fn, args = CALLS[name]
    fn(*args)


def _has_nan(r):
    if isinstance(r, np.ndarray):
        return r.dtype.kind in "fc" and bool(np.isnan(r).any())
    if isinstance(r, (tuple, list)):
        return any(_has_nan(x) for x in r)
    if isinstance(r, dict):
        return any(_has_nan(x) for x in r.values())
    return isinstance(r, float) and np.isnan(r)


# elementwise: NaN in, NaN out (documented)
PROPAGATE_NAN = {"sigmoid", "softmax", "derivative", "tanh", "relu", "gelu"}


def test_every_garbage_combination_exhaustively():
    """All functions x arguments x garbage (a few seconds): an error that is a ValueError or
    TypeError, or a result without NaN (except NaN propagated by the activations)."""
    wrong = []
    for name, (fn, args) in sorted(CALLS.items()):
        for i in range(len(args)):
            for junk in GARBAGE:
                bad = args[:i] + (junk,) + args[i + 1:]
                with np.errstate(all="ignore"):
                    try:
                        result = fn(*bad)
                    except (ValueError, TypeError):
                        continue
                    except Exception as exc:  # noqa: BLE001 - that is what the test looks for
                        wrong.append((name, i, repr(junk)[:30], type(exc).__name__))
                        continue
                nan_in = isinstance(junk, (float, np.ndarray)) and junk.dtype.kind == "f" \
                    if isinstance(junk, np.ndarray) else isinstance(junk, float) and not np.isfinite(junk)
                if _has_nan(result) and not (name in PROPAGATE_NAN and nan_in):
                    wrong.append((name, i, repr(junk)[:30], "NaN result"))
    assert not wrong, wrong
