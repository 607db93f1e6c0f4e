"""Integer token sequences (Part IV models): validation and accuracy."""
from __future__ import annotations

import numpy as np

__all__ = ["check_tokens", "token_accuracy"]


def check_tokens(X, T: int, n_tokens: int, name: str = "tokens") -> np.ndarray:
    """Integer tokens of shape (B, T) in 0..n_tokens-1; ``name`` is the argument in messages."""
    X = np.asarray(X)
    if not np.issubdtype(X.dtype, np.integer):
        raise ValueError(f"{name} must be integers, got dtype {X.dtype}")
    if X.ndim != 2 or X.shape[1] != T:
        raise ValueError(f"{name} must have shape (B, T={T}), got {X.shape}")
    if X.size and (X.min() < 0 or X.max() >= n_tokens):
        raise ValueError(f"{name} must lie in 0..{n_tokens - 1}, got {X.min()}..{X.max()}")
    return X


def token_accuracy(pred: np.ndarray, Y: np.ndarray) -> tuple[float, float]:
    ok = pred == Y
    return float(ok.mean()), float(ok.all(axis=1).mean())
