r"""The new-user ("strong generalization") protocol (Liang et al. 2018; Steck 2019): what a visitor
who rates a few films meets, measured.

1. Split (:func:`new_user_split`): a seeded random ``user_share`` of the users (among those with
   enough positives, ratings >= the threshold) is held out entirely; the model trains on the other
   users' ratings only. Of each held-out user's positives, a random ``fold_in`` share (a float,
   default 0.8) or count (an int, e.g. 5) is given to the model as the user's known positives; the
   rest are the test. The user's ratings below the threshold are known too (they are left out of
   the ranking, as the items a user rated in training are) but are never positives.
2. Rank: the model folds each held-out user in from their known positives (``fold_in_scores``, the
   same computation as ``recommend_new``) and scores ALL items; the items the user rated and items
   nobody rated in training are left out.
3. Measure (:func:`list_metrics`, also for the standard protocol through :func:`standard_lists`):
   NDCG@``k`` and Recall@``recall_k`` against the test positives (binary gains,
   :math:`\mathrm{NDCG} = \sum_r h_r / \log_2(r+1) / \sum_{r \le \min(k, |R_u|)} 1/\log_2(r+1)`,
   :math:`\mathrm{Recall@n} = \sum_{r \le n} h_r / \min(n, |R_u|)`), and two numbers about each
   top-``k`` list a student reads at once: ``popular_share``, the share of its items among the
   :data:`POPULAR_ITEMS` most-rated training items, and, when item genres are given,
   ``genre_share``, the share of its items sharing a genre with the user's known positives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import Ratings
from ..models.ranking import positive_mask
from ..models.topn_metrics import top_lists
from .topn import scale_threshold

__all__ = ["NEW_USER_COLUMNS", "POPULAR_ITEMS", "NewUserSplit", "evaluate_new_users", "genre_matrix",
           "list_metrics", "new_user_split", "new_user_splits", "standard_lists"]

POPULAR_ITEMS = 100
"""The most-rated training items a list's ``popular_share`` counts."""
NEW_USER_COLUMNS = ("ndcg", "recall", "popular_share", "genre_share")
"""What :func:`list_metrics` returns besides ``users``."""


@dataclass(frozen=True)
class NewUserSplit:
    """``train``: the training users' ratings; ``known``: the held-out users' ratings the model is
    told (the folded-in positives and every rating below the threshold); ``test``: their other
    positives; ``users``: the held-out user codes; ``threshold``: the positive threshold. All share
    the id maps of the ratings they came from."""

    train: Ratings
    known: Ratings
    test: Ratings
    users: np.ndarray
    threshold: float | None

    def known_positives(self) -> list[np.ndarray]:
        """Each held-out user's known positives (item codes), in :attr:`users` order."""
        keep = positive_mask(self.known.values, self.threshold)
        return _rows(self.known.users[keep], self.known.items[keep], self.users)


def _rows(users: np.ndarray, items: np.ndarray, wanted: np.ndarray) -> list[np.ndarray]:
    order = np.lexsort((items, users))
    users, items = users[order], items[order]
    starts = np.searchsorted(users, wanted, "left")
    stops = np.searchsorted(users, wanted, "right")
    return [items[a:b] for a, b in zip(starts, stops)]


def new_user_split(ratings: Ratings, user_share: float = 0.1, fold_in: float | int = 0.8,
                   threshold: float | None = None, seed: int = 0) -> NewUserSplit:
    """Hold out a random ``user_share`` of the users entirely (module docstring). ``fold_in``: the
    share of each held-out user's positives the model is told (a float in (0, 1): ``round(share *
    n)``, at least 1 and at most ``n - 1``), or their number (an int >= 1: users with at most that
    many positives are never held out). ``threshold`` None: the scale's default positive threshold.
    Randomness from ``default_rng(seed)``."""
    counted = _check(user_share, fold_in)
    return _splits(ratings, user_share, [fold_in], int(fold_in) + 1 if counted else 2, threshold, seed)[0]


