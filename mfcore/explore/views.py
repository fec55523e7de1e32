"""Whole-model views: a 2-D map of the factors (PCA) and the ranking table against baselines with its
reading.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import Ratings
from ..evaluation import metrics
from ..models.sgd import SGDFactorizer


def project_2d(factors: np.ndarray) -> tuple[np.ndarray, float]:
    r"""PCA of the rows of ``factors`` onto their first two principal axes. With :math:`X` the
    centred rows, the axes are the top two eigenvectors of the :math:`K \times K` scatter matrix
    :math:`X^\top X` (eigenvalues :math:`\lambda_1 \ge \lambda_2 \ge \dots`); the coordinates are
    :math:`X` times them. Returns the ``(n, 2)`` coordinates and the share of the total variance they
    keep, :math:`(\lambda_1 + \lambda_2) / \sum_j \lambda_j`. (The K x K eigenproblem is far cheaper
    than an SVD of the n x K matrix for the thousands of rows of a map.)"""
    centred = np.asarray(factors, dtype=np.float64)
    centred = centred - centred.mean(axis=0)
    if centred.shape[0] < 2 or centred.shape[1] < 1:
        return np.zeros((centred.shape[0], 2)), float("nan")
    eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred)
    top = np.argsort(eigenvalues)[::-1][:2]
    coords = centred @ eigenvectors[:, top]
    if coords.shape[1] < 2:
        coords = np.hstack([coords, np.zeros((len(coords), 1))])
    total = float(np.clip(eigenvalues, 0, None).sum())
    return coords, float(np.clip(eigenvalues[top], 0, None).sum() / total) if total > 0 else float("nan")


def ranking_table(model: SGDFactorizer, train: Ratings, test: Ratings, k: int = 10,
                  threshold: float = 4.0, seed: int = 0, max_users: int | None = None) -> pd.DataFrame:
    """Precision, recall, NDCG, MAP at ``k`` and coverage (see :func:`mfcore.evaluation.metrics.ranking_metrics`)
    of the model, a popularity baseline (items by training positives, ratings >=
    ``threshold``) and a random one (``seed``), with
    the test RMSE beside them (the baselines rank without predicting ratings: no RMSE). With
    ``max_users``, all three rank the same random sample (``seed``) of at most that many test users;
    column ``users`` says how many were evaluated and ``eligible`` how many could have been."""
    rows = []
    for name, scorer in (("model", metrics.model_scorer(model)),
                         ("popularity", metrics.popularity_scorer(train, threshold)),
                         ("random", metrics.random_scorer(train.n_items, seed))):
        result = metrics.ranking_metrics(scorer, train, test, k, threshold, max_users=max_users, seed=seed)
        rows.append({"ranker": name, **{f"{c}@{k}" if c != "coverage" else c: result[c]
                                        for c in metrics.RANKING_COLUMNS},
                     "users": result["users"], "eligible": result["eligible"]})
    table = pd.DataFrame(rows)
    table["test RMSE"] = [model.evaluate(test)["rmse"] if len(test) else float("nan"),
                          float("nan"), float("nan")]
    return table


def ranking_reading(table: pd.DataFrame, k: int) -> str:
    """One sentence read from :func:`ranking_table`'s numbers: which ranker has the best NDCG@k."""
    ndcg = dict(zip(table["ranker"], table[f"ndcg@{k}"]))
    rmse = float(table.loc[table["ranker"] == "model", "test RMSE"].iloc[0])
    model, popular, random = ndcg["model"], ndcg["popularity"], ndcg["random"]
    if not np.isfinite(model):
        return "No test rating reaches the relevance threshold, so there is nothing to rank."
    rmse_text = f" (test RMSE {rmse:.3f})" if np.isfinite(rmse) else ""
    versus_random = (f"{metrics.times(model, random)} random's {random:.3f}" if random > 0
                     else f"random scores {random:.3f}")
    if model > popular:
        return (f"The model{rmse_text} ranks better than popularity: NDCG@{k} {model:.3f} against "
                f"{popular:.3f}, and {versus_random}.")
    return (f"Popularity ranks better than the model: NDCG@{k} {popular:.3f} against the model's "
            f"{model:.3f}{rmse_text}, {versus_random}: a good RMSE is not a good top-{k}.")
