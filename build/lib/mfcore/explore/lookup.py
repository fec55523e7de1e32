"""From ids to codes and back, and what the training data says about an item or a user: titles and
genres (:func:`item_info`), rating counts and means, a user's rated items.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import Ratings
from ..models.sgd import SGDFactorizer


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
