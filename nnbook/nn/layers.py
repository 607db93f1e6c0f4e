r"""Layers with forward and backward passes, and a :class:`Sequential` model that trains with
:func:`nnbook.train.fit.fit` (Part II).

Every layer is *stateless about its parameters*: the model keeps all parameters in one flat
``dict[str, ndarray]`` whose keys are ``"<layer name>.<parameter>"`` (``"conv1.w"``, ``"conv1.b"``,
``"bn1.gamma"``, ``"dense1.w"``, ...), the form the shared optimizers of
:mod:`nnbook.train.optimizers` step. A layer's ``forward(p, x, train, rng)`` receives its own
parameters ``p`` (the keys without the prefix) and returns ``(y, cache)``; ``backward(p, dy,
cache)`` returns ``(dx, grads)`` with ``grads`` keyed like ``p``.

Shapes follow PyTorch: feature maps are ``(N, C, H, W)``, dense activations ``(N, D)``.

===================  =====================================  ============================
layer                computes                               parameters
===================  =====================================  ============================
:class:`Conv2D`      :func:`nnbook.kernels.conv.conv2d` (+ bias)     ``w`` (F, C, KH, KW), ``b`` (F,)
:class:`ReLU`        :math:`\max(0, a)`                      none
:class:`Pool2D`      :func:`nnbook.kernels.pool.pool2d` (max/avg/min) none
:class:`Flatten`     ``(N, C, H, W) -> (N, C*H*W)``          none
:class:`GlobalAvgPool` mean over ``H, W``: ``(N, C)``        none
:class:`Dense`       :math:`\mathbf x W^\top + \mathbf b`    ``w`` (out, in), ``b`` (out,)
:class:`Dropout`     inverted dropout (scale :math:`1/(1-p)`) none
:class:`Dropout2d`   dropout of whole feature maps           none
:class:`BatchNorm2d` per-channel normalization over N, H, W  ``gamma``, ``beta`` (C,)
===================  =====================================  ============================

:func:`softmax_cross_entropy` is the loss on the logits the last layer returns.
"""
from __future__ import annotations

import copy
from typing import Any, Sequence

import numpy as np

from ..checks import (ArgumentTypeError, as_float_array, check_bool, check_int, check_param_arrays,
                      check_positive)
from .activations import log_softmax, softmax

__all__ = ["Layer", "Conv2D", "ReLU", "Pool2D", "Flatten", "GlobalAvgPool", "Dense", "Dropout",
           "Dropout2d", "BatchNorm2d", "Sequential", "softmax_cross_entropy", "check_labels"]


class Layer:
    """Base class. Subclasses set ``kind`` (the name prefix) and override what they need."""

    kind = "layer"
    param_names: tuple[str, ...] = ()

    def init(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Fresh parameters (empty for parameter-free layers)."""
        return {}

    def forward(self, p: dict[str, np.ndarray], x: np.ndarray, train: bool,
                rng: np.random.Generator | None) -> tuple[np.ndarray, Any]:
        raise NotImplementedError  # pragma: no cover

    def backward(self, p: dict[str, np.ndarray], dy: np.ndarray,
                 cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        raise NotImplementedError  # pragma: no cover

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of one example's output from one example's input shape (no batch axis)."""
        return shape

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _short(pair: tuple[int, int]):
    """``(3, 3)`` -> ``3``; an unequal pair stays a pair (for short reprs)."""
    return pair[0] if pair[0] == pair[1] else pair


def _check_feature_maps(x: np.ndarray, name: str, channels: int | None = None) -> None:
    if x.ndim != 4:
        raise ValueError(f"{name} expects feature maps of shape (N, C, H, W), got shape {x.shape}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{name} expects {channels} input channel(s), got {x.shape[1]} "
                         f"(input shape {x.shape})")


class Conv2D(Layer):
    r"""Convolution (cross-correlation) layer, :math:`F` filters of size :math:`C\times K_H\times K_W`.

    Parameters
    ----------
    in_channels, out_channels : int
        :math:`C` and :math:`F`.
    kernel_size : int or (int, int)
    stride, padding : int or (int, int)
        As in :func:`nnbook.kernels.conv.conv2d`.

    Weights are drawn He-normal, :math:`\mathcal N(0, 2/(C K_H K_W))`; biases start at 0.
    """

    kind = "conv"
    param_names = ("w", "b")

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0):
        from ..checks import int_pair

        self.in_channels = check_positive(in_channels, "in_channels", integer=True)
        self.out_channels = check_positive(out_channels, "out_channels", integer=True)
        self.kernel_size = int_pair(kernel_size, "kernel_size", minimum=1)
        self.stride = int_pair(stride, "stride", minimum=1)
        self.padding = int_pair(padding, "padding", minimum=0)

    def init(self, rng):
        kh, kw = self.kernel_size
        fan_in = self.in_channels * kh * kw
        w = rng.normal(0.0, np.sqrt(2.0 / fan_in), (self.out_channels, self.in_channels, kh, kw))
        return {"w": w, "b": np.zeros(self.out_channels)}

    def forward(self, p, x, train, rng):
        from ..kernels.conv import conv2d

        _check_feature_maps(x, "Conv2D", self.in_channels)
        return conv2d(x, p["w"], p["b"], stride=self.stride, padding=self.padding), x

    def backward(self, p, dy, cache):
        from ..kernels.conv import conv2d_backward

        dx, dw, db = conv2d_backward(dy, cache, p["w"], stride=self.stride, padding=self.padding)
        return dx, {"w": dw, "b": db}

    def output_shape(self, shape):
        from ..kernels.conv import output_size

        c, h, w = shape
        if c != self.in_channels:
            raise ValueError(f"Conv2D expects {self.in_channels} input channel(s), got {c}")
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return (self.out_channels, output_size(h, kh, sh, ph), output_size(w, kw, sw, pw))

    def __repr__(self):
        k, st, pa = (_short(v) for v in (self.kernel_size, self.stride, self.padding))
        return f"Conv2D({self.in_channels}, {self.out_channels}, {k}, stride={st}, padding={pa})"


