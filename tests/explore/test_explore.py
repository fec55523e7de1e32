"""Ranking metrics on hand-worked cases, fold-in, similar items, explanations and PCA maps; and on
MovieLens 100K (skipped when absent): titles, plausible neighbours, the model against baselines."""

from types import SimpleNamespace

import numpy as np

from mfcore.evaluation import topn
import pandas as pd
import pytest
from paths import TOY_CSV

from mfcore import Ratings, SGDFactorizer, explore, from_arrays, load_ratings, random_split
from mfcore.data.items import load_items
from mfcore.evaluation import metrics
from mfcore.explore import lookup


def tiny():
    """User 'a' rated item 0 in training, items 2 and 3 (5 stars) and 4 (2 stars) in test; user 'b'
    rated items 1..4 in training, so all five items are candidates."""
    train = from_arrays(["a", "b", "b", "b", "b"], [0, 1, 2, 3, 4], [4, 3, 3, 3, 3])
    test = Ratings(users=train.user_codes(["a", "a", "a"]), items=train.item_codes([2, 3, 4]),
                   values=np.array([5, 5, 2], np.float32), user_ids=train.user_ids,
                   item_ids=train.item_ids, scale=train.scale)
    return train, test


def test_ranking_metrics_by_hand():
    train, test = tiny()
    scores = np.array([9.0, 5, 4, 3, 1])  # item 0 is excluded (rated in training): list 1, 2, 3, 4
    result = metrics.ranking_metrics(lambda users: np.tile(scores, (len(users), 1)), train, test, k=2)
    assert result["users"] == 1 and result["eligible"] == 1
    assert result["precision"] == pytest.approx(0.5) and result["recall"] == pytest.approx(0.5)
    discount = 1 / np.log2(3)
    assert result["ndcg"] == pytest.approx(discount / (1 + discount))
    assert result["map"] == pytest.approx(0.5 * 0.5)  # one hit, at rank 2, precision@2 = 1/2; m = 2
    assert result["coverage"] == pytest.approx(2 / 5)
    perfect = metrics.ranking_metrics(lambda users: np.tile([0, 0, 9.0, 8, 0], (len(users), 1)),
                                      train, test, k=2)
    assert all(perfect[name] == pytest.approx(1.0) for name in ("precision", "recall", "ndcg", "map"))
    strict = metrics.ranking_metrics(lambda users: np.tile(scores, (len(users), 1)), train, test, k=2,
                                     threshold=6)
    assert strict["users"] == 0 and np.isnan(strict["ndcg"])


def test_popularity_and_random_scorers():
    train, _test = tiny()
    every = metrics.popularity_scorer(train, None)(np.array([0, 1]))
    assert every.shape == (2, 5) and list(every[0]) == [1, 1, 1, 1, 1]
    positives = metrics.popularity_scorer(train, 4.0)(np.array([0]))
    assert list(positives[0]) == [1, 0, 0, 0, 0]  # only item 0 has a rating >= 4
    assert topn.popularity_scorer is metrics.popularity_scorer  # one popularity, everywhere
    first, again = metrics.random_scorer(5, seed=3), metrics.random_scorer(5, seed=3)
    assert np.array_equal(first(np.array([0])), again(np.array([0])))


@pytest.fixture(scope="module")
def toy_model():
    ratings = load_ratings(TOY_CSV)
    return SGDFactorizer(n_factors=4, n_epochs=30, lr=0.02, reg=0.02).fit(ratings), ratings


@pytest.mark.parametrize("biased", [True, False])
def test_fold_in_recovers_a_trained_user_from_its_own_predictions(biased):
    """With reg 0 and more ratings than unknowns, ratings equal to the model's unclipped predictions
    for a trained user give back exactly that user's factors and bias."""
    ratings = load_ratings(TOY_CSV)
    model = SGDFactorizer(n_factors=4, n_epochs=30, lr=0.02, reg=0.02, biased=biased).fit(ratings)
    user = 2
    items = np.arange(len(model.item_ids_))
    predicted = model.predict_codes(np.full(len(items), user), items, clip=False)
    folded = explore.fold_in(model, model.item_ids_[items], predicted, reg=0.0)
    assert np.allclose(folded.p, model.P_[user], atol=1e-4) and folded.bu == pytest.approx(model.bu_[user], abs=1e-4)
    assert biased or folded.bu == 0


@pytest.mark.parametrize("rated", [[1, 4, 6], list(range(10))])  # fewer or more ratings than K+1 = 5
def test_fold_in_is_the_ridge_minimum(toy_model, rated):
    model, _ = toy_model
    values = np.linspace(1, 5, len(rated))
    ids = model.item_ids_[rated]
    folded = explore.fold_in(model, [*ids, "no such item"], [*values, 3.0])
    assert list(folded.items) == rated
    lam = model.reg * len(rated)

    def objective(p, bu):
        error = values - (model.global_mean_ + bu + model.bi_[rated] + model.Q_[rated] @ p)
        return float(error @ error + lam * (p @ p + bu * bu))

    best = objective(folded.p.astype(float), folded.bu)
    rng = np.random.default_rng(0)
    for _ in range(20):
        step = rng.normal(0, 0.05, len(folded.p) + 1)
        assert objective(folded.p + step[:-1], folded.bu + step[-1]) > best
    repeated = explore.fold_in(model, [ids[0], ids[0]], [1.0, 5.0])
    assert list(repeated.ratings) == [5.0]


