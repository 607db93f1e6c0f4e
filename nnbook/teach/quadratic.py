r"""The local quadratic approximation of an error surface, and gradient descent on it (chapter 2).

Around a point :math:`\hat{\mathbf w}` the error is approximated by its second-order Taylor expansion

.. math::

    E(\mathbf w) \simeq E(\hat{\mathbf w}) + (\mathbf w-\hat{\mathbf w})^\top\mathbf b
    + \tfrac12(\mathbf w-\hat{\mathbf w})^\top\mathbf H(\mathbf w-\hat{\mathbf w}),

with the gradient :math:`\mathbf b = \nabla E(\hat{\mathbf w})` and the Hessian
:math:`H_{ij} = \partial^2E/\partial w_i\partial w_j`. At a minimum :math:`\mathbf w^\star`,
:math:`\mathbf b = 0`, and in the eigenvector coordinates :math:`\alpha_i = \mathbf u_i^\top
(\mathbf w - \mathbf w^\star)` the bowl separates: :math:`E \simeq E^\star + \tfrac12\sum_i
\lambda_i\alpha_i^2`.

Gradient descent on that bowl, :math:`\mathbf w \leftarrow \mathbf w - \eta\mathbf H(\mathbf w -
\mathbf w^\star)`, multiplies every :math:`\alpha_i` by :math:`1 - \eta\lambda_i` per step, so it
converges exactly when :math:`0 < \eta < 2/\lambda_{\max}` (:func:`stability_limit`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..checks import as_float_array, check_name, check_positive
from ..train.gradcheck import numerical_hessian
from ..nn.losses import LOSSES
from ..nn.mlp import MLP, check_net

__all__ = ["Quadratic", "quadratic_model", "hessian", "EigenAnalysis", "eigen_analysis",
           "flat_gradient", "bfgs", "rotated_hessian", "stability_limit", "gd_on_quadratic", "beta_ml"]


def _check_square_symmetric(H, name: str = "H", rtol: float = 1e-8) -> np.ndarray:
    H = as_float_array(H, name, ndim=(2,))
    if H.shape[0] != H.shape[1]:
        raise ValueError(f"{name} must be square, got shape {H.shape}")
    scale = max(float(np.max(np.abs(H))), 1.0)
    if not np.allclose(H, H.T, rtol=0.0, atol=rtol * scale):
        raise ValueError(f"{name} must be symmetric (a Hessian is); "
                         f"largest |H - H^T| is {float(np.max(np.abs(H - H.T))):.3g}")
    return H


def _check_vector(w, name: str, n: int) -> np.ndarray:
    w = as_float_array(w, name, ndim=(1,))
    if w.size != n:
        raise ValueError(f"{name} has {w.size} entries but H is {n} x {n}")
    return w


@dataclass(frozen=True)
class Quadratic:
    r"""A quadratic model :math:`E_0 + (\mathbf w-\hat{\mathbf w})^\top\mathbf b + \tfrac12(\mathbf w-\hat{\mathbf w})^\top\mathbf H(\mathbf w-\hat{\mathbf w})`.

    Call it with ``w`` of shape ``(W,)`` (a float) or ``(..., W)`` (an array of shape ``(...)``).
    """
    E0: float
    b: np.ndarray
    H: np.ndarray
    w_hat: np.ndarray

    def __call__(self, w) -> float | np.ndarray:
        w = as_float_array(w, "w", ndim=None)
        if w.shape[-1:] != self.w_hat.shape:
            raise ValueError(f"w must end in an axis of {self.w_hat.size} parameters, got shape {w.shape}")
        d = w - self.w_hat
        val = self.E0 + d @ self.b + 0.5 * np.einsum("...i,ij,...j->...", d, self.H, d)
        return float(val) if np.ndim(val) == 0 else val

    def gradient(self, w) -> np.ndarray:
        r"""The model's gradient :math:`\mathbf b + \mathbf H(\mathbf w-\hat{\mathbf w})`, shape like ``w``."""
        w = as_float_array(w, "w", ndim=None)
        if w.shape[-1:] != self.w_hat.shape:
            raise ValueError(f"w must end in an axis of {self.w_hat.size} parameters, got shape {w.shape}")
        return self.b + (w - self.w_hat) @ self.H  # H is symmetric

    def newton_step(self) -> np.ndarray:
        r"""The stationary point of the model, :math:`\hat{\mathbf w} - \mathbf H^{-1}\mathbf b` (Newton's step)."""
        try:
            return self.w_hat - np.linalg.solve(self.H, self.b)
        except np.linalg.LinAlgError:
            raise ValueError("H is singular: the quadratic model has no unique stationary point") from None


