"""BPRFactorizer and ALSFactorizer: the scikit-learn contract, determinism, the scoring contract,
fold-in, and learning something on a planted structure."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from paths import SHARED_DATA
from mfcore.models.als import ALSFactorizer
from mfcore.models.bpr import BPRFactorizer
from mfcore.models.ranking import positive_threshold
from planted import SMALL, planted

MODELS = [ALSFactorizer, BPRFactorizer]


@pytest.fixture(scope="module")
def ratings():
    return planted()


def test_positive_threshold_from_the_scale():
    assert positive_threshold((1, 5), 0.75) == 4.0
    assert positive_threshold((0.5, 5), 0.75) == pytest.approx(3.875)
    assert positive_threshold((1, 5), None) is None


@pytest.mark.parametrize("cls", MODELS)
def test_init_only_stores_and_fit_validates(cls, ratings):
    model = cls(n_factors=-3)
    assert model.n_factors == -3
    with pytest.raises(ValueError, match="n_factors == -3"):
        model.fit(ratings)
    with pytest.raises(TypeError):
        cls(bogus=1)
    assert "n_factors" in repr(cls(n_factors=5))
    assert cls().get_params()["seed"] == 0


@pytest.mark.parametrize("cls", MODELS)
def test_fit_iter_yields_each_epoch_with_validation_ndcg(cls, ratings):
    from mfcore.evaluation.topn import holdout_positives

    train, validation = holdout_positives(ratings, 0.25, seed=0)
    model = cls(**SMALL[cls], n_threads=1)
    results = list(model.fit_iter(train, validation=validation))
    assert [r.epoch for r in results] == list(range(1, model.n_epochs + 1))
    assert all(0 <= r.validation_ndcg <= 1 and r.seconds >= 0 for r in results)
    assert results[-1].validation_recall > 0.6  # random: about 10 of 30 candidates
    assert model.P_.dtype == np.float32 and model.positive_threshold_ == 4.0


@pytest.mark.parametrize("cls", MODELS)
def test_same_seed_same_model(cls, ratings):
    a = cls(**SMALL[cls], n_threads=1, seed=3).fit(ratings)
    b = cls(**SMALL[cls], n_threads=1, seed=3).fit(ratings)
    c = cls(**SMALL[cls], n_threads=1, seed=4).fit(ratings)
    np.testing.assert_array_equal(a.P_, b.P_)
    np.testing.assert_array_equal(a.Q_, b.Q_)
    assert not np.array_equal(a.Q_, c.Q_)


def test_als_threads_give_the_same_model(ratings):
    a = ALSFactorizer(**SMALL[ALSFactorizer], n_threads=1).fit(ratings)
    b = ALSFactorizer(**SMALL[ALSFactorizer], n_threads=2).fit(ratings)
    np.testing.assert_array_equal(a.P_, b.P_)


@pytest.mark.parametrize("cls", MODELS)
def test_scores_contract(cls, ratings):
    model = cls(**SMALL[cls], n_threads=1).fit(ratings)
    users = np.array(["u3", "u0", "u7"], dtype=object)
    scores = model.scores(users)
    assert scores.shape == (3, ratings.n_items) and scores.dtype == np.float64
    codes = ratings.user_codes(list(users))
    expected = model.P_[codes].astype(np.float64) @ model.Q_.T.astype(np.float64) + (
        model.bi_ if cls is BPRFactorizer else 0)
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)
    assert list(model.item_ids_) == list(ratings.item_ids)
    unknown = model.scores(["nobody"])[0]
    np.testing.assert_array_equal(unknown, np.bincount(ratings.items[ratings.values >= 4],
                                                       minlength=ratings.n_items))


@pytest.mark.parametrize("cls", MODELS)
def test_recommend_leaves_out_seen_and_prefers_the_group(cls, ratings):
    model = cls(**SMALL[cls], n_threads=1).fit(ratings)
    top = model.recommend("u0", n=5)
    assert isinstance(top, pd.DataFrame) and list(top.columns) == ["item", "score"]
    seen = set(ratings.item_ids[ratings.items[ratings.users == ratings.user_codes(["u0"])[0]]])
    assert not seen & set(top["item"])
    assert np.all(np.diff(top["score"]) <= 0)
    assert sum((item - 100) % 2 == 0 for item in top["item"]) >= 4  # u0 is in group 0
    similar = model.similar_items(100, n=5)
    assert 100 not in set(similar["item"])
    assert sum((item - 100) % 2 == 0 for item in similar["item"]) >= 4


@pytest.mark.parametrize("cls", MODELS)
def test_fold_in_a_new_user(cls, ratings):
    model = cls(**SMALL[cls], n_threads=1).fit(ratings)
    liked = [101, 103, 105, 107]
    vector = model.fold_in(liked, [5, 5, 5, 5])
    assert vector.shape == (model.n_factors,)
    np.testing.assert_array_equal(vector, model.fold_in(liked, [5, 5, 5, 5]))  # deterministic
    top = model.recommend_new(liked, [5, 5, 5, 5], n=5)
    assert not set(liked) & set(top["item"])
    assert sum((item - 100) % 2 == 1 for item in top["item"]) >= 4
    assert not model.fold_in(liked, [1, 1, 1, 1]).any()  # no positive: the zero vector


@pytest.mark.parametrize("unobserved", [0.0, 0.05])
def test_als_fold_in_solves_the_normal_equations(ratings, unobserved):
    model = ALSFactorizer(**SMALL[ALSFactorizer], reg_unobserved=unobserved, n_threads=1).fit(ratings)
    codes = ratings.item_codes([101, 103])
    x = model.fold_in([101, 103]).astype(np.float64)
    Y = model.Q_.astype(np.float64)
    c = 1 + model.alpha
    lam = model.reg * (2 + unobserved * ratings.n_items) ** model.reg_exponent
    A = Y.T @ Y + lam * np.eye(Y.shape[1]) + (c - 1) * Y[codes].T @ Y[codes]
    np.testing.assert_allclose(A @ x, c * Y[codes].sum(axis=0), rtol=1e-4, atol=1e-5)


def test_every_rating_as_interaction(ratings):
    model = ALSFactorizer(**SMALL[ALSFactorizer], positive_level=None, n_threads=1).fit(ratings)
    assert model.positive_threshold_ is None and model.n_positives_ == len(ratings)


def test_not_fitted():
    from mfcore.models.base import NotFittedError

    with pytest.raises(NotFittedError, match="not fitted"):
        ALSFactorizer().scores([1])


MOVIELENS = SHARED_DATA / "ml-100k" / "u.data"


@pytest.mark.skipif(not MOVIELENS.exists(), reason=f"MovieLens 100k is not at {MOVIELENS}")
def test_movielens_ranking_models_beat_popularity():
    from mfcore.data import load_ratings
    from mfcore.evaluation.topn import evaluate, holdout_positives, popularity_scorer

    ratings = load_ratings(MOVIELENS)
    train, test = holdout_positives(ratings, 0.2, seed=0)
    popular = evaluate(popularity_scorer(train, 4.0), train, test)["ndcg"]
    for model in (ALSFactorizer(n_threads=1), BPRFactorizer(n_threads=1)):
        assert evaluate(model.fit(train), train, test)["ndcg"] > 1.2 * popular


@pytest.mark.parametrize("cls", MODELS)
def test_save_load_round_trip_is_exact(cls, ratings, tmp_path):
    from mfcore.models.persist import load_bundle, load_model

    model = cls(**SMALL[cls], n_threads=1).fit(ratings)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = load_model(path)
    assert type(loaded) is cls and loaded.get_params() == model.get_params()
    for name in cls.FITTED_ARRAYS:
        np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name))
    users = ["u0", "u5", "nobody"]
    np.testing.assert_array_equal(loaded.scores(users), model.scores(users))
    pd.testing.assert_frame_equal(loaded.recommend("u1"), model.recommend("u1"))
    pd.testing.assert_frame_equal(loaded.similar_items(101), model.similar_items(101))
    np.testing.assert_array_equal(loaded.fold_in([101, 103]), model.fold_in([101, 103]))
    assert loaded.positive_threshold_ == model.positive_threshold_ and loaded.history_ == model.history_
    assert cls.load(path).n_positives_ == model.n_positives_
    other = ALSFactorizer if cls is BPRFactorizer else BPRFactorizer
    with pytest.raises(ValueError, match="use mfcore.models.persist.load_model"):
        other.load(path)
    assert load_bundle(path).train is None
