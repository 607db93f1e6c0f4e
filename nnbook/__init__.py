"""nnbook: the computations behind the executable neural-networks textbook.

The chapters import from here; every algorithm lives once, in this package, tested.
"""
from . import (activations, approx, backprop, conv, data, diagram, invariance, logic, losses, optim,
               optimizers, plotting, pool, quadratic, symmetry, training, widgets)
from .activations import derivative, relu, sigmoid, softmax, tanh
from .conv import conv2d, conv2d_backward, output_size
from .gradcheck import gradcheck, numerical_gradient, numerical_hessian
from .losses import loss, loss_from_activations, output_delta
from .mlp import MLP, Trace
from .optimizers import SGD, Adam, clip_grad_norm
from .pool import pool2d, pool2d_backward
from . import gated, rnn
from .gated import gru_bptt, gru_forward, gru_params, lstm_bptt, lstm_forward, lstm_params
from .rnn import rnn_bptt, rnn_forward, rnn_params, state_jacobians
from . import sequences
from .training import TrainLog, fit
from . import cnn, layers
from .layers import Sequential
from . import tasks
from .tasks import adding_problem, train_sequence_model

__version__ = "0.1.0"

__all__ = ["MLP", "Trace", "loss", "loss_from_activations", "output_delta", "gradcheck",
           "numerical_gradient", "numerical_hessian", "sigmoid", "tanh", "relu", "softmax",
           "derivative", "SGD", "Adam", "clip_grad_norm", "fit", "TrainLog", "optimizers", "training", "activations", "approx", "backprop", "data", "diagram", "invariance", "logic",
           "losses", "optim", "plotting", "quadratic", "symmetry", "widgets",
           "conv2d", "conv2d_backward", "pool2d", "pool2d_backward", "output_size", "conv", "pool"]
__all__ += ["rnn", "rnn_forward", "rnn_bptt", "state_jacobians", "rnn_params", "gated",
            "lstm_forward", "lstm_bptt", "lstm_params", "gru_forward", "gru_bptt", "gru_params"]
__all__ += ["sequences"]
__all__ += ["cnn", "layers", "Sequential"]
__all__ += ["tasks", "adding_problem", "train_sequence_model"]
from .attention import (attention, attention_backward, causal_mask, multi_head_attention,
                        multi_head_attention_backward, positional_encoding, self_attention,
                        self_attention_backward)
from .tasks import reverse_digits
__all__ += ["attention", "attention_backward", "self_attention", "self_attention_backward",
            "multi_head_attention", "multi_head_attention_backward", "positional_encoding",
            "causal_mask", "reverse_digits"]
from . import transformer
from .activations import gelu
from .transformer import (TransformerLM, layer_norm, layer_norm_backward, transformer_block,
                          transformer_block_backward)
__all__ += ["transformer", "gelu", "layer_norm", "layer_norm_backward", "transformer_block",
            "transformer_block_backward", "TransformerLM"]
