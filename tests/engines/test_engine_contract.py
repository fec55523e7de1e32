"""The kernel contract, checked for every registered (engine, schedule) pair.

``kernel(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased, **plan.next_epoch(epoch))``
updates ``bu, bi, P, Q`` in place, returns the epoch's squared-error sum, keeps float32, is
deterministic under a seed, and an exact engine computes what the python reference computes.
"""

import numpy as np
import pytest
from conftest import model_state, random_ratings

from mfcore import SGDFactorizer, from_arrays
from mfcore.engines import ENGINES

PAIRS = [(engine, schedule) for engine in sorted(ENGINES) for schedule in ENGINES[engine].kernels]
N_USERS, N_ITEMS, K = 40, 50, 6


@pytest.fixture(autouse=True)
def threads_even_for_small_data(monkeypatch):
    from mfcore.engines import numba_parallel

    monkeypatch.setattr(numba_parallel, "MIN_RATINGS_PER_THREAD", 0)


def run_epochs(engine, schedule, epochs=3, dtype=np.float32, lr=0.01, seed=5, state=None):
    users, items, ratings = random_ratings(N_USERS, N_ITEMS)
    state = state or model_state(N_USERS, N_ITEMS, K, dtype)
    spec = ENGINES[engine]
    plan = spec.plan(schedule)(users, items, ratings.astype(dtype), np.random.default_rng(seed), n_users=N_USERS,
                     n_items=N_ITEMS, n_factors=K, schedule=schedule, epochs_per_feature=1,
                     options={name: {"n_threads": 2, "batch_size": 64}[name] for name in spec.options_for(schedule)})
    kernel = spec.kernel(schedule)
    sums = [kernel(**state, lr=dtype(lr), reg=dtype(0.05), biased=True, **plan.next_epoch(epoch))
            for epoch in range(1, epochs + 1)]
    return state, sums


def test_the_registry_has_every_schedule_somewhere():
    assert {"python", "numba", "numba-parallel"} <= set(ENGINES)
    assert set(ENGINES["python"].kernels) == set(ENGINES["numba"].kernels)


@pytest.mark.parametrize("engine, schedule", PAIRS)
def test_updates_in_place_and_keeps_float32(engine, schedule):
    state = model_state(N_USERS, N_ITEMS, K)
    arrays = {name: state[name] for name in ("bu", "bi", "P", "Q")}
    before = {name: array.copy() for name, array in arrays.items()}
    state, _ = run_epochs(engine, schedule, epochs=1, state=state)
    for name, array in arrays.items():
        assert state[name] is array and array.dtype == np.float32, name
        assert not np.array_equal(array, before[name]), f"{name} did not change"


@pytest.mark.parametrize("engine, schedule", PAIRS)
def test_returns_the_squared_error_sum(engine, schedule):
    """With lr = 0 nothing moves, so every epoch's sum is the exact training SSE of the start."""
    users, items, ratings = random_ratings(N_USERS, N_ITEMS)
    state = model_state(N_USERS, N_ITEMS, K, np.float64)
    state["bu"][:] = np.random.default_rng(2).normal(0, 0.2, N_USERS)
    expected = float(np.sum((ratings - (state["mu"] + state["bu"][users] + state["bi"][items]
                                        + np.einsum("nk,nk->n", state["P"][users], state["Q"][items])))**2))
    _, sums = run_epochs(engine, schedule, epochs=2, dtype=np.float64, lr=0.0, state=state)
    np.testing.assert_allclose(sums, [expected, expected], rtol=1e-9)


@pytest.mark.parametrize("engine, schedule", PAIRS)
def test_deterministic_under_a_seed(engine, schedule):
    first, first_sums = run_epochs(engine, schedule)
    second, second_sums = run_epochs(engine, schedule)
    other, _ = run_epochs(engine, schedule, seed=6)
    assert first_sums == second_sums
    for name in ("bu", "bi", "P", "Q"):
        np.testing.assert_array_equal(first[name], second[name])
    assert not np.array_equal(first["P"], other["P"]), "the seed does not change the visiting order"


@pytest.mark.parametrize("engine, schedule", [pair for pair in PAIRS if ENGINES[pair[0]].is_exact(pair[1])])
def test_exact_engines_match_the_python_reference(engine, schedule):
    reference, reference_sums = run_epochs("python", schedule, dtype=np.float64)
    result, sums = run_epochs(engine, schedule, dtype=np.float64)
    np.testing.assert_allclose(sums, reference_sums, rtol=1e-9)
    for name in ("bu", "bi", "P", "Q"):
        np.testing.assert_allclose(result[name], reference[name], atol=1e-9, err_msg=name)


@pytest.mark.parametrize("engine, schedule", PAIRS)
def test_the_estimator_runs_every_pair_in_float32(engine, schedule):
    users, items, ratings = random_ratings(N_USERS, N_ITEMS)
    model = SGDFactorizer(engine=engine, schedule=schedule, n_factors=K, n_epochs=2, lr=0.005,
                          seed=0).fit(from_arrays(users, items, ratings))
    assert model.P_.dtype == model.Q_.dtype == model.bu_.dtype == np.float32
    assert np.isfinite([r.train_rmse for r in model.history_]).all()
