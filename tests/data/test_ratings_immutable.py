"""A Ratings object never changes once made (it is shared by every session through the dashboard's
resource cache): looking ids up, splitting, sampling and reading titles leave every field the very
same object, and the shared sample comes with its lookups built."""

import numpy as np

from mfcore import load_ratings, random_split
from paths import ROOT


def fields(ratings):
    return {name: id(value) for name, value in vars(ratings).items()}


def test_lookups_and_splits_leave_a_ratings_object_as_it_was():
    ratings = load_ratings(ROOT / "sample_data" / "toy.csv")
    before = fields(ratings)
    assert not ratings.is_indexed
    users, items = ratings.user_ids[[0, 1]], ratings.item_ids[[2, 0]]
    assert list(ratings.user_codes(users)) == [0, 1] and list(ratings.item_codes(items)) == [2, 0]
    assert ratings.user_codes("no such user") == -1
    random_split(ratings, 0.2, seed=0)
    ratings.sample(3), ratings.take(np.arange(2)), ratings.item_titles, ratings.to_frame()
    assert fields(ratings) == before and not ratings.is_indexed


def test_indexed_builds_the_lookups_into_a_new_object_that_splits_share():
    ratings = load_ratings(ROOT / "sample_data" / "toy.csv")
    indexed = ratings.indexed()
    assert indexed is not ratings and indexed.is_indexed and not ratings.is_indexed
    assert indexed.indexed() is indexed
    before = fields(indexed)
    train, _ = random_split(indexed, 0.2, seed=0)
    assert train.is_indexed and train._user_index is indexed._user_index
    assert list(indexed.user_codes(ratings.user_ids)) == list(range(ratings.n_users))
    assert fields(indexed) == before


def test_the_dashboards_shared_sample_is_indexed_before_it_is_shared():
    from dashboard.server import datasets

    shared = datasets._sample_ratings()
    assert shared.is_indexed and shared is datasets._sample_ratings()
