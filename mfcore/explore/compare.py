"""The rating model beside the ranking models (BPR, ALS) and popularity: each one's top-N list for a
user of the training set or for a new user's ratings (fold-in), and the top-N metrics of all of them
on the same training and test ratings, with a sentence read from the numbers.

``models`` is ``{name: fitted model}``: an :class:`~mfcore.SGDFactorizer` (rating model: predicted
ratings, its lists under a minimum support, :mod:`.support`) or a ranking model with the scoring
contract (``score_codes``, ``fold_in``, ``vector_scores``). Popularity ranks by training positives.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import Ratings
from ..evaluation import metrics, topn
from ..evaluation.newuser import POPULAR_ITEMS, genre_matrix
from ..models.ranking import item_positive_counts
from ..models.sgd import SGDFactorizer
from .lookup import item_codes
from .recommend import fold_in, recommend_scores, top_items

__all__ = ["METRIC_NAMES", "POPULARITY", "list_numbers", "lists_for_new_user", "lists_for_user", "topn_comparison",
           "topn_reading"]

POPULARITY = "popularity"
METRIC_NAMES = {"ndcg": "NDCG", "recall": "recall", "precision": "precision", "map": "MAP"}
"""The metrics the comparison chart shows, by :data:`mfcore.evaluation.topn.TOPN_COLUMNS` name."""


def _positive_counts(train: Ratings) -> np.ndarray:
    return item_positive_counts(train, topn.scale_threshold(train))


def _best(scores: np.ndarray, counts: np.ndarray, exclude: np.ndarray, n: int, min_ratings: int = 0):
    scores = np.array(scores, dtype=np.float64)
    scores[counts < max(int(min_ratings), 1)] = -np.inf
    scores[np.asarray(exclude, dtype=np.int64)] = -np.inf
    order = np.argsort(-scores, kind="stable")[:n]
    return order[np.isfinite(scores[order])]


def lists_for_user(models: dict, train: Ratings, user: int, n: int = 10, min_ratings: int = 0) -> dict:
    """``{name: item codes, best first}`` for user code ``user``: every model's top ``n`` and
    popularity's, each leaving out what the user rated in ``train``; ``min_ratings`` (the minimum
    support) applies to the rating model only."""
    counts = np.bincount(train.items, minlength=train.n_items)
    rated = train.items[train.users == user]
    lists = {}
    for name, model in models.items():
        if isinstance(model, SGDFactorizer):
            scores = recommend_scores(model, model.P_[user], float(model.bu_[user]))
            lists[name] = top_items(model, scores, rated, n, counts, min_ratings)
        else:
            lists[name] = _best(model.score_codes(np.array([user]))[0], counts, rated, n)
    lists[POPULARITY] = _best(_positive_counts(train), counts, rated, n)
    return lists


def lists_for_new_user(models: dict, train: Ratings, items, ratings, n: int = 10, min_ratings: int = 0) -> dict:
    """``{name: item codes}`` for a user the models were not trained on, from their ``ratings`` of
    ``items`` (original ids): the rating model folds them in by its closed-form ridge solve
    (:func:`mfcore.explore.fold_in`), each ranking model by its own ``fold_in``; the rated items are
    left out of every list."""
    counts = np.bincount(train.items, minlength=train.n_items)
    lists = {}
    for name, model in models.items():
        codes = item_codes(model, items)
        rated = codes[codes >= 0]
        if isinstance(model, SGDFactorizer):
            folded = fold_in(model, items, ratings)
            lists[name] = top_items(model, recommend_scores(model, folded.p, folded.bu), rated, n, counts,
                                    min_ratings)
        else:
            lists[name] = _best(model.vector_scores(model.fold_in(items, ratings)), counts, rated, n)
    rated = item_codes(next(iter(models.values())), items) if models else np.zeros(0, np.int64)
    lists[POPULARITY] = _best(_positive_counts(train), counts, rated[rated >= 0], n)
    return lists


def list_numbers(lists: dict, train: Ratings, known, genres=None) -> pd.DataFrame:
    """The two numbers a student reads off each list of ``lists`` (``{name: item codes}``), the new-user
    protocol's (:mod:`mfcore.evaluation.newuser`): ``popular``, how many of its items are among the
    :data:`~mfcore.evaluation.newuser.POPULAR_ITEMS` items with the most ``train`` ratings, and
    ``genre``, how many share a genre with the ``known`` items (codes: the user's positives), with
    ``genres`` one ``"A|B"`` string per item code (``genre`` is NaN when ``genres`` is None, names no
    genre, or ``known`` is empty); ``length`` is the list's length, ``popular_share`` and
    ``genre_share`` the counts over it. One row per list, in ``lists`` order."""
    counts = np.bincount(train.items, minlength=train.n_items)
    popular = np.zeros(train.n_items, bool)
    popular[np.argsort(-counts, kind="stable")[:POPULAR_ITEMS]] = True
    matrix = genre_matrix(genres, train.n_items)
    known = np.asarray(known, np.int64)
    liked = (np.asarray(matrix[known].sum(axis=0)).ravel() > 0
             if matrix is not None and len(known) else None)
    rows = []
    for name, codes in lists.items():
        codes = np.asarray(codes, np.int64)
        shared = (float((matrix[codes].toarray() & liked).any(axis=1).sum())
                  if liked is not None and liked.any() else float("nan"))
        length = len(codes)
        rows.append({"model": name, "length": length, "popular": int(popular[codes].sum()), "genre": shared,
                     "popular_share": popular[codes].mean() if length else float("nan"),
                     "genre_share": shared / length if length else float("nan")})
    return pd.DataFrame(rows, columns=["model", "length", "popular", "genre", "popular_share", "genre_share"])


def _supported(scorer, counts: np.ndarray, min_ratings: int):
    hidden = counts < min_ratings

    def scores(users: np.ndarray) -> np.ndarray:
        out = np.array(scorer(users), dtype=np.float64)
        out[:, hidden] = -np.inf
        return out
    return scores


def topn_comparison(models: dict, train: Ratings, test: Ratings, k: int = 10, max_users: int | None = None,
                    seed: int = 0, min_ratings: int = 0) -> pd.DataFrame:
    """One row per model, then ``rating model, support >= N`` (the rating model's lists under the
    minimum support ``min_ratings``, when it is above 1), popularity and random: the top-``k`` metrics
    of :func:`mfcore.evaluation.topn.evaluate` on ``test`` (relevant = its positives by the scale's
    threshold), all models trained on ``train``, the same users (a seeded sample of ``max_users``)."""
    counts = np.bincount(train.items, minlength=train.n_items)
    rankers = {}
    for name, model in models.items():
        if isinstance(model, SGDFactorizer):
            rankers[name] = metrics.model_scorer(model)
            if min_ratings > 1:
                rankers[f"{name}, support >= {min_ratings}"] = _supported(rankers[name], counts, min_ratings)
        else:
            rankers[name] = model.score_codes
    threshold = topn.scale_threshold(train)
    rankers[POPULARITY] = topn.popularity_scorer(train, threshold)
    rankers["random"] = topn.random_scorer(train.n_items, seed)
    rows = []
    for name, scorer in rankers.items():
        found = topn.evaluate(scorer, train, test, k, threshold, max_users, seed)
        rows.append({"model": name, **{column: found[column] for column in topn.TOPN_COLUMNS},
                     "users": found["users"], "eligible": found["eligible"]})
    return pd.DataFrame(rows)


def _times(a: float, b: float) -> str:
    return metrics.times(a, b) if b > 0 else "above"


def topn_reading(table: pd.DataFrame, k: int = 10, rating_model: str | None = None) -> str:
    """One or two sentences read from :func:`topn_comparison`'s numbers: which ranker has the best
    NDCG@``k``, against popularity and the rating model (named ``rating_model``)."""
    ndcg = dict(zip(table["model"], table["ndcg"]))
    if not all(np.isfinite(value) for value in ndcg.values()):
        return "No test rating is a positive, so there is nothing to rank."
    ranked = sorted((name for name in ndcg if name != "random"), key=lambda name: -ndcg[name])
    best, popular = ranked[0], ndcg[POPULARITY]
    if best == POPULARITY:
        text = f"Popularity ranks best: NDCG@{k} {popular:.3f}, above every model here."
    else:
        text = (f"{best} ranks best: NDCG@{k} {ndcg[best]:.3f}, {_times(ndcg[best], popular)} popularity's "
                f"{popular:.3f}")
        if rating_model in ndcg and rating_model != best:
            text += f" and {_times(ndcg[best], ndcg[rating_model])} the rating model's {ndcg[rating_model]:.3f}"
        text += "."
    if rating_model in ndcg and ndcg[rating_model] < popular:
        text += (f" The rating model ranks below popularity ({ndcg[rating_model]:.3f}): trained for a low RMSE,"
                 f" it is not trained for a good top-{k}.")
    return text