def quadratic_model(E, grad, hess, w_hat) -> Quadratic:
    r"""The second-order Taylor model of an error around ``w_hat``.

    Parameters
    ----------
    E : float
        :math:`E(\hat{\mathbf w})`.
    grad : array_like, shape (W,)
        The gradient :math:`\mathbf b` at ``w_hat``.
    hess : array_like, shape (W, W)
        The (symmetric) Hessian at ``w_hat``.
    w_hat : array_like, shape (W,)
        The expansion point.

    Returns
    -------
    Quadratic
        Callable: ``model(w)`` for ``w`` of shape (W,) or (..., W).
    """
    E0 = float(as_float_array(E, "E", ndim=(0,)))
    H = _check_square_symmetric(hess, "hess")
    n = H.shape[0]
    b = _check_vector(grad, "grad", n)
    w_hat = _check_vector(w_hat, "w_hat", n)
    return Quadratic(E0, b.copy(), 0.5 * (H + H.T), w_hat.copy())


def _flat_gradient(net: MLP, X, T, loss: str) -> np.ndarray:
    return np.concatenate([np.concatenate([dW.ravel(), db]) for dW, db in net.gradients(X, T, loss)])


def flat_gradient(net: MLP, X, T, loss: str = "sse") -> np.ndarray:
    """The gradient of ``net.error(X, T, loss)`` as one vector, ordered as :meth:`MLP.get_params`.

    Parameters
    ----------
    net : MLP
    X : array_like, shape (N, D) or (D,)
    T : array_like, shape (N, K) or (K,) (``(N,)`` accepted when K = 1)
    loss : {"sse", "bce", "ce"}

    Returns
    -------
    ndarray, shape (net.n_params,)
    """
    check_net(net)
    return _flat_gradient(net, X, T, loss)


def hessian(net: MLP, X, T, loss: str = "sse", eps: float = 1e-5) -> np.ndarray:
    r"""Hessian of the error of ``net`` on ``(X, T)`` with respect to all its parameters.

    Central differences of the analytic (backpropagation) gradient,
    :math:`H_{:,i} \approx [\nabla E(\mathbf w + \epsilon\mathbf e_i) - \nabla E(\mathbf w - \epsilon
    \mathbf e_i)]/2\epsilon`, symmetrised. The error is exact to :math:`O(\epsilon^2)`; for an
    error that is quadratic in the weights (a linear network with sum-of-squares) it is exact up
    to round-off.

    Parameters
    ----------
    net : MLP
        Not modified (a copy is perturbed).
    X : array_like, shape (N, D) or (D,)
    T : array_like, shape (N, K) or (K,) (``(N,)`` accepted when K = 1)
    loss : {"sse", "bce", "ce"}
    eps : float
        Finite-difference step.

    Returns
    -------
    ndarray, shape (W, W)
        ``W = net.n_params``, ordered as :meth:`MLP.get_params`.
    """
    check_net(net)
    loss = check_name(loss, LOSSES, "loss")
    X = net._check_x(X)
    T = net._check_t(T, X)
    work = net.copy()

    def grad(w):
        work.set_params(w)
        return _flat_gradient(work, X, T, loss)

    return numerical_hessian(grad, net.get_params(), eps=eps)


def bfgs(net: MLP, X, T, loss: str = "sse", maxiter: int = 100, gtol: float = 1e-8) -> int:
    r"""Polish the weights of ``net`` (in place) with the quasi-Newton method BFGS.

    Gradient descent crawls along the flat directions of an ill-conditioned error surface; BFGS
    builds an approximation of the inverse Hessian from successive gradients and so rescales each
    direction, converging much faster near a minimum. This wraps ``scipy.optimize.minimize``
    (SciPy is installed with scikit-learn), with the error and its backpropagation gradient.

    Parameters
    ----------
    net : MLP
        Updated in place.
    X : array_like, shape (N, D)
    T : array_like, shape (N, K) (``(N,)`` accepted when K = 1)
    loss : {"sse", "bce", "ce"}
    maxiter : int
        Largest number of BFGS iterations.
    gtol : float
        Stop when the largest gradient component is below this.

    Returns
    -------
    int
        The number of iterations taken.
    """
    from scipy.optimize import minimize

    check_net(net)
    loss = check_name(loss, LOSSES, "loss")
    X = net._check_x(X)
    T = net._check_t(T, X)
    check_positive(maxiter, "maxiter", integer=True)
    check_positive(gtol, "gtol")
    work = net.copy()

    def f(w):
        work.set_params(w)
        return work.error(X, T, loss), _flat_gradient(work, X, T, loss)

    res = minimize(f, net.get_params(), jac=True, method="BFGS",
                   options={"maxiter": int(maxiter), "gtol": float(gtol)})
    net.set_params(res.x)
    return int(res.nit)


@dataclass(frozen=True)
class EigenAnalysis:
    """Eigen-decomposition of a symmetric matrix (a Hessian).

    Attributes
    ----------
    eigenvalues : ndarray, shape (W,)
        Ascending.
    eigenvectors : ndarray, shape (W, W)
        Column ``i`` is the unit eigenvector of ``eigenvalues[i]``.
    condition_number : float
        :math:`\\max_i|\\lambda_i| / \\min_i|\\lambda_i|` (``inf`` if some eigenvalue is 0).
    positive_definite : bool
        Every eigenvalue is > 0: the point is a strict local minimum of the quadratic model.
    """
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    condition_number: float
    positive_definite: bool


