"""estimate_seconds: monotone in the work, and the right order of magnitude against a real fit."""

import math

import numpy as np
import pytest

from mfcore import SGDFactorizer, from_arrays
from mfcore.evaluation import estimate
from mfcore.evaluation.estimate import estimate_seconds


def ratings(n, seed=1):
    rng = np.random.default_rng(seed)
    keys = rng.choice(3_000 * 2_000, n, replace=False)
    users, items = np.divmod(keys, 2_000)
    return from_arrays(users, items, rng.integers(1, 6, n).astype(np.float32))


@pytest.mark.parametrize("engine", ["numba", "numba-parallel"])
def test_more_work_never_takes_less_time(engine):
    base = dict(engine=engine, n_ratings=1_000_000, n_factors=50, n_epochs=10, threads=2)
    seconds = estimate_seconds(**base)
    assert seconds > 0
    for name, more in (("n_ratings", 2_000_000), ("n_factors", 200), ("n_epochs", 40)):
        assert estimate_seconds(**{**base, name: more}) >= seconds
    assert estimate_seconds(**{**base, "n_ratings": 2_000_000}) == pytest.approx(2 * seconds)
    assert estimate_seconds(**{**base, "n_epochs": 40}) == pytest.approx(4 * seconds)
    assert estimate_seconds(**{**base, "n_epochs": 0}) == 0


def test_threads_only_help_where_the_engine_runs_them():
    one = estimate_seconds("numba-parallel", 1_000_000, 50, 10, threads=1)
    two = estimate_seconds("numba-parallel", 1_000_000, 50, 10, threads=2)
    assert two == pytest.approx(one / 1.6)
    # 150 000 ratings feed one thread only: asking for 8 changes nothing
    assert (estimate_seconds("numba-parallel", 150_000, 50, 10, threads=8)
            == pytest.approx(estimate_seconds("numba-parallel", 150_000, 50, 10, threads=1)))
    assert (estimate_seconds("numba", 1_000_000, 50, 10, threads=8)
            == pytest.approx(estimate_seconds("numba", 1_000_000, 50, 10, threads=1)))


def test_calibration_runs_once_per_engine_and_schedule(monkeypatch):
    estimate.clear_calibration()
    calls = []
    monkeypatch.setattr(estimate, "_epoch_seconds", lambda engine, schedule, train, k: calls.append(k) or
                        len(train) * (1e-8 + 1e-9 * k))
    cost = estimate.calibrate("numba", "per-factor")
    assert estimate.calibrate("numba", "per-factor") is cost and calls == [8, 64]
    assert cost.per_update == pytest.approx(1e-8) and cost.per_factor == pytest.approx(1e-9)
    estimate.clear_calibration()


@pytest.mark.parametrize("engine, n, k, epochs", [
    ("numba", 300_000, 40, 4),
    ("numba-parallel", 300_000, 100, 3),
    ("python", 3_000, 16, 2),
])
def test_the_estimate_has_the_right_order_of_magnitude(engine, n, k, epochs):
    """Against a real fit; a shared machine's load can swing either by 2-3x, so only the order of
    magnitude is checked (a factor of 10 either way), never a timing."""
    train = ratings(n)
    model = SGDFactorizer(engine=engine, n_factors=k, n_epochs=epochs, n_threads=1, lr=0.001).fit(train)
    predicted = estimate_seconds(engine, n, k, epochs, threads=1)
    assert abs(math.log10(predicted / model.fit_seconds_)) < 1, (predicted, model.fit_seconds_)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="n_factors"):
        estimate_seconds("numba", 100, 0, 1)


@pytest.mark.parametrize("kind, k, epochs", [("bpr", 32, 3), ("als", 32, 2)])
def test_the_ranking_estimate_has_the_right_order_of_magnitude(kind, k, epochs):
    """Against a real one-thread fit of the model, within a factor of 10 either way (the machine is shared)."""
    from mfcore.models.persist import KINDS
    from mfcore.evaluation.estimate import estimate_ranking_seconds
    train = ratings(300_000)
    model = KINDS[kind](n_factors=k, n_epochs=epochs, n_threads=1, seed=0).fit(train)
    predicted = estimate_ranking_seconds(kind, len(train), k, epochs)
    assert abs(math.log10(predicted / model.fit_seconds_)) < 1, (predicted, model.fit_seconds_)
    assert estimate_ranking_seconds(kind, 2 * len(train), k, epochs) == pytest.approx(2 * predicted)
    assert estimate_ranking_seconds(kind, len(train), 2 * k, epochs) > predicted
    with pytest.raises(ValueError, match="kind"):
        estimate_ranking_seconds("svd", 100, 8, 1)
