"""nnbook.kernels.conv: the Numba im2col kernels against plain-NumPy references and finite differences."""
import numpy as np
import pytest
from conv_reference import (conv2d_direct, conv2d_direct_backward, conv2d_im2col,
                            conv2d_im2col_backward)

from nnbook import conv2d, conv2d_backward, numerical_gradient, output_size

TOL = {np.float64: 1e-10, np.float32: 2e-4}


def random_case(seed, dtype=np.float64, noncontiguous=False):
    """A random (x, w, b, stride, padding) with a kernel that fits the padded input."""
    rng = np.random.default_rng(seed)
    N, C, F = rng.integers(1, 4), rng.integers(1, 4), rng.integers(1, 5)
    KH, KW = rng.integers(1, 5, size=2)
    stride = tuple(int(s) for s in rng.integers(1, 4, size=2))
    padding = tuple(int(p) for p in rng.integers(0, 3, size=2))
    H = int(rng.integers(max(1, KH - 2 * padding[0]), 10))
    W = int(rng.integers(max(1, KW - 2 * padding[1]), 10))
    if rng.random() < 0.3:  # int forms too
        stride, padding = stride[0], padding[0]
        H, W = max(H, KH), max(W, KW)
    x = rng.normal(size=(N, C, H, W)).astype(dtype)
    w = rng.normal(size=(F, C, KH, KW)).astype(dtype)
    b = rng.normal(size=F).astype(dtype)
    if noncontiguous:  # a strided view and a channels-last layout
        x = np.repeat(x, 2, axis=3)[..., ::2]
        w = np.ascontiguousarray(w.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
        assert x.size == 1 or not x.flags.c_contiguous
    return x, w, b, stride, padding


def close(a, b, dtype):
    scale = max(1.0, float(np.max(np.abs(b))))
    return a.shape == b.shape and np.max(np.abs(a - b)) <= TOL[dtype] * scale


def test_references_agree():
    for seed in range(6):
        x, w, b, s, p = random_case(seed)
        assert close(conv2d_direct(x, w, b, s, p), conv2d_im2col(x, w, b, s, p), np.float64)
        dy = np.random.default_rng(seed).normal(size=conv2d_direct(x, w, b, s, p).shape)
        for g1, g2 in zip(conv2d_direct_backward(dy, x, w, s, p),
                          conv2d_im2col_backward(dy, x, w, s, p)):
            assert close(g1, g2, np.float64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("noncontiguous", [False, True])
def test_forward_matches_direct_loops(dtype, noncontiguous):
    for seed in range(25):
        x, w, b, s, p = random_case(seed, dtype, noncontiguous)
        y = conv2d(x, w, b, stride=s, padding=p)
        assert y.dtype == dtype
        assert close(y, conv2d_direct(x.astype(np.float64), w.astype(np.float64),
                                      b.astype(np.float64), s, p), dtype), (seed, s, p)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("noncontiguous", [False, True])
def test_backward_matches_direct_loops(dtype, noncontiguous):
    for seed in range(25):
        x, w, _, s, p = random_case(seed, dtype, noncontiguous)
        dy = np.random.default_rng(seed).normal(size=conv2d(x, w, stride=s, padding=p).shape)
        dy = dy.astype(dtype)
        if noncontiguous:
            dy = np.asfortranarray(dy)
        got = conv2d_backward(dy, x, w, stride=s, padding=p)
        ref = conv2d_direct_backward(*(a.astype(np.float64) for a in (dy, x, w)), s, p)
        for name, g, r in zip(("dx", "dw", "db"), got, ref):
            assert g.dtype == dtype and close(g, r, dtype), (seed, name)


def test_output_shape_formula():
    x = np.zeros((2, 3, 7, 6))
    w = np.zeros((5, 3, 3, 2))
    y = conv2d(x, w, stride=(2, 3), padding=(1, 0))
    assert y.shape == (2, 5, output_size(7, 3, 2, 1), output_size(6, 2, 3, 0)) == (2, 5, 4, 2)
    assert output_size(28, 5) == 24 and output_size(7, 3, 2) == 3 and output_size(8, 3, 2) == 3


def test_known_values():
    # a 1x1 image-wide sum and an identity kernel
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    assert conv2d(x, np.ones((1, 1, 4, 4)))[0, 0, 0, 0] == x.sum()
    ident = np.zeros((1, 1, 3, 3))
    ident[0, 0, 1, 1] = 1.0
    assert np.array_equal(conv2d(x, ident, padding=1), x)
    assert np.array_equal(conv2d(x, ident, b=np.array([2.0]), padding=1), x + 2)


@pytest.mark.parametrize("seed", range(4))
def test_backward_matches_finite_differences(seed):
    x, w, b, s, p = random_case(100 + seed)
    R = np.random.default_rng(seed).normal(size=conv2d(x, w, b, s, p).shape)

    def loss(params):
        return float(np.sum(R * conv2d(*params, stride=s, padding=p)))

    num = numerical_gradient(loss, [x, w, b])
    got = conv2d_backward(R, x, w, stride=s, padding=p)
    for g, n in zip(got, num):
        assert np.max(np.abs(g - n)) < 1e-7


def good():
    return np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3))


