"""nnbook: the computations behind the executable neural-networks textbook.

The chapters import from here; every algorithm lives once, in this package, tested.

Layers, lowest first (a module may import only from layers before its own)::

    checks      input validation shared by everything (ValueError naming the argument)
    kernels/    Numba kernels + their validation: conv, pool, rnn, gated; threads/BLAS plumbing
    nn/         activations, losses, MLP, CNN layers, attention, and the models built from them
    train/      optimizers, fit (the one training loop), gradient checking
    data/       data sets and sequence tasks (generated or bundled; nothing downloaded)
    teach/      the chapters' teaching helpers, one module per idea
    display/    figure style, diagrams, the chapters' drawings, experiments (widgets), glue

``import nnbook`` is cheap: the names below are imported on first use (``nnbook._lazy``).
"""
from ._lazy import lazy_getattr

__version__ = "0.1.0"

#: the public API, grouped by layer: name -> module (relative to nnbook) that defines it
_API = {
    # nn: activations, losses, the MLP, layers
    **dict.fromkeys(["sigmoid", "tanh", "relu", "gelu", "softmax", "derivative"], "nn.activations"),
    **dict.fromkeys(["loss", "loss_from_activations", "output_delta"], "nn.losses"),
    **dict.fromkeys(["MLP", "Trace"], "nn.mlp"),
    **dict.fromkeys(["Sequential"], "nn.layers"),
    # nn: attention and the models of Part IV
    **dict.fromkeys(["attention", "attention_backward", "self_attention", "self_attention_backward",
                     "multi_head_attention", "multi_head_attention_backward",
                     "positional_encoding", "causal_mask"], "nn.attention"),
    **dict.fromkeys(["SelfAttentionModel"], "nn.attention_model"),
    **dict.fromkeys(["ReadThenWriteLSTM"], "nn.read_then_write"),
    # nn: the Transformer (chapter 13)
    **dict.fromkeys(["layer_norm", "layer_norm_backward", "transformer_block",
                     "transformer_block_backward", "TransformerLM"], "nn.transformer"),
    # kernels: convolution, pooling, recurrent cells; the kernels' threads
    **dict.fromkeys(["set_num_threads", "get_num_threads"], "kernels.threads"),
    **dict.fromkeys(["conv2d", "conv2d_backward", "output_size"], "kernels.conv"),
    **dict.fromkeys(["pool2d", "pool2d_backward"], "kernels.pool"),
    **dict.fromkeys(["rnn_forward", "rnn_bptt", "rnn_params", "state_jacobians"], "kernels.rnn"),
    **dict.fromkeys(["lstm_forward", "lstm_bptt", "lstm_params",
                     "gru_forward", "gru_bptt", "gru_params"], "kernels.gated"),
    # train: optimizers, the training loop, gradient checks
    **dict.fromkeys(["SGD", "Adam", "clip_grad_norm"], "train.optimizers"),
    **dict.fromkeys(["fit", "TrainLog", "Diverged", "EarlyStopping"], "train.fit"),
    **dict.fromkeys(["fit_mlp"], "train.mlp"),
    **dict.fromkeys(["gradcheck", "numerical_gradient", "numerical_hessian"], "train.gradcheck"),
    # data: sequence tasks
    **dict.fromkeys(["adding_problem", "reverse_digits"], "data.tasks"),
    # teach: experiment runners the issues name
    **dict.fromkeys(["train_sequence_model"], "teach.sequence_runs"),
}

__all__ = sorted(_API) + ["checks", "kernels", "nn", "train", "data", "teach", "display"]

__getattr__ = lazy_getattr(__name__, _API)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
