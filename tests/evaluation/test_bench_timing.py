"""time_engine times what fit_seconds_ times: the per-fit plan amortised over the epochs (issue 20).

No timing is asserted: a fake clock replaces ``time.perf_counter`` in the model's module, and wrapped
plans and kernels advance it by fixed amounts, so every second below is exact and the check is of
*what is included*, whatever the machine's load.
"""

import sys
import types

import numpy as np
import pytest

from mfcore import ENGINES, SGDFactorizer, from_arrays, random_split
from mfcore.evaluation import bench
from mfcore.engines import numba_parallel
from mfcore.engines.plan import EpochPlan

PLAN_SECONDS = 3.0  # numba-parallel's one-off shuffle and grouping into blocks
SHUFFLE_SECONDS = 0.5  # numba's reshuffle, paid inside every epoch
KERNEL_SECONDS = 1.0  # one epoch's kernel call, either engine


@pytest.fixture
def fake_clock(monkeypatch):
    """The model's clock stands still except where the plans and kernels below move it."""
    clock = types.SimpleNamespace(now=0.0)
    model_module = sys.modules[SGDFactorizer.__module__]
    monkeypatch.setattr(model_module, "time", types.SimpleNamespace(perf_counter=lambda: clock.now))

    def advance(function, seconds):
        def wrapped(*args, **kwargs):
            clock.now += seconds
            return function(*args, **kwargs)
        return wrapped

    plan_init = numba_parallel.BlockPlan.__init__
    monkeypatch.setattr(numba_parallel.BlockPlan, "__init__", advance(plan_init, PLAN_SECONDS))
    monkeypatch.setattr(EpochPlan, "visit", advance(EpochPlan.visit, SHUFFLE_SECONDS))
    for name in ("numba", "numba-parallel"):
        kernels = ENGINES[name].kernels
        monkeypatch.setitem(kernels, "per-rating", advance(kernels["per-rating"], KERNEL_SECONDS))
    return clock


def _split():
    rng = np.random.default_rng(0)
    keys = rng.choice(200 * 150, 6000, replace=False)
    users, items = np.divmod(keys, 150)
    return random_split(from_arrays(users, items, rng.integers(1, 6, len(keys)).astype(float)), 0.1, seed=0)


@pytest.mark.parametrize("epochs", [1, 3, 20])
def test_speed_ratio_is_the_ratio_of_fit_seconds(fake_clock, epochs):
    train, test = _split()
    params = {"n_factors": 8, "n_epochs": epochs, "n_threads": 1}
    fits = {name: SGDFactorizer(**params, engine=name).fit(train).fit_seconds_
            for name in ("numba", "numba-parallel")}
    assert fits["numba"] == pytest.approx(epochs * (SHUFFLE_SECONDS + KERNEL_SECONDS))
    assert fits["numba-parallel"] == pytest.approx(PLAN_SECONDS + epochs * KERNEL_SECONDS)
    timed = {name: bench.time_engine(name, train, test, params, budget_seconds=1e9)
             for name in ("numba", "numba-parallel")}
    assert all(result.epochs_timed == epochs and not result.extrapolated for result in timed.values())
    for name, result in timed.items():
        assert result.seconds_per_epoch == pytest.approx(fits[name] / epochs)
    ratio = timed["numba"].seconds_per_epoch / timed["numba-parallel"].seconds_per_epoch
    assert ratio == pytest.approx(fits["numba"] / fits["numba-parallel"], rel=0.10)
