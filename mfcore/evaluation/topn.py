r"""The one top-N protocol, for every model (rating or ranking) and baseline (popularity, random).

1. Split: :func:`holdout_positives` holds out a seeded random ``test_size`` share of each user's
   positives (ratings >= the threshold); everything else (the other positives and every rating below
   the threshold) is training data. Users with fewer than ``min_positives`` positives keep them all.
2. Rank: every evaluated user's scores over ALL items, less the items the user rated in training and
   items nobody rated in training; the top ``k`` form the list (no sampled candidates).
3. Measure: precision, recall, NDCG and MAP at ``k`` (relevant = the user's held-out positives),
   coverage of the item catalogue and the mean popularity of what is recommended
   (:func:`mfcore.models.topn_metrics.topn_metrics`, which states the formulas).

A model is anything with the scoring contract ``scores(user_ids) -> (n, n_items)`` over the
training set's ``item_ids`` (:func:`model_scorer`); a scorer is a callable from user codes to such a
matrix (:func:`~mfcore.evaluation.metrics.popularity_scorer`, the one popularity baseline,
:func:`random_scorer`, or one written for another library's factors).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import Ratings
from ..models.ranking import POSITIVE_LEVEL, positive_mask, positive_threshold
from ..models.topn_metrics import TOPN_COLUMNS, topn_metrics
from .metrics import popularity_scorer, random_scorer

__all__ = ["TOPN_COLUMNS", "evaluate", "holdout_positives", "model_scorer", "popularity_scorer",
           "random_scorer", "scale_threshold", "topn_metrics", "topn_table"]


def scale_threshold(ratings: Ratings, level: float | None = POSITIVE_LEVEL) -> float | None:
    """The positive threshold of ``ratings``' scale at ``level`` (0.75: >= 4 of 1..5); None: every
    rating is a positive."""
    return positive_threshold(ratings.scale, level)


def holdout_positives(ratings: Ratings, test_size: float = 0.2, threshold: float | None = None,
                      seed: int = 0, min_positives: int = 2) -> tuple[Ratings, Ratings]:
    """``(train, test)``: for each user with at least ``min_positives`` positives (ratings >=
    ``threshold``; the scale's default threshold when None), ``round(test_size * n)`` of their ``n``
    positives, at least 1 and at most ``n - 1``, drawn at random from ``default_rng(seed)``, go to
    ``test``; everything else stays in ``train``. Both keep the full id maps."""
    if not 0 < test_size < 1:
        raise ValueError(f"test_size == {test_size}, must be in (0, 1).")
    threshold = scale_threshold(ratings) if threshold is None else threshold
    rows = np.flatnonzero(positive_mask(ratings.values, threshold))
    rng = np.random.default_rng(seed)
    users = ratings.users[rows]
    order = np.lexsort((rng.random(len(rows)), users))  # by user, random within a user
    rows, users = rows[order], users[order]
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]]) if len(rows) else np.zeros(0, np.int64)
    sizes = np.diff(np.r_[starts, len(rows)])
    n_test = np.clip(np.rint(test_size * sizes), 1, np.maximum(sizes - 1, 0)).astype(np.int64)
    n_test[sizes < max(min_positives, 2)] = 0
    rank = np.arange(len(rows)) - np.repeat(starts, sizes)
    test_mask = np.zeros(len(ratings), bool)
    test_mask[rows[rank < np.repeat(n_test, sizes)]] = True
    return ratings.take(~test_mask), ratings.take(test_mask)


def model_scorer(model, train: Ratings):
    """A scorer (user codes -> scores) of a model with the scoring contract, fitted on ``train`` (or
    on data with the same id maps)."""
    if len(model.item_ids_) != train.n_items or len(model.user_ids_) != train.n_users:
        raise ValueError("the model's id maps differ from the training set's.")
    if hasattr(model, "score_codes"):
        return model.score_codes
    return lambda codes: model.scores(train.user_ids[codes])


def evaluate(model_or_scorer, train: Ratings, test: Ratings, k: int = 10, threshold: float | None = None,
             max_users: int | None = None, seed: int = 0) -> dict:
    """:func:`topn_metrics` of a model (scoring contract) or a scorer; ``threshold`` None means the
    scale's default positive threshold."""
    threshold = scale_threshold(train) if threshold is None else threshold
    scorer = (model_scorer(model_or_scorer, train) if hasattr(model_or_scorer, "item_ids_")
              else model_or_scorer)
    return topn_metrics(scorer, train, test, k, threshold, max_users=max_users, seed=seed)


def topn_table(models: dict, train: Ratings, test: Ratings, k: int = 10, threshold: float | None = None,
               max_users: int | None = None, seed: int = 0, baselines: bool = True) -> pd.DataFrame:
    """One row per model (``{name: model or scorer}``) and, with ``baselines``, for popularity and
    random: the :data:`TOPN_COLUMNS` at ``k`` and the number of users evaluated."""
    rankers = dict(models)
    if baselines:
        rankers["popularity"] = popularity_scorer(train, scale_threshold(train) if threshold is None
                                                  else threshold)
        rankers["random"] = random_scorer(train.n_items, seed)
    rows = []
    for name, ranker in rankers.items():
        found = evaluate(ranker, train, test, k, threshold, max_users, seed)
        rows.append({"model": name, **{column: found[column] for column in TOPN_COLUMNS},
                     "users": found["users"]})
    return pd.DataFrame(rows)
