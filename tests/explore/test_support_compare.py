"""The minimum support of the rating model's lists (its rule, and ML-100k user 1's top-10 under it),
the side-by-side lists of every model and popularity, the top-N comparison and its reading, and the
t-SNE map."""

import numpy as np
import pandas as pd
import pytest

from mfcore import ALSFactorizer, BPRFactorizer, SGDFactorizer, explore, from_arrays, load_ratings, random_split


def test_the_rule_is_the_mean_count_rounded_down_and_never_zero():
    assert explore.min_support(np.array([0, 1, 2, 3, 10])) == 4  # 16 ratings over 4 rated items
    assert explore.min_support(np.array([4, 4, 3])) == 3  # about equally rated items: nothing hidden
    assert explore.min_support(np.array([5, 5])) == 5
    assert explore.min_support(np.zeros(3, int)) == 1
    summary = explore.support_summary(np.array([0, 1, 2, 3, 10]), 4)
    assert (summary.hidden, summary.kept, summary.share_kept) == (3, 1, pytest.approx(10 / 16))


@pytest.fixture(scope="module")
def ml100k(ml100k_path):
    train, test = random_split(load_ratings(ml100k_path), 0.2, seed=0)
    # constant steps with a wider start, whose top 10 for user 1 shows a thin item without the filter
    return train, test, SGDFactorizer(n_threads=1, step_rule="constant", reg=0.05, init_std=0.05).fit(train)


def test_ml100k_user_1s_rating_model_top10_holds_no_item_under_the_minimum_support(ml100k):
    train, _, model = ml100k
    counts = np.bincount(train.items, minlength=train.n_items)
    support = explore.min_support(counts)
    assert support == 48  # 80,000 training ratings over 1,644 rated items, rounded down
    user = explore.user_code(model, 1)
    rated, values = explore.user_ratings(train, user)
    scores = explore.recommend_scores(model, model.P_[user], float(model.bu_[user]))
    unfiltered = explore.top_items(model, scores, rated, 10, counts)
    filtered = explore.top_items(model, scores, rated, 10, counts, support)
    print("support", support, "unfiltered counts", counts[unfiltered], "filtered counts", counts[filtered])
    assert (counts[unfiltered] < support).any()  # what the filter is for: without it, a thin item gets in
    assert len(filtered) == 10 and (counts[filtered] >= support).all()
    assert not set(filtered) & set(rated)
    lists = explore.lists_for_user({"rating": model}, train, user, 10, support)
    assert list(lists["rating"]) == list(filtered)


def tiny():
    """Six users; items 0-2 liked (5) by users 0-2, items 3-5 by users 3-5; user 0 has not met item 2."""
    users, items, values = [], [], []
    for user in range(6):
        group = range(0, 3) if user < 3 else range(3, 6)
        for item in group:
            if (user, item) != (0, 2):
                users.append(user), items.append(item), values.append(5.0)
        users.append(user), items.append(6 + user % 2), values.append(1.0)
    return from_arrays(users, items, values)


def test_side_by_side_lists_leave_out_what_the_user_rated():
    train = tiny()
    models = {"MF": SGDFactorizer(n_factors=3, n_epochs=30, engine="numba").fit(train),
              "BPR": BPRFactorizer(n_factors=3, n_epochs=30, n_threads=1).fit(train),
              "ALS": ALSFactorizer(n_factors=3, n_epochs=5, n_threads=1).fit(train)}
    user = int(train.user_codes([0])[0])
    lists = explore.lists_for_user(models, train, user, 3)
    assert list(lists) == ["MF", "BPR", "ALS", "popularity"]
    rated = set(train.items[train.users == user])
    assert all(not set(codes) & rated for codes in lists.values())
    new = explore.lists_for_new_user(models, train, [0, 1], [5, 5], 3)
    known = set(train.item_codes([0, 1]))
    assert all(len(codes) == 3 and not set(codes) & known for codes in new.values())
    assert new["ALS"][0] == train.item_codes([2])[0]  # the item liked with 0 and 1


def test_topn_comparison_rows_and_reading():
    table = pd.DataFrame({"model": ["rating model", "rating model, support >= 9", "ALS", "popularity", "random"],
                          "ndcg": [0.05, 0.07, 0.3, 0.15, 0.01]})
    text = explore.topn_reading(table, 10, "rating model")
    assert text.startswith("ALS ranks best: NDCG@10 0.300, 2.0 times popularity's 0.150 and 6.0 times "
                           "the rating model's 0.050.")
    assert "ranks below popularity (0.050)" in text
    table["ndcg"] = [0.2, 0.2, 0.1, 0.15, 0.01]
    assert explore.topn_reading(table, 10, "rating model").startswith("rating model ranks best")


def test_tsne_keeps_clusters_apart():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, (3, 16))
    rows = np.vstack([centre + rng.normal(0, 0.05, (60, 16)) for centre in centres])
    coords = explore.tsne_2d(rows)
    assert coords.shape == (180, 2)
    mean = [coords[n * 60:(n + 1) * 60].mean(axis=0) for n in range(3)]
    spread = max(np.linalg.norm(coords[n * 60:(n + 1) * 60] - mean[n], axis=1).mean() for n in range(3))
    assert min(np.linalg.norm(mean[a] - mean[b]) for a, b in ((0, 1), (0, 2), (1, 2))) > 3 * spread
    assert np.array_equal(coords, explore.tsne_2d(rows))  # seeded
