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
