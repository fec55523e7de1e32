"""The adagrad step rule: one set of equations (python.run_epoch_adagrad) in every kernel that has it."""

import numpy as np
import pytest
from conftest import model_state, random_ratings

from mfcore import SGDFactorizer, from_arrays, random_split
from mfcore.engines import ADAGRAD_KERNELS, numba_jit, numba_parallel, python

N_USERS, N_ITEMS, K = 40, 50, 6


def accumulators(dtype):
    return {"adagrad_users": np.ones((N_USERS, 2), dtype), "adagrad_items": np.ones((N_ITEMS, 2), dtype)}


def epochs(kernel, dtype, n=3, **extra):
    users, items, ratings = random_ratings(N_USERS, N_ITEMS)
    state, steps = model_state(N_USERS, N_ITEMS, K, dtype), accumulators(dtype)
    rng = np.random.default_rng(4)
    sums = []
    for _ in range(n):
        order = rng.permutation(len(ratings))
        sums.append(kernel(users[order], items[order], ratings[order].astype(dtype), **state, lr=dtype(0.1),
                           reg=dtype(0.05), biased=True, **steps, **extra))
    return sums, {**state, **steps}


def test_the_compiled_kernel_computes_the_reference_in_float64():
    reference_sums, reference = epochs(python.run_epoch, np.float64)
    sums, compiled = epochs(numba_jit.run_epoch, np.float64)
    np.testing.assert_allclose(sums, reference_sums, rtol=1e-9)
    for name, array in reference.items():
        np.testing.assert_allclose(compiled[name], array, rtol=1e-9, atol=1e-12, err_msg=name)


def test_the_estimated_steps_stay_within_the_estimates_precision_of_the_exact_ones():
    """``numba-parallel``'s AdaGrad takes the CPU's 1/sqrt estimate (relative error below 1.5 * 2^-12):
    one epoch from the same state moves every parameter by the same step to about that precision."""
    users, items, ratings = random_ratings(N_USERS, N_ITEMS)
    runs = []
    for estimate in (False, True):
        state, steps = model_state(N_USERS, N_ITEMS, K), accumulators(np.float32)
        start = {name: state[name].copy() for name in ("P", "Q", "bu", "bi")}
        numba_jit.adagrad_pass(users, items, ratings, state["mu"], state["bu"], state["bi"], state["P"], state["Q"],
                               np.float32(0.1), np.float32(0.05), True, *steps.values(),
                               numba_jit.squared_norms(state["P"]), numba_jit.squared_norms(state["Q"]), estimate, K)
        runs.append({name: state[name] - start[name] for name in start})
    exact, estimated = runs
    for name in exact:
        np.testing.assert_allclose(estimated[name], exact[name], rtol=0.02, atol=1e-4 * np.abs(exact[name]).max(),
                                   err_msg=name)


def test_accumulators_grow_by_the_squared_gradients():
    _, state = epochs(numba_jit.run_epoch, np.float64, n=1)
    assert (state["adagrad_users"] >= 1).all() and (state["adagrad_items"] >= 1).all()
    assert (state["adagrad_users"][:, 0] > 1).any() and (state["adagrad_items"][:, 1] > 1).any()


def test_the_parallel_kernel_with_one_block_computes_the_serial_kernel_with_the_estimated_steps():
    """The same equations and order (to float32 rounding: the two are compiled apart, and fastmath lets
    each fuse its multiply-adds its own way)."""
    users, items, ratings = random_ratings(N_USERS, N_ITEMS)
    serial, blocked = model_state(N_USERS, N_ITEMS, K), model_state(N_USERS, N_ITEMS, K)
    serial_steps, blocked_steps = accumulators(np.float32), accumulators(np.float32)
    common = dict(lr=np.float32(0.1), reg=np.float32(0.05), biased=True)
    numba_jit.adagrad_pass(users, items, ratings, serial["mu"], serial["bu"], serial["bi"], serial["P"], serial["Q"],
                           *common.values(), *serial_steps.values(), numba_jit.squared_norms(serial["P"]),
                           numba_jit.squared_norms(serial["Q"]), True, K)
    numba_parallel.run_epoch(users, items, ratings, **blocked, **common, **blocked_steps,
                             bounds=np.array([0, len(ratings)]), schedule=np.zeros((1, 1), np.int64), n_threads=1)
    for name in ("P", "Q", "bu", "bi"):
        np.testing.assert_allclose(blocked[name], serial[name], rtol=1e-4, atol=1e-7, err_msg=name)
    np.testing.assert_allclose(blocked_steps["adagrad_users"], serial_steps["adagrad_users"], rtol=1e-4)


def problem():
    rng = np.random.default_rng(0)
    users, items = rng.integers(0, 300, 12000), rng.integers(0, 200, 12000)
    truth = rng.normal(0, 0.7, (300, 3)) @ rng.normal(0, 0.7, (3, 200))
    values = np.clip(np.round(3.5 + truth[users, items] + rng.normal(0, 0.3, 12000)), 1, 5)
    return random_split(from_arrays(users, items, values), 0.1, seed=0)


@pytest.mark.jit_only
@pytest.mark.parametrize("engine", sorted(ADAGRAD_KERNELS))
def test_every_engine_with_adagrad_learns_and_python_and_numba_agree(engine):
    train, test = problem()
    params = dict(n_factors=8, n_epochs=8, step_rule="adagrad", lr=0.1, init_std=0.1, seed=1)
    model = SGDFactorizer(engine=engine, **params).fit(train, test)
    assert model.step_rule_ == "adagrad"
    assert model.history_[-1].test_rmse < model.history_[0].test_rmse
    mean_only = float(np.sqrt(np.mean((test.values - train.values.mean()) ** 2)))
    assert model.evaluate(test)["rmse"] < 0.8 * mean_only
    if engine == "python":
        compiled = SGDFactorizer(engine="numba", **params).fit(train, test)
        np.testing.assert_allclose(compiled.P_, model.P_, atol=2e-4)
        np.testing.assert_allclose([r.train_rmse for r in compiled.history_],
                                   [r.train_rmse for r in model.history_], rtol=1e-4)


def test_parallel_adagrad_is_deterministic_on_one_and_two_threads(monkeypatch):
    monkeypatch.setattr(numba_parallel, "MIN_RATINGS_PER_THREAD", 0)
    train, _ = problem()
    fits = [SGDFactorizer(n_factors=8, n_epochs=4, step_rule="adagrad", n_threads=t).fit(train) for t in (1, 2, 2)]
    for other in fits[1:]:
        np.testing.assert_array_equal(other.P_, fits[0].P_)


@pytest.mark.parametrize("engine, schedule", [("numpy", "per-rating"), ("numba", "per-epoch")])
def test_adagrad_where_a_kernel_lacks_it_is_one_clear_error(engine, schedule):
    with pytest.raises(ValueError, match=rf"step_rule == 'adagrad' is not available in the {engine} engine's "
                                         rf"{schedule} schedule"):
        SGDFactorizer(engine=engine, schedule=schedule, step_rule="adagrad").validate_params()
    assert SGDFactorizer(engine=engine, schedule=schedule, n_epochs=1).fit(problem()[0]).step_rule_ == "constant"
