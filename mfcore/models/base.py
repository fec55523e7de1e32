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
    """Raise :class:`NotFittedError` unless ``model`` holds fitted arrays (:func:`is_fitted`): it was fitted,
    or stopped after at least one epoch, and has not diverged since."""
    if not is_fitted(model):
        raise NotFittedError(f"this {type(model).__name__} is not fitted yet, call fit first.")


def is_fitted(model) -> bool:
    """Whether :func:`check_is_fitted` would pass: the first of the class's ``FITTED_ARRAYS`` (``P_``
    when it names none) is set."""
    names = getattr(type(model), "FITTED_ARRAYS", ("P_",))
    return getattr(model, names[0], None) is not None


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


class TrainingIndex:
    """What every model keeps of its training set, for scoring and ``recommend``: the id maps and
    which (user, item) pairs were rated (not the ratings), as a users x items CSR matrix built on
    first use. :func:`~mfcore.models.persist.load_bundle` restores a model through
    :meth:`_index_training`, the same method ``fit_iter`` uses: change both together."""

    def _index_training(self, train) -> None:
        self.user_ids_, self.item_ids_ = train.user_ids, train.item_ids
        self._id_maps = train.take(slice(0, 0))  # no ratings: the id maps (indexed by _id_lookup)
        self._rated_pairs = (train.users, train.items)  # the rated-items index is built on first use
        self._rated = None
        self.n_train_ratings_ = len(train)

    def _id_lookup(self):
        """The id maps with their id-to-code indexes, built on the first lookup and kept by the model."""
        if not self._id_maps.is_indexed:
            self._id_maps = self._id_maps.indexed()
        return self._id_maps

    def _rated_index(self):
        """The training pairs as a users x items CSR matrix and the mask of items with a training
        rating, built from the codes kept by :meth:`_index_training` the first time they are needed."""
        if self._rated is None:
            import scipy.sparse as sp  # only here: importing it costs start-up time

            users, items = self._rated_pairs
            matrix = sp.csr_matrix((np.ones(len(users), np.int8), (users, items)),
                                   shape=(len(self.user_ids_), len(self.item_ids_)))
            self._rated, self._rated_pairs = (matrix, matrix.getnnz(axis=0) > 0), None
        return self._rated

    def rated_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """The (user codes, item codes) of the training ratings, sorted by user then item."""
        check_is_fitted(self)
        rated, _ = self._rated_index()
        return np.repeat(np.arange(rated.shape[0], dtype=np.int32), np.diff(rated.indptr)), rated.indices