@pytest.mark.parametrize("change, match", [
    (lambda x, w: (x[0], w, {}), "x must have 4 dimensions"),
    (lambda x, w: (x, w[0], {}), "w must have 4 dimensions"),
    (lambda x, w: (x, w[:, :2], {}), "channel mismatch"),
    (lambda x, w: (x, np.ones((4, 3, 6, 3)), {}), "larger than the padded input"),
    (lambda x, w: (x, np.ones((4, 3, 8, 3)), {"padding": 1}), "larger than the padded input"),
    (lambda x, w: (x, w, {"stride": 0}), "stride must be at least 1"),
    (lambda x, w: (x, w, {"stride": (1, 0)}), "stride must be at least 1"),
    (lambda x, w: (x, w, {"stride": 1.5}), "stride must be an int"),
    (lambda x, w: (x, w, {"padding": -1}), "padding must be at least 0"),
    (lambda x, w: (x, w, {"padding": (1, 2, 3)}), "padding must be an int or an"),
    (lambda x, w: (np.where(x > 0, np.nan, x), w, {}), "x contains NaN"),
    (lambda x, w: (x, np.full_like(w, np.inf), {}), "w contains inf"),
    (lambda x, w: (x.astype(int), w, {}), "x must be a float32 or float64 array"),
    (lambda x, w: (x, w.astype(np.float32), {}), "mixed precision"),
    (lambda x, w: (x, w, {"b": np.ones(3)}), "one bias per filter"),
    (lambda x, w: (x, w, {"b": np.ones(4, np.float32)}), "mixed precision"),
    (lambda x, w: (np.ones((0, 3, 5, 5)), w, {}), "x is empty"),
])
def test_bad_input_raises_naming_the_problem(change, match):
    x, w, kw = change(*good())
    with pytest.raises(ValueError, match=match):
        conv2d(x, w, **kw)
    if "b" not in kw:  # the backward pass takes no bias
        with pytest.raises(ValueError, match=match):
            conv2d_backward(np.ones((2, 4, 3, 3)), x, w, **kw)


def test_bad_dy_raises():
    x, w = good()
    with pytest.raises(ValueError, match="dy must have the output shape"):
        conv2d_backward(np.ones((2, 4, 4, 4)), x, w)
    with pytest.raises(ValueError, match="dy has dtype float32"):
        conv2d_backward(np.ones((2, 4, 3, 3), np.float32), x, w)
    with pytest.raises(ValueError, match="dy contains NaN"):
        conv2d_backward(np.full((2, 4, 3, 3), np.nan), x, w)


@pytest.mark.parametrize("args, match", [((0, 1), "n must be positive"),
                                         ((5, 0), "k must be positive"),
                                         ((5, 3, 0), "stride must be positive"),
                                         ((5, 3, 1, -1), "padding must be non-negative"),
                                         ((5, 8, 1, 1), "larger than the padded input"),
                                         ((5.0, 3), "n must be an integer")])
def test_output_size_errors(args, match):
    with pytest.raises(ValueError, match=match):
        output_size(*args)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_torch_and_its_autograd(dtype):
    torch = pytest.importorskip("torch")
    for seed in range(8):
        x, w, b, s, p = random_case(200 + seed, dtype, noncontiguous=seed % 2 == 1)
        xt, wt, bt = (torch.tensor(np.array(a), requires_grad=True) for a in (x, w, b))
        yt = torch.nn.functional.conv2d(xt, wt, bt, stride=s, padding=p)
        dy = np.random.default_rng(seed).normal(size=tuple(yt.shape)).astype(dtype)
        yt.backward(torch.tensor(dy))
        assert close(conv2d(x, w, b, s, p), yt.detach().numpy(), dtype)
        for g, t in zip(conv2d_backward(dy, x, w, s, p), (xt, wt, bt)):
            assert close(g, t.grad.numpy(), dtype)


@pytest.mark.parametrize("columns", [1, 5, 10, 15, 50])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("stride", [(1, 2), (1, 1)])  # the general kernels, the stride-1 ones
@pytest.mark.parametrize("padding", [1, 0])  # (stride 1 without padding reads x itself)
def test_chunks_and_threads_give_the_same_result(monkeypatch, columns, threads, stride, padding):
    # the kernels work on a few images at a time, the batch in parts over threads; neither a
    # shorter last chunk nor the parts may change anything, and whether the parts run on several
    # threads at once or one after the other changes no bit
    import nnbook.kernels.threads
    import nnbook.kernels.conv
    monkeypatch.setattr(nnbook.kernels.conv, "CHUNK_COLUMNS", columns)
    monkeypatch.setattr(nnbook.kernels.threads, "PART_WORK", 1)
    monkeypatch.setattr(nnbook.kernels.threads, "LOAD_TEST", False)
    rng = np.random.default_rng(columns)
    # 7 images of 7 x 3 outputs (stride 1: 7 x 5, each row 7 columns of the chunk): bands of 1
    # row, of 2 or 3 rows and a shorter last band, whole images one or two at a time
    x, w, b = rng.normal(size=(7, 2, 7, 5)), rng.normal(size=(3, 2, 3, 2)), rng.normal(size=3)
    results = []
    try:
        for n in (threads, 1):
            nnbook.kernels.threads.set_num_threads(n)
            y = conv2d(x, w, b, stride=stride, padding=padding)
            assert close(y, conv2d_direct(x, w, b, stride, padding), np.float64)
            dy = np.random.default_rng(0).normal(size=y.shape)
            grads = conv2d_backward(dy, x, w, stride, padding)
            for g, r in zip(grads, conv2d_direct_backward(dy, x, w, stride, padding)):
                assert close(g, r, np.float64)
            results.append((y, *grads))
    finally:
        nnbook.kernels.threads.set_num_threads(nnbook.kernels.threads._usable_cores())
    for a, b in zip(*results):
        assert np.array_equal(a, b)
