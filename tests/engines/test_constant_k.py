"""Which per-rating kernel a training gets: compiled for its K (the K values ``make install`` warms,
or any K on big data) or the same loop for any K, so that a search trying many K compiles nothing."""

from __future__ import annotations

import numpy as np
import pytest

from mfcore import PARAMETERS, SGDFactorizer, from_arrays
from mfcore.engines import numba_jit

COMPILED = hasattr(numba_jit.run_epoch_k, "compile")


def test_the_rule_depends_only_on_k_and_the_data_size():
    assert numba_jit.constant_k(100, 10)
    assert not numba_jit.constant_k(37, 10)
    assert numba_jit.constant_k(67, numba_jit.CONSTANT_K_MIN_RATINGS)
    assert not numba_jit.constant_k(32, numba_jit.CONSTANT_K_MIN_RATINGS)  # below the minimum K: never
    assert min(numba_jit.CONSTANT_K_FACTORS) >= numba_jit.CONSTANT_K_MIN_FACTORS
    assert PARAMETERS["n_factors"].default in numba_jit.CONSTANT_K_FACTORS


@pytest.fixture
def small():
    rng = np.random.default_rng(0)
    return from_arrays(rng.integers(0, 50, 2000), rng.integers(0, 40, 2000), rng.integers(1, 6, 2000))


@pytest.mark.skipif(not COMPILED, reason="NUMBA_DISABLE_JIT is set: nothing is compiled")
@pytest.mark.parametrize("engine", ["numba", "numba-parallel"])
def test_an_unlisted_k_compiles_no_kernel_of_its_own(engine, small):
    before = set(numba_jit._entries)
    SGDFactorizer(engine=engine, n_factors=37, n_epochs=2).fit(small)
    added = set(numba_jit._entries) - before
    assert all(key[2] is None for key in added)  # the any-K kernel: nothing compiled for K = 37
    SGDFactorizer(engine=engine, n_factors=64, n_epochs=2).fit(small)
    assert any(key[2] == 64 for key in numba_jit._entries)  # K = 64 is listed: its own kernel


@pytest.mark.skipif(not COMPILED, reason="NUMBA_DISABLE_JIT is set: nothing is compiled")
def test_both_kernels_compute_the_same_epoch(small):
    rng = np.random.default_rng(1)
    k = 64
    P, Q = (rng.normal(0, 0.1, (n, k)).astype(np.float32) for n in (small.n_users, small.n_items))
    bu, bi = np.zeros(small.n_users, np.float32), np.zeros(small.n_items, np.float32)
    arguments = (small.users, small.items, small.values, np.float32(3.0))
    constant = [a.copy() for a in (bu, bi, P, Q)]
    sse_constant = numba_jit.run_epoch(*arguments, *constant, 0.01, 0.05, True)  # K = 64: its own kernel
    plain = [a.copy() for a in (bu, bi, P, Q)]
    sse_plain = numba_jit.sgd_pass(*arguments, *plain, 0.01, 0.05, True, k)  # the any-K kernel
    assert sse_constant == pytest.approx(sse_plain, rel=1e-5)
    for a, b in zip(constant, plain):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