def new_user_splits(ratings: Ratings, user_share: float = 0.1, fold_ins=(0.8, 5), threshold: float | None = None,
                    seed: int = 0) -> list[NewUserSplit]:
    """One held-out set of users and one training set, several amounts told: one :class:`NewUserSplit`
    per entry of ``fold_ins`` (each a share or a count, as in :func:`new_user_split`), so one model
    fitted on ``train`` serves them all. Any user with two positives may be held out; under a count
    told, each held-out user is told the first ``count`` of the same random order of their positives
    as under a share (all of them, and no test positive, for a user with at most ``count``)."""
    for fold_in in fold_ins:
        _check(user_share, fold_in)
    return _splits(ratings, user_share, list(fold_ins), 2, threshold, seed)


def _check(user_share, fold_in) -> bool:
    # whether fold_in is a count; a ValueError for an invalid share or count
    if not 0 < user_share < 1:
        raise ValueError(f"user_share == {user_share}, must be in (0, 1).")
    counted = isinstance(fold_in, (int, np.integer)) and not isinstance(fold_in, bool)
    if counted and fold_in < 1 or not counted and not 0 < fold_in < 1:
        raise ValueError(f"fold_in == {fold_in!r}, must be a share in (0, 1) or a count >= 1.")
    return counted


def _splits(ratings: Ratings, user_share: float, fold_ins: list, least: int, threshold, seed: int) -> list:
    # users with >= least positives may be held out; one split per fold_in on the same held-out users
    threshold = scale_threshold(ratings) if threshold is None else threshold
    positive = positive_mask(ratings.values, threshold)
    per_user = np.bincount(ratings.users[positive], minlength=ratings.n_users)
    eligible = np.flatnonzero(per_user >= least)
    rng = np.random.default_rng(seed)
    n_held = min(len(eligible), max(1, round(user_share * ratings.n_users)))
    if n_held == 0:
        raise ValueError("no user has enough positives to hold out.")
    held = np.sort(rng.choice(eligible, n_held, replace=False)).astype(np.int32)
    is_held = np.zeros(ratings.n_users, bool)
    is_held[held] = True
    rows = np.flatnonzero(is_held[ratings.users] & positive)
    users = ratings.users[rows]
    order = np.lexsort((rng.random(len(rows)), users))
    rows, users = rows[order], users[order]
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    sizes = np.diff(np.r_[starts, len(rows)])
    rank = np.arange(len(rows)) - np.repeat(starts, sizes)
    train = ratings.take(~is_held[ratings.users])
    found = []
    for fold_in in fold_ins:
        told = (np.minimum(sizes, int(fold_in)) if _check(user_share, fold_in)
                else np.clip(np.rint(fold_in * sizes), 1, sizes - 1).astype(np.int64))
        test = np.zeros(len(ratings), bool)
        test[rows[rank >= np.repeat(told, sizes)]] = True
        known = is_held[ratings.users] & ~test
        found.append(NewUserSplit(train, ratings.take(known), ratings.take(test), held, threshold))
    return found


def genre_matrix(genres, n_items: int):
    """An items x genres boolean CSR matrix from one ``"A|B"`` string per item code (None or "" for
    an item without genres), or None when ``genres`` is None or names no genre."""
    if genres is None:
        return None
    import scipy.sparse as sp

    names: dict[str, int] = {}
    rows, cols = [], []
    for code, text in enumerate(list(genres)[:n_items]):
        for name in str(text or "").split("|"):
            if name.strip():
                rows.append(code)
                cols.append(names.setdefault(name.strip(), len(names)))
    if not names:
        return None
    return sp.csr_matrix((np.ones(len(rows), bool), (rows, cols)), shape=(n_items, len(names)))