class ReLU(Layer):
    r"""Rectified linear unit, :math:`\max(0, a)`, elementwise (gradient 0 at :math:`a = 0`)."""

    kind = "relu"

    def forward(self, p, x, train, rng):
        mask = x > 0
        return x * mask, mask

    def backward(self, p, dy, cache):
        return dy * cache, {}


class Pool2D(Layer):
    r"""Pooling layer (no parameters): each :math:`K\times K` window, taken at stride :math:`S`,
    is replaced by its maximum, mean or minimum.

    Parameters
    ----------
    kernel_size : int or (int, int)
        Window size :math:`K` (or :math:`K_h \times K_w`).
    stride : int or (int, int), optional
        Step :math:`S` between windows (default ``kernel_size``: non-overlapping windows).
    mode : str
        The aggregation, ``"max"`` (default), ``"avg"`` or ``"min"``, as in
        :func:`nnbook.kernels.pool.pool2d`.
    """

    kind = "pool"

    def __init__(self, kernel_size, stride=None, mode: str = "max"):
        from ..checks import check_name, int_pair

        self.kernel_size = int_pair(kernel_size, "kernel_size", minimum=1)
        self.stride = self.kernel_size if stride is None else int_pair(stride, "stride", minimum=1)
        self.mode = check_name(mode, ("max", "avg", "min"), "pooling mode")

    def forward(self, p, x, train, rng):
        from ..kernels.pool import pool2d

        _check_feature_maps(x, "Pool2D")
        return pool2d(x, self.kernel_size, self.stride, mode=self.mode), x

    def backward(self, p, dy, cache):
        from ..kernels.pool import pool2d_backward

        return pool2d_backward(dy, cache, self.kernel_size, self.stride, mode=self.mode), {}

    def output_shape(self, shape):
        from ..kernels.conv import output_size

        c, h, w = shape
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        return (c, output_size(h, kh, sh), output_size(w, kw, sw))

    def __repr__(self):
        return f"Pool2D({_short(self.kernel_size)}, stride={_short(self.stride)}, mode={self.mode!r})"


class Flatten(Layer):
    """``(N, C, H, W) -> (N, C*H*W)`` in C order (channel slowest); backward reshapes back."""

    kind = "flatten"

    def forward(self, p, x, train, rng):
        return x.reshape(x.shape[0], -1), x.shape

    def backward(self, p, dy, cache):
        return dy.reshape(cache), {}

    def output_shape(self, shape):
        return (int(np.prod(shape)),)


