r"""What a fitted model learned: recommendations with their explanation, similar items, 2-D maps of
the factors, ranking metrics against baselines, and folding in a new user.

Everything works on codes (row numbers of ``P_`` and ``Q_``) and the model's id maps
``user_ids_`` / ``item_ids_``; item titles and genres come from :func:`item_info`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import metrics
from .data import Ratings
from .model import SGDFactorizer, best_codes, check_is_fitted

__all__ = [
    "FoldedUser",
    "explain",
    "fold_in",
    "item_info",
    "item_stats",
    "project_2d",
    "ranking_reading",
    "ranking_table",
    "ratings_items",
    "recommend_scores",
    "similar_items",
    "top_items",
    "user_ratings",
]


# --- item titles ---------------------------------------------------------------------------------

def ratings_items(ratings: Ratings) -> pd.DataFrame | None:
    """The item metadata loaded with ``ratings`` (``Ratings.item_info``: one row per item code, empty
    text where unknown), as a DataFrame of ``title`` and ``genres`` indexed by item id; None without."""
    info = getattr(ratings, "item_info", None)
    if not isinstance(info, pd.DataFrame) or "title" not in info:
        return None
    return info.replace("", np.nan).set_axis(pd.Index(ratings.item_ids, name="item"))


def item_info(item_ids: np.ndarray, items: pd.DataFrame | None = None) -> pd.DataFrame:
    """``title`` and ``genres`` (``|``-joined, may be empty) of the items ``item_ids``, indexed by
    item id in that order, from ``items`` (indexed by item id, with ``title`` and optional
    ``genres``); an item without a title is called by its id."""
    ids = pd.Index(item_ids, name="item")
    frame = pd.DataFrame({"title": ids.astype(str), "genres": ""}, index=ids)
    if items is not None and "title" in items:
        known = items.reindex(ids)
        frame["title"] = known["title"].where(known["title"].notna(), frame["title"]).astype(str)
        if "genres" in known:
            frame["genres"] = known["genres"].fillna("").astype(str)
    return frame


def item_stats(train: Ratings) -> pd.DataFrame:
    """Per item code: ``ratings`` (count in ``train``) and ``mean`` rating (NaN when unrated)."""
    counts = np.bincount(train.items, minlength=train.n_items)
    sums = np.bincount(train.items, weights=train.values, minlength=train.n_items)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame({"ratings": counts, "mean": sums / counts})


def user_ratings(train: Ratings, user: int) -> tuple[np.ndarray, np.ndarray]:
    """Item codes and ratings of user code ``user`` in ``train``, highest rating first."""
    rows = np.flatnonzero(train.users == user)
    order = np.argsort(-train.values[rows], kind="stable")
    return train.items[rows][order], train.values[rows][order]


# --- scores, recommendations, explanations ------------------------------------------------------

def _lookup(known_ids: np.ndarray, wanted) -> np.ndarray:
    """Positions of ``wanted`` ids (scalar or sequence; numbers or text) in ``known_ids``, -1 where
    absent. Numeric ids match their text form ("7" finds 7); text ids match exactly."""
    wanted = pd.Series(np.atleast_1d(np.asarray(wanted, dtype=object)))
    if known_ids.dtype.kind in "iuf":
        numbers = pd.to_numeric(wanted, errors="coerce").to_numpy(dtype=np.float64)
        return pd.Index(known_ids).get_indexer(numbers).astype(np.int64)
    return pd.Index(np.asarray(known_ids).astype(str)).get_indexer(wanted.astype(str)).astype(np.int64)


def item_codes(model: SGDFactorizer, ids) -> np.ndarray:
    """Codes of original item ids (a scalar or sequence), -1 for ids the model does not know."""
    return _lookup(model.item_ids_, ids)


def user_codes(model: SGDFactorizer, ids) -> np.ndarray:
    """Codes of original user ids (a scalar or sequence), -1 for ids the model does not know."""
    return _lookup(model.user_ids_, ids)


def user_code(model: SGDFactorizer, user) -> int:
    """The code of one original user id, -1 when the model does not know it."""
    return int(_lookup(model.user_ids_, [user])[0])


def training_counts(model: SGDFactorizer) -> np.ndarray:
    """Number of training ratings of every item code."""
    return np.bincount(model.rated_pairs()[1], minlength=len(model.item_ids_))


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
              counts: np.ndarray | None = None) -> np.ndarray:
    """Codes of the ``n`` best-scored items, best first, leaving out ``exclude`` (codes) and items the
    model never trained (they have no factors to rank them by). ``counts`` is
    :func:`training_counts` when the caller has it already."""
    scores = np.array(scores, dtype=np.float64)
    scores[(training_counts(model) if counts is None else counts) == 0] = -np.inf
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


# --- maps -----------------------------------------------------------------------------------------

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


# --- ranking metrics against baselines -------------------------------------------------------------

def ranking_table(model: SGDFactorizer, train: Ratings, test: Ratings, k: int = 10,
                  threshold: float = 4.0, seed: int = 0, max_users: int | None = None) -> pd.DataFrame:
    """Precision, recall, NDCG, MAP at ``k`` and coverage (see :func:`mfcore.metrics.ranking_metrics`)
    of the model, a popularity baseline (items by training count) and a random one (``seed``), with
    the test RMSE beside them (the baselines rank without predicting ratings: no RMSE). With
    ``max_users``, all three rank the same random sample (``seed``) of at most that many test users;
    column ``users`` says how many were evaluated and ``eligible`` how many could have been."""
    rows = []
    for name, scorer in (("model", metrics.model_scorer(model)),
                         ("popularity", metrics.popularity_scorer(train)),
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
    versus_random = (f"{model / random:.1f} times random's {random:.3f}" if random > 0
                     else f"random scores {random:.3f}")
    if model > popular:
        return (f"The model{rmse_text} ranks better than popularity: NDCG@{k} {model:.3f} against "
                f"{popular:.3f}, and {versus_random}.")
    return (f"Popularity ranks better than the model: NDCG@{k} {popular:.3f} against the model's "
            f"{model:.3f}{rmse_text}, {versus_random}: a good RMSE is not a good top-{k}.")
