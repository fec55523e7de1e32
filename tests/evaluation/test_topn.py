"""The top-N protocol: the per-user holdout of positives and the metrics on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from mfcore.data import from_arrays
from mfcore.evaluation.topn import (evaluate, holdout_positives, popularity_scorer, random_scorer,
                                    topn_metrics, topn_table)


def _ratings(seed=0, n_users=30, n_items=20):
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(n_users), 10)
    items = np.concatenate([rng.choice(n_items, 10, replace=False) for _ in range(n_users)])
    values = rng.integers(1, 6, len(users)).astype(float)
    return from_arrays(users, items, values)


def test_holdout_positives():
    ratings = _ratings()
    train, test = holdout_positives(ratings, 0.25, seed=0)
    assert len(train) + len(test) == len(ratings)
    assert (test.values >= 4).all()
    pairs = set(zip(train.users, train.items)) & set(zip(test.users, test.items))
    assert not pairs
    for u in range(ratings.n_users):
        positives = int(((ratings.users == u) & (ratings.values >= 4)).sum())
        held = int((test.users == u).sum())
        if positives >= 2:
            assert 1 <= held <= positives - 1 and held == max(1, min(positives - 1, round(0.25 * positives)))
        else:
            assert held == 0
    again = holdout_positives(ratings, 0.25, seed=0)[1]
    np.testing.assert_array_equal(again.items, test.items)
    assert not np.array_equal(holdout_positives(ratings, 0.25, seed=1)[1].items, test.items)


def test_metrics_of_a_perfect_and_a_hand_checked_ranking():
    train = from_arrays([0, 0, 1, 1, 2], [0, 1, 2, 3, 4], [5, 5, 5, 5, 5])
    # user 0 rated items 0, 1 in train; the held-out positives are items 2 and 4
    test = type(train)(users=np.array([0, 0], np.int32), items=np.array([2, 4], np.int32),
                       values=np.array([5, 5], np.float32), user_ids=train.user_ids,
                       item_ids=train.item_ids, scale=train.scale)
    perfect = lambda users: np.tile([0, 0, 1.0, 0, 1.0], (len(users), 1))  # noqa: E731
    found = topn_metrics(perfect, train, test, k=2, threshold=4)
    assert found["ndcg"] == pytest.approx(1) and found["recall"] == 1 and found["precision"] == 1
    assert found["users"] == 1 and found["popularity"] == 1.0
    # ranking item 3 first, then 2: hits at rank 2 only
    second = lambda users: np.tile([0, 0, 0.5, 1.0, 0], (len(users), 1))  # noqa: E731
    found = topn_metrics(second, train, test, k=2, threshold=4)
    assert found["ndcg"] == pytest.approx((1 / np.log2(3)) / (1 + 1 / np.log2(3)))
    assert found["recall"] == 0.5 and found["map"] == pytest.approx(0.5 * 0.5)
    assert found["coverage"] == pytest.approx(2 / 5)  # items 2 and 3 of the 5 items with a training rating


def test_table_has_the_baselines():
    ratings = _ratings()
    train, test = holdout_positives(ratings, 0.25, seed=0)
    table = topn_table({}, train, test, k=5)
    assert list(table["model"]) == ["popularity", "random"]
    assert evaluate(random_scorer(train.n_items, 0), train, test, k=5)["users"] > 0
    assert evaluate(popularity_scorer(train, 4.0), train, test, k=5)["coverage"] <= 1


def test_a_score_just_under_another_never_reads_as_equal_to_it():
    """Tune's and Explore's sentences say "x times popularity's": 0.2142 against 0.2183 is 0.98 times,
    which one decimal would round to a misleading 1.0."""
    from mfcore.evaluation.metrics import times

    assert times(0.2142, 0.2183) == "0.98 times"
    assert times(0.21, 0.2) == "1.05 times"
    assert times(0.3, 0.15) == "2.0 times"
