"""Recommendations and their reasons: folding in a new user, scores, top items, similar items, the
bias and dot-product parts of a score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..models.base import best_codes, check_is_fitted
from ..models.sgd import SGDFactorizer
from .lookup import item_codes, training_counts


@dataclass(frozen=True)
class FoldedUser:
    """A user the model was not trained on: factors ``p`` (length K) and bias ``bu``, fitted to
    ``items`` (codes) and ``ratings`` with the item side fixed."""

    p: np.ndarray
    bu: float
    items: np.ndarray
    ratings: np.ndarray


def fold_in(model: SGDFactorizer, items, ratings, reg: float | None = None) -> FoldedUser:
    r"""Fit a new user's :math:`p_u, b_u` to ``ratings`` of ``items`` (original ids), keeping
    :math:`\mu, b_i, q_i` fixed: the closed-form ridge solution of

    .. math::
        \min_{p_u, b_u} \sum_{i \in I_u} (r_{ui} - \mu - b_i - b_u - p_u^\top q_i)^2
            + \lambda |I_u| (\lVert p_u \rVert^2 + b_u^2)

    that is, with :math:`z_i = (q_i, 1)`, :math:`x = (p_u, b_u)` and :math:`y_i = r_{ui} - \mu - b_i`:
    :math:`x = (Z^\top Z + \lambda |I_u| I)^{-1} Z^\top y`. The penalty is :math:`\lambda |I_u|`
    because SGD applies :math:`\lambda` once per visited rating, so this is the point training's
    per-rating updates settle at for that user. ``reg`` (:math:`\lambda`) defaults to the model's
    ``reg``. Without biases (``biased=False``) :math:`\mu = b_i = b_u = 0`.

    Why closed form rather than a few SGD steps: with the item side fixed the objective is a convex
    quadratic in :math:`K+1` unknowns, so one linear solve gives its exact minimum (for fewer ratings
    than unknowns the equivalent dual form solves only a :math:`|I_u| \times |I_u|` system), in well
    under a millisecond at K=100; it has no learning rate or step count to choose, does not
    depend on the order of the ratings, and the same ratings always give the same recommendations.
    Ratings of items the model does not know are ignored; a repeated item keeps its last rating.
    """
    check_is_fitted(model)
    codes = item_codes(model, items)
    values = np.atleast_1d(np.asarray(ratings, dtype=np.float64))
    if len(codes) != len(values):
        raise ValueError(f"{len(codes)} items but {len(values)} ratings.")
    keep = codes >= 0
    codes, values = codes[keep], values[keep]
    _, last = np.unique(codes[::-1], return_index=True)
    chosen = np.sort(len(codes) - 1 - last)
    codes, values = codes[chosen], values[chosen]
    k = model.Q_.shape[1]
    lam = model.reg if reg is None else reg
    if len(codes) == 0:
        return FoldedUser(np.zeros(k, model.P_.dtype), 0.0, codes, values.astype(np.float32))
    biased = bool(model.biased)
    Z = model.Q_[codes].astype(np.float64)
    target = values - (model.global_mean_ + model.bi_[codes].astype(np.float64) if biased else 0.0)
    if biased:
        Z = np.hstack([Z, np.ones((len(codes), 1))])
    solution = _ridge(Z, target, lam * len(codes))
    p = solution[:k].astype(model.P_.dtype)
    return FoldedUser(p, float(solution[k]) if biased else 0.0, codes, values.astype(np.float32))


def _ridge(Z: np.ndarray, y: np.ndarray, penalty: float) -> np.ndarray:
    r""":math:`x = (Z^\top Z + \text{penalty}\, I)^{-1} Z^\top y`. With fewer rows than columns (a
    handful of ratings, K+1 unknowns) the identical dual form
    :math:`Z^\top (Z Z^\top + \text{penalty}\, I)^{-1} y` solves an n x n system instead of a
    (K+1) x (K+1) one. Without a penalty, the minimum-norm least-squares solution."""
    if penalty == 0:
        return np.linalg.lstsq(Z, y, rcond=None)[0]
    n, dim = Z.shape
    if n < dim:
        return Z.T @ np.linalg.solve(Z @ Z.T + penalty * np.eye(n), y)
    return np.linalg.solve(Z.T @ Z + penalty * np.eye(dim), Z.T @ y)


def recommend_scores(model: SGDFactorizer, p: np.ndarray, bu: float) -> np.ndarray:
    r"""Predicted rating of every item for factors ``p`` and bias ``bu``:
    :math:`\mu + b_u + b_i + p^\top q_i` (unclipped)."""
    return model.global_mean_ + bu + model.bi_.astype(np.float64) + model.Q_ @ p


def top_items(model: SGDFactorizer, scores: np.ndarray, exclude=(), n: int = 10,
              counts: np.ndarray | None = None, min_ratings: int = 0) -> np.ndarray:
    """Codes of the ``n`` best-scored items, best first, leaving out ``exclude`` (codes), items the
    model never trained (they have no factors to rank them by) and items with fewer than
    ``min_ratings`` training ratings (the minimum support, :mod:`mfcore.explore.support`). ``counts``
    is :func:`training_counts` when the caller has it already."""
    scores = np.array(scores, dtype=np.float64)
    scores[(training_counts(model) if counts is None else counts) < max(int(min_ratings), 1)] = -np.inf
    scores[np.asarray(exclude, dtype=np.int64)] = -np.inf
    return best_codes(scores, n)


def _unit_rows(factors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(factors, axis=1, keepdims=True)
    return np.divide(factors, norms, out=np.zeros_like(factors, dtype=np.float64), where=norms > 0)


def similar_items(model: SGDFactorizer, item: int, n: int = 10, min_ratings: int = 0,
                  counts: np.ndarray | None = None) -> pd.DataFrame:
    r"""The ``n`` items nearest to item code ``item`` by cosine similarity of item factors,
    :math:`\cos(q_i, q_j) = q_i^\top q_j / (\lVert q_i \rVert \lVert q_j \rVert)`, among items with at
    least ``min_ratings`` training ratings (the item itself excluded). Columns ``code``, ``cosine``.
    ``counts`` is :func:`training_counts` when the caller has it already."""
    check_is_fitted(model)
    counts = training_counts(model) if counts is None else counts
    unit = _unit_rows(model.Q_.astype(np.float64))
    cosine = unit @ unit[item]
    allowed = (counts >= max(min_ratings, 1)) & (np.linalg.norm(model.Q_, axis=1) > 0)
    allowed[item] = False
    cosine = np.where(allowed, cosine, -np.inf)
    top = best_codes(cosine, n)
    return pd.DataFrame({"code": top, "cosine": cosine[top]})


def explain(model: SGDFactorizer, p: np.ndarray, bu: float, item: int, rated_items: np.ndarray,
            rated_values: np.ndarray, n: int = 3) -> dict:
    r"""Why item code ``item`` scores what it does for a user with factors ``p`` and bias ``bu``:
    the parts of :math:`\hat r = \mu + b_u + b_i + p^\top q_i` (``mean``, ``user_bias``,
    ``item_bias``, ``dot``; ``score`` is their sum, unclipped) and ``because``: the ``n`` items the user
    rated (codes ``rated_items`` with ``rated_values``) nearest to it by cosine of item factors, as a
    list of ``(code, rating, cosine)``."""
    parts = {"mean": float(model.global_mean_), "user_bias": float(bu),
             "item_bias": float(model.bi_[item]), "dot": float(np.dot(p, model.Q_[item]))}
    parts["score"] = sum(parts.values())
    rated_items = np.asarray(rated_items, dtype=np.int64)
    if len(rated_items):
        unit = _unit_rows(model.Q_[np.append(rated_items, item)].astype(np.float64))
        cosine = unit[:-1] @ unit[-1]
        nearest = np.argsort(-cosine, kind="stable")[:n]
        parts["because"] = [(int(rated_items[j]), float(rated_values[j]), float(cosine[j]))
                            for j in nearest]
    else:
        parts["because"] = []
    return parts