class GlobalAvgPool(Layer):
    """Global average pooling: the mean of every feature map, ``(N, C, H, W) -> (N, C)``."""

    kind = "gap"

    def forward(self, p, x, train, rng):
        _check_feature_maps(x, "GlobalAvgPool")
        return x.mean(axis=(2, 3)), x.shape

    def backward(self, p, dy, cache):
        n, c, h, w = cache
        return np.broadcast_to(dy[:, :, None, None] / (h * w), cache).copy(), {}

    def output_shape(self, shape):
        return (shape[0],)


class Dense(Layer):
    r"""Fully connected layer :math:`\mathbf a = W\mathbf x + \mathbf b`, batched as ``x @ w.T + b``.

    Parameters
    ----------
    in_features, out_features : int

    Weights are He-normal, :math:`\mathcal N(0, 2/\text{in})`; biases start at 0.
    """

    kind = "dense"
    param_names = ("w", "b")

    def __init__(self, in_features: int, out_features: int):
        self.in_features = check_positive(in_features, "in_features", integer=True)
        self.out_features = check_positive(out_features, "out_features", integer=True)

    def init(self, rng):
        w = rng.normal(0.0, np.sqrt(2.0 / self.in_features), (self.out_features, self.in_features))
        return {"w": w, "b": np.zeros(self.out_features)}

    def forward(self, p, x, train, rng):
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"Dense expects input of shape (N, {self.in_features}), got {x.shape}"
                             " (put a Flatten or GlobalAvgPool before it)")
        return x @ p["w"].T + p["b"], x

    def backward(self, p, dy, cache):
        return dy @ p["w"], {"w": dy.T @ cache, "b": dy.sum(axis=0)}

    def output_shape(self, shape):
        if shape != (self.in_features,):
            raise ValueError(f"Dense expects {self.in_features} input features, got shape {shape}")
        return (self.out_features,)

    def __repr__(self):
        return f"Dense({self.in_features}, {self.out_features})"


class Dropout(Layer):
    r"""Inverted dropout: in training each unit is zeroed with probability ``p`` and the survivors
    are scaled by :math:`1/(1-p)`, so the expected output equals the input; at inference the layer
    is the identity.
    """

    kind = "dropout"

    def __init__(self, p: float = 0.5):
        check_positive(p, "p", allow_zero=True)
        if p >= 1:
            raise ValueError(f"dropout probability p must be in [0, 1), got {p}")
        self.p = float(p)

    def forward(self, p, x, train, rng):
        if not train or self.p == 0:
            return x, None
        if rng is None:
            raise ValueError(f"{type(self).__name__} in training mode needs a seeded rng")
        mask = (rng.random(self._mask_shape(x)) >= self.p) / (1.0 - self.p)
        return x * mask, mask

    def _mask_shape(self, x: np.ndarray) -> tuple[int, ...]:
        """One draw per unit."""
        return x.shape

    def backward(self, p, dy, cache):
        return (dy if cache is None else dy * cache), {}

    def __repr__(self):
        return f"{type(self).__name__}(p={self.p})"


class Dropout2d(Dropout):
    r"""Spatial (channel-wise) inverted dropout for feature maps ``(N, C, H, W)``.

    In training each *whole feature map* (one channel of one example) is zeroed with
    probability ``p``, and the surviving maps are scaled by :math:`1/(1-p)`: the mask has shape
    ``(N, C, 1, 1)``, broadcast over ``H, W``. Neighbouring units of a map are strongly
    correlated, so zeroing single units (:class:`Dropout`) removes little information; zeroing a
    whole map does (Tompson et al., 2015; PyTorch's ``Dropout2d``). At inference the layer is the
    identity.
    """

    kind = "dropout2d"

    def forward(self, p, x, train, rng):
        _check_feature_maps(x, "Dropout2d")
        return super().forward(p, x, train, rng)

    def _mask_shape(self, x: np.ndarray) -> tuple[int, ...]:
        """One draw per feature map: ``(N, C, 1, 1)``."""
        return x.shape[:2] + (1, 1)