def list_metrics(score_batch, seen, relevant, counts: np.ndarray, known, genres=None,
                 k: int = 10, recall_k: int = 20, batch_size: int = 512) -> dict:
    """The module's numbers for lists. ``score_batch(rows) -> (len(rows), n_items)`` scores the users
    of those rows; ``seen``, ``relevant``, ``known``: CSR matrices with one row per
    user (the items left out, the test positives, the known positives); ``counts``: training
    ratings per item (0: never a candidate); ``genres``: :func:`genre_matrix` or None. Rows
    without a relevant item are skipped. Returns the :data:`NEW_USER_COLUMNS` (``genre_share`` NaN
    without genres) and ``users``."""
    n_relevant = np.diff(relevant.indptr)
    positions = np.flatnonzero(n_relevant > 0)
    candidates = counts > 0
    depth = min(max(k, recall_k), int(candidates.sum()))
    popular = np.zeros(len(counts), bool)
    popular[np.argsort(-counts, kind="stable")[:POPULAR_ITEMS]] = True
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discounts)
    totals = dict.fromkeys(NEW_USER_COLUMNS, 0.0)
    for start in range(0, len(positions), batch_size):
        batch = positions[start:start + batch_size]
        _, top = top_lists(score_batch(batch), candidates, seen[batch], depth)
        hits = np.take_along_axis(relevant[batch].toarray(), top, axis=1)
        count = n_relevant[batch]
        totals["ndcg"] += float(((hits[:, :k] * discounts).sum(axis=1) / ideal[np.minimum(k, count) - 1]).sum())
        totals["recall"] += float((hits[:, :recall_k].sum(axis=1) / np.minimum(recall_k, count)).sum())
        totals["popular_share"] += float(popular[top[:, :k]].mean(axis=1).sum())
        if genres is not None:
            liked = np.asarray((known[batch].astype(np.int32) @ genres.astype(np.int32)).todense()) > 0
            item_genres = genres.toarray()[top[:, :k]]  # users x k x genres
            totals["genre_share"] += float((item_genres & liked[:, None, :]).any(axis=2).mean(axis=1).sum())
    n = len(positions)
    result = {name: (value / n if n else float("nan")) for name, value in totals.items()}
    if genres is None:
        result["genre_share"] = float("nan")
    result["users"] = n
    return result


def _csr(users: np.ndarray, items: np.ndarray, row_of: np.ndarray, n_rows: int, n_items: int):
    import scipy.sparse as sp

    keep = row_of[users] >= 0
    return sp.csr_matrix((np.ones(int(keep.sum()), bool), (row_of[users[keep]], items[keep])),
                         shape=(n_rows, n_items))


def evaluate_new_users(scorer, split: NewUserSplit, genres=None, k: int = 10, recall_k: int = 20) -> dict:
    """:func:`list_metrics` of the held-out users of ``split``. ``scorer``: a model fitted on
    ``split.train`` (its ``fold_in_scores``) or a callable from a list of known-positive item-code
    arrays to a score matrix; ``genres``: one ``"A|B"`` string per item code, or None."""
    fold = scorer.fold_in_scores if hasattr(scorer, "fold_in_scores") else scorer
    train, n_items = split.train, split.train.n_items
    row_of = np.full(train.n_users, -1, np.int64)
    row_of[split.users] = np.arange(len(split.users))
    n = len(split.users)
    positives = split.known_positives()
    seen = _csr(split.known.users, split.known.items, row_of, n, n_items)
    relevant = _csr(split.test.users, split.test.items, row_of, n, n_items)
    known = _csr(np.repeat(split.users, [len(p) for p in positives]),
                 np.concatenate(positives) if positives else np.zeros(0, np.int32), row_of, n, n_items)
    counts = np.bincount(train.items, minlength=n_items)
    return list_metrics(lambda batch: fold([positives[i] for i in batch]), seen, relevant, counts,
                        known, genre_matrix(genres, n_items), k, recall_k)


def standard_lists(score_codes, train: Ratings, test: Ratings, threshold: float | None = None, genres=None,
                   k: int = 10, recall_k: int = 20) -> dict:
    """:func:`list_metrics` on the standard protocol (:func:`mfcore.evaluation.topn.holdout_positives`'s
    split): every user with a test positive, scored by ``score_codes(user codes)``; the known positives
    (for ``genre_share``) are the user's training positives."""
    threshold = scale_threshold(train) if threshold is None else threshold
    every = np.arange(train.n_users)
    seen = _csr(train.users, train.items, every, train.n_users, train.n_items)
    good = positive_mask(test.values, threshold)
    relevant = _csr(test.users[good], test.items[good], every, train.n_users, train.n_items)
    liked = positive_mask(train.values, threshold)
    known = _csr(train.users[liked], train.items[liked], every, train.n_users, train.n_items)
    counts = np.bincount(train.items, minlength=train.n_items)
    return list_metrics(score_codes, seen, relevant, counts, known,
                        genre_matrix(genres, train.n_items), k, recall_k)
