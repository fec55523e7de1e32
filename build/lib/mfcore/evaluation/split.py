"""Train/test splits of a :class:`~mfcore.data.Ratings` table.

Both halves keep the full id maps, so codes mean the same thing in each; a user or item that appears
only in the test half is "unknown" to a model trained on the other and gets the bias-only fallback.
"""

from __future__ import annotations

import numpy as np

from ..data import DataError, Ratings
from ..models.params import SPLIT_PARAMETERS

TEST_SIZE = SPLIT_PARAMETERS["test_size"].default


def random_split(ratings: Ratings, test_size: float = TEST_SIZE, seed: int = 0) -> tuple[Ratings, Ratings]:
    """A uniformly random holdout of ``round(test_size * n)`` ratings (0 <= test_size < 1)."""
    if not 0 <= test_size < 1:
        raise ValueError(f"test_size == {test_size}, must be in [0, 1).")
    n_test = int(round(test_size * len(ratings)))
    if n_test == 0:
        return ratings, ratings.take(np.zeros(0, dtype=np.int64))
    rows = np.random.default_rng(seed).permutation(len(ratings))
    # the test rows are the permutation's first n_test; both halves keep the file order, which a mask
    # gives without sorting either half (the same rows as sorting rows[n_test:] and rows[:n_test]:
    # at 100M ratings the two sorts and the gathers took ~5 s)
    test_mask = np.zeros(len(ratings), dtype=bool)
    test_mask[rows[:n_test]] = True
    del rows
    return ratings.take(~test_mask), ratings.take(test_mask)


def per_user_split(ratings: Ratings, n_test: int = 1, seed: int = 0) -> tuple[Ratings, Ratings]:
    """Hold out ``n_test`` random ratings of every user who has more than ``n_test`` of them."""
    if n_test < 1:
        raise ValueError(f"n_test == {n_test}, must be >= 1.")
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(ratings)), ratings.users))  # by user, random within a user
    return _split_by_rank(ratings, order, n_test)


def temporal_split(ratings: Ratings, test_size: float = TEST_SIZE, per_user: bool = False,
                   n_test: int = 1) -> tuple[Ratings, Ratings]:
    """Hold out the latest ratings: the last ``test_size`` fraction overall, or with ``per_user`` each
    user's last ``n_test`` ratings (users with more than ``n_test``). Needs timestamps."""
    if ratings.timestamps is None:
        raise DataError("a temporal split needs timestamps, and these ratings have none.")
    if per_user:
        order = np.lexsort((-ratings.timestamps, ratings.users))  # by user, newest first
        return _split_by_rank(ratings, order, n_test)
    if not 0 <= test_size < 1:
        raise ValueError(f"test_size == {test_size}, must be in [0, 1).")
    order = np.argsort(ratings.timestamps, kind="stable")
    n_test = int(round(test_size * len(ratings)))
    cut = len(ratings) - n_test
    return ratings.take(np.sort(order[:cut])), ratings.take(np.sort(order[cut:]))


def _split_by_rank(ratings: Ratings, order: np.ndarray, n_test: int) -> tuple[Ratings, Ratings]:
    """``order`` groups rows by user; the first ``n_test`` of each big-enough group go to test."""
    grouped_users = ratings.users[order]
    starts = np.flatnonzero(np.r_[True, grouped_users[1:] != grouped_users[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    rank = np.arange(len(order)) - np.repeat(starts, sizes)
    to_test = (rank < n_test) & np.repeat(sizes > n_test, sizes)
    test_mask = np.zeros(len(ratings), dtype=bool)
    test_mask[order[to_test]] = True
    return ratings.take(~test_mask), ratings.take(test_mask)
