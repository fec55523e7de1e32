"""What every model shares: the per-epoch result, the fitted check, the exceptions, top-n selection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def best_codes(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` highest finite ``scores``, highest first (ties by position); fewer when
    fewer are finite (``-inf`` marks what may not be chosen)."""
    n = int(min(n, np.isfinite(scores).sum()))
    if n <= 0:
        return np.zeros(0, np.int64)
    top = np.argpartition(-scores, n - 1)[:n]
    return top[np.argsort(-scores[top], kind="stable")]


class TrainingDiverged(ValueError):
    """The training error stopped being a finite number."""


class NotFittedError(RuntimeError):
    """The model is used before ``fit``."""


def check_is_fitted(model) -> None:
    """Raise :class:`NotFittedError` unless ``model`` holds fitted factors (``P_``): it was fitted,
    or stopped after at least one epoch, and has not diverged since."""
    if not is_fitted(model):
        raise NotFittedError(f"this {type(model).__name__} is not fitted yet, call fit first.")


def is_fitted(model) -> bool:
    """Whether :func:`check_is_fitted` would pass."""
    return getattr(model, "P_", None) is not None


@dataclass(frozen=True)
class EpochResult:
    """What one epoch produced. ``train_rmse`` is the RMSE of the errors met during the epoch (each
    before its own update, as LibMF reports it); ``test_rmse`` and ``validation_rmse`` are evaluated
    after the epoch, or None without that set; ``seconds`` is the epoch's training time, evaluation
    excluded."""

    epoch: int
    train_rmse: float
    test_rmse: float | None
    seconds: float
    validation_rmse: float | None = None
