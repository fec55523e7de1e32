"""The new-user protocol: its split holds users out whole and tells the model the stated share or
count of their positives; its numbers are the stated formulas."""

from __future__ import annotations

import numpy as np
import pytest

from mfcore.data import from_arrays
from mfcore.evaluation.newuser import (evaluate_new_users, genre_matrix, list_metrics, new_user_split, new_user_splits,
                                       standard_lists)
from mfcore.evaluation.topn import holdout_positives
from mfcore.models.neighbors import EASE


def many_users(n_users=200, n_items=60, seed=0):
    rng = np.random.default_rng(seed)
    users, items, values = [], [], []
    for u in range(n_users):
        chosen = rng.choice(n_items, 20, replace=False)
        users += [u] * 20
        items += list(chosen)
        values += list(rng.choice([1.0, 2.0, 4.0, 5.0], 20))
    return from_arrays(users, items, values)


@pytest.mark.parametrize("fold_in", [0.8, 5])
def test_split_holds_users_out_whole(fold_in):
    ratings = many_users()
    split = new_user_split(ratings, 0.15, fold_in, seed=3)
    held = set(split.users.tolist())
    assert len(held) == 30
    assert not held & set(split.train.users.tolist())  # never trained on
    assert set(split.known.users.tolist()) <= held and set(split.test.users.tolist()) <= held
    assert len(split.train) + len(split.known) + len(split.test) == len(ratings)
    assert (split.test.values >= 4).all()
    assert (split.known.user_ids is ratings.user_ids) or (split.known.n_items == ratings.n_items)
    for user, known in zip(split.users, split.known_positives()):
        n = int(((ratings.users == user) & (ratings.values >= 4)).sum())
        told = fold_in if isinstance(fold_in, int) else min(max(round(0.8 * n), 1), n - 1)
        assert len(known) == told
        tested = split.test.items[split.test.users == user]
        assert not set(known.tolist()) & set(tested.tolist()) and len(tested) == n - told
        low = (ratings.users == user) & (ratings.values < 4)
        assert set(ratings.items[low].tolist()) <= set(split.known.items[split.known.users == user].tolist())
    again = new_user_split(ratings, 0.15, fold_in, seed=3)
    np.testing.assert_array_equal(again.users, split.users)
    assert not np.array_equal(new_user_split(ratings, 0.15, fold_in, seed=4).users, split.users)


def test_split_refuses_bad_settings():
    ratings = many_users()
    with pytest.raises(ValueError, match="user_share == 1.5"):
        new_user_split(ratings, 1.5)
    with pytest.raises(ValueError, match="fold_in == 0"):
        new_user_split(ratings, 0.1, 0)
    with pytest.raises(ValueError, match="fold_in == 1.0"):
        new_user_split(ratings, 0.1, 1.0)
    count = new_user_split(ratings, 0.9, 12, seed=0)  # only users with >= 13 positives may be held out
    assert all(((ratings.users == u) & (ratings.values >= 4)).sum() >= 13 for u in count.users)


def test_list_metrics_by_hand():
    import scipy.sparse as sp

    # one user, 6 items; scores rank items 0..5 in order; relevant: items 1 and 4; seen: item 0
    scores = np.array([[6.0, 5, 4, 3, 2, 1]])
    seen = sp.csr_matrix(np.array([[1, 0, 0, 0, 0, 0]], bool))
    relevant = sp.csr_matrix(np.array([[0, 1, 0, 0, 1, 0]], bool))
    known = sp.csr_matrix(np.array([[0, 0, 0, 0, 0, 1]], bool))
    counts = np.array([9, 8, 7, 6, 5, 1])
    genres = genre_matrix(["A", "B", "A|C", "", "C", "C"], 6)
    found = list_metrics(lambda rows: scores[rows], seen, relevant, counts, known, genres, k=2, recall_k=4)
    # list: items 1, 2 (k=2); hits at rank 1 only; ideal: 2 relevant
    assert found["ndcg"] == pytest.approx(1 / (1 + 1 / np.log2(3)))
    assert found["recall"] == pytest.approx(1.0)  # top-4: 1, 2, 3, 4: both relevant found, min(4, 2) = 2
    assert found["popular_share"] == 1.0  # every item is among the 100 most rated
    assert found["genre_share"] == pytest.approx(0.5)  # item 2 shares C with item 5, item 1 shares nothing
    assert found["users"] == 1


def test_models_beat_popularity_on_new_users():
    ratings = many_users()
    rng = np.random.default_rng(1)
    planted = from_arrays(np.repeat(np.arange(200), 10), np.concatenate(
        [rng.choice(np.arange(u % 2, 60, 2), 10, replace=False) for u in range(200)]), np.full(2000, 5.0))
    split = new_user_split(planted, 0.2, 5, seed=0)
    model = EASE(reg=5.0).fit(split.train)
    found = evaluate_new_users(model, split)
    popular = evaluate_new_users(lambda rows: np.tile(model._popularity, (len(rows), 1)), split)
    assert found["ndcg"] > popular["ndcg"] + 0.1 and found["users"] == 40
    assert np.isnan(found["genre_share"])
    train, test = holdout_positives(ratings, 0.2, 4.0, seed=0)
    assert standard_lists(EASE(reg=5.0).fit(train).score_codes, train, test)["users"] > 100


def test_splits_share_the_held_out_users_and_the_order_told():
    ratings = many_users()
    share, count = new_user_splits(ratings, 0.15, (0.8, 5), seed=3)
    alone = new_user_split(ratings, 0.15, 0.8, seed=3)
    np.testing.assert_array_equal(share.users, alone.users)  # the share setting is new_user_split's
    np.testing.assert_array_equal(share.known.items, alone.known.items)
    assert share.train is count.train  # one model serves both
    np.testing.assert_array_equal(share.users, count.users)
    for user, a, b in zip(share.users, share.known_positives(), count.known_positives()):
        n = int(((ratings.users == user) & (ratings.values >= 4)).sum())
        assert len(b) == min(5, n)
        assert set(b.tolist()) <= set(a.tolist()) or len(a) < len(b)  # the first of one random order
        assert len(count.test.items[count.test.users == user]) == n - len(b)
    with pytest.raises(ValueError, match="fold_in"):
        new_user_splits(ratings, 0.15, (0.8, 0))
