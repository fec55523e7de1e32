"""Splits: sizes, disjointness, coverage, determinism, and the temporal order."""

import numpy as np
import pytest

from mfcore import DataError, from_arrays, per_user_split, random_split, temporal_split


@pytest.fixture(scope="module")
def ratings():
    rng = np.random.default_rng(1)
    users = np.repeat(np.arange(50), np.arange(1, 51))
    items = np.concatenate([rng.choice(200, n, replace=False) for n in range(1, 51)])
    return from_arrays(users, items, rng.integers(1, 6, len(users)), timestamps=rng.permutation(len(users)))


def pairs(r):
    return set(zip(r.users.tolist(), r.items.tolist()))


def test_random_split_sizes_disjoint_and_deterministic(ratings):
    train, test = random_split(ratings, 0.2, seed=3)
    assert len(test) == round(0.2 * len(ratings)) and len(train) + len(test) == len(ratings)
    assert not pairs(train) & pairs(test) and pairs(train) | pairs(test) == pairs(ratings)
    again, _ = random_split(ratings, 0.2, seed=3)
    other, _ = random_split(ratings, 0.2, seed=4)
    assert pairs(again) == pairs(train) and pairs(other) != pairs(train)
    assert train.n_users == ratings.n_users and train.scale == ratings.scale


def test_random_split_zero_test_and_bad_size(ratings):
    train, test = random_split(ratings, 0.0)
    assert len(train) == len(ratings) and len(test) == 0
    with pytest.raises(ValueError, match="test_size == 1.5"):
        random_split(ratings, 1.5)


def test_per_user_split_holds_out_k_per_user(ratings):
    train, test = per_user_split(ratings, n_test=2, seed=0)
    per_user_test = np.bincount(test.users, minlength=ratings.n_users)
    per_user_all = np.bincount(ratings.users, minlength=ratings.n_users)
    assert np.all(per_user_test == np.where(per_user_all > 2, 2, 0))
    assert not pairs(train) & pairs(test) and len(train) + len(test) == len(ratings)


def test_temporal_split_keeps_the_latest(ratings):
    train, test = temporal_split(ratings, 0.25)
    assert train.timestamps.max() < test.timestamps.min()
    assert len(test) == round(0.25 * len(ratings))
    train_u, test_u = temporal_split(ratings, per_user=True, n_test=1)
    for user in np.unique(test_u.users):
        assert test_u.timestamps[test_u.users == user].min() > train_u.timestamps[train_u.users == user].max()


def test_temporal_split_needs_timestamps():
    with pytest.raises(DataError, match="needs timestamps"):
        temporal_split(from_arrays([1, 2], [1, 2], [3, 4]))
