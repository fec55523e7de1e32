"""EASE and ItemKNN: the scoring contract of every ranking model, their maths, save/load, fold-in,
the memory guard's sentence; and recommend_new's popularity fallback for every ranking model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mfcore.models.als import ALSFactorizer
from mfcore.models.bpr import BPRFactorizer
from mfcore.models.neighbors import EASE, ItemKNN, check_gram_memory, gram_peak_bytes
from planted import SMALL, planted

ITEM_MODELS = [EASE, ItemKNN]
ITEM_SMALL = {EASE: dict(reg=10.0), ItemKNN: dict(n_neighbors=10, shrinkage=1.0)}


@pytest.fixture(scope="module")
def ratings():
    return planted()


def positives_matrix(ratings):
    keep = ratings.values >= 4
    X = np.zeros((ratings.n_users, ratings.n_items))
    X[ratings.users[keep], ratings.items[keep]] = 1
    return X


def test_ease_is_the_closed_form(ratings):
    model = EASE(reg=10.0).fit(ratings)
    X = positives_matrix(ratings)
    P = np.linalg.inv(X.T @ X + 10.0 * np.eye(ratings.n_items))
    B = -P / np.diag(P)
    np.fill_diagonal(B, 0)
    np.testing.assert_allclose(model.B_, B, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.scores(ratings.user_ids[:3]), X[:3] @ B, rtol=1e-4, atol=1e-5)


def test_itemknn_keeps_k_shrunk_cosine_neighbours(ratings):
    model = ItemKNN(n_neighbors=3, shrinkage=2.0).fit(ratings)
    X = positives_matrix(ratings)
    counts = X.sum(axis=0)
    S = (X.T @ X) / (np.sqrt(np.outer(counts, counts)) + 2.0)
    np.fill_diagonal(S, 0)
    B = model.B_.toarray()
    assert (np.count_nonzero(B, axis=1) <= 3).all()
    for i in range(ratings.n_items):
        kept = np.flatnonzero(B[i])
        np.testing.assert_allclose(B[i, kept], S[i, kept], rtol=1e-5)
        assert S[i, kept].min() >= np.sort(S[i])[-3] - 1e-9  # the 3 most similar


@pytest.mark.parametrize("cls", ITEM_MODELS)
def test_scoring_contract(cls, ratings):
    model = cls(**ITEM_SMALL[cls]).fit(ratings)
    assert model.scores(["u0", "u1"]).shape == (2, ratings.n_items)
    top = model.recommend("u0", n=5)
    assert list(top.columns) == ["item", "score"] and np.all(np.diff(top["score"]) <= 0)
    seen = set(ratings.item_ids[ratings.items[ratings.users == ratings.user_codes(["u0"])[0]]])
    assert not seen & set(top["item"])
    assert sum((item - 100) % 2 == 0 for item in top["item"]) >= 4  # u0 is in group 0
    similar = model.similar_items(100, n=5)
    assert 100 not in set(similar["item"]) and sum((item - 100) % 2 == 0 for item in similar["item"]) >= 4
    popular = np.bincount(ratings.items[ratings.values >= 4], minlength=ratings.n_items)
    np.testing.assert_array_equal(model.scores(["nobody"])[0], popular)
    assert len(model.history_) == 1 and model.fit_seconds_ >= 0
    with pytest.raises(KeyError, match="not known"):
        model.similar_items(999)


@pytest.mark.parametrize("cls", ITEM_MODELS)
def test_fold_in_is_the_users_row(cls, ratings):
    model = cls(**ITEM_SMALL[cls]).fit(ratings)
    code = ratings.user_codes(["u3"])[0]
    mine = ratings.items[(ratings.users == code) & (ratings.values >= 4)]
    np.testing.assert_allclose(model.vector_scores(model.fold_in(ratings.item_ids[mine])), model.scores(["u3"])[0],
                               rtol=1e-6)
    liked = [101, 103, 105, 107]
    top = model.recommend_new(liked, [5, 5, 5, 5], n=5)
    assert not set(liked) & set(top["item"]) and sum((item - 100) % 2 == 1 for item in top["item"]) >= 4
    batch = model.fold_in_scores([np.array([1, 3]), np.array([], np.int64)])
    np.testing.assert_allclose(batch[0], model.vector_scores(model.fold_in(ratings.item_ids[[1, 3]])), rtol=1e-6)
    np.testing.assert_array_equal(batch[1], model._popularity)


@pytest.mark.parametrize("cls", [*ITEM_MODELS, ALSFactorizer, BPRFactorizer])
def test_recommend_new_without_a_known_positive_is_popularity(cls, ratings):
    params = ITEM_SMALL.get(cls) or {**SMALL[cls], "n_threads": 1}
    model = cls(**params).fit(ratings)
    cold = model.recommend_new([101, 103], [1, 1], n=5)  # rated, but no positive
    unknown = model.recommend_new(["no such item"], n=5)
    popular = model.recommend("nobody", n=7)
    assert list(cold["item"]) == [i for i in popular["item"] if i not in (101, 103)][:5]
    assert list(unknown["item"]) == list(popular["item"])[:5]


@pytest.mark.parametrize("cls", ITEM_MODELS)
def test_save_load_round_trip(cls, ratings, tmp_path):
    from mfcore.models.persist import load_model

    model = cls(**ITEM_SMALL[cls]).fit(ratings)
    model.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert type(loaded) is cls and loaded.get_params() == model.get_params()
    users = ["u0", "u5", "nobody"]
    np.testing.assert_array_equal(loaded.scores(users), model.scores(users))
    pd.testing.assert_frame_equal(loaded.similar_items(101), model.similar_items(101))
    pd.testing.assert_frame_equal(loaded.recommend_new([101, 103]), model.recommend_new([101, 103]))
    other = EASE if cls is ItemKNN else ItemKNN
    with pytest.raises(ValueError, match="use mfcore.models.persist.load_model"):
        other.load(tmp_path / "m.npz")


def test_a_damaged_weight_matrix_is_refused(ratings, tmp_path):
    from mfcore.models.model_file import ModelFileError
    from mfcore.models.persist import load_model

    model = ItemKNN(**ITEM_SMALL[ItemKNN]).fit(ratings)
    model.B_.indices[0] = ratings.n_items + 5
    model.save(tmp_path / "bad.npz")
    with pytest.raises(ModelFileError, match="B matrix does not fit"):
        load_model(tmp_path / "bad.npz")


def test_the_gram_guard_refuses_with_one_sentence(ratings, monkeypatch):
    assert gram_peak_bytes(1000) == 32_000_000
    check_gram_memory(1000, cap=32_000_000)
    with pytest.raises(ValueError) as found:
        check_gram_memory(30_000, cap=1 << 30)
    message = str(found.value)
    assert message.count(". ") == 0 and message.endswith(".") and "30,000 x 30,000" in message
    monkeypatch.setenv("MF_MEMORY_CAP_BYTES", "1000")
    with pytest.raises(ValueError, match="item-item matrix"):
        EASE().fit(ratings)


def test_the_training_guard_knows_the_item_models():
    from mfcore.evaluation.resources import MemoryGuardError, check_training_memory

    with pytest.raises(MemoryGuardError, match=r"EASE on 27,000 items needs its 27,000 x 27,000"):
        check_training_memory(100_000, 27_000, 1_000_000, 0, 0.2, kind="ease", cap=4 << 30)
    assert check_training_memory(943, 1682, 100_000, 0, 0.2, kind="itemknn", cap=4 << 30) > 32 * 1682 ** 2


def test_bad_parameters_are_named(ratings):
    with pytest.raises(ValueError, match="reg == 0"):
        EASE(reg=0.0).fit(ratings)
    with pytest.raises(ValueError, match="n_neighbors == 0"):
        ItemKNN(n_neighbors=0).fit(ratings)


@pytest.mark.parametrize("cls", [ALSFactorizer, BPRFactorizer])
def test_factor_models_fold_in_many_users_as_one(cls, ratings):
    model = cls(**SMALL[cls], n_threads=1).fit(ratings)
    rows = [np.array([1, 3, 5]), np.array([], np.int64), np.array([2])]
    batch = model.fold_in_scores(rows)
    for row, codes in zip(batch, rows):
        expected = (model._popularity if len(codes) == 0
                    else model.vector_scores(model.fold_in(ratings.item_ids[codes])))
        np.testing.assert_allclose(row, expected, rtol=1e-5, atol=1e-6)
