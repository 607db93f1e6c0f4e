"""nnbook: the computations behind the executable neural-networks textbook.

The chapters import from here; every algorithm lives once, in this package, tested.
"""
from . import (activations, approx, backprop, data, diagram, invariance, logic, losses, optim,
               optimizers, plotting, quadratic, symmetry, training, widgets)
from .activations import derivative, relu, sigmoid, softmax, tanh
from .gradcheck import gradcheck, numerical_gradient, numerical_hessian
from .losses import loss, loss_from_activations, output_delta
from .mlp import MLP, Trace
from .optimizers import SGD, Adam, clip_grad_norm
from .training import TrainLog, fit

__version__ = "0.1.0"

__all__ = ["MLP", "Trace", "loss", "loss_from_activations", "output_delta", "gradcheck",
           "numerical_gradient", "numerical_hessian", "sigmoid", "tanh", "relu", "softmax",
           "derivative", "SGD", "Adam", "clip_grad_norm", "fit", "TrainLog", "optimizers", "training", "activations", "approx", "backprop", "data", "diagram", "invariance", "logic",
           "losses", "optim", "plotting", "quadratic", "symmetry", "widgets"]
