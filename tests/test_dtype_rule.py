"""The package's one dtype rule (DESIGN.md, "Input validation"): the conv/pool kernels keep
float32 (float32 in, float32 out); everything else computes in and returns float64; an optimizer
updates a parameter in the parameter's own dtype."""
import numpy as np

from nnbook import (MLP, SGD, Adam, attention, conv2d, conv2d_backward, gru_forward, gru_params,
                    lstm_bptt, lstm_forward, lstm_params, multi_head_attention, output_delta,
                    pool2d, pool2d_backward, rnn_bptt, rnn_forward, rnn_params)
from nnbook.nn.activations import ACTIVATIONS, derivative

F32 = np.float32


def test_conv_and_pool_keep_float32():
    x = np.ones((2, 1, 4, 4), F32)
    w = np.ones((2, 1, 3, 3), F32)
    y = conv2d(x, w)
    assert y.dtype == F32
    assert all(g.dtype == F32 for g in conv2d_backward(np.ones_like(y), x, w))
    assert pool2d(x, 2).dtype == F32
    assert pool2d_backward(np.ones((2, 1, 2, 2), F32), x, 2).dtype == F32


def test_everything_else_returns_float64():
    a = np.linspace(-2, 2, 6, dtype=F32).reshape(2, 3)
    for name, f in ACTIVATIONS.items():
        assert f(a).dtype == np.float64, name
    assert derivative("tanh", a).dtype == np.float64
    assert output_delta("ce", a, np.eye(3, dtype=F32)[:2], "softmax").dtype == np.float64
    Q = np.ones((2, 3, 4), F32)
    assert all(r.dtype == np.float64 for r in attention(Q, Q, Q))
    W = np.eye(4, dtype=F32)
    assert all(r.dtype == np.float64 for r in multi_head_attention(Q, W, W, W, W, 2))
    X = np.ones((5, 2, 2), F32)
    p = {k: v.astype(F32) for k, v in rnn_params(2, 3, 1).items()}
    assert rnn_forward(p, X)["y"].dtype == np.float64
    E, g = rnn_bptt(p, X, np.ones((5, 2, 1), F32))
    assert all(v.dtype == np.float64 for v in g.values())
    assert lstm_forward(lstm_params(2, 3, 1), X)["y"].dtype == np.float64
    assert all(v.dtype == np.float64 for v in lstm_bptt(lstm_params(2, 3, 1), X, np.ones((5, 2, 1)))[1].values())
    assert gru_forward(gru_params(2, 3, 1), X)["y"].dtype == np.float64
    net = MLP([(np.ones((2, 2), F32), np.zeros(2, F32))], ["tanh"])
    assert net.forward(np.ones(2, F32)).dtype == np.float64


def test_optimizers_update_in_the_parameters_dtype():
    for opt in (SGD(0.1, momentum=0.9), Adam(0.1)):
        params = {"w": np.ones(3, F32), "v": np.ones(3)}
        opt.step(params, {"w": np.ones(3), "v": np.ones(3, F32)})
        assert params["w"].dtype == F32 and params["v"].dtype == np.float64