class BatchNorm2d(Layer):
    r"""Batch normalization (Ioffe & Szegedy, 2015) of conv feature maps, one mean and variance
    *per channel* taken over the batch and both spatial axes (N, H, W):

    .. math:: \hat x_{nchw} = \frac{x_{nchw} - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}},\qquad
              y_{nchw} = \gamma_c \hat x_{nchw} + \beta_c .

    In training mode :math:`\mu_c, \sigma_c^2` are the batch's (biased variance) and the running
    estimates are updated, ``running = (1 - momentum) * running + momentum * batch`` (the running
    variance uses the unbiased batch variance, as in PyTorch). In inference mode the running
    estimates are used. A ``(N, C)`` input is normalized over N alone (BatchNorm1d).

    The running estimates are not parameters (no gradient): they live in ``self.running_mean``
    and ``self.running_var``.
    """

    kind = "bn"
    param_names = ("gamma", "beta")

    def __init__(self, channels: int, momentum: float = 0.1, eps: float = 1e-5):
        self.channels = check_positive(channels, "channels", integer=True)
        check_positive(momentum, "momentum")
        if momentum > 1:
            raise ValueError(f"momentum must be in (0, 1], got {momentum}")
        self.momentum = float(momentum)
        self.eps = float(check_positive(eps, "eps"))
        self.reset()

    def reset(self) -> None:
        """Running mean 0 and running variance 1 (the state before any training)."""
        self.running_mean = np.zeros(self.channels)
        self.running_var = np.ones(self.channels)

    def init(self, rng):
        self.reset()
        return {"gamma": np.ones(self.channels), "beta": np.zeros(self.channels)}

    def _axes(self, x):
        if x.ndim not in (2, 4) or x.shape[1] != self.channels:
            raise ValueError(f"BatchNorm2d expects (N, {self.channels}, H, W) or (N, {self.channels}),"
                             f" got shape {x.shape}")
        return (0, 2, 3) if x.ndim == 4 else (0,)

    def forward(self, p, x, train, rng):
        axes = self._axes(x)
        shape = (1, -1) + (1,) * (x.ndim - 2)
        if train:
            m = x.size // self.channels
            if m < 2:
                raise ValueError("BatchNorm2d in training mode needs more than one value per channel")
            mu = x.mean(axis=axes)
            var = x.var(axis=axes)
            a = self.momentum
            self.running_mean = (1 - a) * self.running_mean + a * mu
            self.running_var = (1 - a) * self.running_var + a * var * m / (m - 1)
        else:
            mu, var = self.running_mean, self.running_var
        inv = 1.0 / np.sqrt(var + self.eps)
        xhat = (x - mu.reshape(shape)) * inv.reshape(shape)
        y = p["gamma"].reshape(shape) * xhat + p["beta"].reshape(shape)
        return y, (xhat, inv, axes, shape, train)

    def backward(self, p, dy, cache):
        xhat, inv, axes, shape, train = cache
        grads = {"gamma": (dy * xhat).sum(axis=axes), "beta": dy.sum(axis=axes)}
        dxhat = dy * p["gamma"].reshape(shape)
        if not train:  # statistics are constants
            return dxhat * inv.reshape(shape), grads
        # the batch mean and variance depend on x too
        mean_dxhat = dxhat.mean(axis=axes, keepdims=True)
        mean_dxhat_xhat = (dxhat * xhat).mean(axis=axes, keepdims=True)
        dx = inv.reshape(shape) * (dxhat - mean_dxhat - xhat * mean_dxhat_xhat)
        return dx, grads

    def __repr__(self):
        return f"BatchNorm2d({self.channels})"


