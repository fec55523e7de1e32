"""Time engines on the same data and settings; used by the Speed page, the CLI and benchmarks/.

Each engine trains a fresh :class:`~mfcore.models.SGDFactorizer` with identical hyperparameters and
seed. JIT compile time is reported apart (``compile_seconds``, from the model's own warm-up). An
engine whose first epoch would not fit in ``budget_seconds`` is timed on a random sample of the
training ratings instead, and its full-epoch time is extrapolated linearly (``extrapolated=True``; no
test RMSE then, since it did not train on everything). One that fits only some of the epochs in the
budget is timed on those (no test RMSE either).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..data import Ratings
from ..models.sgd import SGDFactorizer
from ..models.params import defaults


@dataclass(frozen=True)
class BenchResult:
    """One engine's timing. ``seconds_per_epoch`` is the median over the ``epochs_timed`` full epochs,
    or with ``extrapolated`` one epoch on a sample scaled up; ``test_rmse`` after the ``epochs_timed``
    full epochs (None when extrapolated: a sample's model is not the one asked for);
    ``ratings_timed`` is the number of ratings in each timed epoch (the sample's size when extrapolated)."""

    engine: str
    seconds_per_epoch: float
    updates_per_second: float
    test_rmse: float | None
    extrapolated: bool
    epochs_timed: int
    compile_seconds: float
    ratings_timed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def time_engine(engine: str, train: Ratings, test: Ratings | None, params: dict,
                budget_seconds: float = 10.0, probe_ratings: int = 2000) -> BenchResult:
    """Time one engine: full epochs when one fits in the budget (as many as were asked for and fit:
    at least one), else a sample, extrapolated."""
    params = {**defaults(), **params, "engine": engine}
    probe = _sample(train, min(probe_ratings, len(train)), params["seed"])
    probe_model = SGDFactorizer(**{**params, "n_epochs": 1}).fit(probe)
    compile_seconds = probe_model.compile_seconds_  # the first fit in this process pays it
    per_rating = probe_model.history_[0].seconds / len(probe)
    if per_rating * len(train) > budget_seconds:
        n_sample = max(len(probe), int(budget_seconds / per_rating / 2))
        sample = _sample(train, min(n_sample, len(train)), params["seed"])
        model = SGDFactorizer(**{**params, "n_epochs": 1}).fit(sample)
        seconds = model.history_[0].seconds * len(train) / len(sample)
        return BenchResult(engine, seconds, len(train) / seconds, None, True, 1, compile_seconds, len(sample))
    epochs = params["n_epochs"]
    affordable = max(1, int(budget_seconds / max(per_rating * len(train), 1e-9)))
    model = SGDFactorizer(**{**params, "n_epochs": min(epochs, affordable)})
    timed = []
    for result in model.fit_iter(train, test):  # the probe may misjudge: the budget is checked as it goes
        timed.append(result)
        spent = sum(r.seconds for r in timed)
        if spent + spent / len(timed) > budget_seconds:  # the next epoch would pass the budget
            break
    seconds = float(np.median([result.seconds for result in timed]))
    return BenchResult(engine, seconds, len(train) / seconds, timed[-1].test_rmse, False, len(timed),
                       compile_seconds, len(train))


def _sample(ratings: Ratings, n: int, seed: int) -> Ratings:
    rows = np.random.default_rng(seed).choice(len(ratings), size=n, replace=False)
    return ratings.take(np.sort(rows))


def max_factor_difference(train: Ratings, params: dict, engines=("python", "numba"),
                          n_ratings: int = 2000, n_epochs: int = 2) -> float:
    """Largest absolute difference in ``P, Q, bu, bi`` between two engines trained with the same
    ``params`` and seed on the same sample of ``n_ratings`` training ratings for ``n_epochs``."""
    sample = _sample(train, min(n_ratings, len(train)), {**defaults(), **params}["seed"])
    first, second = (SGDFactorizer(**{**params, "engine": name, "n_epochs": n_epochs}).fit(sample)
                     for name in engines)
    return float(max(np.max(np.abs(getattr(first, name) - getattr(second, name)), initial=0.0)
                     for name in ("P_", "Q_", "bu_", "bi_")))