def eigen_analysis(H) -> EigenAnalysis:
    r"""Eigenvalues, eigenvectors, condition number and definiteness of a symmetric ``H``.

    Parameters
    ----------
    H : array_like, shape (W, W)
        Symmetric (checked to a relative tolerance of 1e-8).
    """
    H = _check_square_symmetric(H)
    lam, U = np.linalg.eigh(0.5 * (H + H.T))
    absl = np.abs(lam)
    cond = float(np.inf) if absl.min() == 0.0 else float(absl.max() / absl.min())
    return EigenAnalysis(lam, U, cond, bool(lam[0] > 0.0))


def rotated_hessian(eigenvalues, angle: float = 0.0) -> np.ndarray:
    r"""A 2 x 2 Hessian with the given eigenvalues whose first eigenvector points at ``angle`` radians.

    :math:`\mathbf H = \mathbf R\,\mathrm{diag}(\lambda_1,\lambda_2)\,\mathbf R^\top` with
    :math:`\mathbf R` the rotation by ``angle``. Handy for drawing ravines.
    """
    lam = as_float_array(eigenvalues, "eigenvalues", ndim=(1,))
    if lam.size != 2:
        raise ValueError(f"eigenvalues must have 2 entries, got {lam.size}")
    a = float(as_float_array(angle, "angle", ndim=(0,)))
    R = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    H = R @ np.diag(lam) @ R.T
    return 0.5 * (H + H.T)


def stability_limit(H) -> float:
    r"""The largest stable learning rate of gradient descent on the bowl ``H``: :math:`2/\lambda_{\max}`.

    Raises ``ValueError`` if ``H`` is not positive definite (gradient descent then has no
    stationary point to converge to along a direction of non-positive curvature).
    """
    ea = eigen_analysis(H)
    if not ea.positive_definite:
        raise ValueError(f"H is not positive definite (smallest eigenvalue {ea.eigenvalues[0]:.3g}); "
                         "gradient descent on it does not converge for any learning rate")
    return float(2.0 / ea.eigenvalues[-1])


def gd_on_quadratic(H, w_star, w0, lr: float, steps: int) -> np.ndarray:
    r"""Gradient descent on :math:`E(\mathbf w) = \tfrac12(\mathbf w-\mathbf w^\star)^\top\mathbf H(\mathbf w-\mathbf w^\star)`.

    Each step is :math:`\mathbf w \leftarrow \mathbf w - \eta\,\mathbf H(\mathbf w - \mathbf w^\star)`.
    Along eigenvector :math:`\mathbf u_i` the distance to the minimum is multiplied by
    :math:`1-\eta\lambda_i`, so the path converges iff :math:`\eta < 2/\lambda_{\max}`; a ravine
    (:math:`\lambda_{\max}\gg\lambda_{\min}`) makes it zig-zag across and crawl along.

    Parameters
    ----------
    H : array_like, shape (W, W)
        Symmetric Hessian.
    w_star : array_like, shape (W,)
        The minimum.
    w0 : array_like, shape (W,)
        Starting point.
    lr : float
        Learning rate :math:`\eta > 0`.
    steps : int
        Number of updates (>= 0).

    Returns
    -------
    ndarray, shape (steps + 1, W)
        The path; row 0 is ``w0``. A diverging run grows like :math:`|1-\eta\lambda_{\max}|^\tau`;
        if it would overflow, ``ValueError`` is raised (use fewer steps).
    """
    H = _check_square_symmetric(H)
    n = H.shape[0]
    w_star = _check_vector(w_star, "w_star", n)
    w0 = _check_vector(w0, "w0", n)
    check_positive(lr, "lr")
    check_positive(steps, "steps", integer=True, allow_zero=True)
    path = np.empty((steps + 1, n))
    path[0] = w0
    d = w0 - w_star
    M = np.eye(n) - lr * H
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, steps + 1):
            d = M @ d
            path[k] = w_star + d
    if not np.all(np.isfinite(path)):
        raise ValueError(f"gradient descent with lr={lr} diverged past the floating-point range "
                         f"within {steps} steps (the stability limit is 2/lambda_max); use fewer steps")
    return path


def beta_ml(y, t) -> float:
    r"""Maximum-likelihood noise precision of a Gaussian regression model.

    .. math:: \frac{1}{\beta_{ML}} = \frac{1}{NK}\sum_{n=1}^N \lVert\mathbf y_n - \mathbf t_n\rVert^2

    Parameters
    ----------
    y : array_like, shape (N, K) or (N,)
        Outputs of the fitted network :math:`\mathbf y(\mathbf x_n, \mathbf w_{ML})`.
    t : array_like, same shape
        Targets.

    Returns
    -------
    float
        :math:`\beta_{ML}`; its inverse square root is the fitted noise standard deviation.
    """
    y = as_float_array(y, "y", ndim=(1, 2))
    t = as_float_array(t, "t", ndim=(1, 2))
    if y.shape != t.shape:
        raise ValueError(f"y and t must have the same shape, got {y.shape} and {t.shape}")
    mse = float(np.mean((y - t) ** 2))  # mean over all N*K entries
    if mse == 0.0:
        raise ValueError("y equals t exactly: the residuals are all zero, so beta_ML is infinite")
    return 1.0 / mse
