"""Error schedules: python and numba agree per schedule, and known answers hold."""

import numpy as np
import pytest

from mfcore import SGDFactorizer, TrainingDiverged, from_arrays
from mfcore.engines import ENGINES, SCHEDULES, funk_feature

pytestmark = pytest.mark.skipif("numba" not in ENGINES, reason="numba is not installed")


def _problem(n=400, n_users=30, n_items=40, seed=1):
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, n).astype(np.int32)
    items = rng.integers(0, n_items, n).astype(np.int32)
    return users, items, rng.integers(1, 6, n).astype(np.float64), n_users, n_items


def _run_kernels(engine, schedule, epochs=5, k=6, biased=True, epochs_per_feature=2):
    """Call ``engine``'s kernel for ``schedule`` directly, in float64, the way fit_iter does."""
    users, items, ratings, n_users, n_items = _problem()
    rng = np.random.default_rng(0)
    P, Q = rng.normal(0, 0.1, (n_users, k)), rng.normal(0, 0.1, (n_items, k))
    bu, bi = np.zeros(n_users), np.zeros(n_items)
    kernel = ENGINES[engine].kernel(schedule)
    plan = ENGINES[engine].plan(schedule)(users, items, ratings, np.random.default_rng(7),
                                          n_users=n_users, n_items=n_items, n_factors=k,
                                          schedule=schedule, epochs_per_feature=epochs_per_feature)
    sses = []
    for epoch in range(1, epochs + 1):
        sses.append(kernel(mu=3.0 if biased else 0.0, bu=bu, bi=bi, P=P, Q=Q, lr=0.01, reg=0.05,
                           biased=biased, **plan.next_epoch(epoch)))
    return P, Q, bu, bi, np.array(sses)


@pytest.mark.parametrize("schedule", list(SCHEDULES))
@pytest.mark.parametrize("biased", [True, False])
def test_python_and_numba_kernels_agree_in_float64(schedule, biased):
    reference = _run_kernels("python", schedule, biased=biased)
    compiled = _run_kernels("numba", schedule, biased=biased)
    for a, b in zip(reference, compiled):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_python_and_numba_agree_through_the_estimator_in_float32(schedule):
    users, items, ratings, _, _ = _problem()
    data = from_arrays(users, items, ratings)
    fits = [SGDFactorizer(n_factors=6, n_epochs=4, lr=0.01, engine=engine, schedule=schedule,
                          epochs_per_feature=2, seed=3).fit(data) for engine in ("python", "numba")]
    np.testing.assert_allclose(fits[0].P_, fits[1].P_, atol=2e-4)
    np.testing.assert_allclose(fits[0].Q_, fits[1].Q_, atol=2e-4)
    np.testing.assert_allclose([r.train_rmse for r in fits[0].history_],
                               [r.train_rmse for r in fits[1].history_], rtol=1e-4)


def _low_rank(n_users=30, n_items=20, rank=2, seed=0):
    rng = np.random.default_rng(seed)
    truth = rng.normal(0, 1, (n_users, rank)) @ rng.normal(0, 1, (rank, n_items))
    users, items = np.meshgrid(np.arange(n_users), np.arange(n_items), indexing="ij")
    return from_arrays(users.ravel(), items.ravel(), truth.ravel())


@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_every_schedule_recovers_a_noiseless_low_rank_matrix(schedule):
    """Rank 2, fully observed, no noise, K = 2, no regularization: the training error goes to ~0
    (funk takes turns of 50 epochs on each of its two features)."""
    data = _low_rank()
    model = SGDFactorizer(n_factors=2, n_epochs=300, lr=0.02, reg=0.0, biased=False, init_std=0.3,
                          schedule=schedule, epochs_per_feature=50, seed=0, step_rule="constant").fit(data)
    assert model.history_[-1].train_rmse < 1e-4
    assert model.evaluate(data)["rmse"] < 1e-4


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_stale_errors_diverge_at_a_learning_rate_fresh_errors_handle():
    data = _low_rank()
    params = dict(n_factors=2, n_epochs=100, lr=0.1, reg=0.0, biased=False, init_std=0.3, seed=0)
    assert SGDFactorizer(schedule="per-rating", **params).fit(data).history_[-1].train_rmse < 1e-4
    with pytest.raises(TrainingDiverged, match="lower the learning rate"):
        SGDFactorizer(schedule="per-epoch", **params).fit(data)


def test_funk_with_one_feature_is_per_rating_sgd():
    """With K = 1 the cached rest of the prediction is empty, so funk takes the same steps."""
    users, items, ratings, _, _ = _problem()
    data = from_arrays(users, items, ratings)
    a, b = (SGDFactorizer(n_factors=1, n_epochs=5, engine="numba", schedule=s, seed=2, step_rule="constant").fit(data)
            for s in ("funk", "per-rating"))
    np.testing.assert_allclose(a.P_, b.P_, atol=1e-6)
    np.testing.assert_allclose(a.bu_, b.bu_, atol=1e-6)


def test_per_factor_with_one_factor_and_no_biases_is_per_rating_sgd():
    users, items, ratings, _, _ = _problem()
    data = from_arrays(users, items, ratings)
    a, b = (SGDFactorizer(n_factors=1, n_epochs=5, biased=False, engine="numba", schedule=s,
                                  seed=2, step_rule="constant").fit(data)
            for s in ("per-factor", "per-rating"))
    np.testing.assert_allclose(a.Q_, b.Q_, atol=1e-6)


def test_per_epoch_reports_the_exact_training_error_at_the_start_of_the_epoch():
    users, items, ratings, n_users, n_items = _problem()
    rng = np.random.default_rng(0)
    P, Q = rng.normal(0, 0.1, (n_users, 4)), rng.normal(0, 0.1, (n_items, 4))
    bu, bi = rng.normal(0, 0.1, n_users), rng.normal(0, 0.1, n_items)
    expected = np.sum((ratings - 3.0 - bu[users] - bi[items] - np.sum(P[users] * Q[items], 1)) ** 2)
    for engine in ("python", "numba"):
        sse = ENGINES[engine].kernel("per-epoch")(users, items, ratings, 3.0, bu.copy(), bi.copy(),
                                                   P.copy(), Q.copy(), 0.01, 0.05, True)
        assert sse == pytest.approx(expected, rel=1e-12)


def test_funk_trains_one_feature_per_block_of_epochs():
    users, items, ratings, _, _ = _problem()
    data = from_arrays(users, items, ratings)
    before = SGDFactorizer(n_factors=3, n_epochs=1, lr=1e-30, schedule="funk", seed=4).fit(data).P_
    model = SGDFactorizer(n_factors=3, n_epochs=4, schedule="funk", epochs_per_feature=2, seed=4)
    for result in model.fit_iter(data):
        changed = np.flatnonzero(np.any(before != model.P_, axis=0))
        assert changed.tolist() == list(range(funk_feature(result.epoch, 3, 2) + 1))
    assert [funk_feature(e, 3, 2) for e in range(1, 9)] == [0, 0, 1, 1, 2, 2, 0, 0]


def test_epochs_per_feature_is_validated():
    users, items, ratings, _, _ = _problem()
    with pytest.raises(ValueError, match="epochs_per_feature == 0, must be an integer >= 1"):
        SGDFactorizer(schedule="funk", epochs_per_feature=0).fit(from_arrays(users, items, ratings))
