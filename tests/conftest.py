import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def random_net():
    """``random_net(seed, sizes=(3, 5, 4, 2), out="identity")``: a tanh MLP with random biases too."""
    from nnbook import MLP

    def make(seed, sizes=(3, 5, 4, 2), out="identity"):
        net = MLP.random(list(sizes), ["tanh"] * (len(sizes) - 2) + [out], seed=seed)
        r = np.random.default_rng(seed + 100)
        for _, b in net.weights:
            b += r.normal(size=b.shape)
        return net
    return make


# Property-based tests (hypothesis): one deterministic profile, so CI runs the same examples every
# time and the package tests stay within their time budget. Tests set their own max_examples.
try:
    from hypothesis import HealthCheck, settings
except ImportError:  # pragma: no cover - hypothesis is in requirements.txt
    pass
else:
    settings.register_profile("nnbook", derandomize=True, deadline=None, database=None,
                              print_blob=True, suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("nnbook")
