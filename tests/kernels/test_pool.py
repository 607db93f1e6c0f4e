"""nnbook.kernels.pool: the Numba pooling kernels against plain-NumPy loops and finite differences."""
import numpy as np
import pytest
from conv_reference import pool2d_direct, pool2d_direct_backward

from nnbook import numerical_gradient, output_size, pool2d, pool2d_backward

MODES = ["max", "avg", "min"]


def random_case(seed, dtype=np.float64, noncontiguous=False, ties=False):
    rng = np.random.default_rng(seed)
    N, C = rng.integers(1, 4, size=2)
    k = tuple(int(v) for v in rng.integers(1, 4, size=2))
    stride = None if rng.random() < 0.3 else tuple(int(v) for v in rng.integers(1, 4, size=2))
    if rng.random() < 0.3:
        k = k[0]
        stride = stride if stride is None else stride[0]
    H, W = rng.integers(3, 10, size=2)
    x = rng.normal(size=(N, C, H, W))
    if ties:  # few distinct values: many windows with a tied extreme
        x = np.round(x)
    x = x.astype(dtype)
    if noncontiguous:
        x = np.repeat(x, 2, axis=2)[:, :, ::2].transpose(0, 1, 3, 2).copy().transpose(0, 1, 3, 2)
    return x, k, stride


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("noncontiguous", [False, True])
def test_forward_and_backward_match_direct_loops(mode, dtype, noncontiguous):
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for seed in range(20):
        x, k, s = random_case(seed, dtype, noncontiguous, ties=seed % 2 == 0)
        y = pool2d(x, k, s, mode)
        assert y.dtype == dtype
        assert np.allclose(y, pool2d_direct(x, k, s, mode), rtol=tol, atol=tol)
        dy = np.random.default_rng(seed).normal(size=y.shape).astype(dtype)
        dx = pool2d_backward(dy, x, k, s, mode)
        assert dx.dtype == dtype and dx.shape == x.shape
        assert np.allclose(dx, pool2d_direct_backward(dy, x, k, s, mode), rtol=tol, atol=tol)


def test_ties_send_the_gradient_to_the_first_entry():
    x = np.ones((1, 1, 2, 2))
    for mode in ("max", "min"):
        dx = pool2d_backward(np.ones((1, 1, 1, 1)), x, 2, mode=mode)
        assert np.array_equal(dx[0, 0], [[1, 0], [0, 0]])