def check_labels(y, n: int, n_classes: int | None) -> np.ndarray:
    """Check class labels: ``n`` integers in ``0 .. n_classes-1`` (``None``: any non-negative);
    return them as an int array."""
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"labels y must be a vector of {n} class indices, got shape {y.shape}")
    if not (np.issubdtype(y.dtype, np.integer) or (np.issubdtype(y.dtype, np.floating)
                                                   and np.all(y == np.round(y)))):
        raise ValueError(f"labels y must be integer class indices, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if n_classes is None:
        if y.size and y.min() < 0:
            raise ValueError(f"labels y must be class indices >= 0, got {y.min()}")
        return y
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must lie in 0..{n_classes - 1}, got values from {y.min()} to {y.max()}")
    return y


def softmax_cross_entropy(logits, y) -> tuple[float, np.ndarray]:
    r"""Mean multiclass cross-entropy of softmax outputs, and its gradient w.r.t. the logits.

    .. math:: E = -\frac1N\sum_n \ln \mathrm{softmax}(\mathbf a_n)_{y_n},\qquad
              \frac{\partial E}{\partial a_{nk}} = \frac{y_{nk} - t_{nk}}{N}

    (the canonical pairing of chapter 2: output delta :math:`y_k - t_k`, here divided by
    :math:`N` because the loss is the mean).

    Parameters
    ----------
    logits : ndarray, shape (N, K)
    y : ndarray, shape (N,)
        Class indices in ``0 .. K-1``.

    Returns
    -------
    loss : float
    dlogits : ndarray, shape (N, K)
    """
    a = as_float_array(logits, "logits", ndim=(2,))
    y = check_labels(y, a.shape[0], a.shape[1])
    n = a.shape[0]
    loss = -float(np.mean(log_softmax(a)[np.arange(n), y]))
    d = softmax(a)
    d[np.arange(n), y] -= 1.0
    return loss, d / n


class Sequential:
    """A stack of layers with one flat, named parameter dict.

    Layers are named ``<kind><i>`` with ``i`` counting layers of the same kind from 1
    (``conv1``, ``relu1``, ``pool1``, ``conv2``, ..., ``dense1``); parameters are then
    ``"conv1.w"``, ``"conv1.b"``, ``"bn1.gamma"``, ...

    Parameters
    ----------
    layers : sequence of Layer
    input_shape : tuple of int, optional
        One example's shape, e.g. ``(1, 8, 8)``; when given, every layer's output shape is
        checked at construction (so a mismatched ``Dense`` fails early) and recorded in
        ``shapes``.

    Examples
    --------
    >>> model = Sequential([Conv2D(1, 8, 3, padding=1), ReLU(), Pool2D(2), Flatten(),
    ...                     Dense(128, 10)], input_shape=(1, 8, 8))      # doctest: +SKIP
    >>> params = model.init(seed=0)                                      # doctest: +SKIP
    >>> loss, grads = model.loss_and_grads(params, X, y, rng=rng)        # doctest: +SKIP
    """

    def __init__(self, layers: Sequence[Layer], input_shape: tuple[int, ...] | None = None):
        if not isinstance(layers, (list, tuple)) or not layers:
            raise ValueError("layers must be a non-empty list of nnbook.nn.layers.Layer objects")
        counts: dict[str, int] = {}
        self.names: list[str] = []
        for layer in layers:
            if not isinstance(layer, Layer):
                raise ValueError(f"every layer must be an nnbook.nn.layers.Layer, got {type(layer).__name__}")
            counts[layer.kind] = counts.get(layer.kind, 0) + 1
            self.names.append(f"{layer.kind}{counts[layer.kind]}")
        self.layers = list(layers)
        self._keys = [f"{n}.{k}" for n, l in zip(self.names, self.layers) for k in l.param_names]
        if input_shape is not None:
            if not isinstance(input_shape, (tuple, list)):
                raise ArgumentTypeError(f"input_shape must be a tuple of ints such as (1, 8, 8), "
                                        f"got {input_shape!r}")
            input_shape = tuple(check_int(s, "input_shape", minimum=1) for s in input_shape)
        self.input_shape = input_shape
        # the shape of every parameter, from a throw-away copy of each layer (so that batch
        # norm's running statistics are not reset here)
        self._param_shapes = {f"{n}.{k}": v.shape for n, l in zip(self.names, self.layers)
                              if l.param_names
                              for k, v in copy.copy(l).init(np.random.default_rng(0)).items()}
        self.shapes: list[tuple[int, ...]] = []
        if self.input_shape is not None:
            shape = self.input_shape
            for layer in self.layers:
                shape = layer.output_shape(shape)
                self.shapes.append(shape)

    def __repr__(self) -> str:
        rows = [f"  {n}: {l!r}" + (f" -> {s}" if self.shapes else "")
                for n, l, s in zip(self.names, self.layers, self.shapes or [None] * len(self.layers))]
        return "Sequential(\n" + "\n".join(rows) + "\n)"

    def init(self, seed: int = 0) -> dict[str, np.ndarray]:
        """Fresh parameters from ``np.random.default_rng(seed)`` (and reset batch-norm statistics)."""
        rng = np.random.default_rng(seed)
        params = {}
        for name, layer in zip(self.names, self.layers):
            for k, v in layer.init(rng).items():
                params[f"{name}.{k}"] = v
        return params

    def n_params(self, params: dict[str, np.ndarray]) -> int:
        """Number of trainable numbers."""
        return int(sum(v.size for v in params.values()))

    def _layer_params(self, params, name):
        prefix = name + "."
        return {k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix)}

    def _check(self, params, X) -> tuple[dict, np.ndarray]:
        """Checked parameters and input, both float64 (float32 ones are converted: the model
        computes in float64, the package's rule outside the conv/pool kernels)."""
        checked = check_param_arrays(params, self._param_shapes, allow_empty=True)
        X = as_float_array(X, "X")
        if self.input_shape is not None and X.shape[1:] != self.input_shape:
            raise ValueError(f"X must have shape (N, {', '.join(map(str, self.input_shape))}), got {X.shape}")
        return checked, X

    def init_keys(self) -> list[str]:
        """The names of the parameters, in order (without drawing them)."""
        return list(self._keys)

    def forward(self, params: dict[str, np.ndarray], X, train: bool = False,
                rng: np.random.Generator | None = None, keep: bool = False):
        """Run the layers on a batch ``X`` (``(N, C, H, W)``).

        Parameters
        ----------
        train : bool
            Training mode (dropout active, batch-norm batch statistics, running stats updated).
        rng : Generator, optional
            For dropout in training mode.
        keep : bool
            Also return every layer's output.

        Returns
        -------
        out : ndarray, the last layer's output (logits, ``(N, K)``)
        caches : list (for :meth:`backward`)
        outputs : dict name -> ndarray, only when ``keep``
        """
        params, x = self._check(params, X)
        return self._forward(params, x, check_bool(train, "train"), rng, check_bool(keep, "keep"))

    def _forward(self, params, x, train, rng, keep):
        caches, outputs = [], {}
        saved = self._running_stats() if train else None
        try:
            for name, layer in zip(self.names, self.layers):
                x, cache = layer.forward(self._layer_params(params, name), x, train, rng)
                caches.append(cache)
                if keep:
                    outputs[name] = x
        except Exception:
            self._restore_running_stats(saved)  # a failed call leaves batch norm as it was
            raise
        return (x, caches, outputs) if keep else (x, caches)

    def _running_stats(self) -> list:
        return [(l, l.running_mean, l.running_var) for l in self.layers
                if isinstance(l, BatchNorm2d)]

    def _restore_running_stats(self, saved) -> None:
        for layer, mean, var in saved or ():
            layer.running_mean, layer.running_var = mean, var

    def backward(self, params, dout: np.ndarray, caches: list) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Back-propagate ``dout`` (gradient of the loss w.r.t. the output); returns ``(dX, grads)``."""
        grads = {}
        d = dout
        for name, layer, cache in reversed(list(zip(self.names, self.layers, caches))):
            d, g = layer.backward(self._layer_params(params, name), d, cache)
            for k, v in g.items():
                grads[f"{name}.{k}"] = v
        return d, {k: grads[k] for k in params}

    def loss_and_grads(self, params: dict[str, np.ndarray], X, y,
                       rng: np.random.Generator | None = None) -> tuple[float, dict[str, np.ndarray]]:
        """Mean softmax cross-entropy on ``(X, y)`` in training mode, and its gradients.

        The signature :func:`nnbook.train.fit.fit` expects. ``rng`` drives dropout (a fixed
        ``default_rng(0)`` when omitted).
        """
        rng = np.random.default_rng(0) if rng is None else rng
        saved = self._running_stats()
        try:
            n = np.shape(X)[0] if np.ndim(X) else 0
            check_labels(y, n, None)  # before the forward pass updates batch norm's statistics
            params, x = self._check(params, X)
            logits, caches = self._forward(params, x, True, rng, False)
            loss, dlogits = softmax_cross_entropy(logits, y)
        except Exception:
            self._restore_running_stats(saved)
            raise
        _, grads = self.backward(params, dlogits, caches)
        return loss, grads

    def loss(self, params, X, y) -> float:
        """Mean softmax cross-entropy in inference mode."""
        return softmax_cross_entropy(self.forward(params, X)[0], y)[0]

    def predict(self, params, X, batch_size: int = 512) -> np.ndarray:
        """Predicted class of every example (inference mode), ``(N,)``."""
        check_positive(batch_size, "batch_size", integer=True)
        X = np.asarray(X)
        return np.concatenate([np.argmax(self.forward(params, X[i:i + batch_size])[0], axis=1)
                               for i in range(0, len(X), batch_size)])

    def layer(self, name: str) -> Layer:
        """The layer called ``name``."""
        if name not in self.names:
            raise ValueError(f"no layer {name!r}; the layers are {self.names}")
        return self.layers[self.names.index(name)]
