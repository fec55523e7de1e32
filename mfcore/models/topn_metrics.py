r"""Top-N ranking metrics of a scorer on held-out ratings: the computation behind the one top-N protocol
(:mod:`mfcore.evaluation.topn`), kept in the models layer so that a ranking model's ``fit_iter`` can
report its validation NDCG every epoch (as ``rmse`` lives beside the rating model).

A scorer maps an array of user codes to a (users x items) score matrix whose columns are item codes.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BATCH_USERS", "TOPN_COLUMNS", "top_lists", "topn_metrics"]

TOPN_COLUMNS = ("precision", "recall", "ndcg", "map", "coverage", "popularity")
"""The quality numbers :func:`topn_metrics` returns, in the order tables show them."""
BATCH_USERS = 1024
"""Users scored at once by :func:`topn_metrics`: its float64 score matrix is this many rows by every
item (:func:`mfcore.evaluation.resources.ranking_peak_bytes` counts it)."""


def top_lists(scores, candidates: np.ndarray, seen, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, top)``: the float64 copy of a batch's ``scores`` with non-``candidates`` and the
    ``seen`` items (a sparse batch x items matrix) set to -inf, and each row's ``k`` best item codes,
    best first (ties by code order of the partition, stably sorted)."""
    scores = np.array(scores, dtype=np.float64)
    scores[:, ~candidates] = -np.inf
    scores[seen.toarray()] = -np.inf
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
    return scores, np.take_along_axis(top, order, axis=1)


def topn_metrics(scorer, train, test, k: int = 10, threshold: float | None = 4.0,
                 batch_size: int = BATCH_USERS, max_users: int | None = None, seed: int = 0) -> dict:
    r"""Top-``k`` ranking quality of ``scorer`` (user codes -> a users x items score matrix) on ``test``.

    Protocol: every user with at least one relevant test rating (rating >= ``threshold``; every test
    rating when ``threshold`` is None) gets a list of the ``k`` best-scored candidate items;
    candidates are the items with a training rating, less the ones the user rated in ``train`` (all
    unseen items are ranked, not a sample). With :math:`R_u` the user's relevant test items, hit
    indicators :math:`h_1..h_k` and :math:`m = \min(k, |R_u|)`, averaged over those users:

    - precision@k :math:`= \sum_r h_r / k`, recall@k :math:`= \sum_r h_r / |R_u|`;
    - NDCG@k :math:`= \sum_r h_r/\log_2(r+1) \,/\, \sum_{r \le m} 1/\log_2(r+1)` (binary gains);
    - MAP@k: the mean over users of :math:`\frac1m \sum_r h_r \cdot \text{precision@}r`;
    - coverage: the share of candidate items that appear in at least one user's list;
    - popularity: the mean number of training ratings of the recommended items (every list entry
      counts; popularity recommends the most-rated items, so compare with its number).

    ``max_users`` evaluates a uniform random sample (``default_rng(seed)``) of that many of those
    users instead of all. Returns a dict with those six numbers (keys :data:`TOPN_COLUMNS`),
    ``users`` (how many were evaluated) and ``eligible`` (how many had a relevant test rating). All
    six are NaN when no test rating is relevant.
    """
    if k < 1:
        raise ValueError(f"k == {k}, must be >= 1.")
    import scipy.sparse as sp

    n_users, n_items = train.n_users, train.n_items
    seen = sp.csr_matrix((np.ones(len(train), bool), (train.users, train.items)), shape=(n_users, n_items))
    counts = np.bincount(train.items, minlength=n_items)
    candidates = counts > 0
    good = np.ones(len(test), bool) if threshold is None else test.values >= threshold
    relevant = sp.csr_matrix((np.ones(int(good.sum()), bool), (test.users[good], test.items[good])),
                             shape=(n_users, n_items))
    n_relevant = np.diff(relevant.indptr)
    users = np.flatnonzero(n_relevant > 0).astype(np.int32)
    eligible = len(users)
    if max_users is not None and len(users) > max_users:
        users = np.sort(np.random.default_rng(seed).choice(users, max_users, replace=False))
    if len(users) == 0 or not candidates.any():
        return {**{name: float("nan") for name in TOPN_COLUMNS}, "users": 0, "eligible": eligible}
    k = min(k, int(candidates.sum()))
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discounts)
    totals = dict.fromkeys(("precision", "recall", "ndcg", "map"), 0.0)
    shown = np.zeros(n_items, bool)
    popularity_sum, listed = 0.0, 0
    for start in range(0, len(users), batch_size):
        batch = users[start:start + batch_size]
        scores, top = top_lists(scorer(batch), candidates, seen[batch], k)
        finite = np.isfinite(np.take_along_axis(scores, top, axis=1))
        hits = np.take_along_axis(relevant[batch].toarray(), top, axis=1) & finite
        shown[top[finite]] = True
        popularity_sum += float(counts[top[finite]].sum())
        listed += int(finite.sum())
        count = n_relevant[batch]
        best = np.minimum(k, count)
        found = hits.sum(axis=1)
        totals["precision"] += float((found / k).sum())
        totals["recall"] += float((found / count).sum())
        totals["ndcg"] += float(((hits * discounts).sum(axis=1) / ideal[best - 1]).sum())
        precision_at = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
        totals["map"] += float(((hits * precision_at).sum(axis=1) / best).sum())
    result = {name: value / len(users) for name, value in totals.items()}
    result["coverage"] = float(shown.sum() / candidates.sum())
    result["popularity"] = popularity_sum / listed if listed else float("nan")
    result["users"] = len(users)
    result["eligible"] = eligible
    return result