def test_explain_parts_add_up_and_similar_items_are_by_cosine(toy_model):
    model, _ratings = toy_model
    user, item = 0, 3
    parts = explore.explain(model, model.P_[user], float(model.bu_[user]), item, np.array([0, 1, 2]),
                            np.array([5.0, 4.0, 3.0]), n=2)
    assert parts["score"] == pytest.approx(float(model.predict_codes([user], [item], clip=False)[0]), abs=1e-5)
    assert len(parts["because"]) == 2 and parts["because"][0][2] >= parts["because"][1][2]
    similar = explore.similar_items(model, item, n=3)
    q = model.Q_.astype(float)
    cosine = q @ q[item] / np.linalg.norm(q, axis=1) / np.linalg.norm(q[item])
    cosine[item] = -np.inf
    assert list(similar["code"]) == list(np.argsort(-cosine)[:3])
    assert np.allclose(similar["cosine"], np.sort(cosine)[::-1][:3])


def test_project_2d_keeps_the_top_two_variances():
    rng = np.random.default_rng(1)
    factors = rng.normal(size=(200, 6)) * np.array([5, 3, 1, 0.5, 0.2, 0.1])
    coords, share = explore.project_2d(factors)
    eigen = np.sort(np.linalg.eigvalsh(np.cov(factors.T)))[::-1]
    assert share == pytest.approx(eigen[:2].sum() / eigen.sum())
    assert np.allclose(np.var(coords, axis=0, ddof=1), eigen[:2])


def test_ids_are_found_as_text_or_numbers():
    assert list(lookup._lookup(np.array([1, 5, 7]), ["7", 5, "x", "1.5"])) == [2, 1, -1, -1]
    assert list(lookup._lookup(np.array(["a", "7"], dtype=object), ["7", 7, "b"])) == [1, 1, -1]


@pytest.fixture(scope="module")
def movielens(ml100k_path):
    ratings = load_ratings(ml100k_path)
    train, test = random_split(ratings, 0.1, seed=0)
    model = SGDFactorizer(n_factors=50, n_epochs=20).fit(train, test)
    titles = explore.item_info(model.item_ids_, load_items(ml100k_path.parent / "u.item"))
    return model, train, test, titles


def test_movielens_titles_and_plausible_neighbours(movielens):
    model, _train, _test, titles = movielens
    assert titles.loc[1, "title"] == "Toy Story (1995)" and "Animation" in titles.loc[1, "genres"]
    star_wars = int(np.flatnonzero(titles["title"] == "Star Wars (1977)")[0])
    neighbours = set(titles["title"].iloc[explore.similar_items(model, star_wars, 5)["code"]])
    assert {"Empire Strikes Back, The (1980)", "Return of the Jedi (1983)"} <= neighbours
    recommended = model.recommend(1, 10)["item"]
    assert titles.loc[recommended, "title"].str.match(r".+ \(\d{4}\)$").all()


def test_movielens_ranking_table(movielens):
    model, train, test, _ = movielens
    table = explore.ranking_table(model, train, test, k=10)
    model_row, popular, random = (table.iloc[n] for n in range(3))
    assert random["ndcg@10"] < model_row["ndcg@10"] and random["ndcg@10"] < popular["ndcg@10"]
    assert random["coverage"] > model_row["coverage"]
    reading = explore.ranking_reading(table, 10)
    winner = "model" if model_row["ndcg@10"] > popular["ndcg@10"] else "popularity"
    assert reading.startswith("The model" if winner == "model" else "Popularity ranks better")
    assert f"{model_row['ndcg@10']:.3f}" in reading and f"{popular['ndcg@10']:.3f}" in reading


def test_titles_come_from_the_loaded_item_metadata():
    """``Ratings.item_info`` (one row per item code, empty text where unknown) gives the titles; an
    item without one is called by its id."""
    ratings = SimpleNamespace(item_ids=np.array([10, 20, 30]),
                              item_info=pd.DataFrame({"title": ["Ten", "", "Thirty"],
                                                      "genres": ["Drama", "", "Comedy|Drama"]}))
    info = explore.item_info(ratings.item_ids, explore.ratings_items(ratings))
    assert list(info["title"]) == ["Ten", "20", "Thirty"] and list(info["genres"]) == ["Drama", "", "Comedy|Drama"]
    assert explore.ratings_items(SimpleNamespace(item_ids=np.array([1]), item_info=None)) is None


def test_ranking_on_a_sample_of_users(movielens):
    model, train, test, _ = movielens
    table = explore.ranking_table(model, train, test, k=5, max_users=100)
    assert list(table["users"]) == [100] * 3 and (table["eligible"] > 800).all()
    again = explore.ranking_table(model, train, test, k=5, max_users=100)
    assert table.equals(again)