def test_known_values():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    assert np.array_equal(pool2d(x, 2)[0, 0], [[5, 7], [13, 15]])
    assert np.array_equal(pool2d(x, 2, mode="min")[0, 0], [[0, 2], [8, 10]])
    assert np.array_equal(pool2d(x, 2, mode="avg")[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    y = pool2d(x, 3, stride=1)  # the 4x4 map, 3x3 window, stride 1
    assert y.shape == (1, 1, output_size(4, 3), output_size(4, 3)) == (1, 1, 2, 2)
    assert np.array_equal(y[0, 0], [[10, 11], [14, 15]])


@pytest.mark.parametrize("mode", MODES)
def test_backward_matches_finite_differences(mode):
    for seed in range(3):
        x, k, s = random_case(300 + seed)  # continuous values: no ties, differentiable
        R = np.random.default_rng(seed).normal(size=pool2d(x, k, s, mode).shape)
        num = numerical_gradient(lambda p: float(np.sum(R * pool2d(p, k, s, mode))), x)
        assert np.max(np.abs(pool2d_backward(R, x, k, s, mode) - num)) < 1e-7


@pytest.mark.parametrize("call, match", [
    (lambda: pool2d(np.ones((3, 4, 4)), 2), "x must have 4 dimensions"),
    (lambda: pool2d(np.ones((1, 1, 4, 4)), 5), "larger than the input"),
    (lambda: pool2d(np.ones((1, 1, 4, 4)), 0), "k must be at least 1"),
    (lambda: pool2d(np.ones((1, 1, 4, 4)), 2, 0), "stride must be at least 1"),
    (lambda: pool2d(np.ones((1, 1, 4, 4)), 2.0), "k must be an int"),
    (lambda: pool2d(np.ones((1, 1, 4, 4)), 2, mode="median"), "unknown pooling mode"),
    (lambda: pool2d(np.full((1, 1, 4, 4), np.nan), 2), "x contains NaN"),
    (lambda: pool2d(np.full((1, 1, 4, 4), -np.inf), 2), "x contains inf"),
    (lambda: pool2d(np.ones((1, 1, 4, 4), int), 2), "float32 or float64"),
    (lambda: pool2d_backward(np.ones((1, 1, 3, 3)), np.ones((1, 1, 4, 4)), 2),
     "dy must have the output shape"),
    (lambda: pool2d_backward(np.ones((1, 1, 2, 2), np.float32), np.ones((1, 1, 4, 4)), 2),
     "mixed precision"),
])
def test_bad_input_raises_naming_the_problem(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", MODES)
def test_matches_torch_and_its_autograd(dtype, mode):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for seed in range(10):
        x, k, s = random_case(400 + seed, dtype, noncontiguous=seed % 2 == 1, ties=seed % 3 == 0)
        xt = torch.tensor(np.array(x), requires_grad=True)
        ops = {"max": F.max_pool2d, "avg": F.avg_pool2d,
               "min": lambda a, k, s: -F.max_pool2d(-a, k, s)}  # torch has no min pooling
        yt = ops[mode](xt, k, s)
        dy = np.random.default_rng(seed).normal(size=tuple(yt.shape)).astype(dtype)
        yt.backward(torch.tensor(dy))
        assert np.allclose(pool2d(x, k, s, mode), yt.detach().numpy(), rtol=tol, atol=tol)
        assert np.allclose(pool2d_backward(dy, x, k, s, mode), xt.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("mode", ["max", "min"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_2x2_fast_path_equals_the_general_kernel_and_the_reference(mode, dtype):
    """2x2 windows with stride >= 2 take a branch-free kernel; it must route every gradient
    exactly as the general kernel and the direct loops do (ties, remainders, gaps)."""
    from nnbook.kernels import pool as P

    rng = np.random.default_rng(7)
    for H, W, stride in [(8, 8, 2), (7, 9, 2), (9, 6, 3), (8, 11, (2, 3)), (2, 2, 2), (5, 4, (3, 2))]:
        for ties in (False, True):
            x = rng.normal(size=(2, 3, H, W))
            x = (np.round(x) if ties else x).astype(dtype)
            y = pool2d(x, 2, stride, mode)
            dy = rng.normal(size=y.shape).astype(dtype)
            dx = pool2d_backward(dy, x, 2, stride, mode)
            sh, sw = (stride, stride) if isinstance(stride, int) else stride
            general = np.zeros_like(x)
            P._pool_backward(dy, x, general, 2, 2, sh, sw, P._MODES[mode], 0, 2)
            assert np.array_equal(dx, general)
            assert np.array_equal(dx, pool2d_direct_backward(dy, x, 2, stride, mode))
            fast = np.zeros_like(x)
            P._pool_backward_2x2(dy, P._bits(dy), x, P._bits(fast), sh, sw, P._MODES[mode], 0, 2)
            assert np.array_equal(fast, general)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_2x2_forward_equals_the_general_kernel_bit_for_bit(mode, dtype):
    from nnbook.kernels import pool as P

    rng = np.random.default_rng(8)
    for H, W, (sh, sw) in [(8, 8, (2, 2)), (7, 9, (2, 2)), (9, 6, (1, 1)), (8, 11, (2, 3)),
                           (2, 2, (2, 2)), (6, 5, (3, 1))]:
        x = rng.normal(size=(2, 3, H, W)).astype(dtype)
        Ho, Wo = output_size(H, 2, sh), output_size(W, 2, sw)
        y = np.zeros((2, 3, Ho, Wo), dtype)
        P._pool_forward_2x2(x, y, sh, sw, P._MODES[mode], 0, 2)
        general = np.zeros_like(y)
        P._pool_forward(x, general, 2, 2, sh, sw, P._MODES[mode], 0, 2)
        assert np.array_equal(y, general)
        assert np.array_equal(pool2d(x, 2, (sh, sw), mode), y)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (2, 3, 7, 9)])  # windows tile x, or leave a rim
def test_a_non_finite_entry_anywhere_raises_also_where_the_kernel_checks_it(bad, shape):
    """2x2 pooling adds up x inside its kernel instead of a separate pass: every position of a
    NaN or inf (inside a window, or in the rim no window reads) must still raise, forward and
    backward; huge finite values, whose sum overflows, must not."""
    rng = np.random.default_rng(9)
    x = rng.normal(size=shape)
    dy = np.ones_like(pool2d(x, 2))
    for index in [(0, 0, 0, 0), (1, 2, 3, 4), (1, 2, shape[2] - 1, shape[3] - 1)]:
        xb = x.copy()
        xb[index] = bad
        with pytest.raises(ValueError, match="x contains"):
            pool2d(xb, 2)
        with pytest.raises(ValueError, match="x contains"):
            pool2d_backward(dy, xb, 2)
    huge = np.full(shape, 1e308)
    assert np.all(pool2d(huge, 2) == 1e308)
    assert np.isfinite(pool2d_backward(dy, huge, 2)).all()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape,k,stride,mode", [((2, 3, 8, 8), 2, 2, "max"), ((2, 3, 7, 9), 2, 2, "min"),
                                                 ((2, 3, 9, 8), 2, 3, "max"), ((2, 3, 8, 8), 3, 2, "max"),
                                                 ((2, 3, 8, 8), 2, 2, "avg")])
def test_a_non_finite_dy_raises_also_where_the_kernel_checks_it(bad, dtype, shape, k, stride, mode):
    """The 2x2 backward adds dy up inside its kernel (with x): a NaN or inf anywhere in dy must
    raise, before x is blamed; huge finite dy and x, whose sum overflows, must not."""
    rng = np.random.default_rng(10)
    x = rng.normal(size=shape).astype(dtype)
    dy = rng.normal(size=pool2d(x, k, stride, mode).shape).astype(dtype)
    for index in [(0, 0, 0, 0), (1, 2, dy.shape[2] - 1, dy.shape[3] - 1)]:
        dyb = dy.copy()
        dyb[index] = bad
        with pytest.raises(ValueError, match="dy contains"):
            pool2d_backward(dyb, x, k, stride, mode)
        xb = x.copy()
        xb[0, 0, 0, 0] = np.nan
        with pytest.raises(ValueError, match="dy contains"):  # dy is checked first
            pool2d_backward(dyb, xb, k, stride, mode)
    big = np.finfo(dtype).max
    dx = pool2d_backward(np.full_like(dy, big), np.full_like(x, big), k, stride, mode)
    assert np.isfinite(dx).all()
