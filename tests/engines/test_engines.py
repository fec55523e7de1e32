"""Engines: the same seed gives the same model in every engine that implements the same algorithm."""

import re

import numpy as np
import pytest
from numba import njit

from mfcore import ENGINES, SGDFactorizer, from_arrays, random_split
from mfcore.engines import numba_jit, numba_schedules, numpy_batch, python


def small_problem(n_users=60, n_items=80, n_ratings=3000, seed=0):
    rng = np.random.default_rng(seed)
    keys = rng.choice(n_users * n_items, n_ratings, replace=False)
    users, items = np.divmod(keys, n_items)
    return from_arrays(users, items, rng.integers(1, 6, n_ratings).astype(float))


def kernel_state(problem, k=8, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return dict(
        mu=dtype(problem.values.mean()), bu=np.zeros(problem.n_users, dtype), bi=np.zeros(problem.n_items, dtype),
        P=rng.normal(0, 0.1, (problem.n_users, k)).astype(dtype),
        Q=rng.normal(0, 0.1, (problem.n_items, k)).astype(dtype),
    )


def run(kernel, problem, state, epochs=3, dtype=np.float64, **extra):
    rng = np.random.default_rng(1)
    sums = []
    for _ in range(epochs):
        order = rng.permutation(len(problem))
        sums.append(kernel(problem.users[order], problem.items[order], problem.values[order].astype(dtype),
                           state["mu"], state["bu"], state["bi"], state["P"], state["Q"], dtype(0.01),
                           dtype(0.05), True, **extra))
    return sums


def test_python_and_numba_kernels_agree_in_float64():
    problem = small_problem()
    reference, compiled = kernel_state(problem), kernel_state(problem)
    sums_python = run(python.run_epoch, problem, reference)
    sums_numba = run(numba_jit.run_epoch, problem, compiled)
    np.testing.assert_allclose(sums_numba, sums_python, rtol=1e-10)
    for name in ("bu", "bi", "P", "Q"):
        np.testing.assert_allclose(compiled[name], reference[name], atol=1e-10)


def test_numpy_batch_of_one_is_per_rating_sgd():
    problem = small_problem(n_ratings=500)
    reference, batched = kernel_state(problem), kernel_state(problem)
    run(python.run_epoch, problem, reference, epochs=2)
    run(numpy_batch.run_epoch, problem, batched, epochs=2, batch_size=1)
    for name in ("bu", "bi", "P", "Q"):
        np.testing.assert_allclose(batched[name], reference[name], atol=1e-10)


def test_python_and_numba_estimators_agree_in_float32_after_3_epochs():
    train, test = random_split(small_problem(), 0.1, seed=0)
    params = dict(n_factors=10, n_epochs=3, seed=5)
    slow = SGDFactorizer(engine="python", **params).fit(train, test)
    fast = SGDFactorizer(engine="numba", **params).fit(train, test)
    for name in ("P_", "Q_", "bu_", "bi_"):
        np.testing.assert_allclose(getattr(fast, name), getattr(slow, name), atol=1e-5)
    assert abs(fast.history_[-1].test_rmse - slow.history_[-1].test_rmse) < 1e-5


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_every_engine_learns(engine):
    train, test = random_split(small_problem(n_ratings=2500), 0.1, seed=0)
    model = SGDFactorizer(engine=engine, n_factors=5, n_epochs=4, lr=0.01, seed=0).fit(train, test)
    rmses = [r.train_rmse for r in model.history_]
    assert all(np.isfinite(rmses)) and rmses[-1] < rmses[0]
    assert model.P_.dtype == np.float32 and np.isfinite(model.history_[-1].test_rmse)


def test_numba_kernel_vectorizes_the_factor_loops_into_packed_fma():
    if not hasattr(numba_jit.sgd_pass, "inspect_asm"):
        pytest.skip("NUMBA_DISABLE_JIT is set: nothing is compiled")
    if " fma" not in open("/proc/cpuinfo").read():
        pytest.skip("this CPU has no FMA instructions")
    kernel = njit(nogil=True, fastmath=True)(numba_jit.sgd_pass.py_func)  # compiled here, not cached
    problem = small_problem(n_ratings=100)
    run(kernel, problem, kernel_state(problem, dtype=np.float32), epochs=1, dtype=np.float32, n_factors=8)
    asm = kernel.inspect_asm(kernel.signatures[0])
    assert re.search(r"vfmadd\w*ps\s+[^\n]*%[yz]mm", asm), "no packed float32 FMA in the kernel"
    assert not re.search(r"\bvfmadd\w*pd\b", asm), "float64 arithmetic crept into the kernel"


@pytest.mark.parametrize("kernel, extra", [(numba_jit.sgd_pass, {"n_factors": 8}),
                                           (numba_schedules.run_epoch_per_factor, {})],
                         ids=["per-rating", "per-factor"])
def test_hot_kernels_hold_no_reference_counting(kernel, extra):
    """The shared update helpers take scalars only: a helper taking an array would put NRT_incref
    (reference counting) into the per-rating loop, which cost a 2.5x slowdown."""
    if not hasattr(kernel, "inspect_llvm"):
        pytest.skip("NUMBA_DISABLE_JIT is set: nothing is compiled")
    compiled = njit(nogil=True, fastmath=True)(kernel.py_func)  # compiled here, not loaded from cache
    problem = small_problem(n_ratings=100)
    run(compiled, problem, kernel_state(problem, dtype=np.float32), epochs=1, dtype=np.float32, **extra)
    llvm_ir = compiled.inspect_llvm(compiled.signatures[0])
    assert not re.search(r"call \w+ @NRT_incref", llvm_ir)  # an unused definition does no harm
    assert "fmul fast double" not in llvm_ir, "float64 arithmetic crept into the kernel"
