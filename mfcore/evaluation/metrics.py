"""Top-N ranking metrics (precision, recall, NDCG, MAP@k, coverage) of a scorer against held-out ratings,
computed by :func:`mfcore.models.topn_metrics.topn_metrics` (the one implementation);
``rmse`` and ``mae`` (rating errors) are :mod:`mfcore.models.errors`'s, re-exported here.
"""

from __future__ import annotations

import numpy as np

from ..models.errors import mae, rmse
from ..models.topn_metrics import topn_metrics

__all__ = ["rmse", "mae", "RANKING_COLUMNS", "model_scorer", "popularity_scorer", "random_scorer",
           "ranking_metrics", "times"]


RANKING_COLUMNS = ("precision", "recall", "ndcg", "map", "coverage")
"""The five numbers of :func:`ranking_metrics` (the first five of ``TOPN_COLUMNS``)."""


def times(a: float, b: float) -> str:
    """``a`` as a multiple of ``b`` > 0 in words: "2.0 times", or with two decimals below 1.1
    ("0.98 times"), where one decimal would make a score just under ``b`` read "1.0 times"."""
    ratio = a / b
    return f"{ratio:.2f} times" if ratio < 1.1 else f"{ratio:.1f} times"


def model_scorer(model):
    r"""Scores of every item for a batch of user codes: :math:`\mu + b_u + b_i + p_u^\top q_i`
    (unclipped, so ties at the top of the scale keep their order)."""
    item_part = model.global_mean_ + model.bi_.astype(np.float64)

    def scores(users: np.ndarray) -> np.ndarray:
        return item_part + model.bu_[users, None] + model.P_[users] @ model.Q_.T
    return scores


def popularity_scorer(train, threshold: float | None | str = "scale"):
    """Every user gets the same scores: each item's number of training positives, the popularity every
    model falls back on for a user it knows no positive of. Positives are the ratings >= ``threshold``;
    ``"scale"`` (the default) is the scale's default positive threshold (>= 4 of 1..5) and None counts
    every rating."""
    from ..models.ranking import POSITIVE_LEVEL, item_positive_counts, positive_threshold

    if threshold == "scale":
        threshold = positive_threshold(train.scale, POSITIVE_LEVEL)
    counts = item_positive_counts(train, threshold)
    return lambda users: np.broadcast_to(counts, (len(users), len(counts)))


def random_scorer(n_items: int, seed: int = 0):
    """Independent uniform random scores for every (user, item), from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    return lambda users: rng.random((len(users), n_items))


def ranking_metrics(scorer, train, test, k: int = 10, threshold: float | None = 4.0,
                    batch_size: int = 1024, max_users: int | None = None, seed: int = 0) -> dict:
    r"""Top-``k`` ranking quality of ``scorer`` (user codes -> a users x items score matrix) on ``test``:
    :func:`mfcore.models.topn_metrics.topn_metrics` (the one implementation, which states the protocol
    and the formulas of precision, recall, NDCG, MAP@k and coverage), keeping the five
    :data:`RANKING_COLUMNS`, ``users`` (evaluated) and ``eligible`` (with a relevant test rating).
    All five are NaN when no test rating reaches ``threshold``."""
    found = topn_metrics(scorer, train, test, k, threshold, batch_size=batch_size, max_users=max_users,
                         seed=seed)
    return {name: found[name] for name in (*RANKING_COLUMNS, "users", "eligible")}
