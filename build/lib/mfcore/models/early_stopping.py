"""Early stopping on a validation set: keep the best epoch's parameters, stop after ``patience`` epochs
without an improvement of more than ``min_delta``.
"""

from __future__ import annotations


class EarlyStopping:
    """Tracks the best validation RMSE, keeps a copy of that epoch's parameters, and says when
    ``patience`` epochs have passed without an improvement of more than ``min_delta``."""

    def __init__(self, patience: int, min_delta: float):
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_epoch, self.waited, self.saved = None, 0, 0, None

    def update(self, epoch: int, rmse: float, model) -> bool:
        """Record ``epoch``'s validation ``rmse``; True when training should stop."""
        if self.best is None or rmse < self.best - self.min_delta:
            self.best, self.best_epoch, self.waited = rmse, epoch, 0
            self.saved = tuple(getattr(model, name).copy() for name in ("P_", "Q_", "bu_", "bi_"))
            return False
        self.waited += 1
        return self.waited >= self.patience

    def restore(self, model) -> int:
        """Put the best epoch's parameters back into ``model``; returns that epoch."""
        if hasattr(model, "P_") and self.saved is not None:
            for name, array in zip(("P_", "Q_", "bu_", "bi_"), self.saved):
                getattr(model, name)[...] = array
        return self.best_epoch
