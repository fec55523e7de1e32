"""SGDFactorizer: parameters, validation, the one loop, prediction and recommendation."""

import numpy as np
import pytest

from mfcore import NotFittedError, SGDFactorizer, TrainingDiverged, from_arrays, random_split
from mfcore.data import load_ratings
from mfcore.data.synthetic import make_ratings
from mfcore.models.params import ADAGRAD_LR


@pytest.fixture(scope="module")
def split():
    ratings = load_ratings(make_ratings(200, 150, 6000, seed=3))
    return random_split(ratings, 0.1, seed=0)


def fitted(split, **params):
    return SGDFactorizer(**{"n_factors": 8, "n_epochs": 3, **params}).fit(*split)


@pytest.mark.parametrize("name, value", [
    ("n_factors", 4), ("n_epochs", 2), ("lr", 0.02), ("reg", 0.5), ("biased", False), ("init_std", 0.3),
    ("seed", 9), ("engine", "numpy"),
])
def test_each_hyperparameter_changes_the_result(split, name, value):
    base = fitted(split)
    changed = fitted(split, **{name: value})
    assert changed.history_[-1].test_rmse != base.history_[-1].test_rmse


def test_same_seed_same_model(split):
    a, b = fitted(split), fitted(split)
    np.testing.assert_array_equal(a.P_, b.P_)
    assert [r.test_rmse for r in a.history_] == [r.test_rmse for r in b.history_]


@pytest.mark.parametrize("params, message", [
    ({"lr": -0.1}, "lr == -0.1, must be None or > 0."),
    ({"lr": 0}, "lr == 0, must be None or > 0."),
    ({"reg": -1}, "reg == -1, must be >= 0."),
    ({"n_factors": 0}, "n_factors == 0, must be an integer >= 1."),
    ({"n_factors": 2.5}, "n_factors == 2.5, must be an integer >= 1."),
    ({"n_epochs": True}, "n_epochs == True, must be an integer >= 1."),
    ({"biased": "yes"}, "biased == 'yes', must be True or False."),
    ({"engine": "fortran"}, "engine == 'fortran', must be one of"),
    ({"schedule": "sometimes"}, "schedule == 'sometimes', must be one of per-rating,"),
    ({"schedule": "funk", "engine": "numpy"}, "schedule == 'funk' is not available in the numpy engine"),
    ({"test_size": 0.1}, "unknown parameter 'test_size'"),
    ({"n_threads": 0}, "n_threads == 0"),
])
def test_invalid_parameters_are_named(split, params, message):
    with pytest.raises((ValueError, TypeError)) as error:
        SGDFactorizer(**params).fit(*split)  # __init__ stores (unknown names aside), fit validates
    assert message in str(error.value)


def test_set_and_get_params_and_repr():
    model = SGDFactorizer().set_params(lr=0.01)
    assert model.get_params()["lr"] == 0.01 and repr(model) == "SGDFactorizer(lr=0.01)"
    with pytest.raises(ValueError, match="unknown parameter 'alpha'"):
        model.set_params(alpha=1)


def test_fit_iter_streams_and_stops_early(split):
    model = SGDFactorizer(n_factors=4, n_epochs=10)
    seen = []
    for result in model.fit_iter(*split):
        seen.append(result.epoch)
        if result.epoch == 3:
            break
    assert seen == [1, 2, 3] and len(model.history_) == 3
    assert np.isfinite(model.predict_codes(split[1].users, split[1].items)).all()


def test_fit_calls_callbacks_and_returns_self(split):
    results = []
    model = SGDFactorizer(n_factors=4, n_epochs=2)
    assert model.fit(*split, callbacks=[results.append]) is model
    assert [r.epoch for r in results] == [1, 2] and results == model.history_


def test_not_fitted_guard():
    with pytest.raises(NotFittedError, match="not fitted yet, call fit"):
        SGDFactorizer().predict(1, 1)


def test_divergence_stops_with_advice(split):
    model = SGDFactorizer(n_factors=8, n_epochs=20, lr=5.0, init_std=1.0, step_rule="constant")
    with pytest.raises(TrainingDiverged, match=r"diverged at epoch \d+.*lower the learning rate"):
        model.fit(*split)
    assert all(np.isfinite(r.train_rmse) for r in model.history_)
    with pytest.raises(NotFittedError):
        model.predict(1, 1)


def test_predict_is_clipped_and_unknown_ids_fall_back_to_biases(split):
    model = fitted(split)
    train = split[0]
    user, item = train.user_ids[train.users[0]], train.item_ids[train.items[0]]
    assert 1.0 <= model.predict(user, item) <= 5.0
    unknown_user = model.predict("nobody", item)
    code = train.item_codes(item)
    assert unknown_user == pytest.approx(np.clip(model.global_mean_ + model.bi_[code], 1, 5), abs=1e-6)
    assert model.predict("nobody", "nothing") == pytest.approx(model.global_mean_, abs=1e-6)
    many = model.predict([user, "nobody"], [item, item])
    assert many.shape == (2,) and many[1] == pytest.approx(unknown_user)


def test_user_seen_only_in_test_gets_bias_only_prediction():
    train = from_arrays(["a", "a", "b", "c"], ["x", "y", "x", "y"], [5, 3, 4, 2])
    seen = train.take(np.array([0, 1, 2]))  # "c" is known to the id map but has no training rating
    model = SGDFactorizer(n_factors=3, n_epochs=2, init_std=0.5).fit(seen)
    c, y = train.user_codes("c"), train.item_codes("y")
    assert not model.P_[c].any()
    assert model.predict("c", "y") == pytest.approx(model.global_mean_ + model.bi_[y], abs=1e-6)


def test_recommend_excludes_seen_and_handles_unknown_users(split):
    model = fitted(split)
    train = split[0]
    user = train.user_ids[train.users[0]]
    top = model.recommend(user, n=5)
    rated = set(train.item_ids[train.items[train.users == train.users[0]]])
    assert len(top) == 5 and not rated & set(top["item"])
    assert top["score"].is_monotonic_decreasing
    with_seen = model.recommend(user, n=model.Q_.shape[0], exclude_seen=False)
    assert rated <= set(with_seen["item"])
    cold = model.recommend("nobody", n=3)
    best_items = np.argsort(-model.bi_)[:3]
    assert list(cold["item"]) == list(train.item_ids[best_items])


def test_unbiased_model_has_no_biases(split):
    model = fitted(split, biased=False)
    assert model.global_mean_ == 0 and not model.bu_.any() and not model.bi_.any()


def test_default_learning_rate_follows_the_schedule_and_step_rule(split):
    assert fitted(split).lr_ == ADAGRAD_LR and fitted(split).step_rule_ == "adagrad"
    assert fitted(split, step_rule="constant").lr_ == 0.007
    assert fitted(split, engine="numpy").step_rule_ == "constant"
    assert fitted(split, schedule="per-epoch").lr_ == 0.002
    assert fitted(split, schedule="per-epoch", lr=0.001).lr_ == 0.001
