"""Universal approximation by bumps: the construction, its convergence, and input validation."""
import numpy as np
import pytest

from nnbook import MLP, sigmoid
from nnbook.teach.approx import bump_edges, bump_network, fit_bumps, max_error, step_unit


def test_step_unit_is_half_way_at_its_edge_and_sharpens():
    for s in (1.0, 10.0, 1000.0):
        w, w0 = step_unit(0.3, s)
        assert sigmoid(w * 0.3 + w0) == pytest.approx(0.5, abs=1e-15)
    x = np.array([0.2, 0.4])
    gaps = []
    for s in (1.0, 10.0, 100.0, 1000.0):
        w, w0 = step_unit(0.3, s)
        z = sigmoid(w * x + w0)
        gaps.append(max(z[0], 1 - z[1]))              # distance from the hard step
    assert all(a > b for a, b in zip(gaps, gaps[1:])) and gaps[-1] < 1e-40


def test_bump_network_matches_its_formula(rng):
    e = np.array([-1.0, -0.2, 0.5, 1.0])
    h = np.array([0.7, -1.3, 2.0])
    s = 7.0
    net = bump_network(e, h, s)
    assert net.sizes == [1, 6, 1] and net.activations == ["sigmoid", "identity"]
    x = rng.uniform(-2, 2, size=40)
    sig = lambda a: 1 / (1 + np.exp(-a))
    ref = sum(hb * (sig(s * (x - e[b])) - sig(s * (x - e[b + 1]))) for b, hb in enumerate(h))
    assert np.max(np.abs(net(x[:, None])[:, 0] - ref)) < 1e-12


def test_one_steep_bump_is_a_box():
    net = bump_network([0.2, 0.6], [1.5], 1e4)
    y = net(np.array([[0.0], [0.3], [0.5], [0.8]]))[:, 0]
    assert np.allclose(y, [0.0, 1.5, 1.5, 0.0], atol=1e-12)


@pytest.mark.parametrize("f", [lambda x: np.sin(np.pi * x), np.abs, lambda x: np.exp(-5 * x ** 2)])
def test_error_shrinks_with_more_bumps_and_steeper_steps(f):
    iv = (-1.0, 1.0)
    err = {(B, s): max_error(fit_bumps(f, B, iv, s), f, iv) for B in (4, 8, 16, 32, 64)
           for s in (20.0, 200.0, 2000.0)}
    for s in (200.0, 2000.0):                         # steep enough: halving the width helps
        errs = [err[(B, s)] for B in (4, 8, 16, 32, 64)]
        assert all(a > b for a, b in zip(errs, errs[1:]))
    # with blurred steps, more bumps stall at the blur error; steeper steps get below it
    assert err[(64, 20.0)] > err[(64, 2000.0)]
    # both together: the error goes to zero
    diagonal = [err[(4, 20.0)], err[(16, 200.0)], err[(64, 2000.0)]]
    assert all(a > b for a, b in zip(diagonal, diagonal[1:]))
    assert err[(64, 2000.0)] < 0.06
    # a Lipschitz-L function: the sharp staircase is within L * width / 2 (+ the step blur)
    fsin = lambda x: np.sin(np.pi * x)
    for B in (4, 16, 64):
        assert max_error(fit_bumps(fsin, B, iv, 1e5), fsin, iv) <= np.pi * (2 / B) / 2 + 1e-3


def test_bump_heights_are_target_at_centres_and_ends_are_covered():
    f = lambda x: 2 + x
    net = fit_bumps(f, 4, (0.0, 1.0), 1e4)
    centres = np.array([0.125, 0.375, 0.625, 0.875])
    assert np.allclose(net(centres[:, None])[:, 0], f(centres), atol=1e-12)
    # thanks to the margin the ends are not half-height
    assert abs(net(np.array([[0.0]]))[0, 0] - f(0.125)) < 1e-3
    e = bump_edges(4, (0.0, 1.0), 10.0)
    assert e[0] == pytest.approx(-1.0) and e[-1] == pytest.approx(2.0)
    assert np.allclose(e[1:-1], [0.25, 0.5, 0.75])
    assert np.allclose(bump_edges(2, (0, 1), 10.0, margin=0.0), [0, 0.5, 1])


def test_max_error_is_the_grid_maximum():
    net = bump_network([0.0, 1.0], [1.0], 50.0)
    f = np.zeros_like
    x = np.linspace(0, 1, 11)
    assert max_error(net, f, (0, 1), n=11) == pytest.approx(np.max(np.abs(net(x[:, None]))))


def test_bad_input_raises_value_error():
    f = np.sin
    cases = [
        (lambda: step_unit(0.0, 0.0), "steepness"),
        (lambda: step_unit(0.0, -1.0), "steepness"),
        (lambda: step_unit(np.nan, 1.0), "NaN"),
        (lambda: bump_network([0.0], [], 1.0), "at least 2"),
        (lambda: bump_network([0.0, 1.0, 0.5], [1.0, 1.0], 1.0), "increasing"),
        (lambda: bump_network([0.0, 1.0], [1.0, 2.0], 1.0), "heights"),
        (lambda: bump_network([0.0, 1.0], [np.inf], 1.0), "inf"),
        (lambda: fit_bumps(f, 0, (0, 1), 10.0), "n_bumps"),
        (lambda: fit_bumps(f, 2.5, (0, 1), 10.0), "n_bumps"),
        (lambda: fit_bumps(f, 3, (1, 0), 10.0), "lo < hi"),
        (lambda: fit_bumps(f, 3, (0, 1, 2), 10.0), "lo < hi"),
        (lambda: fit_bumps("sin", 3, (0, 1), 10.0), "callable"),
        (lambda: fit_bumps(lambda x: 1.0, 3, (0, 1), 10.0), "same shape"),
        (lambda: fit_bumps(f, 3, (0, 1), 10.0, margin=-1.0), "margin"),
        (lambda: max_error(MLP.random([2, 3, 1], ["tanh", "identity"]), f, (0, 1)), "1 input"),
        (lambda: max_error(bump_network([0, 1], [1], 5.0), f, (0, 1), n=1), "at least 2"),
        (lambda: max_error("net", f, (0, 1)), "MLP"),
    ]
    for call, words in cases:
        with pytest.raises(ValueError, match=words):
            call()
